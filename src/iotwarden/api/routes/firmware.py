"""Firmware OTA over REST under /api/v1/firmware: signed releases, staged campaigns, golden hashes, and the
check-in endpoints of the device client (token scope ``ota:checkin``). A thin shell over
:class:`iotwarden.firmware.ota.service.CampaignService`; every change is audited."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select

from iotwarden.api import accounts
from iotwarden.api.accounts import Principal
from iotwarden.api.auth import READ, WRITE, client_ip, context, require
from iotwarden.errors import FirmwareError
from iotwarden.firmware.ota import rollout
from iotwarden.firmware.ota.service import CampaignService
from iotwarden.firmware.signing.golden import GoldenRegistry
from iotwarden.store.firmware_ota_models import (
    DEVICE_LEN,
    MODEL_LEN,
    NAME_LEN,
    VERSION_LEN,
    CampaignRow,
    GoldenHashRow,
    ReleaseRow,
)

router = APIRouter(prefix="/firmware", tags=["firmware OTA"])
CHECKIN = Depends(require("ota:checkin"))
MAX_ENVELOPE_BYTES = 64 * 1024  # a SUIT envelope is a manifest and signatures, never the image
MAX_LIST = 500  # releases, campaigns or golden hashes per page
MAX_URI_LEN = 2000
Name = Annotated[str, Field(min_length=1, max_length=NAME_LEN)]
CampaignName = Annotated[str, Path(min_length=1, max_length=NAME_LEN)]
Sha256 = Annotated[str, Field(min_length=64, max_length=64, pattern="^[0-9a-fA-F]{64}$")]


class CampaignCreate(BaseModel):
    name: Name
    release_id: int = Field(ge=1, le=2**62)
    from_version: str | None = Field(default=None, max_length=VERSION_LEN)
    zone: str | None = Field(default=None, max_length=NAME_LEN)
    stages: list[int] = Field(default=list(rollout.DEFAULT_STAGES), min_length=1, max_length=rollout.MAX_STAGES)
    max_failure_rate: float = Field(default=rollout.DEFAULT_MAX_FAILURE_RATE, ge=0, le=1)
    min_reports: float = Field(default=rollout.DEFAULT_MIN_REPORTS, ge=0, le=1)


class GoldenAdd(BaseModel):
    model: str = Field(min_length=1, max_length=MODEL_LEN)
    version: str = Field(min_length=1, max_length=VERSION_LEN)
    sha256: Sha256
    size: int | None = Field(default=None, ge=0, le=2**62)
    source: str = Field(default="", max_length=NAME_LEN)


class DeviceAsk(BaseModel):
    device: str = Field(min_length=1, max_length=DEVICE_LEN)


class DeviceReport(DeviceAsk):
    event: str = Field(description=" | ".join(rollout.EVENTS), max_length=16)
    sha256: Sha256 | None = None
    version: str | None = Field(default=None, max_length=VERSION_LEN)
    sequence: int | None = Field(default=None, ge=0, le=2**62)
    detail: str = Field(default="", max_length=2000)


def _svc(request: Request) -> CampaignService:
    return CampaignService(context(request).store)


def _refused(exc: FirmwareError) -> HTTPException:
    return HTTPException(422, str(exc))


def _audit(request: Request, principal: Principal, action: str, target: str, **detail: Any) -> None:
    """Record a change made by the service (which commits its own transaction first)."""
    with context(request).store.transaction() as session:
        accounts.audit(session, principal.username, action, target, ip=client_ip(request), **detail)


def _release_dict(row: ReleaseRow) -> dict[str, Any]:
    return {"id": row.id, "vendor": row.vendor, "model": row.model, "version": row.version,
            "sequence": row.sequence, "sha256": row.sha256, "size": row.size, "uri": row.uri, "added": row.added}


# --- releases
@router.get("/releases", dependencies=[READ])
def list_releases(request: Request, model: Annotated[str | None, Query(max_length=MODEL_LEN)] = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100) -> list[dict[str, Any]]:
    """Signed releases, newest first (the envelope itself is served to devices in their offers)."""
    stmt = select(ReleaseRow).order_by(ReleaseRow.id.desc()).limit(limit)
    if model:
        stmt = stmt.where(ReleaseRow.model == model)
    with context(request).store.session() as session:
        return [_release_dict(r) for r in session.scalars(stmt)]


@router.post("/releases", status_code=201)
async def add_release(request: Request, envelope: Annotated[UploadFile, File(description="SUIT envelope")],
                      uri: Annotated[str, Form(min_length=1, max_length=MAX_URI_LEN)],
                      principal: Principal = WRITE) -> dict[str, Any]:
    """Register a signed release from its SUIT envelope (made by ``iotwarden firmware sign``) and the URI
    devices download the image from; its image digest becomes a golden hash."""
    data = await envelope.read(MAX_ENVELOPE_BYTES + 1)
    if len(data) > MAX_ENVELOPE_BYTES:
        raise HTTPException(413, f"an envelope is at most {MAX_ENVELOPE_BYTES} bytes")
    try:
        rid = _svc(request).add_release(data, uri)
    except FirmwareError as exc:
        raise _refused(exc) from None
    with context(request).store.session() as session:
        out = _release_dict(session.get_one(ReleaseRow, rid))
    _audit(request, principal, "firmware.release.add", f"release:{rid}", model=out["model"], version=out["version"],
           sequence=out["sequence"], uri=uri)
    return out


class DeviceEnroll(BaseModel):
    device: str = Field(min_length=1, max_length=DEVICE_LEN)
    model: str = Field(min_length=1, max_length=MODEL_LEN)
    version: str = Field(min_length=1, max_length=VERSION_LEN)
    zone: str | None = Field(default=None, max_length=NAME_LEN)


# --- managed devices
@router.put("/devices", status_code=200)
def enroll_device(body: DeviceEnroll, request: Request, principal: Principal = WRITE) -> dict[str, Any]:
    """Put a device under firmware management, or update the model, version and zone it is known by."""
    _svc(request).enroll(body.device, body.model, body.version, zone=body.zone)
    _audit(request, principal, "firmware.device.enroll", f"device:{body.device}", model=body.model,
           version=body.version, zone=body.zone)
    return body.model_dump()


# --- campaigns
@router.get("/campaigns", dependencies=[READ])
def list_campaigns(request: Request, limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100) -> list[dict[str, Any]]:
    """Campaigns, newest first (``GET /firmware/campaigns/{name}`` for counts and the health gate)."""
    stmt = select(CampaignRow).order_by(CampaignRow.id.desc()).limit(limit)
    with context(request).store.session() as session:
        return [{"name": c.name, "state": c.state, "release_id": c.release_id, "model": c.model, "stage": c.stage,
                 "stages": list(c.stages), "reason": c.reason, "created": c.created, "updated": c.updated}
                for c in session.scalars(stmt)]


@router.get("/campaigns/{name}", dependencies=[READ])
def show_campaign(name: CampaignName, request: Request) -> dict[str, Any]:
    """State, stage, per-status counts of the targets and the current stage's health gate."""
    with context(request).store.session() as session:
        if session.scalar(select(CampaignRow.id).where(CampaignRow.name == name)) is None:
            raise HTTPException(404, f"no campaign {name!r}")
    return _svc(request).status(name)


