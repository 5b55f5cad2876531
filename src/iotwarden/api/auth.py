"""Who is calling: bearer tokens and session cookies, CSRF on cookie-authenticated changes, scope checks.

Every route depends on :func:`require` (the tests enumerate the routes to prove it), so no endpoint
answers an anonymous caller. Cookies: HttpOnly + SameSite=Lax session id, Secure over https; the
CSRF token is double-submitted (cookie readable by the page, echoed in ``X-CSRF-Token``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session

from iotwarden.api import accounts, riskband, zoning
from iotwarden.api import security as sec
from iotwarden.api.accounts import Principal
from iotwarden.api.derived import MarkedCache
from iotwarden.api.devicequery import Derived, FacetCache
from iotwarden.bus import InProcessBus
from iotwarden.firmware.signing.cose import PrivateKey
from iotwarden.store import Store

SESSION_COOKIE = "iotwarden_session"
CSRF_COOKIE = "iotwarden_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class ApiContext:
    """What the request handlers share (held on ``app.state.ctx``; no module globals)."""

    store: Store
    bus: InProcessBus
    throttle: sec.LoginThrottle = field(default_factory=sec.LoginThrottle)
    secure_cookies: bool | None = None  # None: Secure exactly when the request came over https
    sources: list[dict[str, Any]] = field(default_factory=list)  # live ingestion status (serve --capture)
    facets: FacetCache = field(default_factory=FacetCache)
    zones: MarkedCache[zoning.ZoneIndex] = field(default_factory=zoning.cache)  # zones under the last saved policy
    risk: MarkedCache[riskband.RiskIndex] = field(default_factory=riskband.cache)  # risk bands from the findings
    # re-signs the previous image when an OTA campaign is rolled back over the API (None: CLI only)
    ota_signing_key: PrivateKey | None = None

    def derived(self, session: Session, *, risk: bool = True) -> Derived:
        """The zones and (when ``risk``: only risk filters and counts need them) the risk bands, from the
        caches."""
        return Derived(self.zones.get(session), self.risk.get(session) if risk else None)


class NotAuthenticated(HTTPException):
    """401 for the API; the web console turns it into a redirect to the login page."""

    def __init__(self, detail: str = "authentication required") -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": 'Bearer realm="iotwarden"'})


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "-"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise NotAuthenticated("malformed Authorization header: use 'Bearer <token>'")
    return credential.strip()


async def _csrf_from_request(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def authenticate(request: Request) -> Principal:
    """The caller, from a bearer token or a session cookie; 401 when neither is valid.

    A cookie-authenticated request that changes something must echo the session's CSRF token
    (header, or form field for plain HTML forms), else 403.
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    ctx = context(request)
    token = _bearer(request)
    principal: Principal | None = None
    if token is not None:
        with ctx.store.transaction() as session:
            principal = accounts.token_principal(session, token)
        if principal is None:
            raise NotAuthenticated("invalid, expired or revoked token")
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid:
            raise NotAuthenticated()
        with ctx.store.transaction() as session:
            found = accounts.session_principal(session, sid)
        if found is None:
            raise NotAuthenticated("session expired: log in again")
        principal, csrf_hash = found
        if request.method not in SAFE_METHODS:
            sent = await _csrf_from_request(request)
            if not sent or not sec.same(sec.digest(sent), csrf_hash):
                raise HTTPException(403, "missing or wrong CSRF token (send the X-CSRF-Token header)")
    request.state.principal = principal
    return principal


def require(scope: str) -> Callable[..., Any]:
    """A dependency that admits callers holding ``scope`` (read, write or admin); 403 otherwise."""
    if scope not in sec.SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def dependency(principal: Principal = Depends(authenticate)) -> Principal:  # noqa: B008
        if not principal.can(scope):
            raise HTTPException(403, f"this needs the {scope!r} permission (role {principal.role})")
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency


READ = Depends(require("read"))
WRITE = Depends(require("write"))
ADMIN = Depends(require("admin"))
SIGNED_IN = Depends(authenticate)  # any role: logging out, reading one's own account


def set_login_cookies(request: Request, response: Response, sid: str, csrf: str, ctx: ApiContext) -> None:
    secure = ctx.secure_cookies if ctx.secure_cookies is not None else request.url.scheme == "https"
    max_age = int(accounts.SESSION_MAX_S)
    response.set_cookie(SESSION_COOKIE, sid, max_age=max_age, httponly=True, samesite="lax", secure=secure,
                        path="/")
    # readable by the page's script, which echoes it in X-CSRF-Token (double submit)
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure,
                        path="/")


def clear_login_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
