"""The findings and alerts queues: list, act, see the change, the audit entry and the live event."""

from __future__ import annotations

from fastapi.testclient import TestClient

from iotwarden.bus import InProcessBus
from tests.api.conftest import SEEDED_ALERT


def test_acknowledge_close_suppress_an_alert(as_analyst: TestClient, bus: InProcessBus) -> None:
    sub = bus.subscribe(["alert"])
    listed = {a["id"]: a for a in as_analyst.get("/api/v1/alerts", params={"limit": 500}).json()}
    assert listed[1]["status"] == "new" and listed[1]["detector_id"] == SEEDED_ALERT
    assert as_analyst.post("/api/v1/alerts/1/acknowledge", json={"note": "looking"}).json()["status"] == "acknowledged"
    assert as_analyst.post("/api/v1/alerts/1/suppress", json={}).json()["suppressed"] is True
    shown = [a["id"] for a in as_analyst.get("/api/v1/alerts", params={"limit": 500}).json()]
    assert 1 not in shown  # suppressed alerts are hidden unless asked for
    assert 1 in [a["id"] for a in as_analyst.get("/api/v1/alerts", params={"suppressed": True, "limit": 500}).json()]
    assert as_analyst.post("/api/v1/alerts/1/close", json={}).json()["status"] == "closed"
    assert [e.data["status"] for e in sub.drain()] == ["acknowledged", "acknowledged", "closed"]
    assert as_analyst.post("/api/v1/alerts/99/close", json={}).status_code == 404


def test_set_a_finding_status(as_analyst: TestClient) -> None:
    assert as_analyst.post("/api/v1/findings/1/status", json={"status": "accepted"}).json()["status"] == "accepted"
    assert 1 not in [f["id"] for f in as_analyst.get("/api/v1/findings", params={"status": "open"}).json()]
    assert [f["id"] for f in as_analyst.get("/api/v1/findings", params={"status": "accepted"}).json()] == [1]
    assert as_analyst.post("/api/v1/findings/1/status", json={"status": "bogus"}).status_code == 422
    assert as_analyst.get("/api/v1/findings/1").json()["status"] == "accepted"
