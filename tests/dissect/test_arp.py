"""The ARP dissector, pinned to suricata-verify's decode-arp EVE values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.arp import ArpDissector
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import (
    CUTS,
    EDITS,
    TCPDUMP_CAPTURES,
    UNSPECIFIED,
    by_frame,
    contract_call,
    frame,
    mutate,
    single,
)
from tests.pcaputil import run_dissector

D = ArpDissector()
SV = ("pcaps", "suricata_verify")


def arp(op: int, sha: str, spa: str, tha: str, tpa: str) -> bytes:
    ip = lambda s: bytes(int(x) for x in s.split("."))  # noqa: E731
    mac = lambda s: bytes.fromhex(s.replace(":", ""))  # noqa: E731
    return b"\x00\x01\x08\x00\x06\x04" + op.to_bytes(2, "big") + mac(sha) + ip(spa) + mac(tha) + ip(tpa)


REQUEST = arp(1, "02:00:00:00:00:0a", "10.0.0.10", "00:00:00:00:00:00", "10.0.0.1")


def test_suricata_decode_arp_2_request_and_reply() -> None:
    got = by_frame(D, shared(*SV, "decode-arp-2", "arp.pcap"))
    assert len(got) == 4  # "count: 4, event_type: arp"
    request, reply = single(got, 5), single(got, 6)
    assert request.kind == "request" and request.fields == {
        "op": 1, "sender_mac": "00:1d:09:f0:92:ab", "sender_ip": "10.10.10.1",
        "target_mac": "00:00:00:00:00:00", "target_ip": "10.10.10.2", "gratuitous": False, "probe": False}
    assert reply.kind == "reply" and reply.subject == "src"
    assert (reply.fields["sender_mac"], reply.fields["sender_ip"]) == ("00:1a:6b:6c:0c:cc", "10.10.10.2")
    assert (reply.fields["target_mac"], reply.fields["target_ip"]) == ("00:1d:09:f0:92:ab", "10.10.10.1")


def test_suricata_decode_arp_1_one_arp_packet() -> None:
    obs = run_dissector(D, shared(*SV, "decode-arp-1", "input.pcap"))
    assert len(obs) == 1 and obs[0].fields["sender_ip"] == "192.168.169.4"


def test_suricata_detect_arp_03_arp_inside_vlan_tags() -> None:
    obs = run_dissector(D, shared(*SV, "arp", "detect-arp-03-vlan", "input.pcap"))
    assert len(obs) == 3  # "count: 3" alerts on arp
    assert {o.fields["sender_ip"] for o in obs} == {"10.204.1.5"}


def test_gratuitous_announcements_and_probes() -> None:
    announce = D.dissect(frame(arp(2, "02:00:00:00:00:0a", "10.0.0.10", "ff:ff:ff:ff:ff:ff", "10.0.0.10"), 0x0806), {})
    assert announce[0].fields["gratuitous"] is True and announce[0].kind == "reply"
    probe = D.dissect(frame(arp(1, "02:00:00:00:00:0a", UNSPECIFIED, "00:00:00:00:00:00", "10.0.0.10"), 0x0806), {})
    assert probe[0].fields["probe"] is True and probe[0].fields["gratuitous"] is False


def test_non_ipv4_ethernet_arp_and_other_opcodes_yield_nothing() -> None:
    assert D.dissect(frame(REQUEST[:4] + b"\x14\x04" + REQUEST[6:], 0x0806), {}) == []  # hln 20 (InfiniBand)
    assert D.dissect(frame(REQUEST[:6] + b"\x00\x03" + REQUEST[8:], 0x0806), {}) == []  # RARP request


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x08", REQUEST[:20]])
def test_truncated_arp_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        D.dissect(frame(data, 0x0806), {})


def test_tcpdump_arp_oobr_capture() -> None:
    # arp-oobr.out: 2282 frames, "Request who-has 192.168.1.1 tell 192.168.1.104" first
    obs = run_dissector(D, shared("pcaps", "tcpdump_tests", "arp-oobr.pcap"))
    assert (obs[0].fields["target_ip"], obs[0].fields["sender_ip"]) == ("192.168.1.1", "192.168.1.104")


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "arp" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, frame(data, 0x0806), {})


@settings(max_examples=200, deadline=None)
@given(st.just(REQUEST), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, frame(mutate(seed, edits, cut), 0x0806), {})
