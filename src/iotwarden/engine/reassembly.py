"""TCP stream reassembly for one direction of one flow: in-order bytes out, bounded buffering.

Sequence arithmetic is modulo 2**32 (RFC 9293 §3.4). Bytes already delivered (retransmissions,
overlaps) are trimmed; segments ahead of the next expected byte wait in a buffer bounded by
segment count and bytes. When the buffer would overflow, the gap in front of it is declared
unfillable (the capture lost those bytes: the endpoints have long moved on) and skipped: delivery
resumes at the earliest buffered segment, and :attr:`StreamDirection.gaps` counts the skip so the
caller can tell its dissector (Zeek's ``content_gap`` does the same). :meth:`StreamDirection.skip`
gives up the remaining holes one by one when the flow ends, so nothing buffered behind a lost
segment is lost. :meth:`StreamDirection.acked` gives a hole up as soon as the peer acknowledges past it
while bytes after it wait in the buffer: the receiver had those bytes and the capture did not (Zeek's
``TCP_Reassembler`` ``ack_above_hole``, tshark's "ACKed unseen segment"). :meth:`StreamDirection.pass_over` moves
past bytes the dissector will not read (dissect/base.py PASS_KEYS): segments wholly inside them are then old.
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

    __slots__ = ("gaps", "max_bytes", "max_segments", "next_seq", "pending", "pending_bytes")

    def __init__(self, start_seq: int, max_segments: int, max_bytes: int) -> None:
        self.next_seq = start_seq % SEQ_MOD
        self.pending: dict[int, tuple[bytes, T]] = {}  # seq -> (data, tag), ahead of next_seq
        self.pending_bytes = 0
        self.max_segments = max_segments
        self.max_bytes = max_bytes
        self.gaps = 0  # gaps skipped so far (bytes the capture never had)

    def push(self, seq: int, data: bytes, tag: T) -> list[tuple[bytes, T]]:
        """The newly contiguous runs after adding a segment (empty when it was old or early).

        When this push skipped a gap (:attr:`gaps` grew), every run returned comes after it.
        """
        if not data:
            return []
        ahead = (seq - self.next_seq) % SEQ_MOD  # seq_delta, inline: this runs once per segment
        if ahead >= HALF:
            ahead -= SEQ_MOD
        elif ahead == 0 and not self.pending:  # the common case: the next bytes, nothing waiting
            self.next_seq = (self.next_seq + len(data)) % SEQ_MOD
            return [(data, tag)]
        out: list[tuple[bytes, T]] = []
        if ahead > 0:
            if ahead >= HALF - len(data):
                return []
            held = self.pending.get(seq % SEQ_MOD)
            if held is not None and len(held[0]) >= len(data):
                return []  # retransmission of a buffered segment
            if held is not None:
                self.pending_bytes -= len(held[0])
            self.pending[seq % SEQ_MOD] = (data, tag)
            self.pending_bytes += len(data)
            if len(self.pending) > self.max_segments or self.pending_bytes > self.max_bytes:
                self._skip_gap()
                self._drain(out)
            return out
        if -ahead < len(data):  # something new after trimming what was already delivered
            fresh = data[-ahead:]
            out.append((fresh, tag))
            self.next_seq = (self.next_seq + len(fresh)) % SEQ_MOD
        self._drain(out)
        return out

    def skip(self) -> list[tuple[bytes, T]]:
        """Give up the hole before the earliest buffered segment (the flow ended, it will never fill):
        the runs that follow it, up to the next hole. Empty when nothing is buffered."""
        out: list[tuple[bytes, T]] = []
        if self.pending:
            self._skip_gap()
            self._drain(out)
        return out

    def acked(self, ack: int) -> list[tuple[bytes, T]]:
        """The peer's cumulative Acknowledgment Number ``ack`` (RFC 9293 §3.4: the next sequence number it
        expects, so it received every byte before it) covers the whole hole before the earliest buffered
        segment: the receiver had those bytes, the capture lost them, and they will not come now. Gives that
        hole up, counted in :attr:`gaps`, and returns the runs buffered after it, up to the next hole; call
        again while :attr:`gaps` grows (an ACK may cover several holes). No state is added.

        Not given up: a hole ``ack`` stops short of or inside (the peer acknowledges up to it, a keep-alive's
        or window probe's answer; bytes past ``ack`` may still come), and a hole with nothing buffered behind
        it: a capture may record a segment after the ACK that covers it (a SPAN port merging two directions'
        queues: ics_iti s7comm_clean.pcap frames 397-398), and that segment must still find its place. Such a
        hole waits for this direction's next bytes, as a FIN's sequence number (RFC 9293 §3.4) would."""
        if not self.pending:
            return []
        ahead = (ack - self.next_seq) % SEQ_MOD
        if ahead == 0 or ahead >= HALF:  # nothing unseen acknowledged
            return []
        first = min(self.pending, key=lambda s: seq_delta(s, self.next_seq))
        if seq_delta(first, ack) > 0:  # the ACK stops inside the hole
            return []
        out: list[tuple[bytes, T]] = []
        self._skip_gap()
        self._drain(out)
        return out

    def lose(self, count: int) -> list[tuple[bytes, T]]:
        """The ``count`` bytes at :attr:`next_seq` will never come (the capture's snap length cut them off
        the segment just delivered): skip them, counted in :attr:`gaps`; the runs buffered behind them that
        are now contiguous."""
        out: list[tuple[bytes, T]] = []
        if count > 0:
            self.next_seq = (self.next_seq + count) % SEQ_MOD
            self.gaps += 1
            self._drain(out)
        return out

    def pass_over(self, count: int) -> list[tuple[bytes, T]]:
        """The ``count`` bytes at :attr:`next_seq` (``0 < count < 2**31``) will not be read (dissect/base.py
        PASS_KEYS): delivery moves past them at once, with no gap (a hole among them costs nothing, nothing was to be
        read there), so a segment wholly inside them, whenever it comes, is old, and one straddling their end gives
        its tail. Buffered segments inside them are dropped; returns the runs buffered after them now contiguous."""
        self.next_seq = (self.next_seq + count) % SEQ_MOD
        out: list[tuple[bytes, T]] = []
        if self.pending:
            self._drain(out)
        return out

    def _skip_gap(self) -> None:
        """Resume delivery at the earliest buffered segment; the bytes before it are lost."""
        self.next_seq = min(self.pending, key=lambda s: seq_delta(s, self.next_seq))
        self.gaps += 1

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
