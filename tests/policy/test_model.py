"""Policy documents: round trip, defaults (OT availability-first) and errors that name the bad key."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import PolicyError
from iotwarden.policy.model import Policy, dump_text, load_text

DOC: dict[str, Any] = {
    "name": "site",
    "default": "deny",
    "services": {"dns": [{"proto": "udp", "port": 53}, {"proto": "tcp", "port": 53}]},
    "zones": [
        {"name": "cameras", "device_types": ["ip_camera"], "vendors": ["Axis Communications"]},
        {"name": "plant", "categories": ["OT"], "subnets": ["10.10.30.0/24"]},
        {"name": "servers", "devices": ["98:E7:43:10:00:0A", "ip:10.10.10.11"]},
    ],
    "rules": [
        {"name": "cam_dns", "from": "cameras", "to": "servers", "services": ["dns"], "action": "allow"},
        {"name": "cam_cloud", "from": "cameras", "to": "internet", "services": [{"proto": "tcp", "ports": [443]}],
         "destinations": ["dispatcher.axis.com", "192.0.2.0/24"], "action": "log"},
    ],
}


def test_a_policy_round_trips_through_yaml() -> None:
    policy = Policy.from_dict(DOC)
    again = load_text(dump_text(policy))
    assert again.to_dict() == policy.to_dict()
    assert again.zone("servers").devices == ["mac:98:e7:43:10:00:0a", "ip:10.10.10.11"]  # type: ignore[union-attr]
    assert [s.label() for s in again.rules[0].services] == ["dns", "dns"]


def test_ot_zones_are_availability_first_and_log_by_default() -> None:
    policy = Policy.from_dict(DOC)
    plant = policy.zone("plant")
    assert plant is not None and plant.availability_first
    assert plant.effective_default("deny") == "log"
    operator_says = Policy.from_dict({**DOC, "zones": [{"name": "plant", "categories": ["ot"], "default": "deny"}],
                                      "rules": []})
    assert operator_says.zones[0].effective_default("deny") == "deny"
    assert policy.zone("cameras").effective_default("deny") == "deny"  # type: ignore[union-attr]


@pytest.mark.parametrize(("change", "path"), [
    ({"zones": [{"name": "Bad Name"}]}, "zones[0].name"),
    ({"zones": [{"name": "z", "categories": ["toaster"]}]}, "zones[0].categories[0]"),
    ({"zones": [{"name": "z", "subnets": ["10.0.0.0/33"]}]}, "zones[0].subnets[0]"),
    ({"zones": [{"name": "z", "colour": "red"}]}, "zones[0].colour"),
    ({"rules": [{"name": "r", "from": "nowhere", "action": "allow"}]}, "rules[0].from"),
    ({"rules": [{"name": "r", "action": "maybe"}]}, "rules[0].action"),
    ({"rules": [{"name": "r", "action": "allow", "services": [{"proto": "tcp", "port": 70000}]}]},
     "rules[0].services[0].ports"),
    ({"rules": [{"name": "r", "action": "allow", "services": ["nfs"]}]}, "rules[0].services[0]"),
    # str.isdigit() takes a superscript two, int() does not: a policy error, not a ValueError
    ({"rules": [{"name": "r", "action": "allow", "services": [{"proto": "tcp", "port": "\u00b2"}]}]},
     "rules[0].services[0].ports"),
    ({"rules": [{"name": "r", "action": "allow", "services": [{"proto": "icmp", "port": 1}]}]},
     "rules[0].services[0].ports"),
    ({"zones": [{"name": "internet"}]}, "zones[0].name"),
    # a list or mapping where a name is expected is no member of a set or dict (TypeError: unhashable)
    ({"rules": [{"name": "r", "from": ["iot"], "action": "allow"}]}, "rules[0].from"),
    ({"rules": [{"name": "r", "action": "allow", "services": [{"proto": {"tcp": 1}}]}]}, "rules[0].services[0].proto"),
])
def test_errors_name_the_path_of_the_bad_key(change: dict[str, Any], path: str) -> None:
    with pytest.raises(PolicyError, match="^" + re.escape(path) + ": "):
        Policy.from_dict({**DOC, **change})


def test_not_yaml_and_not_a_mapping_are_policy_errors() -> None:
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_text("zones: [")
    with pytest.raises(PolicyError, match="expected a mapping"):
        load_text("- a list")


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "zones", "rules", "services", "default", "site_networks"]), JSONISH))
def test_any_document_is_a_policy_or_a_policy_error(doc: dict[str, Any]) -> None:
    try:
        policy = Policy.from_dict(doc)
    except PolicyError as exc:
        assert str(exc)  # a message naming where the document is wrong
        return
    assert load_text(dump_text(policy)).to_dict() == policy.to_dict()


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
    return [path] + [p for k in keys for p in _paths(node[k], (*path, k))]


DOC_PATHS = _paths(DOC)[1:]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(DOC_PATHS), JSONISH), min_size=1, max_size=3))
def test_a_valid_policy_with_any_value_swapped_in_is_a_policy_or_a_policy_error(
        swaps: list[tuple[tuple[Any, ...], Any]]) -> None:
    """Reaches what random documents rarely do: a rule's zones and services given a list or a mapping."""
    doc = copy.deepcopy(DOC)
    for path, value in swaps:
        node = doc
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier swap took the path away
            continue
    try:
        Policy.from_dict(doc)
    except PolicyError as exc:
        assert str(exc)
