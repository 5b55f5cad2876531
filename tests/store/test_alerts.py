"""Alerts in the store: upsert by uid (no duplicates), lifecycle, people's decisions kept, suppression."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.detect.pipeline import parse_suppressions
from iotwarden.errors import ConfigError
from iotwarden.store import Store
from iotwarden.store.alerts import list_alerts, set_status, suppress_matching, upsert_alerts
from tests.export.alerts import sample_alerts


def test_alerts_round_trip_through_the_store(store: Store) -> None:
    alerts = sample_alerts()
    with store.transaction() as session:
        assert upsert_alerts(session, alerts) == 3
    with store.session() as session:
        stored = {a.uid: a for a in list_alerts(session)}
    assert set(stored) == {a.uid for a in alerts}
    scan = stored[alerts[0].uid]
    assert (scan.id, scan.key, scan.src_ip, scan.mitre, scan.count) == (
        "detect.scan.telnet_mirai", "23/2323", "10.10.20.102", ["T1046", "T1110"], 3)
    assert scan.evidence["hosts"] == 12 and scan.evidence["_row"] > 0


def test_writing_an_alert_again_updates_it(store: Store) -> None:
    alerts = sample_alerts()
    with store.transaction() as session:
        upsert_alerts(session, alerts)
    alerts[0].count, alerts[0].last_seen, alerts[0].severity = 9, alerts[0].last_seen + 60, "critical"
    with store.transaction() as session:
        upsert_alerts(session, alerts[:1])
    with store.session() as session:
        stored = [a for a in list_alerts(session) if a.uid == alerts[0].uid]
    assert len(stored) == 1
    assert (stored[0].count, stored[0].severity, stored[0].last_seen) == (9, "critical", alerts[0].last_seen)


def test_lifecycle_is_enforced_and_survives_updates(store: Store) -> None:
    alerts = sample_alerts()
    with store.transaction() as session:
        upsert_alerts(session, alerts)
    with store.session() as session:
        row_id = next(a.evidence["_row"] for a in list_alerts(session) if a.uid == alerts[1].uid)
    with store.transaction() as session:
        set_status(session, row_id, "acknowledged")
    with store.transaction() as session:
        upsert_alerts(session, alerts)  # the detector sees it again: a person's decision stays
    with store.session() as session:
        assert [a.status for a in list_alerts(session, status="acknowledged")] == ["acknowledged"]
    with store.transaction() as session:
        set_status(session, row_id, "closed")
    with pytest.raises(ConfigError, match="cannot become acknowledged"), store.transaction() as session:
        set_status(session, row_id, "acknowledged")
    with pytest.raises(ConfigError, match="no alert with id"), store.transaction() as session:
        set_status(session, 999_999, "closed")


def test_filters_and_suppression(store: Store) -> None:
    with store.transaction() as session:
        upsert_alerts(session, sample_alerts())
    with store.session() as session:
        assert [a.id for a in list_alerts(session, detector="detect.ot.")] == ["detect.ot.s7_cpu_stop"]
        assert len(list_alerts(session, device="ip:10.0.0.7")) == 1
    rules = parse_suppressions([{"cidr": "10.0.0.0/24"}])
    with store.transaction() as session:
        assert suppress_matching(session, rules, now=0.0) == 1
    with store.session() as session:
        assert len(list_alerts(session)) == 2
        assert len(list_alerts(session, include_suppressed=True)) == 3


def test_analyze_stores_the_alerts_of_a_capture(sqlite_store: Store, tmp_path: Path) -> None:
    from iotwarden.lab.generator import generate, load_scenario
    from iotwarden.services.analyze import analyze

    scenarios = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
    generate(load_scenario(scenarios / "enterprise-attack.yaml"), tmp_path / "a.pcap")
    report = analyze([tmp_path / "a.pcap"], sqlite_store)
    assert report.files[0].stats["alerts"] == {"raised": 6, "stored": 6}
    with sqlite_store.session() as session:
        assert {a.id for a in list_alerts(session)} == {
            "detect.scan.telnet_mirai", "detect.scan.horizontal", "detect.bruteforce.telnet",
            "detect.lateral.admin_protocol"}
