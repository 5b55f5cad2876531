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
    assert d["ip_history"] and all(h["domain"] == "" for h in d["ip_history"])  # each address's domain: untagged
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


def test_the_overview_counts_every_device_once_by_group_with_the_traffic_between_groups(store: Store) -> None:
    with store.session() as session:
        full = views.network_map(session)
        overview = views.map_groups(session)
    assert overview["devices"] == total_devices(store)  # nothing left out, whatever the map's bound
    inventory = [g for g in overview["nodes"] if g["devices"]]
    assert {g["id"] for g in inventory} == set(full["groups"])
    for g in inventory:  # each group's count is its members on the full map, by category too
        members = [n for n in full["nodes"] if n["group"] == g["id"]]
        assert g["devices"] == len(members) == sum(g["categories"].values())
    ids = {g["id"] for g in overview["nodes"]}
    assert overview["edges"] and all(e["source"] in ids and e["target"] in ids for e in overview["edges"])
    assert all(e["source"] < e["target"] for e in overview["edges"])  # one edge per pair of groups
    # the map's conversations between two groups are within the overview's edge between them
    by_group = {n["id"]: n["group"] for n in full["nodes"]}
    crossing = {tuple(sorted((by_group[e["source"]], by_group[e["target"]]))) for e in full["edges"]
                if by_group[e["source"]] != by_group[e["target"]]}
    assert crossing and crossing <= {(e["source"], e["target"]) for e in overview["edges"]}
    assert all(0 <= g["x"] <= overview["width"] and 0 <= g["y"] <= overview["height"] for g in overview["nodes"])


def test_one_group_is_drawn_with_the_groups_it_talks_to(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with store.session() as session:
        full = views.network_map(session)
    sizes = Counter(n["group"] for n in full["nodes"])
    group, size = sizes.most_common(1)[0]
    monkeypatch.setattr(views, "MAX_MAP_NODES", 10)  # the whole map is cut to 10, one group is not
    with store.session() as session:
        assert views.network_map(session)["truncated"]
        one = views.network_map(session, group=group)
    devices = [n for n in one["nodes"] if n["kind"] == "device"]
    assert all(n["group"] == group for n in devices) and one["group"] == group
    assert len(devices) == min(size, 10) and one["truncated"] == (size > 10)
    peers = [n for n in one["nodes"] if n["kind"] == "group"]
    assert peers and all(p["id"] == f"group:{p['group']}" and p["group"] != group for p in peers)
    ids = {n["id"] for n in one["nodes"]}
    assert one["edges"] and all(e["source"] in ids and e["target"] in ids for e in one["edges"])
    # a device's traffic to another group ends on that group's node
    kinds = {n["id"]: n["kind"] for n in one["nodes"]}
    assert any({kinds[e["source"]], kinds[e["target"]]} == {"device", "group"} for e in one["edges"])
    with store.session() as session:
        assert views.network_map(session, group="subnet 203.0.113.0/24")["nodes"] == []  # no such group
