"""Sign-in, sign-out, the caller's own account, API tokens, console users and the audit log."""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import select

from iotwarden.api import accounts
from iotwarden.api import schemas as s
from iotwarden.api.accounts import Principal
from iotwarden.api.auth import (
    ADMIN,
    SIGNED_IN,
    WRITE,
    ApiContext,
    clear_login_cookies,
    client_ip,
    context,
    set_login_cookies,
)
from iotwarden.errors import ConfigError
from iotwarden.store.auth_models import ApiTokenRow, AuditRow, UserRow

router = APIRouter(tags=["auth"])
MAX_AUDIT_PAGE = 500


def user_out(row: UserRow) -> s.UserOut:
    return s.UserOut(id=row.id, username=row.username, role=row.role,  # type: ignore[arg-type]
                     disabled=row.disabled, created_at=row.created_at, last_login=row.last_login)


def login(ctx: ApiContext, request: Request, username: str, password: str) -> tuple[UserRow, str, str]:
    """Check a password under the login throttle; returns (user, session id, CSRF token).

    Raises 429 while the (username, address) pair is locked out, 401 on a wrong name or password.
    """
    ip = client_ip(request)
    wait = ctx.throttle.retry_after(username, ip)
    if wait > 0:
        with ctx.store.transaction() as session:
            accounts.audit(session, username[:64], "auth.login_throttled", f"user:{username[:64]}", ip=ip)
        raise HTTPException(429, "too many failed logins: try again later",
                            headers={"Retry-After": str(math.ceil(wait))})
    with ctx.store.transaction() as session:
        user = accounts.authenticate(session, username, password)
        if user is None:
            accounts.audit(session, username[:64], "auth.login_failed", f"user:{username[:64]}", ip=ip)
        else:
            sid, csrf = accounts.open_session(session, user, ip=ip, user_agent=request.headers.get("user-agent"))
            accounts.audit(session, user.username, "auth.login", f"user:{user.username}", ip=ip)
    if user is None:
        ctx.throttle.failed(username, ip)
        raise HTTPException(401, "wrong username or password")
    ctx.throttle.succeeded(username, ip)
    return user, sid, csrf


def logout(ctx: ApiContext, request: Request, principal: Principal) -> None:
    with ctx.store.transaction() as session:
        if principal.session_hash:
            accounts.close_session(session, principal.session_hash)
        accounts.audit(session, principal.username, "auth.logout", f"user:{principal.username}",
                       ip=client_ip(request))


@router.post("/auth/login", response_model=s.LoginResponse)
def api_login(body: s.LoginRequest, request: Request, response: Response) -> s.LoginResponse:
    """Open a console session: sets the HttpOnly session cookie and the CSRF cookie (public endpoint)."""
    ctx = context(request)
    user, sid, csrf = login(ctx, request, body.username, body.password)
    set_login_cookies(request, response, sid, csrf, ctx)
    return s.LoginResponse(user=user_out(user), csrf_token=csrf)


@router.post("/auth/logout", status_code=204)
def api_logout(request: Request, response: Response, principal: Principal = SIGNED_IN) -> Response:
    logout(context(request), request, principal)
    out = Response(status_code=204)
    clear_login_cookies(out)
    return out


@router.get("/auth/me", response_model=s.MeResponse)
def me(principal: Principal = SIGNED_IN) -> s.MeResponse:
    return s.MeResponse(username=principal.username, role=principal.role,  # type: ignore[arg-type]
                        via=principal.via, scopes=sorted(principal.scopes))  # type: ignore[arg-type]


def _token_out(row: ApiTokenRow, user: str) -> dict[str, Any]:
    return {"id": row.id, "user": user, "name": row.name, "prefix": row.prefix, "scopes": list(row.scopes),
            "created_at": row.created_at, "expires_at": row.expires_at, "last_used": row.last_used,
            "revoked_at": row.revoked_at}


@router.get("/tokens", response_model=list[s.TokenOut])
def list_tokens(request: Request, principal: Principal = SIGNED_IN) -> list[dict[str, Any]]:
    """Your tokens (an admin sees everyone's); never the token values, which are not stored."""
    with context(request).store.session() as session:
        stmt = select(ApiTokenRow, UserRow.username).join(UserRow, UserRow.id == ApiTokenRow.user_id)
        if not principal.can("admin"):
            stmt = stmt.where(ApiTokenRow.user_id == principal.user_id)
        return [_token_out(t, u) for t, u in session.execute(stmt.order_by(ApiTokenRow.id))]


