"""Scenario files: the typed description of a simulated network, validated from YAML.

A scenario declares the network (subnets, router, DNS/DHCP/NTP servers), the devices with their
behaviours and the attacks that can be switched on. Every error names the path of the bad key.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from iotwarden import inputfile
from iotwarden.errors import ConfigError, describe
from iotwarden.kb.schema import safe_load
from iotwarden.lab.params import Param, check_params

CATEGORIES = ("IoT", "OT", "IT", "network", "medical", "building")
MAX_DEVICES = 5000  # devices per scenario: beyond this a scenario is a load test, use bench/ instead
MAX_DURATION = 7 * 86400.0  # seconds of simulated time per scenario
MAX_SCENARIO_BYTES = 4 << 20  # a scenario file larger than this is refused before it is read (inputfile)
# the times a lab capture can carry: classic pcap's unsigned 32-bit seconds (draft-ietf-opsawg-pcap §5), 1970 to
# 2106-02-07T06:28:15Z; a scenario starts within them, a year before their end at the latest (its frames come later)
PCAP_END_S = 2**32
# the longest a device's id, host name, vendor, model, type, OS or firmware text may be, in UTF-8 bytes: a DNS
# label's limit (RFC 1035 §2.3.4; the host name is one, in DHCP, mDNS and NetBIOS), and the texts go into fields of
# one-byte length (DHCP options, BACnet character strings, Modbus device identification objects), where a
# 300-byte name was an internal error (struct.error, ValueError)
MAX_DEVICE_TEXT_BYTES = 63
LATEST_START_S = PCAP_END_S - 366 * 86400.0
ADD_BEHAVIOURS = "add_behaviours"  # an extending scenario's behaviours for its base's devices (read_scenario_file)
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z")  # whole: $ also matches before a final newline


@dataclass(frozen=True, slots=True)
class Subnet:
    name: str
    network: ipaddress.IPv4Network
    gateway: str


@dataclass(slots=True)
class Network:
    domain: str
    subnets: dict[str, Subnet]
    router_mac: str
    dns_server: str
    dhcp_server: str
    ntp_server: str


@dataclass(slots=True)
class Activity:
    """One behaviour of a device or one attack: its kind and its validated parameters."""

    kind: str
    params: dict[str, Any]
    path: str  # where it was declared (the file's name first), for messages
    # what its random streams are drawn from (World.rng): its place in the scenario under the scenario's name, never
    # the file's, so a scenario gives the same capture wherever it is stored and under whatever file name
    key: str


@dataclass(slots=True)
class DeviceSpec:
    id: str
    vendor: str
    model: str
    type: str
    category: str
    os: str
    firmware: str
    mac: str
    subnet: str
    ip: str | None  # None: the address comes from DHCP
    hostname: str
    ttl: int
    behaviours: list[Activity] = field(default_factory=list)

    def behaviour(self, kind: str, needed_by: Activity, why: str) -> Activity:
        """The device's first behaviour of ``kind``, which the activity ``needed_by`` builds on (``why`` says
        how); ConfigError naming that activity when the device has none."""
        for beh in self.behaviours:
            if beh.kind == kind:
                return beh
        raise ConfigError(f"{needed_by.path}: {why}, and the device has none")


@dataclass(slots=True)
class Scenario:
    name: str
    description: str
    start: float  # epoch seconds (UTC)
    duration: float
    seed: int
    network: Network
    devices: list[DeviceSpec]
    attacks: list[Activity]
    enabled_attacks: list[Activity]


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], path: str, default: Any = ...) -> Any:
    if key not in obj:
        if default is ...:
            raise ConfigError(f"{path}.{key}: required key missing")
        return default
    value = obj[key]
    if not isinstance(value, kind) or (kind in (int, float, (int, float)) and isinstance(value, bool)):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"{path}.{key}: expected {name}, got {type(value).__name__} {value!r}")
    return value


def _mapping(value: Any, path: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown key (known: {', '.join(sorted(allowed))})")
    return value


def _ip(value: Any, path: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except (ValueError, ipaddress.AddressValueError) as exc:
        raise ConfigError(f"{path}: not an IPv4 address: {value!r}") from exc


def _network(raw: Any, path: str) -> Network:
    raw = _mapping(raw, path, {"domain", "subnets", "router_mac", "dns_server", "dhcp_server", "ntp_server"})
    subnets: dict[str, Subnet] = {}
    for i, item in enumerate(_get(raw, "subnets", list, path)):
        p = f"{path}.subnets[{i}]"
        item = _mapping(item, p, {"name", "cidr", "gateway"})
        try:
            net = ipaddress.IPv4Network(_get(item, "cidr", str, p))
        except ValueError as exc:
            raise ConfigError(f"{p}.cidr: {exc}") from exc
        gateway = _ip(_get(item, "gateway", str, p), f"{p}.gateway")
        if ipaddress.IPv4Address(gateway) not in net:
            raise ConfigError(f"{p}.gateway: {gateway} is outside {net}")
        name = _get(item, "name", str, p)  # first: an assignment evaluates its right side before its target
        subnets[name] = Subnet(name, net, gateway)
    if not subnets:
        raise ConfigError(f"{path}.subnets: at least one subnet is needed")
    mac = _get(raw, "router_mac", str, path).lower()
    if not _MAC.match(mac):
        raise ConfigError(f"{path}.router_mac: not a MAC address: {mac!r}")
    servers = {k: _ip(_get(raw, k, str, path), f"{path}.{k}") for k in ("dns_server", "dhcp_server", "ntp_server")}
    return Network(_get(raw, "domain", str, path, "corp.example"), subnets, mac, **servers)


_DEVICE_KEYS = {"id", "vendor", "model", "type", "category", "os", "firmware", "mac", "subnet", "ip", "hostname",
                "ttl", "behaviours"}


def _device(raw: Any, path: str, network: Network) -> DeviceSpec:
    raw = _mapping(raw, path, _DEVICE_KEYS)
    mac = _get(raw, "mac", str, path).lower()
    if not _MAC.match(mac):
        raise ConfigError(f"{path}.mac: not a MAC address: {mac!r}")
    category = _get(raw, "category", str, path)
    if category not in CATEGORIES:
        raise ConfigError(f"{path}.category: {category!r} is not one of {', '.join(CATEGORIES)}")
    subnet = _get(raw, "subnet", str, path, next(iter(network.subnets)))
    if subnet not in network.subnets:
        raise ConfigError(f"{path}.subnet: no subnet named {subnet!r}")
    ip_raw = _get(raw, "ip", str, path, "dhcp")
    ip = None if ip_raw == "dhcp" else _ip(ip_raw, f"{path}.ip")
    if ip is not None and ipaddress.IPv4Address(ip) not in network.subnets[subnet].network:
        raise ConfigError(f"{path}.ip: {ip} is outside subnet {subnet} ({network.subnets[subnet].network})")
    ident = _get(raw, "id", str, path)
    texts = {"id": ident, "vendor": _get(raw, "vendor", str, path), "model": _get(raw, "model", str, path),
             "type": _get(raw, "type", str, path), "os": _get(raw, "os", str, path, ""),
             "firmware": str(_get(raw, "firmware", (str, int, float), path, "")),
             "hostname": _get(raw, "hostname", str, path, ident)}
    for key, text in texts.items():
        if len(text.encode()) > MAX_DEVICE_TEXT_BYTES:
            raise ConfigError(f"{path}.{key}: at most {MAX_DEVICE_TEXT_BYTES} bytes, got {len(text.encode())}")
    ttl = _get(raw, "ttl", int, path, 64)
    if not 1 <= ttl <= 255:  # an IPv4 TTL / IPv6 hop limit is one byte (RFC 791 §3.1)
        raise ConfigError(f"{path}.ttl: must be from 1 to 255, got {ttl}")
    return DeviceSpec(**texts, category=category, mac=mac, subnet=subnet, ip=ip, ttl=ttl)


def activity_key(scenario_name: str, place: str) -> str:
    """The label an activity's random streams are drawn from: ``place`` (``attacks[0]``,
    ``devices[2].behaviours[1]``) under the scenario's ``name``. Written as the path of a file ``NAME.yaml``
    because streams were once seeded from the file's name: a scenario stored as NAME.yaml (every shipped one)
    draws the packets it always drew."""
    return f"{scenario_name}.yaml.{place}"


def _activities(items: Any, path: str, specs: dict[str, dict[str, Param]], device_ids: set[str], extra: set[str], *,
                key: str) -> list[tuple[Activity, dict[str, Any]]]:
    """The activities of the list ``items`` declared at ``path``; ``key`` is the list's place under the
    scenario's name (:func:`activity_key`)."""
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a list")
    out = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{p}: expected a mapping")
        kind = _get(item, "kind", str, p)
        if kind not in specs:
            raise ConfigError(f"{p}.kind: unknown kind {kind!r} (known: {', '.join(sorted(specs))})")
        values = {k: v for k, v in item.items() if k != "kind" and k not in extra}
        outer = {k: item[k] for k in extra if k in item}
        out.append((Activity(kind, check_params(specs[kind], values, p, device_ids), p, f"{key}[{i}]"), outer))
    return out


