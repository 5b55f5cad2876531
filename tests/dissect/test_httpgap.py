"""HTTP past lost bytes (dissect/httpgap.py): what a gap drops, when requests pair again, a lost empty line."""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.base import Packet
from iotwarden.dissect.httpgap import (
    END,
    RESYNC_STATE_KEY,
    UNENDED,
    UNPAIRED,
    UNSURE,
    after_gap,
    at_head,
    ended_in_holes,
    gap,
)
from iotwarden.errors import ParseError
from iotwarden.model import Observation

HEAD = b"GET /generate_204 HTTP/1.1\r\nHost: connectivitycheck.example\r\n"  # its empty line to come alone


def test_a_request_pairs_again_only_once_an_answer_it_acknowledges_came() -> None:
    assert after_gap(Packet(ts=0.0, payload=b"", tcp_ack=1000), False) is False  # no spare answer read
    assert after_gap(Packet(ts=0.0, payload=b"", tcp_ack=1000), 1000) is True  # sent once it had the answer
    assert after_gap(Packet(ts=0.0, payload=b"", tcp_ack=900), 1000) is False  # sent before it: pipelined
    assert after_gap(Packet(ts=0.0, payload=b""), 1000) is True  # no ACK in the capture
    assert after_gap(Packet(ts=0.0, payload=b"", tcp_ack=5), None) is True


def test_a_gap_in_the_client_s_direction_forgets_the_methods_and_resyncs_it() -> None:
    state: dict[str, Any] = {"methods": ["HEAD"], UNPAIRED: 2, "c2s": bytearray(b"POST /x HTTP/1.1\r\n"),
                             "body_c2s": 40}
    assert gap("http", state, True) == []
    assert state[UNSURE] and "methods" not in state and UNPAIRED not in state
    assert state[RESYNC_STATE_KEY + "c2s"] and "c2s" not in state and "body_c2s" not in state
    assert not at_head(state, "c2s")


def test_a_gap_in_a_server_s_direction_with_no_request_waiting_leaves_pairing_sure() -> None:
    state: dict[str, Any] = {"methods": [], "body_s2c": 100}
    gap("http", state, False)
    assert UNSURE not in state and state[RESYNC_STATE_KEY + "s2c"]


def test_a_gap_in_a_closed_direction_ends_a_flow_closed_both_ways() -> None:
    state: dict[str, Any] = {"closed_c2s": True, "closed_s2c": True}
    gap("http", state, False)
    assert state["done"] and RESYNC_STATE_KEY + "s2c" not in state


def _reader(read: list[tuple[bytes, str]]) -> Any:
    def read_head(pkt: Packet, head: bytes, key: str, state: dict[str, Any],
                  out: list[Observation]) -> ParseError | None:
        read.append((head, key))
        return None
    return read_head


def test_a_head_whose_empty_line_the_peer_acknowledges_is_read() -> None:
    read: list[tuple[bytes, str]] = []
    state: dict[str, Any] = {"c2s": bytearray(HEAD), END + "c2s": 1000 + len(HEAD)}
    answer = Packet(ts=1.0, payload=b"HTTP/1.1 204", to_server=False, tcp_seq=7, tcp_ack=1000 + len(HEAD) + 2)
    assert ended_in_holes(answer, answer.payload, state, [], _reader(read)) is None
    assert read == [(HEAD[:-2], "c2s")] and not state["c2s"]


def test_a_head_a_gap_left_unended_is_read_when_the_next_message_begins_two_bytes_past_it() -> None:
    read: list[tuple[bytes, str]] = []
    state: dict[str, Any] = {"c2s": bytearray(HEAD), END + "c2s": 1000 + len(HEAD)}
    gap("http", state, True)
    assert state[UNENDED + "c2s"] == (HEAD[:-2], 1000 + len(HEAD))
    nxt = Packet(ts=2.0, payload=HEAD + b"\r\n", tcp_seq=1000 + len(HEAD) + 2)
    ended_in_holes(nxt, nxt.payload, state, [], _reader(read))
    assert read == [(HEAD[:-2], "c2s")]
    far = {"c2s": bytearray(HEAD), END + "c2s": 1000 + len(HEAD)}
    gap("http", far, True)
    late = Packet(ts=2.0, payload=HEAD + b"\r\n", tcp_seq=1000 + len(HEAD) + 3)  # a longer hole: not that CRLF
    ended_in_holes(late, late.payload, far, [], _reader(read))
    assert len(read) == 1
