"""Certificate summaries: fields of a well-formed certificate, hashes and an error for a broken one."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from iotwarden.dissect.x509info import MAX_SAN_ENTRIES, describe

START = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def _cert(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, issuer_key: object = None,
          sans: int = 2) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "camera.local")])
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(0xABCDEF).not_valid_before(START).not_valid_after(START + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(f"h{i}.local") for i in range(sans)] + [x509.IPAddress(ipaddress.ip_address("10.0.0.9"))]),
            critical=False)
    )
    signer = issuer_key or key
    algo = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(signer, algo)  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.DER)


def test_self_signed_ec_certificate_fields() -> None:
    der = _cert(ec.generate_private_key(ec.SECP256R1()))
    info = describe(der)
    assert info["subject"] == info["issuer"] == "CN=camera.local"
    assert info["serial"] == "abcdef"
    assert info["not_before"] == "2024-01-02T03:04:05Z" and info["not_after"] == "2025-01-01T03:04:05Z"
    assert info["self_signed"] is True
    assert (info["key_type"], info["key_bits"]) == ("ec", 256)
    assert info["signature_algorithm"] == "ecdsa_with_sha256"
    assert info["san_dns"] == ["h0.local", "h1.local"] and info["san_ip"] == ["10.0.0.9"]
    assert info["sha256"] == hashlib.sha256(der).hexdigest() and "error" not in info


def test_same_names_but_foreign_signature_is_not_self_signed() -> None:
    der = _cert(ed25519.Ed25519PrivateKey.generate(), issuer_key=ed25519.Ed25519PrivateKey.generate())
    info = describe(der)
    assert info["key_type"] == "ed25519" and info["self_signed"] is False


def test_san_list_is_bounded() -> None:
    info = describe(_cert(ed25519.Ed25519PrivateKey.generate(), sans=MAX_SAN_ENTRIES + 10))
    assert len(info["san_dns"]) == MAX_SAN_ENTRIES


def test_broken_certificate_keeps_hashes_and_reports_error() -> None:
    info = describe(b"\x30\x82\x01\x00garbage")
    assert set(info) == {"sha256", "sha1", "error"}
