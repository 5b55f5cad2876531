"""The risk facet: SQL puts each device in the band that the risk scorer gives it from its unresolved findings."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update

from iotwarden.api import riskband
from iotwarden.model.finding import Finding
from iotwarden.risk.scorer import band, device_score
from iotwarden.store import Store
from iotwarden.store.alert_models import FindingRow
from iotwarden.store.schema import DeviceRow


def scorer_bands(store: Store) -> dict[str, str]:
    """Each device's band the way the report computes it (Python, risk.scorer)."""
    with store.session() as session:
        categories = dict(session.execute(select(DeviceRow.key, DeviceRow.category)).all())
        grouped: dict[str, list[Finding]] = {key: [] for key in categories}
        for row in session.scalars(select(FindingRow).where(FindingRow.status != "resolved")):
            if row.device_key in grouped:
                grouped[row.device_key].append(Finding(row.check_id, row.title, row.severity,  # type: ignore[arg-type]
                                                       row.device_key))
    return {key: band(device_score(items, categories[key])) for key, items in grouped.items()}


def sql_members(store: Store, name: str) -> set[str]:
    with store.session() as session:
        return set(session.scalars(select(DeviceRow.key).where(riskband.band_clause(name))))


def test_sql_bands_agree_with_the_scorer_on_the_demo_network(store: Store) -> None:
    expected = scorer_bands(store)
    assert len(set(expected.values())) >= 3  # the demo has devices in several bands
    with store.session() as session:
        assert riskband.bands_of(session, expected) == expected
        counts = dict(riskband.band_counts(session))
    with store.session() as session:
        index = riskband.build(session)
        indexed = {name: set(session.scalars(select(DeviceRow.key).where(index.clause(name, "sqlite"))))
                   for name in riskband.RISK_BANDS}
    for name in riskband.RISK_BANDS:
        members = {k for k, b in expected.items() if b == name}
        assert sql_members(store, name) == members == indexed[name], name
        assert counts.get(name, 0) == len(members)
    assert index.counts() == riskband.band_counts(store.session().__enter__())


def test_the_cached_index_follows_new_and_resolved_findings(store: Store) -> None:
    cache = riskband.cache()
    with store.session() as session:
        first = cache.get(session)
        assert cache.get(session) is first
        key = session.scalars(select(DeviceRow.key).where(
            DeviceRow.key.not_in(select(FindingRow.device_key))).limit(1)).one()
        dev_id = session.scalars(select(DeviceRow.id).where(DeviceRow.key == key)).one()
    _finding(store, key, "tests.new", "critical")
    with store.session() as session:
        second = cache.get(session)
    assert dev_id in second.ids["critical"] and dev_id not in first.ids["critical"]
    with store.transaction() as session:
        session.execute(update(FindingRow).where(FindingRow.device_key == key).values(status="resolved"))
    with store.session() as session:
        assert dev_id not in cache.get(session).ids["critical"]


def _finding(store: Store, key: str, check: str, severity: str, status: str = "open") -> None:
    now = time.time()
    with store.transaction() as session:
        session.add(FindingRow(check_id=check, title=check, severity=severity, device_key=key, evidence={},
                               remediation="", references=[], status=status, first_seen=now, last_seen=now))


@pytest.mark.parametrize(("category", "severities", "expected"), [
    ("iot", ["critical"], "critical"),  # exactly 80: the band's floor
    ("iot", ["high", "high"], "high"),  # 75
    ("iot", ["high", "high", "low"], "high"),  # 77
    ("iot", ["high", "high", "medium"], "critical"),  # 81.25
    ("OT", ["high"], "high"),  # 0.5 * 1.2: 60, whatever the case of the category
    ("ot", ["medium"], "medium"),  # 30
    ("iot", ["info", "info"], "none"),
    ("iot", ["low"], "low"),
])
def test_band_floors_weights_and_rounding(store: Store, category: str, severities: list[str], expected: str) -> None:
    with store.session() as session:
        key = session.scalars(select(DeviceRow.key).where(
            DeviceRow.key.not_in(select(FindingRow.device_key))).limit(1)).one()
    with store.transaction() as session:
        session.execute(update(DeviceRow).where(DeviceRow.key == key).values(category=category))
    for i, severity in enumerate(severities):
        _finding(store, key, f"tests.check{i}", severity)
    assert scorer_bands(store)[key] == expected
    assert key in sql_members(store, expected)
    assert all(key not in sql_members(store, other) for other in riskband.RISK_BANDS if other != expected)


def test_resolved_findings_do_not_count_and_unknown_bands_match_nothing(store: Store) -> None:
    with store.session() as session:
        key = session.scalars(select(DeviceRow.key).where(
            DeviceRow.key.not_in(select(FindingRow.device_key))).limit(1)).one()
    _finding(store, key, "tests.fixed", "critical", status="resolved")
    assert key in sql_members(store, "none")
    _finding(store, key, "tests.accepted", "critical", status="accepted")  # an accepted risk is still a risk
    assert key in sql_members(store, "critical")
    assert sql_members(store, "catastrophic") == set()
