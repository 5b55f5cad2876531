"""The ``risk`` facet of the device list: each device's risk band, computed in SQL from its stored findings.

The score is :func:`iotwarden.risk.scorer.device_score` over the device's findings that are not
resolved (as the report counts them): ``100 * (1 - prod(1 - p_i))``. A product is not portable SQL,
so the query sums ``-ln(1 - p_i)`` instead (one constant per severity and category weight) and
compares the sum with each band's floor turned the same way; the floors allow for the score's
rounding to one decimal, so SQL and :func:`~iotwarden.risk.scorer.band` put a device in the same band.

Summing every finding takes a few hundred milliseconds at 100,000 devices, so the list filters by a
:class:`RiskIndex` (band -> device ids) kept in a :func:`cache` until findings or devices move.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, and_, case, false, func, literal, not_, select
from sqlalchemy.orm import Session

from iotwarden.api.derived import MarkedCache, ids_clause
from iotwarden.risk.scorer import BANDS, CATEGORY_WEIGHT, MAX_P, NO_RISK_BAND, SEVERITY_P
from iotwarden.store.alert_models import FindingRow
from iotwarden.store.schema import DeviceRow

RISK_BANDS = (*(name for name, _floor in BANDS), NO_RISK_BAND)  # worst first
SCORE_DECIMALS = 1  # device_score rounds to this many decimals
_CHUNK = 500  # device keys per IN list
RISK_CACHE_S = 30.0  # bands are recomputed at least this often even when nothing seems to change


def _term(severity: str, weight: float) -> float:
    """``-ln(1 - p)`` of one finding (0 for ``info``)."""
    return -math.log1p(-min(MAX_P, SEVERITY_P[severity] * weight))  # type: ignore[index]


def _floor_sum(floor: float) -> float:
    """The smallest sum whose score rounds to at least ``floor`` (less a hair for float sums)."""
    step = 10.0 ** -SCORE_DECIMALS
    lowest = max(0.0, math.ceil(floor / step - 1e-9) * step - step / 2)
    return -math.log1p(-lowest / 100.0) - 1e-9


def _finding_term() -> ColumnElement[float]:
    category = func.lower(func.coalesce(DeviceRow.category, ""))
    by_weight = [(category == name, weight) for name, weight in CATEGORY_WEIGHT.items()]

    def per_severity(weight: float) -> ColumnElement[float]:
        return case(*((FindingRow.severity == sev, literal(_term(sev, weight), Float)) for sev in SEVERITY_P),
                    else_=literal(0.0, Float))

    return case(*((cond, per_severity(w)) for cond, w in by_weight), else_=per_severity(1.0))


def _sums(device: Any = FindingRow.device_key) -> Select[Any]:
    """(``device`` (key, or row id), summed ``-ln(1 - p)``) of every device with an unresolved finding."""
    total = func.sum(_finding_term())
    return (select(device, total.label("risk_sum"))
            .join(DeviceRow, DeviceRow.key == FindingRow.device_key)
            .where(FindingRow.status != "resolved").group_by(device))


def _band_of_sum(total: float | None) -> str:
    for name, floor in BANDS:
        if total is not None and total >= _floor_sum(floor):
            return name
    return NO_RISK_BAND


def band_clause(band: str) -> ColumnElement[bool]:
    """Devices whose risk band is ``band`` (one of :data:`RISK_BANDS`; anything else matches none)."""
    floors = dict(BANDS)
    if band == NO_RISK_BAND:
        lowest = _floor_sum(BANDS[-1][1])
        risky = _sums().having(func.sum(_finding_term()) >= lowest).with_only_columns(FindingRow.device_key)
        return not_(DeviceRow.key.in_(risky))
    if band not in floors:
        return false()
    names = [name for name, _ in BANDS]
    above = names.index(band) - 1  # the next worse band's floor caps this one
    total = func.sum(_finding_term())
    having = total >= _floor_sum(floors[band])
    if above >= 0:
        having = and_(having, total < _floor_sum(floors[names[above]]))
    return DeviceRow.key.in_(_sums().having(having).with_only_columns(FindingRow.device_key))


def band_counts(session: Session) -> list[tuple[str, int]]:
    """How many devices fall in each band, worst band first (bands without devices left out)."""
    counts = dict.fromkeys(RISK_BANDS, 0)
    scored = 0
    for row in session.execute(_sums()):
        counts[_band_of_sum(row[1])] += 1
        scored += 1
    devices = int(session.scalar(select(func.count()).select_from(DeviceRow)) or 0)
    counts[NO_RISK_BAND] += max(0, devices - scored)
    return [(name, n) for name, n in counts.items() if n]


def bands_of(session: Session, keys: Iterable[str]) -> dict[str, str]:
    """The risk band of each of ``keys`` (``none`` for a device without unresolved findings)."""
    wanted = list(dict.fromkeys(keys))
    out = dict.fromkeys(wanted, NO_RISK_BAND)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        for row in session.execute(_sums().where(FindingRow.device_key.in_(chunk))):
            out[row[0]] = _band_of_sum(row[1])
    return out


@dataclass(frozen=True, slots=True)
class RiskIndex:
    """The row ids of the devices in each band but ``none`` (every other device), and how many devices."""

    ids: dict[str, list[int]] = field(default_factory=dict)
    devices: int = 0

    def clause(self, band: str, dialect: str) -> ColumnElement[bool]:
        if band == NO_RISK_BAND:
            return not_(ids_clause([i for ids in self.ids.values() for i in ids], dialect))
        return ids_clause(self.ids.get(band, []), dialect)

    def counts(self) -> list[tuple[str, int]]:
        """Like :func:`band_counts`, from the index."""
        out = [(name, len(self.ids.get(name, []))) for name in RISK_BANDS if name != NO_RISK_BAND]
        out.append((NO_RISK_BAND, self.devices - sum(n for _, n in out)))
        return [(name, n) for name, n in out if n > 0]


def build(session: Session) -> RiskIndex:
    ids: dict[str, list[int]] = {name: [] for name, _floor in BANDS}
    for row in session.execute(_sums(DeviceRow.id)):
        name = _band_of_sum(row[1])
        if name != NO_RISK_BAND:
            ids[name].append(int(row[0]))
    return RiskIndex(ids, int(session.scalar(select(func.count()).select_from(DeviceRow)) or 0))


def mark(session: Session) -> tuple[object, ...]:
    """What moves when bands may change: a new finding, one resolved or reopened (their count, read from
    the status index), a new device, a device seen again (its findings are updated in the same run)."""
    return (session.scalar(select(func.max(FindingRow.id))),
            session.scalar(select(func.count()).select_from(FindingRow).where(FindingRow.status == "resolved")),
            *session.execute(select(func.max(DeviceRow.id), func.max(DeviceRow.last_seen))).one())


def cache(ttl_s: float = RISK_CACHE_S) -> MarkedCache[RiskIndex]:
    """The current :class:`RiskIndex`, rebuilt when :func:`mark` moves or after ``ttl_s``."""
    return MarkedCache(build, mark, RiskIndex(), ttl_s)
