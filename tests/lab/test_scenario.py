"""Scenario validation: every shipped scenario loads; each kind of mistake is one ConfigError naming
the path of the bad key; arbitrary YAML documents never raise anything else."""

from __future__ import annotations

import copy
import csv
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ConfigError
from iotwarden.lab.generator import attack_params, behaviour_params, load_scenario
from iotwarden.lab.scenario import Scenario, parse_scenario
from tests.conftest import shared
from tests.lab.conftest import SCENARIOS

SHIPPED = ["small.yaml", "enterprise.yaml", "enterprise-attack.yaml"]


@functools.cache
def _shipped_raw(name: str) -> dict[str, Any]:
    return yaml.safe_load((SCENARIOS / name).read_text())


def _raw(name: str = "small.yaml") -> dict[str, Any]:
    """A fresh copy of a shipped scenario's document: parsed once (the YAML parse, ~70 ms, was most of each
    hypothesis example's time), copied for each caller to change."""
    return copy.deepcopy(_shipped_raw(name))


def _parse(raw: Any) -> Any:
    return parse_scenario(raw, behaviour_params(), attack_params(), source="s")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load(name: str) -> None:
    scenario = load_scenario(SCENARIOS / name)
    assert scenario.devices
    assert len({d.mac for d in scenario.devices}) == len(scenario.devices)


def test_enterprise_scenarios_cover_every_category_and_attack() -> None:
    benign, attack = load_scenario(SCENARIOS / "enterprise.yaml"), load_scenario(SCENARIOS / "enterprise-attack.yaml")
    assert 25 <= len(benign.devices) <= 40
    assert {d.category for d in benign.devices} == {"IoT", "OT", "IT", "network", "medical", "building"}
    assert benign.attacks == [] and [d.id for d in attack.devices] == [d.id for d in benign.devices]
    assert {a.kind for a in attack.enabled_attacks} == {"mirai_scan", "telnet_bruteforce", "lateral_movement"}


# Brands without an IEEE block of their own ship the MAC address of the radio module they build on:
# Shelly's Gen2 devices are ESP32 designs carrying Espressif-assigned addresses.
MODULE_MAKER = {"Shelly": "espressif"}


@pytest.mark.parametrize("name", SHIPPED)
def test_device_macs_carry_their_vendors_ieee_oui(name: str) -> None:
    with shared("fingerprints", "ieee_oui", "oui.csv").open(newline="", encoding="utf-8") as fh:
        registry = {row["Assignment"].lower(): row["Organization Name"].lower() for row in csv.DictReader(fh)}
    for dev in load_scenario(SCENARIOS / name).devices:
        org = registry.get(dev.mac.replace(":", "")[:6])
        assert org is not None, f"{dev.id}: {dev.mac} has no registered OUI"
        owner = MODULE_MAKER.get(dev.vendor, dev.vendor.split()[0].lower())
        assert owner in org, f"{dev.id}: {dev.vendor} vs {org}"


def _mutate(path: list[Any], value: Any, *, delete: bool = False) -> dict[str, Any]:
    raw = _raw()
    node = raw
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


