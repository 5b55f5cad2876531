"""GET /api/v1/devices (filters, sort, pages), facets, one device, flows, map and dashboard over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from iotwarden.policy import storage
from iotwarden.policy.model import load_text
from iotwarden.store import Store
from iotwarden.store.auth_models import AuditRow
from iotwarden.store.schema import DeviceRow
from tests.api.conftest import CAMERA, some_vendor


def test_list_filter_sort_and_page(as_viewer: TestClient, store: Store) -> None:
    page = as_viewer.get("/api/v1/devices", params={"limit": 5, "sort": "-bytes"}).json()
    assert len(page["items"]) == 5 and page["total"] > 5 and page["total_exact"]
    sizes = [d["bytes"] for d in page["items"]]
    assert sizes == sorted(sizes, reverse=True)
    vendor, count = some_vendor(store)
    made_by = as_viewer.get("/api/v1/devices", params={"vendor": vendor}).json()
    assert made_by["total"] == count and all(vendor in d["facets"]["vendor"] for d in made_by["items"])
    text = as_viewer.get("/api/v1/devices", params={"q": "axis", "protocol": "telnet"}).json()
    assert CAMERA in [d["key"] for d in text["items"]]


def test_bad_parameters_are_422_not_errors(as_viewer: TestClient) -> None:
    assert as_viewer.get("/api/v1/devices", params={"sort": "password"}).status_code == 422
    assert as_viewer.get("/api/v1/devices", params={"limit": 100_000}).status_code == 422
    assert as_viewer.get("/api/v1/devices", params={"last_seen_after": "yesterday"}).status_code == 422


def test_facets_say_where_each_fact_comes_from(as_viewer: TestClient) -> None:
    facets = {f["name"]: f for f in as_viewer.get("/api/v1/devices/facets").json()}
    assert facets["vendor"]["source"] in ("column", "attributes") and facets["vendor"]["values"]
    assert facets["risk"]["source"] == "findings" and facets["zone"]["source"] == "policy"
    assert all(f["values"] == [] for f in facets.values() if f["source"] == "none")
    assert facets["zone"]["values"] == []  # no policy saved yet


def test_filter_by_risk_band(as_viewer: TestClient) -> None:
    bands = dict(next(f for f in as_viewer.get("/api/v1/devices/facets").json() if f["name"] == "risk")["values"])
    assert sum(bands.values()) == as_viewer.get("/api/v1/devices").json()["total"]
    for name, count in bands.items():
        page = as_viewer.get("/api/v1/devices", params={"risk": name, "limit": 500}).json()
        assert page["total"] == count and all(d["facets"]["risk"] == [name] for d in page["items"])
    camera = as_viewer.get(f"/api/v1/devices/{CAMERA}").json()
    assert camera["facets"]["risk"][0] in ("high", "critical")  # telnet with a default password


def test_filter_by_zone_and_the_map_groups_by_zone(as_viewer: TestClient, store: Store) -> None:
    storage.save(store, load_text(f"""
name: site
zones:
  - {{name: ot, categories: [ot]}}
  - {{name: cameras, devices: ["{CAMERA}"]}}
