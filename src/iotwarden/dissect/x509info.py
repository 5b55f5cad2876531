"""Summary of one DER X.509 certificate (RFC 5280) as observation fields, via ``cryptography``.

A certificate that cannot be parsed still yields its hashes and ``error``; no exception escapes.
``cryptography`` is imported by the first certificate described, not with this module (start-up of analyze).
"""

from __future__ import annotations

import hashlib
import warnings
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.x509.oid import ObjectIdentifier

MAX_SAN_ENTRIES = 32  # subjectAltName entries kept per certificate (RFC 5280 §4.2.1.6)
MAX_NAME_CHARS = 512  # subject / issuer distinguished names are cut here


@cache
def _sig_names() -> dict[ObjectIdentifier, str]:
    """Signature algorithm OID -> its lower-case name in ``cryptography``'s SignatureAlgorithmOID."""
    from cryptography.x509.oid import ObjectIdentifier, SignatureAlgorithmOID  # noqa: PLC0415

    return {v: k.lower() for k, v in vars(SignatureAlgorithmOID).items() if isinstance(v, ObjectIdentifier)}


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(cert: x509.Certificate) -> tuple[str | None, int | None]:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa  # noqa: PLC0415

    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec", key.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448", 456
    return type(key).__name__.lower(), None


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    from cryptography import x509  # noqa: PLC0415

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    dns = [str(n) for n in ext.get_values_for_type(x509.DNSName)][:MAX_SAN_ENTRIES]
    ips = [str(n) for n in ext.get_values_for_type(x509.IPAddress)][:MAX_SAN_ENTRIES]
    return dns, ips


def _self_signed(cert: x509.Certificate) -> bool:
    """Subject equals issuer and, where the key type allows checking, the signature verifies."""
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError):  # unsupported key / signature type: the names decide
        return True
    except Exception:  # noqa: BLE001 - InvalidSignature and backend errors: not self-signed
        return False
    return True


def describe(der: bytes) -> dict[str, Any]:
    """Fields of one certificate: subject, issuer, serial (hex), validity (ISO 8601 UTC), hashes, SANs, key.

    On a certificate ``cryptography`` rejects, only ``sha256``, ``sha1`` and ``error`` are set.
    """
    out: dict[str, Any] = {
        "sha256": hashlib.sha256(der).hexdigest(),
        "sha1": hashlib.sha1(der, usedforsecurity=False).hexdigest(),
    }
    from cryptography import x509  # noqa: PLC0415 - ~40 ms: only once a certificate is seen

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. negative serial numbers: still worth describing
            cert = x509.load_der_x509_certificate(der)
            out["subject"] = cert.subject.rfc4514_string()[:MAX_NAME_CHARS]
            out["issuer"] = cert.issuer.rfc4514_string()[:MAX_NAME_CHARS]
            out["serial"] = format(cert.serial_number, "x") if cert.serial_number >= 0 else (
                "-" + format(-cert.serial_number, "x"))
            out["not_before"] = _iso(cert.not_valid_before_utc)
            out["not_after"] = _iso(cert.not_valid_after_utc)
            out["signature_algorithm"] = _sig_names().get(cert.signature_algorithm_oid,
                                                          cert.signature_algorithm_oid.dotted_string)
            out["self_signed"] = _self_signed(cert)
            out["key_type"], out["key_bits"] = _key(cert)
            out["san_dns"], out["san_ip"] = _sans(cert)
    except Exception as exc:  # noqa: BLE001 - any defect of a hostile certificate is reported, not raised
        out["error"] = f"{type(exc).__name__}: {exc}"[:200]
    return out
