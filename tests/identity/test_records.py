"""Identity records: what the repository stores, and the CRLReason names it accepts (RFC 5280 §5.3.1)."""

from __future__ import annotations

from cryptography import x509

from iotwarden.identity.records import REVOCATION_REASONS, IssuedCert


def test_every_revocation_reason_is_a_crl_reason() -> None:
    assert {x509.ReasonFlags[name].name for name in REVOCATION_REASONS} == set(REVOCATION_REASONS)
    assert "remove_from_crl" not in REVOCATION_REASONS  # delta-CRL only (§5.3.1), never set by hand


def test_issued_cert_to_dict_holds_every_column() -> None:
    rec = IssuedCert("ab", "CN=x", "x", None, "device", 1.0, 2.0, "0" * 64, "pem", 1.0)
    data = rec.to_dict()
    assert data["status"] == "valid" and data["method"] == "direct" and set(data) >= {"serial", "revoked_at"}
