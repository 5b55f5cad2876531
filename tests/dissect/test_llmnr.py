"""The LLMNR dissector: DNS-format questions and answers with the LLMNR header bits (RFC 4795)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.llmnr import LlmnrDissector
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, TCPDUMP_CAPTURES, contract_call, dns_msg, dns_rr, mutate, udp
from tests.pcaputil import run_dissector

D = LlmnrDissector()
QUERY = dns_msg(0x6DD3, 0, questions=[("wpad", 1)])
ANSWER = dns_msg(0x6DD3, 0x8400 | 0x0100, questions=[("plc-gw", 1)],
                 answers=[dns_rr("plc-gw", 1, bytes([10, 1, 2, 3]), ttl=30)])


def test_a_real_wpad_lookup_over_ipv4_and_ipv6() -> None:
    # ITI ICS captures, S7Comm/wrapup.pcapng: VJTI-PC3 asks for "wpad" over both IP versions
    obs = run_dissector(D, shared("pcaps", "ics_iti", "pcaps", "s7", "S7Comm", "wrapup.pcapng"))
    wpad = [o for o in obs if o.fields["qname"] == "wpad"]
    assert {o.src_ip for o in wpad} >= {"192.168.0.16", "fe80::98a:de6e:a5a4:6cfa"}
    assert all(o.kind == "query" for o in wpad)
    assert {o.fields["qtype"] for o in wpad} <= {"A", "AAAA"}


def test_a_response_carries_the_responders_name_and_address_and_its_header_bits() -> None:
    obs = D.dissect(udp(ANSWER, 5355, 50000), {})[0]
    assert obs.kind == "response" and obs.subject == "src"
    assert obs.fields["answers"] == [{"name": "plc-gw", "type": "A", "ttl": 30, "data": "10.1.2.3"}]
    assert obs.fields["conflict"] is True and obs.fields["tentative"] is True


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "llmnr" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 50000, 5355), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([QUERY, ANSWER]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 5355, 50000), {})