def _refuse_self_peer(act: Activity, spec: dict[str, Param], me: str, who: str, *, skip: str = "") -> None:
    """ConfigError naming the key when a device parameter of ``act`` (or an item of a device list) other than
    ``skip`` names ``me``: a behaviour's peers (server, client, poller, registrar, ...) and an attack's targets are
    other devices; a device talking to its own address never reaches the wire (the host loops it back)."""
    for key, param in spec.items():
        if key == skip or not param.peer:
            continue
        value = act.params[key]
        if param.kind == "device" and value == me:
            raise ConfigError(f"{act.path}.{key}: {me!r} is {who}: {act.kind}'s {key} must be another device")
        if param.kind == "list" and param.items == "device" and me in value:
            raise ConfigError(f"{act.path}.{key}[{value.index(me)}]: {me!r} is {who}: {act.kind}'s {key} must be "
                              "other devices")


def parse_scenario(raw: Any, behaviours: dict[str, dict[str, Param]], attacks: dict[str, dict[str, Param]],
                   *, source: str = "scenario") -> Scenario:
    """A validated :class:`Scenario` from the parsed YAML document ``raw``."""
    raw = _mapping(raw, source, {"name", "description", "start", "duration", "seed", "network", "devices",
                                 "attacks"})
    network = _network(_get(raw, "network", dict, source), f"{source}.network")
    start_raw = _get(raw, "start", (str, dt.datetime), source, "2024-03-04T09:00:00Z")
    try:
        start = start_raw if isinstance(start_raw, dt.datetime) else dt.datetime.fromisoformat(start_raw)
    except ValueError as exc:
        raise ConfigError(f"{source}.start: not an ISO 8601 time: {start_raw!r}") from exc
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    if not 0 <= start.timestamp() <= LATEST_START_S:  # found by fuzzing: year 9999 or 1900 were internal errors
        latest = dt.datetime.fromtimestamp(LATEST_START_S, dt.UTC).date()
        raise ConfigError(f"{source}.start: must be from 1970-01-01 to {latest} (a lab capture is classic pcap, "
                          f"whose times end in 2106), got {start_raw!r}")
    duration = float(_get(raw, "duration", (int, float), source, 300))
    if not 0 < duration <= MAX_DURATION:
        raise ConfigError(f"{source}.duration: must be in (0, {MAX_DURATION:g}] seconds, got {duration:g}")
    raw_devices = _get(raw, "devices", list, source)
    if len(raw_devices) > MAX_DEVICES:
        raise ConfigError(f"{source}.devices: {len(raw_devices)} devices, the limit is {MAX_DEVICES}")
    devices = [_device(d, f"{source}.devices[{i}]", network) for i, d in enumerate(raw_devices)]
    ids = {d.id for d in devices}
    seen: dict[str, str] = {}
    for i, dev in enumerate(devices):
        for key, value in (("id", dev.id), ("mac", dev.mac), ("ip", dev.ip)):
            if value is not None and seen.setdefault(f"{key}:{value}", dev.id) != dev.id:
                raise ConfigError(f"{source}.devices[{i}].{key}: {value} is already used by {seen[f'{key}:{value}']}")
    name = _get(raw, "name", str, source)
    for i, (dev, item) in enumerate(zip(devices, raw_devices, strict=True)):
        place = f"devices[{i}].behaviours"
        acts = _activities(item.get("behaviours", []), f"{source}.{place}", behaviours, ids, set(),
                           key=activity_key(name, place))
        dev.behaviours = [a for a, _ in acts]
        for act, _ in acts:
            _refuse_self_peer(act, behaviours[act.kind], dev.id, "the device itself")
    all_attacks, enabled = [], []
    for act, outer in _activities(_get(raw, "attacks", list, source, []), f"{source}.attacks", attacks, ids,
                                  {"enabled"}, key=activity_key(name, "attacks")):
        _refuse_self_peer(act, attacks[act.kind], act.params["attacker"], "the attacker itself", skip="attacker")
        all_attacks.append(act)
        flag = outer.get("enabled", True)
        if not isinstance(flag, bool):
            raise ConfigError(f"{act.path}.enabled: expected bool, got {flag!r}")
        if flag:
            enabled.append(act)
    return Scenario(name=name, description=_get(raw, "description", str, source, ""),
                    start=start.timestamp(), duration=duration, seed=_get(raw, "seed", int, source, 1),
                    network=network, devices=devices, attacks=all_attacks, enabled_attacks=enabled)


