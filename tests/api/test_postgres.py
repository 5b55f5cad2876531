"""The same API over PostgreSQL: filters (JSON attributes, ILIKE search), pages, map and dashboard agree
with SQLite on the demo network."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from iotwarden.api import create_app
from iotwarden.api import devicequery as dq
from iotwarden.policy import storage
from iotwarden.policy.model import load_text
from iotwarden.store import Store
from iotwarden.store.schema import DeviceRow
from tests.api.conftest import CAMERA, login, open_alerts, seed, some_vendor
from tests.store.conftest import pg_schema, pg_store

__all__ = ["pg_schema", "pg_store"]  # the store package's fixture: a private schema on the local server


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
        bands = dict(next(f for f in client.get("/api/v1/devices/facets").json() if f["name"] == "risk")["values"])
        assert sum(bands.values()) == everything["total"] and len(bands) >= 3
        for band, n in bands.items():
            assert client.get("/api/v1/devices", params={"risk": band}).json()["total"] == n, band
        storage.save(pg_store, load_text("name: site\nzones: [{name: ot, categories: [ot]}]\nrules: []\n"))
        ot = client.get("/api/v1/devices", params={"zone": "ot"}).json()
        assert ot["total"] == client.get("/api/v1/devices", params={"category": "ot"}).json()["total"] > 0
        assert client.post("/api/v1/alerts/1/acknowledge", json={}).json()["status"] == "acknowledged"
        assert client.put(f"/api/v1/inventory/approved/{CAMERA}", json={"note": "ok"}).status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize(("flt", "indexes"), [
    (dq.DeviceFilter(search="10.1.7."), {"ix_devices_key_trgm", "ix_devices_ips_trgm", "ix_devices_hostnames_trgm",
                                         "ix_devices_attributes_trgm"}),
    (dq.DeviceFilter(protocol="modbus"), {"ix_devices_protocols_trgm"}),
])
def test_search_and_protocol_filter_use_the_trigram_indexes(pg_store: Store, flt: dq.DeviceFilter,
                                                            indexes: set[str]) -> None:
    """Migration 0009 indexes exactly the expressions the device list writes (sequential scans off, so
    the plan shows whether the planner can use them at all, whatever the table's size)."""
    stmt = select(DeviceRow.id).where(*dq.where(flt, "postgresql"))
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with pg_store.transaction() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(str(r[0]) for r in session.execute(text(f"EXPLAIN {sql}")))
    assert "Seq Scan" not in plan, plan
    assert {name for name in indexes if name in plan} == indexes, plan
