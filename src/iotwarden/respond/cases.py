"""Incident cases: open, link alerts, devices and actions, add notes, close and reopen; each change is a
timeline entry in one of the NIST SP 800-61 Rev. 2 incident-response phases (§3, Figure 3-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from iotwarden.errors import ConfigError
from iotwarden.model.finding import SEVERITIES
from iotwarden.respond import phases
from iotwarden.store.respond_models import NAME_LEN, TITLE_LEN, CaseEntryRow, CaseRow
from iotwarden.store.schema import KEY_LEN

# NIST SP 800-61 Rev. 2 §3.1-§3.4: the four phases of the incident response life cycle, defined once in
# respond/phases.py, which the CLI's help shows without importing the store
PREPARATION, DETECTION, CONTAINMENT, POST_INCIDENT = (
    phases.PREPARATION, phases.DETECTION, phases.CONTAINMENT, phases.POST_INCIDENT)
PHASES = phases.PHASES
ENTRY_KINDS = ("alert", "device", "action", "note", "status")
CASE_STATUSES = ("open", "closed")
MAX_ENTRIES = 10_000  # timeline entries one case keeps; past it notes and links are refused
MAX_NOTE_CHARS = 10_000  # one note
MAX_LIST = 10_000  # cases one listing returns at most


@dataclass(slots=True)
class Case:
    id: int
    title: str
    severity: str
    status: str
    phase: str
    device_key: str | None
    opened_at: float
    opened_by: str
    updated_at: float
    closed_at: float | None
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "severity": self.severity, "status": self.status,
                "phase": self.phase, "device_key": self.device_key, "opened_at": self.opened_at,
                "opened_by": self.opened_by, "updated_at": self.updated_at, "closed_at": self.closed_at,
                "timeline": list(self.timeline)}


def _entry_dict(row: CaseEntryRow) -> dict[str, Any]:
    return {"ts": row.ts, "phase": row.phase, "kind": row.kind, "ref": row.ref, "text": row.text, "author": row.author}


def to_case(session: Session, row: CaseRow, *, timeline: bool = True) -> Case:
    entries: list[dict[str, Any]] = []
    if timeline:
        stmt = select(CaseEntryRow).where(CaseEntryRow.case_id == row.id).order_by(CaseEntryRow.ts, CaseEntryRow.id)
        entries = [_entry_dict(e) for e in session.scalars(stmt)]
    return Case(row.id, row.title, row.severity, row.status, row.phase, row.device_key, row.opened_at, row.opened_by,
                row.updated_at, row.closed_at, entries)


def get_row(session: Session, case_id: int) -> CaseRow:
    row = session.get(CaseRow, case_id)
    if row is None:
        raise ConfigError(f"no case with id {case_id}")
    return row


def open_case(session: Session, title: str, *, author: str, now: float, severity: str = "medium",
              device_key: str | None = None, phase: str = DETECTION) -> CaseRow:
    """A new open case (its first timeline entry says who opened it)."""
    if severity not in SEVERITIES:
        raise ConfigError(f"case severity {severity!r}: one of {', '.join(SEVERITIES)}")
    _phase(phase)
    row = CaseRow(title=title[:TITLE_LEN], severity=severity, status="open", phase=phase,
                  device_key=device_key[:KEY_LEN] if device_key else None, opened_at=now,
                  opened_by=author[:NAME_LEN], updated_at=now, closed_at=None)
    session.add(row)
    session.flush()
    add_entry(session, row, "status", f"opened: {title}", author=author, now=now)
    if device_key:
        add_entry(session, row, "device", "affected device", author=author, now=now, ref=device_key)
    return row


def open_for_device(session: Session, device_key: str) -> CaseRow | None:
    """The newest open case about ``device_key`` (playbooks add to it rather than open a duplicate)."""
    stmt = (select(CaseRow).where(CaseRow.device_key == device_key, CaseRow.status == "open")
            .order_by(CaseRow.id.desc()).limit(1))
    return session.scalars(stmt).first()


def _phase(phase: str) -> str:
    if phase not in PHASES:
        raise ConfigError(f"unknown incident phase {phase!r}: one of {', '.join(PHASES)}")
    return phase


def add_entry(session: Session, case: CaseRow, kind: str, text: str, *, author: str, now: float,
              ref: str | None = None, phase: str | None = None) -> CaseEntryRow:
    """Append to the timeline; an entry in a later phase moves the case into that phase."""
    if kind not in ENTRY_KINDS:
        raise ConfigError(f"unknown timeline entry kind {kind!r}: one of {', '.join(ENTRY_KINDS)}")
    phase = _phase(phase or case.phase)
    if len(text) > MAX_NOTE_CHARS:
        raise ConfigError(f"timeline text longer than {MAX_NOTE_CHARS} characters")
    count = session.scalar(select(func.count()).select_from(CaseEntryRow).where(CaseEntryRow.case_id == case.id))
    if (count or 0) >= MAX_ENTRIES:
        raise ConfigError(f"case {case.id} already has {MAX_ENTRIES} timeline entries")
    entry = CaseEntryRow(case_id=case.id, ts=now, phase=phase, kind=kind, ref=ref[:KEY_LEN] if ref else None,
                         text=text, author=author[:NAME_LEN])
    session.add(entry)
    if PHASES.index(phase) > PHASES.index(case.phase):
        case.phase = phase
    case.updated_at = max(case.updated_at, now)
    session.flush()
    return entry


def note(session: Session, case_id: int, text: str, *, author: str, now: float, phase: str | None = None) -> CaseRow:
    row = get_row(session, case_id)
    if not text.strip():
        raise ConfigError("a note needs some text")
    add_entry(session, row, "note", text, author=author, now=now, phase=phase)
    return row


def close(session: Session, case_id: int, *, author: str, now: float, reason: str = "") -> CaseRow:
    """Close a case; closing is the post-incident phase (lessons learned, §3.4)."""
    row = get_row(session, case_id)
    if row.status == "closed":
        raise ConfigError(f"case {case_id} is already closed")
    row.status, row.closed_at = "closed", now
    add_entry(session, row, "status", f"closed{': ' + reason if reason else ''}", author=author, now=now,
              phase=POST_INCIDENT)
    return row


def reopen(session: Session, case_id: int, *, author: str, now: float, reason: str = "") -> CaseRow:
    """Reopen a closed case; it goes back to detection & analysis (the life cycle is a loop, §3)."""
    row = get_row(session, case_id)
    if row.status == "open":
        raise ConfigError(f"case {case_id} is open already")
    row.status, row.closed_at, row.phase = "open", None, DETECTION
    add_entry(session, row, "status", f"reopened{': ' + reason if reason else ''}", author=author, now=now,
              phase=DETECTION)
    return row


def list_cases(session: Session, *, status: str | None = None, device: str | None = None,
               limit: int = MAX_LIST) -> list[Case]:
    """Cases, most recently updated first."""
    if status is not None and status not in CASE_STATUSES:
        raise ConfigError(f"case status {status!r}: one of {', '.join(CASE_STATUSES)}")
    stmt = select(CaseRow)
    if status:
        stmt = stmt.where(CaseRow.status == status)
    if device:
        stmt = stmt.where(CaseRow.device_key == device)
    stmt = stmt.order_by(CaseRow.updated_at.desc(), CaseRow.id.desc()).limit(min(limit, MAX_LIST))
    return [to_case(session, row, timeline=False) for row in session.scalars(stmt)]
