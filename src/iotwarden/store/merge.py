"""Merging one stored device into another (issue #3): every row that names device A by its key moves to
device B or is merged with B's, A's device row is folded into B's, and A stays as an alias of B
(``device_aliases``) so that lookups of A find B and say so. One call, in the caller's transaction.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from iotwarden.errors import StoreError
from iotwarden.model import Device
from iotwarden.model.device import Conclusion
from iotwarden.model.finding import Finding
from iotwarden.store import writer
from iotwarden.store.alert_models import ApprovalRow, FindingRow
from iotwarden.store.findings import row_to_finding, upsert_findings
from iotwarden.store.inventory_models import DeviceAliasRow, SnapshotRow
from iotwarden.store.schema import DeviceIpRow, DeviceRow, EvidenceRow
from iotwarden.store.writer import PG_WRITER_LOCK, UNCLASSIFIED, Reclassify, bounded_union, classification_columns

# The per-device storage limits are the writer's, read from it at each merge (writer.MAX_EVIDENCE_PER_DEVICE,
# MAX_STORED_*): one definition, so a merge bounds a device as a run's writes do, whatever the limit is set to.

DROPPED_KEY = "iotwarden.merge.dropped"  # session.info: rows a merge dropped at a storage limit, per table
REASONS = ("manual", "address_tenure")  # an analyst's `devices merge`; a run's address history (priors.py)

Mover = Callable[[Session, str, str], int]


@dataclass(slots=True)
class MergeResult:
    """What :func:`merge_device` did: rows moved or merged per table (``already``: A was merged before)."""

    alias: str
    into: str
    reason: str
    moved: dict[str, int] = field(default_factory=dict)
    already: bool = False
    classification: dict[str, Conclusion] | None = None  # B's conclusions drawn again (``reclassify``)
    dropped: dict[str, int] = field(default_factory=dict)  # A's rows past B's storage limits, per table

    def to_dict(self) -> dict[str, Any]:
        return {"alias": self.alias, "into": self.into, "reason": self.reason, "moved": dict(self.moved),
                "already": self.already, "dropped": dict(self.dropped)}


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


def _model(module: str, name: str) -> Any:
    """Row class ``name`` of ``iotwarden.store.<module>``, imported when a merge first needs it: declaring
    the firmware OTA, identity and response tables' classes (~0.04 CPU s) is left out of every run that
    merges nothing (``analyze`` imports this module for the address fold)."""
    return getattr(importlib.import_module(f"iotwarden.store.{module}"), name)


def _renamer(module: str, name: str, column: str) -> Mover:
    """A column whose rows simply take B's key (no uniqueness involves it), of row class ``name`` in
    ``iotwarden.store.<module>`` (:func:`_model`)."""

    def move(session: Session, a: str, b: str) -> int:
        model = _model(module, name)
        return _rowcount(session.execute(update(model).where(getattr(model, column) == a).values({column: b})))
    return move


def _by(session: Session, model: Any, key: str, *, column: str = "device_key") -> list[Any]:
    return list(session.scalars(select(model).where(getattr(model, column) == key)))


def _move_ips(session: Session, a: str, b: str) -> int:
    """Address tenures: one address held by both becomes one tenure spanning both."""
    held = {r.ip: r for r in _by(session, DeviceIpRow, b)}
    rows = _by(session, DeviceIpRow, a)
    for row in rows:
        mine = held.get(row.ip)
        if mine is None:
            row.device_key = b
            continue
        mine.first_seen, mine.last_seen = min(mine.first_seen, row.first_seen), max(mine.last_seen, row.last_seen)
        session.delete(row)
    session.flush()
    return len(rows)


def _move_evidence(session: Session, a: str, b: str) -> int:
    """Identity facts: the same fact's counts added and times widened; A's other facts moved while B has
    room under writer.MAX_EVIDENCE_PER_DEVICE (the most often seen first), the rest dropped and counted
    (``MergeResult.dropped``), as a run's new facts are once a device is full."""
    held = {(r.proto, r.kind, r.field, r.value): r for r in _by(session, EvidenceRow, b)}
    room = writer.MAX_EVIDENCE_PER_DEVICE - len(held)
    rows = sorted(_by(session, EvidenceRow, a), key=lambda r: (-r.count, -r.last_seen, r.proto, r.kind, r.field,
                                                               r.value))
    dropped = 0
    for row in rows:
        mine = held.get((row.proto, row.kind, row.field, row.value))
        if mine is None:
            if room > 0:
                row.device_key = b
                room -= 1
            else:
                session.delete(row)
                dropped += 1
            continue
        mine.count += row.count
        mine.first_seen, mine.last_seen = min(mine.first_seen, row.first_seen), max(mine.last_seen, row.last_seen)
        session.delete(row)
    if dropped:
        session.info.setdefault(DROPPED_KEY, {})["evidence"] = dropped
    session.flush()
    return len(rows)


