"""The findings and alerts queues: list, read, and act (acknowledge, close, suppress, set a finding's status).

Every action is audited in the same transaction and published on the bus (``alert.updated``,
``finding.updated``) so open consoles update.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import select

from iotwarden.api import accounts
from iotwarden.api import schemas as s
from iotwarden.api.accounts import Principal
from iotwarden.api.auth import READ, WRITE, client_ip, context
from iotwarden.api.views import alert_dict, finding_dict
from iotwarden.model.finding import SEVERITIES
from iotwarden.store.alert_models import ALERT_STATUSES, FINDING_STATUSES, AlertRow, FindingRow

router = APIRouter(tags=["findings and alerts"])
MAX_QUEUE_PAGE = 500
Severity = Literal["info", "low", "medium", "high", "critical"]
_RANK = {name: i for i, name in enumerate(SEVERITIES)}


@router.get("/findings", response_model=list[s.FindingOut], dependencies=[READ])
def list_findings(request: Request, *, status: Literal["open", "accepted", "resolved"] | None = None,
                  severity: Severity | None = None, device: Annotated[str | None, Query(max_length=300)] = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_QUEUE_PAGE)] = 100,
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[dict[str, Any]]:
    """Findings, most recently seen first."""
    stmt = select(FindingRow).order_by(FindingRow.last_seen.desc(), FindingRow.id.desc())
    if status:
        stmt = stmt.where(FindingRow.status == status)
    if severity:
        stmt = stmt.where(FindingRow.severity == severity)
    if device:
        stmt = stmt.where(FindingRow.device_key == device)
    with context(request).store.session() as session:
        return [finding_dict(r) for r in session.scalars(stmt.offset(offset).limit(limit))]


@router.get("/findings/{finding_id}", response_model=s.FindingOut, dependencies=[READ])
def get_finding(finding_id: s.RowId, request: Request) -> dict[str, Any]:
    with context(request).store.session() as session:
        row = session.get(FindingRow, finding_id)
        if row is None:
            raise HTTPException(404, "no such finding")
        return finding_dict(row)


@router.post("/findings/{finding_id}/status", response_model=s.FindingOut)
def set_finding_status(finding_id: s.RowId, body: s.FindingStatus, request: Request,
                       principal: Principal = WRITE) -> dict[str, Any]:
    """Open again, accept the risk, or mark resolved."""
    ctx = context(request)
    with ctx.store.transaction() as session:
        row = session.get(FindingRow, finding_id)
        if row is None:
            raise HTTPException(404, "no such finding")
        if body.status not in FINDING_STATUSES:  # pragma: no cover - the schema already refuses it
            raise HTTPException(422, "unknown status")
        before, row.status = row.status, body.status
        accounts.audit(session, principal.username, "finding.status", f"finding:{row.id}", ip=client_ip(request),
                       before=before, after=body.status, note=body.note)
        out = finding_dict(row)
    ctx.risk.clear()  # the device's risk band may have moved
    ctx.bus.publish("finding.updated", {"id": out["id"], "status": out["status"], "by": principal.username})
    return out


@router.get("/alerts", response_model=list[s.AlertOut], dependencies=[READ])
def list_alerts(request: Request, *, status: Literal["new", "acknowledged", "closed"] | None = None,
                severity: Severity | None = None, device: Annotated[str | None, Query(max_length=300)] = None,
                suppressed: Annotated[bool, Query(description="include suppressed alerts")] = False,
                limit: Annotated[int, Query(ge=1, le=MAX_QUEUE_PAGE)] = 100,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[dict[str, Any]]:
    """Alerts, newest first; suppressed ones only when asked."""
    stmt = select(AlertRow).order_by(AlertRow.created.desc(), AlertRow.id.desc())
    if status:
        stmt = stmt.where(AlertRow.status == status)
    if severity:
        stmt = stmt.where(AlertRow.severity == severity)
    if device:
        stmt = stmt.where(AlertRow.device_key == device)
    if not suppressed:
        stmt = stmt.where(AlertRow.suppressed.is_(False))
    with context(request).store.session() as session:
        return [alert_dict(r) for r in session.scalars(stmt.offset(offset).limit(limit))]


@router.get("/alerts/{alert_id}", response_model=s.AlertOut, dependencies=[READ])
def get_alert(alert_id: s.RowId, request: Request) -> dict[str, Any]:
    with context(request).store.session() as session:
        row = session.get(AlertRow, alert_id)
        if row is None:
            raise HTTPException(404, "no such alert")
        return alert_dict(row)


# action -> (new status or None to keep it, new suppressed flag or None to keep it)
_ACTIONS: dict[str, tuple[str | None, bool | None]] = {
    "acknowledge": ("acknowledged", None),
    "close": ("closed", None),
    "reopen": ("new", None),
    "suppress": (None, True),
    "unsuppress": (None, False),
}


def act_on_alert(request: Request, alert_id: int, action: str, note: str, principal: Principal) -> dict[str, Any]:
    """Apply one queue action to an alert, audit it and tell the open consoles; shared with the web UI."""
    status, suppressed = _ACTIONS[action]
    ctx = context(request)
    with ctx.store.transaction() as session:
        row = session.get(AlertRow, alert_id)
        if row is None:
            raise HTTPException(404, "no such alert")
        before = {"status": row.status, "suppressed": row.suppressed}
        if status is not None:
            if status not in ALERT_STATUSES:  # pragma: no cover - table above is fixed
                raise HTTPException(422, "unknown status")
            row.status = status
        if suppressed is not None:
            row.suppressed = suppressed
        row.updated = time.time()
        accounts.audit(session, principal.username, f"alert.{action}", f"alert:{row.id}", ip=client_ip(request),
                       before=before, note=note)
        out = alert_dict(row)
    ctx.bus.publish("alert.updated", {"id": out["id"], "status": out["status"], "suppressed": out["suppressed"],
                                      "by": principal.username})
    return out


def _register_action(action: str) -> None:
    def endpoint(alert_id: s.RowId, body: s.AlertAction, request: Request,
                 principal: Principal = WRITE) -> dict[str, Any]:
        return act_on_alert(request, alert_id, action, body.note, principal)

    endpoint.__name__ = f"alert_{action}"
    endpoint.__doc__ = f"{action.capitalize()} an alert (audited)."
    router.add_api_route(f"/alerts/{{alert_id}}/{action}", endpoint, methods=["POST"], response_model=s.AlertOut)


for _action in _ACTIONS:
    _register_action(_action)
