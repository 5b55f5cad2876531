"""The risk analyzer: dispatch by protocol, crash isolation, options, findings and scores at the end."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.addons import AddonManager
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.model import Flow, Observation
from iotwarden.model.finding import Severity
from iotwarden.risk.analyzer import RiskAnalyzer
from iotwarden.risk.base import Check
from iotwarden.risk.registry import default_checks

PROTOS = sorted({p for c in default_checks() for p in c.protos})


class Broken(Check):
    id: ClassVar[str] = "risk.test.broken"
    severity: ClassVar[Severity] = "low"
    protos: ClassVar[frozenset[str]] = frozenset({"telnet"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        raise RuntimeError("bug")


class Counting(Check):
    id: ClassVar[str] = "risk.test.counting"
    severity: ClassVar[Severity] = "high"
    protos: ClassVar[frozenset[str]] = frozenset({"telnet"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        self.hit_subject(obs)


def telnet(ts: float = 1.0) -> Observation:
    return Observation(ts=ts, proto="telnet", kind="banner", src_mac="02:00:00:00:00:05", src_ip="10.0.0.5",
                       dst_mac="02:00:00:00:00:09", dst_ip="10.0.0.9")


def run(analyzer: RiskAnalyzer, observations: list[Observation]) -> Context:
    ctx = Context()
    manager = AddonManager(ctx, [InventoryBuilder(), analyzer])
    manager.load()
    manager.observations(observations)
    manager.done()
    return ctx


def test_a_crashing_check_is_counted_and_the_others_still_report() -> None:
    ctx = run(RiskAnalyzer([Broken(), Counting()]), [telnet(1.0), telnet(2.0)])
    assert ctx.stats.analyzer_errors == {"risk.test.broken": 2}
    (finding,) = ctx.findings
    assert (finding.id, finding.subject) == ("risk.test.counting", "mac:02:00:00:00:00:05")
    assert finding.evidence["count"] == 2
    assert ctx.devices["mac:02:00:00:00:00:05"].risk_score == 50.0


def test_observations_of_other_protocols_never_reach_a_check() -> None:
    other = Observation(ts=1.0, proto="dns", kind="query", src_ip="10.0.0.5")
    ctx = run(RiskAnalyzer([Broken()]), [other])
    assert not ctx.stats.analyzer_errors


def test_the_manager_routes_only_the_protocols_of_its_checks() -> None:
    # hooks.OBSERVES_ATTRIBUTE: the manager skips the call for every other protocol
    assert RiskAnalyzer([Broken(), Counting()]).observes == frozenset({"telnet"})
    assert RiskAnalyzer().observes == frozenset(PROTOS)


class BrokenOnFlows(Check):
    id: ClassVar[str] = "risk.test.broken_flows"
    severity: ClassVar[Severity] = "low"
    wants_flows: ClassVar[bool] = True

    def on_flow(self, ctx: Context, flow: Flow) -> None:
        raise RuntimeError("bug")


def test_a_check_crashing_on_flows_is_counted_per_flow() -> None:
    ctx = Context()
    manager = AddonManager(ctx, [RiskAnalyzer([BrokenOnFlows()])])
    manager.load()
    flow = Flow(vlan=0, ip_proto=6, a_ip="10.0.0.5", a_port=40000, b_ip="10.0.0.9", b_port=23, first_seen=1.0,
                last_seen=2.0)
    manager.flows([flow, flow])
    assert ctx.stats.analyzer_errors == {"risk.test.broken_flows": 2}


def test_a_batch_of_flows_reaches_the_flow_checks_as_flow_by_flow() -> None:
    """The manager hands the analyzer whole batches (on_flows): the checks end as they do fed one flow
    at a time through on_flow."""
    flows = [Flow(vlan=0, ip_proto=6, a_ip=f"10.0.0.{5 + n % 2}", a_port=40000 + n, b_ip=f"81.0.{n}.1",
                  b_port=23 + n % 3, first_seen=1.0 + n, last_seen=2.0 + n, a_mac=f"02:00:00:00:00:0{5 + n % 2}")
             for n in range(40)] + [Flow(0, 6, "10.0.0.5", 1, "10.0.0.9", 80, 50.0, 51.0, a_mac="02:00:00:00:00:05")]
    batched, single = RiskAnalyzer(), RiskAnalyzer()
    ctx = Context()
    manager = AddonManager(ctx, [batched])
    manager.load()
    manager.flows(flows)
    for flow in flows:
        single.on_flow(Context(), flow)

    def reached(analyzer: RiskAnalyzer) -> dict[Any, Any]:
        (check,) = [c for c in analyzer.checks if c.wants_flows]
        return {k: (sorted(r.destinations), sorted(r.ports), r.first, r.last)
                for k, r in check.reached.items()}  # type: ignore[attr-defined]

    assert reached(batched) == reached(single) != {}
    assert len(reached(batched)[("02:00:00:00:00:05", "10.0.0.5")][0]) == 20  # the internal peer is not counted
    assert not ctx.stats.analyzer_errors


def test_options_are_validated_at_construction() -> None:
    with pytest.raises(ConfigError, match="no check"):
        RiskAnalyzer(options={"risk.nope": {}})
    with pytest.raises(ConfigError, match="threshold"):
        RiskAnalyzer(options={"risk.exposure.many_external": {"threshold": "many"}})


values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=12)
    | st.sampled_from(["public", "root", "vizxv", "TLS 1.0", "write_var", "plc_stop", "2c", "OpenSSH_5.1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELD_NAMES = ["username", "password", "result", "community", "version", "function", "is_write", "service_name",
               "class", "umas_function", "sub_function", "function_code", "pi_service", "certs", "cipher_suite",
               "server", "software", "banner", "role", "basic_auth", "basic_user", "www_authenticate",
               "return_code", "st", "nt", "usn", "password_present", "service", "sys_descr"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PROTOS),
                          st.sampled_from(["banner", "login_attempt", "get", "set", "response", "trap", "connect",
                                           "connack", "notify", "server_hello", "certificate", "request", "job",
                                           "cip_request", "write_property", "confirmed_request"]),
                          st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=6),
                          st.sampled_from(["src", "dst"])), max_size=6))
def test_any_observation_fields_never_crash_a_check(items: list[tuple[str, str, dict[str, Any], str]]) -> None:
    observations = [Observation(ts=float(n), proto=p, kind=k, src_mac="02:00:00:00:00:05", src_ip="10.0.0.5",
                                dst_mac="02:00:00:00:00:09", dst_ip="10.0.0.9", src_port=1234, dst_port=23,
                                subject=s, fields=f)  # type: ignore[arg-type]
                    for n, (p, k, f, s) in enumerate(items)]
    ctx = run(RiskAnalyzer(), observations)
    assert not ctx.stats.analyzer_errors
    assert all(f.subject in ctx.devices for f in ctx.findings)


def test_risk_runs_after_the_inventory_and_the_classifier_by_default() -> None:
    from iotwarden.addons import DEFAULT_ANALYZERS

    specs = list(DEFAULT_ANALYZERS)
    risk = specs.index("iotwarden.risk.analyzer:RiskAnalyzer")
    # it reads the devices the inventory builds and the classification its analyzers set in done()
    assert all(i < risk for i, spec in enumerate(specs) if spec.startswith("iotwarden.inventory."))
