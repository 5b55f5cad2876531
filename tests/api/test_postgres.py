"""The same API over PostgreSQL: filters (JSON attributes, ILIKE search), pages, map and dashboard agree
with SQLite on the demo network."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from iotwarden.api import create_app
from iotwarden.store import Store
from tests.api.conftest import CAMERA, login, open_alerts, seed, some_vendor
from tests.store.conftest import pg_store

__all__ = ["pg_store"]  # the store package's fixture: a private schema on the local server


@pytest.mark.postgres
def test_the_console_api_on_postgresql(pg_store: Store) -> None:
    seed(pg_store)
    with TestClient(create_app(pg_store), base_url="http://127.0.0.1") as client:
        login(client, "analyst")
        everything = client.get("/api/v1/devices", params={"limit": 500}).json()
        assert everything["total"] == len(everything["items"]) > 20
        vendor, count = some_vendor(pg_store)
        assert client.get("/api/v1/devices", params={"vendor": vendor}).json()["total"] == count
        assert CAMERA in [d["key"] for d in client.get("/api/v1/devices", params={"q": "AXIS"}).json()["items"]]
        assert client.get("/api/v1/devices", params={"q": "100%_"}).json()["total"] == 0
        page = client.get("/api/v1/devices", params={"protocol": "dhcp", "sort": "-last_seen", "limit": 3}).json()
        seen = [d["last_seen"] for d in page["items"]]
        assert seen == sorted(seen, reverse=True) and page["total"] > 3
        assert client.get(f"/api/v1/devices/{CAMERA}").json()["evidence"]
        assert client.get("/api/v1/map").json()["edges"]
        dash = client.get("/api/v1/dashboard").json()
        assert dash["facets"]["vendor"]["values"][vendor] == count
        assert dash["open_alerts"] == open_alerts(pg_store)
        assert client.post("/api/v1/alerts/1/acknowledge", json={}).json()["status"] == "acknowledged"
        assert client.put(f"/api/v1/inventory/approved/{CAMERA}", json={"note": "ok"}).status_code == 200
