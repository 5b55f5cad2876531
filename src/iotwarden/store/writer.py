"""Writing one analysed capture inside the caller's transaction: flows upserted in chunks on their
natural key (re-analysis never duplicates), then devices, address history and evidence merged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from iotwarden.model import Device, Flow
from iotwarden.model.device import Conclusion
from iotwarden.store import limits
from iotwarden.store.flow_sqlite import FLOW_COLUMNS, SqliteFlowRows, flow_values, json_safe
from iotwarden.store.inventory_models import SnapshotRow
from iotwarden.store.schema import CLASS_LEN, CaptureRow, DeviceIpRow, DeviceRow, EvidenceRow, FlowRow

FLOW_CHUNK = 5000  # flows buffered before one executemany upsert
MAX_PROBE_FLOWS = limits.MAX_PROBE_FLOWS  # empty connection attempts stored per capture (store/limits.py)
KEY_CHUNK = 500  # keys per IN (...) lookup; well under SQLite's bound-parameter limit
MAX_STORED_VALUES_PER_ATTRIBUTE = 64  # values kept per device attribute across all captures
MAX_STORED_IPS = 256  # addresses listed on a device row (device_ips keeps the full history)
MAX_STORED_HOSTNAMES = 64  # names listed on a device row
MAX_EVIDENCE_PER_DEVICE = 512  # distinct evidence rows kept per device across all captures
MAX_VALUE_LEN = 512  # evidence values are cut to the column width
CLASSIFIED_COLUMNS = ("vendor", "model", "device_type", "category", "os", "firmware")  # DeviceRow columns
PG_WRITER_LOCK = 0x10_7A_2D_E4  # pg_advisory_xact_lock id serialising device merges of concurrent runs


@dataclass(slots=True)
class Evidence:
    """One deduplicated identity fact about a device (a row of the ``evidence`` table)."""

    device_key: str
    proto: str
    kind: str
    field: str
    value: str
    first_seen: float
    last_seen: float
    count: int


def _insert(session: Session) -> Any:
    """The dialect's INSERT construct (both offer ``on_conflict_do_update``), imported from the session's
    dialect only: SQLAlchemy loads the other one's package (~70 ms CPU for PostgreSQL's) only when asked."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert  # noqa: PLC0415

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert  # noqa: PLC0415

    return insert


def _least(session: Session, a: Any, b: Any) -> ColumnElement[Any]:
    return func.least(a, b) if session.get_bind().dialect.name == "postgresql" else func.min(a, b)


def _greatest(session: Session, a: Any, b: Any) -> ColumnElement[Any]:
    return func.greatest(a, b) if session.get_bind().dialect.name == "postgresql" else func.max(a, b)


