"""The endpoint record: what was seen of one (MAC, IP) pair, the unit inventory/resolution.py places on a device
(a device is the union of its endpoints), and the widening of its sighting times."""

from __future__ import annotations

from dataclasses import dataclass, field

EvidenceKey = tuple[str, str, str, str]  # proto, kind, field, value


@dataclass(slots=True)
class Endpoint:
    """What was seen of one (MAC, IP) pair; a device is the union of the endpoints mapped to its key."""

    mac: str | None
    ip: str | None  # the address (a device's ips)
    key: str
    first_seen: float
    last_seen: float
    at: str | None = None  # the address within its broadcast domain (addresses.zoned): the tables' key
    hostnames: set[str] = field(default_factory=set)
    attributes: dict[str, set[str]] = field(default_factory=dict)
    protocols: set[str] = field(default_factory=set)
    packets: int = 0
    bytes: int = 0
    evidence: dict[EvidenceKey, list[float]] = field(default_factory=dict)  # -> [first, last, count]


def seen_at(ep: Endpoint, ts: float) -> None:
    """``ep`` was seen at ``ts``: its first and last sightings widen to include it."""
    if ts < ep.first_seen:  # noqa: PLR1730 - min() and max() without calls: once or twice per flow
        ep.first_seen = ts
    if ts > ep.last_seen:  # noqa: PLR1730 - as above
        ep.last_seen = ts
