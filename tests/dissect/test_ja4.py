"""JA3/JA3S/JA4/JA4S builders: the rules of the FoxIO and Salesforce specifications, case by case."""

from __future__ import annotations

import hashlib

from iotwarden.dissect import ja4 as fp


def test_grease_values_are_recognised_per_rfc_8701() -> None:
    assert all(fp.is_grease(v) for v in (0x0A0A, 0x1A1A, 0xFAFA))
    assert not any(fp.is_grease(v) for v in (0x0A1A, 0x1301, 0x0000, 0xFF01))


def test_ja3_string_drops_grease_but_keeps_order() -> None:
    text = fp.ja3_string(771, [0x0A0A, 4865, 47], [0x1A1A, 0, 10], [0x2A2A, 29], [0])
    assert text == "771,4865-47,0-10,29,0"
    assert fp.md5_hex(text) == hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def test_ja4_counts_sorts_and_hashes() -> None:
    ja4, raw = fp.ja4("t", legacy_version=0x0303, supported_versions=[0x0A0A, 0x0304, 0x0303],
                      ciphers=[0x1302, 0x1301, 0x0A0A], extensions=[0x0010, 0x0000, 0x000D, 0x002B],
                      alpn=[b"h2"], signature_algorithms=[0x0403, 0x0804])
    assert raw == "t13d0204h2_1301,1302_000d,002b_0403,0804"
    head, b, c = ja4.split("_")
    assert head == "t13d0204h2"
    assert b == hashlib.sha256(b"1301,1302").hexdigest()[:12]
    assert c == hashlib.sha256(b"000d,002b_0403,0804").hexdigest()[:12]


def test_ja4_without_ciphers_or_extensions_uses_zero_hashes() -> None:
    ja4, _ = fp.ja4("t", legacy_version=0x0301, supported_versions=[], ciphers=[], extensions=[], alpn=[],
                    signature_algorithms=[])
    assert ja4 == "t10i000000_000000000000_000000000000"


def test_ja4_alpn_non_alphanumeric_uses_hex_and_unknown_version_is_00() -> None:
    ja4, _ = fp.ja4("t", legacy_version=0x7F17, supported_versions=[], ciphers=[1], extensions=[16],
                    alpn=[b"\x01ab\xff"], signature_algorithms=[])
    assert ja4.startswith("t00i01010f_")  # hex "016162ff": its first and last characters


def test_ja4s_keeps_extension_order() -> None:
    ja4s, raw = fp.ja4s("t", legacy_version=0x0303, selected_version=0x0304, cipher=0x1301,
                        extensions=[0x0033, 0x002B], alpn=[])
    assert raw == "t130200_1301_0033,002b"
    assert ja4s == "t130200_1301_" + hashlib.sha256(b"0033,002b").hexdigest()[:12]
