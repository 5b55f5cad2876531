"""Small sweeps' scan detections held until their targets show a monitoring cadence or ``hold_s`` passes.

A monitoring system's first cycles over the hosts that are down look like a sweep: nothing tells them apart until
the same targets come round again at a steady cadence (detect/scan_probe.steady, three probes). A sweep that failed on
fewer than ``max_held_hosts`` targets waits: dropped when enough of its targets turn out watched (what is left of
it reaches no scan), raised as it was found (its time, counts and evidence) once ``hold_s`` of traffic time passed,
at the end of input, or at once when it grows past ``max_held_hosts`` failed targets (a worm or a scanner of a /24
does within seconds). Targets whose connection completed and was then reset (detect/scan_probe.health_check: a load
balancer's check, or an open port of a connect scan) count towards the scan but not towards that size.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from math import inf

from iotwarden.model.alert import Alert

MAX_HELD_DETECTIONS = 32  # detections held per sweep (one a window_s); past it the sweep is raised


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
    """The held sweeps of every source, in hold order (the first to expire first). A held sweep whose source left
    the source table is still raised when it expires: holding never loses a scan."""

    def __init__(self, hold_s: float, max_held_hosts: int, max_targets: int, max_sources: int) -> None:
        self.hold_s, self.max_held_hosts = hold_s, max_held_hosts
        self.max_targets, self.max_sources = max_targets, max_sources
        self._held: OrderedDict[tuple[str, int], Held] = OrderedDict()
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
            if len(self._held) == 1:
                self.next_due = ts + self.hold_s
            if len(self._held) > self.max_sources:  # a bound on memory: the oldest is raised, never lost
                out += self._pop(next(iter(self._held.values())))
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
        while self._held:
            held = next(iter(self._held.values()))
            if now - held.since < self.hold_s:
                break
            out += self._pop(held)
        return out

    def all(self) -> list[Alert]:
        """Every held detection (the end of input: no cadence can show any more)."""
        out: list[Alert] = []
        while self._held:
            out += self._pop(next(iter(self._held.values())))
        return out

    def _pop(self, held: Held) -> list[Alert]:
        """The sweep leaves both tables; its detections are returned (to be raised, or dropped by the caller)."""
        del self._held[held.key]
        if held.owner.get(held.key[1]) is held:
            del held.owner[held.key[1]]
        self.next_due = next(iter(self._held.values())).since + self.hold_s if self._held else inf
        return held.raises
