"""Per-(device, destination, port) connection series shared by the C&C detectors: a bounded LRU
table of series, each the latest connection times and flows of one triple, and the rule telling a
socket's SYN retransmissions, logged apart by Zeek, from a new connection (:func:`same_socket`).

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


def same_socket(flow: Flow, sport: int, start: float, within: float = SOCKET_S) -> bool:
    """Whether TCP ``flow`` is a later record of the attempt that started at ``start`` from source port
    ``sport`` (same device, destination and port: the caller's series), not a new connection: its SYN
    retransmitted. Counted as connections, any connect that times out (a device whose cloud is down)
    would look like a call every 8 s. From packets the engine keeps a socket's SYNs in one flow, so
    there a socket's records come unsplit."""
    return flow.a_port == sport and flow.first_seen - start <= within


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


@dataclass(slots=True)
class Series:
    """The latest connections of one (device, destination, port) and when it last raised."""

    times: list[float] = field(default_factory=list)  # start times, oldest first
    flows: list[Flow] = field(default_factory=list)  # the latest few, shown with an alert
    raised: float | None = None
    sport: int = -1  # the latest connection's source port (Zeek logs a socket's SYN retransmissions apart)

    def add(self, flow: Flow, *, keep_times: int, keep_flows: int) -> None:
        """Record a connection, keeping the latest ``keep_times`` start times and ``keep_flows`` flows."""
        self.times.append(flow.first_seen)
        self.flows.append(flow)
        self.sport = flow.a_port
        del self.times[:-keep_times], self.flows[:-keep_flows]


Triple = tuple[str, str, int]  # (device address, destination address, destination port)
SeriesTable = OrderedDict[Triple, Series]
