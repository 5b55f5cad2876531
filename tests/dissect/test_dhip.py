"""Dahua DHIP discovery dissector: ConfigTool's search and a recorder's answer (the layout the open
scanners UniversalScanner and ethodump-ng read), refusals, and the contract on hostile input."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.dhip import MAX_BODY, DhipDissector, parse
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, contract_call, feed_capture_any_port, mutate


def dhip(body: bytes) -> bytes:
    return struct.pack("<I4sIIIIII", 32, b"DHIP", 0, 0, len(body), 0, len(body), 0) + body


# UniversalScanner's search, byte for byte, and an answer shaped as ethodump-ng reads it
SEARCH = dhip(b'{ "method" : "DHDiscover.search", "params" : { "mac" : "", "uni" : 1 } }\r\n')
ANSWER = dhip(json.dumps({"mac": "3C:EF:8C:01:02:03", "method": "client.notifyDevInfo", "params": {"deviceInfo": {
    "DeviceClass": "NVR", "DeviceType": "DHI-NVR5216-4KS2", "HttpPort": 80, "Port": 37777, "SerialNo": "5J01234PAZ",
    "IPv4Address": {"IPAddress": "192.168.1.108", "DefaultGateway": "192.168.1.1"}, "Version": "4.001.0000000.1",
    "Vendor": "Private", "MachineName": "NVR"}}}).encode() + b"\n\x00")


def test_a_search_and_the_recorders_description_of_itself() -> None:
    assert parse(SEARCH) == ("search", {"method": "DHDiscover.search"})
    kind, fields = parse(ANSWER)
    assert kind == "device_info"
    assert fields == {"method": "client.notifyDevInfo", "device_type": "DHI-NVR5216-4KS2", "device_class": "NVR",
                      "version": "4.001.0000000.1", "serial_no": "5J01234PAZ", "http_port": 80, "port": 37777,
                      "vendor": "Private", "machine_name": "NVR", "mac": "3c:ef:8c:01:02:03"}


def test_the_answer_describes_its_sender() -> None:
    pkt = Packet(ts=1.0, payload=ANSWER, src_ip="192.168.1.108", dst_ip="192.168.1.20", ip_proto=17,
                 src_port=37810, dst_port=37810)
    (obs,) = DhipDissector().dissect(pkt, {})
    assert obs.subject == "src" and obs.src_ip == "192.168.1.108" and obs.fields["device_class"] == "NVR"


@pytest.mark.parametrize(("payload", "message"), [
    (b"\x20\x00\x00\x00HTTP" + bytes(24), "no DHIP header"),
    (SEARCH[:16] + struct.pack("<I", 500) + SEARCH[20:], "does not fit"),
    (dhip(b"not json"), "not JSON"),
    (dhip(b"[1, 2]"), "without a method"),
    (dhip(b"[" * 4000 + b"]" * 4000), "not JSON"),  # nesting deeper than the parser's recursion
])
def test_what_is_not_dhip_is_refused(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(payload)


def test_a_body_over_the_limit_is_refused() -> None:
    with pytest.raises(ParseError, match="does not fit"):
        parse(dhip(b" " * (MAX_BODY + 1)))


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(DhipDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 600),
       st.sampled_from([SEARCH, ANSWER]))
def test_fuzz_mutated_datagrams(edits: list[tuple[int, int]], cut: int, payload: bytes) -> None:
    contract_call(DhipDissector(), Packet(ts=1.0, payload=mutate(payload, edits, cut), ip_proto=17), {})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    contract_call(DhipDissector(), Packet(ts=1.0, payload=b"\x20\x00\x00\x00DHIP" + data, ip_proto=17), {})
