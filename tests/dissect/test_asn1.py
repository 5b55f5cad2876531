"""Minimal BER reader: TLVs, integers and OIDs per X.690, malformed encodings as ParseError."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import asn1
from iotwarden.errors import ParseError


def test_short_and_long_lengths() -> None:
    assert asn1.read_tlv(b"\x04\x02hi") == asn1.Tlv(0x04, b"hi", 4)
    tlv = asn1.read_tlv(b"\x04\x81\x03abc")
    assert tlv.value == b"abc" and tlv.end == 6


def test_high_tag_number_form_small_numbers_equal_the_short_form() -> None:
    assert asn1.read_tlv(b"\xbf\x04\x00").tag == 0xA4  # X.690 §8.1.2.4, non-canonical [4]
    assert asn1.read_tlv(b"\xbf\x81\x04\x00").tag not in range(256)  # [132]


@pytest.mark.parametrize("data", [b"", b"\x04", b"\x04\x05ab", b"\x04\x80", b"\x04\x85\x00\x00\x00\x00\x01",
                                  b"\x1f\xff\xff\xff\xff\x7f\x00"])
def test_malformed_headers_raise(data: bytes) -> None:
    with pytest.raises(ParseError):
        asn1.read_tlv(data)


def test_integers_signed_and_unsigned() -> None:
    assert asn1.integer(b"\xff") == -1 and asn1.unsigned(b"\xff") == 255
    assert asn1.integer(b"\x00\x80") == 128
    with pytest.raises(ParseError):
        asn1.integer(b"")


def test_oids() -> None:
    assert asn1.oid(bytes.fromhex("2b06010201010100")) == "1.3.6.1.2.1.1.1.0"
    assert asn1.oid(b"\x01") == "0.1"
    assert asn1.oid(b"\x88\x37") == "2.999"
    for bad in (b"", b"\x2b\x86", b"\x2b" + b"\xff" * 12 + b"\x01", b"\x01" * (asn1.MAX_SUBIDS + 1)):
        with pytest.raises(ParseError):
            asn1.oid(bad)


def test_oid_memo_answers_as_the_decoder_within_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asn1, "MAX_OID_MEMO", 4)
    monkeypatch.setattr(asn1, "_OID_TEXT", {})
    expected = {bytes([0x2B, 6, 1, 2, 1, 1, n, 0]): f"1.3.6.1.2.1.1.{n}.0" for n in range(10)} | {b"\x88\x37": "2.999"}
    for value, text in [*expected.items(), *expected.items()]:  # decoded, then answered while the memo holds it
        assert asn1.oid(value) == text
        assert len(asn1._OID_TEXT) <= 4
        assert all(expected[k] == v for k, v in asn1._OID_TEXT.items())
    assert asn1.oid(memoryview(b"\x01")) == "0.1"  # not bytes (unhashable): decoded, not kept
    for bad in (b"", b"\x81"):  # malformed: raised every time, never kept
        for _ in range(2):
            with pytest.raises(ParseError):
                asn1.oid(bad)
        assert bad not in asn1._OID_TEXT


def test_the_oid_memo_keeps_no_long_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    # sub-identifiers padded with 0x80 bytes decode (to small numbers) however long: a stream of distinct such OIDs
    # of a message's size each would have the memo hold MAX_OID_MEMO of them (0142dc1: 4096 x 60 KB of SNMP)
    monkeypatch.setattr(asn1, "MAX_OID_MEMO", 4)
    monkeypatch.setattr(asn1, "_OID_TEXT", {})
    for n in range(1, 9):
        padded = b"\x2b" + b"\x80" * 1000 + bytes([n])
        assert asn1.oid(padded) == asn1.oid(bytes([0x2B, n])) == f"1.3.{n}"
        assert sum(map(len, asn1._OID_TEXT)) <= asn1.MAX_OID_MEMO * asn1.MAX_OID_MEMO_BYTES
    assert padded not in asn1._OID_TEXT and bytes([0x2B, 8]) in asn1._OID_TEXT
    longest = bytes([0x2B]) + b"\x01" * (asn1.MAX_OID_MEMO_BYTES - 1)  # the longest kept
    assert asn1.oid(longest) == "1.3" + ".1" * (asn1.MAX_OID_MEMO_BYTES - 1) and longest in asn1._OID_TEXT


def test_tlv_is_the_named_tuple() -> None:
    tlv = asn1.read_tlv(b"\x30\x03\x02\x01\x05")
    assert type(tlv) is asn1.Tlv and tlv == asn1.Tlv(tag=0x30, value=b"\x02\x01\x05", end=5)
    assert (tlv.tag, tlv.value, tlv.end) == (0x30, b"\x02\x01\x05", 5)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_reader_raises_only_parse_error(data: bytes) -> None:
    for fn in (asn1.read_tlv, asn1.children, asn1.oid, asn1.integer):
        with contextlib.suppress(ParseError):
            fn(data)


def test_tag_parts_split_low_and_high_tag_numbers() -> None:
    assert asn1.tag_parts(asn1.read_tlv(b"\xa1\x00").tag) == (0x80, True, 1)
    assert asn1.tag_parts(asn1.read_tlv(b"\x61\x00").tag) == (0x40, True, 1)
    assert asn1.tag_parts(asn1.read_tlv(b"\xbf\x29\x00").tag) == (0x80, True, 41)  # MMS stop [41]
    assert asn1.tag_parts(asn1.read_tlv(b"\x9f\x81\x00\x00").tag) == (0x80, False, 128)
