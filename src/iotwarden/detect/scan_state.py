"""What the scan detector (detect/scan) keeps per source: its probes' tables by port and by host, its recent probes
(an alert's evidence), what it raised, and the bounded steps every table takes (least recently probed first)."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iotwarden.model import Flow, Observation

if TYPE_CHECKING:
    from iotwarden.detect.scan import ScanOptions
    from iotwarden.detect.scan_hold import Held

EVIDENCE_FLOWS = 4  # probes an alert carries as evidence: the scan's own (its port's, its host's, its pings)
RECENT_PROBES = 16  # each source's latest probes kept, of which an alert's evidence is the scan's own
ICMP = -1  # the port of a ping's target in Probes.cycles, and of a ping sweep in Probes.held
TELNET = -2  # the port of a Telnet sweep (23 and 2323 together) in Probes.held

# Every table below is kept in last-probe order (least recently probed first), so the entries older
# than the window are at the front: counting what is fresh is amortised O(1) per probe, and a table
# past ``max_targets`` drops its least recently probed entry.
Recent = OrderedDict  # key -> time of its last probe


@dataclass(slots=True)
class Probes:
    """One source's probes (a source within its broadcast domain: detect/base.site_host)."""

    by_port: Recent[int, Recent[str, float]] = field(default_factory=Recent)  # port -> host -> last probe
    # host -> port -> last probe; a host probed on one port holds (port, last probe) until a second
    # port comes (a horizontal sweep: a new host per probe, each on one port)
    by_host: Recent[str, Recent[int, float] | tuple[int, float]] = field(default_factory=Recent)
    # the latest RECENT_PROBES probes, whatever they probed: an alert takes the last EVIDENCE_FLOWS of its own
    # scan (the source's first flows may be to another port or host, hours before)
    recent: deque[Flow] = field(default_factory=lambda: deque(maxlen=RECENT_PROBES))
    arp_requests: deque[Observation] = field(default_factory=lambda: deque(maxlen=EVIDENCE_FLOWS))  # the latest
    # (id, key) -> last raised, in raise order; past both windows or max_targets entries the oldest goes (raised)
    alerted: Recent[tuple[str, str], float] = field(default_factory=Recent)
    arp: Recent[str, float] = field(default_factory=Recent)  # address asked for -> last request
    icmp: Recent[str, float] = field(default_factory=Recent)  # host sent an unanswered ICMP request -> last one
    slow: Recent[int, Recent[str, float]] = field(default_factory=Recent)  # port -> host -> last probe (slow_window_s)
    # port -> its first probes (up to EVIDENCE_FLOWS), a slow scan's evidence: the source's first flows (``flows``)
    # may be to another port; a port leaves with its ``slow`` table
    slow_flows: dict[int, list[Flow]] = field(default_factory=dict)
    # (port, host) -> (source port, last probe, gap before it, probes at that cadence); port ICMP for a ping
    cycles: Recent[tuple[int, str], tuple[int, float, float, int]] = field(default_factory=Recent)
    # (port, host) -> last connection completed then reset (scan_probe.health_check); a repeat is a check, no probe
    checked: Recent[tuple[int, str], float] = field(default_factory=Recent)
    held: dict[int, Held] = field(default_factory=dict)  # port (TELNET, ICMP) -> its sweep's held scan (scan_hold)


def probed(table: Recent[Any, float], key: Any, ts: float, limit: int) -> None:
    """Put ``key`` last (most recently probed) with the later of ``ts`` and its last probe; past
    ``limit`` entries the least recent goes (ARP requests; :meth:`ScanDetector.flows` does it inline)."""
    last = table.get(key)
    table[key] = last if last is not None and last > ts else ts
    table.move_to_end(key)
    if len(table) > limit:
        table.popitem(last=False)


def raised(table: Recent[tuple[str, str], float], key: tuple[str, str], ts: float, o: ScanOptions) -> None:
    """Remember that ``key`` was raised at ``ts``; an entry raised longer ago than both windows can hold back no
    detection, so it goes, and past ``max_targets`` entries (a source port-scanning many hosts) the oldest goes too."""
    table[key] = ts
    table.move_to_end(key)
    horizon = ts - max(o.window_s, o.slow_window_s)
    while table and (len(table) > o.max_targets or next(iter(table.values())) < horizon):
        table.popitem(last=False)


def slow_probe(st: Probes, flow: Flow, host: str, limit: int) -> tuple[Recent[str, float], list[Flow]]:
    """A TCP probe of ``host`` put in its port's slow-scan table (``slow_window_s``), its flow among the port's
    first EVIDENCE_FLOWS; returns the port's table (host -> last probe) and those first probes."""
    port, ts = flow.b_port, flow.first_seen
    hosts = st.slow.get(port)
    if hosts is not None:
        st.slow.move_to_end(port)  # least recently probed first, as every table here
    else:
        hosts = st.slow[port] = Recent()
        st.slow_flows[port] = []
        if len(st.slow) > limit:
            st.slow_flows.pop(st.slow.popitem(last=False)[0], None)
    probes = st.slow_flows[port]
    if len(probes) < EVIDENCE_FLOWS:
        probes.append(flow)
    probed(hosts, host, ts, limit)
    return hosts, probes


def fresh(seen: Recent[Any, float], now: float, window: float) -> int:
    """Entries probed within ``window`` of ``now``; the older ones are dropped from the front."""
    while seen:
        oldest = next(iter(seen.values()))
        if now - oldest <= window:
            break
        seen.popitem(last=False)
    return len(seen)


def own(recent: deque[Flow], probe: Callable[[Flow], bool]) -> list[Flow]:
    """A scan's evidence: the last EVIDENCE_FLOWS of the source's recent probes that are the scan's own (``probe``:
    to its port, its host, a ping), oldest first; the probe that raised it is the latest."""
    mine = [f for f in reversed(recent) if probe(f)][:EVIDENCE_FLOWS]
    mine.reverse()
    return mine
