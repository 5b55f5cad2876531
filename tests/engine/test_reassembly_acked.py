"""StreamDirection.acked: a hole the peer acknowledged past, with bytes waiting after it, is given up at once
(issues #3/#4)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.engine.reassembly import HALF, SEQ_MOD, StreamDirection


def _data(runs: list[tuple[bytes, int]]) -> bytes:
    return b"".join(data for data, _ in runs)


def test_an_ack_up_to_the_hole_behind_it_or_inside_it_declares_nothing() -> None:
    s: StreamDirection[int] = StreamDirection(0, 8, 1000)
    assert _data(s.push(0, b"abcd", 0)) == b"abcd"
    assert _data(s.push(8, b"ijkl", 0)) == b""
    assert s.acked(4) == [] and s.acked(2) == [] and s.acked(0) == []
    assert s.acked(6) == []  # bytes 6-7 may still come
    assert s.gaps == 0 and s.next_seq == 4 and list(s.pending) == [8]
    assert _data(s.push(4, b"efgh", 0)) == b"efghijkl"


def test_an_ack_past_the_hole_gives_it_up_and_delivers_what_waited_behind_it() -> None:
    s: StreamDirection[int] = StreamDirection(0, 8, 1000)
    s.push(0, b"abcd", 0)
    s.push(8, b"ijkl", 1)
    assert s.acked(8) == [(b"ijkl", 1)]  # up to the buffered segment: the whole hole acknowledged
    assert s.gaps == 1 and s.next_seq == 12 and not s.pending and s.pending_bytes == 0
    assert s.push(4, b"efgh", 2) == []  # the lost bytes, too late: the receiver had them long ago


def test_one_hole_per_call_so_each_gap_precedes_its_own_bytes() -> None:
    s: StreamDirection[int] = StreamDirection(0, 8, 1000)
    s.push(0, b"ab", 0)
    s.push(4, b"ef", 1)
    s.push(8, b"ij", 2)
    assert s.acked(10) == [(b"ef", 1)] and s.gaps == 1
    assert s.acked(10) == [(b"ij", 2)] and s.gaps == 2
    assert s.acked(10) == [] and s.gaps == 2


def test_a_hole_with_nothing_behind_it_waits_for_the_next_bytes() -> None:
    # a segment may be captured after the ACK that covers it (ics_iti s7comm_clean.pcap frames 397-398)
    s: StreamDirection[int] = StreamDirection(0, 8, 1000)
    s.push(0, b"abcd", 0)
    assert s.acked(5) == [] and s.acked(9) == [] and s.gaps == 0 and s.next_seq == 4
    assert _data(s.push(4, b"efgh", 0)) == b"efgh"  # the late segment still finds its place
    s.push(12, b"mn", 1)  # then a hole with bytes behind it
    assert s.acked(14) == [(b"mn", 1)] and s.gaps == 1


def test_sequence_numbers_wrap_and_a_wild_ack_is_behind() -> None:
    start = SEQ_MOD - 4
    s: StreamDirection[int] = StreamDirection(start, 8, 1000)
    s.push(start, b"ab", 0)
    s.push(2, b"gh", 1)  # bytes SEQ_MOD-2 .. 1 are missing
    assert s.acked((start + HALF + 10) % SEQ_MOD) == [] and s.gaps == 0  # half the space away: behind
    assert s.acked(1) == [] and s.gaps == 0  # inside the hole, across the wrap
    assert s.acked(4) == [(b"gh", 1)] and s.gaps == 1 and s.next_seq == 4


def test_a_keep_alive_answer_acknowledges_the_next_byte_only() -> None:
    s: StreamDirection[int] = StreamDirection(100, 8, 1000)
    s.push(100, b"abc", 0)
    s.push(110, b"k", 0)
    assert s.push(102, b"\0", 0) == []  # keep-alive: one old byte at next - 1 (RFC 9293 §3.8.4)
    assert s.acked(103) == [] and s.gaps == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.lists(st.integers(1, 199), max_size=10), st.integers(0, SEQ_MOD - 1))
def test_acking_every_byte_sent_delivers_the_captured_bytes_in_order_and_holds_nothing(
    stream: bytes, cuts: list[int], isn: int
) -> None:
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    segments = [(a, stream[a:b]) for a, b in pairwise(bounds)]
    kept = segments[::2]  # every other segment lost
    s: StreamDirection[int] = StreamDirection(isn, 64, 1 << 20)
    got = _data([run for off, data in kept for run in s.push((isn + off) % SEQ_MOD, data, 0)])
    while True:
        gaps = s.gaps
        got += _data(s.acked((isn + len(stream)) % SEQ_MOD))
        if s.gaps == gaps:
            break
    assert got == b"".join(data for _, data in kept)
    assert not s.pending and s.pending_bytes == 0
    # every hole with captured bytes after it is given up; a lost last segment waits (nothing behind it)
    lost_tail = len(segments) % 2 == 0
    assert s.gaps == len(segments) // 2 - lost_tail
    assert s.next_seq == (isn + len(stream) - lost_tail * len(segments[-1][1])) % SEQ_MOD
