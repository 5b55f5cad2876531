"""Accounts over HTTP: who am I, user management by the admin, the last admin protected."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_me(as_analyst: TestClient) -> None:
    assert as_analyst.get("/api/v1/auth/me").json() == {"username": "analyst", "role": "analyst", "via": "session",
                                                         "scopes": ["read", "write"]}


def test_admin_creates_demotes_and_disables_users(as_admin: TestClient) -> None:
    made = as_admin.post("/api/v1/users", json={"username": "erin", "password": "erin-password-1", "role": "viewer"})
    assert made.status_code == 201
    uid = made.json()["id"]
    assert as_admin.patch(f"/api/v1/users/{uid}", json={"role": "analyst"}).json()["role"] == "analyst"
    assert as_admin.patch(f"/api/v1/users/{uid}", json={"password": "short"}).status_code == 422
    assert as_admin.patch(f"/api/v1/users/{uid}", json={"disabled": True}).json()["disabled"] is True
    with TestClient(as_admin.app, base_url="http://127.0.0.1") as other:
        refused = other.post("/api/v1/auth/login", json={"username": "erin", "password": "erin-password-1"})
    assert refused.status_code == 401
    assert as_admin.post("/api/v1/users", json={"username": "erin", "password": "x" * 20,
                                                "role": "viewer"}).status_code == 422


def test_the_last_admin_cannot_be_demoted_or_disabled(as_admin: TestClient) -> None:
    me = next(u for u in as_admin.get("/api/v1/users").json() if u["username"] == "admin")
    assert as_admin.patch(f"/api/v1/users/{me['id']}", json={"role": "viewer"}).status_code == 409
    assert as_admin.patch(f"/api/v1/users/{me['id']}", json={"disabled": True}).status_code == 409
