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


def test_a_gap_that_never_fills_is_skipped_when_the_buffer_is_full() -> None:
    s: StreamDirection[int] = StreamDirection(0, 2, 1000)
    assert _push(s, [(10, b"x"), (20, b"y")]) == b""
    assert s.gaps == 0
    # a third segment overflows the buffer: bytes 0-9 are given up, delivery resumes at 10
    assert _push(s, [(30, b"z")]) == b"x"
    assert s.gaps == 1
    assert _push(s, [(0, b"0123456789")]) == b""  # the lost bytes, too late
    assert _push(s, [(11, b"123456789")]) == b"123456789y"
    assert s.pending == {30: (b"z", 0)}


def test_byte_limit_counts_too() -> None:
    s: StreamDirection[int] = StreamDirection(0, 100, 10)
    assert _push(s, [(5, b"123456"), (20, b"123456")]) == b"123456"
    assert s.gaps == 1
    assert s.next_seq == 11


def test_skip_gives_up_one_hole_at_a_time_when_the_flow_ends() -> None:
    s: StreamDirection[int] = StreamDirection(0, 8, 1000)
    assert _push(s, [(0, b"ab"), (12, b"mn"), (4, b"ef"), (5, b"fgh")]) == b"ab"
    assert b"".join(d for d, _ in s.skip()) == b"efgh"  # 2-3 lost; 4-7 follow on without a hole
    assert s.gaps == 1
    assert b"".join(d for d, _ in s.skip()) == b"mn"  # 8-11 lost
    assert s.gaps == 2
    assert not s.pending and s.pending_bytes == 0
    assert s.skip() == []


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
