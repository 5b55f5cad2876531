"""DICOM evidence end to end (engine -> inventory -> classifier) on the real pynetdicom capture
(tests/dissect/data/dicom_pynetdicom.pcap): the association acceptor that took CT Image Storage is the archive
(pacs), the requestor that sent a CT image is the modality; the implementation class UID names the toolkit
both run (pynetdicom's root), which is no device maker: neither end gets a vendor."""

from __future__ import annotations

from pathlib import Path

from iotwarden.model import Device
from tests.dissect.data.captures import readdressed
from tests.risk.harness import classified_by_ip

SCP, SCU = "127.0.0.1", "127.0.0.2"


def _devices(tmp_path: Path) -> dict[str, Device]:
    return classified_by_ip(readdressed("dicom_pynetdicom.pcap", tmp_path / "dicom.pcap"))


def test_the_acceptor_of_image_storage_is_the_archive(tmp_path: Path) -> None:
    scp = _devices(tmp_path)[SCP]
    assert scp.attributes["dicom.ae_title"] == {"ARCHIVE"}
    assert scp.attributes["dicom.accepted_sop_classes"] == {"Verification SOP Class", "CT Image Storage"}
    assert "dicom.requested_sop_classes" not in scp.attributes  # the SCU's proposals describe the SCU only
    kind = scp.classification["device_type"]
    assert kind.value == "pacs" and {e["rule_id"] for e in kind.evidence} == {"dicom.scp.image_storage"}


def test_the_requestor_storing_ct_images_is_a_modality_named_by_its_toolkit_not_a_vendor(tmp_path: Path) -> None:
    devices = _devices(tmp_path)
    scu = devices[SCU]
    assert scu.attributes["dicom.implementation_class_uid"] == {"1.2.826.0.1.3680043.9.3811.3.0.4"}
    assert scu.attributes["dicom.implementation_version"] == {"PYNETDICOM_304"}
    assert scu.attributes["dicom.command"] == {"C-ECHO-RQ", "C-STORE-RQ"}
    assert scu.classification["device_type"].value == "medical_imaging"
    category = scu.classification["category"]
    assert category.value == "medical" and "dicom.impl.pynetdicom" in {e["rule_id"] for e in category.evidence}
    for device in devices.values():
        assert "vendor" not in device.classification  # pynetdicom's UID root is a toolkit's, no maker's
