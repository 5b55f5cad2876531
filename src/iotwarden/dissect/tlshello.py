"""Parsers of the cleartext TLS handshake messages: ClientHello, ServerHello, Certificate.

RFC 8446 §4.1.2-4.1.3 (hellos), §4.2 (extensions), RFC 5246 §7.4.2 (Certificate). Each parser
takes one handshake message body and returns observation fields or raises ParseError.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from iotwarden.dissect import ja4 as fp
from iotwarden.dissect import x509info
from iotwarden.errors import ParseError

MAX_LIST = 256  # entries kept per list field (cipher suites, extensions, groups, ALPN, ...)
MAX_CERTS = 10  # certificates described per Certificate message
MAX_NAME = 255  # bytes kept of an SNI host name (RFC 6066 §3: HostName<1..2^16-1>)

EXT_SERVER_NAME = 0  # RFC 6066 §3
EXT_SUPPORTED_GROUPS = 10  # RFC 8446 §4.2.7 (RFC 4492 "elliptic_curves")
EXT_EC_POINT_FORMATS = 11  # RFC 8422 §5.1.2
EXT_SIGNATURE_ALGORITHMS = 13  # RFC 8446 §4.2.3
EXT_ALPN = 16  # RFC 7301 §3.1
EXT_SUPPORTED_VERSIONS = 43  # RFC 8446 §4.2.1

VERSION_NAMES = {
    0x0200: "SSL 2.0",
    0x0300: "SSL 3.0",
    0x0301: "TLS 1.0",
    0x0302: "TLS 1.1",
    0x0303: "TLS 1.2",
    0x0304: "TLS 1.3",
}


def version_name(value: int) -> str:
    return VERSION_NAMES.get(value, f"0x{value:04x}")


class _Reader:
    """Bounds-checked cursor over one message: every overrun is a ParseError."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ParseError(f"{self.what}: truncated at byte {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack("!H", self.take(2))[0])

    def u24(self) -> int:
        b = self.take(3)
        return (b[0] << 16) | (b[1] << 8) | b[2]

    def vec(self, len_bytes: int) -> bytes:
        n = self.u8() if len_bytes == 1 else self.u16() if len_bytes == 2 else self.u24()
        return self.take(n)

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def _u16_list(data: bytes, what: str) -> list[int]:
    if len(data) % 2:
        raise ParseError(f"{what}: odd length {len(data)}")
    return [int(v) for v in struct.unpack(f"!{len(data) // 2}H", data)]


def _extensions(r: _Reader) -> list[tuple[int, bytes]]:
    if r.left == 0:  # RFC 5246 §7.4.1.2: extensions may be absent entirely
        return []
    block = _Reader(r.vec(2), r.what + " extensions")
    out = []
    while block.left:
        ext_type = block.u16()
        out.append((ext_type, block.vec(2)))
    return out


def _alpn(body: bytes) -> list[bytes]:
    r = _Reader(_Reader(body, "alpn").vec(2), "alpn")
    names = []
    while r.left:
        names.append(r.vec(1))
    return names[:MAX_LIST]


def _texts(names: list[bytes]) -> list[str]:
    return [n.decode("utf-8", "replace") for n in names]


def _sni(body: bytes) -> str | None:
    r = _Reader(_Reader(body, "server_name").vec(2), "server_name")
    while r.left:
        name_type = r.u8()
        name = r.vec(2)
        if name_type == 0:  # host_name
            return name[:MAX_NAME].decode("ascii", "replace")
    return None


# extensions whose contents reach the fields; of the others only the type is reported
_CLIENT_PARSED = frozenset({EXT_SERVER_NAME, EXT_ALPN, EXT_SUPPORTED_GROUPS, EXT_EC_POINT_FORMATS,
                            EXT_SIGNATURE_ALGORITHMS, EXT_SUPPORTED_VERSIONS})
_SERVER_PARSED = frozenset({EXT_SUPPORTED_VERSIONS, EXT_ALPN})


def _hello_key(body: bytes, client: bool) -> bytes | None:
    """What the hello fields depend on, for the dissector's memo: the body less its random and
    session id, and less the contents of extensions that are only listed by type (key_share,
    padding, pre_shared_key: drawn afresh per connection). Every length is checked as the parser
    checks it; None (no memo) where the parser will raise instead."""
    n = len(body)
    if n < 35:
        return None
    pos = 35 + body[34]  # legacy_version (2), random (32), legacy_session_id<0..32>
    parts = [body[:2]]
    if client:  # cipher_suites<2..2^16-2>, legacy_compression_methods<1..2^8-1>
        if pos + 2 > n:
            return None
        end = pos + 2 + ((body[pos] << 8) | body[pos + 1])
        if end >= n:
            return None
        parts.append(body[pos:end])
        pos = end + 1 + body[end]
    else:  # cipher_suite, legacy_compression_method
        parts.append(body[pos : pos + 2])
        pos += 3
    if pos > n:
        return None
    if pos == n:  # no extensions at all
        return b"".join(parts)
    if pos + 2 > n:
        return None
    end = pos + 2 + ((body[pos] << 8) | body[pos + 1])
    if end > n:
        return None
    parts.append(b"\x01")  # an extension block follows (even an empty one)
    parsed = _CLIENT_PARSED if client else _SERVER_PARSED
    pos += 2
    while pos < end:
        if pos + 4 > end:
            return None
        ext_type = (body[pos] << 8) | body[pos + 1]
        nxt = pos + 4 + ((body[pos + 2] << 8) | body[pos + 3])
        if nxt > end:
            return None
        parts.append(body[pos:nxt] if ext_type in parsed else body[pos : pos + 2])
        pos = nxt
    return b"".join(parts)