def read_scenario_file(path: Path, *, _depth: int = 0) -> Any:
    """The YAML document of a scenario file (kb.schema.safe_load); ConfigError if unreadable.

    ``extends: base.yaml`` (relative to the file) starts from that scenario and replaces its
    top-level keys with the ones given here; one level of extension only. Such a file may also give
    ``add_behaviours: {device id: [behaviour, ...]}``: behaviours appended to those of the base's devices, so a
    variant adds an activity without copying the device list.
    """
    doc = _load_yaml(path)
    if isinstance(doc, dict) and "extends" in doc:
        base_name = doc.pop("extends")
        if _depth or not isinstance(base_name, str):
            raise ConfigError(f"{path.name}.extends: one level of a scenario file name only, got {base_name!r}")
        base = read_scenario_file(path.parent / base_name, _depth=1)
        if not isinstance(base, dict):
            raise ConfigError(f"{path.name}.extends: {base_name} is not a scenario mapping")
        added = doc.pop(ADD_BEHAVIOURS, None)
        doc = {**base, **doc}
        if added is not None:
            doc["devices"] = _add_behaviours(doc.get("devices"), added, f"{path.name}.{ADD_BEHAVIOURS}")
    return doc


def _add_behaviours(devices: Any, added: Any, path: str) -> list[Any]:
    """``devices`` (the raw list) with the behaviours ``added`` names appended to its devices' (copies)."""
    if not isinstance(added, dict):
        raise ConfigError(f"{path}: expected a mapping of device ids to lists of behaviours")
    if not isinstance(devices, list):
        raise ConfigError(f"{path}: the scenario has no device list to add to")
    ids = {d["id"]: i for i, d in enumerate(devices) if isinstance(d, dict) and isinstance(d.get("id"), str)}
    out = list(devices)
    for device_id, more in added.items():
        if device_id not in ids:
            raise ConfigError(f"{path}.{device_id}: no such device (known: {', '.join(sorted(ids))})")
        if not isinstance(more, list):
            raise ConfigError(f"{path}.{device_id}: expected a list of behaviours")
        dev = out[ids[device_id]]
        mine = dev.get("behaviours") or []
        if not isinstance(mine, list):
            raise ConfigError(f"{path}.{device_id}: the device's behaviours are no list")
        out[ids[device_id]] = {**dev, "behaviours": [*mine, *more]}
    return out


def _load_yaml(path: Path) -> Any:
    try:
        return safe_load(inputfile.read_text(path, MAX_SCENARIO_BYTES))  # libyaml's C loader where built
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read scenario: {describe(exc)}") from exc
    except (yaml.YAMLError, RecursionError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {describe(exc)}") from exc
