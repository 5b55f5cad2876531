"""The response-action log: every action a playbook or a person took (who, what, when, parameters,
result), read back as :class:`ActionRecord`, and what can be undone and why not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from iotwarden.errors import ConfigError
from iotwarden.store.respond_models import NAME_LEN, UID_LEN, ActionRow
from iotwarden.store.schema import KEY_LEN

ACTION_STATUSES = ("done", "failed", "skipped")
MAX_LIST = 10_000  # actions one listing returns at most
# what undoing each reversible action is called in the log
UNDO_KINDS = {"quarantine": "release_quarantine", "open_case": "close_case", "tag_device": "untag_device"}
# why the others cannot be undone, and what to do instead
IRREVERSIBLE = {
    "revoke_certificate": "certificate revocation is permanent (RFC 5280 §3.3: a revoked certificate stays on the "
                          "CRL); issue the device a new certificate instead (iotwarden identity issue, or EST "
                          "re-enrolment, RFC 7030 §4.2.2)",
    "notify_webhook": "a notification that was sent cannot be recalled; send a follow-up instead",
}
REDACTED = "<redacted>"


@dataclass(frozen=True, slots=True)
class ActionRecord:
    id: int
    ts: float
    actor: str
    kind: str
    playbook: str | None
    alert_uid: str | None
    device_key: str | None
    case_id: int | None
    params: dict[str, Any]
    status: str
    result: dict[str, Any]
    reversible: bool
    undone_at: float | None
    undone_by: str | None
    undo_of: int | None

    @classmethod
    def from_row(cls, row: ActionRow) -> ActionRecord:
        return cls(row.id, row.ts, row.actor, row.kind, row.playbook, row.alert_uid, row.device_key, row.case_id,
                   dict(row.params or {}), row.status, dict(row.result or {}), bool(row.reversible), row.undone_at,
                   row.undone_by, row.undo_of)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def redact(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as logged: webhook header values (tokens) and signing secrets are never written to the store."""
    out = dict(params)
    if "secret" in out:
        out["secret"] = REDACTED
    if isinstance(out.get("headers"), dict):
        out["headers"] = dict.fromkeys(out["headers"], REDACTED)
    return out


def log_action(session: Session, *, ts: float, actor: str, kind: str, params: dict[str, Any], status: str,
               result: dict[str, Any], reversible: bool = False, playbook: str | None = None,
               alert_uid: str | None = None, device_key: str | None = None, case_id: int | None = None,
               undo_of: int | None = None) -> ActionRow:
    if status not in ACTION_STATUSES:
        raise ConfigError(f"action status {status!r}: one of {', '.join(ACTION_STATUSES)}")
    row = ActionRow(ts=ts, actor=actor[:NAME_LEN], kind=kind[:NAME_LEN],
                    playbook=playbook[:NAME_LEN] if playbook else None,
                    alert_uid=alert_uid[:UID_LEN] if alert_uid else None,
                    device_key=device_key[:KEY_LEN] if device_key else None, case_id=case_id, params=redact(params),
                    status=status, result=result, reversible=reversible and status == "done", undone_at=None,
                    undone_by=None, undo_of=undo_of)
    session.add(row)
    session.flush()
    return row


def get_action(session: Session, action_id: int) -> ActionRow:
    row = session.get(ActionRow, action_id)
    if row is None:
        raise ConfigError(f"no action with id {action_id}")
    return row


def check_undoable(row: ActionRow) -> None:
    """Raise :class:`ConfigError` saying why ``row`` cannot be undone (nothing when it can)."""
    if row.kind in IRREVERSIBLE:
        raise ConfigError(f"action {row.id} ({row.kind}) cannot be undone: {IRREVERSIBLE[row.kind]}")
    if row.undone_at is not None:
        raise ConfigError(f"action {row.id} was already undone by {row.undone_by}")
    if row.status != "done":
        raise ConfigError(f"action {row.id} ({row.kind}) was {row.status}: there is nothing to undo")
    if row.kind not in UNDO_KINDS or not row.reversible:
        why = row.result.get("note") if isinstance(row.result, dict) else None
        raise ConfigError(f"action {row.id} ({row.kind}) cannot be undone{': ' + why if why else ''}")


def list_actions(session: Session, *, device: str | None = None, kind: str | None = None,
                 case_id: int | None = None, limit: int = MAX_LIST) -> list[ActionRecord]:
    """Logged actions, newest first."""
    stmt = select(ActionRow)
    if device:
        stmt = stmt.where(ActionRow.device_key == device)
    if kind:
        stmt = stmt.where(ActionRow.kind == kind)
    if case_id is not None:
        stmt = stmt.where(ActionRow.case_id == case_id)
    stmt = stmt.order_by(ActionRow.ts.desc(), ActionRow.id.desc()).limit(min(limit, MAX_LIST))
    return [ActionRecord.from_row(r) for r in session.scalars(stmt)]
