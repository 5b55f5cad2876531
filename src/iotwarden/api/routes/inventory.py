"""The approved inventory (devices the team accepts on the network), captures and live sources."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from sqlalchemy import select

from iotwarden.api import accounts
from iotwarden.api import schemas as s
from iotwarden.api.accounts import Principal
from iotwarden.api.auth import READ, WRITE, client_ip, context
from iotwarden.services.inventory import stats
from iotwarden.store.alert_models import ApprovalRow
from iotwarden.store.schema import CaptureRow, DeviceRow

router = APIRouter(tags=["inventory"])
DeviceKey = Annotated[str, Path(max_length=300)]


@router.get("/inventory/approved", response_model=list[s.ApprovalOut], dependencies=[READ])
def approved(request: Request) -> list[dict[str, Any]]:
    """Every approved device; ``present`` says whether the store still knows it."""
    with context(request).store.session() as session:
        stmt = (select(ApprovalRow, DeviceRow.id).outerjoin(DeviceRow, DeviceRow.key == ApprovalRow.device_key)
                .order_by(ApprovalRow.device_key))
        return [{"device_key": a.device_key, "approved_by": a.approved_by, "approved_at": a.approved_at,
                 "note": a.note, "present": dev_id is not None} for a, dev_id in session.execute(stmt)]


@router.put("/inventory/approved/{key}", response_model=s.ApprovalOut)
def approve(key: DeviceKey, body: s.Approval, request: Request, principal: Principal = WRITE) -> dict[str, Any]:
    """Approve a device the store knows (idempotent: approving again updates the note)."""
    ctx = context(request)
    with ctx.store.transaction() as session:
        if session.scalar(select(DeviceRow.id).where(DeviceRow.key == key)) is None:
            raise HTTPException(404, f"no device {key!r}")
        row = session.get(ApprovalRow, key)
        if row is None:
            row = ApprovalRow(device_key=key, approved_by=principal.username, approved_at=time.time(), note=body.note)
            session.add(row)
        else:
            row.note, row.approved_by, row.approved_at = body.note, principal.username, time.time()
        accounts.audit(session, principal.username, "inventory.approve", f"device:{key}", ip=client_ip(request),
                       note=body.note)
        out = {"device_key": row.device_key, "approved_by": row.approved_by, "approved_at": row.approved_at,
               "note": row.note, "present": True}
    ctx.bus.publish("inventory.approved", {"key": key, "by": principal.username})
    return out


@router.delete("/inventory/approved/{key}", status_code=204)
def unapprove(key: DeviceKey, request: Request, principal: Principal = WRITE) -> Response:
    ctx = context(request)
    with ctx.store.transaction() as session:
        row = session.get(ApprovalRow, key)
        if row is None:
            raise HTTPException(404, f"{key!r} is not approved")
        session.delete(row)
        accounts.audit(session, principal.username, "inventory.unapprove", f"device:{key}", ip=client_ip(request))
    ctx.bus.publish("inventory.unapproved", {"key": key, "by": principal.username})
    return Response(status_code=204)


@router.get("/captures", dependencies=[READ])
def captures(request: Request) -> dict[str, Any]:
    """Every analysed capture with its statistics, their totals and what the store holds."""
    return stats(context(request).store)


@router.get("/captures/{capture_id}", dependencies=[READ])
def capture(capture_id: s.RowId, request: Request) -> dict[str, Any]:
    with context(request).store.session() as session:
        if session.get(CaptureRow, capture_id) is None:
            raise HTTPException(404, "no such capture")
    return next(c for c in stats(context(request).store)["captures"] if c["id"] == capture_id)


@router.get("/sources", dependencies=[READ])
def sources(request: Request) -> list[dict[str, Any]]:
    """Live ingestion sources of this server (``iotwarden serve --capture``) and their progress."""
    return [dict(src) for src in context(request).sources]
