"""RiskAnalyzer: the addon that runs every risk check, dispatching observations by protocol, and at the
end turns their hits into Findings on ``ctx.findings`` and risk scores on ``ctx.devices``.

A crashing check is counted under its id in ``ctx.stats.analyzer_errors`` and the others go on
(mitmproxy ``addonmanager.safecall``). Options are given per check id and validated once, here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation
from iotwarden.model.finding import Finding
from iotwarden.risk.base import Check
from iotwarden.risk.registry import default_checks
from iotwarden.risk.scorer import score_devices
from iotwarden.risk.subjects import SubjectIndex

log = logging.getLogger(__name__)


class RiskAnalyzer:
    """Analyzer "risk": runs the checks of :mod:`iotwarden.risk.registry` (or those given)."""

    name: ClassVar[str] = "risk"

    def __init__(self, checks: Sequence[Check] | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.checks = list(checks) if checks is not None else default_checks()
        by_id = {c.id: c for c in self.checks}
        for check_id, values in (options or {}).items():
            if check_id not in by_id:
                raise ConfigError(f"risk options: no check {check_id!r} (checks: {', '.join(sorted(by_id))})")
            by_id[check_id].configure(values)
        self._by_proto: dict[str, list[Check]] = {}
        for check in self.checks:
            for proto in check.protos:
                self._by_proto.setdefault(proto, []).append(check)
        self._flow_checks = [c for c in self.checks if c.wants_flows]
        # hooks.OBSERVES_ATTRIBUTE: the manager calls on_observation only for protocols a check reads
        self.observes = frozenset(self._by_proto)
        self.findings: list[Finding] = []
        self.unresolved = 0

    @classmethod
    def _safe(cls, ctx: Context, check: Check, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(ctx, *args)
        except Exception:  # noqa: BLE001 - one broken check is counted, never fatal (STYLE 1)
            cls._crashed(ctx, check)
            return None

    @staticmethod
    def _crashed(ctx: Context, check: Check) -> None:
        """Count and log the exception being handled (called from an ``except`` block)."""
        ctx.stats.analyzer_errors[check.id] += 1
        log.exception("risk check %s failed", check.id)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        # what _safe does, without its call: this and on_flow run for every observation and flow
        for check in self._by_proto.get(obs.proto, ()):
            try:
                check.on_observation(ctx, obs)
            except Exception:  # noqa: BLE001 - one broken check is counted, never fatal (STYLE 1)
                self._crashed(ctx, check)

    def on_flow(self, ctx: Context, flow: Flow) -> None:
        for check in self._flow_checks:
            try:
                check.on_flow(ctx, flow)
            except Exception:  # noqa: BLE001 - as above
                self._crashed(ctx, check)

    def on_flows(self, ctx: Context, flows: list[Flow]) -> None:
        """A batch of closed flows (the add-on manager prefers this hook, hooks.py): each flow check
        takes the batch in turn, flow by flow, one crash counted per flow as in :meth:`on_flow`. The
        checks keep state of their own only, so the order they see the flows in is theirs alone."""
        for check in self._flow_checks:
            handle = check.on_flow  # one bound method per batch: a scan brings millions of flows
            for flow in flows:
                try:
                    handle(ctx, flow)
                except Exception:  # noqa: BLE001 - as above
                    self._crashed(ctx, check)

    def done(self, ctx: Context) -> None:
        subjects = SubjectIndex(ctx.devices)
        out: list[Finding] = []
        for check in self.checks:
            found = self._safe(ctx, check, check.findings, subjects)
            out.extend(found or [])
        self.findings = out
        self.unresolved = subjects.unresolved
        ctx.findings.extend(out)
        score_devices(ctx.devices.values(), out)

    def dropped(self) -> dict[str, int]:
        """Hits each check could not keep because its endpoint limit was reached (only those > 0)."""
        return {c.id: c.dropped for c in self.checks if c.dropped}
