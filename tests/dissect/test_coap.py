"""The CoAP dissector (RFC 7252), on the RFC's own example messages and hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.coap import MAX_LINK_CHARS, MAX_LINKS, MAX_OPTIONS, CoapDissector, parse_coap
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, TCPDUMP_CAPTURES, contract_call, mutate, udp
from tests.pcaputil import run_dissector

D = CoapDissector()
# RFC 7252 Appendix A, Figure 16: CON GET /temperature, MID 0x7d34, no token
GET_TEMPERATURE = bytes([0x40, 0x01, 0x7D, 0x34, 0xBB]) + b"temperature"
# Figure 16's answer: ACK 2.05 Content, MID 0x7d34, payload "22.3 C"
CONTENT = bytes([0x60, 0x45, 0x7D, 0x34, 0xFF]) + b"22.3 C"
# GET /.well-known/core?rt=sensor with token 0x71, then its link-format answer (RFC 6690 §5)
DISCOVERY = bytes([0x41, 0x01, 0x12, 0x34, 0x71, 0xBB]) + b".well-known" + bytes([0x04]) + b"core" + \
    bytes([0x49]) + b"rt=sensor"
LINKS = bytes([0x61, 0x45, 0x12, 0x34, 0x71, 0xC1, 0x28, 0xFF]) + \
    b'</sensors/temp>;rt="temperature-c";if="sensor",</sensors/light>;ct=41'


def test_rfc7252_figure_16_request_and_response() -> None:
    kind, f = parse_coap(GET_TEMPERATURE)
    assert (kind, f["type"], f["code"], f["message_id"], f["token"]) == ("request", "CON", "GET", 0x7D34, "")
    assert f["uri_path"] == "/temperature" and f["options"] == [11]
    kind, f = parse_coap(CONTENT)
    assert (kind, f["type"], f["code"], f["payload_length"]) == ("response", "ACK", "2.05", 6)


def test_resource_discovery_query_and_link_format_answer() -> None:
    _, f = parse_coap(DISCOVERY)
    assert (f["uri_path"], f["uri_query"], f["token"]) == ("/.well-known/core", "rt=sensor", "71")
    _, f = parse_coap(LINKS)
    assert f["content_format"] == 40
    assert f["links"] == ['</sensors/temp>;rt="temperature-c";if="sensor"', "</sensors/light>;ct=41"]


def test_an_empty_ping_and_a_reset() -> None:
    assert parse_coap(bytes([0x40, 0x00, 0x00, 0x01]))[0] == "empty"
    assert parse_coap(bytes([0x70, 0x00, 0x00, 0x01]))[1]["type"] == "RST"


def test_extended_option_deltas_and_lengths() -> None:
    # Uri-Host (3) then Size1 (60: delta 57 = 13 + 44) with a 2-octet value
    msg = bytes([0x42, 0x02, 0x00, 0x09, 0xAB, 0xCD, 0x34]) + b"host" + bytes([0xD2, 44, 0x01, 0x00])
    kind, f = parse_coap(msg)
    assert (kind, f["code"], f["uri_host"], f["options"]) == ("request", "POST", "host", [3, 60])


def test_options_and_links_stop_at_their_limits() -> None:
    with pytest.raises(ParseError, match="MAX_OPTIONS"):
        parse_coap(bytes([0x40, 0x01, 0x00, 0x01]) + bytes([0xB1]) + b"a" + bytes([0x01, 0x61]) * MAX_OPTIONS)
    many = ",".join(f"</r{i}>" for i in range(MAX_LINKS + 9)).encode()
    assert len(parse_coap(bytes([0x60, 0x45, 0, 1, 0xC1, 0x28, 0xFF]) + many)[1]["links"]) == MAX_LINKS


@pytest.mark.parametrize("data", [
    b"\x40\x01\x00",  # shorter than the header
    bytes([0x80, 0x01, 0, 1]),  # version 2
    bytes([0x49, 0x01, 0, 1]) + b"\x00" * 9,  # token length 9 (reserved)
    bytes([0x40, 0x01, 0, 1, 0xFF]),  # payload marker with nothing after it
    bytes([0x40, 0x01, 0, 1, 0xF0]),  # option delta nibble 15
    bytes([0x40, 0x21, 0, 1]),  # code class 1 (reserved)
])
def test_message_format_errors(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_coap(data)


def test_observations_carry_the_packet_addresses() -> None:
    obs = D.dissect(udp(GET_TEMPERATURE, 50000, 5683), {})[0]
    assert (obs.proto, obs.kind, obs.subject, obs.dst_port) == ("coap", "request", "src", 5683)


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "coap" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 50000, 5683), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([GET_TEMPERATURE, DISCOVERY, LINKS]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 5683, 50000), {})


def test_a_link_value_is_cut_at_the_limit() -> None:
    long_link = b"</" + b"r" * (MAX_LINK_CHARS * 2) + b">"
    links = parse_coap(bytes([0x60, 0x45, 0, 1, 0xC1, 0x28, 0xFF]) + long_link)[1]["links"]
    assert len(links[0]) == MAX_LINK_CHARS
