"""The analyzer manager calls hooks in order and survives a crashing analyzer (STYLE 1)."""

from __future__ import annotations

from typing import Any

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
