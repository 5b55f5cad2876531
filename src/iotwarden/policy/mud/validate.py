"""Structural validation of a MUD file against RFC 8520 §2-§9 and the RFC 8519 YANG it uses.

:func:`problems` lists every departure with the JSON path it sits at; :func:`validate` raises one
:class:`~iotwarden.errors.PolicyError` naming them, or returns the typed profile.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from iotwarden.errors import PolicyError
from iotwarden.policy.mud.model import (
    ACLS,
    DIRECTION,
    DNS_DST,
    DNS_SRC,
    EMPTY,
    MUD,
    MUD_MATCH_EMPTY,
    PORT_OPERATORS,
    MudProfile,
)

MAX_PROFILE_BYTES = 4 << 20  # a MUD file (or profiles map) larger than this is refused before it is read
MAX_REPORTED = 20  # problems named in one PolicyError message (all are in problems())
# yang:date-and-time (RFC 6991 §3): date, time, optional fraction, mandatory offset
DATE_AND_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# inet:host as a domain name (RFC 6991 §4, RFC 1123 §2.1 labels)
HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                      r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$")
ACL_TYPES = ("ipv4-acl-type", "ipv6-acl-type", "eth-acl-type", "mixed-eth-ipv4-acl-type",
             "mixed-eth-ipv6-acl-type", "mixed-eth-ipv4-ipv6-acl-type")  # RFC 8519 §4.1 identities
# identities of draft-ietf-netmod-acl-model that mudgee and osMUD still write: a warning, not an error
DRAFT_ACL_TYPES = {"ethernet-acl-type": "eth-acl-type"}
FORWARDING = ("accept", "drop", "reject")  # RFC 8519 §4.1 forwarding-action identities
DIRECTIONS = ("from-device", "to-device")  # RFC 8520 §6


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # JSON path, e.g. /ietf-mud:mud/cache-validity
    message: str
    severity: str = "error"  # "error" makes the file invalid; "warning" is reported only

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (" (warning)" if self.severity == "warning" else "")


class _Checker:
    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, path: str, message: str, severity: str = "error") -> None:
        self.found.append(Problem(path, message, severity))

    def typed(self, obj: dict[str, Any], key: str, path: str, kind: type | tuple[type, ...], *,
              mandatory: bool = False) -> Any:
        """The member if present with the right JSON type; a problem (and None) otherwise."""
        if key not in obj:
            if mandatory:
                self.add(f"{path}/{key}", "mandatory member missing")
            return None
        value = obj[key]
        names = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, names) or (isinstance(value, bool) and bool not in names):
            self.add(f"{path}/{key}", f"expected {' or '.join(_json_name(k) for k in names)}, got {value!r}")
            return None
        return value

    def uint(self, obj: dict[str, Any], key: str, path: str, lo: int, hi: int, *, mandatory: bool = False) -> None:
        value = self.typed(obj, key, path, int, mandatory=mandatory)
        if value is not None and not lo <= value <= hi:
            self.add(f"{path}/{key}", f"{value} is outside {lo}..{hi}")

    def uri(self, obj: dict[str, Any], key: str, path: str, *, mandatory: bool = False, https: bool = False) -> None:
        value = self.typed(obj, key, path, str, mandatory=mandatory)
        if value is None:
            return
        parts = urlsplit(value)
        if not parts.scheme or not (parts.netloc or parts.path):
            self.add(f"{path}/{key}", f"{value!r} is not a URI (inet:uri, RFC 3986)")
        elif https and (parts.scheme.lower() != "https" or not parts.hostname):
            self.add(f"{path}/{key}", f"{value!r}: MUD URLs use the https scheme (RFC 8520 §10)")


def _json_name(kind: type) -> str:
    return {str: "string", int: "integer", bool: "boolean", dict: "object", list: "array"}.get(kind, kind.__name__)


def problems(data: Any) -> list[Problem]:
    """Every structural problem of a parsed MUD JSON document, in document order."""
    c = _Checker()
    if not isinstance(data, dict):
        hint = " (a JSON string: the file is JSON encoded twice)" if isinstance(data, str) else ""
        c.add("/", f"expected an object, got {_json_name(type(data))}{hint}")
        return c.found
    mud = c.typed(data, MUD, "", dict, mandatory=True)
    acl_names = _check_acls(c, data)
    if mud is not None:
        _check_mud(c, mud, f"/{MUD}", acl_names)
    for key in data:
        if key not in (MUD, ACLS):
            c.add(f"/{key}", f"unknown top-level member (RFC 8520 §2.1 names {MUD} and {ACLS})")
    return c.found


def _check_mud(c: _Checker, mud: dict[str, Any], path: str, acl_names: set[str] | None) -> None:
    """The ietf-mud:mud container, RFC 8520 §3 (leaf types from the YANG module, §2.1)."""
    c.uint(mud, "mud-version", path, 1, 1, mandatory=True)  # §3.1: this is version 1
    c.uri(mud, "mud-url", path, mandatory=True, https=True)  # §3.3
    last = c.typed(mud, "last-update", path, str, mandatory=True)  # §3.4, yang:date-and-time
    if last is not None and not DATE_AND_TIME.match(last):
        c.add(f"{path}/last-update", f"{last!r} is not a yang:date-and-time (RFC 6991 §3: offset required)")
    c.uri(mud, "mud-signature", path, https=True)  # §3.5
    c.uint(mud, "cache-validity", path, 1, 168)  # §3.6: hours
    c.typed(mud, "is-supported", path, bool, mandatory=True)  # §3.7
    for key in ("systeminfo", "mfg-name", "model-name", "firmware-rev", "software-rev"):  # §3.8-§3.12
        c.typed(mud, key, path, str)
    c.uri(mud, "documentation", path)  # §3.9
    exts = c.typed(mud, "extensions", path, list)  # §3.2
    for i, ext in enumerate(exts or []):
        if not isinstance(ext, str) or not 1 <= len(ext) <= 40:
            c.add(f"{path}/extensions/{i}", f"{ext!r}: an extension name is a string of 1..40 characters")
    for key in ("from-device-policy", "to-device-policy"):  # §3.13-§3.14
        policy = c.typed(mud, key, path, dict)
        if policy is None:
            continue
        lists = c.typed(policy, "access-lists", f"{path}/{key}", dict)
        items = c.typed(lists, "access-list", f"{path}/{key}/access-lists", list) if lists is not None else None
        for i, item in enumerate(items or []):
            ipath = f"{path}/{key}/access-lists/access-list/{i}"
            name = c.typed(item, "name", ipath, str, mandatory=True) if isinstance(item, dict) else None
            if not isinstance(item, dict):
                c.add(ipath, "expected an object with a name")
            elif name is not None and acl_names is not None and name not in acl_names:
                c.add(f"{ipath}/name", f"names ACL {name!r}, which {ACLS} does not define")


def _check_acls(c: _Checker, data: dict[str, Any]) -> set[str] | None:
    """The access lists, RFC 8519 §4.1 as profiled by RFC 8520 §5."""
    if ACLS not in data:
        return set()  # every ACL a policy names is then undefined
    acls = c.typed(data, ACLS, "", dict)
    if acls is None:
        return None
    path = f"/{ACLS}"
    names: set[str] = set()
    for i, acl in enumerate(c.typed(acls, "acl", path, list) or []):
        apath = f"{path}/acl/{i}"
        if not isinstance(acl, dict):
            c.add(apath, "expected an object")
            continue
        name = c.typed(acl, "name", apath, str, mandatory=True)
        if name is not None:
            if name in names:
                c.add(f"{apath}/name", f"duplicate ACL name {name!r} (the list key must be unique)")
            names.add(name)
        kind = c.typed(acl, "type", apath, str)
        bare = kind.split(":")[-1] if kind is not None else None
        if bare in DRAFT_ACL_TYPES:
            c.add(f"{apath}/type", f"{kind!r} is the draft-ietf-netmod-acl-model name; RFC 8519 §4.1 calls it "
                  f"{DRAFT_ACL_TYPES[bare]!r}", "warning")
        elif kind is not None and bare not in ACL_TYPES:
            c.add(f"{apath}/type", f"{kind!r} is not an RFC 8519 acl-type")
        aces = c.typed(acl, "aces", apath, dict)
        ace_names: set[str] = set()
        for j, ace in enumerate((c.typed(aces, "ace", f"{apath}/aces", list) if aces is not None else None) or []):
            _check_ace(c, ace, f"{apath}/aces/ace/{j}", ace_names)
    return names


def _check_ace(c: _Checker, ace: Any, path: str, seen: set[str]) -> None:
    if not isinstance(ace, dict):
        c.add(path, "expected an object")
        return
    name = c.typed(ace, "name", path, str, mandatory=True)
    if name is not None:
        if name in seen:
            c.add(f"{path}/name", f"duplicate ACE name {name!r} within its ACL")
        seen.add(name)
    actions = c.typed(ace, "actions", path, dict, mandatory=True)
    if actions is not None:
        fwd = c.typed(actions, "forwarding", f"{path}/actions", str, mandatory=True)
        if fwd is not None and fwd.split(":")[-1] not in FORWARDING:
            c.add(f"{path}/actions/forwarding", f"{fwd!r} is not accept, drop or reject (RFC 8519 §4.1)")
    matches = c.typed(ace, "matches", path, dict)
    if matches is None:
        return
    mpath = f"{path}/matches"
    if "ipv4" in matches and "ipv6" in matches:
        c.add(mpath, "ipv4 and ipv6 are cases of one choice (RFC 8519 §4.1): at most one")
    if "tcp" in matches and "udp" in matches:
        c.add(mpath, "tcp and udp are cases of one choice (RFC 8519 §4.1): at most one")
    for version in (4, 6):
        l3 = c.typed(matches, f"ipv{version}", mpath, dict)
        if l3 is not None:
            _check_l3(c, l3, f"{mpath}/ipv{version}", version)
    for proto in ("tcp", "udp"):
        l4 = c.typed(matches, proto, mpath, dict)
        if l4 is None:
            continue
        for key in ("source-port", "destination-port"):
            port = c.typed(l4, key, f"{mpath}/{proto}", dict)
            if port is not None:
                _check_port(c, port, f"{mpath}/{proto}/{key}")
        direction = c.typed(l4, DIRECTION, f"{mpath}/{proto}", str)
        if direction is not None and direction not in DIRECTIONS:
            c.add(f"{mpath}/{proto}/{DIRECTION}", f"{direction!r} is not from-device or to-device (RFC 8520 §6)")
        if proto == "udp" and DIRECTION in l4:
            c.add(f"{mpath}/udp/{DIRECTION}", "direction-initiated augments the tcp match only (RFC 8520 §6)")
    mud = c.typed(matches, MUD, mpath, dict)
    if mud is not None:
        _check_mud_match(c, mud, f"{mpath}/{MUD}")


def _check_l3(c: _Checker, l3: dict[str, Any], path: str, version: int) -> None:
    c.uint(l3, "protocol", path, 0, 255)
    for key in (f"source-ipv{version}-network", f"destination-ipv{version}-network"):
        net = c.typed(l3, key, path, str)
        if net is None:
            continue
        try:
            parsed = ipaddress.ip_network(net, strict=False)
        except ValueError:
            c.add(f"{path}/{key}", f"{net!r} is not an IPv{version} prefix")
            continue
        if parsed.version != version or "/" not in net:
            c.add(f"{path}/{key}", f"{net!r} is not an ipv{version}-prefix (address/length)")
    for key in (DNS_SRC, DNS_DST):  # RFC 8520 §9: inet:host
        name = c.typed(l3, key, path, str)
        if name is not None and not HOSTNAME.match(name):
            c.add(f"{path}/{key}", f"{name!r} is not a domain name (inet:host)")
    has_net = any(f"{side}-ipv{version}-network" in l3 for side in ("source", "destination"))
    if has_net and (DNS_SRC in l3 or DNS_DST in l3):
        c.add(path, "a DNS name and a network in one match (RFC 8520 §9: use one or the other)")


def _check_port(c: _Checker, port: dict[str, Any], path: str) -> None:
    """RFC 8519 §4.1 port-range-or-operator: a range (lower-port, upper-port) or operator + port."""
    if "lower-port" in port or "upper-port" in port:
        c.uint(port, "lower-port", path, 0, 65535, mandatory=True)
        c.uint(port, "upper-port", path, 0, 65535, mandatory=True)
        lo, hi = port.get("lower-port"), port.get("upper-port")
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            c.add(path, f"lower-port {lo} is above upper-port {hi}")
        return
    c.uint(port, "port", path, 0, 65535, mandatory=True)
    op = c.typed(port, "operator", path, str)
    if op is not None and op not in PORT_OPERATORS:
        c.add(f"{path}/operator", f"{op!r} is not one of {', '.join(PORT_OPERATORS)}")


def _check_mud_match(c: _Checker, mud: dict[str, Any], path: str) -> None:
    """RFC 8520 §8: manufacturer (inet:host), model/controller (inet:uri), three ``empty`` leaves."""
    name = c.typed(mud, "manufacturer", path, str)
    if name is not None and not HOSTNAME.match(name):
        c.add(f"{path}/manufacturer", f"{name!r} is not a domain name (inet:host)")
    c.uri(mud, "model", path)
    c.uri(mud, "controller", path)
    for key in MUD_MATCH_EMPTY:
        if key in mud and mud[key] != EMPTY:
            c.add(f"{path}/{key}", f"{mud[key]!r}: an empty-typed leaf is written [null] (RFC 7951 §6.9)")


def validate(data: Any, *, source: str = "MUD file") -> MudProfile:
    """The typed profile of a valid document (warnings allowed); a PolicyError naming each error."""
    found = [p for p in problems(data) if p.severity == "error"]
    if found:
        shown = "; ".join(str(p) for p in found[:MAX_REPORTED])
        more = f" (and {len(found) - MAX_REPORTED} more)" if len(found) > MAX_REPORTED else ""
        raise PolicyError(f"{source} is not a valid MUD file: {shown}{more}")
    return MudProfile.from_dict(data)
