"""TLS client/server fingerprints from parsed hellos: JA3/JA3S (Salesforce) and JA4/JA4S (FoxIO).

JA3: https://github.com/salesforce/ja3 (GREASE, RFC 8701, removed). JA4/JA4S: the FoxIO technical
details (https://github.com/FoxIO-LLC/ja4/blob/main/technical_details/JA4.md and JA4S.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EXT_SERVER_NAME = 0x0000  # RFC 6066 §3
EXT_ALPN = 0x0010  # RFC 7301 §3.1

# JA4 version codes (JA4.md "TLS and DTLS Version")
_JA4_VERSIONS = {
    0x0304: "13",
    0x0303: "12",
    0x0302: "11",
    0x0301: "10",
    0x0300: "s3",
    0x0002: "s2",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}
_EMPTY_HASH = "000000000000"


def is_grease(value: int) -> bool:
    """RFC 8701 §2: GREASE values are 0x?A?A with both bytes equal."""
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


def _no_grease(values: Sequence[int]) -> list[int]:
    return [v for v in values if not is_grease(v)]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _sha12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _dash(values: Sequence[int]) -> str:
    return "-".join(str(v) for v in values)


def ja3_string(version: int, ciphers: Sequence[int], extensions: Sequence[int], groups: Sequence[int],
               point_formats: Sequence[int]) -> str:
    """SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats (decimal, GREASE removed)."""
    return ",".join(
        [
            str(version),
            _dash(_no_grease(ciphers)),
            _dash(_no_grease(extensions)),
            _dash(_no_grease(groups)),
            _dash(point_formats),
        ]
    )


def ja3s_string(version: int, cipher: int, extensions: Sequence[int]) -> str:
    """SSLVersion,Cipher,Extensions of a ServerHello (decimal)."""
    return f"{version},{cipher},{_dash(extensions)}"


def md5_hex(text: str) -> str:
    """The JA3/JA3S/HASSH digest of a fingerprint string."""
    return _md5(text)


def _version_code(legacy_version: int, supported_versions: Sequence[int]) -> str:
    versions = _no_grease(supported_versions)
    version = max(versions) if versions else legacy_version
    return _JA4_VERSIONS.get(version, "00")


def _alpn_code(alpn: Sequence[bytes]) -> str:
    """First and last character of the first ALPN value, or of its hex form if not alphanumeric."""
    if not alpn or not alpn[0]:
        return "00"
    raw = bytes(alpn[0])

    def alnum(b: int) -> bool:
        return 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A

    if alnum(raw[0]) and alnum(raw[-1]):
        return chr(raw[0]) + chr(raw[-1])
    hexed = raw.hex()
    return hexed[0] + hexed[-1]


def _hex4(values: Sequence[int]) -> str:
    return ",".join(f"{v:04x}" for v in values)


def ja4(transport: str, *, legacy_version: int, supported_versions: Sequence[int], ciphers: Sequence[int],
        extensions: Sequence[int], alpn: Sequence[bytes], signature_algorithms: Sequence[int]) -> tuple[str, str]:
    """(ja4, ja4_r) of a ClientHello; ``transport`` is ``t`` (TCP), ``q`` (QUIC) or ``d`` (DTLS)."""
    ciphers = _no_grease(ciphers)
    exts = _no_grease(extensions)
    sni = "d" if EXT_SERVER_NAME in exts else "i"
    head = (
        f"{transport}{_version_code(legacy_version, supported_versions)}{sni}"
        f"{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{_alpn_code(alpn)}"
    )
    cipher_text = _hex4(sorted(ciphers))
    ext_text = _hex4(sorted(e for e in exts if e not in (EXT_SERVER_NAME, EXT_ALPN)))
    # the FoxIO reference code and Suricata keep the "_" even with no signature algorithms
    ext_text = f"{ext_text}_{_hex4(_no_grease(signature_algorithms))}"
    part_b = _sha12(cipher_text) if ciphers else _EMPTY_HASH
    part_c = _sha12(ext_text) if exts else _EMPTY_HASH
    return f"{head}_{part_b}_{part_c}", f"{head}_{cipher_text}_{ext_text}"


def ja4s(transport: str, *, legacy_version: int, selected_version: int | None, cipher: int,
         extensions: Sequence[int], alpn: Sequence[bytes]) -> tuple[str, str]:
    """(ja4s, ja4s_r) of a ServerHello: extensions hashed in the order sent (JA4S.md)."""
    version = _JA4_VERSIONS.get(selected_version if selected_version is not None else legacy_version, "00")
    head = f"{transport}{version}{min(len(extensions), 99):02d}{_alpn_code(alpn)}"
    ext_text = _hex4(extensions)
    part_c = _sha12(ext_text) if extensions else _EMPTY_HASH
    return f"{head}_{cipher:04x}_{part_c}", f"{head}_{cipher:04x}_{ext_text}"
