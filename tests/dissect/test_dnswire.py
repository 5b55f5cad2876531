"""The DNS wire format parser: names, compression, limits and RDATA rendering (RFC 1035 §4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import dnswire
from iotwarden.errors import ParseError
from tests.dissect.discovery import dns_msg, dns_name, dns_rr


def test_a_compressed_name_is_followed_back_to_its_first_occurrence() -> None:
    msg = dns_msg(1, 0x8180, questions=[("printer.example.com", 1)],
                  answers=[dns_rr(b"\xc0\x0c", 1, bytes([192, 0, 2, 7]))])
    parsed = dnswire.parse_message(msg)
    assert parsed.answers[0].name == "printer.example.com"
    assert dnswire.rdata_value(parsed, parsed.answers[0]) == "192.0.2.7"


def test_a_pointer_to_itself_or_forward_is_refused_so_loops_cannot_happen() -> None:
    looping = dns_msg(1, 0, questions=[]) + b""
    looping = bytearray(looping)
    looping[4:6] = b"\x00\x01"  # one question whose name points at itself
    looping += b"\xc0\x0c\x00\x01\x00\x01"
    with pytest.raises(ParseError, match="backwards"):
        dnswire.parse_message(bytes(looping))


def test_a_name_longer_than_255_octets_is_malformed() -> None:
    long_name = ".".join(["a" * 63] * 5)  # 5 * 64 + 1 octets
    with pytest.raises(ParseError, match="255"):
        dnswire.parse_message(dns_msg(1, 0, questions=[(long_name, 1)]))


def test_extended_label_types_are_malformed() -> None:
    with pytest.raises(ParseError, match="label type"):
        dnswire.read_name(b"\x41abc\x00", 0)


def test_each_section_keeps_at_most_max_records_but_the_message_is_still_read_through() -> None:
    answers = [dns_rr("h.example", 1, bytes([10, 0, 0, i % 250])) for i in range(dnswire.MAX_RECORDS_PER_SECTION + 36)]
    extra = [dns_rr("ns.example", 1, bytes([10, 9, 9, 9]))]
    parsed = dnswire.parse_message(dns_msg(7, 0x8400, answers=answers, additionals=extra))
    assert len(parsed.answers) == dnswire.MAX_RECORDS_PER_SECTION
    assert parsed.counts[1] == dnswire.MAX_RECORDS_PER_SECTION + 36
    assert dnswire.rdata_value(parsed, parsed.additionals[0]) == "10.9.9.9"


def test_too_many_compression_pointers_are_refused() -> None:
    # a chain of names each pointing at the previous one, MAX_POINTER_JUMPS + 2 long
    buf = bytearray(b"\x00" * 12 + b"\x01a\x00")
    previous = 12
    for _ in range(dnswire.MAX_POINTER_JUMPS + 2):
        here = len(buf)
        buf += bytes([0xC0 | (previous >> 8), previous & 0xFF])
        previous = here
    with pytest.raises(ParseError, match="too many"):
        dnswire.read_name(bytes(buf), previous)


def test_the_opt_record_extends_the_rcode_and_is_not_listed_as_an_additional() -> None:
    opt = dns_rr(b"\x00", 41, b"", ttl=(1 << 24), rclass=1232)  # extended RCODE 1 -> 16 BADVERS
    parsed = dnswire.parse_message(dns_msg(3, 0x8000, additionals=[opt]))
    fields = dnswire.message_fields(parsed)
    assert fields["rcode"] == "BADVERS"
    assert fields["additionals"] == []
    assert fields["edns"] == {"udp_size": 1232, "version": 0, "do": False}


@pytest.mark.parametrize(("rtype", "rdata", "expected"), [
    (28, bytes.fromhex("20010db8000000000000000000000001"), "2001:db8::1"),
    (12, dns_name("host.local"), "host.local"),
    (33, b"\x00\x01\x00\x02\x02\x77" + dns_name("host.local"), {"priority": 1, "weight": 2, "port": 631,
                                                                  "target": "host.local"}),
    (16, b"\x07txtvers\x0bmodel=iMac1", ["txtvers", "model=iMac1"]),
    (13, b"\x05ARMV7\x05Linux", {"cpu": "ARMV7", "os": "Linux"}),
    (15, b"\x00\x0a" + dns_name("mx.example"), {"preference": 10, "exchange": "mx.example"}),
    (99, b"\x01\x02", "0102"),
])
def test_rdata_is_rendered_per_type(rtype: int, rdata: bytes, expected: object) -> None:
    parsed = dnswire.parse_message(dns_msg(1, 0x8000, answers=[dns_rr("x.example", rtype, rdata)]))
    assert dnswire.rdata_value(parsed, parsed.answers[0]) == expected


def test_an_a_record_of_the_wrong_size_is_malformed() -> None:
    parsed = dnswire.parse_message(dns_msg(1, 0x8000, answers=[dns_rr("x.example", 1, b"\x01\x02\x03")]))
    with pytest.raises(ParseError):
        dnswire.message_fields(parsed)


def test_unknown_types_print_as_rfc3597_names() -> None:
    assert dnswire.type_name(65280) == "TYPE65280"
    assert dnswire.type_name(65) == "HTTPS"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_a_message_or_parse_error(data: bytes) -> None:
    try:
        parsed = dnswire.parse_message(data)
        dnswire.message_fields(parsed)
    except ParseError:
        pass


def test_txt_strings_and_undecoded_rdata_stop_at_their_limits() -> None:
    txt = b"\x01a" * (dnswire.MAX_TXT_STRINGS + 10)
    unknown = b"\xab" * (dnswire.MAX_RDATA_HEX + 10)
    parsed = dnswire.parse_message(dns_msg(1, 0x8000, answers=[dns_rr("t.example", 16, txt),
                                                               dns_rr("u.example", 99, unknown)]))
    assert len(dnswire.rdata_value(parsed, parsed.answers[0])) == dnswire.MAX_TXT_STRINGS
    assert dnswire.rdata_value(parsed, parsed.answers[1]) == "ab" * dnswire.MAX_RDATA_HEX
