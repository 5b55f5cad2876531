"""The platform authenticates every call: no route answers an anonymous caller, a viewer changes nothing,
cookie sessions need the CSRF token to change anything, tokens are scoped and revocable."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from iotwarden.api import PUBLIC_ROUTES
from iotwarden.api.auth import CSRF_COOKIE, SESSION_COOKIE
from tests.api.conftest import CAMERA, login

SAMPLE_PARAMS = {"key": CAMERA, "alert_id": "1", "finding_id": "1", "token_id": "1", "user_id": "1",
                 "capture_id": "1", "action": "acknowledge", "name": "c1"}


def all_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (method, concrete path) the application serves, from its router (new routes included)."""
    out = []
    for route in iter_route_contexts(app.routes):
        if not route.methods:  # the static files mount: public by design (PUBLIC_MOUNTS)
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PARAMS[m.group(1)], route.path)
        out.extend((method, path) for method in sorted(route.methods) if method != "HEAD")
    return out


def _template(app, method: str, path: str) -> str:  # type: ignore[no-untyped-def]
    for route in iter_route_contexts(app.routes):
        concrete = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PARAMS[m.group(1)], route.path)
        if concrete == path and route.methods and method in route.methods:
            return str(route.path)
    raise AssertionError(path)


def test_the_route_list_is_complete_and_the_public_set_is_tiny(app) -> None:  # type: ignore[no-untyped-def]
    routes = all_routes(app)
    assert len(routes) > 40
    assert ("GET", "/api/v1/devices") in routes
    assert ("POST", "/api/v1/alerts/1/acknowledge") in routes
    expected = {("POST", "/api/v1/auth/login"), ("GET", "/login"), ("POST", "/login")}
    assert expected == PUBLIC_ROUTES


