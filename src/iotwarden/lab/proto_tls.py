"""TLS records for the lab: ClientHello profiles with SNI, a TLS 1.2 server flight with a real X.509 chain.

Certificates are made with ``cryptography`` from keys derived from the scenario seed, signed with
deterministic ECDSA (RFC 6979), so the same seed gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import struct
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HANDSHAKE, CHANGE_CIPHER_SPEC, APPLICATION_DATA = 22, 20, 23  # ContentType (RFC 5246 §6.2.1)
TLS10, TLS12, TLS13 = 0x0301, 0x0303, 0x0304
CERT_CACHE_LIMIT = 256  # distinct (name, issuer) certificates kept by :func:`certificate_chain`

# Cipher suite and extension lists as the named client stacks send them (IANA TLS registry values).
PROFILES: dict[str, dict[str, list[int]]] = {
    # OpenSSL 1.1.1 default (curl/wget on embedded Linux), TLS 1.3 + 1.2
    "openssl": {
        "ciphers": [0x1302, 0x1303, 0x1301, 0xC02C, 0xC030, 0x009F, 0xCCA9, 0xCCA8, 0xCCAA, 0xC02B, 0xC02F,
                    0x009E, 0xC024, 0xC028, 0x006B, 0xC023, 0xC027, 0x0067, 0xC00A, 0xC014, 0x0039, 0xC009,
                    0xC013, 0x0033, 0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F, 0x00FF],
        "extensions": [0, 11, 10, 35, 22, 23, 13, 43, 45, 51],
    },
    # mbed TLS 2.x on microcontrollers (ESP32, smart plugs), TLS 1.2 only
    "mbedtls": {
        "ciphers": [0xC02C, 0xC030, 0xC0AD, 0xC024, 0xC028, 0xC00A, 0xC014, 0xC02B, 0xC02F, 0xC0AC, 0xC023,
                    0xC027, 0xC009, 0xC013, 0x009D, 0x003D, 0x0035, 0x009C, 0x003C, 0x002F, 0x00FF],
        "extensions": [0, 13, 10, 11, 22, 23],
    },
    # Windows SChannel (Windows 10/11 system services)
    "schannel": {
        "ciphers": [0x1302, 0x1301, 0xC02C, 0xC02B, 0xC030, 0xC02F, 0xC024, 0xC023, 0xC028, 0xC027, 0xC00A,
                    0xC009, 0xC014, 0xC013, 0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F, 0x000A],
        "extensions": [0, 5, 10, 11, 13, 35, 16, 23, 65281, 43, 45, 51],
    },
    # Android 13 (BoringSSL / Conscrypt)
    "boringssl": {
        "ciphers": [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02C, 0xCCA9, 0xC02F, 0xC030, 0xCCA8, 0xC009, 0xC00A,
                    0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035],
        "extensions": [65281, 0, 23, 35, 13, 5, 18, 16, 11, 51, 45, 43, 10],
    },
}
SERVER_SUITE = 0xC02B  # TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (RFC 5289 §3.2), in every profile


def _vec(data: bytes, width: int) -> bytes:
    return len(data).to_bytes(width, "big") + data


def record(content_type: int, body: bytes, version: int = TLS12) -> bytes:
    """One TLSPlaintext record (RFC 5246 §6.2.1)."""
    return struct.pack("!BHH", content_type, version, len(body)) + body


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + _vec(body, 3)  # Handshake header (RFC 5246 §7.4)


def _extension(ext: int, sni: str, alpn: list[str], rng: random.Random) -> bytes:
    groups = [29, 23, 24]  # x25519, secp256r1, secp384r1 (RFC 8446 §4.2.7)
    sig_algs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201]
    body = b""
    if ext == 0:  # server_name (RFC 6066 §3)
        body = _vec(b"\x00" + _vec(sni.encode(), 2), 2)
    elif ext == 5:  # status_request (RFC 6066 §8)
        body = b"\x01\x00\x00\x00\x00"
    elif ext == 10:  # supported_groups (RFC 8422 §5.1.1)
        body = _vec(b"".join(struct.pack("!H", g) for g in groups), 2)
    elif ext == 11:  # ec_point_formats: uncompressed (RFC 8422 §5.1.2)
        body = b"\x01\x00"
    elif ext == 13:  # signature_algorithms (RFC 8446 §4.2.3)
        body = _vec(b"".join(struct.pack("!H", s) for s in sig_algs), 2)
    elif ext == 16:  # ALPN (RFC 7301 §3.1)
        body = _vec(b"".join(_vec(p.encode(), 1) for p in alpn), 2)
    elif ext == 43:  # supported_versions (RFC 8446 §4.2.1)
        body = _vec(struct.pack("!HH", TLS13, TLS12), 1)
    elif ext == 45:  # psk_key_exchange_modes: psk_dhe_ke (RFC 8446 §4.2.9)
        body = b"\x01\x01"
    elif ext == 51:  # key_share with one x25519 share (RFC 8446 §4.2.8)
        body = _vec(struct.pack("!H", 29) + _vec(rng.randbytes(32), 2), 2)
    elif ext == 65281:  # renegotiation_info, empty (RFC 5746 §3.2)
        body = b"\x00"
    # 18 signed_certificate_timestamp, 22 encrypt_then_mac, 23 extended_master_secret, 35 session_ticket: empty
    return struct.pack("!H", ext) + _vec(body, 2)


def client_hello(rng: random.Random, sni: str, profile: str = "openssl", alpn: list[str] | None = None) -> bytes:
    """A ClientHello record (RFC 8446 §4.1.2) as the ``profile`` stack sends it, naming ``sni``."""
    prof = PROFILES[profile]
    exts = [e for e in prof["extensions"] if alpn or e != 16]
    body = struct.pack("!H", TLS12) + rng.randbytes(32) + _vec(rng.randbytes(32), 1)
    body += _vec(b"".join(struct.pack("!H", c) for c in prof["ciphers"]), 2) + b"\x01\x00"
    body += _vec(b"".join(_extension(e, sni, alpn or [], rng) for e in exts), 2)
    return record(HANDSHAKE, handshake(1, body), TLS10)


def _key(label: str) -> ec.EllipticCurvePrivateKey:
    secret = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big") % (2**255 - 19) + 1
    return ec.derive_private_key(secret, ec.SECP256R1())


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@lru_cache(maxsize=CERT_CACHE_LIMIT)
def certificate_chain(cn: str, org: str, issuer_org: str | None, not_before: float, seed: int) -> tuple[bytes, ...]:
    """DER certificates for ``cn``: self-signed when ``issuer_org`` is None, else leaf then its CA."""
    start = dt.datetime.fromtimestamp(int(not_before), dt.UTC) - dt.timedelta(days=30)
    algo = hashes.SHA256()
    leaf_key = _key(f"{seed}:{cn}")
    serial = int.from_bytes(hashlib.sha256(f"{seed}:{cn}:serial".encode()).digest()[:16], "big") >> 1
    builder = (x509.CertificateBuilder().subject_name(_name(cn, org)).public_key(leaf_key.public_key())
               .serial_number(serial).not_valid_before(start).not_valid_after(start + dt.timedelta(days=397))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False))
    if issuer_org is None:
        leaf = builder.issuer_name(_name(cn, org)).sign(leaf_key, algo, ecdsa_deterministic=True)
        return (leaf.public_bytes(serialization.Encoding.DER),)
    ca_key = _key(f"{seed}:ca:{issuer_org}")
    ca_name = _name(f"{issuer_org} Root CA", issuer_org)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(serial ^ 1).not_valid_before(start - dt.timedelta(days=3650))
          .not_valid_after(start + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, algo,
                                                                                    ecdsa_deterministic=True))
    leaf = builder.issuer_name(ca_name).sign(ca_key, algo, ecdsa_deterministic=True)
    return leaf.public_bytes(serialization.Encoding.DER), ca.public_bytes(serialization.Encoding.DER)


def server_flight(rng: random.Random, chain: tuple[bytes, ...], cn: str, seed: int) -> bytes:
    """ServerHello, Certificate, ServerKeyExchange (ECDHE, signed) and ServerHelloDone (RFC 5246 §7.4)."""
    hello = struct.pack("!H", TLS12) + rng.randbytes(32) + _vec(rng.randbytes(32), 1)
    hello += struct.pack("!HB", SERVER_SUITE, 0)
    hello += _vec(b"\xff\x01\x00\x01\x00" + b"\x00\x0b\x00\x02\x01\x00" + b"\x00\x17\x00\x00", 2)
    certs = _vec(b"".join(_vec(c, 3) for c in chain), 3)
    point = ec.derive_private_key(rng.getrandbits(200) + 1, ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    params = b"\x03\x00\x17" + _vec(point, 1)  # named_curve secp256r1 (RFC 8422 §5.4)
    sig = _key(f"{seed}:{cn}").sign(params, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    ske = params + b"\x04\x03" + _vec(sig, 2)  # ecdsa_secp256r1_sha256
    return record(HANDSHAKE, handshake(2, hello) + handshake(11, certs) + handshake(12, ske) + handshake(14, b""))


def client_finish(rng: random.Random) -> bytes:
    """ClientKeyExchange, ChangeCipherSpec and the encrypted Finished (RFC 5246 §7.4.7, §7.1)."""
    point = b"\x04" + rng.randbytes(64)
    return (record(HANDSHAKE, handshake(16, _vec(point, 1))) + record(CHANGE_CIPHER_SPEC, b"\x01")
            + record(HANDSHAKE, rng.randbytes(40)))


def server_finish(rng: random.Random) -> bytes:
    return record(CHANGE_CIPHER_SPEC, b"\x01") + record(HANDSHAKE, rng.randbytes(40))


def application_data(rng: random.Random, size: int) -> bytes:
    """Encrypted application data in records of at most 2^14 bytes plus AEAD overhead (RFC 5246 §6.2.3)."""
    out = b""
    while size > 0:
        n = min(size, 16408)
        out += record(APPLICATION_DATA, rng.randbytes(n))
        size -= n
    return out
