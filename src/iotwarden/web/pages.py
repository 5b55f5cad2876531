"""The web console: server-rendered pages (Jinja2 + htmx) over the same read models and actions as the API.

Pages need a session (anonymous visitors are sent to /login); actions are htmx POSTs that carry the
CSRF token in ``X-CSRF-Token`` (static/app.js adds it) and return the updated fragment.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from iotwarden.api import devicequery as dq
from iotwarden.api import security as sec
from iotwarden.api import views
from iotwarden.api.accounts import Principal
from iotwarden.api.auth import CSRF_COOKIE, READ, SIGNED_IN, WRITE, context, set_login_cookies
from iotwarden.api.routes import auth as auth_routes
from iotwarden.api.routes import inventory as inventory_routes
from iotwarden.api.routes.devices import get_device
from iotwarden.api.routes.queues import act_on_alert, set_finding_status
from iotwarden.api.schemas import Approval, FindingStatus, RowId
from iotwarden.store.alert_models import AlertRow, FindingRow

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
QUEUE_PAGE = 200  # alerts or findings listed on a queue page


def _ts(value: float | None) -> str:
    if not value:
        return "-"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _bytes(value: int | None) -> str:
    n = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


templates.env.filters["ts"] = _ts
templates.env.filters["bytes"] = _bytes


def _render(request: Request, name: str, principal: Principal | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    csrf = request.cookies.get(CSRF_COOKIE, "")
    return templates.TemplateResponse(request, name, {"me": principal, "csrf": csrf, **ctx}, status_code=status)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never '//host' or a scheme (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return _render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login_form(request: Request, username: Annotated[str, Form(max_length=64)],
               password: Annotated[str, Form(max_length=sec.MAX_PASSWORD_LEN)],
               next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    ctx = context(request)
    try:
        _user, sid, csrf = auth_routes.login(ctx, request, username, password)
    except HTTPException as exc:
        return _render(request, "login.html", None, status=exc.status_code, next=_safe_next(next),
                       error=exc.detail)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_login_cookies(request, response, sid, csrf, ctx)
    return response


@router.post("/logout")
def logout(request: Request, principal: Principal = SIGNED_IN) -> Response:
    auth_routes.logout(context(request), request, principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie("iotwarden_session", path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, principal: Principal = READ) -> HTMLResponse:
    ctx = context(request)
    with ctx.store.session() as session:
        data = views.dashboard(session, ctx.facets, ctx.derived(session))
        recent = [views.alert_dict(a) for a in session.scalars(
            select(AlertRow).where(AlertRow.suppressed.is_(False), AlertRow.status != "closed")
            .order_by(AlertRow.created.desc()).limit(10))]
    return _render(request, "dashboard.html", principal, data=data, recent=recent, facets=dq.FACETS)


def _day(value: str | None, *, end: bool = False) -> float | None:
    """A YYYY-MM-DD form field as epoch seconds (start of that UTC day, or its end)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return start + 86399.999 if end else start


def _page_filter(request: Request) -> tuple[dq.DeviceFilter, dict[str, str]]:
    params = {k: v[: dq.MAX_TERM_LEN] for k, v in request.query_params.items() if v}
    flt = dq.DeviceFilter(
        **{name: params.get(name) for name in dq.FACETS}, protocol=params.get("protocol"), search=params.get("q"),
        first_seen_after=_day(params.get("first_from")), first_seen_before=_day(params.get("first_to"), end=True),
        last_seen_after=_day(params.get("last_from")), last_seen_before=_day(params.get("last_to"), end=True))
    return flt, params


