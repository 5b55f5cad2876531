"""The identity repository on the store: issued certificates and one-time tokens, SQLite and PostgreSQL."""

from __future__ import annotations

from iotwarden.identity.records import EnrolmentToken, IssuedCert
from iotwarden.store import Store
from iotwarden.store.identity_models import SqlIdentityRepository


def _cert(serial: str, device_key: str | None, not_after: float, issued_at: float) -> IssuedCert:
    return IssuedCert(serial=serial, subject=f"CN=dev-{serial}", device_id=f"dev-{serial}", device_key=device_key,
                      profile="device", not_before=0.0, not_after=not_after, sha256=serial.rjust(64, "0"),
                      pem="-----BEGIN CERTIFICATE-----", issued_at=issued_at)


def _exercise(repo: SqlIdentityRepository) -> None:
    repo.add_certificate(_cert("a1", "mac:00:00:00:00:00:01", 100.0, 1.0))
    repo.add_certificate(_cert("b2", "mac:00:00:00:00:00:02", 200.0, 2.0))
    repo.add_certificate(_cert("c3", None, 300.0, 3.0))
    assert repo.get_certificate("0a1") is not None  # leading zeros do not matter
    assert repo.find_by_sha256("b2".rjust(64, "0")).serial == "b2"  # type: ignore[union-attr]
    assert [c.serial for c in repo.list_certificates(expiring_before=250.0)] == ["a1", "b2"]
    assert [c.serial for c in repo.list_certificates(device_key="mac:00:00:00:00:00:02")] == ["b2"]
    assert repo.set_status("b2", "revoked", revoked_at=50.0, reason="key_compromise")
    assert not repo.set_status("ff", "revoked")
    revoked = repo.list_certificates(status="revoked")
    assert [(c.serial, c.reason, c.revoked_at) for c in revoked] == [("b2", "key_compromise", 50.0)]
    assert repo.set_device_key("c3", "mac:00:00:00:00:00:03")
    assert repo.get_certificate("c3").device_key == "mac:00:00:00:00:00:03"  # type: ignore[union-attr]
    repo.add_token(EnrolmentToken("h" * 64, "dev-9", None, "device", 0.0, 100.0))
    assert repo.consume_token("h" * 64, 101.0) is None  # expired
    repo.add_token(EnrolmentToken("k" * 64, "dev-9", "mac:00:00:00:00:00:09", "device", 0.0, 100.0))
    granted = repo.consume_token("k" * 64, 10.0)
    assert granted is not None and granted.used_at == 10.0 and granted.device_key == "mac:00:00:00:00:00:09"
    assert repo.consume_token("k" * 64, 11.0) is None  # one time


def test_identity_repository_on_both_backends(store: Store) -> None:
    _exercise(SqlIdentityRepository(store))  # ``store`` runs on SQLite and, marked postgres, PostgreSQL
