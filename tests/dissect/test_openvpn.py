"""OpenVPN over TCP: the client's hard reset answered by the server's (ssl_pkt.h opcodes), both made
only once the answer is seen; anything else is a ParseError; the engine recognises it on any port."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Packet
from iotwarden.dissect.openvpn import MAX_HARD_RESET, OpenvpnDissector, parse_hard_reset
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate
from tests.sources.capbuild import ACK, PSH, SYN, batch_of, ethernet, tcp

CLIENT_SID, SERVER_SID = bytes.fromhex("a1b2c3d4e5f60718"), bytes.fromhex("0102030405060708")


def packet(opcode: int, session: bytes, body: bytes, key_id: int = 0) -> bytes:
    """Length prefix (TCP), opcode/key id byte, session id, the rest (OpenVPN ssl.h packet layout)."""
    raw = bytes([opcode << 3 | key_id]) + session + body
    return len(raw).to_bytes(2, "big") + raw


# no tls-auth: ack array length 0 and message packet id 0; the server acks the client's packet 0
CLIENT = packet(7, CLIENT_SID, bytes(5))
SERVER = packet(8, SERVER_SID, b"\x01" + bytes(4) + CLIENT_SID + bytes(4))
# tls-auth (HMAC-SHA1): HMAC, replay packet id and time before the ack array
CLIENT_TLS_AUTH = packet(7, CLIENT_SID, bytes(range(20)) + bytes.fromhex("00000001 65a1b2c3") + bytes(5))


def test_the_exchange_gives_both_hard_resets_once_the_server_answers() -> None:
    d = OpenvpnDissector()
    assert feed_chunks(d, [(True, CLIENT)]) == []
    client, server = feed_chunks(d, [(True, CLIENT), (False, SERVER), (True, packet(5, CLIENT_SID, bytes(13)))])
    assert (client.subject, client.src_ip, client.fields) == ("src", "10.0.0.1", {
        "role": "client", "opcode": "P_CONTROL_HARD_RESET_CLIENT_V2", "key_id": 0,
        "session_id": "a1b2c3d4e5f60718", "packet_length": 14})
    assert (server.src_ip, server.fields["role"], server.fields["opcode"], server.fields["session_id"]) == (
        "10.0.0.2", "server", "P_CONTROL_HARD_RESET_SERVER_V2", "0102030405060708")


def test_packets_split_over_segments_and_the_v3_reset() -> None:
    v3 = packet(10, CLIENT_SID, bytes(range(200)))
    client, _ = feed_chunks(OpenvpnDissector(), [(True, v3[:1]), (True, v3[1:50]), (True, v3[50:]),
                                                (False, SERVER[:9]), (False, SERVER[9:])])
    assert (client.fields["opcode"], client.fields["packet_length"]) == ("P_CONTROL_HARD_RESET_CLIENT_V3", 209)


@pytest.mark.parametrize(("case", "chunks"), [
    ("the server answers first", [(False, SERVER)]),
    ("the client opens with a data packet", [(True, packet(6, CLIENT_SID, bytes(20)))]),
    ("the client's reset has key id 1", [(True, packet(7, CLIENT_SID, bytes(5), key_id=1))]),
    ("the server answers with a client reset", [(True, CLIENT), (False, packet(7, SERVER_SID, bytes(5)))]),
    ("shorter than any hard reset", [(True, packet(7, b"", bytes(3)))]),
    ("a length over the limit", [(True, (MAX_HARD_RESET + 1).to_bytes(2, "big") + b"\x38")]),
])
def test_anything_but_the_hard_reset_exchange_is_rejected(case: str, chunks: list[tuple[bool, bytes]]) -> None:
    d = OpenvpnDissector()
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        for to_server, data in chunks:
            d.feed(_pkt(to_server), data, state)
    assert state["done"] is True


def _pkt(to_server: bool) -> Packet:
    return Packet(ts=0.0, payload=b"", to_server=to_server)


def test_probe_wants_the_client_reset_whole() -> None:
    d = OpenvpnDissector()
    assert d.probe(CLIENT, True) and d.probe(CLIENT_TLS_AUTH, True)
    assert not d.probe(CLIENT[:-1], True)  # a probe sees one segment: the whole first packet or nothing
    assert not d.probe(CLIENT + b"\x00", True)  # nor a length prefix that does not name the payload
    assert not d.probe(SERVER, False) and not d.probe(CLIENT, False)
    assert not d.probe(b"\x16\x03\x01\x00\x2a\x01", True)  # a TLS ClientHello record
    assert parse_hard_reset(b"\x00", True) is None


def test_the_engine_recognises_it_on_its_port_and_by_probe_elsewhere() -> None:
    c, s = "10.0.0.5", "198.18.0.1"
    for port in (1194, 4443):
        frames = [(0.0, ethernet(tcp(c, s, 40000, port, SYN, 99))),
                  (0.1, ethernet(tcp(c, s, 40000, port, PSH | ACK, 100, CLIENT))),
                  (0.2, ethernet(tcp(s, c, port, 40000, PSH | ACK, 500, SERVER)))]
        engine = Engine(default_dissectors())
        out = engine.process(batch_of(frames))
        end = engine.flush()
        assert [(o.proto, o.kind) for o in out.observations + end.observations] == [("openvpn", "hard_reset")] * 2
        assert [f.app for f in out.flows + end.flows] == ["openvpn"]


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(OpenvpnDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=6))
def test_fuzz_random_chunks(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(OpenvpnDissector(), chunks)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 100))
def test_fuzz_mutated_exchange(edits: list[tuple[int, int]], cut: int) -> None:
    feed_chunks(OpenvpnDissector(), [(True, mutate(CLIENT_TLS_AUTH, edits, cut)), (False, mutate(SERVER, edits, cut))])
