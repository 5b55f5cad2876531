"""The DNS dissector on real captures (values from tcpdump's published .out files) and hostile input;
DNS over TCP as a stream in test_dns_tcp.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.dns import DnsDissector
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

D = DnsDissector()
SEEDS = [
    dns_msg(0x1234, 0x0100, questions=[("www.example.com", 1)]),
    dns_msg(0x1234, 0x8180, questions=[("www.example.com", 1)],
            answers=[dns_rr(b"\xc0\x0c", 1, bytes([192, 0, 2, 1])), dns_rr(b"\xc0\x0c", 16, b"\x03a=b")]),
]


def test_a_query_and_its_answer(shared_data: object) -> None:
    # dns_udp.out: "22836+ [1au] A? www.tcpdump.org." then "22836*- 2/2/5 www.tcpdump.org. A 192.139.46.66, ..."
    got = by_frame(D, shared("pcaps", "tcpdump_tests", "dns_udp.pcap"))
    query, response = single(got, 1), single(got, 2)
    assert query.kind == "query" and query.subject == "src" and query.src_ip == "192.168.1.11"
    assert query.fields["id"] == 22836 and query.fields["rd"] is True
    assert query.fields["questions"] == [{"name": "www.tcpdump.org", "type": "A"}]
    assert (query.fields["qname"], query.fields["qtype"]) == ("www.tcpdump.org", "A")
    assert query.fields["edns"]["udp_size"] == 4096  # the "[1au]" OPT record
    assert response.kind == "response" and response.fields["aa"] is True and response.fields["ra"] is False
    assert [a["data"] for a in response.fields["answers"]] == ["192.139.46.66", "198.199.88.104"]
    assert (len(response.fields["answers"]), len(response.fields["authorities"])) == (2, 2)
    assert len(response.fields["additionals"]) == 4  # 5 in the header, one of them the OPT record
    assert response.fields["rcode"] == "NOERROR"


@pytest.mark.parametrize(("capture", "frame", "rcode"), [
    ("dns-badvers.pcap", 2, "BADVERS"),  # "36787 BadVers- 0/0/1"
    ("dns-uri.pcap", 4, "NXDOMAIN"),  # "25957 NXDomain* 0/1/1"
])
def test_rcodes_including_the_extended_ones_carried_by_edns(capture: str, frame: int, rcode: str) -> None:
    assert single(by_frame(D, shared("pcaps", "tcpdump_tests", capture)), frame).fields["rcode"] == rcode


def test_a_uri_record() -> None:
    # dns-uri.out: "44845* 1/0/1 URI 10 5 http://www.dns.test:8000"
    answer = single(by_frame(D, shared("pcaps", "tcpdump_tests", "dns-uri.pcap")), 2).fields["answers"][0]
    assert answer == {"name": "_http.dns.test", "type": "URI", "ttl": answer["ttl"],
                      "data": {"priority": 10, "weight": 5, "target": "http://www.dns.test:8000"}}


def test_dns_over_tcp_reads_the_length_prefixed_messages() -> None:
    obs = run_dissector(D, shared("pcaps", "tcpdump_tests", "dns_tcp.pcap"))
    assert [o.kind for o in obs] == ["query", "response"]
    assert [a["data"] for a in obs[1].fields["answers"]] == ["192.139.46.66", "198.199.88.104"]


@pytest.mark.parametrize("capture", ["dns-zlip-1.pcap", "dns-zlip-2.pcap", "dns-zlip-3.pcap", "dns-badlabel.pcap"])
def test_compression_bombs_and_bad_labels_are_parse_errors(capture: str) -> None:
    errors: list[Exception] = []
    assert run_dissector(D, shared("pcaps", "tcpdump_tests", capture), errors=errors) == []
    assert errors and all(isinstance(e, ParseError) for e in errors)


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    obs = run_dissector(D, shared("pcaps", "tcpdump_tests", capture))
    assert all(o.proto == "dns" for o in obs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes_honour_the_contract(data: bytes, tcp: bool) -> None:
    contract_call(D, udp(data, 40000, 53, ip_proto=6 if tcp else 17), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SEEDS), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 53, 40000), {})
