"""The check contract: options validated once, hits bounded, findings one per device."""

from __future__ import annotations

from typing import ClassVar

import pytest

from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Device, Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import base
from iotwarden.risk.base import Check, Hit, Option, worse
from iotwarden.risk.subjects import SubjectIndex


class Sample(Check):
    id: ClassVar[str] = "risk.test.sample"
    title: ClassVar[str] = "Sample"
    severity: ClassVar[Severity] = "low"
    protos: ClassVar[frozenset[str]] = frozenset({"telnet"})
    options: ClassVar[tuple[Option, ...]] = (Option("limit", int, 5, "A number."),
                                             Option("ratio", float, 0.5, "A ratio."),
                                             Option("names", tuple, (), "Names."))

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        self.hit_subject(obs, peers=obs.peer_ip or "")


def test_options_default_then_validated_values() -> None:
    check = Sample()
    assert check.config == {"limit": 5, "ratio": 0.5, "names": ()}
    check.configure({"limit": 9, "ratio": 2, "names": ["a", "b"]})
    assert check.config == {"limit": 9, "ratio": 2.0, "names": ("a", "b")}


@pytest.mark.parametrize("values", [{"limit": "9"}, {"limit": True}, {"limit": -1}, {"nope": 1}, {"ratio": "x"}])
def test_bad_options_are_one_clear_config_error(values: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"risk\.test\.sample"):
        Sample().configure(values)


def test_worse_picks_the_more_severe() -> None:
    assert worse("low", "high") == "high"
    assert worse("critical", "medium") == "critical"


def test_hit_keeps_at_most_max_values_per_fact(monkeypatch: pytest.MonkeyPatch) -> None:
    hit = Hit(5.0, 5.0, "low")
    for n in range(base.MAX_VALUES_PER_FACT + 4):
        hit.add(float(n), "medium" if n == 3 else "low", {"peers": f"10.0.0.{n}", "empty": ""})
    assert len(hit.facts["peers"]) == base.MAX_VALUES_PER_FACT
    assert hit.values_dropped == 4
    assert "empty" not in hit.facts
    assert (hit.first_seen, hit.last_seen, hit.severity, hit.count) == (0.0, 19.0, "medium", 20)
    assert hit.evidence()["values_dropped"] == 4


def test_tracked_endpoints_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MAX_TRACKED_ENDPOINTS", 3)
    check = Sample()
    for n in range(5):
        check.hit((None, f"10.0.0.{n}"), 1.0)
    assert len(check.hits) == 3
    assert check.dropped == 2


def test_endpoints_of_one_device_merge_into_one_finding() -> None:
    check = Sample()
    ctx = Context()
    for ts, ip in ((1.0, "10.0.0.1"), (2.0, "10.0.0.2")):
        check.on_observation(ctx, Observation(ts=ts, proto="telnet", kind="banner", src_mac="02:00:00:00:00:01",
                                              src_ip=ip, dst_ip="10.0.0.9"))
    dev = Device("mac:02:00:00:00:00:01", 1.0, 2.0, mac="02:00:00:00:00:01", ips={"10.0.0.1", "10.0.0.2"})
    (finding,) = check.findings(ctx, SubjectIndex({dev.key: dev}))
    assert finding.subject == dev.key
    assert (finding.first_seen, finding.last_seen) == (1.0, 2.0)
    assert finding.evidence == {"count": 2, "peers": ["10.0.0.9"]}


def test_endpoint_of_no_device_is_dropped_and_counted() -> None:
    check = Sample()
    check.hit((None, "8.8.8.8"), 1.0)
    subjects = SubjectIndex({})
    assert check.findings(Context(), subjects) == []
    assert subjects.unresolved == 1
