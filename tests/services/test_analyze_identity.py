"""The analyze service links issued certificates seen in traffic to devices and raises identity
findings, and raises shadow-device findings against an imported approved inventory."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from iotwarden.identity.records import IssuedCert
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from iotwarden.store.alert_models import FindingRow
from iotwarden.store.identity_models import SqlIdentityRepository
from tests.conftest import shared

SERVER_MAC = "08:00:27:0b:cf:a3"  # the TLS server of suricata-verify ja4-tls (192.168.56.101)
SERVER_CERT_SHA256_PREFIX = "a1384fd08fc279c9"


def _capture() -> Path:
    return shared("pcaps", "suricata_verify", "ja4-tls", "input.pcap")


def _server_cert_sha256(tmp_path: Path) -> str:
    from iotwarden.engine.core import Engine
    from iotwarden.sources.capfile import read_capture

    engine, observations = Engine(), []
    for batch in read_capture(_capture()):
        observations += engine.process(batch).observations
    sha = next(o.fields["certs"][0]["sha256"] for o in observations
               if o.proto == "tls" and o.kind == "certificate" and o.subject_mac == SERVER_MAC)
    assert sha.startswith(SERVER_CERT_SHA256_PREFIX)
    return str(sha)


def test_an_issued_certificate_seen_in_traffic_is_linked_to_its_device(store: Store, tmp_path: Path) -> None:
    sha = _server_cert_sha256(tmp_path)
    repo = SqlIdentityRepository(store)
    repo.add_certificate(IssuedCert(serial="1f", subject="CN=dev-1", device_id="dev-1", device_key=None,
                                    profile="device", not_before=0.0, not_after=4e9, sha256=sha, pem="",
                                    issued_at=0.0))
    repo.set_status("1f", "revoked", revoked_at=1.0, reason="key_compromise")
    analyze([_capture()], store)
    assert repo.get_certificate("1f").device_key == f"mac:{SERVER_MAC}"  # type: ignore[union-attr]
    with store.session() as session:
        checks = {r.check_id for r in session.scalars(select(FindingRow).where(
            FindingRow.device_key == f"mac:{SERVER_MAC}"))}
    assert "identity.cert.revoked" in checks


def test_without_issued_certificates_no_identity_findings(store: Store) -> None:
    analyze([_capture()], store)
    with store.session() as session:
        checks = {r.check_id for r in session.scalars(select(FindingRow))}
    assert not {c for c in checks if c.startswith("identity.")}


def test_devices_missing_from_the_approved_inventory_become_shadow_findings(store: Store, tmp_path: Path) -> None:
    from iotwarden.services.inventory import import_approved

    approved = tmp_path / "approved.csv"
    approved.write_text(f"mac,hostname,owner\n{SERVER_MAC},tls-server,it\n")
    import_approved(store, approved)
    report = analyze([_capture()], store)
    assert report.shadow["approved"] == 1
    with store.session() as session:
        shadow = {r.device_key for r in session.scalars(select(FindingRow).where(
            FindingRow.check_id == "inventory.shadow_device"))}
    assert shadow and f"mac:{SERVER_MAC}" not in shadow
