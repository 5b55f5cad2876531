"""The approved inventory, captures and live sources over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import CAMERA


def test_approve_and_withdraw_a_device(as_analyst: TestClient) -> None:
    approved = as_analyst.put(f"/api/v1/inventory/approved/{CAMERA}", json={"note": "lobby camera"}).json()
    assert approved["approved_by"] == "analyst" and approved["present"]
    assert [a["device_key"] for a in as_analyst.get("/api/v1/inventory/approved").json()] == [CAMERA]
    assert as_analyst.get(f"/api/v1/devices/{CAMERA}").json()["approved"]["note"] == "lobby camera"
    assert as_analyst.put("/api/v1/inventory/approved/mac:00:00:00:00:00:99", json={}).status_code == 404
    assert as_analyst.delete(f"/api/v1/inventory/approved/{CAMERA}").status_code == 204
    assert as_analyst.delete(f"/api/v1/inventory/approved/{CAMERA}").status_code == 404


def test_captures_and_sources(as_viewer: TestClient) -> None:
    caps = as_viewer.get("/api/v1/captures").json()
    assert caps["captures"][0]["path"].endswith("demo.pcap") and caps["captures"][0]["status"] == "complete"
    assert as_viewer.get("/api/v1/captures/1").json()["id"] == 1
    assert as_viewer.get("/api/v1/captures/999").status_code == 404
    assert as_viewer.get("/api/v1/sources").json() == []  # not serving with --capture
