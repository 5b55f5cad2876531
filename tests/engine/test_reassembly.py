"""TCP reassembly of one direction: order, retransmission, overlap, wrap-around, bounded buffer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.engine.reassembly import StreamDirection, seq_delta


def _push(stream: StreamDirection[int], segments: list[tuple[int, bytes]]) -> bytes:
    return b"".join(data for seq, seg in segments for data, _ in stream.push(seq, seg, 0))


def test_in_order_segments_pass_straight_through() -> None:
    s: StreamDirection[int] = StreamDirection(1000, 8, 1000)
    assert _push(s, [(1000, b"abc"), (1003, b"def")]) == b"abcdef"
    assert s.next_seq == 1006


def test_out_of_order_segment_waits_for_the_gap() -> None:
    s: StreamDirection[int] = StreamDirection(0, 8, 1000)
    assert _push(s, [(3, b"def")]) == b""
    assert _push(s, [(0, b"abc")]) == b"abcdef"
    assert not s.pending


def test_retransmission_and_overlap_are_trimmed() -> None:
    s: StreamDirection[int] = StreamDirection(0, 8, 1000)
    assert _push(s, [(0, b"abcd"), (0, b"abcd"), (2, b"cdefg"), (6, b"gh")]) == b"abcdefgh"


def test_sequence_numbers_wrap_modulo_2_32() -> None:
    start = 2**32 - 2
    s: StreamDirection[int] = StreamDirection(start, 8, 1000)
    assert _push(s, [(0, b"cd"), (start, b"ab")]) == b"abcd"
    assert seq_delta(0, start) == 2


def test_buffer_limit_gives_up_on_a_gap_that_never_fills() -> None:
    s: StreamDirection[int] = StreamDirection(0, 2, 1000)
    assert _push(s, [(10, b"x"), (20, b"y"), (30, b"z")]) == b""
    assert s.gave_up
    assert _push(s, [(0, b"0123456789")]) == b""


def test_byte_limit_counts_too() -> None:
    s: StreamDirection[int] = StreamDirection(0, 100, 10)
    _push(s, [(5, b"123456"), (20, b"123456")])
    assert s.gave_up


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.lists(st.tuples(st.integers(0, 299), st.integers(1, 60)), max_size=40),
       st.integers(0, 2**32 - 1))
def test_any_segmentation_and_order_rebuilds_a_prefix_of_the_stream(
    stream: bytes, cuts: list[tuple[int, int]], isn: int
) -> None:
    s: StreamDirection[int] = StreamDirection(isn, 64, 1 << 20)
    segments = [(start, stream[start : start + size]) for start, size in cuts if start < len(stream)]
    segments.append((0, stream))  # the whole stream arrives last, so everything fills
    got = _push(s, [((isn + off) % 2**32, data) for off, data in segments])
    assert got == stream
