"""The analyzer registry and the manager that calls hooks safely (mitmproxy ``addonmanager``)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from typing import Any

from iotwarden.detect import DETECTORS, PIPELINE
from iotwarden.hooks import BATCH_HOOKS, HOOK_NAMES, OBSERVES_ATTRIBUTE, Context
from iotwarden.model import Flow, Observation

log = logging.getLogger(__name__)

# "module:Class" of every default analyzer, in call order. Inventory first: later analyzers read it.
DEFAULT_ANALYZERS: tuple[str, ...] = (
    "iotwarden.inventory.builder:InventoryBuilder",
    "iotwarden.inventory.classifier:DeviceClassifier",
    "iotwarden.risk.analyzer:RiskAnalyzer",  # after the classifier: its done() reads the classification
    *DETECTORS,  # iotwarden.detect: one small module per detector
    PIPELINE,  # last: folds the detectors' alerts (dedup, aggregation, suppression)
)


def default_analyzers() -> list[Any]:
    out = []
    for spec in DEFAULT_ANALYZERS:
        module_name, class_name = spec.split(":")
        out.append(getattr(importlib.import_module(module_name), class_name)())
    return out


def site_analyzers(options: dict[str, dict[str, Any]] | None = None, suppressions: Iterable[Any] = ()) -> list[Any]:
    """The registry's analyzers with the detectors built from a site's ``options`` and an alert pipeline
    that applies its ``suppressions`` (site policy over mechanism, STYLE 5): what ``monitor`` and the
    worker run."""
    from iotwarden.detect import default_detectors  # noqa: PLC0415 - the registry loads lazily
    from iotwarden.detect.base import Detector  # noqa: PLC0415
    from iotwarden.detect.pipeline import AlertPipeline  # noqa: PLC0415

    kept = [a for a in default_analyzers() if not isinstance(a, AlertPipeline | Detector)]
    return [*kept, *default_detectors(options), AlertPipeline(suppressions)]


def analyzer_name(analyzer: Any) -> str:
    return str(getattr(analyzer, "name", type(analyzer).__name__))


# cached dispatch routes: one per Observation.proto seen in a run; a hostile capture could bring many
MAX_ROUTES = 4096  # past it, further protocols are routed without the cache (same result, slower)


class _Stage:
    """Consecutive analyzers fed the same way: one batch hook, or per-item hooks interleaved item by item."""

    __slots__ = ("batch", "fns", "observes", "routes")

    def __init__(self, batch: Any = None, fns: list[Any] | None = None, observes: list[Any] | None = None) -> None:
        self.batch = batch
        self.fns: list[Any] = fns or []
        self.observes: list[frozenset[str] | None] = observes or []
        self.routes: dict[str, tuple[Any, ...]] = {}

    def route(self, proto: str) -> tuple[Any, ...]:
        """The per-item hooks (registry order) that want observations of ``proto``."""
        fns = self.routes.get(proto)
        if fns is None:
            fns = tuple(fn for fn, want in zip(self.fns, self.observes, strict=True) if want is None or proto in want)
            if len(self.routes) < MAX_ROUTES:
                self.routes[proto] = fns
        return fns


class AddonManager:
    """Calls each hook on every analyzer that implements it; one crash never stops the run.

    Per-item hooks are called item by item in registry order (every analyzer sees an observation
    before the next one is delivered); an analyzer with a batch hook (``on_observations``,
    ``on_flows``) gets the whole batch at its place in that order (hooks.py).
    """

    def __init__(self, ctx: Context, analyzers: Iterable[Any]) -> None:
        self.ctx = ctx
        self.analyzers = list(analyzers)
        self._by_hook: dict[str, list[Any]] = {
            h: [getattr(a, h) for a in self.analyzers if callable(getattr(a, h, None))] for h in HOOK_NAMES
        }
        self._stages = {hook: self._plan(hook, batch) for hook, batch in BATCH_HOOKS.items()}

    def _plan(self, hook: str, batch_hook: str) -> list[_Stage]:
        stages: list[_Stage] = []
        for analyzer in self.analyzers:
            batch = getattr(analyzer, batch_hook, None)
            if callable(batch):
                stages.append(_Stage(batch=batch))
                continue
            fn = getattr(analyzer, hook, None)
            if not callable(fn):
                continue
            if not stages or stages[-1].batch is not None:
                stages.append(_Stage())
            want = getattr(analyzer, OBSERVES_ATTRIBUTE, None) if hook == "on_observation" else None
            stages[-1].fns.append(fn)
            stages[-1].observes.append(frozenset(want) if want is not None else None)
        return stages

    def _crashed(self, fn: Any, hook: str) -> None:
        name = analyzer_name(getattr(fn, "__self__", fn))
        self.ctx.stats.analyzer_errors[name] += 1
        log.exception("analyzer %s failed in %s", name, hook)

    def _safecall(self, hook: str, *args: Any) -> None:
        for fn in self._by_hook[hook]:
            try:
                fn(self.ctx, *args)
            except Exception:  # noqa: BLE001 - an analyzer bug is counted, never fatal (STYLE 1)
                self._crashed(fn, hook)

    def load(self) -> None:
        self._safecall("load")

    def observations(self, items: Iterable[Observation]) -> None:
        stages = self._stages["on_observation"]
        if not stages:
            return
        batch = items if isinstance(items, list) else list(items)
        ctx = self.ctx
        for stage in stages:
            if stage.batch is not None:
                self._batch(stage.batch, "on_observations", batch)
                continue
            route = stage.route
            for obs in batch:
                for fn in route(obs.proto):
                    try:
                        fn(ctx, obs)
                    except Exception:  # noqa: BLE001 - an analyzer bug is counted, never fatal (STYLE 1)
                        self._crashed(fn, "on_observation")

    def flows(self, items: Iterable[Flow]) -> None:
        stages = self._stages["on_flow"]
        if not stages:
            return
        batch = items if isinstance(items, list) else list(items)
        ctx = self.ctx
        for stage in stages:
            if stage.batch is not None:
                self._batch(stage.batch, "on_flows", batch)
                continue
            fns = stage.fns
            for flow in batch:
                for fn in fns:
                    try:
                        fn(ctx, flow)
                    except Exception:  # noqa: BLE001 - an analyzer bug is counted, never fatal (STYLE 1)
                        self._crashed(fn, "on_flow")

    def _batch(self, fn: Any, hook: str, batch: list[Any]) -> None:
        if not batch:
            return
        try:
            fn(self.ctx, batch)
        except Exception:  # noqa: BLE001 - an analyzer bug is counted, never fatal (STYLE 1)
            self._crashed(fn, hook)

    def tick(self, ts: float) -> None:
        self.ctx.now = max(self.ctx.now, ts)
        self._safecall("on_tick", ts)

    def done(self) -> None:
        self._safecall("done")
