"""Per-(device, destination, port) connection series shared by the C&C detectors: a bounded LRU
table of series, each the latest connection times and flows of one triple.

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
