"""Zeek logs followed as Zeek writes them: one reader per watched folder, kept across the monitor's polls.

``read_zeek`` reads a finished folder: each log put back in time order, the logs merged, conn.log's MACs and
VLAN joined by ``uid`` onto the other logs' records and x509.log certificates onto their ssl.log chains. A
folder Zeek is still writing into is read a few lines at a time, in write order: a conn.log line comes when
its connection is removed, after the dns/http/ssl records of that connection. :class:`ZeekFollower` keeps one
``Joiner`` for the whole run and one time-ordered buffer for all the folder's logs together; each poll hands it the
new whole lines of every log (:meth:`ZeekFollower.read`, several files read side by side in time order) and it
releases records in (ts, merge priority) order, as ``read_zeek`` merges them, once the newest conn.log ts read
is :data:`~iotwarden.sources.zeek_order.REORDER_WINDOW_S` past their own, or once held :data:`HOLD_WALL_S` of
wall time (a quiet network, or no conn.log, never holds a record longer), or past :data:`MAX_HELD_RECORDS`
(the oldest first). Every conn.log line's MACs are remembered by uid when it is read (``MAX_LATE_UIDS``), not
only when released, so a record released before its connection's line (a long session) is still stamped when
that line has been read. When a folder's conn.log carries link-layer columns, the Observations of a record
whose connection's line has not been read yet wait for it (:data:`MAX_UNJOINED_UIDS` connections, at most
:data:`UNJOINED_WAIT_S` of log time past the newest conn.log ts or of wall time) and go on stamped when it
comes, unstamped when they wait too long: an Observation reaches the analyzers at most ``HOLD_WALL_S +
UNJOINED_WAIT_S`` of wall time after it was read, a Flow at most ``HOLD_WALL_S``. A record whose connection's
line has not come need not wait when both its addresses were seen, each with one MAC and VLAN, on conn.log lines
within :data:`ADDRESS_SPAN_S` before and after its ts, with no other MAC (nor a DHCP ack giving the address to
another MAC) within that span (:class:`AddressHolders`): its join is complete, and it goes on stamped, in its place
in time. A ``patient`` read (one last pass over logs that are complete: ``monitor --once``) waits on neither clock,
only within the count limits, and stamps nothing from addresses (every line there is gets read, the record's own
too); :meth:`ZeekFollower.release` with ``end`` empties every buffer (the monitor's end).
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from bisect import bisect_left, insort
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from iotwarden.errors import ParseError
from iotwarden.model import Flow, Observation
from iotwarden.sources import zeek, zeek_connflow, zeek_join, zeek_order
from iotwarden.sources.base import RecordBatch
from iotwarden.sources.zeek_fields import get_ip, get_str

# Wall seconds a record is held at most: a record Zeek wrote now is preceded, within the reorder window, only
# by records Zeek writes within that window (the longest removal timer and a minute), so waiting as long puts
# it in order on a live sensor; on a quiet network (conn.log's newest ts standing still) or in a folder with
# no conn.log, it goes on at the latest then.
HOLD_WALL_S = zeek_order.REORDER_WINDOW_S
# Records held for ordering, all logs of a folder together; past it the oldest go on early.
MAX_HELD_RECORDS = zeek_order.MAX_REORDER_RECORDS
# Connections whose Observations wait for their conn.log line (a session logged at its end); past it the
# longest waiting go on without MACs.
MAX_UNJOINED_UIDS = 16384
# How long (seconds of log time past the newest conn.log ts, or of wall time) Observations wait for their
# connection's conn.log line before they go on without MACs: a session longer than this is named by its
# other connections' records.
UNJOINED_WAIT_S = 3600.0
# Records read between two releases within one read (alerts come while a large backlog is read).
RELEASE_EVERY = 10000
# How close in ts (either side) conn.log lines must show an address with its MAC for a record whose own
# connection's line has not come to be stamped from them: seen before and after the record, with one MAC and
# VLAN and no DHCP ack to another MAC within the span. A DHCP lease changing hands between two sightings of the
# same holder within five minutes, unseen, is what it cannot tell; anything seen goes the safe way (wait).
ADDRESS_SPAN_S = 300.0
# Sightings are kept per address and holder in buckets of this many seconds of ts (one per bucket however busy
# the address), as long as a record can still be released against them: the reorder window and a span either side.
HOLDER_BUCKET_S = 10.0
# Addresses remembered (least recently seen forgotten first), and holders (MAC, VLAN) per address; an address
# seen with more holders than that is one with several anyway (a router's proxy ARP, a NAT), never decided.
MAX_ADDRESSES = 65536
MAX_HOLDERS = 8

_Key = tuple[float, int, int]  # ts, merge priority, read order
_Holder = tuple[str, int | None]  # MAC, VLAN


class AddressHolders:
    """Which MAC (and VLAN) each address had around a time: from conn.log lines as they are read (both ends of
    each), vetoed by DHCP acks (dhcp.log ``assigned_addr`` to ``mac``, RFC 2131 §4.3.1) naming another MAC."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, dict[_Holder, list[int]]] = OrderedDict()  # address -> holder -> buckets
        self._acks: OrderedDict[str, dict[str, list[int]]] = OrderedDict()  # address -> MAC acked -> buckets
        self._newest = -math.inf  # the newest ts seen: buckets older than a span behind what may be asked go

    def saw(self, ip: str | None, mac: str | None, vlan: int | None, ts: float) -> None:
        """A conn.log line showed ``ip`` with ``mac`` on ``vlan`` at ``ts``."""
        if ip is not None and mac is not None:
            self._add(self._seen, ip, (mac, vlan), ts)

    def acked(self, ip: str | None, mac: str | None, ts: float) -> None:
        """A DHCP server gave ``ip`` to ``mac`` at ``ts``."""
        if ip is not None and mac is not None:
            self._add(self._acks, ip, mac, ts)

    def _add(self, table: OrderedDict[str, dict[Any, list[int]]], ip: str, holder: Any, ts: float) -> None:
        self._newest = max(self._newest, ts)
        oldest = _bucket(self._newest - zeek_order.REORDER_WINDOW_S - 2 * ADDRESS_SPAN_S)
        bucket = _bucket(ts)
        if bucket < oldest:  # a long session's line: older than any record still to be decided
            return
        holders = table.get(ip)
        if holders is None:
            holders = table[ip] = {}
            if len(table) > MAX_ADDRESSES:
                table.popitem(last=False)
        else:
            table.move_to_end(ip)
        buckets = holders.get(holder)
        if buckets is None:
            if len(holders) >= MAX_HOLDERS:  # the one seen least lately makes room
                del holders[min(holders, key=lambda h: holders[h][-1] if holders[h] else -(2**62))]
            buckets = holders[holder] = []
        at = bisect_left(buckets, bucket)
        if at == len(buckets) or buckets[at] != bucket:
            insort(buckets, bucket)
        if buckets[0] < oldest:
            del buckets[:bisect_left(buckets, oldest)]

    def holder(self, ip: str | None, ts: float) -> _Holder | None:
        """The one MAC and VLAN ``ip`` was seen with before and after ``ts`` within :data:`ADDRESS_SPAN_S`, no
        other holder and no DHCP ack to another MAC within the span; None when that is not so."""
        if ip is None:
            return None
        low, at, high = _bucket(ts - ADDRESS_SPAN_S), _bucket(ts), _bucket(ts + ADDRESS_SPAN_S)
        found = [(h, b) for h, b in self._seen.get(ip, {}).items() if _within(b, low, high)]
        if len(found) != 1:
            return None
        holder, buckets = found[0]
        if not (_within(buckets, low, at) and _within(buckets, at, high)):
            return None
        if any(mac != holder[0] and _within(b, low, high) for mac, b in self._acks.get(ip, {}).items()):
            return None
        return holder

    def stamp(self, observations: list[Observation]) -> bool:
        """Stamp every one of ``observations`` with its addresses' MACs and VLAN (as ``zeek_join.Joiner`` stamps a
        conn.log line's) when each address has a :meth:`holder` at its ts and both ends share a VLAN; False,
        with nothing changed, when any has not."""
        links = []
        for obs in observations:
            src, dst = self.holder(obs.src_ip, obs.ts), self.holder(obs.dst_ip, obs.ts)
            if src is None or dst is None or src[1] != dst[1]:
                return False
            links.append((src, dst))
        for obs, (src, dst) in zip(observations, links, strict=True):
            obs.src_mac = obs.src_mac or src[0]
            obs.dst_mac = obs.dst_mac or dst[0]
            obs.vlan = src[1]
        return True

    def __len__(self) -> int:
        """Addresses remembered."""
        return len(self._seen)


