"""Reading the store: devices (list, filter, resolve one), their history and evidence, flows, captures.

Filters are portable SQL (JSON columns are matched as text), so SQLite and PostgreSQL answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, String, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from iotwarden.errors import StoreError
from iotwarden.store.inventory_models import DeviceAliasRow
from iotwarden.store.schema import CaptureRow, DeviceIpRow, DeviceRow, EvidenceRow, FlowRow

# transport names accepted by the flow filter, else an application name (flow.app)
IP_PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmp6": 58, "icmpv6": 58, "sctp": 132}
MAX_AMBIGUOUS_SHOWN = 5  # candidate keys named when an identifier matches several devices


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_devices(
    session: Session, *, proto: str | None = None, search: str | None = None, limit: int | None = None,
    vendor: str | None = None, device_types: Sequence[str] | None = None, category: str | None = None,
) -> list[DeviceRow]:
    """Devices ordered by key; ``proto`` keeps those that spoke it, ``search`` matches any text,
    ``vendor`` and ``category`` the classifier's conclusion (any case), ``device_types`` one of the types."""
    stmt = select(DeviceRow).order_by(DeviceRow.key)
    if vendor:
        stmt = stmt.where(func.lower(DeviceRow.vendor) == vendor.lower())
    if category:
        stmt = stmt.where(func.lower(DeviceRow.category) == category.lower())
    if device_types is not None:
        stmt = stmt.where(DeviceRow.device_type.in_(list(device_types)))
    if proto:
        # protocols is a JSON list of names: match the quoted name in its text form
        needle = f'%"{_like_escape(proto.lower())}"%'
        stmt = stmt.where(cast(DeviceRow.protocols, String).like(needle, escape="\\"))
    if search:
        needle = f"%{_like_escape(search.lower())}%"
        columns = (DeviceRow.key, DeviceRow.mac, cast(DeviceRow.ips, String), cast(DeviceRow.hostnames, String),
                   cast(DeviceRow.attributes, String))
        stmt = stmt.where(or_(*(func.lower(c).like(needle, escape="\\") for c in columns)))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


# what an analysis report reads of each device it names (services/analyze.py): not the classification, by far
# the largest column (its evidence lists), which the report takes from the run itself
REPORT_COLUMNS = (DeviceRow.key, DeviceRow.first_seen, DeviceRow.last_seen, DeviceRow.mac, DeviceRow.ips,
                  DeviceRow.hostnames, DeviceRow.attributes, DeviceRow.protocols, DeviceRow.packets, DeviceRow.bytes)


def devices_by_keys(session: Session, keys: Sequence[str]) -> list[Row[Any]]:
    """The stored devices of ``keys``, sorted by key: their :data:`REPORT_COLUMNS`, read as named rows (no ORM
    objects)."""
    out: list[Row[Any]] = []
    for i in range(0, len(keys), 500):
        out.extend(session.execute(select(*REPORT_COLUMNS).where(DeviceRow.key.in_(keys[i : i + 500]))))
    return sorted(out, key=lambda r: r.key)


def resolve_device(session: Session, ident: str) -> DeviceRow:
    """The one device ``ident`` names: its key, the key of a device merged into it (store/merge.py), a
    unique key prefix, a MAC or an IP address.

    Raises :class:`StoreError` when nothing or more than one device matches.
    """
    ident = ident.strip().lower()
    if not ident:
        raise StoreError("empty device identifier")
    row = session.scalars(select(DeviceRow).where(DeviceRow.key == ident)).first()
    if row is not None:
        return row
    merged = session.get(DeviceAliasRow, ident)
    if merged is not None:
        row = session.scalars(select(DeviceRow).where(DeviceRow.key == merged.device_key)).first()
        if row is not None:
            return row
    candidates: list[DeviceRow] = list(session.scalars(select(DeviceRow).where(DeviceRow.mac == ident)))
    if not candidates:
        ip_keys = select(DeviceIpRow.device_key).where(DeviceIpRow.ip == ident)
        candidates = list(session.scalars(select(DeviceRow).where(DeviceRow.key.in_(ip_keys))))
    if not candidates:
        prefix = _like_escape(ident)
        stmt = select(DeviceRow).where(
            or_(DeviceRow.key.like(f"{prefix}%", escape="\\"), DeviceRow.key.like(f"mac:{prefix}%", escape="\\"),
                DeviceRow.key.like(f"ip:{prefix}%", escape="\\"))
        )
        candidates = list(session.scalars(stmt.order_by(DeviceRow.key).limit(MAX_AMBIGUOUS_SHOWN + 1)))
    if not candidates:
        raise StoreError(f"no device matches {ident!r} (give a key, a unique key prefix, a MAC or an IP)")
    if len(candidates) > 1:
        names = ", ".join(r.key for r in candidates[:MAX_AMBIGUOUS_SHOWN])
        more = " ..." if len(candidates) > MAX_AMBIGUOUS_SHOWN else ""
        raise StoreError(f"{ident!r} matches several devices: {names}{more}")
    return candidates[0]


def device_ip_history(session: Session, key: str) -> list[DeviceIpRow]:
    stmt = select(DeviceIpRow).where(DeviceIpRow.device_key == key).order_by(DeviceIpRow.first_seen, DeviceIpRow.ip)
    return list(session.scalars(stmt))


def device_evidence(session: Session, key: str) -> list[EvidenceRow]:
    stmt = (
        select(EvidenceRow)
        .where(EvidenceRow.device_key == key)
        .order_by(EvidenceRow.proto, EvidenceRow.field, EvidenceRow.value)
    )
    return list(session.scalars(stmt))


def list_flows(
    session: Session, *, device: DeviceRow | None = None, proto: str | None = None, port: int | None = None,
    limit: int | None = 100,
) -> list[FlowRow]:
    """Flows, newest first; ``device`` keeps those with one of its addresses (or its MAC) at either end."""
    stmt = select(FlowRow).order_by(FlowRow.first_seen.desc(), FlowRow.id.desc())
    if device is not None:
        ips = [h.ip for h in device_ip_history(session, device.key)] or list(device.ips)
        ends: list[ColumnElement[bool]] = [FlowRow.a_ip.in_(ips), FlowRow.b_ip.in_(ips)] if ips else []
        if device.key.startswith("mac:") and device.mac:
            ends += [FlowRow.a_mac == device.mac, FlowRow.b_mac == device.mac]
        if not ends:
            return []
        stmt = stmt.where(or_(*ends))
    if proto:
        name = proto.lower()
        if name in IP_PROTOCOLS:
            stmt = stmt.where(FlowRow.ip_proto == IP_PROTOCOLS[name])
        elif name.isdigit():
            stmt = stmt.where(FlowRow.ip_proto == int(name))
        else:
            stmt = stmt.where(FlowRow.app == name)
    if port is not None:
        stmt = stmt.where(or_(FlowRow.a_port == port, FlowRow.b_port == port))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def list_captures(session: Session) -> list[CaptureRow]:
    return list(session.scalars(select(CaptureRow).order_by(CaptureRow.id)))


def count_rows(session: Session) -> dict[str, int]:
    """Row counts of the main tables (what the store holds in total)."""
    return {
        "captures": int(session.scalar(select(func.count()).select_from(CaptureRow)) or 0),
        "devices": int(session.scalar(select(func.count()).select_from(DeviceRow)) or 0),
        "flows": int(session.scalar(select(func.count()).select_from(FlowRow)) or 0),
        "evidence": int(session.scalar(select(func.count()).select_from(EvidenceRow)) or 0),
    }
