"""DICOM evidence end to end (engine -> inventory -> classifier) on the real pynetdicom capture
(tests/dissect/data/dicom_pynetdicom.pcap): the association acceptor that took CT Image Storage is the archive
(pacs), the requestor that sent a CT image is the modality; the implementation class UID names the toolkit
both run (pynetdicom's root), which is no device maker: neither end gets a vendor."""

from __future__ import annotations

from pathlib import Path

from iotwarden.inventory.classifier import Classifier
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


CLASSIFIER = Classifier()


def _kind(**attributes: set[str]) -> tuple[str | None, set[str]]:
    """The device type and the DICOM rules that matched, for a device with these ``dicom.*`` attributes."""
    dev = Device(key="mac:02:00:00:00:00:09", first_seen=0.0, last_seen=0.0, mac="02:00:00:00:00:09")
    for name, values in attributes.items():
        dev.attributes[f"dicom.{name}"] = values
    found = CLASSIFIER.classify(dev)
    kind = found.get("device_type")
    rules = {m.rule_id for m in CLASSIFIER.matches(dev) if m.rule_id.startswith("dicom.")}
    return (kind.value if kind else None), rules


def test_a_worklist_query_or_a_procedure_step_makes_a_modality() -> None:
    assert _kind(requested_sop_classes={"Modality Worklist Information Model - FIND"}) == (
        "medical_imaging", {"dicom.scu.modality_worklist"})
    assert _kind(requested_sop_classes={"Modality Performed Procedure Step SOP Class"})[0] == "medical_imaging"
    assert _kind(requested_sop_classes={"Digital X-Ray Image Storage - For Presentation"})[0] == "medical_imaging"


def test_query_retrieve_accepted_makes_an_archive_even_when_it_also_forwards_images() -> None:
    """A PACS answering C-MOVE is the Storage SCU of the sub-operations (PS3.4 §C.4.2): it requests CT Image
    Storage too, yet stays an archive."""
    kind, rules = _kind(accepted_sop_classes={"Study Root Query/Retrieve Information Model - MOVE", "CT Image Storage"},
                        requested_sop_classes={"CT Image Storage"})
    assert kind == "pacs" and {"dicom.scp.query_retrieve", "dicom.scu.modality_image_storage"} <= rules


def test_verification_or_secondary_capture_says_no_kind() -> None:
    assert _kind(requested_sop_classes={"Verification SOP Class", "Secondary Capture Image Storage"}) == (None, set())
    assert _kind(implementation_class_uid={"1.2.276.0.7230010.3.0.3.6.8"})[1] == {"dicom.impl.dcmtk"}