@router.post("/campaigns", status_code=201)
def create_campaign(body: CampaignCreate, request: Request, principal: Principal = WRITE) -> dict[str, Any]:
    """A draft campaign of a release to the managed devices of its model (by version and zone)."""
    try:
        out = _svc(request).create(body.name, body.release_id, from_version=body.from_version, zone=body.zone,
                                   stages=body.stages, max_failure_rate=body.max_failure_rate,
                                   min_reports=body.min_reports)
    except FirmwareError as exc:
        raise _refused(exc) from None
    _audit(request, principal, "firmware.campaign.create", f"campaign:{body.name}", **body.model_dump())
    return out


def _transition(request: Request, principal: Principal, name: str, action: str) -> dict[str, Any]:
    svc = _svc(request)
    try:
        if action == "rollback":
            key = context(request).ota_signing_key
            if key is None:
                raise HTTPException(409, "no OTA signing key is configured on this server: roll back with "
                                         "`iotwarden firmware campaign rollback --key`")
            out = svc.rollback(name, key)
        else:
            out = svc.start(name) if action == "start" else svc.advance(name)
    except FirmwareError as exc:
        raise _refused(exc) from None
    _audit(request, principal, f"firmware.campaign.{action}", f"campaign:{name}", state=out["state"],
           stage=out["stage"], reason=out["reason"])
    return out


