"""HART-IP dissector: header, token-passing PDUs, command 0 identity of the device itself, writes marked
(tshark as oracle on ics_iti hart/hart_ip.pcap, a Rosemount WirelessHART gateway)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import FLIP_STATE_KEY, Packet
from iotwarden.dissect.hartip import HartIpDissector, frame_length, parse_message, session_answer, unpack_ascii
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from iotwarden.model.otops import operation_of
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.dissect.hostile import feed_chunks
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

HART_IP = ("pcaps", "ics_iti", "pcaps", "hart", "hart_ip.pcap")
UNIQUE = bytes.fromhex("264e0000d2")  # the capture's device: expanded device type 0x264E, device id 0000d2


def message(msg_type: int, msg_id: int, body: bytes, seq: int = 1) -> bytes:
    """HART-IP header (HCF_SPEC-085): version 1, type, id, status 0, sequence, byte count of the whole message."""
    return struct.pack(">BBBBHH", 1, msg_type, msg_id, 0, seq, 8 + len(body)) + body


def pdu(command: int, data: bytes = b"", *, ack: bool = False, address: bytes | int = UNIQUE) -> bytes:
    """Token-passing PDU (HCF_SPEC-081 §5): delimiter, address, command, byte count, data, checksum."""
    long = isinstance(address, bytes)
    delimiter = (0x80 if long else 0) | (0x06 if ack else 0x02)
    addr = address if isinstance(address, bytes) else bytes([address])
    frame = bytes([delimiter]) + addr + bytes([command, len(data)]) + data
    checksum = 0
    for b in frame:
        checksum ^= b
    return frame + bytes([checksum])


# frame 81's answer data: response code, device status, then command 0's 22 octets
CMD0_DATA = bytes.fromhex("00d0fe264e050704010e0c0000d205020002d00026002684")


def test_header_and_session_initiate() -> None:
    kind, f = parse_message(message(0, 0, b"\x01\x00\x00\x75\x30", seq=2), {})
    assert kind == "request"
    assert (f["version"], f["message"], f["sequence"], f["length"]) == (1, "session_initiate", 2, 13)
    assert (f["host_type"], f["inactivity_close_timer"]) == ("primary", 30000)


def test_nak_carries_its_error_code() -> None:
    assert parse_message(message(15, 0, b"\x01"), {}) == ("nak", {"version": 1, "message_id": 0,
                                                                  "message": "session_initiate", "status": 0,
                                                                  "sequence": 1, "length": 9, "error_code": 1})


def test_command_0_at_poll_address_0_is_the_devices_own_identity() -> None:
    own: dict[str, int] = {}
    kind, f = parse_message(message(1, 3, pdu(0, CMD0_DATA, ack=True, address=0)), own)
    assert kind == "identity"
    assert (f["manufacturer_id"], f["device_type"], f["device_id"]) == (38, 0x264E, "0000d2")
    assert (f["universal_revision"], f["device_revision"], f["software_revision"], f["hardware_revision"]) == (
        7, 4, 1, 1)
    assert (f["response_code"], f["device_status"], f["private_label"]) == (0, 0xD0, 38)
    # later answers at its unique address are its own too; another device behind it is only a response
    long_tag = b"wihartgw".ljust(32, b"\x00")
    kind, f = parse_message(message(1, 3, pdu(20, b"\x00\xd0" + long_tag, ack=True)), own)
    assert (kind, f["long_tag"]) == ("identity", "wihartgw")
    other = bytes.fromhex("1122000001")
    kind, f = parse_message(message(1, 3, pdu(0, CMD0_DATA, ack=True, address=other)), own)
    assert kind == "response" and "manufacturer_id" not in f and f["address"] == "1122000001"


def test_hart_5_command_0_names_manufacturer_and_device_type_in_octets_1_and_2() -> None:
    data = b"\x00\x00" + bytes([254, 0x11, 0x5A, 5, 5, 1, 2, 0x08, 0, 0x12, 0x34, 0x56])
    kind, f = parse_message(message(1, 3, pdu(0, data, ack=True, address=0)), {})
    assert (kind, f["manufacturer_id"], f["device_type"], f["device_id"]) == ("identity", 0x11, 0x5A, "123456")


def test_packed_ascii_tag() -> None:
    # "TAG 01  " packed: the low 6 bits of each character, 4 characters in 3 octets (HCF_SPEC-099)
    assert unpack_ascii(bytes.fromhex("5011e0c31820")) == "TAG 01  "
    assert unpack_ascii(bytes(3)) == "@@@@"


def test_write_and_reset_requests_are_operations_answers_are_not() -> None:
    _, write = parse_message(message(0, 3, pdu(6, b"\x05")), {})
    assert operation_of(write) == ("write", "write_polling_address")
    _, reset = parse_message(message(0, 3, pdu(42)), {})
    assert operation_of(reset) == ("restart", "perform_device_reset")
    _, answer = parse_message(message(1, 3, pdu(6, b"\x00\xd0\x05", ack=True)), {})
    _, read = parse_message(message(0, 3, pdu(3)), {})
    assert operation_of(answer) is None and operation_of(read) is None


def test_framing() -> None:
    assert frame_length(b"\x01\x00") is None
    assert frame_length(message(0, 2, b"")) == 8
    with pytest.raises(ParseError):
        frame_length(struct.pack(">BBBBHH", 1, 9, 0, 0, 1, 8))  # unknown message type
    with pytest.raises(ParseError):
        frame_length(struct.pack(">BBBBHH", 1, 0, 0, 0, 1, 4))  # byte count under the header
    with pytest.raises(ParseError):
        parse_message(message(0, 3, b"\x82\x26\x4e"), {})  # PDU shorter than its unique address


def test_messages_split_across_tcp_segments() -> None:
    stream = message(0, 2, b"", seq=7) + message(0, 3, pdu(35, bytes(9)), seq=8)
    out = feed_chunks(HartIpDissector(), [(True, stream[:5]), (True, stream[5:20]), (True, stream[20:])])
    assert [(o.kind, o.fields["message"]) for o in out] == [("request", "keep_alive"), ("request", "token_passing_pdu")]
    assert operation_of(out[1].fields) == ("write", "write_pv_range_values")


def test_the_capture_as_tshark_decodes_it() -> None:
    obs, errors = run(HartIpDissector(), shared(*HART_IP))
    assert not errors
    tcp = [o for o in obs if o.ip_proto == 6]
    # tshark frames 76-113: sequence numbers 2-13 each way
    assert [o.fields["sequence"] for o in tcp if o.kind == "request"] == list(range(2, 14))
    assert [o.fields["command"] for o in tcp if o.kind == "request" and "command" in o.fields] == [
        0, 1, 2, 3, 9, 12, 13, 20, 48]
    identity = [o.fields for o in tcp if o.kind == "identity"]
    # frame 81: command 0 (expanded device type 0x264e, device id 0000d2, manufacturer 38); 99: long tag
    assert [f["command"] for f in identity] == [0, 13, 20]
    assert (identity[0]["manufacturer_id"], identity[0]["device_type"], identity[0]["device_id"]) == (38, 0x264E,
                                                                                                      "0000d2")
    assert "tag" not in identity[1]  # command 13's tag is unset: packed zeros, '@@@@@@@@'
    assert identity[2]["long_tag"] == "wihartgw"
    assert {o.src_mac for o in tcp if o.kind == "identity"} == {"00:26:16:00:00:d2"}
    assert not [o for o in obs if operation_of(o.fields)]
    # UDP by port alone: the session initiate to 5094; the session continues from the server's port 5095
    # (test_the_udp_session_continued_from_port_5095_is_followed: the engine follows it)
    assert [(o.fields["message"], o.dst_port) for o in obs if o.ip_proto == 17] == [("session_initiate", 5094)]


# HCF_SPEC-085 Session Initiate answer: version 1, response, id 0, status 0, sequence 2, byte count 13; body:
# primary host (1), inactivity close timer 30,000 ms (packet-hartip.c dissect_session_init)
SESSION_ANSWER = message(1, 0, b"\x01\x00\x00\x75\x30", seq=2)


def test_only_a_whole_session_initiate_answer_opens_a_session_on_another_port() -> None:
    assert session_answer(SESSION_ANSWER) and HartIpDissector().probe(SESSION_ANSWER, True)
    assert not session_answer(message(0, 0, b"\x01\x00\x00\x75\x30"))  # the request: the client's, on 5094
    assert not session_answer(message(1, 3, pdu(0, CMD0_DATA, ack=True, address=0)))  # not an initiate
    assert not session_answer(SESSION_ANSWER + b"\x00")  # byte count short of the datagram
    assert not session_answer(bytes([9]) + SESSION_ANSWER[1:])  # unknown version
    assert not session_answer(SESSION_ANSWER[:8] + b"\x07" + SESSION_ANSWER[9:])  # host type neither 0 nor 1


def _udp(payload: bytes, to_server: bool) -> Packet:
    return Packet(ts=1.0, payload=payload, src_ip="10.0.0.2", dst_ip="10.0.0.1", ip_proto=17, src_port=5095,
                  dst_port=49905, to_server=to_server)


def test_a_flows_first_message_from_its_server_flips_its_roles_later_ones_never() -> None:
    state: dict[str, object] = {}
    HartIpDissector().feed(_udp(SESSION_ANSWER, True), SESSION_ANSWER, state)
    assert state.get(FLIP_STATE_KEY) is True
    oriented: dict[str, object] = {}  # the engine already took the answer's receiver for the initiator
    HartIpDissector().feed(_udp(SESSION_ANSWER, False), SESSION_ANSWER, oriented)
    request_first: dict[str, object] = {}
    d = HartIpDissector()
    d.feed(_udp(message(0, 2, b""), True), message(0, 2, b""), request_first)
    d.feed(_udp(message(1, 2, b""), True), message(1, 2, b""), request_first)
    assert FLIP_STATE_KEY not in oriented and FLIP_STATE_KEY not in request_first


def test_the_udp_session_continued_from_port_5095_is_followed() -> None:
    engine, obs, flows = Engine(), [], []
    for batch in read_capture(shared(*HART_IP)):
        result = engine.process(batch)
        obs += [o for o in result.observations if o.proto == "hartip" and o.ip_proto == 17]
        flows += result.flows
    end = engine.flush()
    obs += [o for o in end.observations if o.proto == "hartip" and o.ip_proto == 17]
    udp = sorted((f.a_ip, f.a_port, f.b_ip, f.b_port, f.app, f.extra.get("flipped")) for f in flows + end.flows
                 if f.ip_proto == 17 and f.app == "hartip")
    # tshark: frame 1 the initiate to 5094; frames 2-26 the session between 49905 and the gateway's 5095,
    # opened by its answer (frame 2): the client 192.168.0.101 stays the client of both flows
    assert udp == [("192.168.0.101", 49905, "192.168.0.10", 5094, "hartip", None),
                   ("192.168.0.101", 49905, "192.168.0.10", 5095, "hartip", "answer")]
    # tshark -Y "udp && hart_ip.message_type==0": sequence numbers 2-13, pass-through commands 0 1 2 3 9 12 13 20 48
    requests = [o.fields for o in obs if o.kind == "request"]
    assert [f["sequence"] for f in requests] == list(range(2, 14))
    assert [f["command"] for f in requests if "command" in f] == [0, 1, 2, 3, 9, 12, 13, 20, 48]
    assert [o.fields["message"] for o in obs if o.src_port == 5095] == [
        "session_initiate", *["token_passing_pdu"] * 9, "keep_alive", "session_close"]
    assert {o.src_port for o in obs if o.kind == "response"} == {5095}
    assert not [o for o in obs if "ot_operation" in o.fields]  # reads only


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(HartIpDissector(), path)
    assert all(o.proto == "hartip" for o in obs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans(), st.sampled_from([6, 17]))
def test_fuzz_contract(data: bytes, to_server: bool, ip_proto: int) -> None:
    contract(HartIpDissector(), data, to_server=to_server, port=5094, ip_proto=ip_proto)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([0, 1, 2]))
def test_fuzz_pdu_inside_a_valid_header(body: bytes, msg_type: int) -> None:
    contract(HartIpDissector(), message(msg_type, 3, body), port=5094)


def test_a_write_relayed_to_a_sub_device_by_command_77_is_a_write() -> None:
    # I/O card 1, channel 2, 5 preambles, embedded long frame to 1122000001: command 35 (write PV range values)
    embedded = bytes([1, 2, 5, 0x82]) + bytes.fromhex("1122000001") + bytes([35, 9]) + bytes(9)
    _, f = parse_message(message(0, 3, pdu(77, embedded)), {})
    assert (f["command_name"], f["embedded_command"], f["embedded_command_name"]) == (
        "send_command_to_sub_device", 35, "write_pv_range_values")
    assert operation_of(f) == ("write", "write_pv_range_values")
    read = bytes([1, 2, 5, 0x02, 0x00, 3, 0])  # short frame to poll address 0: command 3, a read
    _, f = parse_message(message(0, 3, pdu(77, read)), {})
    assert f["embedded_command"] == 3 and operation_of(f) is None


def test_direct_pdu_lists_its_commands_and_a_write_among_them_is_marked() -> None:
    # HART-IP v2 Direct PDU (TP10300 §10.3.2.5): statuses, then (command number, byte count, data) entries
    body = b"\x00\x00" + struct.pack(">HB", 0, 0) + struct.pack(">HB", 18, 21) + bytes(21)
    kind, f = parse_message(message(0, 4, body), {})
    assert (kind, f["message"], f["commands"]) == ("request", "direct_pdu", [0, 18])
    assert operation_of(f) == ("write", "write_tag_descriptor_date")
    _, answer = parse_message(message(1, 4, b"\xd0\x00" + struct.pack(">HB", 18, 1) + b"\x00"), {})
    assert answer["commands"] == [18] and operation_of(answer) is None
    with pytest.raises(ParseError):
        parse_message(message(0, 4, b"\x00\x00" + struct.pack(">HB", 42, 5)), {})  # data past the end
