"""The ``zone`` facet of the device list and the map's groups: each device's zone under the segmentation
policy saved last in the store (``iotwarden policy load|propose --save``, quarantine versions included).

Membership is the one decision procedure of :func:`iotwarden.policy.match.resolve` (first zone that
selects a device; an unselected device falls in the zone of its address's subnet, or ``internet``
when its address is off-site). It is computed in Python over the stored devices and cached until the
policy, the inventory or :data:`ZONE_CACHE_S` moves on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from iotwarden.api.derived import MarkedCache, ids_clause
from iotwarden.errors import PolicyError
from iotwarden.policy.match import resolve
from iotwarden.policy.model import load_text
from iotwarden.policy.observed import DEVICE_COLUMNS, device_of
from iotwarden.store.policy_models import PolicyRow
from iotwarden.store.schema import DeviceRow

ZONE_CACHE_S = 300.0  # membership is recomputed at least this often even when nothing seems to change


@dataclass(frozen=True, slots=True)
class ZoneIndex:
    """Which zone each stored device is in under one stored policy version (empty without a policy)."""

    policy: str | None = None
    version: int | None = None
    zone_of: dict[str, str] = field(default_factory=dict)  # device key -> zone
    ids: dict[str, list[int]] = field(default_factory=dict)  # zone -> device row ids, in policy order

    def clause(self, zone: str, dialect: str) -> ColumnElement[bool]:
        """Devices in ``zone`` (none for an unknown zone)."""
        return ids_clause(self.ids.get(zone, []), dialect)

    def counts(self) -> list[tuple[str, int]]:
        """(zone, devices) in policy order, zones without devices left out."""
        return [(zone, len(ids)) for zone, ids in self.ids.items() if ids]


def build(session: Session) -> ZoneIndex:
    """The zone of every stored device under the last saved policy version."""
    row = session.scalars(select(PolicyRow).order_by(PolicyRow.id.desc()).limit(1)).first()
    if row is None:
        return ZoneIndex()
    try:
        policy = load_text(row.yaml)
    except PolicyError:  # saved versions were validated; a hand-edited row is treated as no policy
        return ZoneIndex()
    rows = list(session.execute(select(DeviceRow.id, *DEVICE_COLUMNS)))
    devices = [device_of(r) for r in rows]
    members = resolve(policy, devices)
    zone_of = {key: zone for zone, keys in members.members.items() for key in keys}
    ids: dict[str, list[int]] = {zone.name: [] for zone in policy.zones}
    for r, dev in zip(rows, devices, strict=True):
        zone = zone_of.get(dev.key) or next(
            (z for ip in sorted(dev.ips) if (z := members.zone_of(ip, dev.mac))), None)
        if zone is None:
            continue
        zone_of[dev.key] = zone
        ids.setdefault(zone, []).append(int(r.id))
    known = {dev.key for dev in devices}
    return ZoneIndex(row.name, row.version, {k: z for k, z in zone_of.items() if k in known}, ids)


def mark(session: Session) -> tuple[object, ...]:
    """What moves when membership may change: a saved policy version, a new device, a device seen again."""
    return (session.scalar(select(func.max(PolicyRow.id))),
            *session.execute(select(func.max(DeviceRow.id), func.max(DeviceRow.last_seen))).one())


def cache(ttl_s: float = ZONE_CACHE_S) -> MarkedCache[ZoneIndex]:
    """The current :class:`ZoneIndex`, rebuilt when :func:`mark` moves or after ``ttl_s``."""
    return MarkedCache(build, mark, ZoneIndex(), ttl_s)
