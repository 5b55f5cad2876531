"""risk.dicom.cleartext: images or patient queries over DICOM without TLS, on the real pynetdicom capture
(tests/dissect/data/dicom_pynetdicom.pcap: CT Image Storage accepted and one C-STORE, then a rejected
association)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import shared
from tests.dissect.data.captures import readdressed
from tests.risk.harness import analyse, found, hits

ID = "risk.dicom.cleartext"
CAPTURE = "dicom_pynetdicom.pcap"
SCP, SCU = "127.0.0.1", "127.0.0.2"
EXPECTED_CLASSES = ["Verification SOP Class", "CT Image Storage"]


def test_ct_images_stored_in_the_clear_inside_the_site(tmp_path: Path) -> None:
    ctx, risk = analyse(readdressed(CAPTURE, tmp_path / "dicom.pcap"))
    by_ip = {ip: hit for (_, ip), hit in hits(risk, ID).items()}
    assert set(by_ip) == {SCP, SCU}
    assert {hit.severity for hit in by_ip.values()} == {"medium"}
    scp = by_ip[SCP].evidence()
    assert scp["role"] == ["acceptor (SCP)"] and scp["peers"] == [SCU] and scp["ports"] == ["11112"]
    assert sorted(scp["sop_classes"]) == sorted(EXPECTED_CLASSES)
    assert by_ip[SCU].evidence()["role"] == ["requestor (SCU)"]
    assert len(found(ctx, ID)) == 2  # both devices of the inventory get the finding


def test_an_archive_reached_from_outside_the_site_is_high(tmp_path: Path) -> None:
    outside = "198.51.100.20"  # a public address (not in the inventory's local networks)
    _, risk = analyse(readdressed(CAPTURE, tmp_path / "dicom.pcap", {SCU: outside, SCP: "10.20.0.5"}))
    by_ip = {ip: hit for (_, ip), hit in hits(risk, ID).items()}
    assert set(by_ip) == {"10.20.0.5", outside} and {h.severity for h in by_ip.values()} == {"high"}


def test_a_rejected_association_moved_nothing(tmp_path: Path) -> None:
    """The second connection's A-ASSOCIATE-RQ proposed CT Image Storage but was rejected: no finding."""
    _, risk = analyse(readdressed(CAPTURE, tmp_path / "dicom.pcap", connections={1}))
    assert hits(risk, ID) == {}


def test_no_dicom_no_finding() -> None:
    _, risk = analyse(shared("pcaps", "suricata_verify", "mqtt311-pub-userpass", "input.pcap"))
    assert hits(risk, ID) == {}
