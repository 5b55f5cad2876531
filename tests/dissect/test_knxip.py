"""KNXnet/IP dissector: every service of 03.08.02-05 and AN159 from frames built per the standard, the DIBs that
identify a KNX IP interface or router, tunnelled and routed cEMI frames and the programming services they carry,
KNXnet/IP over TCP, and hostile input."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.knxip import KnxipDissector, parse_frame
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.dissect import knxbuild as k
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, feed_capture_any_port
from tests.dissect.ot_captures import contract


def feed(data: bytes, state: dict[str, Any] | None = None, *, udp: bool = True) -> list[Observation]:
    pkt = Packet(ts=1.0, payload=data, src_ip="192.168.1.50", dst_ip="192.168.1.20", ip_proto=17 if udp else 6,
                 src_port=50000, dst_port=3671, to_server=True)
    return KnxipDissector().feed(pkt, data, {} if state is None else state)


def one(data: bytes) -> Observation:
    (obs,) = feed(data)
    return obs


def test_search_request_names_the_discovery_endpoint() -> None:
    obs = one(k.knxip(k.SEARCH_REQUEST, k.hpai("192.168.1.50", 50000)))
    assert obs.kind == "search_request"
    assert obs.fields == {"service_type": "0x0201", "version": 0x10, "host_protocol": "udp",
                          "discovery_endpoint": "192.168.1.50:50000"}


def test_search_response_identifies_the_router() -> None:
    obs = one(k.search_response())
    f = obs.fields
    assert obs.kind == "search_response" and f["control_endpoint"] == "192.168.1.20:3671"
    assert (f["friendly_name"], f["mac_address"], f["serial_number"]) == ("KNX IP Router 752", "00:24:6d:01:02:03",
                                                                          "00c50a0b0c0d")
    assert (f["manufacturer_id"], f["individual_address"], f["medium"]) == (197, "1.1.0", "tp1")
    assert (f["multicast_address"], f["project_installation_id"], f["programming_mode"]) == ("224.0.23.12", 17, False)
    assert f["service_families"] == ["core", "device_management", "tunnelling", "routing"] and f["secure"] is False
    assert f["dib_types"] == ["device_info", "supp_svc_families"]


def test_a_secure_router_advertises_the_security_family() -> None:
    dibs = k.device_info(programming=True) + k.SECURED + bytes([6, 0x06, 0x04, 1, 0x05, 1]) + bytes([6, 0xFE, 0, 0xC5,
                                                                                                      1, 2])
    f = one(k.search_response(dibs)).fields
    assert f["secure"] is True and "security" in f["service_families"] and f["programming_mode"] is True
    assert f["secured_service_families"] == ["tunnelling", "routing"] and f["mfr_manufacturer_id"] == 197
    assert f["dib_types"] == ["device_info", "supp_svc_families", "secured_service_families", "mfr_data"]


def test_extended_search_and_description() -> None:
    assert one(k.knxip(k.SEARCH_REQUEST_EXT, k.hpai("192.168.1.50", 50000) + bytes([2, 0x01]))).kind == \
        "search_request_ext"
    ext = one(k.knxip(k.SEARCH_RESPONSE_EXT, k.hpai() + k.device_info() + k.UNSECURED))
    assert ext.kind == "search_response_ext" and ext.fields["friendly_name"] == "KNX IP Router 752"
    assert one(k.knxip(k.DESCRIPTION_REQUEST, k.hpai("192.168.1.50", 50000))).fields["control_endpoint"] == \
        "192.168.1.50:50000"
    desc = one(k.knxip(k.DESCRIPTION_RESPONSE, k.device_info(b"Interface \xe9tage 1") + k.UNSECURED))
    assert desc.kind == "description_response" and desc.fields["friendly_name"] == "Interface \u00e9tage 1"


def test_connect_request_and_response_of_a_tunnel() -> None:
    req = one(k.knxip(k.CONNECT_REQUEST, k.hpai("192.168.1.50", 50000) * 2 + bytes([4, 0x04, 0x02, 0])))
    assert (req.fields["connection_type"], req.fields["knx_layer"]) == ("tunnelling", "link")
    assert req.fields["data_endpoint"] == "192.168.1.50:50000"
    resp = one(k.knxip(k.CONNECT_RESPONSE, bytes([7, 0]) + k.hpai() + bytes([4, 0x04, 0x11, 0x0A])))
    assert resp.fields["status"] == "E_NO_ERROR" and resp.fields["channel_id"] == 7
    assert (resp.fields["connection_type"], resp.fields["tunnel_address"]) == ("tunnelling", "1.1.10")
    refused = one(k.knxip(k.CONNECT_RESPONSE, bytes([0, 0x24])))
    assert refused.fields["status"] == "E_NO_MORE_CONNECTIONS" and "data_endpoint" not in refused.fields
    mgmt = one(k.knxip(k.CONNECT_REQUEST, k.hpai() * 2 + bytes([2, 0x03])))
    assert mgmt.fields["connection_type"] == "device_management"


def test_connection_state_and_disconnect() -> None:
    state = one(k.knxip(k.CONNECTIONSTATE_REQUEST, bytes([7, 0]) + k.hpai("192.168.1.50", 50000)))
    assert state.kind == "connectionstate_request" and state.fields["channel_id"] == 7
    assert one(k.knxip(k.CONNECTIONSTATE_RESPONSE, bytes([7, 0x21]))).fields["status"] == "E_CONNECTION_ID"
    assert one(k.knxip(k.DISCONNECT_REQUEST, bytes([7, 0]) + k.hpai())).kind == "disconnect_request"
    assert one(k.knxip(k.DISCONNECT_RESPONSE, bytes([7, 0]))).fields["status"] == "E_NO_ERROR"


def test_tunnelled_group_write_is_named_and_never_marked() -> None:
    f = one(k.tunnelling(k.GROUP_WRITE_ON, seq=5)).fields
    assert (f["channel_id"], f["sequence"], f["message_name"]) == (7, 5, "L_Data.req")
    assert (f["source"], f["destination"], f["destination_type"]) == ("1.1.255", "1/2/3", "group")
    assert (f["tpci"], f["apci_name"], f["priority"], f["hop_count"]) == ("T_Data_Group", "A_GroupValue_Write",
                                                                          "low", 6)
    assert "ot_operation" not in f


@pytest.mark.parametrize(("apci", "data", "cls", "extra"), [
    (0x283, b"\x40\x00\x01\x02\x03", "program", {"memory_address": 0x4000, "memory_count": 3}),
    (0x2C2, b"\x00\x10\x00\x01", "program", {}),
    (0x3D7, b"\x00\x36\x10\x01\x05", "config", {"object_index": 0, "property_id": 0x36, "elements": 1}),
    (0x0C0, b"\x11\x0a", "config", {"new_address": "1.1.10"}),
    (0x380, b"", "restart", {"restart_type": "basic"}),
    (0x381, b"\x02\x00", "restart", {"restart_type": "master_reset", "erase_code": 2}),
    (0x3D1, b"\x00\xff\xff\xff\xff", "config", {}),
    (0x3D3, b"\x02\x11\x22\x33\x44", "config", {"key_level": 2}),
    (0x201, b"\x40\x00", None, {"memory_address": 0x4000}),  # A_Memory_Read: reading changes nothing
    (0x300, b"", None, {}),  # A_DeviceDescriptor_Read
])
def test_programming_services_are_marked(apci: int, data: bytes, cls: str | None, extra: dict[str, Any]) -> None:
    f = one(k.tunnelling(k.l_data(apci, data, tpci=0x44))).fields  # numbered data (T_Data_Connected), sequence 1
    assert f.get("ot_operation") == cls and f["tpci"] == "T_Data_Connected"
    if cls is not None:
        assert f["ot_operation_name"] == f["apci_name"]
    assert extra.items() <= f.items()


def test_only_the_client_s_request_or_a_routed_frame_is_an_operation() -> None:
    write = 0x283, b"\x40\x00\x01\x02\x03"
    assert "ot_operation" not in one(k.tunnelling(k.l_data(*write, code=k.L_DATA_CON))).fields  # the confirmation
    assert "ot_operation" not in one(k.tunnelling(k.l_data(*write, code=k.L_DATA_IND))).fields  # bus traffic
    routed = one(k.routing(k.l_data(*write, code=k.L_DATA_IND))).fields
    assert routed["ot_operation"] == "program" and routed["apci_name"] == "A_Memory_Write"


def test_device_management_property_write_and_reset() -> None:
    prop = one(k.device_configuration(bytes([k.M_PROP_WRITE_REQ, 0, 11, 1, 52, 0x10, 1, 192, 168, 1, 99]))).fields
    assert (prop["message_name"], prop["interface_object_type"], prop["property_id"]) == ("M_PropWrite.req", 11, 52)
    assert (prop["ot_operation"], prop["ot_operation_name"]) == ("config", "M_PropWrite.req")
    reset = one(k.device_configuration(bytes([k.M_RESET_REQ, 0]))).fields
    assert (reset["ot_operation"], reset["ot_operation_name"]) == ("restart", "M_Reset.req")
    read = one(k.device_configuration(bytes([0xFC, 0, 11, 1, 52, 0x10, 1]))).fields
    assert read["message_name"] == "M_PropRead.req" and "ot_operation" not in read
    ack = one(k.knxip(k.DEVICE_CONFIGURATION_ACK, bytes([4, 3, 0, 0])))
    assert ack.kind == "device_configuration_ack" and ack.fields["status"] == "E_NO_ERROR"


def test_transport_control_and_additional_info() -> None:
    assert one(k.tunnelling(k.control(0x80))).fields["tpci"] == "T_Connect"
    assert one(k.tunnelling(k.control(0x81))).fields["tpci"] == "T_Disconnect"
    ack = one(k.tunnelling(k.control(0xC2 | (3 << 2)))).fields
    assert (ack["tpci"], ack["sequence_number"]) == ("T_ACK", 3)
    with_info = one(k.tunnelling(k.l_data(0x080, group=True, info=bytes([0x03, 1, 0x20])))).fields
    assert (with_info["apci_name"], with_info["destination"]) == ("A_GroupValue_Write", "2/1/5")


def test_routing_services() -> None:
    ind = one(k.routing(k.GROUP_WRITE_ON))
    assert ind.kind == "routing_indication" and ind.fields["apci_name"] == "A_GroupValue_Write"
    assert "ot_operation" not in ind.fields
    assert one(k.knxip(k.ROUTING_LOST, bytes([4, 0, 0, 12]))).fields["lost_messages"] == 12
    assert one(k.knxip(k.ROUTING_BUSY, bytes([6, 0, 0, 100, 0, 0]))).fields["wait_time_ms"] == 100
    assert one(k.knxip(k.TUNNELLING_ACK, bytes([4, 7, 5, 0]))).fields["sequence"] == 5


def test_knx_ip_secure_services_show_no_key_material() -> None:
    wrapped = one(k.secure_wrapper(session=3))
    assert wrapped.kind == "secure_wrapper"
    assert wrapped.fields == {"service_type": "0x0950", "version": 0x10, "session_id": 3, "secure_sequence": 5,
                              "serial_number": "00c50a0b0c0d", "message_tag": 42, "encrypted_length": 24}
    request = one(k.knxip(k.SESSION_REQUEST, k.hpai("192.168.1.50", 50000, protocol=2) + bytes(range(32))))
    assert request.fields["host_protocol"] == "tcp" and "control_endpoint" in request.fields
    assert one(k.knxip(k.SESSION_RESPONSE, b"\x00\x03" + bytes(48))).fields["session_id"] == 3
    assert one(k.knxip(k.SESSION_AUTHENTICATE, bytes([0, 2]) + bytes(16))).fields["user_id"] == 2
    assert one(k.knxip(k.SESSION_STATUS, bytes([0, 0]))).fields["session_status"] == "authentication_success"
    timer = one(k.knxip(k.TIMER_NOTIFY, (9).to_bytes(6, "big") + k.SERIAL + b"\x00\x01" + bytes(16)))
    assert (timer.kind, timer.fields["secure_sequence"]) == ("timer_notify", 9)


def test_unknown_service_and_padding() -> None:
    assert one(k.knxip(0x0999, b"abc")).kind == "message"
    padded = k.knxip(k.DISCONNECT_RESPONSE, bytes([7, 0])) + bytes(10)  # Ethernet minimum-size padding
    assert one(padded).kind == "disconnect_response"


def test_tcp_frames_split_and_joined() -> None:
    state: dict[str, Any] = {}
    stream = k.tunnelling(k.GROUP_WRITE_ON) + k.tunnelling(k.l_data(0x380))
    assert feed(stream[:9], state, udp=False) == []
    out = feed(stream[9:], state, udp=False)
    assert [o.fields.get("apci_name") for o in out] == ["A_GroupValue_Write", "A_Restart"]


@pytest.mark.parametrize("data", [
    b"\x06\x10\x02",  # header cut short
    b"\x05\x10\x02\x01\x00\x0e" + bytes(8),  # header length not 6
    b"\x06\x30\x02\x01\x00\x0e" + bytes(8),  # unknown protocol version
    k.knxip(k.SEARCH_REQUEST, k.hpai())[:-3],  # total length longer than the datagram
    k.knxip(k.SEARCH_REQUEST, bytes([7]) + k.hpai()[1:]),  # HPAI length not 8
    k.knxip(k.SEARCH_RESPONSE, k.hpai() + bytes([54, 1]) + bytes(10)),  # DIB longer than the frame
    k.knxip(k.SEARCH_RESPONSE, k.hpai() + bytes([12, 1]) + bytes(10)),  # DEVICE_INFO too short
    k.knxip(k.TUNNELLING_REQUEST, bytes([4, 7, 0, 0, 0x11, 0])),  # cEMI L_Data cut short
    k.knxip(k.TUNNELLING_REQUEST, bytes([3, 7, 0])),  # bad connection header
    k.knxip(k.SECURE_WRAPPER, bytes(20)),  # no room for the MAC
    struct.pack(">BBHH", 6, 0x10, 0x0201, 4),  # total length shorter than the header
])
def test_malformed_frames_raise_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_frame(data)


def test_garbage_on_tcp_is_an_error_and_framing_resumes() -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        feed(b"GET / HTTP/1.1\r\n\r\n", state, udp=False)
    assert [o.kind for o in feed(k.tunnelling(k.GROUP_WRITE_ON), state, udp=False)] == ["tunnelling_request"]


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(KnxipDissector(), TCPDUMP_DIR / name)
    feed_capture_any_port(KnxipDissector(), TCPDUMP_DIR / name, ip_proto=17)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_contract(data: bytes, to_server: bool) -> None:
    contract(KnxipDissector(), data, to_server=to_server, port=3671)
    contract(KnxipDissector(), data, to_server=to_server, port=3671, ip_proto=17)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted({k.SEARCH_RESPONSE, k.DESCRIPTION_RESPONSE, k.CONNECT_REQUEST, k.CONNECT_RESPONSE,
                               k.TUNNELLING_REQUEST, k.ROUTING_INDICATION, k.DEVICE_CONFIGURATION_REQUEST,
                               k.SECURE_WRAPPER, k.SESSION_STATUS, k.SEARCH_RESPONSE_EXT})),
       st.binary(max_size=120))
def test_fuzz_bodies_inside_valid_headers(service: int, body: bytes) -> None:
    contract(KnxipDissector(), k.knxip(service, body), port=3671, ip_proto=17)
    contract(KnxipDissector(), k.knxip(service, body), port=3671)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0x3FF), st.binary(max_size=20), st.sampled_from([k.L_DATA_REQ, k.L_DATA_IND, k.L_DATA_CON]),
       st.booleans())
def test_fuzz_apci_inside_valid_frames(apci: int, data: bytes, code: int, group: bool) -> None:
    f = one(k.tunnelling(k.l_data(apci, data, code=code, group=group))).fields
    assert isinstance(f["apci_name"], str)
