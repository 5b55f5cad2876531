"""Policy diff: on the same observed flows, what a change from OLD to NEW would break (allowed before,
blocked after) or open (blocked before, allowed after), grouped by business service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iotwarden.model import Device, Flow
from iotwarden.policy.match import resolve, service_of, verdict
from iotwarden.policy.model import Policy
from iotwarden.policy.simulate import MAX_EXAMPLES, flow_example

SCHEMA = "iotwarden.policy-diff/1"


@dataclass(slots=True)
class Change:
    """Flows of one business service whose outcome changes, with examples (old and new verdicts)."""

    flows: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"flows": self.flows, "examples": list(self.examples)}


@dataclass(slots=True)
class PolicyDiff:
    old: str
    new: str
    flows: int = 0
    breaks: dict[str, Change] = field(default_factory=dict)
    opens: dict[str, Change] = field(default_factory=dict)
    zones_added: list[str] = field(default_factory=list)
    zones_removed: list[str] = field(default_factory=list)
    rules_added: list[str] = field(default_factory=list)
    rules_removed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "old": self.old, "new": self.new, "flows": self.flows,
                "breaks": {k: v.to_dict() for k, v in sorted(self.breaks.items())},
                "opens": {k: v.to_dict() for k, v in sorted(self.opens.items())},
                "zones": {"added": self.zones_added, "removed": self.zones_removed},
                "rules": {"added": self.rules_added, "removed": self.rules_removed}}


def diff(old: Policy, new: Policy, devices: list[Device], flows: Iterable[Flow],
         names: Mapping[str, Iterable[str]] | None = None) -> PolicyDiff:
    """Compare the verdicts of both policies flow by flow (``log`` counts as passing)."""
    out = PolicyDiff(old.name, new.name)
    old_names, new_names = {z.name for z in old.zones}, {z.name for z in new.zones}
    out.zones_added, out.zones_removed = sorted(new_names - old_names), sorted(old_names - new_names)
    old_rules, new_rules = {r.name for r in old.rules}, {r.name for r in new.rules}
    out.rules_added, out.rules_removed = sorted(new_rules - old_rules), sorted(old_rules - new_rules)
    m_old, m_new = resolve(old, devices), resolve(new, devices)
    for flow in flows:
        out.flows += 1
        before, after = verdict(old, m_old, flow, names), verdict(new, m_new, flow, names)
        if before.blocked == after.blocked:
            continue
        groups = out.breaks if after.blocked else out.opens
        change = groups.setdefault(service_of(new, flow, after.dst_zone), Change())
        change.flows += 1
        if len(change.examples) < MAX_EXAMPLES:
            change.examples.append({**flow_example(flow), "old": before.to_dict(), "new": after.to_dict()})
    return out
