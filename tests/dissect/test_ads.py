"""Beckhoff ADS dissector: AMS/TCP commands and the TwinCAT udp/48899 system service (discovery, add route)."""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.ads import MAX_AMS_LENGTH, AdsDissector
from iotwarden.dissect.base import Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, feed_capture_any_port
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id

BECKOFF = ("pcaps", "ics_iti", "pcaps", "beckoff")
PLC_NET_ID, PC_NET_ID = bytes([5, 13, 117, 96, 1, 1]), bytes([192, 168, 1, 99, 1, 1])


def ams(command: int, data: bytes, *, response: bool = False, port: int = 851, invoke: int = 7) -> bytes:
    """An AMS/TCP frame (TE1000 ADS-TCP): 6-byte AMS/TCP header, 32-byte AMS header, ADS data."""
    target, source = (PC_NET_ID, PLC_NET_ID) if response else (PLC_NET_ID, PC_NET_ID)
    ports = (32905, port) if response else (port, 32905)
    header = target + struct.pack("<H", ports[0]) + source + struct.pack("<H", ports[1])
    header += struct.pack("<HHIII", command, 0x0005 if response else 0x0004, len(data), 0, invoke)
    return struct.pack("<HI", 0, len(header) + len(data)) + header + data


def service(service_id: int, tags: list[tuple[int, bytes]], *, answer: bool = False) -> bytes:
    """A TwinCAT system-service datagram (udp/48899): magic, invoke id, service, AmsNetId, port, tags."""
    body = b"".join(struct.pack("<HH", tag, len(value)) + value for tag, value in tags)
    sid = service_id | (0x8000_0000 if answer else 0)
    return b"\x03\x66\x14\x71" + struct.pack("<II", 0, sid) + PC_NET_ID + struct.pack("<HI", 10000, len(tags)) + body


def feed(frames: bytes, state: dict[str, Any] | None = None, *, to_server: bool = True,
         udp: bool = False) -> list[Observation]:
    pkt = Packet(ts=1.0, payload=frames, src_ip="192.168.1.99", dst_ip="192.168.1.8", ip_proto=17 if udp else 6,
                 src_port=40000, dst_port=48899 if udp else 48898, to_server=to_server)
    return AdsDissector().feed(pkt, frames, {} if state is None else state)


def test_read_device_info_response_names_the_ads_server() -> None:
    data = struct.pack("<IBBH", 0, 3, 1, 4024) + b"Plc30 App".ljust(16, b"\0")
    out = feed(ams(1, data, response=True))
    assert [o.kind for o in out] == ["response", "device_info"]
    assert out[1].fields == {"device_name": "Plc30 App", "version": "3.1.4024", "ams_port": 851}
    assert out[0].fields["result"] == 0 and out[0].fields["source_net_id"] == "5.13.117.96.1.1"


@pytest.mark.parametrize(("group", "marked"), [
    (0xF005, True),  # ADSIGRP_SYM_VALBYHND: a symbol's value by handle
    (0x4020, True),  # PLC memory %M
    (0xF030, True),  # output process image bytes
    (0xF006, False),  # ADSIGRP_SYM_RELEASEHND: releasing a handle writes no process data
    (0x0001, False),
])
def test_write_is_marked_only_for_index_groups_that_write_process_data(group: int, marked: bool) -> None:
    req = feed(ams(3, struct.pack("<III", group, 4, 2) + b"\x01\x00"))[0]
    assert req.kind == "request" and req.fields["index_group"] == group and req.fields["length"] == 2
    assert (req.fields.get("ot_operation"), req.fields.get("ot_operation_name")) == (
        ("write", "write") if marked else (None, None))


def test_read_write_symbol_lookup_is_a_read_and_a_sum_write_is_a_write() -> None:
    name = b"MAIN.bStart\0"
    lookup = feed(ams(9, struct.pack("<IIII", 0xF003, 0, 4, len(name)) + name))[0]
    assert lookup.fields["symbol"] == "MAIN.bStart" and "ot_operation" not in lookup.fields
    sum_write = feed(ams(9, struct.pack("<IIII", 0xF081, 2, 8, 24) + bytes(24)))[0]
    assert sum_write.fields["ot_operation"] == "write" and sum_write.fields["ot_operation_name"] == "read_write"


@pytest.mark.parametrize(("state", "cls", "name"), [
    (6, "stop", "write_control_stop"), (5, "stop", "write_control_run"), (2, "restart", "write_control_reset"),
    (16, "restart", "write_control_reconfig"), (11, None, None),
])
def test_write_control_marks_mode_changes(state: int, cls: str | None, name: str | None) -> None:
    req = feed(ams(5, struct.pack("<HHI", state, 0, 0), port=10000))[0]
    assert req.fields["command_name"] == "write_control" and req.fields["ads_state"] == state
    assert (req.fields.get("ot_operation"), req.fields.get("ot_operation_name")) == (cls, name)


def test_read_state_response_and_frames_split_across_segments() -> None:
    state: dict[str, Any] = {}
    frame = ams(4, struct.pack("<IHH", 0, 5, 0), response=True)
    both = ams(4, b"") + frame
    assert feed(both[:20], state) == []
    out = feed(both[20:], state)
    assert [(o.kind, o.fields["command_name"]) for o in out] == [("request", "read_state"), ("response", "read_state")]
    assert out[1].fields["ads_state_name"] == "run"


