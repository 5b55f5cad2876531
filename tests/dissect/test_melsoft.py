"""Mitsubishi MELSOFT (udp/5560, tcp/5562): framing and the CPU model, as pinned on the ics_iti MELSEC captures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.melsoft import HEADER, MAX_FRAME, REQUEST_COMMAND_AT, MelsoftDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, feed_capture_any_port
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

MELSEC = ("pcaps", "ics_iti", "pcaps", "MELSEC")
UDP_CAPTURES = {"melsoft_UDP_clean_1.pcap": 23, "melsoft_UDP_clean_2.pcap": 16, "melsoft_UDP_clean_3.pcap": 23,
                "melsoft_UDP_unclean_1.pcap": 23}
# melsoft_UDP_clean_1.pcap frames 13 and 14: the model request and the FX5U's answer
MODEL_REQUEST = bytes.fromhex("57010000001111070000ffff030000fe03000020001c0a16140000000000000000000000000000000000"
                              "0000000121010000000001")
MODEL_ANSWER = bytes.fromhex("d70100000011117f000000a80300ffff03000038009c0a18140000000000000000000000000000000000"
                             "0000000000012101000000465835552d33324d542f455300000000294a000800000000")


def feed(data: bytes, state: dict[str, Any] | None = None, *, udp: bool = True,
         to_server: bool = True) -> list[Observation]:
    pkt = Packet(ts=1.0, payload=data, src_ip="192.168.3.250", dst_ip="255.255.255.255", ip_proto=17 if udp else 6,
                 src_port=5560, dst_port=49156, to_server=to_server)
    return MelsoftDissector().feed(pkt, data, {} if state is None else state)


def test_model_answer_of_the_capture() -> None:
    assert [(o.kind, o.fields) for o in feed(MODEL_REQUEST)] == [
        ("request", {"length": 32, "command": "0x0121", "command_name": "open_initial", "packet_reference": 1})]
    out = feed(MODEL_ANSWER)
    assert [o.kind for o in out] == ["answer", "cpu_model"]
    assert out[1].fields == {"model": "FX5U-32MT/ES", "model_code": "0x4a29"}


def test_other_answers_carry_no_model() -> None:
    other = bytearray(MODEL_ANSWER)
    other[47:49] = b"\x01\xa0"  # the answer to another request: its bytes at 53 are not a model
    assert [(o.kind, o.fields["command"]) for o in feed(bytes(other))] == [("answer", "0x01a0")]
    unprintable = bytearray(MODEL_ANSWER)
    unprintable[53] = 0x01
    assert [o.kind for o in feed(bytes(unprintable))] == ["answer"]


def test_ports() -> None:
    assert MelsoftDissector.udp_ports == (5560,) and set(MelsoftDissector.tcp_ports) == {5562, 5007}


def test_frames_over_the_size_limit_are_refused() -> None:
    with pytest.raises(ParseError):
        feed(MODEL_ANSWER[:19] + (MAX_FRAME - HEADER + 1).to_bytes(2, "little"), udp=False)
    assert feed(MODEL_ANSWER[:19] + (MAX_FRAME - HEADER).to_bytes(2, "little"), udp=False) == []


def test_search_messages() -> None:
    assert [(o.kind, o.fields) for o in feed(bytes.fromhex("5a0000ff"))] == [("search_request", {"code": 0xFF})]
    answer = feed(bytes.fromhex("da0000011400c0a80365c0a80065"))
    assert [(o.kind, o.fields) for o in answer] == [("search_answer", {"code": 1})]
    with pytest.raises(ParseError):
        feed(bytes.fromhex("5a0000ff00"))


def test_tcp_frames_split_and_joined() -> None:
    state: dict[str, Any] = {}
    stream = MODEL_REQUEST + MODEL_ANSWER
    assert feed(stream[:30], state, udp=False) == []
    assert [o.kind for o in feed(stream[30:], state, udp=False)] == ["request", "answer", "cpu_model"]
    with pytest.raises(ParseError):
        feed(b"\x16\x03\x01\x00\x05hello", {}, udp=False)


@pytest.mark.parametrize(("name", "answers"), sorted(UDP_CAPTURES.items()))
def test_fx5u_names_its_model_at_the_same_offset_in_every_udp_capture(name: str, answers: int) -> None:
    obs, errors = run(MelsoftDissector(), shared(*MELSEC, name))
    assert not errors
    models = Counter((o.fields["model"], o.fields["model_code"]) for o in obs if o.kind == "cpu_model")
    assert models == {("FX5U-32MT/ES", "0x4a29"): answers}
    assert {o.src_ip for o in obs if o.kind == "cpu_model"} <= {"192.168.3.250", "192.168.0.250"}
    assert {o.src_ip for o in obs if o.kind == "search_request"} == {"192.168.3.101"}


def test_answers_repeat_their_requests_command_and_the_plcs_answers_are_marked() -> None:
    obs, _ = run(MelsoftDissector(), shared(*MELSEC, "melsoft_UDP_clean_1.pcap"))
    requests = Counter(o.fields["command"] for o in obs if o.kind == "request")
    answers = Counter(o.fields["command"] for o in obs if o.kind == "answer")
    assert requests == answers and requests["0x0121"] == 23 and requests["0x1869"] == 17
    stop = [o for o in obs if o.fields.get("command_name") == "remote_control_stop"]
    assert [(o.kind, o.src_ip, o.fields["packet_reference"]) for o in stop] == [
        ("request", "192.168.3.101", 0x0B), ("answer", "192.168.3.250", 0x0B)]
    # over UDP requests go to the broadcast address: the PLC's answers name it, marked as sent by the device
    # (and name the requester: the latest broadcast request of that command and packet reference)
    marked = Counter((o.kind, o.src_ip, o.fields["ot_operation"], o.fields["ot_operation_name"],
                      o.fields.get("ot_device_sent"), o.fields.get("ot_requester_ip"))
                     for o in obs if "ot_operation" in o.fields)
    assert marked == {("answer", "192.168.3.250", "stop", "remote_control_stop", True, "192.168.3.101"): 1,
                      ("answer", "192.168.3.250", "program", "file_write", True, "192.168.3.101"): 17}


def test_over_tcp_the_request_is_marked() -> None:
    d = MelsoftDissector()
    request = bytearray(REQUEST_COMMAND_AT + 4)
    request[0], request[19:21] = 0x57, (len(request) - 21).to_bytes(2, "little")
    request[REQUEST_COMMAND_AT:REQUEST_COMMAND_AT + 2] = (0x1006).to_bytes(2, "big")
    pkt = Packet(ts=1.0, payload=bytes(request), src_ip="192.168.3.101", dst_ip="192.168.3.250", src_port=50000,
                 dst_port=5562, ip_proto=6, to_server=True)
    (obs,) = d.feed(pkt, bytes(request), {})
    assert (obs.kind, obs.fields["ot_operation"], obs.fields["ot_operation_name"]) == (
        "request", "restart", "remote_reset_ex")
    assert "ot_device_sent" not in obs.fields


@pytest.mark.parametrize("name", ["melsoft_variant_clean.pcap", "melsoft_UDP_clean_2.pcap"])
def test_modify_value_is_a_fixed_size_poll_and_stays_unmarked(name: str) -> None:
    # 0x0410: the Nozomi plugin names it only; its requests never vary in size, so they carry no value
    obs, _ = run(MelsoftDissector(), shared(*MELSEC, name))
    modify = [o for o in obs if o.fields.get("command") == "0x0410"]
    assert {o.fields["length"] for o in modify if o.kind == "request"} == {52}
    assert len({o.fields["length"] for o in modify if o.kind == "answer"}) > 1
    assert not [o for o in modify if "ot_operation" in o.fields]


@pytest.mark.parametrize(("name", "frames"), [("melsoft_variant_clean.pcap", 5521)])
def test_tcp_sessions_frame_without_errors(name: str, frames: int) -> None:
    obs, errors = run(MelsoftDissector(), shared(*MELSEC, name))
    kinds = Counter(o.kind for o in obs)
    assert not errors and kinds == {"request": frames, "answer": frames}
    assert {o.src_port for o in obs if o.kind == "answer"} == {5562}


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(MelsoftDissector(), path)
    assert all(o.proto == "melsoft" for o in obs)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(MelsoftDissector(), TCPDUMP_DIR / name)
    feed_capture_any_port(MelsoftDissector(), TCPDUMP_DIR / name, ip_proto=17)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_fuzz_contract(data: bytes, to_server: bool) -> None:
    contract(MelsoftDissector(), data, to_server=to_server, port=5562)
    contract(MelsoftDissector(), data, to_server=to_server, port=5560, ip_proto=17)
    contract(MelsoftDissector(), MODEL_ANSWER[:21] + data, port=5560, ip_proto=17)
