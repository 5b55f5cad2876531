"""Per-direction buffers and endpoint orientation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet
from iotwarden.dissect.streambuf import C2S, MessageStream, PartialParse
from iotwarden.errors import ParseError
from iotwarden.model import Observation


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


class _Lines(MessageStream):
    """A toy line protocol: each CRLF-ended line starting 'OK' is a message, anything else is malformed."""

    name = "lines"

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        return self.stream(pkt, data, state)

    def spoke(self, state: dict[str, Any]) -> bool:
        return bool(state.get("lines"))

    def step(self, pkt: Packet, buf: bytearray, key: str, state: dict[str, Any], out: list[Observation]) -> bool:
        end = buf.find(b"\r\n")
        if end < 0:
            return False
        line = bytes(buf[:end])
        del buf[: end + 2]
        if not line.startswith(b"OK"):
            raise ParseError(f"not a line: {line!r}")
        state["lines"] = True
        out.append(pkt.observation(self.name, "line", {"text": line.decode()}))
        return True


def _line_pkt(to_server: bool = True) -> Packet:
    return Packet(ts=1.0, payload=b"", src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=6, src_port=40000,
                  dst_port=7, to_server=to_server)


def test_a_message_stream_keeps_what_came_before_an_error_and_closes_only_that_direction() -> None:
    d, state = _Lines(), dict[str, Any]()
    assert [o.fields["text"] for o in d.feed(_line_pkt(), b"OK 1\r\nOK", state)] == ["OK 1"]
    with pytest.raises(PartialParse) as err:
        d.feed(_line_pkt(), b" 2\r\nbad\r\nOK 3\r\n", state)
    assert [o.fields["text"] for o in err.value.made] == ["OK 2"]
    assert state["closed_" + C2S] and not state.get("done")  # the flow spoke this protocol: the other side goes on
    assert d.feed(_line_pkt(), b"OK 4\r\n", state) == []
    assert [o.fields["text"] for o in d.feed(_line_pkt(False), b"OK 5\r\n", state)] == ["OK 5"]
    d.gap(state, False)  # a lost segment closes its direction: both are closed now
    assert state["done"]


def test_a_message_stream_that_never_spoke_its_protocol_is_done_at_the_first_error() -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        _Lines().feed(_line_pkt(), b"\x16\x03\x01 hello\r\n", state)
    assert state["done"]  # the engine hands the flow to another dissector


def _judge(buf: bytearray) -> Any:
    """A judge for :func:`streambuf.resync`: a message is b"M" and the 3 bytes after it, b"m" one cut short."""
    def judge(at: int) -> bool | None:
        if buf[at : at + 1] == b"m":
            return None
        return buf[at : at + 1] == b"M" and len(buf) - at >= 4
    return judge


def test_resync_drops_the_bytes_before_the_first_start_judged_a_message() -> None:
    buf = bytearray(b"xxMabcMdef")
    assert streambuf.resync(buf, (6, 0, 2), _judge(buf))  # offsets tried in order: 0 is none, 2 is one
    assert buf == b"MabcMdef"


def test_resync_keeps_a_candidate_not_whole_yet_and_waits() -> None:
    buf = bytearray(b"xxmab")
    assert not streambuf.resync(buf, (0, 2), _judge(buf))
    assert buf == b"mab"


def test_resync_with_no_message_keeps_only_the_tail_asked_for() -> None:
    buf = bytearray(b"xxxxxx")
    assert not streambuf.resync(buf, (0, 3, 99), _judge(buf), keep=2)  # an offset past the end is skipped
    assert buf == b"xx"
    assert not streambuf.resync(buf, (0,), _judge(buf))
    assert buf == b""


def test_take_record_takes_whole_records_and_bounds_each_and_the_leftover() -> None:
    buf = bytearray(b"%1INF1=EB-L1500U\r%1POWR=1\r%1NA")
    assert streambuf.take_record(buf, b"\r", 16, "line") == b"%1INF1=EB-L1500U"
    assert streambuf.take_record(buf, b"\r", 16, "line") == b"%1POWR=1"
    assert streambuf.take_record(buf, b"\r", 16, "line") is None  # not whole yet: it stays
    assert buf == bytearray(b"%1NA")
    buf += b"ME=x\r\r"
    assert streambuf.take_record(buf, b"\r", 16, "line") == b"%1NAME=x"
    assert streambuf.take_record(buf, b"\r", 16, "line") == b""  # an empty record is one
    assert buf == bytearray()
    two = bytearray(b"ab\r\nc")
    assert streambuf.take_record(two, b"\r\n", 4, "line") == b"ab" and two == bytearray(b"c")
    with pytest.raises(ParseError, match="line over 4 bytes"):
        streambuf.take_record(bytearray(b"abcde\r"), b"\r", 4, "line")  # a whole record over the limit
    with pytest.raises(ParseError, match="reply over 4 bytes"):
        streambuf.take_record(bytearray(b"abcde"), b"\r", 4, "reply")  # a leftover past it without its end
    assert streambuf.take_record(bytearray(b"abcd\r"), b"\r", 4, "line") == b"abcd"  # the limit itself is fine


def _head(text: bytes) -> bool:
    return all(streambuf.FIELD_LINE.fullmatch(f) is not None for f in text.split(b"\r\n")[1:])


@pytest.mark.parametrize(("data", "fresh", "found"), [
    (b"MSG a\r\nk: v\r\n\r\n", 0, b"MSG a"),  # a segment start
    (b"\r\n\r\nMSG a\r\nk: v\r\n\r\n", 0, b"MSG a"),  # a segment start past empty lines
    (b"body\r\nMSG a\r\nk: v\r\n\r\n", 0, None),  # a line start: the message ends where nothing begins
    (b"body\r\nMSG a\r\nk: v\r\n\r\nMSG b\r\n", 0, b"MSG a"),  # its end begins another start line
    (b"body\r\nMSG a\r\nk: v\r\n\r\nbody\r\nMSG b\r\nk: v\r\n\r\n", 27, b"MSG b"),  # a later segment's start
])
def test_a_head_past_a_gap_begins_a_segment_or_ends_where_another_begins(data: bytes, fresh: int,
                                                                         found: bytes | None) -> None:
    buf = bytearray(data)
    took = streambuf.resync_head(buf, fresh, re.compile(rb"MSG "), _head, 100, framed=lambda head, data, at: 0)
    assert took is (found is not None)
    assert (bytes(buf).startswith(found) if found else len(buf) <= 103)


def test_past_a_gap_a_segment_whose_first_line_is_unfinished_is_kept_whole_within_the_limit() -> None:
    buf = bytearray(b"MS")  # a start line cut by the segment's end: kept, judged again with the next bytes
    assert not streambuf.resync_head(buf, 0, re.compile(rb"MSG "), _head, 100, framed=lambda head, data, at: 0)
    assert buf == b"MS"
    buf += b"G a\r\n\r\n"
    assert streambuf.resync_head(buf, 2, re.compile(rb"MSG "), _head, 100, framed=lambda head, data, at: 0)
    junk = bytearray(b"z" * 5000)  # no line at all: nothing kept past the limit
    assert not streambuf.resync_head(junk, 0, re.compile(rb"MSG "), _head, 100, framed=lambda head, data, at: 0)
    assert len(junk) <= 103