rules: []
"""))
    zones = dict(next(f for f in as_viewer.get("/api/v1/devices/facets").json() if f["name"] == "zone")["values"])
    assert zones["cameras"] == 1 and zones["ot"] >= 1
    page = as_viewer.get("/api/v1/devices", params={"zone": "cameras"}).json()
    assert [d["key"] for d in page["items"]] == [CAMERA] and page["items"][0]["facets"]["zone"] == ["cameras"]
    ot = as_viewer.get("/api/v1/devices", params={"zone": "ot", "limit": 500}).json()
    assert ot["total"] == zones["ot"] and all(d["facets"]["category"] == ["ot"] for d in ot["items"])
    assert as_viewer.get("/api/v1/devices", params={"zone": "nowhere"}).json()["total"] == 0
    drawn = as_viewer.get("/api/v1/map").json()
    assert drawn["policy"] == "site" and {"zone cameras", "zone ot"} <= set(drawn["groups"])
    assert next(n for n in drawn["nodes"] if n["id"] == CAMERA)["group"] == "zone cameras"


def test_one_device_by_key_mac_or_ip_and_404_otherwise(as_viewer: TestClient) -> None:
    by_key = as_viewer.get(f"/api/v1/devices/{CAMERA}").json()
    by_mac = as_viewer.get(f"/api/v1/devices/{CAMERA[4:]}").json()
    assert by_key["key"] == by_mac["key"] == CAMERA
    assert by_key["evidence"] and by_key["timeline"] and by_key["findings"] and by_key["alerts"]
    assert as_viewer.get("/api/v1/devices/mac:00:00:00:00:00:99").status_code == 404


def test_flows_of_a_device(as_viewer: TestClient) -> None:
    flows = as_viewer.get("/api/v1/flows", params={"device": CAMERA, "limit": 5}).json()
    assert 0 < len(flows) <= 5
    ips = set(as_viewer.get(f"/api/v1/devices/{CAMERA}").json()["ips"])
    assert all(f["a_ip"] in ips or f["b_ip"] in ips for f in flows)


def test_map_and_dashboard(as_viewer: TestClient) -> None:
    m = as_viewer.get("/api/v1/map", params={"protocol": "modbus"}).json()
    modbus = {d["key"] for d in as_viewer.get("/api/v1/devices", params={"protocol": "modbus"}).json()["items"]}
    assert m["nodes"] and {n["id"] for n in m["nodes"]} == modbus  # the map takes the list's filters
    assert as_viewer.get("/api/v1/dashboard").json()["devices"] > 0


def _other_device(store: Store) -> str:
    with store.session() as session:
        return next(k for k in session.scalars(select(DeviceRow.key).order_by(DeviceRow.key)) if k != CAMERA)


def test_merge_a_device_into_another_audited_and_its_key_then_names_the_other(
        as_analyst: TestClient, store: Store) -> None:
    other = _other_device(store)
    camera_findings = len(as_analyst.get(f"/api/v1/devices/{CAMERA}").json()["findings"])
    done = as_analyst.post(f"/api/v1/devices/{CAMERA}/merge", json={"into": other})
    assert done.status_code == 200 and done.json()["moved"]["devices"] == 1 and not done.json()["already"]
    shown = as_analyst.get(f"/api/v1/devices/{CAMERA}").json()
    assert shown["key"] == other and shown["merged"]["key"] == CAMERA and shown["merged"]["reason"] == "manual"
    assert len(shown["findings"]) >= camera_findings and [a["key"] for a in shown["aliases"]] == [CAMERA]
    again = as_analyst.post(f"/api/v1/devices/{CAMERA}/merge", json={"into": other}).json()
    assert again["already"]
    with store.session() as session:
        audits = list(session.scalars(select(AuditRow).where(AuditRow.action == "device.merge")))
    assert [(a.target, a.detail["into"]) for a in audits] == [(f"device:{CAMERA}", other)]  # once


def test_merge_refuses_the_same_key_and_unknown_keys(as_analyst: TestClient, store: Store) -> None:
    other = _other_device(store)
    assert as_analyst.post(f"/api/v1/devices/{CAMERA}/merge", json={"into": CAMERA.upper()}).status_code == 422
    assert as_analyst.post(f"/api/v1/devices/{CAMERA}/merge", json={"into": ""}).status_code == 422
    missing = as_analyst.post("/api/v1/devices/mac:00:00:00:00:00:99/merge", json={"into": other})
    assert missing.status_code == 404 and "no stored device" in missing.json()["detail"]
    assert as_analyst.get(f"/api/v1/devices/{CAMERA}").json()["key"] == CAMERA  # nothing merged


def test_a_viewer_cannot_merge(as_viewer: TestClient, store: Store) -> None:
    assert as_viewer.post(f"/api/v1/devices/{CAMERA}/merge", json={"into": _other_device(store)}).status_code == 403
    assert as_viewer.get(f"/api/v1/devices/{CAMERA}").json()["key"] == CAMERA