def client_hello_key(body: bytes) -> bytes | None:
    """Memo key of a ClientHello body: equal keys give equal :func:`client_hello` fields (for one
    record version). None when the body is malformed."""
    return _hello_key(body, client=True)


def server_hello_key(body: bytes) -> bytes | None:
    """Memo key of a ServerHello body: equal keys give equal :func:`server_hello` fields."""
    return _hello_key(body, client=False)


def client_hello(body: bytes, record_version: int | None, transport: str = "t") -> dict[str, Any]:
    """Fields of a ClientHello body (RFC 8446 §4.1.2) including ja3/ja4 fingerprints. ``record_version``
    is None where no record layer carried it (QUIC's CRYPTO frames, RFC 9001 §4); ``transport`` is
    JA4's first character (``t`` TCP, ``q`` QUIC)."""
    r = _Reader(body, "client_hello")
    legacy_version = r.u16()
    r.take(32)  # random
    r.vec(1)  # legacy_session_id
    ciphers = _u16_list(r.vec(2), "cipher_suites")
    r.vec(1)  # legacy_compression_methods
    exts = _extensions(r)
    ext_types = [t for t, _ in exts]
    sni: str | None = None
    alpn: list[bytes] = []
    groups: list[int] = []
    point_formats: list[int] = []
    sig_algs: list[int] = []
    supported: list[int] = []
    for ext_type, ext_body in exts:
        if ext_type == EXT_SERVER_NAME and ext_body:
            sni = _sni(ext_body)
        elif ext_type == EXT_ALPN:
            alpn = _alpn(ext_body)
        elif ext_type == EXT_SUPPORTED_GROUPS:
            groups = _u16_list(_Reader(ext_body, "supported_groups").vec(2), "supported_groups")
        elif ext_type == EXT_EC_POINT_FORMATS:
            point_formats = list(_Reader(ext_body, "ec_point_formats").vec(1))
        elif ext_type == EXT_SIGNATURE_ALGORITHMS:
            sig_algs = _u16_list(_Reader(ext_body, "signature_algorithms").vec(2), "signature_algorithms")
        elif ext_type == EXT_SUPPORTED_VERSIONS:
            supported = _u16_list(_Reader(ext_body, "supported_versions").vec(1), "supported_versions")
    ja3_string = fp.ja3_string(legacy_version, ciphers, ext_types, groups, point_formats)
    ja4, ja4_r = fp.ja4(transport, legacy_version=legacy_version, supported_versions=supported, ciphers=ciphers,
                       extensions=ext_types, alpn=alpn, signature_algorithms=sig_algs)
    offered = [v for v in supported if not fp.is_grease(v)] or [legacy_version]
    return {
        "sni": sni,
        "alpn": _texts(alpn),
        "versions": [version_name(v) for v in offered][:MAX_LIST],
        "record_version": None if record_version is None else version_name(record_version),
        "cipher_suites": ciphers[:MAX_LIST],
        "extensions": ext_types[:MAX_LIST],
        "signature_algorithms": sig_algs[:MAX_LIST],
        "supported_groups": groups[:MAX_LIST],
        "ec_point_formats": point_formats[:MAX_LIST],
        "ja3": fp.md5_hex(ja3_string),
        "ja3_string": ja3_string,
        "ja4": ja4,
        "ja4_r": ja4_r,
    }


def server_hello(body: bytes, transport: str = "t") -> dict[str, Any]:
    """Fields of a ServerHello body (RFC 8446 §4.1.3) including ja3s/ja4s fingerprints (JA4S's first
    character ``transport``, as :func:`client_hello`)."""
    r = _Reader(body, "server_hello")
    legacy_version = r.u16()
    r.take(32)  # random (a HelloRetryRequest has the RFC 8446 §4.1.3 magic value here)
    r.vec(1)  # legacy_session_id_echo
    cipher = r.u16()
    r.u8()  # legacy_compression_method
    exts = _extensions(r)
    ext_types = [t for t, _ in exts]
    selected: int | None = None
    alpn: list[bytes] = []
    for ext_type, ext_body in exts:
        if ext_type == EXT_SUPPORTED_VERSIONS:
            selected = _Reader(ext_body, "supported_versions").u16()
        elif ext_type == EXT_ALPN:
            alpn = _alpn(ext_body)
    ja3s_string = fp.ja3s_string(legacy_version, cipher, ext_types)
    ja4s, ja4s_r = fp.ja4s(transport, legacy_version=legacy_version, selected_version=selected, cipher=cipher,
                           extensions=ext_types, alpn=alpn)
    return {
        "version": version_name(selected if selected is not None else legacy_version),
        "cipher_suite": cipher,
        "extensions": ext_types[:MAX_LIST],
        "alpn": _texts(alpn),
        "ja3s": fp.md5_hex(ja3s_string),
        "ja3s_string": ja3s_string,
        "ja4s": ja4s,
        "ja4s_r": ja4s_r,
    }


def certificate(body: bytes, describe: Callable[[bytes], dict[str, Any]] = x509info.describe) -> dict[str, Any]:
    """Fields of a TLS <= 1.2 Certificate body (RFC 5246 §7.4.2): the chain, leaf first.

    ``describe`` summarises one DER certificate (a memoised :func:`x509info.describe` in the dissector).
    """
    r = _Reader(_Reader(body, "certificate").vec(3), "certificate_list")
    certs: list[dict[str, Any]] = []
    total = 0
    while r.left:
        der = r.vec(3)
        total += 1
        if len(certs) < MAX_CERTS:
            certs.append(describe(der))
    return {
        "certs": certs,
        "cert_count": total,
        "cert_errors": sum(1 for c in certs if "error" in c),
    }
