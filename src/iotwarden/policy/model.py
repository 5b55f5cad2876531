"""Segmentation policy as typed records (Zone, Service, Rule, Policy) with validated ``from_dict``/``to_dict``.

A bad document raises :class:`~iotwarden.errors.PolicyError` naming the path of the bad key
(``rules[2].services[0].port``). No I/O here; :func:`load_text`/:func:`dump_text` convert YAML text.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from iotwarden.errors import PolicyError, describe
from iotwarden.kb.taxonomy import CATEGORIES

SCHEMA = "iotwarden.policy/1"
Action = Literal["allow", "deny", "log"]  # log = allow, counted and logged (nftables ``log prefix``)
ACTIONS: tuple[Action, ...] = ("allow", "deny", "log")
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "any": 0}  # IANA protocol numbers
INTERNET, ANY = "internet", "any"  # reserved zone names: off-site addresses, every zone
MAX_ZONES = 256  # zones per policy (one nftables chain and three sets each)
MAX_RULES = 10_000  # rules per policy
MAX_MEMBERS = 65_536  # explicit entries per zone (devices, subnets)
MAX_DESTINATIONS = 4096  # CIDRs and domains per rule
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")  # doubles as an nftables identifier fragment
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}\.?$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _fail(path: str, message: str) -> PolicyError:
    return PolicyError(f"{path}: {message}")


def _mapping(value: Any, path: str, known: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, f"expected a mapping, got {type(value).__name__}")
    for key in value:
        if key not in known and not str(key).startswith("x-"):  # x-* keys are the operator's own notes
            raise _fail(f"{path}.{key}", f"unknown key (known: {', '.join(known)})")
    return value


def _strings(value: Any, path: str, limit: int = MAX_MEMBERS) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise _fail(path, "expected a list of strings")
    if len(value) > limit:
        raise _fail(path, f"{len(value)} entries, more than the limit of {limit}")
    return [str(v) for v in value]


def check_name(value: Any, path: str) -> str:
    """``value`` if it is a name (policy, zone, rule, service; also an nftables identifier fragment), else
    PolicyError naming ``path``."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise _fail(path, f"{value!r} is not a name (lower case letter, then letters, digits, _; at most 31)")
    return value


def _action(value: Any, path: str) -> Action:
    if value not in ACTIONS:
        raise _fail(path, f"{value!r} is not an action ({', '.join(ACTIONS)})")
    return value  # type: ignore[no-any-return]