@pytest.mark.parametrize(("path", "value", "message"), [
    (["devices", 1, "colour"], "red", r"s\.devices\[1\]\.colour: unknown key"),
    (["devices", 1, "mac"], "98:e7:43:10:00", r"s\.devices\[1\]\.mac: not a MAC address"),
    (["devices", 1, "category"], "toaster", r"s\.devices\[1\]\.category: 'toaster' is not one of"),
    (["devices", 1, "ip"], "10.99.0.1", r"s\.devices\[1\]\.ip: 10\.99\.0\.1 is outside subnet"),
    (["devices", 1, "subnet"], "dmz", r"s\.devices\[1\]\.subnet: no subnet named 'dmz'"),
    (["devices", 2, "mac"], "98:e7:43:10:00:0a", r"s\.devices\[2\]\.mac: 98:e7:43:10:00:0a is already used by srv-dc"),
    (["devices", 2, "behaviours", 0, "kind"], "teleport", r"behaviours\[0\]\.kind: unknown kind 'teleport'"),
    (["devices", 2, "behaviours", 1, "every"], "often", r"s\.devices\[2\]\.behaviours\[1\]\.every: expected float"),
    (["devices", 5, "behaviours", 4, "poller"], "nobody", r"behaviours\[4\]\.poller: no device with id 'nobody'"),
    (["network", "subnets", 0, "gateway"], "10.21.0.1", r"s\.network\.subnets\[0\]\.gateway: 10\.21\.0\.1 is outside"),
    (["network", "dns_server"], "ten", r"s\.network\.dns_server: not an IPv4 address"),
    (["duration"], 0, r"s\.duration: must be in"),
    (["start"], "yesterday", r"s\.start: not an ISO 8601 time"),
    # found by fuzzing: certificates and pcap records cannot carry these (internal errors in proto_tls)
    (["start"], "9999-01-01T00:00:00Z", r"s\.start: must be from 1970-01-01 to 2105-02-06 .*got '9999-01-01"),
    (["start"], "1900-01-01T00:00:00Z", r"s\.start: must be from 1970-01-01 to 2105-02-06"),
    (["attacks", 0, "start"], 1.0e308, r"s\.attacks\[0\]\.start: must be at most 604800, got 1e\+308"),
    # found by fuzzing: one-byte wire fields (DHCP options, BACnet strings, the IP TTL) were internal errors
    (["devices", 1, "hostname"], "h" * 64, r"s\.devices\[1\]\.hostname: at most 63 bytes, got 64"),
    (["devices", 1, "model"], "é" * 32, r"s\.devices\[1\]\.model: at most 63 bytes, got 64"),
    (["devices", 1, "vendor"], "v" * 3000, r"s\.devices\[1\]\.vendor: at most 63 bytes"),
    (["devices", 1, "firmware"], "f" * 300, r"s\.devices\[1\]\.firmware: at most 63 bytes"),
    (["devices", 1, "os"], "o" * 300, r"s\.devices\[1\]\.os: at most 63 bytes"),
    (["devices", 1, "ttl"], 300, r"s\.devices\[1\]\.ttl: must be from 1 to 255, got 300"),
    (["devices", 1, "ttl"], 0, r"s\.devices\[1\]\.ttl: must be from 1 to 255, got 0"),
    (["attacks", 0, "enabled"], "yes", r"s\.attacks\[0\]\.enabled: expected bool"),
])
def test_mistakes_are_reported_with_their_path(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _parse(_mutate(path, value))


def test_missing_required_keys_are_named() -> None:
    with pytest.raises(ConfigError, match=r"s\.devices\[3\]\.vendor: required key missing"):
        _parse(_mutate(["devices", 3, "vendor"], None, delete=True))
    with pytest.raises(ConfigError, match=r"behaviours\[0\]\.profile: required parameter missing"):
        _parse(_mutate(["devices", 2, "behaviours", 0, "profile"], None, delete=True))
    with pytest.raises(ConfigError, match=r"s\.network\.subnets\[0\]\.name: required key missing"):  # was a KeyError
        _parse(_mutate(["network", "subnets", 0, "name"], None, delete=True))


def test_extends_replaces_top_level_keys(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text((SCENARIOS / "small.yaml").read_text())
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\nduration: 5\n")
    child = load_scenario(tmp_path / "child.yaml")
    assert (child.name, child.duration, len(child.devices)) == ("child", 5.0, 12)
    (tmp_path / "loop.yaml").write_text("extends: child.yaml\n")
    with pytest.raises(ConfigError, match="extends: one level"):
        load_scenario(tmp_path / "loop.yaml")


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("devices: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scenario(tmp_path / "bad.yaml")


_leaf = st.none() | st.booleans() | st.integers(-5, 70000) | st.floats(allow_nan=False) | st.text(max_size=12)
_docs = st.recursive(_leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=5),
                     max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(_docs)
def test_arbitrary_documents_only_raise_config_error(doc: Any) -> None:
    try:
        result = _parse(doc)
    except ConfigError as exc:
        assert str(exc).startswith("s")  # every message starts with the path of the bad key
        return
    assert isinstance(result, Scenario)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["devices", "network", "attacks", "duration", "start", "seed", "name"]), _docs)
def test_any_replaced_top_level_value_only_raises_config_error(key: str, value: Any) -> None:
    raw = _raw()
    raw[key] = value
    try:
        result = _parse(raw)
    except ConfigError as exc:
        assert str(exc).startswith(("s.", "s:"))
        return
    assert isinstance(result, Scenario)


def test_device_count_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iotwarden.lab.scenario.MAX_DEVICES", 3)
    with pytest.raises(ConfigError, match=r"s\.devices: 12 devices, the limit is 3"):
        _parse(_raw())


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
    return [path] + [p for k in keys for p in _paths(node[k], (*path, k))]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_paths(_raw())[1:]), _docs, st.booleans())
def test_any_nested_value_replaced_or_removed_only_raises_config_error(path: tuple[Any, ...], value: Any,
                                                                       delete: bool) -> None:
    """Deeper than the top level: removing a subnet's name was a KeyError."""
    try:
        result = _parse(_mutate(list(path), value, delete=delete and isinstance(path[-1], str)))
    except ConfigError as exc:
        assert str(exc).startswith(("s.", "s:"))
        return
    assert isinstance(result, Scenario)
