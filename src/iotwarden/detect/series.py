"""Per-(device, destination, port) connection series shared by the C&C detectors: a bounded LRU
table of series, each the latest connection times and flows of one triple, and the rule telling a
socket's SYN retransmissions, logged apart by Zeek, from a new connection (:func:`same_socket`, with
the recent attempts still in flight that :func:`earlier_sockets` keeps); and the two LRU steps every bounded
table of detect/ takes (:func:`lru_get`, :func:`lru_put`).

Most series hold one connection (a scan's targets), so a series is two plain lists, trimmed by hand:
bounded deques would cost ~10x their memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from iotwarden.model import Flow

K = TypeVar("K")
V = TypeVar("V")

SOCKET_S = 130.0
"""How long after a TCP connection attempt's start a record of its source port is still that attempt.
Zeek logs an unanswered SYN's later retransmissions (Linux: 7, 15, 31 s after the first) as further S0
records of the same source port (IoT-23 conn.log.labeled, captures 20-1, 42-1 and 44-1), while a
client's next connection takes another ephemeral port. Linux retransmits up to 63 s after the first SYN
and gives up at 127 s (Documentation/networking/ip-sysctl.rst, tcp_syn_retries default 6), so the whole
attempt, its last retransmission included, falls within 130 s."""

RECENT_SOCKETS = 4
"""Attempts of one series whose retransmissions are recognised: the latest and up to three earlier ones
started within the socket's bound of it. A bot may have several connects to one host:port in flight at
once (interleaved attempts); each one's SYNs retransmitted are that attempt, not new ones."""

Sockets = tuple[float, ...]
"""A series' earlier attempts still in flight, flat (source port, start, source port, start, ...), newest
first: one small tuple, and the shared empty tuple for the many series that have none."""


def same_socket(flow: Flow, sport: int, start: float, within: float = SOCKET_S, earlier: Sockets = ()) -> bool:
    """Whether TCP ``flow`` is a later record of the attempt that started at ``start`` from source port
    ``sport`` (same device, destination and port: the caller's series), or of one of the ``earlier``
    attempts, not a new connection: its SYN retransmitted. Counted as connections, any connect that
    times out (a device whose cloud is down) would look like a call every 8 s. From packets the engine
    keeps a socket's SYNs in one flow, so there a socket's records come unsplit."""
    port, ts = flow.a_port, flow.first_seen
    if port == sport and ts - start <= within:
        return True
    return any(earlier[i] == port and ts - earlier[i + 1] <= within for i in range(0, len(earlier), 2))


def earlier_sockets(sport: int, start: float, earlier: Sockets, now: float, within: float = SOCKET_S) -> Sockets:
    """A series' earlier attempts once a new one starts at ``now``: the one that was latest (from
    ``sport`` at ``start``) and those of ``earlier``, each only while ``now`` is within ``within`` of
    its start (its retransmissions may still come), newest first, at most ``RECENT_SOCKETS - 1``."""
    if now - start > within and not earlier:  # the common case: the last attempt is over, none in flight
        return ()
    pairs = (sport, start, *earlier)
    kept = [x for i in range(0, len(pairs), 2) if now - pairs[i + 1] <= within for x in pairs[i:i + 2]]
    return tuple(kept[:2 * (RECENT_SOCKETS - 1)])


def lru_get(table: OrderedDict[K, V], key: K, make: Callable[[], V], limit: int) -> V:
    """``table[key]`` made last (most recently used), created with ``make`` when missing; past
    ``limit`` entries the least recently used one goes."""
    value = table.get(key)
    if value is None:
        value = table[key] = make()
        if len(table) > limit:
            table.popitem(last=False)
        if key not in table:  # a limit of 0 keeps nothing: the value serves this call only
            return value
    table.move_to_end(key)
    return value


def lru_put(table: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    """``table[key] = value`` made last (most recently used); past ``limit`` entries the least recently used one
    goes."""
    table[key] = value
    table.move_to_end(key)
    if len(table) > limit:
        table.popitem(last=False)


@dataclass(slots=True)
class Series:
    """The latest connections of one (device, destination, port) and when it last raised."""

    times: list[float] = field(default_factory=list)  # start times, oldest first
    flows: list[Flow] = field(default_factory=list)  # the latest few, shown with an alert
    raised: float | None = None
    sport: int = -1  # the latest connection's source port (Zeek logs a socket's SYN retransmissions apart)
    earlier: Sockets = ()  # earlier connections still in flight (interleaved attempts), see earlier_sockets

    def add(self, flow: Flow, *, keep_times: int, keep_flows: int, within: float | None = None) -> None:
        """Record a connection, keeping the latest ``keep_times`` start times and ``keep_flows`` flows;
        given ``within`` (a caller that tells attempts apart, :func:`same_socket`), also the earlier
        attempts whose records may still come that long after their start."""
        if within is not None and self.times:
            self.earlier = earlier_sockets(self.sport, self.times[-1], self.earlier, flow.first_seen, within)
        self.times.append(flow.first_seen)
        self.flows.append(flow)
        self.sport = flow.a_port
        del self.times[:-keep_times], self.flows[:-keep_flows]


Triple = tuple[str, str, int]  # (device address, destination address, destination port)
SeriesTable = OrderedDict[Triple, Series]