def _cidr(value: str, path: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise _fail(path, f"{value!r} is not an IP address or CIDR") from None


def member_key(value: str, path: str) -> str:
    """A zone's explicit device entry: a device key (``mac:..``/``ip:..``), a MAC or an IP address."""
    text = value.strip().lower()
    bare = text.split(":", 1)[1] if text.startswith(("mac:", "ip:")) else text
    if _MAC.match(bare):
        return f"mac:{bare}"
    try:
        return f"ip:{ipaddress.ip_address(bare)}"
    except ValueError:
        raise _fail(path, f"{value!r} is not a device key, MAC or IP address") from None


@dataclass(slots=True)
class Service:
    """Transport protocol and destination ports (IANA numbers; ``"8000-8100"`` ranges). No ports: any."""

    proto: str = "any"
    ports: list[str] = field(default_factory=list)
    name: str = ""  # a named service of the policy this came from (business service), else ""

    def matches(self, ip_proto: int, port: int) -> bool:
        if self.proto != "any" and PROTOCOLS[self.proto] != ip_proto:
            return False
        return not self.ports or any(_port_in(port, p) for p in self.ports)

    def label(self) -> str:
        return self.name or f"{self.proto}/{','.join(self.ports) or '*'}"

    def to_dict(self) -> dict[str, Any]:
        return {"proto": self.proto, "ports": [int(p) if _digits(p) else p for p in self.ports]}

    @classmethod
    def from_dict(cls, data: Any, path: str, named: dict[str, list[Service]] | None = None) -> list[Service]:
        """One service mapping, or the name of a policy service (which may stand for several)."""
        if isinstance(data, str):
            if named is None or data not in named:
                raise _fail(path, f"unknown service {data!r}")
            return named[data]
        data = _mapping(data, path, ("proto", "port", "ports"))
        proto = data.get("proto", "any")
        if not isinstance(proto, str) or proto not in PROTOCOLS:  # a list or mapping is no key of it
            raise _fail(f"{path}.proto", f"{proto!r} is not one of {', '.join(PROTOCOLS)}")
        ports = _strings(data.get("ports"), f"{path}.ports") + _strings(
            [data["port"]] if "port" in data else None, f"{path}.port")
        for p in ports:
            _check_port(p, f"{path}.ports")
        if ports and proto not in ("tcp", "udp"):
            raise _fail(f"{path}.ports", f"ports need proto tcp or udp, not {proto}")
        return [cls(proto=proto, ports=ports)]


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes superscripts and other scripts' digits, which int() refuses."""
    return text.isascii() and text.isdigit()


def _check_port(text: str, path: str) -> None:
    lo, _, hi = text.partition("-")
    if not _digits(lo) or (hi and not _digits(hi)) or not 0 < int(lo) <= int(hi or lo) <= 65535:
        raise _fail(path, f"{text!r} is not a port or port range 1-65535 (RFC 6335 §6)")


def _port_in(port: int, spec: str) -> bool:
    lo, _, hi = spec.partition("-")
    return int(lo) <= port <= int(hi or lo)


@dataclass(slots=True)
class Zone:
    """A set of devices selected by category, type, vendor, subnet or explicit entries.

    ``availability_first`` zones (OT by default) log what no rule allows instead of dropping it,
    unless the operator sets ``default: deny`` (IEC 62443-3-3 SR 7.6: availability first).
    ``isolated`` zones (quarantine) reach only what their own rules allow and nobody reaches them.
    """

    name: str
    description: str = ""
    categories: list[str] = field(default_factory=list)
    device_types: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    subnets: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)  # "mac:..." or "ip:..."
    availability_first: bool = False
    isolated: bool = False
    default: Action | None = None  # what leaves the zone without a matching rule; None: see effective
    intra: Action = "allow"  # traffic between two members of the zone

    def effective_default(self, policy_default: Action) -> Action:
        if self.default is not None:
            return self.default
        if self.isolated:
            return "deny"
        return "log" if self.availability_first else policy_default

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key in ("description", "categories", "device_types", "vendors", "subnets", "devices"):
            if getattr(self, key):
                out[key] = getattr(self, key) if key == "description" else list(getattr(self, key))
        if self.availability_first:
            out["availability_first"] = True
        if self.isolated:
            out["isolated"] = True
        if self.default is not None:
            out["default"] = self.default
        if self.intra != "allow":
            out["intra"] = self.intra
        return out

    @classmethod
    def from_dict(cls, data: Any, path: str) -> Zone:
        data = _mapping(data, path, ("name", "description", "categories", "device_types", "vendors", "subnets",
                                     "devices", "availability_first", "isolated", "default", "intra"))
        name = check_name(data.get("name"), f"{path}.name")
        if name in (INTERNET, ANY):
            raise _fail(f"{path}.name", f"{name!r} is reserved")
        categories = [c.lower() for c in _strings(data.get("categories"), f"{path}.categories")]
        for i, c in enumerate(categories):
            if c not in CATEGORIES:
                raise _fail(f"{path}.categories[{i}]", f"{c!r} is not a category ({', '.join(CATEGORIES)})")
        flags = {}
        for key in ("availability_first", "isolated"):
            value = data.get(key, "ot" in categories if key == "availability_first" else False)
            if not isinstance(value, bool):
                raise _fail(f"{path}.{key}", "expected true or false")
            flags[key] = value
        default = data.get("default")
        return cls(
            name=name, description=str(data.get("description", "")), categories=categories,
            device_types=[t.lower() for t in _strings(data.get("device_types"), f"{path}.device_types")],
            vendors=_strings(data.get("vendors"), f"{path}.vendors"),
            subnets=[_cidr(s, f"{path}.subnets[{i}]") for i, s in enumerate(_strings(data.get("subnets"),
                                                                                      f"{path}.subnets"))],
            devices=[member_key(d, f"{path}.devices[{i}]") for i, d in enumerate(_strings(data.get("devices"),
                                                                                        f"{path}.devices"))],
            availability_first=flags["availability_first"], isolated=flags["isolated"],
            default=None if default is None else _action(default, f"{path}.default"),
            intra=_action(data.get("intra", "allow"), f"{path}.intra"),
        )


@dataclass(slots=True)
class Rule:
    """Traffic from zone ``src`` to zone ``dst`` (``internet``, ``any`` or a zone) on ``services``,
    optionally only to ``destinations`` (CIDRs, domains), gets ``action``. ``why`` explains it."""

    name: str
    src: str
    dst: str
    action: Action
    services: list[Service] = field(default_factory=list)  # empty: every service
    destinations: list[str] = field(default_factory=list)  # CIDRs (normalised) or domain names
    why: dict[str, Any] = field(default_factory=dict)  # proposal evidence: flow counts, examples

    @property
    def cidrs(self) -> list[str]:
        return [d for d in self.destinations if "/" in d]

    @property
    def domains(self) -> list[str]:
        return [d for d in self.destinations if "/" not in d]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "from": self.src, "to": self.dst, "action": self.action}
        if self.services:
            items: list[Any] = []
            for svc in self.services:  # a named service is written once, by name
                item: Any = svc.name or svc.to_dict()
                if item not in items:
                    items.append(item)
            out["services"] = items
        if self.destinations:
            out["destinations"] = list(self.destinations)
        if self.why:
            out["why"] = dict(self.why)
        return out

    @classmethod
    def from_dict(cls, data: Any, path: str, zones: set[str], named: dict[str, list[Service]]) -> Rule:
        data = _mapping(data, path, ("name", "from", "to", "action", "services", "destinations", "why"))
        refs = {}
        for key in ("from", "to"):
            value = data.get(key, ANY)
            allowed = zones | {ANY} | ({INTERNET} if key == "to" else set())
            if not isinstance(value, str) or value not in allowed:
                raise _fail(f"{path}.{key}", f"unknown zone {value!r}")
            refs[key] = value
        raw = data.get("services") or []
        if not isinstance(raw, list):
            raise _fail(f"{path}.services", "expected a list")
        services = [s for i, item in enumerate(raw) for s in Service.from_dict(item, f"{path}.services[{i}]", named)]
        dests = []
        for i, d in enumerate(_strings(data.get("destinations"), f"{path}.destinations", MAX_DESTINATIONS)):
            if _DOMAIN.match(d.lower()) and not d.replace(".", "").isdigit():
                dests.append(d.lower().rstrip("."))
            else:
                dests.append(_cidr(d, f"{path}.destinations[{i}]"))
        why = data.get("why", {})
        if not isinstance(why, dict):
            raise _fail(f"{path}.why", "expected a mapping")
        return cls(name=check_name(data.get("name"), f"{path}.name"), src=refs["from"], dst=refs["to"],
                   action=_action(data.get("action"), f"{path}.action"), services=services,
                   destinations=dests, why=why)


