"""The NetBIOS Name Service dissector (RFC 1001/1002): names, suffixes, addresses, node status."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.netbios import MAX_ADDRESSES, MAX_NODE_NAMES, NetbiosDissector, decode_netbios_name
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import (
    CUTS,
    EDITS,
    TCPDUMP_CAPTURES,
    by_frame,
    contract_call,
    dns_msg,
    dns_rr,
    mutate,
    single,
    udp,
)
from tests.pcaputil import run_dissector

D = NetbiosDissector()


def encoded(name: str, suffix: int) -> str:
    """First-level encoding of RFC 1001 §14.1: each half-octet as a letter 'A'..'P'."""
    raw = name.upper().ljust(15).encode() + bytes([suffix])
    return "".join(chr(65 + (b >> 4)) + chr(65 + (b & 0xF)) for b in raw)


def nb_rdata(ip: tuple[int, int, int, int], flags: int = 0x6000) -> bytes:
    return flags.to_bytes(2, "big") + bytes(ip)


REGISTRATION = dns_msg(0x8001, 0x2910, questions=[(encoded("CAMERA-01", 0x00), 0x20)],
                       additionals=[dns_rr(b"\xc0\x0c", 0x20, nb_rdata((10, 0, 0, 7)), ttl=300000)])
NODE_STATUS = dns_msg(0x0002, 0x8400, answers=[dns_rr(
    encoded("*", 0x00), 0x21,
    b"\x02" + b"PLC-7".ljust(15) + b"\x00\x04\x00" + b"WORKGROUP".ljust(15) + b"\x00\x84\x00"
    + bytes.fromhex("00 1b 1b 02 e6 1f") + b"\x00" * 40)])


def test_a_real_broadcast_query_and_the_owners_answer() -> None:
    # ITI ICS captures, openics/EIP-IPAddressChangeAttempt.pcap: 192.168.10.22 broadcasts a query for
    # DBLICENSESERVER<20> (frame 370) and 192.168.10.105 answers with its own address (frame 371)
    got = by_frame(D, shared("pcaps", "ics_iti", "pcaps", "openics", "EIP-IPAddressChangeAttempt.pcap"))
    query, answer = single(got, 370), single(got, 371)
    assert query.kind == "query" and query.fields["broadcast"] is True
    assert (query.fields["name"], query.fields["suffix"], query.fields["name_type"]) == \
        ("DBLICENSESERVER", 0x20, "file_server")
    assert answer.kind == "response" and answer.src_ip == "192.168.10.105"
    assert answer.fields["ip"] == "192.168.10.105" and answer.fields["group"] is False
    assert answer.fields["node_type"] == "B"


def test_a_registration_names_the_sender_and_its_address() -> None:
    obs = D.dissect(udp(REGISTRATION, 137, 137, dst_ip="10.0.0.255"), {})[0]
    assert obs.kind == "registration" and obs.fields["opcode"] == "registration"
    assert (obs.fields["name"], obs.fields["name_type"], obs.fields["ip"]) == ("CAMERA-01", "workstation", "10.0.0.7")
    assert obs.fields["node_type"] == "H"


def test_a_node_status_response_lists_names_and_the_unit_id() -> None:
    obs = D.dissect(udp(NODE_STATUS, 137, 50000), {})[0]
    assert obs.kind == "response" and obs.fields["qtype"] == "NBSTAT"
    assert obs.fields["names"] == [{"name": "PLC-7", "suffix": 0, "group": False},
                                   {"name": "WORKGROUP", "suffix": 0, "group": True}]
    assert obs.fields["unit_id"] == "00:1b:1b:02:e6:1f"


def test_node_status_names_stop_at_the_limit() -> None:
    count = MAX_NODE_NAMES + 5
    rdata = bytes([count]) + (b"N".ljust(15) + b"\x00\x04\x00") * count + b"\x00" * 6
    msg = dns_msg(2, 0x8400, answers=[dns_rr(encoded("*", 0), 0x21, rdata)])
    assert len(D.dissect(udp(msg, 137, 50000), {})[0].fields["names"]) == MAX_NODE_NAMES


def test_a_name_that_is_not_first_level_encoded_is_malformed() -> None:
    with pytest.raises(ParseError):
        decode_netbios_name("printer")
    with pytest.raises(ParseError):
        D.dissect(udp(dns_msg(1, 0x0110, questions=[("printer", 0x20)]), 137, 137), {})


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "netbios" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 137, 137), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([REGISTRATION, NODE_STATUS]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 137, 137), {})


def test_multihomed_addresses_stop_at_the_limit() -> None:
    rdata = b"".join(nb_rdata((10, 0, 0, i)) for i in range(MAX_ADDRESSES + 4))
    msg = dns_msg(3, 0x8500, answers=[dns_rr(encoded("NAS", 0x20), 0x20, rdata)])
    obs = D.dissect(udp(msg, 137, 137), {})[0]
    assert obs.kind == "response" and len(obs.fields["ips"]) == MAX_ADDRESSES and obs.fields["ip"] == "10.0.0.0"
