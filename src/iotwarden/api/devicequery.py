"""The device list of the API and console: filters, facets, free-text search, sort and pages, in portable SQL.

Classification facets (vendor, type, category) read the classifier's ``devices`` column when the
store has one, else the attributes in which devices state it themselves (a Modbus or BACnet vendor
name); a facet with neither has no values and matches no device. Two facets are derived, not stored:
``risk`` is the band of the device's risk score from its findings (:mod:`iotwarden.api.riskband`),
``zone`` its zone under the last saved segmentation policy (:mod:`iotwarden.api.zoning`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from iotwarden.api import riskband
from iotwarden.api.riskband import RiskIndex
from iotwarden.api.zoning import ZoneIndex
from iotwarden.store.queries import _like_escape
from iotwarden.store.schema import DeviceRow

MAX_PAGE = 500  # devices per page at most
DEFAULT_PAGE = 50
MAX_COUNTED = 1_000  # a filtered list is counted up to this, then reported as "1000+" (bounds the scan)
MAX_FACET_VALUES = 50  # distinct values listed per facet
MAX_TERM_LEN = 200  # characters of a search or filter term


@dataclass(frozen=True, slots=True)
class Facet:
    """Where one classification fact lives: a devices column once it exists, else device attributes."""

    name: str
    column: str  # DeviceRow column name when present
    attributes: tuple[str, ...]  # "<proto>.<field>" attributes in which a device states it (inventory.identity)
    label: str
    derived: str = ""  # "findings" (risk band) or "policy" (zone): computed, never a column


FACETS: dict[str, Facet] = {f.name: f for f in (
    Facet("vendor", "vendor", ("modbus.vendor_name", "bacnet.vendor_name"), "Vendor"),
    Facet("type", "device_type", (), "Device type"),
    Facet("category", "category", (), "Category"),
    Facet("risk", "risk", (), "Risk", derived="findings"),
    Facet("zone", "zone", (), "Zone", derived="policy"),
)}

@dataclass(frozen=True, slots=True)
class Derived:
    """The derived facts a request filters by: zones under the saved policy, and the risk index (None:
    the risk filter computes bands in SQL, for callers without the API's cache)."""

    zones: ZoneIndex = field(default_factory=ZoneIndex)
    risk: RiskIndex | None = None


SORTS = ("key", "mac", "first_seen", "last_seen", "packets", "bytes")  # plus facet columns once they exist


def _column(name: str) -> ColumnElement[Any] | None:
    col = DeviceRow.__table__.c.get(name)
    return col if col is not None else None


def facet_source(facet: Facet) -> str:
    """``column``, ``attributes``, ``findings``, ``policy`` or ``none``: where this facet is read from."""
    if facet.derived:
        return facet.derived
    if _column(facet.column) is not None:
        return "column"
    return "attributes" if facet.attributes else "none"


@dataclass(slots=True)
class DeviceFilter:
    """The filters of one device list request; None means "any"."""

    vendor: str | None = None
    type: str | None = None
    category: str | None = None
    risk: str | None = None
    zone: str | None = None
    protocol: str | None = None
    search: str | None = None
    first_seen_after: float | None = None
    first_seen_before: float | None = None
    last_seen_after: float | None = None
    last_seen_before: float | None = None

    def facet_values(self) -> dict[str, str]:
        return {name: v for name in FACETS if (v := getattr(self, name))}


def _contains(expr: ColumnElement[Any] | InstrumentedAttribute[Any], needle: str, dialect: str, *,
              fold: bool = True) -> ColumnElement[bool]:
    """LIKE, case-insensitive when ``fold``: SQLite's LIKE already folds ASCII case (no per-row
    lower() copy), PostgreSQL's ILIKE folds every letter."""
    pattern = needle[:MAX_TERM_LEN + 4]
    if dialect == "postgresql" and fold:
        return expr.ilike(pattern, escape="\\")
    return expr.like(pattern, escape="\\")


def facet_clause(facet: Facet, value: str, dialect: str, derived: Derived | None = None) -> ColumnElement[bool]:
    if facet.derived == "findings":
        if derived is not None and derived.risk is not None:
            return derived.risk.clause(value, dialect)
        return riskband.band_clause(value)
    if facet.derived == "policy":
        return derived.zones.clause(value, dialect) if derived is not None else false()
    col = _column(facet.column)
    if col is not None:  # the classifier's column: exact value (from the facet list), served by its index
        return col == value[:MAX_TERM_LEN]
    if not facet.attributes:
        return false()  # nothing in this store says it: no device matches
    # attribute values are JSON lists of text: the quoted value must be in one of the facet's lists;
    # the same test on the whole attributes text first, so JSON is only parsed for likely rows
    needle = f'%"{_like_escape(value[:MAX_TERM_LEN])}"%'
    # values come from the facet list, so match them as given: a plain LIKE (PostgreSQL's ILIKE is far
    # slower; SQLite's LIKE folds ASCII case whatever we do)
    return and_(_contains(cast(DeviceRow.attributes, String), needle, dialect, fold=False),
                or_(*(_contains(cast(DeviceRow.attributes[a], String), needle, dialect, fold=False)
                      for a in facet.attributes)))


def where(flt: DeviceFilter, dialect: str, derived: Derived | None = None) -> list[ColumnElement[bool]]:
    """SQL conditions for a filter (shared by the list, its count and the map) on ``dialect``; a zone
    filter needs the ``derived`` zones (else it matches nothing)."""
    out: list[ColumnElement[bool]] = []
    for name, value in flt.facet_values().items():
        out.append(facet_clause(FACETS[name], value, dialect, derived))
    if flt.protocol:
        needle = f'%"{_like_escape(flt.protocol.lower()[:MAX_TERM_LEN])}"%'
        out.append(cast(DeviceRow.protocols, String).like(needle, escape="\\"))
    if flt.search:
        # key (with the MAC), addresses, names, attributes: LIKE on each stored text, no per-row copies
        needle = f"%{_like_escape(flt.search[:MAX_TERM_LEN])}%"
        texts = (DeviceRow.key, cast(DeviceRow.ips, String), cast(DeviceRow.hostnames, String),
                 cast(DeviceRow.attributes, String))
        out.append(or_(*(_contains(t, needle, dialect) for t in texts)))
    bounds = ((DeviceRow.first_seen, flt.first_seen_after, flt.first_seen_before),
              (DeviceRow.last_seen, flt.last_seen_after, flt.last_seen_before))
    for col, lo, hi in bounds:
        if lo is not None:
            out.append(col >= lo)
        if hi is not None:
            out.append(col <= hi)
    return out


def sort_columns() -> tuple[str, ...]:
    extra = tuple(f.name for f in FACETS.values() if not f.derived and _column(f.column) is not None)
    return SORTS + extra


def _order(stmt: Select[Any], sort: str) -> Select[Any]:
    desc = sort.startswith("-")
    name = sort.lstrip("-")
    facet = FACETS.get(name)
    found = _column(facet.column if facet else name) if name in sort_columns() else None
    col: ColumnElement[Any] | InstrumentedAttribute[Any] = DeviceRow.key if found is None else found
    return stmt.order_by(col.desc() if desc else col.asc(), DeviceRow.id.desc() if desc else DeviceRow.id.asc())


@dataclass(slots=True)
class DevicePage:
    rows: list[DeviceRow]
    total: int
    total_exact: bool  # False when the count stopped at MAX_COUNTED
    offset: int
    limit: int


def list_devices(session: Session, flt: DeviceFilter, *, sort: str = "key", offset: int = 0,
                 limit: int = DEFAULT_PAGE, derived: Derived | None = None) -> DevicePage:
    """One page of devices matching ``flt``, and how many match (exactly up to :data:`MAX_COUNTED`).

    A filtered list is read in one pass: the ids of the matches (at most MAX_COUNTED + 1, in table
    order, so the scan stops early when matches are common); few matches are then sorted and paged
    by id, many are paged by the sort index, which reaches a page after few rows.
    """
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    conds = where(flt, session.get_bind().dialect.name, derived)
    ordered = _order(select(DeviceRow), sort)
    if not conds:
        rows = list(session.scalars(ordered.offset(offset).limit(limit)))
        total = int(session.scalar(select(func.count()).select_from(DeviceRow)) or 0)
        return DevicePage(rows, total, True, offset, limit)
    hits = list(session.scalars(select(DeviceRow.id).where(*conds).limit(MAX_COUNTED + 1)))
    if len(hits) > MAX_COUNTED:
        rows = list(session.scalars(ordered.where(*conds).offset(offset).limit(limit)))
        return DevicePage(rows, MAX_COUNTED, False, offset, limit)
    rows = list(session.scalars(ordered.where(DeviceRow.id.in_(hits)).offset(offset).limit(limit))) if hits else []
    return DevicePage(rows, len(hits), True, offset, limit)


def facet_values(session: Session, facet: Facet, *, limit: int = MAX_FACET_VALUES,
                 derived: Derived | None = None) -> list[tuple[str, int]]:
    """The most common values of a facet and how many devices have each (risk bands worst first,
    zones in policy order)."""
    if facet.derived == "findings":
        if derived is not None and derived.risk is not None:
            return derived.risk.counts()[:limit]
        return riskband.band_counts(session)[:limit]
    if facet.derived == "policy":
        return derived.zones.counts()[:limit] if derived is not None else []
    col = _column(facet.column)
    if col is not None:
        stmt = (select(col, func.count()).where(col.is_not(None)).group_by(col)
                .order_by(func.count().desc()).limit(limit))
        return [(str(v), int(n)) for v, n in session.execute(stmt)]
    counts: Counter[str] = Counter()
    for attr in facet.attributes:
        expr = DeviceRow.attributes[attr]
        has_it = cast(DeviceRow.attributes, String).like(f'%"{_like_escape(attr)}"%', escape="\\")
        stmt = select(cast(expr, String), func.count()).where(has_it, expr.is_not(None)).group_by(cast(expr, String))
        for raw, n in session.execute(stmt):
            for value in _json_list(raw):
                counts[value] += int(n)
    return counts.most_common(limit)


def _json_list(raw: Any) -> list[str]:
    import json  # noqa: PLC0415 - only for attribute facets

    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return [str(raw)]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [] if value is None else [str(value)]


def protocol_counts(session: Session, *, limit: int = MAX_FACET_VALUES) -> list[tuple[str, int]]:
    """Devices per protocol spoken (protocol lists are grouped in SQL, then split)."""
    counts: Counter[str] = Counter()
    stmt = select(cast(DeviceRow.protocols, String), func.count()).group_by(cast(DeviceRow.protocols, String))
    for raw, n in session.execute(stmt):
        for value in _json_list(raw):
            counts[value] += int(n)
    return counts.most_common(limit)


FACET_CACHE_S = 30.0  # facet values and protocol counts (whole-table aggregates) are reused this long


class FacetCache:
    """The values of every facet and the protocol counts, recomputed at most every ``ttl_s`` seconds:
    they feed the filter lists and the dashboard, and scanning 100,000 devices per page view is too slow."""

    def __init__(self, ttl_s: float = FACET_CACHE_S) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._values: dict[str, list[tuple[str, int]]] = {}

    def get(self, session: Session, derived: Derived | None = None) -> dict[str, list[tuple[str, int]]]:
        """``{facet name: [(value, devices)]}`` plus ``"protocol"``; fresh within ``ttl_s`` (the derived
        facets, read from their own indexes, always fresh)."""
        fresh = {f.name: facet_values(session, f, derived=derived) for f in FACETS.values()
                 if f.derived and derived is not None and (f.derived == "policy" or derived.risk is not None)}
        with self._lock:
            if time.monotonic() - self._at < self.ttl_s:
                return {**self._values, **fresh}
        values = {f.name: fresh.get(f.name) or facet_values(session, f, derived=derived) for f in FACETS.values()}
        values["protocol"] = protocol_counts(session)
        with self._lock:
            self._values, self._at = values, time.monotonic()
        return values

    def clear(self) -> None:
        with self._lock:
            self._at = float("-inf")
