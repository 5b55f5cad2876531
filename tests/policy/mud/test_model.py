"""MUD records: every published profile reads and writes back unchanged, unknown members included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.policy.mud.model import MudProfile, PortMatch
from tests.conftest import SHARED_DATA, shared


def profile_files() -> list[Path]:
    root = SHARED_DATA / "mud"
    files = sorted([*root.rglob("*Mud*.json"), *root.rglob("*.mud"), *root.glob("barmey*/*/*_20*.json")])
    return files or [root / "absent.json"]


@pytest.mark.parametrize("path", profile_files(), ids=lambda p: p.name)
def test_every_published_profile_round_trips(path: Path) -> None:
    data = json.loads(shared("mud", *path.relative_to(SHARED_DATA / "mud").parts).read_text())
    if not isinstance(data, dict):
        pytest.skip("not a JSON object (reported by validate)")
    assert MudProfile.from_dict(data).to_dict() == data


def test_typed_view_of_a_mudgee_profile() -> None:
    data = json.loads(shared("mud", "v4k0nd_pcap_plus_mud", "mood_lamp-3204432", "mood_lamp-3204432Mud.json")
                      .read_text())
    p = MudProfile.from_dict(data)
    assert p.mud_url == "https://mood_lamp-3204432.com/mood_lamp-3204432"
    assert (p.cache_validity, p.is_supported, p.systeminfo) == (100, True, "mood_lamp-3204432")
    assert [a.name for a in p.policy("from-device")] == ["from-ipv4-mood_lamp-3204432"]
    ace = p.policy("from-device")[0].aces[1]
    assert ace.matches.l3 is not None and ace.matches.l3.dst_network == "18.185.182.159/32"
    assert ace.matches.l4 is not None and ace.matches.l4.direction == "from-device"
    broadcast = p.policy("from-device")[0].aces[3].matches
    assert broadcast.mud is not None and broadcast.mud.local_networks
    assert "eth" in broadcast.extra  # not modelled, kept


def test_unknown_members_survive_at_every_level() -> None:
    data = {"ietf-mud:mud": {"mud-version": 1, "mud-url": "https://example.com/a.json", "last-update":
                             "2024-01-01T00:00:00Z", "is-supported": True, "x-vendor": {"k": 1},
                             "from-device-policy": {"access-lists": {"access-list": [{"name": "a"}]}}},
            "ietf-access-control-list:access-lists": {"acl": [{"name": "a", "type": "ipv4-acl-type", "x": 2, "aces": {
                "ace": [{"name": "e", "x-ace": True, "matches": {"ipv4": {"protocol": 6, "dscp": 8},
                         "tcp": {"flags": "syn", "destination-port": {"operator": "eq", "port": 1, "x": 0}},
                         "ietf-mud:mud": {"x-class": "y"}},
                         "actions": {"forwarding": "accept", "logging": "log-none"}}]}}]},
            "x-top": []}
    assert MudProfile.from_dict(data).to_dict() == data


@pytest.mark.parametrize(("port", "value", "expected"), [
    (PortMatch("eq", 443), 443, True), (PortMatch("eq", 443), 80, False), (PortMatch("neq", 443), 80, True),
    (PortMatch("lte", 1023), 1023, True), (PortMatch("gte", 1024), 1023, False),
    (PortMatch(lower=5000, upper=5010), 5010, True), (PortMatch(lower=5000, upper=5010), 5011, False),
])
def test_port_operators_follow_rfc_8519(port: PortMatch, value: int, expected: bool) -> None:
    assert port.matches(value) is expected
