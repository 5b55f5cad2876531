"""The FastAPI application: the REST API under /api/v1, the web console, static assets, security headers.

``create_app(store)`` builds it; ``iotwarden serve`` runs it with uvicorn. Only the login page and
endpoint and the static assets answer an anonymous caller (:data:`PUBLIC_ROUTES`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from iotwarden import __version__
from iotwarden.api import security
from iotwarden.api.auth import READ, ApiContext, NotAuthenticated
from iotwarden.api.routes import auth, devices, events, firmware, inventory, queues
from iotwarden.bus import InProcessBus
from iotwarden.errors import StoreError
from iotwarden.firmware.signing.cose import PrivateKey
from iotwarden.store import Store

API_PREFIX = "/api/v1"
# (method, path) pairs that answer without authentication; the tests hold every other route to 401
PUBLIC_ROUTES = frozenset({("POST", f"{API_PREFIX}/auth/login"), ("GET", "/login"), ("POST", "/login")})
PUBLIC_MOUNTS = frozenset({"/static"})
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                                "base-uri 'self'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class _SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith(API_PREFIX):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _api_router(app: FastAPI) -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, devices, queues, inventory, events, firmware):
        api.include_router(module.router)

    @api.get("/openapi.json", dependencies=[READ], include_in_schema=False)
    def openapi() -> dict[str, Any]:
        """The OpenAPI 3.1 description of this API (authenticated like everything else)."""
        return app.openapi()

    return api


def create_app(store: Store, *, bus: InProcessBus | None = None, secure_cookies: bool | None = None,
               web: bool = True, ota_signing_key: PrivateKey | None = None) -> FastAPI:
    """The API (and, unless ``web`` is False, the console) over an open, migrated ``store``;
    ``ota_signing_key`` lets OTA campaigns be rolled back over the API (re-signing the previous image)."""
    app = FastAPI(title="iotwarden", version=__version__, openapi_url=None, docs_url=None, redoc_url=None,
                  description="REST API of iotwarden: devices, flows, findings, alerts, approved inventory, "
                              "firmware OTA.")
    app.state.ctx = ApiContext(store=store, bus=bus or InProcessBus(), secure_cookies=secure_cookies,
                               ota_signing_key=ota_signing_key)
    security.dummy_hash()  # made now: the first login for an unknown name costs what any other login does
    app.add_middleware(_SecurityHeaders)
    app.include_router(_api_router(app))

    def openapi_schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(title=app.title, version=app.version, openapi_version="3.1.0",
                                             description=app.description, routes=app.routes)
            app.openapi_schema["components"] = {
                **app.openapi_schema.get("components", {}),
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                    "session": {"type": "apiKey", "in": "cookie", "name": "iotwarden_session"}},
            }
            app.openapi_schema["security"] = [{"bearer": []}, {"session": []}]
        return app.openapi_schema

    app.openapi = openapi_schema  # type: ignore[method-assign]

    if web:
        from iotwarden.web import pages  # noqa: PLC0415 - the console is optional for API-only use

        app.include_router(pages.router)
        app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")

    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: HTTPException) -> Response:
        if web and not request.url.path.startswith(API_PREFIX):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": exc.detail}, status_code=401, headers=exc.headers)

    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    return app