@dataclass(slots=True)
class Policy:
    """Zones (first match wins, in order), named services, rules (first match wins) and the default
    action for traffic no rule matches from zones that set none. ``site_networks`` are internal
    besides RFC 1918/4193 space (anything else is ``internet``)."""

    name: str
    zones: list[Zone] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    services: dict[str, list[Service]] = field(default_factory=dict)
    default: Action = "deny"
    site_networks: list[str] = field(default_factory=list)
    description: str = ""

    def zone(self, name: str) -> Zone | None:
        return next((z for z in self.zones if z.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SCHEMA, "name": self.name}
        if self.description:
            out["description"] = self.description
        out["default"] = self.default
        if self.site_networks:
            out["site_networks"] = list(self.site_networks)
        if self.services:
            out["services"] = {k: [s.to_dict() for s in v] for k, v in self.services.items()}
        out["zones"] = [z.to_dict() for z in self.zones]
        out["rules"] = [r.to_dict() for r in self.rules]
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Policy:
        data = _mapping(data, "policy", ("schema", "name", "description", "default", "site_networks", "services",
                                         "zones", "rules"))
        if data.get("schema", SCHEMA) != SCHEMA:
            raise _fail("policy.schema", f"{data['schema']!r} is not {SCHEMA}")
        named: dict[str, list[Service]] = {}
        raw_services = data.get("services") or {}
        if not isinstance(raw_services, dict):
            raise _fail("services", "expected a mapping of name -> list of services")
        for sname, items in raw_services.items():
            where = f"services.{sname}"
            check_name(sname, where)
            items = items if isinstance(items, list) else [items]
            named[sname] = [Service(s.proto, s.ports, sname) for i, item in enumerate(items)
                            for s in Service.from_dict(item, f"{where}[{i}]")]
        zones_raw, rules_raw = data.get("zones") or [], data.get("rules") or []
        if not isinstance(zones_raw, list) or len(zones_raw) > MAX_ZONES:
            raise _fail("zones", f"expected a list of at most {MAX_ZONES} zones")
        if not isinstance(rules_raw, list) or len(rules_raw) > MAX_RULES:
            raise _fail("rules", f"expected a list of at most {MAX_RULES} rules")
        zones = [Zone.from_dict(z, f"zones[{i}]") for i, z in enumerate(zones_raw)]
        names = [z.name for z in zones]
        for i, n in enumerate(names):
            if n in names[:i]:
                raise _fail(f"zones[{i}].name", f"duplicate zone {n!r}")
        rules = [Rule.from_dict(r, f"rules[{i}]", set(names), named) for i, r in enumerate(rules_raw)]
        rule_names = [r.name for r in rules]
        for i, n in enumerate(rule_names):
            if n in rule_names[:i]:
                raise _fail(f"rules[{i}].name", f"duplicate rule {n!r}")
        return cls(name=check_name(data.get("name"), "name"), zones=zones, rules=rules, services=named,
                   default=_action(data.get("default", "deny"), "default"),
                   site_networks=[_cidr(s, f"site_networks[{i}]")
                                  for i, s in enumerate(_strings(data.get("site_networks"), "site_networks"))],
                   description=str(data.get("description", "")))


MAX_POLICY_BYTES = 8 << 20  # a policy file larger than this is refused before it is read (inputfile)


def load_text(text: str) -> Policy:
    """Parse and validate a policy document (YAML, safe loader)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise PolicyError(f"not valid YAML: {describe(exc)}") from None
    return Policy.from_dict(data)


def dump_text(policy: Policy) -> str:
    text: str = yaml.safe_dump(policy.to_dict(), sort_keys=False, allow_unicode=True, width=120)
    return text
