"""The analyzer registry and the manager that calls hooks safely (mitmproxy ``addonmanager``)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from typing import Any

from iotwarden.hooks import HOOK_NAMES, Context
from iotwarden.model import Flow, Observation

log = logging.getLogger(__name__)

# "module:Class" of every default analyzer, in call order. Inventory first: later analyzers read it.
DEFAULT_ANALYZERS: tuple[str, ...] = ("iotwarden.inventory.builder:InventoryBuilder",)


def default_analyzers() -> list[Any]:
    out = []
    for spec in DEFAULT_ANALYZERS:
        module_name, class_name = spec.split(":")
        out.append(getattr(importlib.import_module(module_name), class_name)())
    return out


def analyzer_name(analyzer: Any) -> str:
    return str(getattr(analyzer, "name", type(analyzer).__name__))


class AddonManager:
    """Calls each hook on every analyzer that implements it; one crash never stops the run."""

    def __init__(self, ctx: Context, analyzers: Iterable[Any]) -> None:
        self.ctx = ctx
        self.analyzers = list(analyzers)
        self._by_hook: dict[str, list[Any]] = {
            h: [getattr(a, h) for a in self.analyzers if callable(getattr(a, h, None))] for h in HOOK_NAMES
        }

    def _safecall(self, hook: str, *args: Any) -> None:
        for fn in self._by_hook[hook]:
            try:
                fn(self.ctx, *args)
            except Exception:  # noqa: BLE001 - an analyzer bug is counted, never fatal (STYLE 1)
                name = analyzer_name(getattr(fn, "__self__", fn))
                self.ctx.stats.analyzer_errors[name] += 1
                log.exception("analyzer %s failed in %s", name, hook)

    def load(self) -> None:
        self._safecall("load")

    def observations(self, items: Iterable[Observation]) -> None:
        fns = self._by_hook["on_observation"]
        if not fns:
            return
        for obs in items:
            self._safecall("on_observation", obs)

    def flows(self, items: Iterable[Flow]) -> None:
        if not self._by_hook["on_flow"]:
            return
        for flow in items:
            self._safecall("on_flow", flow)

    def tick(self, ts: float) -> None:
        self.ctx.now = max(self.ctx.now, ts)
        self._safecall("on_tick", ts)

    def done(self) -> None:
        self._safecall("done")
