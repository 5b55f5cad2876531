"""Mitsubishi SLMP / MC protocol dissector: binary 3E/4E frames (SLMP Reference Manual SH-080956ENG)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.melsec import MAX_PENDING, MelsecDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.dissect.gapfeed import GAP, converse
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, feed_capture_any_port
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

ROUTE = bytes([0x00, 0xFF]) + struct.pack("<H", 0x03FF) + b"\x00"  # own station: network 0, PC 0xFF, CPU 03FF


def request(command: int, sub: int = 0, data: bytes = b"", serial: int | None = None) -> bytes:
    """A binary request: subheader, route, data length, monitoring timer 0x0010, command, subcommand, data."""
    body = struct.pack("<HHH", 0x0010, command, sub) + data
    head = b"\x50\x00" if serial is None else b"\x54\x00" + struct.pack("<H", serial) + b"\x00\x00"
    return head + ROUTE + struct.pack("<H", len(body)) + body


def answer(data: bytes = b"", end: int = 0, serial: int | None = None) -> bytes:
    body = struct.pack("<H", end) + data
    head = b"\xd0\x00" if serial is None else b"\xd4\x00" + struct.pack("<H", serial) + b"\x00\x00"
    return head + ROUTE + struct.pack("<H", len(body)) + body


def new_state() -> dict[str, Any]:
    return {}


def feed(d: MelsecDissector, data: bytes, state: dict[str, Any],
         *, to_server: bool = True, udp: bool = False) -> list[Observation]:
    pkt = Packet(ts=1.0, payload=data, src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=17 if udp else 6,
                 src_port=40000 if to_server else 5007, dst_port=5007 if to_server else 40000, to_server=to_server)
    return d.feed(pkt, data, state)


def test_batch_read_request_of_the_manual() -> None:
    # SH-080956 Device Read (0401) in word units (0000) of D100 (device code A8), 3 points; module I/O 03FF LE
    msg = request(0x0401, 0x0000, bytes.fromhex("640000a80300"))
    assert msg.hex() == "500000ffff03000c00100001040000640000a80300"
    out = feed(MelsecDissector(), msg, {})
    assert out[0].kind == "request" and out[0].fields["command_name"] == "batch_read"
    assert (out[0].fields["network"], out[0].fields["station"], out[0].fields["module_io"]) == (0, 0xFF, 0x03FF)
    assert out[0].fields["timer"] == 0x10 and "ot_operation" not in out[0].fields


@pytest.mark.parametrize(("command", "cls"), [
    (0x1401, "write"), (0x1402, "write"), (0x1406, "write"), (0x1005, "write"), (0x1001, "stop"),
    (0x1002, "stop"), (0x1003, "stop"), (0x1006, "restart"), (0x1829, "program"), (0x1822, "program"),
    (0x1820, "program"), (0x0401, None), (0x0101, None), (0x1828, None),
])
def test_operations_are_marked(command: int, cls: str | None) -> None:
    fields = feed(MelsecDissector(), request(command, 0, b"\x01\x00"), {})[0].fields
    assert fields.get("ot_operation") == cls


def test_read_type_name_answer_names_the_cpu() -> None:
    d, state = MelsecDissector(), new_state()
    feed(d, request(0x0101), state)
    out = feed(d, answer(b"Q03UDVCPU".ljust(16, b" ") + struct.pack("<H", 0x0366)), state, to_server=False)
    assert out[0].fields["command_name"] == "read_type_name" and out[0].fields["end_code"] == 0
    assert out[1].kind == "cpu_model" and out[1].fields == {"cpu_model": "Q03UDVCPU", "model_code": "0x0366"}


def test_4e_answers_are_paired_by_serial_number() -> None:
    d, state = MelsecDissector(), new_state()
    feed(d, request(0x0401, serial=7) + request(0x0101, serial=8), state)
    out = feed(d, answer(b"R04CPU".ljust(16, b"\0") + b"\x01\x48", serial=8), state, to_server=False)
    assert out[0].fields["serial"] == 8 and out[1].fields["cpu_model"] == "R04CPU"
    assert feed(d, answer(bytes(6), serial=7), state, to_server=False)[0].fields["command_name"] == "batch_read"


def test_pending_requests_are_bounded() -> None:
    d, state = MelsecDissector(), new_state()
    for _ in range(MAX_PENDING + 10):
        feed(d, request(0x0401, data=bytes(6)), state)
    assert len(state["pending"]) == MAX_PENDING


def test_an_answer_to_a_request_dropped_for_room_is_paired_with_none() -> None:
    # MAX_PENDING 3E batch reads then a Read Type Name, before any answer: the first read is dropped for room, and
    # 3E answers come in order, so its answer names no command and each later one its own request's (before: the
    # last read's answer was paired with Read Type Name and its words said to be the CPU's model)
    d, state = MelsecDissector(), new_state()
    for _ in range(MAX_PENDING):
        feed(d, request(0x0401, data=bytes.fromhex("640000a80900")), state)
    feed(d, request(0x0101), state)
    words = answer(b"D100D101D102D103\0\0")  # 9 words read
    out = [feed(d, words, state, to_server=False) for _ in range(MAX_PENDING)]
    assert "command" not in out[0][0].fields
    assert all(o[0].fields["command_name"] == "batch_read" and len(o) == 1 for o in out[1:])
    named = feed(d, answer(b"Q03UDVCPU".ljust(16, b" ") + struct.pack("<H", 0x0366)), state, to_server=False)
    assert named[1].fields["cpu_model"] == "Q03UDVCPU"
    # 4E: a serial other requests remembered share is paired the same way; one of its own finds no request
    d, state = MelsecDissector(), new_state()
    for serial in [5] * MAX_PENDING + [9]:
        feed(d, request(0x0401 if serial == 5 else 0x0101, serial=serial), state)
    assert "command" not in feed(d, answer(bytes(18), serial=5), state, to_server=False)[0].fields
    assert feed(d, answer(bytes(18), serial=5), state, to_server=False)[0].fields["command_name"] == "batch_read"
    d, state = MelsecDissector(), new_state()
    for serial in range(MAX_PENDING + 1):
        feed(d, request(0x0401, serial=serial), state)
    assert "command" not in feed(d, answer(bytes(18), serial=0), state, to_server=False)[0].fields
    assert feed(d, answer(bytes(18), serial=1), state, to_server=False)[0].fields["command_name"] == "batch_read"
    assert not state["pending"].forgotten


def test_past_max_pending_forgotten_keys_no_answer_is_paired() -> None:
    d, state = MelsecDissector(), new_state()
    for serial in range(MAX_PENDING + 1):  # each serial twice, then evicted with its twin still remembered
        for _ in range(2):
            feed(d, request(0x0401, serial=serial), state)
    for serial in range(MAX_PENDING + 1):
        for _ in range(2):
            feed(d, request(0x0401, serial=1000 + serial), state)
    assert state["pending"].unpaired and not state["pending"].forgotten
    assert "command" not in feed(d, answer(bytes(18), serial=1000 + MAX_PENDING), state, to_server=False)[0].fields


def test_an_answer_lost_in_a_hole_shifts_no_later_answer() -> None:
    # a Read Type Name whose answer the capture lost, then batch reads answered in turn: before, the request stayed
    # remembered, so each later 3E answer was paired with the request before its own and the first read's words were
    # said to be the CPU's model (and the CPU's real answer read as a batch read's)
    words = answer(b"D100D101D102D103\0\0")
    read = request(0x0401, data=bytes.fromhex("640000a80900"))
    out = converse(MelsecDissector(), [
        (True, read), (False, words), (True, request(0x0101)), (False, GAP),
        (True, read), (False, words), (True, request(0x0101)),
        (False, answer(b"Q03UDVCPU".ljust(16, b" ") + struct.pack("<H", 0x0366))),
    ], None, 5007)
    answers = [o.fields.get("command_name") for o in out if o.kind == "response"]
    assert answers == ["batch_read", "batch_read", "read_type_name"]
    assert [o.fields["cpu_model"] for o in out if o.kind == "cpu_model"] == ["Q03UDVCPU"]


def test_an_answer_counted_for_a_request_dropped_for_room_and_lost_in_a_hole_shifts_nothing() -> None:
    # MAX_PENDING + 1 requests before any answer: the first is dropped for room and its answer counted to be paired
    # with none; the capture loses that answer. Before, the count stayed and took the next answer, whose request
    # stayed remembered: every later answer was paired with the request before its own (the last read's words as
    # the answer of the Read Type Name before it)
    reads = [(True, request(0x0401, data=bytes.fromhex("640000a80900")))] * (MAX_PENDING - 1)
    chunks = [*reads, (True, request(0x0101)), (True, reads[0][1]), (False, GAP)]
    chunks += [(False, answer(b"D100D101D102D103\0\0"))] * (MAX_PENDING - 2)  # reads 2 to MAX_PENDING - 1
    chunks += [(False, answer(b"Q03UDVCPU".ljust(16, b" ") + struct.pack("<H", 0x0366)))]
    chunks += [(False, answer(b"D100D101D102D103\0\0"))]
    out = converse(MelsecDissector(), chunks, None, 5007)
    assert not [o for o in out if o.kind == "cpu_model"]  # every request before the hole: its answer may be lost
    assert not [o for o in out if o.kind == "response" and "command" in o.fields]
    # and after the hole each new request's answer is its own again
    state: dict[str, Any] = {}
    converse(MelsecDissector(), chunks, state, 5007)
    again = converse(MelsecDissector(), [(True, request(0x0101)),
                                         (False, answer(b"R04CPU".ljust(16, b"\0") + b"\x01\x48"))], state, 5007)
    assert again[1].fields["command_name"] == "read_type_name" and again[2].fields["cpu_model"] == "R04CPU"


def test_a_hole_in_the_requests_direction_keeps_the_answers_own() -> None:
    # requests the capture lost have no answer in the table: the answer after the hole is the remembered request's
    d, state = MelsecDissector(), new_state()
    out = converse(d, [(True, request(0x0401, data=bytes(6))), (True, GAP), (False, answer(bytes(6)))], state, 5007)
    assert out[1].fields["command_name"] == "batch_read" and not state["pending"]


def test_datagrams_and_framing_errors() -> None:
    assert feed(MelsecDissector(), request(0x1002, 0, b"\x01\x00"), {}, udp=True)[0].fields["ot_operation"] == "stop"
    with pytest.raises(ParseError):
        feed(MelsecDissector(), request(0x0401)[:-1], {}, udp=True)  # length does not match the datagram
    with pytest.raises(ParseError):
        feed(MelsecDissector(), b"GET / HTTP/1.1\r\n\r\n", {})


def test_probe_is_strict() -> None:
    d = MelsecDissector()
    assert d.probe(request(0x0401, 0, bytes(6)), True) and d.probe(answer(bytes(4)), False)
    assert d.probe(request(0x0101, serial=1), True)
    assert not d.probe(request(0x7777), True)  # no such command
    assert not d.probe(request(0x0401, 0x1234), True)  # no such subcommand
    assert not d.probe(request(0x0401)[:-1], True)
    assert not d.probe(b"P\x00" + bytes(30), True)


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(MelsecDissector(), path)
    assert all(o.proto == "melsec" for o in obs)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(MelsecDissector(), TCPDUMP_DIR / name)
    feed_capture_any_port(MelsecDissector(), TCPDUMP_DIR / name, ip_proto=17)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_fuzz_contract(data: bytes, to_server: bool) -> None:
    contract(MelsecDissector(), data, to_server=to_server, port=5007)
    contract(MelsecDissector(), data, to_server=to_server, port=5007, ip_proto=17)
    MelsecDissector().probe(data, to_server)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFF), st.binary(max_size=60), st.one_of(st.none(), st.integers(0, 0xFFFF)))
def test_fuzz_inside_valid_frames(command: int, data: bytes, serial: int | None) -> None:
    state: dict[str, Any] = {}
    contract(MelsecDissector(), request(command, 0, data, serial), port=5007, state=state)
    contract(MelsecDissector(), answer(data, 0, serial), to_server=False, port=5007, state=state)
