"""TeamViewer over TCP: the client's 0x17 0x24 magic answered by a server magic (nDPI teamviewer.c,
libprotoident lpi_teamviewer.cc, bettercap packets/teamviewer.go), made only once both are seen."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.teamviewer import TeamviewerDissector
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks

# libprotoident's TeamViewer pattern: 37-byte payloads opening with 17 24 0a 20, both directions
HELLO = bytes.fromhex("17240a20") + bytes(range(33))


@pytest.mark.parametrize("answer", [HELLO, bytes.fromhex("1130") + bytes(20)])
def test_both_hellos_once_the_server_answers_with_a_magic(answer: bytes) -> None:
    d = TeamviewerDissector()
    assert feed_chunks(d, [(True, HELLO)]) == []
    client, server = feed_chunks(d, [(True, HELLO[:1]), (True, HELLO[1:]), (False, answer)])
    assert (client.src_ip, client.fields) == ("10.0.0.1", {"role": "client", "magic": "1724"})
    assert (server.src_ip, server.fields) == ("10.0.0.2", {"role": "server", "magic": answer[:2].hex()})


@pytest.mark.parametrize(("case", "chunks"), [
    ("the server speaks first", [(False, HELLO)]),
    ("the client opens with the later magic", [(True, bytes.fromhex("1130") + bytes(8))]),
    ("the server answers without a magic", [(True, HELLO), (False, b"\x16\x03\x03\x00\x10")]),
])
def test_anything_else_is_rejected(case: str, chunks: list[tuple[bool, bytes]]) -> None:
    d = TeamviewerDissector()
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        for to_server, data in chunks:
            d.feed(Packet(ts=0.0, payload=data, to_server=to_server), data, state)
    assert state["done"] is True


def test_probe() -> None:
    d = TeamviewerDissector()
    assert d.probe(HELLO, True)
    assert not d.probe(HELLO, False) and not d.probe(b"\x17\x24\x0b\x20", True)
    assert not d.probe(b"\x17\x03\x03\x00\x20", True)  # a TLS application-data record


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(TeamviewerDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=100)), max_size=6))
def test_fuzz_random_chunks(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(TeamviewerDissector(), chunks)
