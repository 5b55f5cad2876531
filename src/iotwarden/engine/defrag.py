"""The IP reassembly table: the pieces of each fragmented datagram, held by key until they cover it, within a timeout
and bounded tables (RFC 791 §3.2 and RFC 815 for IPv4, RFC 8200 §4.5 for IPv6, RFC 5722 for overlaps); what it gives
back is the whole payload, which :mod:`~iotwarden.engine.fragments` rebuilds behind its first fragment's headers.

Pieces that came before their datagram's first may wait in the table (what only the first tells, as whether a UDP
datagram is a tunnel's, is not known yet) until the first claims them or they are handed back.

A datagram completed is remembered within the timeout by a digest of each of its pieces: a copy of one of them (a
mirror's duplicate frame) is no new datagram, while a piece that is no copy (other bytes, offset or end) is another
datagram reusing the identification (RFC 4963's wraparound, stacks sending every datagram with ID 0). Copies of every
piece completed more than COPY_WINDOW_S after it are the datagram sent again (a retransmission reusing the
identification), read again as a host reads it; a mirror's copies come within microseconds and are read once.
"""

from __future__ import annotations

from array import array
from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

# a datagram whose pieces have not all come this long after its first is dropped: RFC 791 §3.2 suggests an initial
# timer of 15 s, RFC 8200 §4.5 gives 60 s; Linux's default (net.ipv4.ipfrag_time, ip6frag_time) is 30 s, which a
# sensor beside Linux hosts matches: what the host dropped is not read
FRAGMENT_TIMEOUT_S = 30.0
# datagrams held at once; past it the oldest is dropped ("table_full")
MAX_DATAGRAMS = 1024
# payload bytes held over every datagram (Linux's ipfrag_high_thresh is 4 MiB); past it the oldest go
MAX_BYTES = 4 * 1024 * 1024
# pieces held per datagram (an attacker's 8-byte pieces would otherwise cost a dict entry each); past it dropped
MAX_PIECES = 128
# a reassembled IP packet may not exceed what an IPv4 total length (RFC 791 §3.1) or an IPv6 payload length
# (RFC 8200 §3) can announce: past it the datagram is dropped ("too_big", the ping of death)
MAX_PACKET = 65535

# why a datagram was given up (Reassembler.dropped): overlapping pieces with different bytes (RFC 5722 §4 for IPv6;
# for IPv4 too: which bytes the host kept cannot be known, the evasion of Ptacek and Newsham 1998), more than one
# end or a piece past the end, a non-final piece not a multiple of 8 bytes (RFC 8200 §4.5; RFC 791 §3.2's offsets
# count 8-byte units), too big, too many pieces, timed out, pushed out of a full table, unfinished at the end
DROP_REASONS = ("overlap_conflict", "bad_end", "bad_length", "too_big", "too_many_pieces", "timeout", "table_full",
                "unfinished")
# copies of a completed datagram's pieces that complete a datagram of their own within this long after it are a
# mirror's duplicates (a SPAN session copying a frame at its ingress and its egress port: microseconds apart), read
# once; later they are the datagram sent again with the same identification (an application's retransmission: TCP's
# smallest timer is 200 ms, Linux TCP_RTO_MIN; SIP's T1 500 ms, RFC 3261 §17.1.1.1; CoAP's 2 s, RFC 7252 §4.8), read
# again as the host reads it (Linux frees a completed queue, so the next pieces under its key make a new one; tshark
# reassembles it again too)
COPY_WINDOW_S = 0.1
# the reasons no piece gives: a datagram of copies only (see Reassembler.add) given up for them was none
PASSIVE = ("timeout", "table_full", "unfinished")

@dataclass(slots=True)
class _Datagram:
    first_ts: float
    pieces: dict[int, bytes] = field(default_factory=dict)  # offset in bytes -> the piece's data
    held: int = 0  # bytes in pieces
    end: int | None = None  # the payload's length, once the last piece (no more fragments) came
    head: Any = None  # what the caller keeps of the first piece (offset 0): the headers the datagram is rebuilt with
    limit: int = MAX_PACKET  # the payload's largest length (what the headers leave of MAX_PACKET)
    waiting: list[Any] = field(default_factory=list)  # what the caller keeps of pieces before the first (add's wait)
    wait_bytes: int = 0  # bytes of them counted in held beyond their payload
    # begun after a datagram under its key completed: the offsets of pieces that are copies of that one's (-> their
    # more flag); None for any other datagram
    copies: dict[int, bool] | None = None
    also: list[int] | None = None  # digests of shorter copies of its pieces, ignored (at most MAX_PIECES)


@dataclass(slots=True)
class _Done:
    """A datagram completed within the timeout: when its first piece came and when it completed, its head, its
    pieces' digests."""

    first_ts: float
    done_ts: float
    head: Any
    digests: array[int]  # _digest of each piece it held (at most MAX_PIECES, and the shorter copies it ignored)


