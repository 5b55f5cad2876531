"""The risk-check contract: a small class with a stable id, fixed metadata, declared options, and the
per-endpoint hits it gathers from observations and flows until the run ends (STYLE 1, 3, 5, 7).

A check never touches the store or the device table while traffic flows: it remembers *endpoints*
(the MAC/IP pair an observation names) and turns them into device-keyed Findings once, at the end,
because the inventory may re-key a device mid-run (DHCP, gateway detection).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation
from iotwarden.model.finding import SEVERITIES, Finding, Severity
from iotwarden.risk.subjects import Endpoint, SubjectIndex, endpoint_of

MAX_TRACKED_ENDPOINTS = 50_000  # endpoints one check keeps hits for; further ones are dropped and counted
MAX_VALUES_PER_FACT = 16  # distinct values kept per evidence fact ("peers", "usernames") of one hit
MAX_VALUE_CHARS = 200  # characters kept of one evidence value

FactValue = str | int | float | Iterable[str]


def worse(a: Severity, b: Severity) -> Severity:
    """The more severe of two severities."""
    return a if SEVERITIES.index(a) >= SEVERITIES.index(b) else b


@dataclass(frozen=True, slots=True)
class Option:
    """One tunable of a check: validated once when the check is configured (STYLE 3)."""

    name: str
    kind: type
    default: Any
    help: str

    def validate(self, check_id: str, value: Any) -> Any:
        ok = isinstance(value, self.kind) and not (self.kind is not bool and isinstance(value, bool))
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if self.kind is tuple and isinstance(value, list):
            value, ok = tuple(value), True
        if not ok:
            raise ConfigError(f"{check_id}: option {self.name} must be {self.kind.__name__}, got {value!r}")
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"{check_id}: option {self.name} must not be negative, got {value!r}")
        return value


@dataclass(slots=True)
class Hit:
    """What one check saw of one endpoint: when, how often, how bad, and bounded evidence facts."""

    first_seen: float
    last_seen: float
    severity: Severity
    count: int = 0
    facts: dict[str, set[str]] = field(default_factory=dict)
    values_dropped: int = 0

    def add(self, ts: float, severity: Severity, facts: Mapping[str, FactValue]) -> None:
        self.first_seen = min(self.first_seen, ts)
        self.last_seen = max(self.last_seen, ts)
        self.severity = worse(self.severity, severity)
        self.count += 1
        for name, value in facts.items():
            values = [value] if isinstance(value, str | int | float) else value
            texts = [str(v)[:MAX_VALUE_CHARS] for v in values if v is not None and str(v) != ""]
            if not texts:
                continue
            kept = self.facts.setdefault(name, set())
            for text in texts:
                if text in kept:
                    continue
                if len(kept) >= MAX_VALUES_PER_FACT:
                    self.values_dropped += 1
                    continue
                kept.add(text)

    def merge(self, other: Hit) -> None:
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.severity = worse(self.severity, other.severity)
        self.count += other.count
        self.values_dropped += other.values_dropped
        for name, values in other.facts.items():
            kept = self.facts.setdefault(name, set())
            for v in sorted(values):
                if v in kept:
                    continue
                if len(kept) >= MAX_VALUES_PER_FACT:
                    self.values_dropped += 1
                    continue
                kept.add(v)

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"count": self.count}
        out.update({name: sorted(values) for name, values in sorted(self.facts.items())})
        if self.values_dropped:
            out["values_dropped"] = self.values_dropped
        return out


class Check:
    """Base of every risk check. Subclasses set the class metadata and implement the hooks they need.

    ``protos`` lists the dissectors whose observations the check reads (the risk analyzer dispatches
    by it); ``wants_flows`` asks for every closed flow. :meth:`findings` runs once, at the end.
    """

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ""
    references: ClassVar[tuple[str, ...]] = ()
    protos: ClassVar[frozenset[str]] = frozenset()
    wants_flows: ClassVar[bool] = False
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self) -> None:
        self.hits: dict[Endpoint, Hit] = {}
        self.dropped = 0  # hits not kept because MAX_TRACKED_ENDPOINTS endpoints were already tracked
        self.config: dict[str, Any] = {o.name: o.default for o in self.options}

    @property
    def name(self) -> str:
        return self.id

    def configure(self, values: Mapping[str, Any]) -> None:
        """Set options from ``values`` (option name -> value); unknown names and bad types raise ConfigError."""
        known = {o.name: o for o in self.options}
        for key, value in values.items():
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise ConfigError(f"{self.id}: unknown option {key!r} (options: {allowed})")
            self.config[key] = known[key].validate(self.id, value)

    # --- hooks (called by risk.analyzer.RiskAnalyzer) -------------------------------------------

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        """An observation of one of ``protos``."""

    def on_flow(self, ctx: Context, flow: Flow) -> None:
        """A closed flow (only when ``wants_flows``)."""

    # --- gathering ----------------------------------------------------------------------------------

    def hit(self, endpoint: Endpoint, ts: float, severity: Severity | None = None, **facts: FactValue) -> None:
        """Record that ``endpoint`` shows this risk at ``ts``, with evidence ``facts``."""
        if endpoint == (None, None):
            return
        sev = severity or self.severity
        found = self.hits.get(endpoint)
        if found is None:
            if len(self.hits) >= MAX_TRACKED_ENDPOINTS:
                self.dropped += 1
                return
            found = self.hits[endpoint] = Hit(ts, ts, sev)
        found.add(ts, sev, facts)

    def hit_subject(self, obs: Observation, severity: Severity | None = None, **facts: FactValue) -> None:
        """Record a hit on the observation's subject endpoint."""
        self.hit(endpoint_of(obs), obs.ts, severity, **facts)

    # --- results ------------------------------------------------------------------------------------

    def findings(self, ctx: Context, subjects: SubjectIndex) -> list[Finding]:
        """One finding per device: the hits of every endpoint that resolves to it, merged."""
        merged = self.by_device(self.hits, subjects)
        return [self.finding(key, found) for key, found in sorted(merged.items())]

    @staticmethod
    def by_device(hits: Mapping[Endpoint, Hit], subjects: SubjectIndex) -> dict[str, Hit]:
        """The ``hits`` of every endpoint that resolves to a device, merged per device key (copies: ``hits`` is
        left as it was); endpoints that resolve to none are counted in ``subjects.unresolved``."""
        merged: dict[str, Hit] = {}
        for endpoint, found in hits.items():
            key = subjects.resolve(*endpoint)
            if key is None:
                subjects.unresolved += 1
                continue
            if key in merged:
                merged[key].merge(found)
            else:
                merged[key] = Hit(found.first_seen, found.last_seen, found.severity)
                merged[key].merge(found)
        return merged

    def finding(self, subject: str, found: Hit, **extra: Any) -> Finding:
        evidence = found.evidence()
        evidence.update(extra)
        return Finding(
            id=self.id, title=self.title, severity=found.severity, subject=subject, evidence=evidence,
            remediation=self.remediation, references=list(self.references),
            first_seen=found.first_seen, last_seen=found.last_seen,
        )
