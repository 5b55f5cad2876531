"""The CDP dissector on a real Cisco switch's advertisement (values as tcpdump -v decodes them)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.cdp import MAX_ADDRESSES, MAX_TLVS, CdpDissector, parse_cdp
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, TCPDUMP_CAPTURES, contract_call, frame, mutate
from tests.pcaputil import run_dissector

D = CdpDissector()


def tlv(tlv_type: int, value: bytes) -> bytes:
    return tlv_type.to_bytes(2, "big") + (len(value) + 4).to_bytes(2, "big") + value


IPV4 = b"\x01\x01\xcc\x00\x04"  # NLPID protocol, length 1, 0xCC (IPv4), address length 4
PHONE = b"\x02\xb4\x00\x00" + tlv(1, b"SEP001122334455") + tlv(2, b"\x00\x00\x00\x01" + IPV4 + b"\x0a\x00\x00\x09") + \
    tlv(3, b"Port 1") + tlv(4, b"\x00\x00\x00\x90") + tlv(6, b"Cisco IP Phone 7841") + tlv(0x0E, b"\x01\x00\x64")


def test_a_cisco_ce500_switch_from_the_openics_captures() -> None:
    # ITI ICS captures, openics/EIP-ChangeTimeAttempt.pcap; tcpdump -v: "CDPv2, ttl: 180s", Device-ID 'Ns5gt',
    # Platform 'cisco WS-CE500-24TT', Address IPv4 192.168.10.253, Port-ID 'GigabitEthernet1',
    # Capability 0x28 (L2 Switch, IGMP snooping), VTP domain '', Native VLAN 3, Duplex full
    obs = run_dissector(D, shared("pcaps", "ics_iti", "pcaps", "openics", "EIP-ChangeTimeAttempt.pcap"))
    assert len(obs) == 1 and obs[0].kind == "advertisement" and obs[0].src_mac == "00:1e:f6:73:59:81"
    f = obs[0].fields
    assert (f["version"], f["ttl"], f["device_id"], f["platform"]) == (2, 180, "Ns5gt", "cisco WS-CE500-24TT")
    assert f["software_version"].startswith(
        "Cisco IOS Software, CE500 Software (CE500-LANBASE-M), Version 12.2(25)SEG4")
    assert (f["addresses"], f["management_addresses"]) == (["192.168.10.253"], ["192.168.10.253"])
    assert (f["port_id"], f["capabilities"]) == ("GigabitEthernet1", ["switch", "igmp"])
    assert (f["vtp_domain"], f["native_vlan"], f["duplex"]) == ("", 3, "full")


def test_only_cdp_snap_frames_reach_the_dissector() -> None:
    # the same capture has STP (LLC 0x42) and other Cisco SNAP PIDs (DTP, VTP): none is CDP
    obs = run_dissector(D, shared("pcaps", "ics_iti", "pcaps", "openics", "EIP-ChangePortConfigurationAttempt.pcap"))
    assert [o.fields["port_id"] for o in obs] == ["FastEthernet9"]


def test_an_ip_phone_with_its_voice_vlan() -> None:
    f = D.dissect(frame(PHONE, None), {})[0].fields
    assert (f["device_id"], f["addresses"], f["voice_vlan"]) == ("SEP001122334455", ["10.0.0.9"], 100)
    assert f["capabilities"] == ["host", "voip_phone"]


def test_address_lists_stop_at_the_limit() -> None:
    many = (MAX_ADDRESSES + 4).to_bytes(4, "big") + (IPV4 + b"\x0a\x00\x00\x01") * (MAX_ADDRESSES + 4)
    assert len(parse_cdp(b"\x02\xb4\x00\x00" + tlv(1, b"sw") + tlv(2, many))["addresses"]) == MAX_ADDRESSES


@pytest.mark.parametrize("data", [b"\x02\xb4", b"\x07\xb4\x00\x00", b"\x02\xb4\x00\x00\x00\x01\x00\x02",
                                  b"\x02\xb4\x00\x00" + tlv(3, b"no device id")])
def test_malformed_cdp_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_cdp(data)


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "cdp" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, frame(data, None), {})


@settings(max_examples=200, deadline=None)
@given(st.just(PHONE), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, frame(mutate(seed, edits, cut), None), {})


def test_tlvs_stop_at_the_limit() -> None:
    late = b"\x02\xb4\x00\x00" + tlv(1, b"sw") + tlv(0x12, b"\x00") * MAX_TLVS + tlv(6, b"never read")
    assert "platform" not in parse_cdp(late)
