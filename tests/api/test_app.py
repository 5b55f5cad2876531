"""The application: OpenAPI 3.1 behind authentication, security headers, and schemathesis finding no
server error anywhere in the schema (bounded examples, an admin token so every operation is reached)."""

from __future__ import annotations

import re

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from iotwarden.api import accounts, create_app
from iotwarden.api.app import SECURITY_HEADERS
from iotwarden.store import Store
from iotwarden.store.auth_models import UserRow


def admin_token(store: Store) -> str:
    with store.transaction() as session:
        user = session.query(UserRow).filter_by(username="admin").one()
        _row, token = accounts.create_token(session, user, name="schemathesis", scopes=["read", "write", "admin"],
                                            expires_in_s=3600)
    return token


def test_openapi_is_3_1_and_needs_authentication(client: TestClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 401
    assert client.get("/openapi.json").status_code in (303, 404)  # FastAPI's public default is off
    assert client.get("/docs").status_code in (303, 404)


def test_openapi_describes_every_api_route(as_viewer: TestClient) -> None:
    schema = as_viewer.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert {"/api/v1/devices", "/api/v1/devices/{key}", "/api/v1/alerts/{alert_id}/acknowledge",
            "/api/v1/inventory/approved/{key}", "/api/v1/tokens", "/api/v1/events"} <= set(schema["paths"])
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "session"}


def test_security_headers_on_pages_and_api(as_viewer: TestClient) -> None:
    for path in ("/api/v1/devices", "/devices", "/login"):
        response = as_viewer.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    assert as_viewer.get("/api/v1/devices").headers["cache-control"] == "no-store"


def test_a_store_error_is_a_clean_503(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    token = admin_token(store)
    app = create_app(store)
    with TestClient(app, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/api/v1/devices").status_code == 200
        store.engine.dispose()
        (tmp_path / "api.db").unlink()
        (tmp_path / "api.db").mkdir()  # the database file is gone, a folder in its place
        response = c.get("/api/v1/devices")
    assert response.status_code in (401, 503)  # never a 500 with a traceback


@pytest.fixture
def api_schema(store: Store):  # type: ignore[no-untyped-def]
    token = admin_token(store)
    app = create_app(store)
    loaded = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers={"Authorization": f"Bearer {token}"})
    # the event stream never ends by design: tested on its own in routes/test_events.py
    return loaded.exclude(path="/api/v1/events")


@pytest.mark.slow
def test_no_server_error_anywhere_in_the_schema(api_schema, store: Store) -> None:  # type: ignore[no-untyped-def]
    token = admin_token(store)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])

        no_server_error()



CONSOLE_ID_ROUTES = [("POST", "/alerts/{alert_id}/{action}", ["alert_id"]),  # web/pages.py: not in the schema
                     ("POST", "/findings/{finding_id}/status", ["finding_id"])]


def _id_routes(app) -> list[tuple[str, str, list[str]]]:  # type: ignore[no-untyped-def]
    """(method, path, integer path parameters) of every API route that takes a row id, then the console's."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            ints = [p["name"] for p in op.get("parameters", [])
                    if p["in"] == "path" and p["schema"].get("type") == "integer"]
            if ints:
                out.append((method.upper(), path, ints))
    return [*out, *CONSOLE_ID_ROUTES]


def test_a_row_id_past_64_bits_is_refused_by_validation_never_a_server_error(app, as_admin: TestClient) -> None:  # type: ignore[no-untyped-def]
    """sqlite3 raises OverflowError binding an integer of 2**63 or more (the CLI turns it into a StoreError);
    every id route bounds its ids (schemas.RowId), so such a request never reaches the store."""
    routes = _id_routes(app)
    assert {"/api/v1/alerts/{alert_id}", "/api/v1/findings/{finding_id}", "/api/v1/captures/{capture_id}",
            "/api/v1/tokens/{token_id}", "/api/v1/users/{user_id}", "/api/v1/alerts/{alert_id}/close"} <= {
        path for _, path, _ in routes}
    for method, path, ints in routes:
        for value, refused in ((2**63, True), (2**64, True), (2**63 - 1, False)):
            url = path
            for name in ints:
                url = url.replace(f"{{{name}}}", str(value))
            url = re.sub(r"\{[^}]+\}", "acknowledge", url)  # the web console's alert action
            response = as_admin.request(method, url, json={})
            assert response.status_code < 500, (method, url, response.text)
            if refused:
                assert response.status_code == 422, (method, url, response.text)
                assert {tuple(e["loc"]) for e in response.json()["detail"]} & {("path", n) for n in ints}, url
