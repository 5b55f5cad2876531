"""Read models: a device in full (identity, evidence, communications, timeline), the map, the dashboard."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from iotwarden.api import views
from iotwarden.store import Store
from iotwarden.store import queries as q
from iotwarden.store.alert_models import FindingRow
from tests.api.conftest import CAMERA, SEEDED_ALERT, camera_findings, open_alerts


def total_devices(store: Store) -> int:
    with store.session() as session:
        return q.count_rows(session)["devices"]


def test_device_detail_has_evidence_peers_findings_alerts_and_a_timeline(store: Store) -> None:
    with store.session() as session:
        d = views.device_detail(session, q.resolve_device(session, CAMERA))
    assert d["key"] == CAMERA
    assert ("telnet", "banner") in {(e["proto"], e["field"]) for e in d["evidence"]}  # its telnet banner
    assert d["peers"] and all(p["bytes"] >= 0 for p in d["peers"])
    assert {f["check_id"] for f in d["findings"]} == {f.check_id for f in camera_findings(store)}
    assert "risk.cleartext.telnet" in {f["check_id"] for f in d["findings"]}  # it runs a telnet server
    assert SEEDED_ALERT in [a["detector_id"] for a in d["alerts"]]
    stamps = [e["ts"] for e in d["timeline"]]
    assert stamps == sorted(stamps) and {"first_seen", "evidence", "alert"} <= {e["kind"] for e in d["timeline"]}
    assert d["approved"] is None


def test_the_map_groups_devices_and_links_those_that_talk(store: Store) -> None:
    with store.session() as session:
        m = views.network_map(session)
    ids = {n["id"] for n in m["nodes"]}
    assert len(ids) == total_devices(store) and not m["truncated"]
    assert m["edges"] and all(e["source"] in ids and e["target"] in ids for e in m["edges"])
    assert all(e["source"] < e["target"] for e in m["edges"])  # one edge per pair
    assert any(g.startswith("subnet 10.10.") for g in m["groups"])  # no zones yet: subnets, named as such
    # placed by the report's grouped layout, on the canvas, the same each time
    assert all(0 <= n["x"] <= m["width"] and 0 <= n["y"] <= m["height"] for n in m["nodes"])
    with store.session() as session:
        again = views.network_map(session)
    assert [(n["x"], n["y"]) for n in again["nodes"]] == [(n["x"], n["y"]) for n in m["nodes"]]


def test_the_map_is_bounded(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(views, "MAX_MAP_NODES", 10)
    with store.session() as session:
        m = views.network_map(session)
    assert len(m["nodes"]) == 10 and m["truncated"]


def test_dashboard_counts(store: Store) -> None:
    with store.session() as session:
        d = views.dashboard(session)
    assert d["devices"] == total_devices(store)
    with store.session() as session:
        open_findings = Counter(session.scalars(select(FindingRow.severity).where(FindingRow.status == "open")))
    assert d["open_alerts"] == open_alerts(store) and d["open_findings"] == dict(open_findings)
    assert d["facets"]["vendor"]["values"] and d["facets"]["vendor"]["source"] in ("column", "attributes")
    assert d["protocols"]["modbus"] >= 3
    assert 1 <= sum(x["count"] for x in d["alerts_per_day"]) <= sum(open_alerts(store).values())