def test_a_bad_header_resynchronises_on_the_next_segment() -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        feed(b"\x55\x55" + bytes(40), state)
    assert feed(ams(4, b""), state)[0].fields["command_name"] == "read_state"


def test_frames_over_the_length_limit_are_refused() -> None:
    with pytest.raises(ParseError):
        feed(struct.pack("<HI", 0, MAX_AMS_LENGTH + 1) + bytes(32))
    assert feed(struct.pack("<HI", 0, MAX_AMS_LENGTH) + bytes(32)) == []  # buffered, waiting for the rest


def test_add_route_request_is_a_config_change_and_never_keeps_the_password() -> None:
    msg = service(6, [(0x0C, b"ENG-PC\0"), (0x07, PC_NET_ID), (0x0D, b"Administrator\0"), (0x02, b"s3cret\0"),
                      (0x05, b"192.168.1.99\0")])
    out = feed(msg, udp=True)
    assert out[0].kind == "add_route_request"
    assert out[0].fields["route_name"] == "ENG-PC" and out[0].fields["user_name"] == "Administrator"
    assert out[0].fields["route_net_id"] == "192.168.1.99.1.1" and out[0].fields["route_host"] == "192.168.1.99"
    assert out[0].fields["ot_operation"] == "config" and out[0].fields["ot_operation_name"] == "add_route"
    assert "s3cret" not in repr(out[0].fields)


def test_discovery_answer_states_host_os_and_twincat_version() -> None:
    osinfo = struct.pack("<5I", 276, 10, 0, 19041, 2) + bytes(256)
    msg = service(1, [(0x05, b"IPC-01\0"), (0x04, osinfo), (0x03, bytes([3, 1]) + struct.pack("<H", 4024))],
                  answer=True)
    fields = feed(msg, udp=True)[0].fields
    assert fields["hostname"] == "IPC-01" and fields["twincat_version"] == "3.1.4024"
    assert fields["os_version"] == "10.0.19041" and fields["os_platform"] == "windows_nt"


def test_beckhoff_cx_discovery_and_device_info_on_the_real_captures() -> None:
    obs, errors = run(AdsDissector(), shared(*BECKOFF, "beckoffaddroute.pcapng"))
    assert not errors
    answer = next(o for o in obs if o.kind == "discovery_answer")
    assert answer.src_ip == "192.168.1.8" and answer.fields["net_id"] == "5.13.117.96.1.1"
    assert answer.fields["hostname"] == "CX_0D7560" and answer.fields["twincat_version"] == "2.11.2228"
    assert (answer.fields["os_version"], answer.fields["os_platform"]) == ("6.0.0", "windows_ce")
    infos = {(o.fields["device_name"], o.fields["version"], o.fields["ams_port"])
             for o in obs if o.kind == "device_info"}
    assert infos == {("TwinCAT CE", "2.11.2228", 10000), ("PLC Server", "2.11.2103", 800),
                     ("I/O Server", "2.11.2100", 300)}
    routes = [o for o in obs if o.kind == "add_route_request"]
    assert [o.fields["route_host"] for o in routes] == ["SHENHUAJ6-PC", "192.168.1.199"]
    assert {(o.fields["route_name"], o.fields["user_name"], o.fields["route_net_id"]) for o in routes} == {
        ("SHENHUAJ6-PC", "Administrator", "192.168.1.199.1.1")}
    assert [o.fields["status"] for o in obs if o.kind == "add_route_answer"] == [0, 0]


def test_iplink_session_commands_are_counted_as_tshark_decodes_them() -> None:
    obs, errors = run(AdsDissector(), shared(*BECKOFF, "beckoffiplink.pcapng"))
    assert not errors
    requests = Counter(o.fields["command_name"] for o in obs if o.kind == "request")
    # tshark -Y ams: 1036 + 1 ReadState, 1034 + 2 + 2 + 1 Read, 7 ReadWrite, 4 ReadDeviceInfo requests
    assert requests == {"read_state": 1037, "read": 1039, "read_write": 7, "read_device_info": 4,
                        "add_device_notification": 2, "delete_device_notification": 1}
    assert not [o for o in obs if "ot_operation" in o.fields]  # monitoring only: nothing changed on the CX
    lookups = {o.fields["index_group"] for o in obs if o.kind == "request" and o.fields["command_name"] == "read_write"}
    assert lookups == {0xC8}  # the system service's registry reads (ADS port 10000)


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(AdsDissector(), path)
    assert all(o.proto == "ads" for o in obs)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(AdsDissector(), TCPDUMP_DIR / name)
    feed_capture_any_port(AdsDissector(), TCPDUMP_DIR / name, ip_proto=17)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_contract(data: bytes, to_server: bool) -> None:
    contract(AdsDissector(), data, to_server=to_server, port=48898)
    contract(AdsDissector(), data, to_server=to_server, port=48899, ip_proto=17)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9), st.binary(max_size=120), st.booleans())
def test_fuzz_ads_data_inside_valid_headers(command: int, data: bytes, response: bool) -> None:
    contract(AdsDissector(), ams(command, data, response=response), port=48898)
    contract(AdsDissector(), service(6, [(0x0C, data)]), port=48899, ip_proto=17)