class Reassembler:
    """Datagrams being put back together, by key. :meth:`add` returns the whole payload (what follows the IP or
    fragment header) and the first piece's ``head`` when a piece completes one, else None; :attr:`dropped` counts
    the datagrams given up by reason, :attr:`heads_lost` those of them whose first piece had come.

    A piece that came before its datagram's first may be kept ``wait``-ing (what only the first piece tells, as
    whether a UDP datagram is a tunnel's, is not known yet): the first piece ``claim``-s what waited, or it is handed
    back in :attr:`released`, as it is when the datagram is dropped first; the caller takes :attr:`released` away."""

    def __init__(self, timeout: float = FRAGMENT_TIMEOUT_S, max_datagrams: int = MAX_DATAGRAMS,
                 max_bytes: int = MAX_BYTES) -> None:
        self.timeout = timeout
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.held = 0  # bytes over every datagram
        self.dropped: Counter[str] = Counter()
        self.heads_lost = 0
        # copies of a fragment of a datagram completed within the timeout before them: read no more, unless every piece
        # came again past COPY_WINDOW_S (the datagram sent again)
        self.late = 0
        self.released: list[Any] = []  # what waited for a first piece that did not claim it, or that never came
        self.calls = 0  # batches handed (fragments.reassemble): what waited since the current one is in its batch
        self._datagrams: OrderedDict[Hashable, _Datagram] = OrderedDict()  # oldest first
        # datagrams completed within the timeout (at most max_datagrams), so a copy of a fragment after them (a
        # mirror port's duplicate frame) is not the start of another datagram, as Wireshark's reassembly tables
        # keep a datagram reassembled (epan/reassemble.c); with its first piece's head (its headers, a few dozen
        # bytes) and its pieces' digests (8 bytes each), which tell a copy from a piece of another datagram
        # reusing the identification
        self._done: OrderedDict[Hashable, _Done] = OrderedDict()

    def __len__(self) -> int:
        return len(self._datagrams)

    def head(self, key: Hashable) -> Any:
        """What the caller kept of datagram ``key``'s first piece (held, or completed within the timeout), None while
        it has not come."""
        dg = self._datagrams.get(key)
        if dg is not None and (dg.head is not None or dg.copies is None):
            return dg.head
        done = self._done.get(key)
        return None if done is None else done.head

    def add(self, ts: float, key: Hashable, offset: int, more: bool, data: bytes, *, head: Any = None,
            limit: int = MAX_PACKET, wait: Any = None, wait_bytes: int = 0, claim: bool = False) -> tuple[bytes,
                                                                                                         Any] | None:
        """One fragment of datagram ``key``: its payload ``data`` at byte ``offset``, ``more`` fragments after it;
        ``head`` is kept from the first fragment (offset 0), ``limit`` is the most the payload may hold. ``wait``
        (``wait_bytes`` long beyond the payload, counted against max_bytes) is kept while the first has not come;
        the first piece ``claim``-s what waited (forgotten), else it is released.

        After a datagram under ``key`` completed, every piece of it begins or joins the next datagram under it, as a
        host's reassembly that keeps no memory of it would (Linux frees the queue); one made of copies of the
        completed one's pieces only (a mirror's duplicate frames) is not read again if it completes within
        COPY_WINDOW_S of it (later: the datagram sent again, read) and, given up for time or room, is not counted. A
        piece that is no copy (other bytes, offset or end) makes it another datagram reusing the identification; its
        pieces must agree as any datagram's (RFC 5722), copies that may be its own included."""
        self.expire(ts)
        past = self._done.get(key)
        dg = self._datagrams.get(key)
        copy = False
        if past is not None:
            copy = _digest(offset, more, data) in past.digests
            self.late += copy
            if wait is not None:
                self.released.append(wait)
                wait = None
            if dg is None:
                dg = self._datagrams[key] = _Datagram(ts, copies={})
        if dg is None:
            dg = self._datagrams[key] = _Datagram(ts)
        if wait is not None:
            if dg.head is None:  # at most MAX_PIECES wait (copies of one piece included)
                dg.waiting.append(wait)
                dg.wait_bytes += wait_bytes
                dg.held += wait_bytes
                self.held += wait_bytes
                if len(dg.waiting) > MAX_PIECES:
                    self._drop(key, "too_many_pieces")
                    return None
            else:
                self.released.append(wait)
        if offset == 0 and dg.head is None:
            dg.head, dg.limit = head, limit
            if not claim:
                self.released.extend(dg.waiting)
            dg.held -= dg.wait_bytes
            self.held -= dg.wait_bytes
            dg.waiting, dg.wait_bytes = [], 0
        reason = _check(dg, offset, more, data)
        if reason is not None:
            self._drop(key, reason)
            return None
        previous = dg.pieces.get(offset, b"")
        if len(previous) >= len(data):  # a duplicate (its bytes checked), or empty: nothing new, not complete now
            if len(previous) > len(data) > 0 and (dg.also is None or len(dg.also) < MAX_PIECES):
                # a shorter copy: a copy of it after the datagram completed is a copy too
                dg.also = [*(dg.also or ()), _digest(offset, more, data)]
            if dg.copies is not None and not dg.pieces and dg.head is None:
                self._forget(key)  # begun by nothing
            self._bound()
            return None
        dg.pieces[offset] = data
        if dg.copies is not None:
            if copy:
                dg.copies[offset] = more
            else:
                dg.copies.pop(offset, None)
        grown = len(data) - len(previous)
        dg.held += grown
        self.held += grown
        if not more:
            dg.end = offset + len(data)
        done = self._complete(ts, key, dg)
        if done is None:
            self._bound()
        return done

    def oldest(self) -> float | None:
        """When the oldest datagram held had its first piece (None: none held), which the timeout counts from."""
        return next(iter(self._datagrams.values())).first_ts if self._datagrams else None

    def expire(self, now: float) -> int:
        """Drop the datagrams whose first piece came more than the timeout before ``now``; how many."""
        gone = 0
        while self._done and now - next(iter(self._done.values())).first_ts > self.timeout:
            self._done.popitem(last=False)
        while self._datagrams:
            key, dg = next(iter(self._datagrams.items()))
            if now - dg.first_ts <= self.timeout:
                break
            self._drop(key, "timeout")
            gone += 1
        return gone

    def flush(self) -> None:
        """End of input: every datagram still held is given up (``unfinished``)."""
        while self._datagrams:
            self._drop(next(iter(self._datagrams)), "unfinished")

    def _complete(self, ts: float, key: Hashable, dg: _Datagram) -> tuple[bytes, Any] | None:
        if dg.end is None or dg.head is None:
            return None
        reach = 0
        order = sorted(dg.pieces)
        for offset in order:  # covered from 0 to the end without a hole?
            if offset > reach:
                return None
            reach = max(reach, offset + len(dg.pieces[offset]))
        if reach < dg.end:
            return None
        if dg.end > dg.limit:
            self._drop(key, "too_big")
            return None
        if dg.copies is not None and len(dg.copies) == len(dg.pieces):  # copies of the datagram completed
            past = self._done.get(key)
            if past is not None and ts - past.done_ts <= COPY_WINDOW_S:  # a mirror's: read once
                self._forget(key)
                return None
        out = bytearray(dg.end)
        for offset in order:
            piece = dg.pieces[offset]
            out[offset : offset + len(piece)] = piece
        self._forget(key)
        self._done.pop(key, None)  # the newest last
        self._done[key] = _Done(dg.first_ts, ts, dg.head, array("q", [
            *(_digest(o, o + len(p) < dg.end, p) for o, p in dg.pieces.items()), *(dg.also or ())]))
        if len(self._done) > self.max_datagrams:
            self._done.popitem(last=False)
        return bytes(out), dg.head

    def _bound(self) -> None:
        while self._datagrams and (len(self._datagrams) > self.max_datagrams or self.held > self.max_bytes):
            self._drop(next(iter(self._datagrams)), "table_full")

    def _drop(self, key: Hashable, reason: str) -> None:
        dg = self._datagrams.get(key)
        if dg is not None and dg.copies is not None and len(dg.copies) == len(dg.pieces) and reason in PASSIVE:
            self._forget(key)  # copies of a datagram read already (or nothing yet): no datagram given up
            return
        self.dropped[reason] += 1
        if dg is not None and dg.head is not None:
            self.heads_lost += 1
        if dg is not None:
            self.released.extend(dg.waiting)  # their first never came: nothing claims them
        self._forget(key)

    def _forget(self, key: Hashable) -> None:
        dg = self._datagrams.pop(key, None)
        if dg is not None:
            self.held -= dg.held


def _digest(offset: int, more: bool, data: bytes) -> int:
    """What tells a piece from another: its offset, end flag and bytes (Python's keyed 64-bit hash, PEP 456)."""
    return hash((offset, more, data))


def _check(dg: _Datagram, offset: int, more: bool, data: bytes) -> str | None:
    """Why this piece makes the datagram unusable, or None (RFC 8200 §4.5, RFC 5722 §4)."""
    end = offset + len(data)
    if more and len(data) % 8:
        return "bad_length"
    if end > MAX_PACKET:
        return "too_big"
    if dg.end is not None and (end > dg.end or (not more and end != dg.end)):
        return "bad_end"
    if not more and any(o + len(p) > end for o, p in dg.pieces.items()):
        return "bad_end"
    if offset not in dg.pieces and len(dg.pieces) >= MAX_PIECES:
        return "too_many_pieces"
    for o, p in dg.pieces.items():  # the bytes two pieces both hold must agree
        lo, hi = max(o, offset), min(o + len(p), end)
        if lo < hi and p[lo - o : hi - o] != data[lo - offset : hi - offset]:
            return "overlap_conflict"
    return None
