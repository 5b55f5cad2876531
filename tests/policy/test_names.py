"""Domain rules judged by name: the IP -> name map built from the DNS answers of the same captures
(CNAME chains followed, bounded), and on the lab capture an Axis camera whose cloud rule allows its TLS
flows to dispatcher.axis.com by name, in simulation and in the rendered ruleset."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.policy import names as names_mod
from iotwarden.policy.match import resolve
from iotwarden.policy.model import Policy
from iotwarden.policy.names import NameMap, domain_matches
from iotwarden.policy.nftables import render
from iotwarden.policy.simulate import simulate
from tests.policy.conftest import Lab

AXIS_CAM = "mac:ac:cc:8e:4a:10:01"  # cam-lobby of lab/scenarios/enterprise.yaml (its dispatcher.axis.com TLS)


def _a(name: str, data: str, rtype: str = "A") -> dict[str, Any]:
    return {"name": name, "type": rtype, "ttl": 300, "data": data}


def test_address_records_name_their_address_and_cname_chains_lead_back_to_the_name_asked() -> None:
    m = NameMap()
    m.add_answers([_a("Updates.Vendor.example.", "cdn.vendor.example.", "CNAME"),
                   _a("cdn.vendor.example", "edge.cdn.example", "CNAME"),
                   _a("edge.cdn.example", "192.0.2.7"), _a("edge.cdn.example", "2001:db8::7", "AAAA"),
                   _a("vendor.example", "mail.vendor.example", "MX"), _a("x", "not an ip")])
    chain = {"updates.vendor.example", "cdn.vendor.example", "edge.cdn.example"}
    assert m.names == {"192.0.2.7": chain, "2001:db8::7": chain}
    assert m.resolve(["*.vendor.example", "updates.vendor.example", "other.example"]) == {
        "*.vendor.example": ["192.0.2.7", "2001:db8::7"], "updates.vendor.example": ["192.0.2.7", "2001:db8::7"],
        "other.example": []}


def test_a_cname_loop_ends() -> None:
    m = NameMap()
    m.add_answers([_a("a.example", "b.example", "CNAME"), _a("b.example", "a.example", "CNAME"),
                   _a("b.example", "192.0.2.1")])
    assert m.names == {"192.0.2.1": {"a.example", "b.example"}}


def test_wildcards_match_names_below_the_domain_only() -> None:
    assert domain_matches("*.axis.com", "dispatcher.axis.com")
    assert not domain_matches("*.axis.com", "axis.com") and not domain_matches("*.axis.com", "evilaxis.com")
    assert domain_matches("axis.com", "axis.com") and not domain_matches("axis.com", "www.axis.com")


def test_the_map_is_bounded_per_address_and_in_addresses(monkeypatch: Any) -> None:
    monkeypatch.setattr(names_mod, "MAX_ADDRESSES", 2)
    monkeypatch.setattr(names_mod, "MAX_NAMES_PER_ADDRESS", 3)
    m = NameMap()
    m.add_answers([_a(f"n{i}.example", "192.0.2.1") for i in range(5)])
    m.add_answers([_a("x.example", "192.0.2.2"), _a("y.example", "192.0.2.3")])
    assert len(m.names["192.0.2.1"]) == 3 and set(m.names) == {"192.0.2.1", "192.0.2.2"} and m.dropped == 3


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=4), max_leaves=20)
_records = st.lists(st.fixed_dictionaries({
    "name": st.text(max_size=12) | st.sampled_from(["a.example", "b.example."]),
    "type": st.sampled_from(["A", "AAAA", "CNAME", "MX"]),
    "data": _json | st.sampled_from(["192.0.2.1", "2001:db8::1", "a.example", "b.example"])}), max_size=8)


@settings(max_examples=200, deadline=None)
@given(_json | _records)
def test_any_answer_section_is_taken_or_ignored_never_a_crash(answers: Any) -> None:
    m = NameMap()
    m.add_answers(answers)
    assert all(isinstance(n, str) for names in m.names.values() for n in names)


def _cloud_policy(domain: str) -> Policy:
    return Policy.from_dict({
        "name": "cams", "default": "allow",
        "zones": [{"name": "cameras", "devices": [AXIS_CAM], "default": "deny"}],
        "rules": [{"name": "axis_cloud", "from": "cameras", "to": "internet", "action": "allow",
                   "services": [{"proto": "tcp", "port": 443}], "destinations": [domain]}],
    })


def test_the_lab_captures_dns_answers_name_the_cameras_cloud(lab: Lab) -> None:
    [ip] = lab.benign.names.resolve(["dispatcher.axis.com"])["dispatcher.axis.com"]
    assert ip.startswith("198.51.100.")  # the lab's clouds resolve into RFC 5737 ranges
    assert any(f.b_ip == ip and f.app == "tls" for f in lab.benign.flows)


def test_a_cloud_domain_rule_allows_the_cameras_tls_flows_by_name(lab: Lab) -> None:
    seen = lab.benign
    [ip] = seen.names.resolve(["dispatcher.axis.com"])["dispatcher.axis.com"]
    to_cloud = [f for f in seen.flows if f.b_ip == ip]
    assert to_cloud and all(f.b_port == 443 for f in to_cloud)
    for domain in ("dispatcher.axis.com", "*.axis.com"):
        policy = _cloud_policy(domain)
        by_name = simulate(policy, seen.devices, to_cloud, seen.names.as_mapping())
        assert by_name.total.blocked == 0 and by_name.rules == {"axis_cloud": len(to_cloud)}
        blind = simulate(policy, seen.devices, to_cloud)  # without the DNS answers the name matches nothing
        assert blind.total.blocked == len(to_cloud) and blind.rules == {"cameras.default": len(to_cloud)}


def test_the_rendered_domain_rule_matches_a_resolved_address_set_to_be_refreshed(lab: Lab) -> None:
    policy = _cloud_policy("*.axis.com")
    [ip] = lab.benign.names.resolve(["dispatcher.axis.com"])["dispatcher.axis.com"]
    text = render(policy, resolve(policy, lab.benign.devices), lab.benign.names.for_policy(policy))
    assert f"set d_axis_cloud_v4 {{ type ipv4_addr; flags interval; auto-merge; elements = {{ {ip} }}; }}" in text
    assert "# d_axis_cloud_*: addresses of *.axis.com from DNS answers at render time" in text
    assert "refresh them" in text
    assert ('ip daddr != @site_v4 ip daddr @d_axis_cloud_v4 meta l4proto tcp th dport { 443 } counter accept '
            'comment "axis_cloud"') in text
    assert "@r_axis_cloud_v4" not in text.split("chain from_cameras")[1]  # no CIDR given: no CIDR match line
