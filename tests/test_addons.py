"""The analyzer manager calls hooks in order and survives a crashing analyzer (STYLE 1)."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden import addons
from iotwarden.addons import AddonManager, default_analyzers
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def load(self, ctx: Context) -> None:
        self.calls.append("load")

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        self.calls.append(f"obs:{obs.proto}")

    def on_flow(self, ctx: Context, flow: Flow) -> None:
        self.calls.append(f"flow:{flow.b_port}")

    def on_tick(self, ctx: Context, ts: float) -> None:
        self.calls.append(f"tick:{ts}")

    def done(self, ctx: Context) -> None:
        self.calls.append("done")


class Crasher:
    name = "crasher"

    def on_observation(self, ctx: Context, obs: Any) -> None:
        raise RuntimeError("bug")


def test_hooks_reach_every_analyzer_and_a_crash_is_counted_not_raised() -> None:
    ctx = Context()
    rec = Recorder()
    manager = AddonManager(ctx, [Crasher(), rec])
    manager.load()
    manager.observations([Observation(ts=1.0, proto="dns", kind="query")] * 2)
    manager.flows([Flow(0, 6, "10.0.0.1", 1, "10.0.0.2", 80, 1.0, 2.0)])
    manager.tick(5.0)
    manager.done()
    assert rec.calls == ["load", "obs:dns", "obs:dns", "flow:80", "tick:5.0", "done"]
    assert ctx.stats.analyzer_errors["crasher"] == 2
    assert ctx.now == 5.0


def test_default_analyzers_start_with_the_inventory() -> None:
    analyzers = default_analyzers()
    assert type(analyzers[0]).__name__ == "InventoryBuilder"


class Log:
    """Per-item analyzer writing into a shared call log."""

    def __init__(self, name: str, log: list[str], observes: frozenset[str] | None = None) -> None:
        self.name, self.log = name, log
        if observes is not None:
            self.observes = observes

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        self.log.append(f"{self.name}:{obs.proto}")

    def on_flow(self, ctx: Context, flow: Flow) -> None:
        self.log.append(f"{self.name}:flow{flow.b_port}")


class BatchLog:
    """Batch analyzer: one entry per batch, naming its items."""

    name = "batch"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        raise AssertionError("the batch hook replaces the per-item one")

    def on_observations(self, ctx: Context, batch: list[Observation]) -> None:
        self.log.append("batch:" + ",".join(o.proto for o in batch))

    def on_flows(self, ctx: Context, batch: list[Flow]) -> None:
        self.log.append("batch:" + ",".join(f"flow{f.b_port}" for f in batch))


def _obs(*protos: str) -> list[Observation]:
    return [Observation(ts=1.0, proto=p, kind="x") for p in protos]


def _flow(port: int) -> Flow:
    return Flow(0, 6, "10.0.0.1", 1, "10.0.0.2", port, 1.0, 2.0)


def test_a_batch_hook_gets_the_whole_batch_at_its_place_in_the_registry_order() -> None:
    log: list[str] = []
    manager = AddonManager(Context(), [Log("a", log), Log("b", log), BatchLog(log), Log("c", log)])
    manager.observations(_obs("arp", "dns"))
    assert log == ["a:arp", "b:arp", "a:dns", "b:dns", "batch:arp,dns", "c:arp", "c:dns"]
    log.clear()
    manager.flows([_flow(80), _flow(443)])
    assert log == ["a:flow80", "b:flow80", "a:flow443", "b:flow443", "batch:flow80,flow443", "c:flow80", "c:flow443"]


def test_without_batch_hooks_every_analyzer_sees_an_item_before_the_next_item() -> None:
    log: list[str] = []
    manager = AddonManager(Context(), [Log("a", log), Log("b", log)])
    manager.observations(iter(_obs("arp", "dns")))  # any iterable, not only lists
    assert log == ["a:arp", "b:arp", "a:dns", "b:dns"]


def test_observes_limits_on_observation_to_the_declared_protocols() -> None:
    log: list[str] = []
    manager = AddonManager(Context(), [Log("all", log), Log("arp", log, frozenset({"arp"}))])
    manager.observations(_obs("arp", "dns", "arp"))
    assert log == ["all:arp", "arp:arp", "all:dns", "all:arp", "arp:arp"]


def test_a_crashing_batch_hook_is_counted_once_and_the_others_still_get_the_batch() -> None:
    class BatchCrasher:
        name = "batch-crasher"

        def on_observations(self, ctx: Context, batch: list[Observation]) -> None:
            raise RuntimeError("bug")

    ctx, log = Context(), []
    manager = AddonManager(ctx, [BatchCrasher(), Log("after", log)])
    manager.observations(_obs("arp", "dns"))
    manager.observations([])  # an empty batch is not delivered
    assert ctx.stats.analyzer_errors["batch-crasher"] == 1
    assert log == ["after:arp", "after:dns"]


def test_protocol_routes_are_cached_up_to_their_limit_and_still_delivered_past_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(addons, "MAX_ROUTES", 3)
    log: list[str] = []
    manager = AddonManager(Context(), [Log("a", log, frozenset({"p0", "p9"}))])
    manager.observations(_obs(*(f"p{i}" for i in range(10))))
    assert log == ["a:p0", "a:p9"]
    assert all(len(stage.routes) <= 3 for stage in manager._stages["on_observation"])


def test_site_analyzers_build_the_detectors_and_pipeline_from_site_policy() -> None:
    from iotwarden.detect.pipeline import AlertPipeline, Suppression
    from iotwarden.detect.scan import ScanDetector

    rule = Suppression(detector="detect.scan.*", reason="the scanner of the security team")
    analyzers = addons.site_analyzers({"detect.scan": {"min_hosts": 3}}, [rule])
    assert [type(a) for a in analyzers[:2]] == [type(a) for a in default_analyzers()[:2]]  # registry order kept
    assert isinstance(analyzers[-1], AlertPipeline) and analyzers[-1].suppressions == [rule]
    [scan] = [a for a in analyzers if isinstance(a, ScanDetector)]
    assert scan.options.min_hosts == 3