def _bucket(ts: float) -> int:
    return math.floor(ts / HOLDER_BUCKET_S) if math.isfinite(ts) else -(2**62)


def _within(buckets: list[int], low: int, high: int) -> bool:
    """Whether sorted ``buckets`` hold one from ``low`` to ``high``."""
    at = bisect_left(buckets, low)
    return at < len(buckets) and buckets[at] <= high


@dataclass(slots=True)
class _Unjoined:
    ts: float  # the first waiting record's ts
    since: float  # wall time it began waiting
    observations: list[Observation] = field(default_factory=list)


class ZeekFollower:
    """The records of one folder's Zeek logs, read a poll at a time, released in time order and joined."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, batch_size: int = 10000) -> None:
        self.clock, self.batch_size = clock, batch_size
        self.joiner = zeek_join.Joiner(zeek_join.Lru(zeek.MAX_LATE_UIDS))  # late: every conn.log line's link, as read
        self._held: list[tuple[float, int, int, str, dict[str, Any] | Flow]] = []  # a heap by _Key
        self._marks: deque[tuple[float, _Key]] = deque()  # (wall time read, the newest key then held)
        self._order = itertools.count()
        self.conn_high = -math.inf  # the newest conn.log ts read
        self.linked = False  # a conn.log line with MACs or VLAN was read: records wait for theirs
        self.unjoined: OrderedDict[str, _Unjoined] = OrderedDict()
        self._joined: list[Observation] = []  # waited, and their conn.log line came: to go on
        self.holders = AddressHolders()  # each address's MAC around a time, for records whose line is late
        self._records = self._skipped = 0  # lines read, and malformed ones, not yet reported in a batch

    def __len__(self) -> int:
        """Records held for ordering."""
        return len(self._held)

    def read(self, streams: Iterable[Iterator[zeek._Item]], *, patient: bool = False) -> Iterator[RecordBatch]:
        """Take the items of ``streams`` (each one file's new lines: :func:`zeek._file_items`), read side by
        side in ts order so a large backlog is joined as ``read_zeek`` joins it; released batches come as
        they are ready. ``patient``: everything is there to read (one last pass): no wall-clock release."""
        merged = heapq.merge(*streams, key=lambda item: item[0])
        while chunk := list(itertools.islice(merged, RELEASE_EVERY)):
            self.add(chunk)
            yield from self.release(patient=patient)

    def add(self, items: Iterable[zeek._Item]) -> None:
        """Hold ``items`` (ts, priority, log type, record or None when malformed) for ordering."""
        newest: _Key | None = None
        for ts, priority, log_type, record in items:
            self._records += 1
            if record is None:
                self._skipped += 1
                continue
            if log_type == "dhcp" and isinstance(record, dict):
                self._dhcp_read(ts, record)
            if log_type == "conn":
                try:
                    record = record if isinstance(record, Flow) else zeek_connflow.map_conn(record)
                except ParseError:
                    self._skipped += 1
                    continue
                self._conn_read(ts, record)
            key = (ts, priority, next(self._order))
            heapq.heappush(self._held, (*key, log_type, record))
            if newest is None or key > newest:
                newest = key
        if newest is not None:
            self._marks.append((self.clock(), newest))

    def _dhcp_read(self, ts: float, record: dict[str, Any]) -> None:
        """A dhcp.log line read: the address it gave and to which MAC (Zeek >= 3 ``assigned_addr``, before
        ``assigned_ip``), for :class:`AddressHolders` to refuse a record near a lease changing hands."""
        try:
            ip = get_ip(record, "assigned_addr") or get_ip(record, "assigned_ip")
        except ParseError:
            return
        mac = get_str(record, "mac")
        self.holders.acked(ip, mac.lower() if mac else None, ts)

    def _conn_read(self, ts: float, flow: Flow) -> None:
        """A conn.log line read: its link remembered for the records released before it, theirs let go."""
        self.conn_high = max(self.conn_high, ts)
        vlan = flow.vlan or None
        self.holders.saw(flow.a_ip, flow.a_mac, vlan, ts)
        self.holders.saw(flow.b_ip, flow.b_mac, vlan, ts)
        uid, link = zeek_join.link_of(flow)
        if uid is None or link is None:
            uid = flow.extra.get("uid")
            waiting = self.unjoined.pop(uid, None) if isinstance(uid, str) else None
            if waiting is not None:  # no MACs to give them
                self._joined += waiting.observations
            return
        self.linked = True
        assert self.joiner.late is not None
        self.joiner.late.put(uid, link)
        waiting = self.unjoined.pop(uid, None)
        if waiting is not None:
            self._joined += self.joiner._stamp(waiting.observations, uid)

    def release(self, *, end: bool = False, patient: bool = False) -> Iterator[RecordBatch]:
        """The records now past the reorder window (or held :data:`HOLD_WALL_S`, or past
        :data:`MAX_HELD_RECORDS`) as batches in time order; ``end``: everything held, the joiner's
        certificate chains still incomplete and the Observations still waiting for their conn.log line."""
        now = self.clock()
        mark = self.conn_high - zeek_order.REORDER_WINDOW_S
        due: _Key | None = None  # held since HOLD_WALL_S: released up to the newest key held then
        while self._marks and (end or (not patient and self._marks[0][0] <= now - HOLD_WALL_S)):
            key = self._marks.popleft()[1]
            due = key if due is None or key > due else due
        batch = RecordBatch(observations=self._joined)
        self._joined = []
        last_ts: float | None = None
        held = self._held
        while held and (end or held[0][0] <= mark or len(held) > MAX_HELD_RECORDS
                        or (due is not None and held[0][:3] <= due)):
            ts, _, _, log_type, record = heapq.heappop(held)
            self._emit(batch, ts, log_type, record, now, guess=not (patient or end))
            last_ts = ts if last_ts is None or ts > last_ts else last_ts
            if len(batch.observations) + len(batch.flows) >= self.batch_size:
                yield self._finish(batch, last_ts)
                batch, last_ts = RecordBatch(), None
        while self._marks and held and self._marks[0][1] < held[0][:3]:  # every record of it released
            self._marks.popleft()
        if not held:
            self._marks.clear()
        self._expire(batch, now, end=end, patient=patient)
        if end:
            batch.observations += self.joiner.flush()
            self.joiner.chains = zeek_join.Lru(zeek_join.MAX_TRACKED_CERTS)
            self.joiner.waiting = zeek_join.Lru(zeek_join.MAX_TRACKED_CERTS)
        if batch.observations or batch.flows or self._records:
            yield self._finish(batch, last_ts)

    def _emit(self, batch: RecordBatch, ts: float, log_type: str, record: dict[str, Any] | Flow, now: float, *,
              guess: bool) -> None:
        """``record`` mapped into ``batch``, or its Observations set waiting for their conn.log line; ``guess``:
        stamped from :class:`AddressHolders` rather than wait (a live read: the line may be an hour away; a
        patient one reads every line there is, so waits for the record's own)."""
        if isinstance(record, Flow):
            batch.flows.append(self.joiner.conn(record))
            return
        uid = record.get("uid")
        try:
            observations, flows = self.joiner.map(log_type, record)
        except ParseError:
            self._skipped += 1
            return
        batch.flows += flows
        if observations and self.linked and isinstance(uid, str) and log_type != "x509" and not self._known(uid):
            waiting = self.unjoined.get(uid)
            if waiting is None and guess and self.holders.stamp(observations):  # both addresses known around it
                batch.observations += observations
                return
            if waiting is None:
                waiting = self.unjoined[uid] = _Unjoined(ts, now)
            waiting.observations += observations
            return
        batch.observations += observations

    def _known(self, uid: str) -> bool:
        """Whether connection ``uid``'s conn.log line has been read (its link remembered)."""
        late = self.joiner.late
        return self.joiner.links.get(uid) is not None or (late is not None and late.get(uid) is not None)

    def _expire(self, batch: RecordBatch, now: float, *, end: bool, patient: bool) -> None:
        """Observations that waited too long for their conn.log line go on without MACs."""
        waiting = self.unjoined
        while waiting:
            uid, first = next(iter(waiting.items()))
            if not (end or len(waiting) > MAX_UNJOINED_UIDS
                    or (not patient and (self.conn_high - first.ts > UNJOINED_WAIT_S
                                         or now - first.since >= UNJOINED_WAIT_S))):
                break
            del waiting[uid]
            batch.observations += first.observations

    def _finish(self, batch: RecordBatch, last_ts: float | None) -> RecordBatch:
        batch.records, batch.skipped = self._records, self._skipped
        self._records = self._skipped = 0
        batch.last_ts = last_ts
        return batch