def find_analysed(session: Session, sha256: str) -> CaptureRow | None:
    """The earlier successful analysis of a file with these bytes, if any."""
    stmt = (
        select(CaptureRow)
        .where(CaptureRow.sha256 == sha256, CaptureRow.status.in_(("complete", "partial")))
        .order_by(CaptureRow.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def begin_capture(session: Session, *, path: str, sha256: str | None, size: int, fmt: str) -> CaptureRow:
    row = CaptureRow(
        path=path, sha256=sha256, size=size, format=fmt, started=time.time(), finished=None,
        status="failed", packets=0, flows=0, observations=0, devices=0, error=None, stats={},
    )
    session.add(row)
    session.flush()  # assigns row.id for the flows' capture_id
    return row


def finish_capture(
    row: CaptureRow, *, status: str, packets: int, flows: int, observations: int, devices: int,
    error: str | None, stats: dict[str, Any],
) -> None:
    row.status = status
    row.packets = packets
    row.flows = flows
    row.observations = observations
    row.devices = devices
    row.error = error
    row.stats = stats
    row.finished = time.time()


def _flow_row(flow: Flow, capture_id: int | None) -> dict[str, Any]:
    row = dict(zip(FLOW_COLUMNS, flow_values(flow, capture_id), strict=True))
    row["extra"] = json_safe(flow.extra) if flow.extra else {}
    return row


_FLOW_KEY = ("vlan", "ip_proto", "a_ip", "a_port", "b_ip", "b_port", "first_seen")
_FLOW_COUNTERS = ("last_seen", "a_mac", "b_mac", "pkts_ab", "pkts_ba", "bytes_ab", "bytes_ba", "payload_ab",
                  "payload_ba", "tcp_flags_ab", "tcp_flags_ba", "app", "end_reason", "extra")


class FlowWriter:
    """Buffers closed flows and upserts them in chunks of :data:`FLOW_CHUNK`.

    A flow already stored (same natural key) gets the counters of the newer sighting: the same
    capture analysed again yields the same numbers, so re-analysis is idempotent. The hot path holds
    the Flow records themselves and writes each chunk with one Core ``executemany`` (no ORM objects),
    on SQLite through the sqlite3 cursor (:mod:`~iotwarden.store.flow_sqlite`). ``bulk``: one file's
    load, whose plain indexes SQLite may set aside until :meth:`finish` (or the commit) builds them.
    """

    def __init__(self, session: Session, capture_id: int | None, *, max_probes: int | None = None,
                 bulk: bool = False) -> None:
        self.session = session
        self.capture_id = capture_id
        self._buf: dict[tuple[Any, ...], Flow] = {}
        self.written = 0
        self.max_probes = max_probes  # None: every probe stored (see :data:`MAX_PROBE_FLOWS`)
        self.probes = 0  # probes kept for storing
        self.probes_not_stored = 0
        self._stmt: Any = None
        self._raw: SqliteFlowRows | None = None
        self._raw_decided = False
        self._bulk = bulk

    def add(self, flows: Iterable[Flow]) -> None:
        buf = self._buf
        limit = self.max_probes
        for flow in flows:
            if limit is not None and is_probe(flow):
                if self.probes >= limit:
                    self.probes_not_stored += 1
                    continue
                self.probes += 1
            # the same key twice in one statement is an error on PostgreSQL: the later wins
            buf[(flow.vlan or 0, flow.ip_proto, flow.a_ip, flow.a_port or 0, flow.b_ip, flow.b_port or 0,
                 flow.first_seen)] = flow
            if len(buf) >= FLOW_CHUNK:
                self.flush()

    def _statement(self) -> Any:
        if self._stmt is None:
            ins = _insert(self.session)(FlowRow.__table__)
            self._stmt = ins.on_conflict_do_update(
                index_elements=list(_FLOW_KEY), set_={c: ins.excluded[c] for c in _FLOW_COUNTERS}
            )
        return self._stmt

    def _sqlite(self) -> SqliteFlowRows | None:
        """The raw sqlite3 path, when the session is on SQLite with SQLAlchemy's default JSON text."""
        if not self._raw_decided:
            self._raw_decided = True
            dialect = self.session.get_bind().dialect
            default_json = getattr(dialect, "_json_serializer", None) is None
            if dialect.name == "sqlite" and dialect.driver == "pysqlite" and default_json:
                self._raw = SqliteFlowRows(self._statement(), dialect, FlowRow.__table__, bulk=self._bulk)
        return self._raw

    def flush(self) -> None:
        if not self._buf:
            return
        capture_id = self.capture_id
        raw = self._sqlite()
        if raw is not None:
            rows: list[Any] = raw.rows(self._buf.values(), capture_id)
            raw.execute(self.session, rows)
        else:
            rows = [_flow_row(flow, capture_id) for flow in self._buf.values()]
            self.session.connection().execute(self._statement(), rows)
        self._buf.clear()
        self.written += len(rows)

    def finish(self) -> None:
        """The last chunk written and the table's indexes whole again (call before the commit)."""
        self.flush()
        if self._raw is not None:
            self._raw.finish(self.session)


def is_probe(flow: Flow) -> bool:
    """A TCP connection attempt that carried no payload and got at most one packet back (unanswered,
    or refused with a RST): what a scan leaves, one per target."""
    return flow.ip_proto == 6 and flow.payload_ab == 0 and flow.payload_ba == 0 and flow.pkts_ba <= 1


def _chunks(items: Sequence[str], size: int = KEY_CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def bounded_union(old: Iterable[str], new: Iterable[str], limit: int) -> list[str]:
    """Old values first (they were kept before), then new ones, up to ``limit``; sorted."""
    out = list(dict.fromkeys(old))
    for value in new:
        if len(out) >= limit:
            break
        if value not in out:
            out.append(value)
    return sorted(out)


def _merge_attributes(old: dict[str, Any], new: dict[str, set[str]]) -> dict[str, list[str]]:
    out = {k: list(v) for k, v in old.items()}
    for name, values in new.items():
        out[name] = bounded_union(out.get(name, []), sorted(values), MAX_STORED_VALUES_PER_ATTRIBUTE)
    return dict(sorted(out.items()))


def classification_columns(dev: Device) -> dict[str, Any]:
    """DeviceRow columns for a device's classification (None where unknown); empty when unclassified."""
    if not dev.classification:
        return {}
    out: dict[str, Any] = {"classification": {k: c.to_dict() for k, c in sorted(dev.classification.items())}}
    for name in CLASSIFIED_COLUMNS:
        found = dev.classification.get(name)
        out[name] = found.value[:CLASS_LEN] if found else None
        out[f"{name}_confidence"] = round(found.confidence, 4) if found else None
    return out


UNCLASSIFIED: dict[str, Any] = {
    "classification": {}, **dict.fromkeys(CLASSIFIED_COLUMNS),
    **dict.fromkeys(f"{n}_confidence" for n in CLASSIFIED_COLUMNS),
}


Reclassify = Callable[[Device], dict[str, Conclusion]]


def _knows_more(stored: dict[str, Any], dev: Device) -> bool:
    """Whether the store holds attribute values of a device that this run did not see."""
    return any(not set(values) <= dev.attributes.get(name, set()) for name, values in stored.items())


def merge_devices(session: Session, devices: Sequence[Device], *, reclassify: Reclassify | None = None) -> None:
    """Merge this capture's devices into the stored ones (union of sets, min/max times, counters added).

    With ``reclassify`` (the classifier), a stored device is classified again over everything known
    of it, its stored attributes and this run's, whenever the store knows more than the run: a PLC
    that served Modbus in one capture and only sent ARP in the next stays category OT. The run's
    devices get that classification too (what the run reports is what is stored). Without it, the
    run's conclusions replace the stored ones.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITER_LOCK})
    by_key = {d.key: d for d in devices}
    existing: dict[str, DeviceRow] = {}
    for chunk in _chunks(sorted(by_key)):
        existing.update((r.key, r) for r in session.scalars(select(DeviceRow).where(DeviceRow.key.in_(chunk))))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for key, dev in by_key.items():
        row = existing.get(key)
        if row is None:
            inserts.append({
                "key": key, "mac": dev.mac, "first_seen": dev.first_seen, "last_seen": dev.last_seen,
                "ips": bounded_union([], sorted(dev.ips), MAX_STORED_IPS),
                "hostnames": bounded_union([], sorted(dev.hostnames), MAX_STORED_HOSTNAMES),
                "attributes": _merge_attributes({}, dev.attributes),
                "protocols": sorted(dev.protocols), "packets": dev.packets, "bytes": dev.bytes,
                **(classification_columns(dev) or UNCLASSIFIED),  # one set of columns for every row
            })
            continue
        attributes = _merge_attributes(row.attributes, dev.attributes)
        if reclassify is not None and _knows_more(row.attributes, dev):
            dev.classification = reclassify(Device(
                key=key, first_seen=dev.first_seen, last_seen=dev.last_seen, mac=row.mac or dev.mac,
                attributes={name: set(values) for name, values in attributes.items()}))
        updates.append({
            "id": row.id, "mac": row.mac or dev.mac,
            "first_seen": min(row.first_seen, dev.first_seen), "last_seen": max(row.last_seen, dev.last_seen),
            "ips": bounded_union(row.ips, sorted(dev.ips), MAX_STORED_IPS),
            "hostnames": bounded_union(row.hostnames, sorted(dev.hostnames), MAX_STORED_HOSTNAMES),
            "attributes": attributes,
            "protocols": sorted(set(row.protocols) | dev.protocols),
            "packets": row.packets + dev.packets, "bytes": row.bytes + dev.bytes,
            # the conclusions over everything known (reclassify), else the latest run's replace the earlier ones
            **(classification_columns(dev) or (UNCLASSIFIED if reclassify is not None else {})),
        })
    if inserts:  # one Core executemany (the rows are whole: every column): no ORM bookkeeping per row
        session.connection().execute(_insert(session)(DeviceRow.__table__), inserts)
    if updates:
        session.execute(update(DeviceRow), updates)  # ORM bulk UPDATE by primary key


def merge_device_ips(session: Session, history: dict[str, dict[str, tuple[float, float]]]) -> None:
    """Upsert (device, ip) first/last seen times. An address of ``history`` (EndpointResolver.ip_history) is
    zoned within its broadcast domain (``10.0.0.5%vlan10``, inventory/addresses.zoned): stored as its address
    and ``domain``, one row per device and address (a MAC seen with one address on two VLANs: the first
    domain in sort order, the times of both)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for key, ips in history.items():
        for at, (first, last) in sorted(ips.items()):
            ip, _, domain = at.partition("%")
            row = merged.get((key, ip))
            if row is None:
                merged[(key, ip)] = {"device_key": key, "ip": ip, "domain": domain, "first_seen": first,
                                     "last_seen": last}
            else:
                row["first_seen"], row["last_seen"] = min(row["first_seen"], first), max(row["last_seen"], last)
    rows = list(merged.values())
    if not rows:
        return
    ins = _insert(session)(DeviceIpRow)
    stmt = ins.on_conflict_do_update(
        index_elements=["device_key", "ip"],
        set_={
            "first_seen": _least(session, DeviceIpRow.first_seen, ins.excluded.first_seen),
            "last_seen": _greatest(session, DeviceIpRow.last_seen, ins.excluded.last_seen),
        },
    )
    session.execute(stmt, rows)


def merge_evidence(session: Session, evidence: Sequence[Evidence]) -> int:
    """Upsert evidence (counts added, times widened); returns how many new facts the limit dropped.

    At most :data:`MAX_EVIDENCE_PER_DEVICE` distinct rows per device: once a device is full, facts
    already stored still get their counters updated, new ones are dropped and counted.
    """
    by_device: dict[str, list[Evidence]] = {}
    for ev in evidence:  # cut to the column widths: PostgreSQL refuses longer text
        ev.proto, ev.kind, ev.field, ev.value = ev.proto[:32], ev.kind[:64], ev.field[:64], ev.value[:MAX_VALUE_LEN]
        by_device.setdefault(ev.device_key, []).append(ev)
    counts: dict[str, int] = {}
    for chunk in _chunks(sorted(by_device)):
        stmt = select(EvidenceRow.device_key, func.count()).where(EvidenceRow.device_key.in_(chunk))
        counts.update({k: int(n) for k, n in session.execute(stmt.group_by(EvidenceRow.device_key))})
    rows: list[dict[str, Any]] = []
    dropped = 0
    for key, items in by_device.items():
        room = MAX_EVIDENCE_PER_DEVICE - counts.get(key, 0)
        if len(items) > room:  # rare: read what is stored to tell updates from new facts
            stored = {
                (r.proto, r.kind, r.field, r.value)
                for r in session.scalars(select(EvidenceRow).where(EvidenceRow.device_key == key))
            }
            kept = []
            for ev in items:
                if (ev.proto, ev.kind, ev.field, ev.value) in stored:
                    kept.append(ev)
                elif room > 0:
                    kept.append(ev)
                    room -= 1
                else:
                    dropped += 1
            items = kept
        rows.extend(
            {"device_key": ev.device_key, "proto": ev.proto, "kind": ev.kind, "field": ev.field,
             "value": ev.value, "first_seen": ev.first_seen, "last_seen": ev.last_seen, "count": ev.count}
            for ev in items
        )
    if rows:
        table = EvidenceRow.__table__
        ins = _insert(session)(table)
        stmt = ins.on_conflict_do_update(
            index_elements=["device_key", "proto", "kind", "field", "value"],
            set_={
                "count": table.c.count + ins.excluded.count,
                "first_seen": _least(session, table.c.first_seen, ins.excluded.first_seen),
                "last_seen": _greatest(session, table.c.last_seen, ins.excluded.last_seen),
            },
        )
        session.connection().execute(stmt, rows)
    return dropped


def snapshot_facts(dev: Device) -> dict[str, Any]:
    """The facts of a device that ``devices diff`` compares between runs."""
    facts: dict[str, Any] = {name: dev.conclusion(name) for name in CLASSIFIED_COLUMNS}
    facts["ips"] = sorted(dev.ips)[:MAX_STORED_IPS]
    facts["hostnames"] = sorted(dev.hostnames)[:MAX_STORED_HOSTNAMES]
    return facts


def write_snapshot(session: Session, capture_id: int, devices: Sequence[Device]) -> None:
    """Record what this run concluded about each device it saw (one row per device)."""
    rows = [{"capture_id": capture_id, "device_key": d.key, "facts": snapshot_facts(d)} for d in devices]
    if rows:
        session.execute(_insert(session)(SnapshotRow).on_conflict_do_nothing(), rows)
