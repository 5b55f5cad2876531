"""The LLDP dissector (IEEE 802.1AB), pinned to tcpdump's published LLDP decodes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.lldp import MAX_MGMT_ADDRESSES, MAX_TLVS, LldpDissector, parse_lldpdu
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, TCPDUMP_CAPTURES, by_frame, contract_call, frame, mutate, single
from tests.pcaputil import run_dissector

D = LldpDissector()
TD = ("pcaps", "tcpdump_tests")


def tlv(tlv_type: int, value: bytes) -> bytes:
    return ((tlv_type << 9) | len(value)).to_bytes(2, "big") + value


MINIMAL = tlv(1, b"\x04\x02\x00\x00\x00\x00\x0a") + tlv(2, b"\x05eth0") + tlv(3, b"\x00\x78")
PHONE = MINIMAL + tlv(5, b"SEP0011") + tlv(127, b"\x00\x12\xbb\x0aCP-7841") + tlv(127, b"\x00\x12\xbb\x08FCH123") + \
    tlv(127, b"\x00\x80\xc2\x01\x00\x64") + tlv(8, b"\x05\x01\x0a\x00\x00\x05\x02\x00\x00\x00\x01\x00") + tlv(0, b"")


def test_tcpdump_lldp_mudurl() -> None:
    # lldp_mudurl-v.out, frame 1
    f = single(by_frame(D, shared(*TD, "lldp_mudurl.pcap")), 1).fields
    assert (f["chassis_id_subtype"], f["chassis_id"]) == ("mac_address", "00:23:54:c2:57:02")
    assert (f["port_id_subtype"], f["port_id"]) == ("mac_address", "00:23:54:c2:57:02")
    assert f["ttl"] == 120 and f["system_name"] == "upstairs.ofcourseimright.com"
    assert f["system_description"].startswith("Ubuntu 14.04.5 LTS Linux 3.13.0-106-generic")
    assert f["capabilities"] == ["bridge", "wlan_access_point", "router", "station_only"]  # 0x009c
    assert f["enabled_capabilities"] == ["wlan_access_point"]  # 0x0008
    assert f["management_addresses"] == ["62.12.173.114", "2001:8a8:1006:4:223:54ff:fec2:5702"]
    assert f["port_description"] == "eth0"
    assert f["mud_url"] == "https://imright.mud.example.com/.well-known/mud/v1/vomitv2.0"


def test_a_siemens_scalance_switch_on_a_plant_network() -> None:
    # ITI ICS captures, ModbusTCP/mb2.pcap
    obs = run_dissector(D, shared("pcaps", "ics_iti", "pcaps", "ModbusTCP", "mb2.pcap"))
    f = obs[0].fields
    assert f["system_description"].startswith("Siemens, SIMATIC NET, SCALANCE X212-2")
    assert (f["chassis_id_subtype"], f["chassis_id"], f["ttl"]) == ("local", "switch1", 20)
    assert f["management_addresses"] == ["141.81.0.190"]


@pytest.mark.parametrize("capture", ["lldp_8021_linkagg.pcap", "lldp_mgmt_addr_tlv_asan.pcap",
                                     "lldp_8023_mtu-oobr.pcap"])
def test_lldpdus_without_the_mandatory_chassis_id_are_parse_errors(capture: str) -> None:
    errors: list[Exception] = []
    assert run_dissector(D, shared(*TD, capture), errors=errors) == []
    assert errors and all(isinstance(e, ParseError) for e in errors)


def test_lldp_med_inventory_vlan_and_management_address() -> None:
    f = D.dissect(frame(PHONE, 0x88CC), {})[0].fields
    assert (f["med_model_name"], f["med_serial_number"], f["vlan_id"]) == ("CP-7841", "FCH123", 100)
    assert f["management_addresses"] == ["10.0.0.5"] and f["port_id"] == "eth0"


def test_tlvs_and_management_addresses_stop_at_their_limits() -> None:
    mgmt = tlv(8, b"\x05\x01\x0a\x00\x00\x05\x02\x00\x00\x00\x01\x00")
    assert len(parse_lldpdu(MINIMAL + mgmt * (MAX_MGMT_ADDRESSES + 3))["management_addresses"]) == MAX_MGMT_ADDRESSES
    late_name = MINIMAL + tlv(4, b"x") * MAX_TLVS + tlv(5, b"never-read")
    assert "system_name" not in parse_lldpdu(late_name)


def test_a_tlv_running_past_the_frame_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_lldpdu(MINIMAL + b"\x0a\x10abc")


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "lldp" for o in run_dissector(D, shared(*TD, capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, frame(data, 0x88CC), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([MINIMAL, PHONE]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, frame(mutate(seed, edits, cut), 0x88CC), {})
