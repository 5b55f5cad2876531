"""TCP stream reassembly for one direction of one flow: in-order bytes out, bounded buffering.

Sequence arithmetic is modulo 2**32 (RFC 9293 §3.4). Bytes already delivered (retransmissions,
overlaps) are trimmed; segments ahead of the next expected byte wait in a buffer bounded by
segment count and bytes. When the buffer would overflow, the gap is declared unfillable and the
direction gives up (the engine counts ``tcp_gap`` and stops feeding the flow).
"""

from __future__ import annotations

from typing import Generic, TypeVar

SEQ_MOD = 1 << 32
HALF = 1 << 31

T = TypeVar("T")


def seq_delta(a: int, b: int) -> int:
    """``a - b`` in sequence space, in [-2**31, 2**31)."""
    d = (a - b) % SEQ_MOD
    return d - SEQ_MOD if d >= HALF else d


class StreamDirection(Generic[T]):
    """Orders the segments of one direction. ``T`` is whatever the caller attaches (the packet)."""

    __slots__ = ("gave_up", "max_bytes", "max_segments", "next_seq", "pending", "pending_bytes")

    def __init__(self, start_seq: int, max_segments: int, max_bytes: int) -> None:
        self.next_seq = start_seq % SEQ_MOD
        self.pending: dict[int, tuple[bytes, T]] = {}  # seq -> (data, tag), ahead of next_seq
        self.pending_bytes = 0
        self.max_segments = max_segments
        self.max_bytes = max_bytes
        self.gave_up = False

    def push(self, seq: int, data: bytes, tag: T) -> list[tuple[bytes, T]]:
        """The newly contiguous runs after adding a segment (empty when it was old or early)."""
        if self.gave_up or not data:
            return []
        ahead = seq_delta(seq, self.next_seq)
        if ahead > 0:
            if ahead >= HALF - len(data):
                return []
            held = self.pending.get(seq % SEQ_MOD)
            if held is not None and len(held[0]) >= len(data):
                return []  # retransmission of a buffered segment
            if len(self.pending) >= self.max_segments or self.pending_bytes + len(data) > self.max_bytes:
                self.gave_up = True
                self.pending.clear()
                self.pending_bytes = 0
                return []
            if held is not None:
                self.pending_bytes -= len(held[0])
            self.pending[seq % SEQ_MOD] = (data, tag)
            self.pending_bytes += len(data)
            return []
        out: list[tuple[bytes, T]] = []
        if -ahead < len(data):  # something new after trimming what was already delivered
            fresh = data[-ahead:]
            out.append((fresh, tag))
            self.next_seq = (self.next_seq + len(fresh)) % SEQ_MOD
        self._drain(out)
        return out

    def _drain(self, out: list[tuple[bytes, T]]) -> None:
        while self.pending:
            ready = [s for s in self.pending if seq_delta(s, self.next_seq) <= 0]
            if not ready:
                return
            ready.sort(key=lambda s: seq_delta(s, self.next_seq))
            for s in ready:
                data, tag = self.pending.pop(s)
                self.pending_bytes -= len(data)
                behind = -seq_delta(s, self.next_seq)
                if behind < len(data):
                    fresh = data[behind:]
                    out.append((fresh, tag))
                    self.next_seq = (self.next_seq + len(fresh)) % SEQ_MOD
