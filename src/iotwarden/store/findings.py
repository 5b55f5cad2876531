"""Writing and reading risk findings (the ``findings`` table of :mod:`iotwarden.store.alert_models`).

A finding is unique per (check id, device key): a check firing again on the same device widens
``first_seen``/``last_seen``, keeps the worse severity, takes the evidence of the newest sighting, and
reopens a ``resolved`` finding seen again after its resolution. ``accepted`` (risk accepted by a
person) stays accepted. Nothing is committed here: the caller's transaction decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import case, insert, select, update
from sqlalchemy.orm import Session

from iotwarden.model.finding import SEVERITIES, Finding
from iotwarden.store.alert_models import CHECK_ID_LEN, FindingRow
from iotwarden.store.limits import DEFAULT_FINDING_LIMIT
from iotwarden.store.schema import KEY_LEN

KEY_CHUNK = 500  # device keys per IN (...) lookup; well under SQLite's bound-parameter limit
TITLE_LEN = 256  # FindingRow.title width
DEFAULT_LIST_LIMIT = DEFAULT_FINDING_LIMIT  # findings listed when no limit is given (store/limits.py)


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def _chunks(items: Sequence[str], size: int = KEY_CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _merge(findings: Iterable[Finding]) -> dict[tuple[str, str], Finding]:
    """One finding per (check, device) within the batch itself."""
    out: dict[tuple[str, str], Finding] = {}
    for f in findings:
        key = (f.id[:CHECK_ID_LEN], f.subject[:KEY_LEN])
        old = out.get(key)
        if old is None:
            out[key] = f
            continue
        newer = f if f.last_seen >= old.last_seen else old
        out[key] = Finding(
            id=f.id, title=newer.title,
            severity=f.severity if _rank(f.severity) > _rank(old.severity) else old.severity,
            subject=f.subject, evidence=newer.evidence, remediation=newer.remediation, references=newer.references,
            first_seen=min(f.first_seen, old.first_seen), last_seen=max(f.last_seen, old.last_seen),
        )
    return out


def upsert_findings(session: Session, findings: Iterable[Finding]) -> int:
    """Insert or widen each finding (see the module docstring); returns how many rows were new."""
    batch = _merge(findings)
    if not batch:
        return 0
    keys = sorted({device for _, device in batch})
    existing: dict[tuple[str, str], FindingRow] = {}
    for chunk in _chunks(keys):
        for row in session.scalars(select(FindingRow).where(FindingRow.device_key.in_(chunk))):
            existing[(row.check_id, row.device_key)] = row
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for (check_id, device), f in batch.items():
        stored = existing.get((check_id, device))
        if stored is None:
            inserts.append({
                "check_id": check_id, "title": f.title[:TITLE_LEN], "severity": f.severity, "device_key": device,
                "evidence": f.evidence, "remediation": f.remediation, "references": list(f.references),
                "status": "open", "first_seen": f.first_seen, "last_seen": f.last_seen,
            })
            continue
        row = stored
        newer = f.last_seen >= row.last_seen
        status = "open" if row.status == "resolved" and f.last_seen > row.last_seen else row.status
        updates.append({
            "id": row.id, "title": (f.title if newer else row.title)[:TITLE_LEN],
            "severity": f.severity if _rank(f.severity) > _rank(row.severity) else row.severity,
            "evidence": f.evidence if newer else row.evidence,
            "remediation": f.remediation if newer else row.remediation,
            "references": list(f.references) if newer else row.references, "status": status,
            "first_seen": min(row.first_seen, f.first_seen), "last_seen": max(row.last_seen, f.last_seen),
        })
    if inserts:
        session.execute(insert(FindingRow), inserts)
    if updates:
        session.execute(update(FindingRow), updates)  # ORM bulk UPDATE by primary key
    return len(inserts)


def row_to_finding(row: FindingRow) -> Finding:
    """The model record of a stored finding (the workflow status is in :func:`finding_dict`)."""
    severity = row.severity if row.severity in SEVERITIES else "info"
    return Finding(id=row.check_id, title=row.title, severity=severity, subject=row.device_key,
                   evidence=dict(row.evidence or {}), remediation=row.remediation or "",
                   references=list(row.references or []), first_seen=row.first_seen, last_seen=row.last_seen)


def finding_dict(row: FindingRow) -> dict[str, Any]:
    """A stored finding as JSON: the model's fields plus ``status`` and the row ``id``."""
    return {"row_id": row.id, **row_to_finding(row).to_dict(), "status": row.status}


def list_findings(
    session: Session, *, device: str | None = None, check: str | None = None, severity: str | None = None,
    status: str | None = None, limit: int | None = DEFAULT_LIST_LIMIT,
) -> list[FindingRow]:
    """Stored findings, worst first (severity, then latest), filtered by each argument given.

    ``severity`` is a floor: ``high`` lists high and critical. ``check`` matches an id or an id prefix
    ending in a dot (``risk.tls.``).
    """
    stmt = select(FindingRow)
    if device is not None:
        stmt = stmt.where(FindingRow.device_key == device)
    if check is not None:
        stmt = stmt.where(FindingRow.check_id.startswith(check) if check.endswith(".")
                          else FindingRow.check_id == check)
    if severity is not None:
        stmt = stmt.where(FindingRow.severity.in_(SEVERITIES[_rank(severity):]))
    if status is not None:
        stmt = stmt.where(FindingRow.status == status)
    rank = case({name: i for i, name in enumerate(SEVERITIES)}, value=FindingRow.severity, else_=0)
    stmt = stmt.order_by(rank.desc(), FindingRow.last_seen.desc(), FindingRow.check_id, FindingRow.device_key)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
