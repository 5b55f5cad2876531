"""Validation against RFC 8520's structure: the published profiles, each rule, and hostile input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import PolicyError
from iotwarden.policy.mud.validate import problems, validate
from tests.conftest import SHARED_DATA, shared
from tests.policy.mud.test_model import profile_files

ACL = "/ietf-access-control-list:access-lists/acl"
# The published files that break the RFC, each error checked by hand against the file:
INVALID = {
    # the whole document is a JSON string holding the JSON text
    "camera_home_2021-04-03_025606.json": ["/: expected an object, got string (a JSON string: the file is JSON "
                                           "encoded twice)"],
    # wildcard names are not inet:host (RFC 6991 §4); RFC 8520 §9 has no wildcard
    "mi_bolb_hkMud_test.json": [f"{ACL}/0/aces/ace/0/matches/ipv4/ietf-acldns:dst-dnsname: '*.ot.io.mi.com' is "
                                "not a domain name (inet:host)"],
    # an early MUDIS output: empty URLs, a time with no offset, and the ACLs under a wrong container name
    "bulb_ran_2021-04-03_085210.json": [
        "/ietf-mud:mud/mud-url: '' is not a URI (inet:uri, RFC 3986)",
        "/ietf-mud:mud/last-update: '2021-04-03T08:51:56' is not a yang:date-and-time (RFC 6991 §3: offset required)",
        "/ietf-mud:mud/documentation: '' is not a URI (inet:uri, RFC 3986)",
        "/ietf-mud:mud/from-device-policy/access-lists/access-list/0/name: names ACL 'mud-55164-v4fr', which "
        "ietf-access-control-list:access-lists does not define",
        "/ietf-mud:mud/to-device-policy/access-lists/access-list/0/name: names ACL 'mud-55164-v4to', which "
        "ietf-access-control-list:access-lists does not define",
        "/ietf-access-control-list:acls: unknown top-level member (RFC 8520 §2.1 names ietf-mud:mud and "
        "ietf-access-control-list:access-lists)"],
    # mudgee wrote link-local / multicast IPv6 addresses without a prefix length
    "augustdoorbellcamMud.json": [
        f"{ACL}/2/aces/ace/1/matches/ipv6/destination-ipv6-network: 'fe80:0:0:0:16cc:20ff:fe51:33ea' is not an "
        "ipv6-prefix (address/length)",
        f"{ACL}/3/aces/ace/0/matches/ipv6/source-ipv6-network: 'fe80:0:0:0:16cc:20ff:fe51:33ea' is not an "
        "ipv6-prefix (address/length)"],
    "hpprinterMud.json": [f"{ACL}/2/aces/ace/5/matches/ipv6/destination-ipv6-network: 'ff05:0:0:0:0:0:0:c' is not "
                          "an ipv6-prefix (address/length)"],
    "samsungsmartcamMud.json": [f"{ACL}/2/aces/ace/2/matches/ipv6/destination-ipv6-network: 'ff05:0:0:0:0:0:0:c' is "
                                "not an ipv6-prefix (address/length)"],
}


def load(path: Path) -> Any:
    return json.loads(shared("mud", *path.relative_to(SHARED_DATA / "mud").parts).read_text())


@pytest.mark.parametrize("path", profile_files(), ids=lambda p: p.name)
def test_published_profiles_validate_or_fail_for_the_reason_found_by_hand(path: Path) -> None:
    data = load(path)
    errors = [str(p) for p in problems(data) if p.severity == "error"]
    assert errors == INVALID.get(path.name, [])
    if errors:
        with pytest.raises(PolicyError, match="is not a valid MUD file"):
            validate(data)
    else:
        assert validate(data).mud_url.startswith("https://")


def test_mudgee_draft_acl_type_is_a_warning() -> None:
    data = json.loads(shared("mud", "unsw_mudgee_via_nist", "amazonEchoMud.json").read_text())
    warnings = [p for p in problems(data) if p.severity == "warning"]
    assert [w.path for w in warnings] == [f"{ACL}/2/type"]
    assert "RFC 8519 §4.1 calls it 'eth-acl-type'" in warnings[0].message


def minimal() -> dict[str, Any]:
    return {"ietf-mud:mud": {"mud-version": 1, "mud-url": "https://example.com/lamp.json",
                             "last-update": "2024-06-16T12:49:12.361Z", "is-supported": True,
                             "from-device-policy": {"access-lists": {"access-list": [{"name": "out"}]}}},
            "ietf-access-control-list:access-lists": {"acl": [{"name": "out", "type": "ipv4-acl-type", "aces": {
                "ace": [{"name": "web", "matches": {"ipv4": {"protocol": 6, "ietf-acldns:dst-dnsname": "a.example"},
                                                    "tcp": {"destination-port": {"operator": "eq", "port": 443}}},
                         "actions": {"forwarding": "accept"}}]}}]}}


ACE = "/ietf-access-control-list:access-lists/acl/0/aces/ace/0"


@pytest.mark.parametrize(("path", "value", "expected"), [
    (["ietf-mud:mud", "mud-url"], "http://example.com/lamp.json",
     "/ietf-mud:mud/mud-url: 'http://example.com/lamp.json': MUD URLs use the https scheme (RFC 8520 §10)"),
    (["ietf-mud:mud", "mud-version"], 2, "/ietf-mud:mud/mud-version: 2 is outside 1..1"),
    (["ietf-mud:mud", "cache-validity"], 200, "/ietf-mud:mud/cache-validity: 200 is outside 1..168"),
    (["ietf-mud:mud", "is-supported"], "yes", "/ietf-mud:mud/is-supported: expected boolean, got 'yes'"),
    (["ietf-mud:mud", "from-device-policy", "access-lists", "access-list", 0, "name"], "nope",
     "/ietf-mud:mud/from-device-policy/access-lists/access-list/0/name: names ACL 'nope', which "
     "ietf-access-control-list:access-lists does not define"),
    (["ietf-access-control-list:access-lists", "acl", 0, "aces", "ace", 0, "actions", "forwarding"], "allow",
     f"{ACE}/actions/forwarding: 'allow' is not accept, drop or reject (RFC 8519 §4.1)"),
    (["ietf-access-control-list:access-lists", "acl", 0, "aces", "ace", 0, "matches", "tcp", "destination-port",
      "operator"], "like", f"{ACE}/matches/tcp/destination-port/operator: 'like' is not one of eq, lte, gte, neq, "
     "lt, gt"),
    (["ietf-access-control-list:access-lists", "acl", 0, "aces", "ace", 0, "matches", "tcp", "destination-port",
      "port"], 70000, f"{ACE}/matches/tcp/destination-port/port: 70000 is outside 0..65535"),
    (["ietf-access-control-list:access-lists", "acl", 0, "aces", "ace", 0, "matches", "tcp",
      "ietf-mud:direction-initiated"], "sideways",
     f"{ACE}/matches/tcp/ietf-mud:direction-initiated: 'sideways' is not from-device or to-device (RFC 8520 §6)"),
    (["ietf-access-control-list:access-lists", "acl", 0, "aces", "ace", 0, "matches", "ietf-mud:mud"],
     {"local-networks": []}, f"{ACE}/matches/ietf-mud:mud/local-networks: []: an empty-typed leaf is written [null] "
     "(RFC 7951 §6.9)"),
])
def test_each_rule_names_the_json_path(path: list[Any], value: Any, expected: str) -> None:
    data = minimal()
    assert problems(data) == []
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert [str(p) for p in problems(data)] == [expected]
    with pytest.raises(PolicyError, match="not a valid MUD file"):
        validate(data)


def test_mandatory_members_are_required() -> None:
    data = minimal()
    for key in ("mud-url", "last-update", "is-supported"):
        del data["ietf-mud:mud"][key]
    assert [str(p) for p in problems(data)] == [
        f"/ietf-mud:mud/{k}: mandatory member missing" for k in ("mud-url", "last-update", "is-supported")]
    broken = minimal()
    del broken["ietf-access-control-list:access-lists"]["acl"][0]["aces"]["ace"][0]["actions"]
    assert [str(p) for p in problems(broken)] == [f"{ACE}/actions: mandatory member missing"]


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_hostile_documents_give_problems_never_a_crash(data: st.DataObject) -> None:
    doc = copy.deepcopy(minimal())
    # replace one node anywhere in a valid document by arbitrary JSON
    paths: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        paths.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for k, v in items:
            walk(v, [*path, k])

    walk(doc, [])
    path = data.draw(st.sampled_from(paths[1:]))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = data.draw(json_values)
    found = problems(doc)
    assert all(p.path.startswith("/") for p in found)
    try:
        validate(doc)
    except PolicyError:
        assert found