@router.get("/devices", response_class=HTMLResponse)
def devices(request: Request, principal: Principal = READ,
            sort: Annotated[str, Query(max_length=32)] = "key",
            offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
            limit: Annotated[int, Query(ge=1, le=dq.MAX_PAGE)] = dq.DEFAULT_PAGE) -> HTMLResponse:
    """The inventory table; an htmx request gets only the table (filters change it in place)."""
    flt, params = _page_filter(request)
    if sort.lstrip("-") not in dq.sort_columns():
        sort = "key"
    started = time.perf_counter()
    ctx = context(request)
    with ctx.store.session() as session:
        full = not request.headers.get("HX-Request")  # else htmx asks for the table alone
        derived = ctx.derived(session, risk=full or bool(flt.risk))
        page = dq.list_devices(session, flt, sort=sort, offset=offset, limit=limit, derived=derived)
        rows = views.summaries(session, page.rows, derived)
        cached = ctx.facets.get(session, derived) if full else {}
        facet_values = {name: cached[name] for name in dq.FACETS} if full else {}
        protocols = [p for p, _ in cached.get("protocol", [])]
    elapsed_ms = (time.perf_counter() - started) * 1000
    name = "devices.html" if full else "_device_table.html"
    keep = {k: v for k, v in params.items() if k not in ("offset", "sort")}
    return _render(request, name, principal, page=page, rows=rows, params=params, keep=keep, sort=sort,
                   facets=dq.FACETS, facet_values=facet_values, elapsed_ms=elapsed_ms, protocols=protocols)


@router.get("/devices/{key}", response_class=HTMLResponse)
def device(key: str, request: Request, principal: Principal = READ) -> HTMLResponse:
    ctx = context(request)
    with ctx.store.session() as session:
        detail = views.device_detail(session, get_device(session, key), ctx.derived(session, risk=False))
    return _render(request, "device.html", principal, d=detail)


@router.post("/devices/{key}/approve", response_class=HTMLResponse)
def approve(key: str, request: Request, principal: Principal = WRITE,
            note: Annotated[str, Form(max_length=1000)] = "") -> HTMLResponse:
    inventory_routes.approve(key, Approval(note=note), request, principal)
    ctx = context(request)
    with ctx.store.session() as session:
        detail = views.device_detail(session, get_device(session, key), ctx.derived(session, risk=False))
    return _render(request, "_approval.html", principal, d=detail)


@router.get("/map", response_class=HTMLResponse)
def network_map(request: Request, principal: Principal = READ) -> HTMLResponse:
    return _render(request, "map.html", principal)


@router.get("/alerts", response_class=HTMLResponse)
def alerts(request: Request, principal: Principal = READ, show: str = "open") -> HTMLResponse:
    stmt = select(AlertRow).order_by(AlertRow.created.desc(), AlertRow.id.desc()).limit(QUEUE_PAGE)
    if show == "open":
        stmt = stmt.where(AlertRow.status != "closed", AlertRow.suppressed.is_(False))
    elif show == "suppressed":
        stmt = stmt.where(AlertRow.suppressed.is_(True))
    with context(request).store.session() as session:
        rows = [views.alert_dict(a) for a in session.scalars(stmt)]
    name = "_alert_rows.html" if request.headers.get("HX-Request") else "alerts.html"  # live refresh: rows only
    return _render(request, name, principal, alerts=rows, show=show)


@router.post("/alerts/{alert_id}/{action}", response_class=HTMLResponse)
def alert_action(alert_id: RowId, action: str, request: Request, principal: Principal = WRITE) -> HTMLResponse:
    if action not in ("acknowledge", "close", "reopen", "suppress", "unsuppress"):
        raise HTTPException(404, "no such action")
    alert = act_on_alert(request, alert_id, action, "", principal)
    return _render(request, "_alert_row.html", principal, a=alert)


@router.get("/findings", response_class=HTMLResponse)
def findings(request: Request, principal: Principal = READ, show: str = "open") -> HTMLResponse:
    stmt = select(FindingRow).order_by(FindingRow.last_seen.desc(), FindingRow.id.desc()).limit(QUEUE_PAGE)
    if show in ("open", "accepted", "resolved"):
        stmt = stmt.where(FindingRow.status == show)
    with context(request).store.session() as session:
        rows = [views.finding_dict(f) for f in session.scalars(stmt)]
    name = "_finding_rows.html" if request.headers.get("HX-Request") else "findings.html"  # live refresh: rows only
    return _render(request, name, principal, findings=rows, show=show)


@router.post("/findings/{finding_id}/status", response_class=HTMLResponse)
def finding_status(finding_id: RowId, request: Request, status: Annotated[str, Form(max_length=16)],
                   principal: Principal = WRITE) -> HTMLResponse:
    if status not in ("open", "accepted", "resolved"):
        raise HTTPException(422, "unknown status")
    out = set_finding_status(finding_id, FindingStatus(status=status), request, principal)  # type: ignore[arg-type]
    return _render(request, "_finding_row.html", principal, f=out)