@router.post("/tokens", response_model=s.TokenCreated, status_code=201)
def create_token(body: s.TokenCreate, request: Request, principal: Principal = WRITE) -> dict[str, Any]:
    """A new token, scoped within your role; the response is the only time its value is shown."""
    if principal.via == "token":
        raise HTTPException(403, "tokens cannot mint tokens: sign in to the console")
    with context(request).store.transaction() as session:
        user = session.get(UserRow, principal.user_id)
        if user is None:
            raise HTTPException(401, "user no longer exists")
        try:
            row, token = accounts.create_token(session, user, name=body.name, scopes=list(body.scopes),
                                               expires_in_s=body.expires_in_days * 86400.0
                                               if body.expires_in_days else None)
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None
        accounts.audit(session, principal.username, "token.create", f"token:{row.id}", ip=client_ip(request),
                       name=row.name, scopes=list(row.scopes))
        return {**_token_out(row, user.username), "token": token}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: s.RowId, request: Request, principal: Principal = WRITE) -> Response:
    """Revoke a token at once (yours; an admin may revoke anyone's)."""
    with context(request).store.transaction() as session:
        row = session.get(ApiTokenRow, token_id)
        if row is None or (row.user_id != principal.user_id and not principal.can("admin")):
            raise HTTPException(404, "no such token")
        if row.revoked_at is None:
            row.revoked_at = time.time()
            accounts.audit(session, principal.username, "token.revoke", f"token:{row.id}", ip=client_ip(request))
    return Response(status_code=204)


@router.get("/users", response_model=list[s.UserOut])
def list_users(request: Request, principal: Principal = ADMIN) -> list[s.UserOut]:
    with context(request).store.session() as session:
        return [user_out(u) for u in session.scalars(select(UserRow).order_by(UserRow.username))]


@router.post("/users", response_model=s.UserOut, status_code=201)
def create_user(body: s.UserCreate, request: Request, principal: Principal = ADMIN) -> s.UserOut:
    with context(request).store.transaction() as session:
        try:
            row = accounts.create_user(session, body.username, body.password, body.role)
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None
        accounts.audit(session, principal.username, "user.create", f"user:{row.username}", ip=client_ip(request),
                       role=row.role)
        return user_out(row)


@router.patch("/users/{user_id}", response_model=s.UserOut)
def update_user(user_id: s.RowId, body: s.UserUpdate, request: Request, principal: Principal = ADMIN) -> s.UserOut:
    """Change a user's role, disable or enable them, or set a new password; the last admin stays."""
    with context(request).store.transaction() as session:
        row = session.get(UserRow, user_id)
        if row is None:
            raise HTTPException(404, "no such user")
        demoting = row.role == "admin" and not row.disabled and (
            (body.role is not None and body.role != "admin") or body.disabled is True)
        if demoting and accounts.count_admins(session) <= 1:
            raise HTTPException(409, "this is the last enabled admin")
        changed: dict[str, Any] = {}
        if body.role is not None and body.role != row.role:
            changed["role"] = [row.role, body.role]
            row.role = body.role
        if body.disabled is not None and body.disabled != row.disabled:
            changed["disabled"] = body.disabled
            row.disabled = body.disabled
        if body.password is not None:
            try:
                accounts.set_password(row, body.password)
            except ConfigError as exc:
                raise HTTPException(422, str(exc)) from None
            changed["password"] = "changed"  # noqa: S105 - audit note, not a secret
        if changed:
            accounts.audit(session, principal.username, "user.update", f"user:{row.username}",
                           ip=client_ip(request), **changed)
        return user_out(row)


@router.get("/audit", response_model=list[s.AuditOut])
def audit_log(request: Request, principal: Principal = ADMIN,
              limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 100,
              before_id: Annotated[int | None, Query(ge=1, le=s.MAX_ROW_ID, description="page back from this id")]
              = None,
              ) -> list[dict[str, Any]]:
    """The newest audit entries first."""
    with context(request).store.session() as session:
        stmt = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(AuditRow.id < before_id)
        return [{"id": a.id, "ts": a.ts, "actor": a.actor, "action": a.action, "target": a.target, "ip": a.ip,
                 "detail": a.detail} for a in session.scalars(stmt)]
