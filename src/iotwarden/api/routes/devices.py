"""Devices (list with filters, facets, one device in full), flows, the network map and the dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from iotwarden.api import accounts, views
from iotwarden.api import devicequery as dq
from iotwarden.api import schemas as s
from iotwarden.api.accounts import Principal
from iotwarden.api.auth import READ, WRITE, client_ip, context
from iotwarden.errors import StoreError
from iotwarden.services.inventory import alias_dict, flow_dict, merge_in
from iotwarden.store import queries as q
from iotwarden.store.merge import alias_of, aliases_of
from iotwarden.store.schema import DeviceRow

router = APIRouter(tags=["devices"])
MAX_FLOW_PAGE = 1000
Term = Annotated[str | None, Query(max_length=dq.MAX_TERM_LEN)]
Time = Annotated[float | None, Query(ge=0, le=1e11, description="seconds since the epoch (UTC)")]


def device_filter(*, vendor: Term = None, type: Term = None, category: Term = None,
                  risk: Term = None, zone: Term = None,
                  protocol: Annotated[str | None, Query(max_length=32)] = None,
                  q: Annotated[str | None, Query(max_length=dq.MAX_TERM_LEN, description="free text")] = None,
                  first_seen_after: Time = None, first_seen_before: Time = None,
                  last_seen_after: Time = None, last_seen_before: Time = None) -> dq.DeviceFilter:
    """The filters of the device list (query parameters); shared by the API and the console."""
    return dq.DeviceFilter(vendor=vendor, type=type, category=category, risk=risk, zone=zone, protocol=protocol,
                           search=q, first_seen_after=first_seen_after, first_seen_before=first_seen_before,
                           last_seen_after=last_seen_after, last_seen_before=last_seen_before)


FILTER = Depends(device_filter)
SORT_HELP = f"one of {', '.join(dq.SORTS)} (and facet columns once they exist); '-' first for descending"


@router.get("/devices", response_model=s.DeviceList, dependencies=[READ])
def list_devices(request: Request, flt: dq.DeviceFilter = FILTER,
                 sort: Annotated[str, Query(max_length=32, description=SORT_HELP)] = "key",
                 offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                 limit: Annotated[int, Query(ge=1, le=dq.MAX_PAGE)] = dq.DEFAULT_PAGE) -> dict[str, Any]:
    if sort.lstrip("-") not in dq.sort_columns():
        raise HTTPException(422, f"sort: {SORT_HELP}")
    ctx = context(request)
    with ctx.store.session() as session:
        derived = ctx.derived(session, risk=bool(flt.risk))
        page = dq.list_devices(session, flt, sort=sort, offset=offset, limit=limit, derived=derived)
        return {"items": views.summaries(session, page.rows, derived), "total": page.total,
                "total_exact": page.total_exact, "offset": page.offset, "limit": page.limit}


@router.get("/devices/facets", response_model=list[s.FacetOut], dependencies=[READ])
def facets(request: Request) -> list[dict[str, Any]]:
    """Each classification facet, where this store reads it from, and its most common values
    (recomputed at most every 30 s)."""
    ctx = context(request)
    with ctx.store.session() as session:
        cached = ctx.facets.get(session, ctx.derived(session))
    return [{"name": f.name, "label": f.label, "source": dq.facet_source(f), "values": cached[f.name]}
            for f in dq.FACETS.values()]


def get_device(session: Any, key: str) -> DeviceRow:
    try:
        return q.resolve_device(session, key)
    except StoreError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/devices/{key}", dependencies=[READ])
def device(key: Annotated[str, Path(max_length=300)], request: Request) -> dict[str, Any]:
    """One device (key, the key of a device merged into it, unique key prefix, MAC or IP): identity,
    evidence, communications, findings, alerts, timeline, approval, and the keys merged into it
    (``merged``: the one ``key`` named, if it was merged)."""
    ctx = context(request)
    with ctx.store.session() as session:
        row = get_device(session, key)
        out = views.device_detail(session, row, ctx.derived(session, risk=False))
        named = alias_of(session, key.strip().lower())
        out["merged"] = alias_dict(named) if named is not None and named.device_key == row.key else None
        out["aliases"] = [alias_dict(a) for a in aliases_of(session, row.key)]
        return out


@router.post("/devices/{key}/merge")
def merge(key: Annotated[str, Path(max_length=300)], body: s.DeviceMerge, request: Request,
          principal: Principal = WRITE) -> dict[str, Any]:
    """Merge device ``key`` into device ``body.into`` (exact keys; audited): everything stored of it
    becomes the other's, which is classified again over both; ``key`` then names the other. Merging
    again changes nothing (``already``); the same key twice is 422, an unknown key (or one merged into
    another device) 404."""
    if key.strip().lower() == body.into.strip().lower():
        raise HTTPException(422, "a device cannot be merged into itself")
    ctx = context(request)
    try:
        with ctx.store.transaction() as session:
            done = merge_in(session, key, body.into)
            if not done["already"]:
                accounts.audit(session, principal.username, "device.merge", f"device:{done['alias']}",
                               ip=client_ip(request), into=done["into"], moved=done["moved"])
    except StoreError as exc:
        raise HTTPException(404, str(exc)) from None
    ctx.risk.clear()  # findings moved to another device
    if not done["already"]:
        ctx.bus.publish("device.merged", {"key": done["alias"], "into": done["into"], "by": principal.username})
    return done


@router.get("/flows", dependencies=[READ])
def flows(request: Request, device: Annotated[str | None, Query(max_length=300)] = None,
          proto: Annotated[str | None, Query(max_length=32)] = None,
          port: Annotated[int | None, Query(ge=0, le=65535)] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_FLOW_PAGE)] = 100) -> list[dict[str, Any]]:
    """Flows, newest first; ``device`` keeps those of one device."""
    with context(request).store.session() as session:
        row = get_device(session, device) if device else None
        return [flow_dict(f) for f in q.list_flows(session, device=row, proto=proto, port=port, limit=limit)]


@router.get("/map", dependencies=[READ])
def network_map(request: Request, flt: dq.DeviceFilter = FILTER,
                group: Annotated[str | None, Query(max_length=200, description=(
                    "one group of /map/groups (a zone or subnet): its devices, and the groups they talk to"))] = None,
                ) -> dict[str, Any]:
    """Nodes (devices), groups (zones under the last saved policy, else subnets) and edges (who talks
    to whom) for the map; the busiest devices when there are more than it draws (``truncated``)."""
    ctx = context(request)
    with ctx.store.session() as session:
        return views.network_map(session, flt, ctx.derived(session, risk=bool(flt.risk)), group=group)


@router.get("/map/groups", dependencies=[READ])
def map_groups(request: Request, flt: dq.DeviceFilter = FILTER) -> dict[str, Any]:
    """The overview of a network too large to draw device by device: one node per group (zone or subnet)
    with its devices counted by category, and the traffic between groups."""
    ctx = context(request)
    with ctx.store.session() as session:
        return views.map_groups(session, flt, ctx.derived(session, risk=bool(flt.risk)))


@router.get("/dashboard", dependencies=[READ])
def dashboard(request: Request) -> dict[str, Any]:
    ctx = context(request)
    with ctx.store.session() as session:
        return views.dashboard(session, ctx.facets, ctx.derived(session))
