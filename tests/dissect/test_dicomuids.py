"""The SOP class table: PS3.6 names, checked against pydicom's UID dictionary (dev extra, via pynetdicom)."""

from __future__ import annotations

import pytest

from iotwarden.dissect.dicomuids import SOP_CLASSES, carries_phi, sop_class_name


def test_every_name_is_pydicoms() -> None:
    uid_module = pytest.importorskip("pydicom.uid")
    for uid, name in SOP_CLASSES.items():
        assert uid_module.UID(uid).name == name, uid


def test_unknown_uids_keep_their_uid() -> None:
    assert sop_class_name("1.2.840.10008.5.1.4.1.1.2") == "CT Image Storage"
    assert sop_class_name("1.2.3.4") == "1.2.3.4"


@pytest.mark.parametrize("uid, phi", [
    ("1.2.840.10008.5.1.4.1.1.2", True),  # CT Image Storage
    ("1.2.840.10008.5.1.4.1.2.2.1", True),  # Study Root Q/R FIND
    ("1.2.840.10008.5.1.4.31", True),  # Modality Worklist FIND
    ("1.2.840.10008.1.1", False),  # Verification
    ("1.2.840.10008.5.1.1.9", False),  # print
])
def test_which_classes_carry_patient_data(uid: str, phi: bool) -> None:
    assert carries_phi(uid) is phi
