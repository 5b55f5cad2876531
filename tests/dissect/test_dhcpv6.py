"""The DHCPv6 dissector (RFC 8415) on tcpdump's DHCPv6 captures and hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.dhcpv6 import MAX_IA_OPTIONS, MAX_LIST_ITEMS, MAX_RELAY_DEPTH, Dhcpv6Dissector, parse_dhcpv6
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, TCPDUMP_CAPTURES, by_frame, contract_call, mutate, single, udp
from tests.pcaputil import run_dissector

D = Dhcpv6Dissector()
TD = ("pcaps", "tcpdump_tests")


def opt(code: int, value: bytes) -> bytes:
    return code.to_bytes(2, "big") + len(value).to_bytes(2, "big") + value


SOLICIT = b"\x01\x00\x00\x2a" + opt(1, bytes.fromhex("0003000102000000000a")) + opt(6, b"\x00\x17\x00\x18") + \
    opt(39, b"\x00\x05cam01\x03lan\x00") + opt(16, b"\x00\x00\x01\x37\x00\x08MSFT 5.0")


def relay(inner: bytes) -> bytes:
    return b"\x0c\x00" + b"\x20\x01\x0d\xb8" + b"\x00" * 12 + b"\xfe\x80" + b"\x00" * 13 + b"\x01" + opt(9, inner)


def test_a_relayed_solicit_with_a_mud_url() -> None:
    # dhcpv6-mud.out: relay-forw carrying a Solicit with vendor class, FQDN "raspberrypi" and a MUD URL
    obs = single(by_frame(D, shared(*TD, "dhcpv6-mud.pcap")), 1)
    assert obs.kind == "relay-forw" and obs.fields["peer_address"] == "fe80::ba27:ebff:feb8:53c8"
    inner = obs.fields["relayed"]
    assert inner["kind"] == "solicit"
    assert inner["mud_url"] == "https://mudctl.example.com/.well-known/mud/v1/rasbp101"
    assert inner["hostname"] == "raspberrypi"
    assert inner["duid_type"] == 1 and inner["duid_mac"] == "b8:27:eb:b8:53:c8"
    assert inner["vendor_enterprise"] == 40712
    assert inner["vendor_class"] == "dhcpcd-6.11.5:Linux-4.1.18-v7+:armv7l:BCM2709"


def test_ia_na_exchange() -> None:
    # dhcpv6-ia-na.out: Solicit from DUID-LL 00:01:02:03:04:05 asking for DNS servers and domain list (23, 24)
    got = by_frame(D, shared(*TD, "dhcpv6-ia-na.pcap"))
    solicit, advertise = single(got, 1), single(got, 2)
    assert solicit.kind == "solicit" and solicit.fields["oro"] == [23, 24]
    assert solicit.fields["client_duid"] == "00:03:00:01:00:01:02:03:04:05"
    assert solicit.fields["duid_mac"] == "00:01:02:03:04:05"
    assert advertise.kind == "advertise" and advertise.fields["ia_addresses"] == ["2a00:1:1:200:38e6:b22e:c440:acdf"]
    assert [o.kind for o in run_dissector(D, shared(*TD, "dhcpv6-ia-na.pcap"))] == \
        ["solicit", "advertise", "request", "reply"]


def test_ia_pd_prefix_and_domain_list() -> None:
    assert single(by_frame(D, shared(*TD, "dhcpv6-ia-pd.pcap")), 2).fields["ia_prefixes"] == ["2a00:1:1:100::/56"]
    assert single(by_frame(D, shared(*TD, "dhcpv6-domain-list.pcap")), 1).fields["domain_list"] == [
        "example.com", "sales.example.com", "eng.example.com"]


def test_duid_uuid_and_duid_en_have_no_mac() -> None:
    uuid = single(by_frame(D, shared(*TD, "dhcpv6-rfc6355-duid-uuid.pcap")), 1).fields
    assert uuid["duid_type"] == 4 and "duid_mac" not in uuid
    en = single(by_frame(D, shared(*TD, "dhcpv6-rfc8415-duid-type2.pcap")), 1).fields
    assert en["duid_type"] == 2 and en["user_class"] == ["Arista"]


def test_a_windows_solicit_from_a_real_plant_network() -> None:
    # ITI ICS captures, S7Comm/wrapup.pcapng: VJTI-PC3 solicits with FQDN and "MSFT 5.0" (enterprise 311)
    obs = run_dissector(D, shared("pcaps", "ics_iti", "pcaps", "s7", "S7Comm", "wrapup.pcapng"))
    assert obs[0].kind == "solicit" and obs[0].fields["hostname"] == "VJTI-PC3"
    assert (obs[0].fields["vendor_enterprise"], obs[0].fields["vendor_class"]) == (311, "MSFT 5.0")
    assert obs[0].fields["options"] == [8, 1, 3, 39, 16, 6]


def test_relay_nesting_stops_at_the_depth_limit() -> None:
    msg = SOLICIT
    for _ in range(MAX_RELAY_DEPTH - 1):
        msg = relay(msg)
    assert parse_dhcpv6(msg)[0] == "relay-forw"
    with pytest.raises(ParseError, match="deep"):
        parse_dhcpv6(relay(msg))


def test_a_synthetic_solicit() -> None:
    kind, f = parse_dhcpv6(SOLICIT)
    assert kind == "solicit" and f["transaction_id"] == 42 and f["hostname"] == "cam01.lan"
    assert f["vendor_class"] == "MSFT 5.0" and f["options"] == [1, 6, 39, 16]


@pytest.mark.parametrize("data", [b"\x01\x00", b"\x01\x00\x00\x01\x00\x01\x00\x09abc", b"\x0c\x00" + b"\x00" * 20])
def test_malformed_messages_raise_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_dhcpv6(data)


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "dhcpv6" for o in run_dissector(D, shared(*TD, capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=500))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 546, 547, src_ip="fe80::1", dst_ip="ff02::1:2"), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([SOLICIT, relay(SOLICIT)]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 546, 547), {})


def test_lists_and_ia_sub_options_stop_at_their_limits() -> None:
    iaaddr = opt(5, bytes(15) + b"\x01" + bytes(8))
    ia_na = opt(3, bytes(12) + iaaddr * (MAX_IA_OPTIONS + 5))
    f = parse_dhcpv6(b"\x07\x00\x00\x01" + ia_na + opt(15, b"\x00\x01x" * (MAX_LIST_ITEMS + 3)))[1]
    assert len(f["ia_addresses"]) == MAX_LIST_ITEMS and len(f["user_class"]) == MAX_LIST_ITEMS
    assert MAX_LIST_ITEMS < MAX_IA_OPTIONS
