"""ssl.log and x509.log -> the TLS dissector's ``client_hello``, ``server_hello`` and ``certificate``.

Values are rewritten into the dissector's forms (``dissect/tls.py``, ``dissect/x509info.py``):
versions as "TLS 1.2", serials as lower-case hex, signature algorithms by their ``cryptography``
names, and a certificate Observation carrying the whole chain in ``certs``, leaf first.
"""

from __future__ import annotations

import re
from typing import Any

from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.sources.zeek_fields import ConnId, drop_none, get_bool, get_float, get_int, get_list, get_str, iso_utc

_VERSION = re.compile(r"^(TLS|DTLS|SSL)v(\d)(\d)?$")  # Zeek's SSL::version_strings: TLSv12, SSLv3, DTLSv10
_UNKNOWN = re.compile(r"^unknown-(\d+)$")  # Zeek's name for a version or cipher it does not know

# OpenSSL long names Zeek logs (certificate.sig_alg) -> the names the TLS dissector gives
# (cryptography's SignatureAlgorithmOID, lower case); RFC 3279, RFC 4055, RFC 5758, RFC 8410
SIGNATURE_ALGORITHMS = {
    "md5WithRSAEncryption": "rsa_with_md5", "sha1WithRSAEncryption": "rsa_with_sha1",
    "sha224WithRSAEncryption": "rsa_with_sha224", "sha256WithRSAEncryption": "rsa_with_sha256",
    "sha384WithRSAEncryption": "rsa_with_sha384", "sha512WithRSAEncryption": "rsa_with_sha512",
    "rsassaPss": "rsassa_pss", "RSASSA-PSS": "rsassa_pss",
    "ecdsa-with-SHA1": "ecdsa_with_sha1", "ecdsa-with-SHA224": "ecdsa_with_sha224",
    "ecdsa-with-SHA256": "ecdsa_with_sha256", "ecdsa-with-SHA384": "ecdsa_with_sha384",
    "ecdsa-with-SHA512": "ecdsa_with_sha512", "dsaWithSHA1": "dsa_with_sha1",
    "dsa_with_SHA224": "dsa_with_sha224", "dsa_with_SHA256": "dsa_with_sha256",
    "ED25519": "ed25519", "ED448": "ed448",
}
KEY_TYPES = {"rsa": "rsa", "dsa": "dsa", "ecdsa": "ec", "ec": "ec"}  # Zeek key_type -> x509info key_type


def tls_version(text: str | None) -> str | None:
    """Zeek's version name as the TLS dissector writes it: TLSv12 -> "TLS 1.2", SSLv3 -> "SSL 3.0"."""
    if text is None:
        return None
    m = _VERSION.match(text)
    if m is not None:
        return f"{m.group(1)} {m.group(2)}.{m.group(3) or 0}"
    unknown = _UNKNOWN.match(text)
    return f"0x{int(unknown.group(1)):04x}" if unknown else text


def map_ssl(rec: dict[str, Any]) -> tuple[ConnId, list[Observation], list[str]]:
    """ssl.log (``SSL::Info``, plus JA3/JA4 package columns): client and server hello facts.

    Zeek logs the negotiated version and ALPN protocol, not the client's offers, so the client
    hello's ``versions`` and ``alpn`` hold those. The cipher is Zeek's name, in ``cipher`` (the
    dissector's ``cipher_suite`` is the number, which Zeek does not log). Returns the connection,
    its Observations and the keys of the server's chain (``cert_chain_fps`` since Zeek 4.2,
    ``cert_chain_fuids`` before) for the x509 join.
    """
    cid = ConnId.of(rec, 6)
    version = tls_version(get_str(rec, "version"))
    alpn = get_str(rec, "next_protocol")
    out = [cid.forward("tls", "client_hello", {
        "sni": get_str(rec, "server_name"), "versions": [version] if version else None,
        "alpn": [alpn] if alpn else None, "ja3": get_str(rec, "ja3"), "ja4": get_str(rec, "ja4"),
    })]
    chain = [str(c) for c in (get_list(rec, "cert_chain_fps") or get_list(rec, "cert_chain_fuids"))]
    cipher = get_str(rec, "cipher")
    if version is not None or cipher is not None:
        out.append(cid.reverse("tls", "server_hello", {
            "version": version, "cipher": cipher, "alpn": [alpn] if alpn else None, "curve": get_str(rec, "curve"),
            "ja3s": get_str(rec, "ja3s"), "ja4s": get_str(rec, "ja4s"), "resumed": get_bool(rec, "resumed"),
            "established": get_bool(rec, "established"), "cert_chain_fps": chain or None,
            "validation_status": get_str(rec, "validation_status"),
        }))
    return cid, out, chain


def _serial(text: str | None) -> str | None:
    """Zeek's upper-case hex serial as x509info writes it: lower case, no leading zeros."""
    if text is None:
        return None
    try:
        return format(int(text, 16), "x")
    except ValueError:
        return text.lower()


def map_x509(rec: dict[str, Any]) -> tuple[float, str | None, dict[str, Any]]:
    """x509.log (``X509::Info``) -> (ts, join key, one certificate in x509info's field names).

    The join key is the ``fingerprint`` (Zeek >= 4.2, SHA-256 unless redefined) or the file ``id``.
    """
    ts = get_float(rec, "ts")
    if ts is None:
        raise ParseError("record without ts")
    fingerprint = get_str(rec, "fingerprint")
    subject, issuer = get_str(rec, "certificate.subject"), get_str(rec, "certificate.issuer")
    not_before, not_after = get_float(rec, "certificate.not_valid_before"), get_float(
        rec, "certificate.not_valid_after")
    sig_alg, key_alg = get_str(rec, "certificate.sig_alg"), get_str(rec, "certificate.key_alg")
    key_type = get_str(rec, "certificate.key_type")
    fields: dict[str, Any] = {
        "subject": subject, "issuer": issuer, "serial": _serial(get_str(rec, "certificate.serial")),
        "not_before": None if not_before is None else iso_utc(not_before),
        "not_after": None if not_after is None else iso_utc(not_after),
        "signature_algorithm": SIGNATURE_ALGORITHMS.get(sig_alg, sig_alg) if sig_alg else None,
        "self_signed": subject == issuer if subject is not None else None,
        "key_type": KEY_TYPES.get(key_type, key_type) if key_type else (key_alg or "").lower() or None,
        "key_bits": get_int(rec, "certificate.key_length"),
        "san_dns": [str(s) for s in get_list(rec, "san.dns")], "san_ip": [str(s) for s in get_list(rec, "san.ip")],
    }
    if fingerprint is not None:
        digest = {64: "sha256", 40: "sha1"}.get(len(fingerprint), "fingerprint")
        fields[digest] = fingerprint.lower()
    return ts, fingerprint or get_str(rec, "id"), {k: v for k, v in fields.items() if v is not None}


def certificate(ts: float, certs: list[dict[str, Any]], server: ConnId | None) -> Observation:
    """A ``certificate`` Observation for a chain (leaf first), sent by the TLS server when it is known."""
    fields = drop_none({"certs": certs, "cert_count": len(certs), "cert_errors": 0})
    if server is None:
        return Observation(ts=ts, proto="tls", kind="certificate", fields=fields)
    return server.reverse("tls", "certificate", fields, ts=ts)
