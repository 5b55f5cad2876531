"""What-if testing: replay observed flows against a policy and report what would be blocked or logged,
per device and per business service, before anything is deployed (schema ``iotwarden.policy-test/1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iotwarden.model import Device, Flow
from iotwarden.policy.match import Membership, Verdict, resolve, service_of, verdict
from iotwarden.policy.model import Policy

SCHEMA = "iotwarden.policy-test/1"
MAX_EXAMPLES = 5  # example flows kept per device, service and rule
MAX_GROUPS = 10_000  # devices / services / rules tallied; past it the rest count under "(other)"
OTHER = "(other)"


def flow_example(flow: Flow) -> dict[str, Any]:
    """A short, JSON-compatible description of a flow for reports and rule explanations."""
    return {"src": flow.a_ip, "dst": flow.b_ip, "proto": flow.ip_proto, "port": flow.b_port,
            "app": flow.app, "first_seen": flow.first_seen, "packets": flow.packets}


@dataclass(slots=True)
class Tally:
    """Flow counts by outcome, with a few examples of the blocked and logged ones."""

    allowed: int = 0
    logged: int = 0
    blocked: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, flow: Flow, v: Verdict) -> None:
        if v.action == "deny":
            self.blocked += 1
        elif v.action == "log":
            self.logged += 1
        else:
            self.allowed += 1
        if v.action != "allow" and len(self.examples) < MAX_EXAMPLES:
            self.examples.append({**flow_example(flow), **v.to_dict()})

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "logged": self.logged, "blocked": self.blocked,
                "examples": list(self.examples)}


def _bucket(groups: dict[str, Tally], key: str) -> Tally:
    if key not in groups and len(groups) >= MAX_GROUPS:
        key = OTHER
    return groups.setdefault(key, Tally())


@dataclass(slots=True)
class TestReport:
    """Totals, and tallies per device (initiator's key), per business service and per deciding rule."""

    policy: str
    total: Tally = field(default_factory=Tally)
    devices: dict[str, Tally] = field(default_factory=dict)
    services: dict[str, Tally] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def hit(groups: dict[str, Tally]) -> dict[str, Any]:
            return {k: t.to_dict() for k, t in sorted(groups.items()) if t.blocked or t.logged}

        return {"schema": SCHEMA, "policy": self.policy, "totals": self.total.to_dict(),
                "devices": hit(self.devices), "services": hit(self.services),
                "rules": dict(sorted(self.rules.items()))}


def device_index(devices: Iterable[Device]) -> dict[str, str]:
    """IP address -> device key, MAC -> device key (MACs as ``mac:`` keys)."""
    out: dict[str, str] = {}
    for dev in devices:
        for ip in dev.ips:
            out.setdefault(ip, dev.key)
        if dev.mac:
            out.setdefault(dev.mac, dev.key)
    return out


def simulate(policy: Policy, devices: list[Device], flows: Iterable[Flow],
             names: Mapping[str, Iterable[str]] | None = None, members: Membership | None = None) -> TestReport:
    """Decide every flow with :func:`~iotwarden.policy.match.verdict` and tally the outcomes."""
    members = members or resolve(policy, devices)
    keys = device_index(devices)
    report = TestReport(policy.name)
    for flow in flows:
        v = verdict(policy, members, flow, names)
        report.total.add(flow, v)
        dev = keys.get(flow.a_ip) or keys.get(flow.a_mac or "") or f"ip:{flow.a_ip}"
        _bucket(report.devices, dev).add(flow, v)
        _bucket(report.services, service_of(policy, flow, v.dst_zone)).add(flow, v)
        report.rules[v.rule] = report.rules.get(v.rule, 0) + 1
    return report


def render_text(report: TestReport) -> list[str]:
    """The report as lines for a terminal: totals, then the devices and services with blocked flows."""
    t = report.total
    lines = [f"policy {report.policy}: {t.allowed + t.logged + t.blocked} flows, {t.allowed} allowed, "
             f"{t.logged} logged, {t.blocked} blocked"]
    for title, groups in (("device", report.devices), ("service", report.services)):
        hit = {k: v for k, v in sorted(groups.items()) if v.blocked or v.logged}
        lines.append(f"{title}s affected: {len(hit)}")
        for key, tally in hit.items():
            lines.append(f"  {key}: {tally.blocked} blocked, {tally.logged} logged, {tally.allowed} allowed")
            for ex in tally.examples[:2]:
                lines.append(f"    {ex['action']} {ex['src']} -> {ex['dst']}:{ex['port']} proto {ex['proto']} "
                             f"({ex['src_zone']} -> {ex['dst_zone']}, rule {ex['rule']})")
    return lines
