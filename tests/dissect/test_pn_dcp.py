"""The PROFINET DCP dissector (IEC 61158-6-10 §4.3), on hand-built PDUs and the ics_iti PROFINET captures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.pn_dcp import MAX_BLOCKS, PnDcpDissector, parse_dcp
from iotwarden.errors import ParseError
from iotwarden.model.otops import operation_of
from tests.conftest import shared
from tests.dissect.discovery import CUTS, EDITS, by_frame, contract_call, frame, mutate, single
from tests.dissect.ot_captures import run, sweep_captures, sweep_id

D = PnDcpDissector()
PN = ("pcaps", "ics_iti", "pcaps", "profinet")


def block(option: int, suboption: int, value: bytes) -> bytes:
    """One DCP block, padded to an even length (§4.3.1.3)."""
    raw = bytes([option, suboption]) + len(value).to_bytes(2, "big") + value
    return raw + b"\x00" * (len(value) & 1)


def pdu(frame_id: int, service: int, service_type: int, blocks: bytes, *, xid: int = 0x01000001,
        delay: int = 0) -> bytes:
    """FrameID, DCP header (ServiceID, ServiceType, Xid, ResponseDelay/reserved, DCPDataLength), blocks."""
    return frame_id.to_bytes(2, "big") + bytes([service, service_type]) + xid.to_bytes(4, "big") + \
        delay.to_bytes(2, "big") + len(blocks).to_bytes(2, "big") + blocks


INFO = b"\x00\x00"  # BlockInfo of a response block
IDENT_RESPONSE = pdu(0xFEFF, 5, 1, block(2, 1, INFO + b"S7-1500") + block(2, 2, INFO + b"plc-1")
                     + block(2, 3, INFO + b"\x00\x2a\x01\x0e") + block(2, 4, INFO + b"\x03\x00")
                     + block(2, 7, INFO + b"\x00\x01") + block(2, 8, INFO + b"\x00\x2b\x00\x07")
                     + block(1, 2, INFO[:1] + b"\x81" + bytes([10, 0, 0, 5, 255, 255, 255, 0, 10, 0, 0, 1])))
SET_NAME_AND_IP = pdu(0xFEFD, 4, 0, block(2, 2, b"\x00\x01" + b"new-name")
                      + block(1, 2, b"\x00\x00" + bytes([192, 168, 1, 9, 255, 255, 255, 0, 0, 0, 0, 0]))
                      + block(5, 2, b"\x00\x00"))
FACTORY_RESET = pdu(0xFEFD, 4, 0, block(5, 6, b"\x00\x04"))
SIGNAL = pdu(0xFEFD, 4, 0, block(5, 3, b"\x00\x00\x01\x00"))


def test_an_identify_response_states_the_station() -> None:
    (obs,) = D.dissect(frame(IDENT_RESPONSE, 0x8892), {})
    f = obs.fields
    assert (obs.kind, obs.subject, f["service"], f["service_type"], f["xid"]) == \
        ("identify_response", "src", "identify", "response", 0x01000001)
    assert (f["type_of_station"], f["name_of_station"], f["vendor_id"], f["device_id"]) == ("S7-1500", "plc-1", 42, 270)
    assert f["device_role"] == ["io_device", "io_controller"] and f["device_instance"] == "0.1"
    assert (f["oem_vendor_id"], f["oem_device_id"]) == (43, 7)
    assert (f["ip"], f["netmask"], f["gateway"], f["ip_state"]) == ("10.0.0.5", "255.255.255.0", "10.0.0.1",
                                                                   "ip_set+conflict")
    assert operation_of(f) is None


def test_a_set_of_name_and_address_is_a_config_operation() -> None:
    kind, f = parse_dcp(SET_NAME_AND_IP) or ("", {})
    assert kind == "set_request" and f["set"] == ["name_of_station", "ip_parameter"]
    assert (f["set_name_of_station"], f["set_ip"], f["qualifier"], f["control"]) == \
        ("new-name", "192.168.1.9", "permanent", ["end_transaction"])
    assert operation_of(f) == ("config", "set_name_of_station_and_ip")


def test_reset_to_factory_is_a_restart_and_signal_is_nothing() -> None:
    _, f = parse_dcp(FACTORY_RESET) or ("", {})
    assert operation_of(f) == ("restart", "reset_to_factory")
    _, f = parse_dcp(SIGNAL) or ("", {})
    assert f["control"] == ["signal"] and operation_of(f) is None


def test_identify_request_filters_and_get_selectors() -> None:
    _, f = parse_dcp(pdu(0xFEFE, 5, 0, block(2, 2, b"io-7"), delay=400)) or ("", {})
    assert (f["filter"], f["filter_name_of_station"], f["response_delay"]) == (["name_of_station"], "io-7", 400)
    kind, f = parse_dcp(pdu(0xFEFD, 3, 0, b"\x02\x02\x01\x02")) or ("", {})
    assert kind == "get_request" and f["get"] == ["name_of_station", "ip_parameter"]


def test_other_profinet_rt_frames_are_not_dcp() -> None:
    assert parse_dcp(b"\x80\x00" + b"\x00" * 40) is None  # cyclic RT_CLASS_1 data
    assert D.dissect(frame(b"\xfc\x01" + b"\x00" * 20, 0x8892), {}) == []  # alarm


@pytest.mark.parametrize("data", [
    b"\xfe", pdu(0xFEFE, 5, 0, b"")[:8],
    pdu(0xFEFE, 5, 1, b""),  # an identify response on the multicast request frame id
    pdu(0xFEFF, 4, 0, b""),  # a Set on the identify response frame id
    pdu(0xFEFD, 9, 0, b""),  # unknown service
    pdu(0xFEFE, 5, 0, block(2, 2, b"abc"))[:-2],  # DCPDataLength beyond the frame
    pdu(0xFEFE, 5, 0, b"\x02\x02\x00\x09abc"),  # a block beyond DCPDataLength
])
def test_malformed_dcp_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_dcp(data)


def test_blocks_stop_at_the_limit() -> None:
    late = pdu(0xFEFF, 5, 1, block(2, 6, INFO + b"a") * MAX_BLOCKS + block(2, 2, INFO + b"never-read"))
    _, f = parse_dcp(late) or ("", {})
    assert "name_of_station" not in f and f["alias_name"] == "a"


def test_change_ip_using_dcp_capture() -> None:
    # profinet/PROFINET-RT-DCP/ChangeIPUsingDCP.pcap, as tshark decodes it: Identify All from a VMware host,
    # a SCALANCE X208 answers, the host sets its IP permanently, the switch says Ok
    got = by_frame(D, shared(*PN, "PROFINET-RT-DCP", "ChangeIPUsingDCP.pcap"))
    assert single(got, 1).fields["filter"] == ["all"]
    answer = single(got, 2)
    f = answer.fields
    assert (answer.kind, answer.src_mac) == ("identify_response", "08:00:06:93:cf:32")
    assert (f["name_of_station"], f["type_of_station"], f["vendor_id"], f["device_id"], f["device_role"]) == \
        ("X208-BORD", "INC", 0x002A, 0x0A01, ["io_device"])
    assert (f["ip"], f["netmask"], f["gateway"], f["ip_state"]) == ("192.168.0.6", "255.255.255.0", "192.168.0.1",
                                                                   "ip_set")
    assert len(f["device_options"]) == 13
    setter = single(got, 3)
    assert (setter.kind, setter.dst_mac, setter.fields["set_ip"], setter.fields["qualifier"]) == \
        ("set_request", "08:00:06:93:cf:32", "192.168.0.10", "permanent")
    assert operation_of(setter.fields) == ("config", "set_ip")
    assert single(got, 4).fields["results"] == ["ip_parameter: ok"]


def test_identify_by_name_from_siemens_stations() -> None:
    obs, errors = run(D, shared(*PN, "PROFINET-RT-DCP", "PROFINET-RT.pcap"))
    assert not errors and len(obs) == 14 and {o.kind for o in obs} == {"identify_request"}
    first = obs[0]
    assert (first.src_mac, first.dst_mac, first.fields["filter_name_of_station"], first.fields["xid"]) == \
        ("00:1b:1b:02:9a:c3", "01:0e:cf:00:00:00", "switch3", 0x0300BF9A)  # padding after DCPDataLength ignored
    assert sorted({o.fields["filter_name_of_station"] for o in obs}) == \
        ["pn-io", "switch1", "switch2", "switch3", "switch4", "switch5", "switch6", "switch7", "swln3", "swln4"]


def test_an_s7_300ec_io_controller_renamed_behind_a_vlan_tag() -> None:
    # profinet/profinet-wireshark-bug.pcap: 802.1Q priority-tagged frames; a 110-octet NameOfStation block
    got = by_frame(D, shared(*PN, "profinet-wireshark-bug.pcap"))
    f = single(got, 2).fields
    assert (f["type_of_station"], f["name_of_station"], f["vendor_id"], f["device_id"], f["device_role"], f["ip"]) \
        == ("S7-300EC", "%n%n%n ", 0x002A, 0x0101, ["io_controller"], "192.168.0.11")
    g = single(got, 3).fields
    assert (g["set_name_of_station"], g["control"], operation_of(g)) == \
        ("%n%n%n ", ["end_transaction"], ("config", "set_name_of_station"))
    assert single(got, 4).fields["results"] == ["name_of_station: ok", "end_transaction: ok"]


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(D, path)
    assert all(o.proto == "pn_dcp" for o in obs)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, frame(data, 0x8892), {})
    contract_call(D, frame(b"\xfe\xff" + data, 0x8892), {})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([IDENT_RESPONSE, SET_NAME_AND_IP, FACTORY_RESET, SIGNAL]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, frame(mutate(seed, edits, cut), 0x8892), {})