def _register_transition(action: str, doc: str) -> None:
    def endpoint(name: CampaignName, request: Request,
                 principal: Principal = WRITE) -> dict[str, Any]:
        return _transition(request, principal, name, action)

    endpoint.__name__ = f"campaign_{action}"
    endpoint.__doc__ = doc
    router.add_api_route(f"/campaigns/{{name}}/{action}", endpoint, methods=["POST"])


for _action, _doc in (
    ("start", "Start a draft campaign: its first stage is offered the update (audited)."),
    ("advance", "Open the next stage if the current one passes its health gate, else pause or wait (audited)."),
    ("rollback", "Stop the campaign and send its targets back to their previous image, re-signed with the "
                 "server's OTA key under a newer sequence number (audited)."),
):
    _register_transition(_action, _doc)


# --- golden hashes
@router.get("/golden", dependencies=[READ])
def list_golden(request: Request, model: Annotated[str | None, Query(max_length=MODEL_LEN)] = None,
                version: Annotated[str | None, Query(max_length=VERSION_LEN)] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100) -> list[dict[str, Any]]:
    """Known-good image hashes, by model and version."""
    stmt = select(GoldenHashRow).order_by(GoldenHashRow.model, GoldenHashRow.version, GoldenHashRow.id).limit(limit)
    if model:
        stmt = stmt.where(GoldenHashRow.model == model)
    if version:
        stmt = stmt.where(GoldenHashRow.version == version)
    with context(request).store.session() as session:
        return [{"model": g.model, "version": g.version, "sha256": g.sha256, "size": g.size, "source": g.source,
                 "added": g.added} for g in session.scalars(stmt)]


@router.post("/golden", status_code=201)
def add_golden(body: GoldenAdd, request: Request, principal: Principal = WRITE) -> dict[str, Any]:
    """Register a known-good hash of one model and version (``added`` False when it was known)."""
    try:
        added = GoldenRegistry(context(request).store).add(body.model, body.version, body.sha256, size=body.size,
                                                           source=body.source or f"api:{principal.username}")
    except FirmwareError as exc:
        raise _refused(exc) from None
    if added:
        _audit(request, principal, "firmware.golden.add", f"golden:{body.model}@{body.version}",
               sha256=body.sha256.lower())
    return {"added": added, "model": body.model, "version": body.version, "sha256": body.sha256.lower()}


@router.get("/verify-hash", dependencies=[READ])
def verify_hash(request: Request, model: Annotated[str, Query(min_length=1, max_length=MODEL_LEN)],
                version: Annotated[str, Query(min_length=1, max_length=VERSION_LEN)],
                sha256: Annotated[str, Query(min_length=64, max_length=64, pattern="^[0-9a-fA-F]{64}$")],
                ) -> dict[str, Any]:
    """``match``, ``mismatch`` (modified or counterfeit) or ``unknown`` for an image hash."""
    try:
        return GoldenRegistry(context(request).store).check(model, version, sha256).to_dict()
    except FirmwareError as exc:
        raise _refused(exc) from None


# --- the device client (token scope "ota:checkin")
@router.post("/device/offer", responses={204: {"description": "nothing to install"}})
def device_offer(body: DeviceAsk, request: Request, _principal: Principal = CHECKIN) -> Any:
    """The update this device should install now (SUIT envelope in base64), or 204; marks it offered."""
    offer = _svc(request).offer(body.device)
    if offer is None:
        return Response(status_code=204)
    return {"campaign": offer.campaign, "release_id": offer.release_id, "version": offer.version,
            "sequence": offer.sequence, "uri": offer.uri, "revert": offer.revert,
            "envelope": base64.b64encode(offer.envelope).decode()}


@router.post("/device/checkin")
def device_checkin(body: DeviceReport, request: Request, _principal: Principal = CHECKIN) -> dict[str, Any]:
    """A device's progress report (downloaded, installed, failed, healthy, reverted); its image hash is
    checked against the golden hashes. Recorded in the check-in log (fw_checkins), not the audit log."""
    try:
        return _svc(request).checkin(body.device, body.event, sha256=body.sha256, version=body.version,
                                     sequence=body.sequence, detail=body.detail)
    except FirmwareError as exc:
        raise _refused(exc) from None
