"""Per-direction buffers and endpoint orientation."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet
from iotwarden.errors import ParseError


def test_directions_have_separate_buffers() -> None:
    state: dict[str, Any] = {}
    streambuf.append(state, True, b"abc", 10)
    streambuf.append(state, False, b"xy", 10)
    assert state[streambuf.C2S] == b"abc" and state[streambuf.S2C] == b"xy"


def test_a_delivery_of_any_size_is_taken_whole() -> None:
    state: dict[str, Any] = {}
    buf = streambuf.append(state, True, b"a" * 65536, 10)  # a GRO super-packet: the limit is not on it
    assert len(buf) == 65536 and "done" not in state


def test_bound_applies_to_what_is_left_unconsumed() -> None:
    state: dict[str, Any] = {}
    buf = streambuf.append(state, True, b"m" * 5000 + b"tail", 10)
    del buf[:5000]  # the dissector took its complete messages
    streambuf.bound(state, buf, 10)
    assert buf == b"tail" and "done" not in state
    buf += b"x" * 7
    with pytest.raises(ParseError):
        streambuf.bound(state, buf, 10)
    assert state["done"] is True and state[streambuf.C2S] == b""


def test_a_leftover_over_the_limit_from_a_feed_that_raised_is_refused_at_the_next() -> None:
    state: dict[str, Any] = {}
    streambuf.append(state, True, b"a" * 11, 10)  # a feed that raised before calling bound
    with pytest.raises(ParseError):
        streambuf.append(state, True, b"b", 10)
    assert state["done"] is True and state[streambuf.C2S] == b""


def test_oriented_swaps_endpoints_only_when_needed() -> None:
    pkt = Packet(ts=1.0, payload=b"", src_ip="10.0.0.2", dst_ip="10.0.0.1", src_port=23, dst_port=5555,
                 src_mac="bb", dst_mac="aa", to_server=False)
    assert streambuf.oriented(pkt, from_client=False) is pkt
    client = streambuf.oriented(pkt, from_client=True)
    assert (client.src_ip, client.src_port, client.src_mac) == ("10.0.0.1", 5555, "aa")
    assert (client.dst_ip, client.dst_port, client.to_server) == ("10.0.0.2", 23, True)


def test_text_is_bounded_and_never_fails() -> None:
    assert streambuf.text(b"\xffabc", 3) == "\ufffdab"


def test_failed_carries_what_the_feed_made_before_the_error() -> None:
    error = ParseError("bad message")
    assert streambuf.failed(error, []) is error
    made = [Packet(ts=1.0, payload=b"").observation("x", "k", {})]
    partial = streambuf.failed(error, made)
    assert isinstance(partial, streambuf.PartialParse) and isinstance(partial, ParseError)
    assert partial.made is made and str(partial) == "bad message"