def merge_facts(mine: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """One run's snapshot facts of two records of one device: lists united, B's conclusion where it has one."""
    out = dict(mine)
    for name, value in other.items():
        if isinstance(value, list):
            out[name] = sorted(set(out.get(name) or []) | set(value))
        elif out.get(name) is None:
            out[name] = value
    return out


def _move_snapshots(session: Session, a: str, b: str) -> int:
    """Per-run snapshots: a run that saw both records keeps one snapshot of their facts together."""
    held = {r.capture_id: r for r in _by(session, SnapshotRow, b)}
    rows = _by(session, SnapshotRow, a)
    for row in rows:
        mine = held.get(row.capture_id)
        if mine is None:
            row.device_key = b
            continue
        mine.facts = merge_facts(mine.facts or {}, row.facts or {})
        session.delete(row)
    session.flush()
    return len(rows)


def _move_findings(session: Session, a: str, b: str) -> int:
    """Findings: one B also has is a sighting of B's (findings.upsert_findings: worse severity, newest
    evidence, times widened, a resolved one reopened by a later sighting); the others move with their status."""
    held = {r.check_id for r in _by(session, FindingRow, b)}
    rows = _by(session, FindingRow, a)
    sightings: list[Finding] = []
    for row in rows:
        if row.check_id not in held:
            row.device_key = b
            continue
        found = row_to_finding(row)
        found.subject = b
        sightings.append(found)
        session.delete(row)
    session.flush()
    upsert_findings(session, sightings)
    return len(rows)


def _move_approval(session: Session, a: str, b: str) -> int:
    """Approval: B approved stays as it is, A's note added to its note; else A's approval is B's."""
    row = session.get(ApprovalRow, a)
    if row is None:
        return 0
    mine = session.get(ApprovalRow, b)
    if mine is None:
        session.add(ApprovalRow(device_key=b, approved_by=row.approved_by, approved_at=row.approved_at, note=row.note))
    else:
        also = f"also approved as {a} by {row.approved_by}" + (f": {row.note}" if row.note else "")
        mine.note = f"{mine.note}\n{also}" if mine.note else also
    session.delete(row)
    session.flush()
    return 1


def _move_managed(session: Session, a: str, b: str) -> int:
    """Firmware management state: the record with the later check-in is B's (the check-in log keeps both)."""
    from iotwarden.store.firmware_ota_models import ManagedDeviceRow  # noqa: PLC0415 - see _model
    row = session.get(ManagedDeviceRow, a)
    if row is None:
        return 0
    mine = session.get(ManagedDeviceRow, b)
    if mine is None or (row.last_checkin or 0.0) > (mine.last_checkin or 0.0):
        if mine is not None:
            session.delete(mine)
            session.flush()
        session.add(ManagedDeviceRow(device_key=b, model=row.model, version=row.version, zone=row.zone,
                                     sequence=row.sequence, sha256=row.sha256, last_checkin=row.last_checkin))
    session.delete(row)
    session.flush()
    return 1


def _move_keeping_one(session: Session, model: Any, a: str, b: str, *, key: str, keep_b: Any) -> int:
    """Move A's rows of ``model`` to B; where B holds a row with the same ``key`` attribute, one of the two
    stays: B's when ``keep_b(b_row, a_row)``, else A's (moved)."""
    held = {getattr(r, key): r for r in _by(session, model, b)}
    rows = _by(session, model, a)
    for row in rows:
        mine = held.get(getattr(row, key))
        if mine is not None and keep_b(mine, row):
            session.delete(row)
            continue
        if mine is not None:
            session.delete(mine)
            session.flush()
        row.device_key = b
    session.flush()
    return len(rows)


def _move_targets(session: Session, a: str, b: str) -> int:
    """Campaign targets: in a campaign holding both, the one updated last is B's (check-ins keep both)."""
    from iotwarden.store.firmware_ota_models import CampaignTargetRow  # noqa: PLC0415 - see _model
    return _move_keeping_one(session, CampaignTargetRow, a, b, key="campaign_id",
                             keep_b=lambda mine, row: mine.updated >= row.updated)


def _move_tags(session: Session, a: str, b: str) -> int:
    """Tags: a tag on both is kept once, as first added."""
    from iotwarden.store.respond_models import DeviceTagRow  # noqa: PLC0415 - see _model
    return _move_keeping_one(session, DeviceTagRow, a, b, key="tag",
                             keep_b=lambda mine, row: mine.added_at <= row.added_at)


def _move_case_entries(session: Session, a: str, b: str) -> int:
    """A case's "affected device" entries name B."""
    from iotwarden.store.respond_models import CaseEntryRow  # noqa: PLC0415 - see _model
    stmt = update(CaseEntryRow).where(CaseEntryRow.kind == "device", CaseEntryRow.ref == a).values(ref=b)
    return _rowcount(session.execute(stmt))


def _move_aliases(session: Session, a: str, b: str) -> int:
    """Keys merged into A before now name B (lookups take one step); B is a device again, not an alias."""
    session.execute(delete(DeviceAliasRow).where(DeviceAliasRow.alias_key == b))
    return _rowcount(session.execute(update(DeviceAliasRow).where(DeviceAliasRow.device_key == a)
                                     .values(device_key=b)))


# Every column that holds a device key, and how a merge moves it; tests/store/test_merge.py fails when a
# table gains a column that looks like one (named after devices, or as wide as devices.key) and is neither
# here nor in NOT_DEVICE_KEYS. ``devices.key`` itself is folded last (:func:`_fold_rows`).
MOVERS: dict[tuple[str, str], Mover] = {
    ("device_ips", "device_key"): _move_ips,
    ("evidence", "device_key"): _move_evidence,
    ("inventory_snapshots", "device_key"): _move_snapshots,
    ("findings", "device_key"): _move_findings,
    ("alerts", "device_key"): _renamer("alert_models", "AlertRow", "device_key"),
    ("approved_devices", "device_key"): _move_approval,
    ("fw_managed_devices", "device_key"): _move_managed,
    ("fw_campaign_targets", "device_key"): _move_targets,
    ("fw_checkins", "device_key"): _renamer("firmware_ota_models", "CheckinRow", "device_key"),
    ("response_actions", "device_key"): _renamer("respond_models", "ActionRow", "device_key"),
    ("cases", "device_key"): _renamer("respond_models", "CaseRow", "device_key"),
    ("case_entries", "ref"): _move_case_entries,
    ("device_tags", "device_key"): _move_tags,
    ("identity_certificates", "device_key"): _renamer("identity_models", "IssuedCertRow", "device_key"),
    ("identity_tokens", "device_key"): _renamer("identity_models", "EnrolmentTokenRow", "device_key"),
    ("device_aliases", "device_key"): _move_aliases,
}
FOLDED = ("devices", "key")  # A's row folded into B's, then deleted
NOT_DEVICE_KEYS = {
    ("device_aliases", "alias_key"): "the merged key itself (written by the merge, and cleared for B by _move_aliases)",
    ("identity_certificates", "device_id"): "the CA's name for the device in the certificate subject, not a store key",
    ("identity_tokens", "device_id"): "the CA's name for the device an enrolment token is for, not a store key",
    ("audit_log", "target"): "what a person did to which record then: history is not rewritten",
    ("devices", "device_type"): "a classified type, no key",
    ("approved_inventory", "device_type"): "a stated type, no key (entries match devices by MAC, address, name)",
    ("fw_kev", "name"): "a vulnerability's name, as wide as a device key by chance",
}


def _union(mine: list[str] | None, other: list[str] | None, limit: int | None = None) -> list[str]:
    """B's values and A's; with ``limit``, B's kept first and A's added while there is room (sorted)."""
    if limit is not None:
        return bounded_union(mine or [], sorted(other or []), limit)
    return sorted(set(mine or []) | set(other or []))


def _fold_rows(session: Session, row: DeviceRow, into: DeviceRow,
               reclassify: Reclassify | None) -> dict[str, Conclusion] | None:
    """B's row gets everything of A's row: sets united (within the writer's per-device limits, B's values
    first), times widened, counters added; its conclusions are drawn again over the union (``reclassify``),
    else B's stay (A's when B has none)."""
    per_attribute = writer.MAX_STORED_VALUES_PER_ATTRIBUTE
    attributes = {name: _union(into.attributes.get(name), row.attributes.get(name), per_attribute)
                  for name in sorted(set(into.attributes) | set(row.attributes))}
    into.mac = into.mac or row.mac
    into.first_seen, into.last_seen = min(into.first_seen, row.first_seen), max(into.last_seen, row.last_seen)
    into.ips = _union(into.ips, row.ips, writer.MAX_STORED_IPS)
    into.hostnames = _union(into.hostnames, row.hostnames, writer.MAX_STORED_HOSTNAMES)
    into.protocols = _union(into.protocols, row.protocols)
    into.attributes = attributes
    into.packets, into.bytes = into.packets + row.packets, into.bytes + row.bytes
    columns: dict[str, Any] = {}
    concluded: dict[str, Conclusion] | None = None
    if reclassify is not None:
        device = Device(key=into.key, first_seen=into.first_seen, last_seen=into.last_seen, mac=into.mac,
                        attributes={name: set(values) for name, values in attributes.items()})
        concluded = device.classification = reclassify(device)
        columns = classification_columns(device) or UNCLASSIFIED
    elif not into.classification and row.classification:
        columns = {name: getattr(row, name) for name in UNCLASSIFIED}
    for name, value in columns.items():
        setattr(into, name, value)
    session.delete(row)
    session.flush()
    return concluded


def merge_device(session: Session, alias: str, into: str, *, reason: str = "manual",
                 reclassify: Reclassify | None = None, now: float | None = None) -> MergeResult:
    """Merge stored device ``alias`` (A) into device ``into`` (B) in ``session``'s transaction.

    Every reference of A in :data:`MOVERS` moves to B (merged where B holds the same thing), A's row is
    folded into B's, and A is recorded as B's alias. Idempotent: A already merged into B gives
    ``already`` and changes nothing. Raises :class:`StoreError` when A is B, when either is no stored
    device, or when A was merged into another device.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown merge reason {reason!r}")
    if alias == into:
        raise StoreError(f"cannot merge device {alias!r} into itself")
    if session.get_bind().dialect.name == "postgresql":  # the same lock a run's device merge takes
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITER_LOCK})
    target = session.scalars(select(DeviceRow).where(DeviceRow.key == into)).first()
    if target is None:
        moved_to = session.get(DeviceAliasRow, into)
        hint = f" (it was merged into {moved_to.device_key!r})" if moved_to else ""
        raise StoreError(f"no stored device {into!r}{hint}")
    row = session.scalars(select(DeviceRow).where(DeviceRow.key == alias)).first()
    if row is None:
        done = session.get(DeviceAliasRow, alias)
        if done is not None and done.device_key == into:
            return MergeResult(alias, into, done.reason, dict(done.moved or {}), already=True)
        hint = f" (it was merged into {done.device_key!r})" if done else ""
        raise StoreError(f"no stored device {alias!r}{hint}")
    session.info.pop(DROPPED_KEY, None)
    moved = {table: n for (table, _), mover in MOVERS.items() if (n := mover(session, alias, into))}
    dropped: dict[str, int] = session.info.pop(DROPPED_KEY, {})
    concluded = _fold_rows(session, row, target, reclassify)
    moved[FOLDED[0]] = 1
    stamp = time.time() if now is None else now
    record = session.get(DeviceAliasRow, alias)
    if record is None:
        session.add(DeviceAliasRow(alias_key=alias, device_key=into, merged_at=stamp, reason=reason, moved=moved))
    else:  # A came back as a device after an earlier merge (a later run keyed it again)
        record.device_key, record.merged_at, record.reason, record.moved = into, stamp, reason, moved
    session.flush()
    return MergeResult(alias, into, reason, moved, classification=concluded, dropped=dropped)


def alias_of(session: Session, key: str) -> DeviceAliasRow | None:
    """The record of ``key``'s merge into another device, if it was merged (and is no device now)."""
    return session.get(DeviceAliasRow, key)


def aliases_of(session: Session, key: str) -> list[DeviceAliasRow]:
    """The keys merged into device ``key``, oldest merge first."""
    stmt = select(DeviceAliasRow).where(DeviceAliasRow.device_key == key)
    return list(session.scalars(stmt.order_by(DeviceAliasRow.merged_at, DeviceAliasRow.alias_key)))
