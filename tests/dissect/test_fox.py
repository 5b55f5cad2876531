"""Niagara Fox dissector: the hello of Workbench and of a station (Nmap fox-info's fields), frames
split over segments, non-Fox streams refused, limits, the contract on hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.fox import MAX_FRAME, FoxDissector, parse_frame
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate

# the hello a Workbench sends (fox-info's own request, extended with the client's identity) and the
# answer of a JACE station, in the key=type:value layout of Tridium's FoxFrame
CLIENT = (b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\nhostName=s:xpvm-0omdc01xmy\n"
          b"app.name=s:Workbench\napp.version=s:3.7.44\nvm.name=s:Java HotSpot(TM) Server VM\n};;\n")
SERVER = (b"fox a 0 -1 fox hello\n{\nfox.version=s:1.0\nid=i:2\nhostName=s:jace-1\nhostAddress=s:10.0.0.2\n"
          b"app.name=s:Station\napp.version=s:4.12.1.16\nos.name=s:QNX\nos.version=s:7.0\nstation.name=s:Plant\n"
          b"timeZone=s:Europe/Paris;3600000;3600000;02:00:00.000,wall,march,25,sun+,0,0;02:00:00.000,wall,"
          b"october,25,sun+,0,0\nhostId=s:Qnx-JACE-0000-1111\nbrandId=s:Tridium\nsysInfo=o:bog 61[<bog/>]\n};;\n")


def test_both_hellos_name_the_software_of_each_end() -> None:
    client, server = feed_chunks(FoxDissector(), [(True, CLIENT), (False, SERVER)])
    assert client.kind == server.kind == "hello"
    assert client.fields["role"] == "client" and client.fields["app_name"] == "Workbench"
    assert client.src_ip == "10.0.0.1" and server.src_ip == "10.0.0.2"
    assert server.fields == {"role": "server", "frame_type": "a", "fox_version": "1.0", "host_name": "jace-1",
                             "host_address": "10.0.0.2", "app_name": "Station", "app_version": "4.12.1.16",
                             "os_name": "QNX", "os_version": "7.0", "station_name": "Plant",
                             "time_zone": SERVER.split(b"timeZone=s:")[1].split(b"\n")[0].decode(),
                             "host_id": "Qnx-JACE-0000-1111", "brand_id": "Tridium"}


def test_a_frame_split_over_segments_and_the_end_after_both_hellos() -> None:
    state: dict[str, Any] = {}
    d = FoxDissector()
    chunks = [(True, CLIENT[:10]), (True, CLIENT[10:]), (False, SERVER), (True, b"fox s 2 -1 fox login\n")]
    got = []
    for to_server, data in chunks:
        if not state.get("done"):
            got += d.feed(Packet(ts=1.0, payload=data, ip_proto=6, to_server=to_server), data, state)
    assert [o.fields["role"] for o in got] == ["client", "server"] and state["done"]


def test_other_streams_and_bodies_are_refused() -> None:
    with pytest.raises(ParseError, match="does not start"):
        FoxDissector().feed(Packet(ts=0.0, payload=b"", to_server=True), b"GET / HTTP/1.1\r\n", {})
    with pytest.raises(ParseError, match="braced"):
        parse_frame(b"fox a 0 -1 fox hello\nkey=s:v\n;;\n")
    assert parse_frame(b"fox a 0 -1 fox bye\n;;\n") == ("a", "fox", "bye", {})


def test_a_frame_over_its_limit_ends_the_flow() -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        FoxDissector().feed(Packet(ts=0.0, payload=b"", to_server=True), b"fox a 1 -1 fox hello\n{" + b"x" * MAX_FRAME,
                            state)
    assert state["done"]
    state = {}
    with pytest.raises(ParseError):  # a complete frame is held to the same limit
        FoxDissector().feed(Packet(ts=0.0, payload=b"", to_server=True),
                            b"fox a 1 -1 fox hello\n{" + b"x" * MAX_FRAME + b"\n};;\n", state)
    assert state["done"]


def test_probe() -> None:
    assert FoxDissector().probe(CLIENT, True)
    assert not FoxDissector().probe(b"fox hello", True)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(FoxDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(FoxDissector(), chunks)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 700))
def test_fuzz_mutated_hellos(edits: list[tuple[int, int]], cut: int) -> None:
    feed_chunks(FoxDissector(), [(True, mutate(CLIENT, edits, cut)), (False, mutate(SERVER, edits, cut))])
