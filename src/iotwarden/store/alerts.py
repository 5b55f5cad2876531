"""Persisting alerts in the ``alerts`` table (store/alert_models.py) and managing their lifecycle.

An alert row is one pipeline alert, found again by its ``uid`` (kept in ``evidence`` with the other
fields the table has no column for: key, addresses, ATT&CK ids, the evidence flows and observations),
so writing the same alert again updates it (count, last seen, severity, evidence) and never duplicates.
A person's decision (acknowledged, closed, suppressed) is never undone by an update.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from iotwarden.detect.pipeline import Suppression, transition
from iotwarden.errors import ConfigError
from iotwarden.model.alert import Alert
from iotwarden.model.finding import SEVERITIES
from iotwarden.store.alert_models import CHECK_ID_LEN, AlertRow
from iotwarden.store.schema import KEY_LEN

MAX_LIST = 10_000  # rows one listing returns at most
_META = ("uid", "key", "src_ip", "dst_ip", "mitre", "flows", "observations")


def _evidence(alert: Alert) -> dict[str, Any]:
    return {"uid": alert.uid, "key": alert.key, "src_ip": alert.src_ip, "dst_ip": alert.dst_ip,
            "mitre": list(alert.mitre), "facts": dict(alert.evidence), "flows": list(alert.flows),
            "observations": list(alert.observations)}


def row_to_alert(row: AlertRow) -> Alert:
    """The Alert a row holds (``evidence`` unpacked back into its fields)."""
    ev = dict(row.evidence or {})
    return Alert(id=row.detector_id, title=row.title, severity=row.severity,  # type: ignore[arg-type]
                 subject=row.device_key or "", key=str(ev.get("key") or ""), src_ip=ev.get("src_ip"),
                 dst_ip=ev.get("dst_ip"), mitre=list(ev.get("mitre") or []), evidence=dict(ev.get("facts") or {}),
                 flows=list(ev.get("flows") or []), observations=list(ev.get("observations") or []),
                 first_seen=row.created, last_seen=row.updated, count=int(row.count),
                 status=row.status,  # type: ignore[arg-type]
                 suppressed=bool(row.suppressed), uid=str(ev.get("uid") or ""))


def upsert_alerts(session: Session, alerts: Iterable[Alert]) -> int:
    """Insert new alerts and update known ones (same uid); returns how many rows were written."""
    items = [a for a in alerts if a.uid]
    if not items:
        return 0
    subjects = sorted({a.subject[:KEY_LEN] for a in items})
    known: dict[str, AlertRow] = {}
    for i in range(0, len(subjects), 500):
        stmt = select(AlertRow).where(AlertRow.device_key.in_(subjects[i : i + 500]))
        for row in session.scalars(stmt):
            uid = (row.evidence or {}).get("uid")
            if uid:
                known[uid] = row
    for alert in items:
        found = known.get(alert.uid)
        if found is None:
            row = AlertRow(detector_id=alert.id[:CHECK_ID_LEN], title=alert.title[:256], severity=alert.severity,
                           device_key=alert.subject[:KEY_LEN], evidence=_evidence(alert), status=alert.status,
                           suppressed=alert.suppressed, created=alert.first_seen, updated=alert.last_seen,
                           count=alert.count)
            session.add(row)
            known[alert.uid] = row
            continue
        row = found
        row.count = max(row.count, alert.count)
        row.created = min(row.created, alert.first_seen)
        row.updated = max(row.updated, alert.last_seen)
        if SEVERITIES.index(alert.severity) > SEVERITIES.index(row.severity):
            row.severity, row.title = alert.severity, alert.title[:256]
        row.evidence = _evidence(alert)
        row.suppressed = row.suppressed or alert.suppressed
    session.flush()
    return len(items)


def list_alerts(session: Session, *, status: str | None = None, detector: str | None = None,
                device: str | None = None, include_suppressed: bool = False, limit: int = MAX_LIST) -> list[Alert]:
    """Stored alerts, newest activity first, filtered by status, detector id prefix and device key."""
    stmt = select(AlertRow)
    if status:
        stmt = stmt.where(AlertRow.status == status)
    if detector:
        stmt = stmt.where(AlertRow.detector_id.startswith(detector))
    if device:
        stmt = stmt.where(AlertRow.device_key == device)
    if not include_suppressed:
        stmt = stmt.where(AlertRow.suppressed.is_(False))
    stmt = stmt.order_by(AlertRow.updated.desc(), AlertRow.id.desc()).limit(min(limit, MAX_LIST))
    return [_with_id(row) for row in session.scalars(stmt)]


def _with_id(row: AlertRow) -> Alert:
    alert = row_to_alert(row)
    alert.evidence.setdefault("_row", row.id)
    return alert


def get_alert(session: Session, alert_id: int) -> AlertRow:
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise ConfigError(f"no alert with id {alert_id}")
    return row


def set_status(session: Session, alert_id: int, status: str) -> AlertRow:
    """Move one stored alert along new -> acknowledged -> closed (ConfigError when not allowed)."""
    row = get_alert(session, alert_id)
    alert = row_to_alert(row)
    transition(alert, status)
    row.status = alert.status
    return row


def suppress_matching(session: Session, rules: Sequence[Suppression], now: float) -> int:
    """Mark the open stored alerts that a rule matches as suppressed; returns how many changed."""
    changed = 0
    for row in session.scalars(select(AlertRow).where(AlertRow.suppressed.is_(False), AlertRow.status != "closed")):
        alert = row_to_alert(row)
        if any(rule.matches(alert, now) for rule in rules):
            row.suppressed = True
            changed += 1
    return changed