def test_every_endpoint_refuses_an_anonymous_request(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    for method, path in all_routes(app):
        if (method, _template(app, method, path)) in PUBLIC_ROUTES:
            continue
        response = client.request(method, path, json={}, follow_redirects=False)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["www-authenticate"].startswith("Bearer")
        else:  # console pages send the browser to the login page
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login")


def test_a_wrong_or_malformed_credential_is_refused_like_none(client: TestClient) -> None:
    assert client.get("/api/v1/devices", headers={"Authorization": "Bearer iwt_not-a-token"}).status_code == 401
    assert client.get("/api/v1/devices", headers={"Authorization": "Basic YWRtaW46eA=="}).status_code == 401
    client.cookies.set(SESSION_COOKIE, "forged")
    assert client.get("/api/v1/devices").status_code == 401


def test_a_viewer_cannot_change_anything(app, as_viewer: TestClient) -> None:  # type: ignore[no-untyped-def]
    changed = 0
    for method, path in all_routes(app):
        if method == "GET" or (method, _template(app, method, path)) in PUBLIC_ROUTES:
            continue
        if path in ("/api/v1/auth/logout", "/logout"):  # ending one's own session is not a change
            continue
        response = as_viewer.request(method, path, json={"status": "resolved", "role": "admin", "name": "x",
                                                         "scopes": ["read"], "note": ""},
                                     data=None, follow_redirects=False)
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        changed += 1
    assert changed >= 15
    # and nothing was changed: the alert is still new, no audit entry but logins
    assert as_viewer.get("/api/v1/alerts/1").json()["status"] == "new"


def test_a_viewer_reads_everything_it_may(as_viewer: TestClient) -> None:
    for path in ("/api/v1/devices", f"/api/v1/devices/{CAMERA}", "/api/v1/alerts", "/api/v1/findings",
                 "/api/v1/map", "/api/v1/dashboard", "/api/v1/captures", "/api/v1/inventory/approved"):
        assert as_viewer.get(path).status_code == 200, path
    assert as_viewer.get("/api/v1/users").status_code == 403  # user management is the admin's
    assert as_viewer.get("/api/v1/audit").status_code == 403


def test_a_cookie_session_needs_the_csrf_token_to_change_anything(client: TestClient) -> None:
    csrf = login(client, "analyst")
    del client.headers["X-CSRF-Token"]
    refused = client.post("/api/v1/alerts/1/acknowledge", json={})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = client.post("/api/v1/alerts/1/acknowledge", json={}, headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status_code == 403
    ok = client.post("/api/v1/alerts/1/acknowledge", json={}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["status"] == "acknowledged"


def test_session_cookie_is_httponly_and_samesite_lax_and_secure_over_https(app) -> None:  # type: ignore[no-untyped-def]
    for base, secure in (("http://127.0.0.1", False), ("https://127.0.0.1", True)):
        with TestClient(app, base_url=base) as c:
            response = c.post("/api/v1/auth/login", json={"username": "viewer", "password": "viewer-password-1"})
            cookies = {h.split("=", 1)[0]: h.lower() for h in response.headers.get_list("set-cookie")}
            assert "httponly" in cookies[SESSION_COOKIE] and "samesite=lax" in cookies[SESSION_COOKIE]
            assert "httponly" not in cookies[CSRF_COOKIE]  # the page's script reads it (double submit)
            assert ("secure" in cookies[SESSION_COOKIE]) is secure


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    login(client, "viewer")
    sid = client.cookies.get(SESSION_COOKIE)
    assert client.post("/api/v1/auth/logout").status_code == 204
    client.cookies.set(SESSION_COOKIE, sid or "")
    assert client.get("/api/v1/devices").status_code == 401  # the stolen cookie is worthless now


def test_login_is_rate_limited_per_user_and_address(client: TestClient) -> None:
    for _ in range(5):
        assert client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong"}).status_code == 401
    locked = client.post("/api/v1/auth/login", json={"username": "admin", "password": "admin-password-1"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    # another user from the same address is not locked out by someone guessing the admin's password
    assert client.post("/api/v1/auth/login", json={"username": "viewer",
                                                   "password": "viewer-password-1"}).status_code == 200


def test_tokens_are_shown_once_scoped_and_revocable(client: TestClient) -> None:
    login(client, "analyst")
    made = client.post("/api/v1/tokens", json={"name": "script", "scopes": ["read"]})
    assert made.status_code == 201
    token, token_id = made.json()["token"], made.json()["id"]
    assert token.startswith("iwt_")
    assert all("token" not in t for t in client.get("/api/v1/tokens").json())  # never listed again
    bearer = TestClient(client.app, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {token}"})
    assert bearer.get("/api/v1/devices").status_code == 200
    assert bearer.post("/api/v1/alerts/1/close", json={}).status_code == 403  # read scope only
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert bearer.get("/api/v1/devices").status_code == 401


def test_a_token_cannot_exceed_its_owners_role(client: TestClient) -> None:
    login(client, "analyst")
    assert client.post("/api/v1/tokens", json={"name": "x", "scopes": ["admin"]}).status_code == 422


def test_a_write_token_changes_without_csrf(client: TestClient) -> None:
    login(client, "analyst")
    token = client.post("/api/v1/tokens", json={"name": "soar", "scopes": ["read", "write"]}).json()["token"]
    bearer = TestClient(client.app, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {token}"})
    assert bearer.post("/api/v1/alerts/1/close", json={"note": "benign"}).json()["status"] == "closed"
    assert bearer.post("/api/v1/tokens", json={"name": "child", "scopes": ["read"]}).status_code == 403


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_only_an_admin_manages_users(client: TestClient, role: str) -> None:
    login(client, role)
    assert client.post("/api/v1/users", json={"username": "eve", "password": "x" * 20,
                                              "role": "admin"}).status_code == 403


def test_every_change_is_audited(as_admin: TestClient) -> None:
    as_admin.post("/api/v1/alerts/1/suppress", json={"note": "lab noise"})
    as_admin.put(f"/api/v1/inventory/approved/{CAMERA}", json={"note": "lobby camera"})
    as_admin.post("/api/v1/users", json={"username": "carol", "password": "carol-password-1", "role": "analyst"})
    actions = [(e["action"], e["target"]) for e in as_admin.get("/api/v1/audit").json()]
    assert ("alert.suppress", "alert:1") in actions
    assert ("inventory.approve", f"device:{CAMERA}") in actions
    assert ("user.create", "user:carol") in actions
    assert ("auth.login", "user:admin") in actions
