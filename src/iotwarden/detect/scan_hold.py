"""Small sweeps' scan detections held until their targets show a monitoring cadence or ``hold_s`` passes.

A monitoring system's first cycles over the hosts that are down look like a sweep: nothing tells them apart until
the same targets come round again at a steady cadence (detect/scan_probe.steady, three probes). A sweep that failed on
fewer than ``max_held_hosts`` targets waits: dropped when enough of its targets turn out watched (what is left of
it reaches no scan), raised as it was found (its time, counts and evidence) once ``hold_s`` of traffic time passed,
at the end of input, or at once when it grows past ``max_held_hosts`` failed targets (a worm or a scanner of a /24
does within seconds). Targets whose connection completed and was then reset (detect/scan_probe.health_check: a load
balancer's check, or an open port of a connect scan) count towards the scan but not towards that size.

Records need not come in time order (an older file of a growing folder read after a newer one, a Zeek log written
late): held sweeps are due in the order of their first detection's time, not of their holding, so an older batch's
sweep is raised at its own batch's flows or tick once ``hold_s`` past it, not after the newer sweeps held before it;
a time earlier than a sweep's raises nothing of it, a detection read late moves its sweep's time back, and each held
detection is returned once (raised, or dropped with its sweep).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from math import inf

from iotwarden.model.alert import Alert

MAX_HELD_DETECTIONS = 32  # detections held per sweep (one a window_s); past it the sweep is raised
# the due-order heap keeps entries of sweeps gone or moved back until they reach its top; past this many more than
# the sweeps held (and twice their number) it is rebuilt from the sweeps held
HEAP_SLACK = 64


@dataclass(slots=True)
class Held:
    """One source's held sweep of one port (detect/scan_state.TELNET for 23/2323, scan_state.ICMP for pings)."""

    key: tuple[str, int]  # (source, port)
    owner: dict[int, Held]  # the source's table of held sweeps (detect/scan_state.Probes.held), by port
    since: float  # traffic time of its first held detection
    need: int  # targets that make the scan (min_hosts, min_telnet_hosts)
    targets: set[str]  # its targets not seen watched yet
    failed: set[str]  # its targets that failed (no completed connection): its size
    raises: list[Alert] = field(default_factory=list)


class Holds:
    """The held sweeps of every source, due in the order of their first detection's time (a heap: records read out
    of time order hold an older sweep after newer ones). A held sweep whose source left the source table is still
    raised when it expires: holding never loses a scan."""

    def __init__(self, hold_s: float, max_held_hosts: int, max_targets: int, max_sources: int) -> None:
        self.hold_s, self.max_held_hosts = hold_s, max_held_hosts
        self.max_targets, self.max_sources = max_targets, max_sources
        self._held: dict[tuple[str, int], Held] = {}
        self._order: list[tuple[float, int, Held]] = []  # (since, sequence, sweep), a heap; stale entries skipped
        self._seq = 0
        self.dropped = 0  # sweeps dropped as monitoring (their targets watched)
        self.next_due = inf  # traffic time at which the first held sweep is due (a compare per flow, not a call)

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, owner: dict[int, Held], src: str, port: int, *, ts: float, need: int, targets: set[str],
             failed: set[str], alert: Alert) -> list[Alert]:
        """A sweep's detection (an Alert built, not yet in ``ctx.alerts``), due now: held (returns nothing) when the
        sweep is small or already held, else returned to be raised after whatever its sweep held. ``owner`` is the
        source's own table of held sweeps."""
        held = owner.get(port)
        out: list[Alert] = []
        if held is None:
            if len(failed) >= self.max_held_hosts:
                return [alert]
            orphan = self._held.get((src, port))  # held while the source left the source table
            if orphan is not None:
                out = self._pop(orphan)
            held = owner[port] = self._held[(src, port)] = Held((src, port), owner, ts, need, targets, failed)
            self._push(held)
            if len(self._held) > self.max_sources:  # a bound on memory: the oldest is raised, never lost
                first = self._first()
                if first is not None:
                    out += self._pop(first)
        elif ts < held.since:  # a detection read late (an older batch): its sweep is due from it
            held.since = ts
            self._push(held)
        held.raises.append(alert)
        if held.key in self._held and len(held.raises) >= MAX_HELD_DETECTIONS:
            out += self._pop(held)
        return out

    def grow(self, held: Held, host: str, *, failed: bool) -> list[Alert]:
        """A new probe of a held sweep: raised when its failed targets reach ``max_held_hosts`` (or its targets
        ``max_targets``, the bound on a held sweep)."""
        held.targets.add(host)
        if failed:
            held.failed.add(host)
        if len(held.failed) >= self.max_held_hosts or len(held.targets) > self.max_targets:
            return self._pop(held)
        return []

    def watched(self, held: Held, host: str) -> None:
        """A held sweep's target probed at a steady cadence: the sweep is dropped once what is left of it is no
        scan (fewer than ``need`` targets not watched)."""
        held.targets.discard(host)
        held.failed.discard(host)
        if len(held.targets) < held.need:
            self._pop(held)
            self.dropped += 1

    def due(self, now: float) -> list[Alert]:
        """The detections of the sweeps held ``hold_s`` or longer at traffic time ``now``."""
        out: list[Alert] = []
        while (held := self._first()) is not None and now - held.since >= self.hold_s:
            out += self._pop(held)
        return out

    def all(self) -> list[Alert]:
        """Every held detection (the end of input: no cadence can show any more)."""
        out: list[Alert] = []
        while (held := self._first()) is not None:
            out += self._pop(held)
        return out

    def _pop(self, held: Held) -> list[Alert]:
        """The sweep leaves both tables; its detections are returned (to be raised, or dropped by the caller)."""
        del self._held[held.key]
        if held.owner.get(held.key[1]) is held:
            del held.owner[held.key[1]]
        self._first()
        return held.raises

    def _push(self, held: Held) -> None:
        """Enter ``held`` at its time in the due order (an entry it had before goes stale)."""
        self._seq += 1
        heapq.heappush(self._order, (held.since, self._seq, held))
        if len(self._order) > 2 * len(self._held) + HEAP_SLACK:
            self._order = [(h.since, self._seq + i, h) for i, h in enumerate(self._held.values(), 1)]
            self._seq += len(self._order)
            heapq.heapify(self._order)
        self._first()

    def _first(self) -> Held | None:
        """The held sweep due first (stale entries on top dropped), ``next_due`` set from it."""
        order = self._order
        while order:
            since, _, held = order[0]
            if self._held.get(held.key) is held and held.since == since:
                self.next_due = since + self.hold_s
                return held
            heapq.heappop(order)
        self.next_due = inf
        return None
