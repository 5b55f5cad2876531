"""The alert pipeline: aggregation within a window, severity, suppression rules, lifecycle, bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.detect.pipeline import AlertPipeline, load_suppressions, parse_suppressions, transition
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model.alert import Alert


def _det(ts: float, severity: str = "medium", key: str = "445", subject: str = "mac:02:00:00:00:00:01") -> Alert:
    return Alert(id="detect.scan.horizontal", title=f"scan {severity}", severity=severity,  # type: ignore[arg-type]
                 subject=subject, key=key, src_ip="10.0.0.9", first_seen=ts, last_seen=ts,
                 flows=[{"n": i} for i in range(10)])


def _run(pipe: AlertPipeline, *dets: Alert) -> list[Alert]:
    ctx = Context()
    ctx.alerts.extend(dets)
    pipe.on_tick(ctx, max(d.last_seen for d in dets))
    pipe.done(ctx)
    return ctx.alerts


def test_repeats_within_the_window_aggregate_into_one_alert() -> None:
    alerts = _run(AlertPipeline(window_s=3600.0), _det(10.0), _det(20.0, "high"), _det(30.0))
    assert len(alerts) == 1
    a = alerts[0]
    assert (a.count, a.first_seen, a.last_seen, a.severity) == (3, 10.0, 30.0, "high")
    assert len(a.flows) == 16  # evidence is bounded
    assert a.uid and a.status == "new"


def test_a_repeat_after_the_window_opens_a_new_alert() -> None:
    alerts = _run(AlertPipeline(window_s=100.0), _det(10.0), _det(500.0))
    assert [a.count for a in alerts] == [1, 1] and alerts[0].uid != alerts[1].uid


def test_different_keys_are_different_alerts() -> None:
    assert len(_run(AlertPipeline(), _det(10.0, key="445"), _det(11.0, key="23"))) == 2


def test_subscribers_hear_each_new_unsuppressed_alert_once() -> None:
    heard: list[str] = []
    pipe = AlertPipeline(parse_suppressions([{"detector": "detect.scan.*", "device": "mac:02:00:00:00:00:02"}]))
    pipe.subscribe(lambda a: heard.append(a.subject))
    alerts = _run(pipe, _det(1.0), _det(2.0), _det(3.0, subject="mac:02:00:00:00:00:02"))
    assert heard == ["mac:02:00:00:00:00:01"]
    assert [a.suppressed for a in alerts] == [False, True]  # kept, stored, never exported


def test_suppression_rules_from_yaml(tmp_path: Path) -> None:
    rules = tmp_path / "suppress.yaml"
    rules.write_text("suppressions:\n"
                     "  - {detector: detect.scan.horizontal, cidr: 10.0.0.0/24, reason: vuln scanner}\n"
                     "  - {device: mac:02:00:00:00:00:09, until: '2020-01-01T00:00:00Z'}\n")
    parsed = load_suppressions(rules)
    assert parsed[0].matches(_det(1.0), now=1.0)
    assert not parsed[1].matches(_det(1.0, subject="mac:02:00:00:00:00:09"), now=2e9)  # expired


@pytest.mark.parametrize(("data", "message"), [
    ([{"detector": "x", "colour": "red"}], "unknown keys colour"),
    ([{"cidr": "10.0.0.0/33"}], "not a network"),
    ([{"reason": "no criteria"}], "at least one"),
    ([{"device": "k", "until": "next tuesday"}], "ISO 8601"),
    # found probing the suppression-file target: a NaN until was taken and never expired (now > NaN is false)
    ([{"device": "k", "until": float("nan")}], r"until: a time within the years 1 to 9999, got nan"),
    ([{"device": "k", "until": float("inf")}], r"until: a time within the years 1 to 9999, got inf"),
    ([{"device": "k", "until": "9999-12-31T23:59:59-14:00"}], r"until: a time within the years 1 to 9999"),
    ("just text", "expected a list"),
    ({"supressions": [{"detector": "x"}]}, "unknown keys supressions"),  # misspelt: would silence nothing
    ({"suppressions": [], "zones": []}, "unknown keys zones"),
])
def test_bad_suppression_rules_name_the_entry(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_suppressions(data)


def test_lifecycle_new_acknowledged_closed() -> None:
    a = _det(1.0)
    transition(a, "acknowledged")
    transition(a, "closed")
    with pytest.raises(ConfigError, match="cannot become new"):
        transition(a, "new")
    with pytest.raises(ConfigError, match="unknown alert status"):
        transition(_det(1.0), "snoozed")


def test_a_closed_alert_recurring_opens_a_new_one() -> None:
    pipe = AlertPipeline()
    first = _run(pipe, _det(1.0))[0]
    transition(first, "closed")
    alerts = _run(pipe, _det(2.0))
    assert len(alerts) == 2 and alerts[1].status == "new"


def test_open_groups_are_bounded() -> None:
    pipe = AlertPipeline(max_open=5)
    _run(pipe, *[_det(float(i), key=str(i)) for i in range(20)])
    assert len(pipe._open) == 5 and pipe.retired == 15
