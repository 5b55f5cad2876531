"""PDU framing over bounded per-direction buffers, shared by the OT stream dissectors."""

from __future__ import annotations

import pytest

from iotwarden.dissect.otstream import MAX_DIRECTION_BUFFER, collect, frames, text
from iotwarden.errors import ParseError


def two_byte_length(buf: bytes) -> int | None:
    if len(buf) < 2:
        return None
    if buf[0] != 0xAA:
        raise ParseError("no marker")
    return 2 + buf[1]


def test_pdus_are_cut_from_the_stream_and_the_rest_kept_per_direction() -> None:
    state: dict = {}
    assert frames(state, True, b"\xaa\x01x\xaa", two_byte_length) == ([b"\xaa\x01x"], None)
    assert frames(state, False, b"\xaa\x00", two_byte_length) == ([b"\xaa\x00"], None)
    assert frames(state, True, b"\x02yz", two_byte_length) == ([b"\xaa\x02yz"], None)


def test_a_bad_header_drops_the_buffer_so_framing_restarts() -> None:
    state: dict = {}
    pdus, error = frames(state, True, b"\xaa\x00\x00\x00", two_byte_length)
    assert pdus == [b"\xaa\x00"] and error == "no marker"
    assert frames(state, True, b"\xaa\x00", two_byte_length) == ([b"\xaa\x00"], None)


def test_the_buffer_is_bounded() -> None:
    state: dict = {}
    never = lambda buf: None  # noqa: E731 - a header that never completes
    _, error = frames(state, True, bytes(MAX_DIRECTION_BUFFER + 1), never)
    assert error is not None and "limit" in error
    assert state["buf_c2s"] == b""


def test_collect_keeps_good_pdus_and_raises_only_when_nothing_was_seen() -> None:
    def parse(pdu: bytes):
        if pdu == b"bad":
            raise ParseError("bad pdu")
        yield pdu

    assert collect([b"bad", b"ok"], [], parse) == [b"ok"]  # type: ignore[comparison-overlap]
    with pytest.raises(ParseError, match="bad pdu"):
        collect([b"bad"], [], parse)
    with pytest.raises(ParseError, match="framing"):
        collect([], ["framing"], parse)


def test_text_strips_nul_padding() -> None:
    assert text(b"CPU 315\x00\x00junk") == "CPU 315"
    assert text(b"\xff name ") == "\ufffd name"
