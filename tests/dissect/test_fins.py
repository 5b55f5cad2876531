"""Omron FINS dissector: FINS header and command codes (W342), FINS/TCP framing, controller identity."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.fins import MAX_TCP_LENGTH, FinsDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, feed_capture_any_port
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

OMRON = ("pcaps", "ics_iti", "pcaps", "omron", "omron_test.pcap")  # shared(*OMRON) in the test: skips only it


def fins(command: int, data: bytes = b"", *, response: bool = False, end: int = 0) -> bytes:
    """A FINS frame (W342 FINS header): ICF, RSV, GCT 2, DNA/DA1/DA2, SNA/SA1/SA2, SID, MRC/SRC, [end code], data."""
    icf = 0xC0 if response else 0x80
    head = bytes([icf, 0, 2, 0, 10, 0, 0, 1, 0, 0x2A]) + struct.pack(">H", command)
    return head + (struct.pack(">H", end) if response else b"") + data


def fins_tcp(command: int, payload: bytes) -> bytes:
    """A FINS/TCP frame (W421): 'FINS', length from the command on, command, error code, payload."""
    return b"FINS" + struct.pack(">III", 8 + len(payload), command, 0) + payload


def feed(data: bytes, state: dict[str, Any] | None = None, *, udp: bool = True) -> list[Observation]:
    pkt = Packet(ts=1.0, payload=data, src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=17 if udp else 6,
                 src_port=40000, dst_port=9600, to_server=True)
    return FinsDissector().feed(pkt, data, {} if state is None else state)


def test_memory_area_write_is_a_write_with_its_address() -> None:
    # W342 memory area write: area code 0x82 (DM), word 100, bit 0, 1 item, then the data
    req = feed(fins(0x0102, bytes([0x82, 0, 100, 0, 0, 1]) + b"\x12\x34"))[0]
    assert req.kind == "request" and req.fields["command_name"] == "memory_area_write"
    assert (req.fields["memory_area"], req.fields["address"], req.fields["count"]) == (0x82, 100, 1)
    assert (req.fields["ot_operation"], req.fields["ot_operation_name"]) == ("write", "memory_area_write")
    assert (req.fields["da1"], req.fields["sa1"], req.fields["sid"]) == (10, 1, 0x2A)


@pytest.mark.parametrize(("command", "cls"), [
    (0x0401, "stop"), (0x0402, "stop"), (0x0403, "restart"), (0x0307, "program"), (0x0308, "program"),
    (0x0202, "program"), (0x2203, "program"), (0x0103, "write"), (0x2301, "write"), (0x0221, "config"),
    (0x0101, None), (0x0501, None), (0x0701, None),
])
def test_commands_that_change_the_controller_are_marked(command: int, cls: str | None) -> None:
    assert feed(fins(command, bytes(8)))[0].fields.get("ot_operation") == cls


def test_response_end_code_and_controller_data() -> None:
    data = b"CJ2M-CPU31".ljust(20, b" ") + b"02.01".ljust(20, b"\0") + bytes(40)
    out = feed(fins(0x0501, data, response=True))
    assert out[0].fields["end_code"] == 0 and out[0].fields["end_code_name"] == "normal_completion"
    assert out[1].kind == "controller_data"
    assert out[1].fields == {"controller_model": "CJ2M-CPU31", "controller_version": "02.01"}
    error = feed(fins(0x0102, response=True, end=0x2108))  # W342: 2108 write not possible (protected)
    assert [o.kind for o in error] == ["response"] and error[0].fields["end_code_name"] == "write_not_possible"


def test_fins_tcp_frames_and_node_address_exchange() -> None:
    state: dict[str, Any] = {}
    stream = fins_tcp(0, struct.pack(">I", 0)) + fins_tcp(2, fins(0x0402))
    assert [o.kind for o in feed(stream[:30], state, udp=False)] == ["tcp_session"]
    out = feed(stream[30:], state, udp=False)
    assert out[0].fields["command_name"] == "stop" and out[0].fields["ot_operation"] == "stop"


def test_fins_tcp_length_limit() -> None:
    with pytest.raises(ParseError):
        feed(b"FINS" + struct.pack(">III", MAX_TCP_LENGTH + 1, 2, 0), udp=False)
    assert feed(b"FINS" + struct.pack(">III", MAX_TCP_LENGTH, 2, 0), udp=False) == []  # waits for the rest


def test_not_fins() -> None:
    with pytest.raises(ParseError):
        feed(b"\x16\x03\x01" + bytes(20))
    with pytest.raises(ParseError):
        feed(b"GET / HTTP/1.1\r\n\r\n", udp=False)
    assert FinsDissector().probe(fins_tcp(0, bytes(4)), True)
    assert not FinsDissector().probe(b"FINSxxxxxxxxxxxxxxxx", True)


def test_omron_cp1l_answers_controller_data_read_over_udp_and_tcp() -> None:
    obs, _ = run(FinsDissector(), shared(*OMRON))
    identity = [(o.ip_proto, o.src_ip, o.fields["controller_model"], o.fields["controller_version"])
                for o in obs if o.kind == "controller_data"]
    assert identity == [(6, "10.1.1.164", "CP1L-EL20DR-D", "01.00"), (17, "10.1.1.164", "CP1L-EL20DR-D", "01.00")]
    requests = [o for o in obs if o.kind == "request"]
    assert [(o.fields["command_name"], o.fields["da1"], o.fields["sid"]) for o in requests] == [
        ("controller_data_read", 200, 5), ("controller_data_read", 0, 239)]
    session = [o.fields for o in obs if o.kind == "tcp_session"]
    assert session[1] == {"tcp_command": "node_address_server", "tcp_error": 0, "client_node": 251, "server_node": 200}


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(FinsDissector(), path)
    assert all(o.proto == "fins" for o in obs)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(FinsDissector(), TCPDUMP_DIR / name)
    feed_capture_any_port(FinsDissector(), TCPDUMP_DIR / name, ip_proto=17)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_contract(data: bytes, to_server: bool) -> None:
    contract(FinsDissector(), data, to_server=to_server, port=9600)
    contract(FinsDissector(), data, to_server=to_server, port=9600, ip_proto=17)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFF), st.binary(max_size=100), st.booleans())
def test_fuzz_command_data_inside_valid_frames(command: int, data: bytes, response: bool) -> None:
    contract(FinsDissector(), fins(command, data, response=response), port=9600, ip_proto=17)
    contract(FinsDissector(), fins_tcp(2, fins(command, data, response=response)), port=9600)
