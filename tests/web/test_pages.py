"""The console's pages over HTTP (no browser): login form, pages render the store's facts, htmx fragments,
CSRF on form posts, no open redirect after login."""

from __future__ import annotations

from fastapi.testclient import TestClient

from iotwarden.store import Store
from tests.api.conftest import CAMERA, PASSWORDS, camera_findings, login, some_vendor


def form_login(client: TestClient, role: str, next_path: str = "/") -> str:
    response = client.post("/login", data={"username": role, "password": PASSWORDS[role], "next": next_path},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_login_form_then_pages(client: TestClient, store: Store) -> None:
    assert client.get("/devices", follow_redirects=False).headers["location"] == "/login?next=/devices"
    assert 'name="password"' in client.get("/login").text
    assert form_login(client, "viewer", "/devices") == "/devices"
    page = client.get("/devices").text
    assert CAMERA in page and 'id="filter-vendor"' in page
    vendor, count = some_vendor(store)
    assert f"{vendor} ({count})" in page  # the vendor facet's values with counts


def test_login_form_refuses_wrong_passwords_and_offsite_redirects(client: TestClient) -> None:
    wrong = client.post("/login", data={"username": "viewer", "password": "nope", "next": "/"})
    assert wrong.status_code == 401 and "wrong username or password" in wrong.text
    assert form_login(client, "viewer", "//evil.example/") == "/"
    assert form_login(client, "viewer", "https://evil.example/") == "/"


def test_htmx_filter_returns_only_the_table(client: TestClient, store: Store) -> None:
    login(client, "viewer")
    vendor, count = some_vendor(store)
    fragment = client.get("/devices", params={"vendor": vendor}, headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith("<p") and "<html" not in fragment
    assert f'data-total="{count}"' in fragment


def test_device_page_shows_identity_evidence_and_timeline(client: TestClient, store: Store) -> None:
    login(client, "viewer")
    page = client.get(f"/devices/{CAMERA}").text
    for section in ('id="identity"', 'id="evidence"', 'id="communications"', 'id="findings"', 'id="alerts"',
                    'id="timeline"'):
        assert section in page
    assert "Horizontal port scan" in page
    assert all(f.title in page for f in camera_findings(store))
    assert 'id="approve"' not in page  # a viewer gets no approve button


def test_dashboard_map_and_queues_render(client: TestClient, store: Store) -> None:
    login(client, "analyst")
    assert "Devices by vendor" in client.get("/").text
    assert 'id="map"' in client.get("/map").text
    assert 'class="ack"' in client.get("/alerts").text
    assert camera_findings(store)[0].title in client.get("/findings").text


def test_htmx_actions_need_csrf_and_return_the_updated_row(client: TestClient) -> None:
    csrf = login(client, "analyst")
    del client.headers["X-CSRF-Token"]
    assert client.post("/alerts/1/acknowledge").status_code == 403
    row = client.post("/alerts/1/acknowledge", headers={"X-CSRF-Token": csrf})
    assert row.status_code == 200 and 'id="alert-1"' in row.text and "acknowledged" in row.text
    done = client.post("/findings/1/status", data={"status": "resolved"}, headers={"X-CSRF-Token": csrf})
    assert "resolved" in done.text
    approved = client.post(f"/devices/{CAMERA}/approve", data={"note": "ok"}, headers={"X-CSRF-Token": csrf})
    assert "Approved by analyst" in approved.text


def test_logout_form_uses_the_csrf_field_and_ends_the_session(client: TestClient) -> None:
    csrf = login(client, "viewer")
    del client.headers["X-CSRF-Token"]
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_queues_refresh_their_rows_in_place_for_live_updates(client: TestClient, store: Store) -> None:
    login(client, "viewer")
    page = client.get("/alerts").text
    assert 'hx-trigger="alerts-changed from:body"' in page and "<html" in page
    rows = client.get("/alerts", params={"show": "open"}, headers={"HX-Request": "true"}).text
    assert rows.lstrip().startswith('<tr id="alert-1"') and "<html" not in rows and "<thead" not in rows
    assert 'hx-trigger="findings-changed from:body"' in client.get("/findings").text
    findings = client.get("/findings", headers={"HX-Request": "true"}).text
    assert findings.lstrip().startswith("<tr id=") and camera_findings(store)[0].title in findings
