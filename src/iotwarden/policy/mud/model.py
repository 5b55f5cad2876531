"""Typed MUD records (RFC 8520 ``ietf-mud`` over RFC 8519 ``ietf-access-control-list``), no I/O.

``from_dict``/``to_dict`` read and write the RFC 7951 JSON encoding; members this model does not
name (``eth`` or ``icmp`` matches, vendor extensions) are kept in ``extra`` and survive a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MUD = "ietf-mud:mud"  # RFC 8520 §2.1 top-level container
ACLS = "ietf-access-control-list:access-lists"  # RFC 8519 §4.1
DNS_SRC, DNS_DST = "ietf-acldns:src-dnsname", "ietf-acldns:dst-dnsname"  # RFC 8520 §9
DIRECTION = "ietf-mud:direction-initiated"  # RFC 8520 §6: augments the tcp match
EMPTY = [None]  # an ``empty``-typed leaf in JSON (RFC 7951 §6.9)
# the ietf-mud:mud match leaves (RFC 8520 §8); the three of type ``empty`` are booleans here
MUD_MATCH_TEXT = ("manufacturer", "model", "controller")
MUD_MATCH_EMPTY = ("same-manufacturer", "local-networks", "my-controller")
PORT_OPERATORS = ("eq", "lte", "gte", "neq", "lt", "gt")  # RFC 8519 §4.1 operator (RFC 6991 style)


def _rest(data: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in known}


def _obj(data: dict[str, Any], key: str) -> dict[str, Any]:
    """The member ``key`` if it is an object, else an empty one (shapes are validate.py's business)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


@dataclass(slots=True)
class PortMatch:
    """``source-port``/``destination-port`` (RFC 8519 §4.1, grouping port-range-or-operator): one port
    with an operator, or ``lower-port``..``upper-port`` inclusive."""

    operator: str | None = None
    port: int | None = None
    lower: int | None = None
    upper: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def matches(self, port: int) -> bool:
        if self.lower is not None or self.upper is not None:
            return (self.lower or 0) <= port <= (self.upper if self.upper is not None else 65535)
        if self.port is None:
            return True
        op = self.operator or "eq"
        return {"eq": port == self.port, "neq": port != self.port, "lte": port <= self.port,
                "gte": port >= self.port, "lt": port < self.port, "gt": port > self.port}.get(op, False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortMatch:
        return cls(data.get("operator"), data.get("port"), data.get("lower-port"), data.get("upper-port"),
                   _rest(data, ("operator", "port", "lower-port", "upper-port")))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "operator", self.operator)
        _put(out, "port", self.port)
        _put(out, "lower-port", self.lower)
        _put(out, "upper-port", self.upper)
        return {**out, **self.extra}


@dataclass(slots=True)
class L3Match:
    """The ``ipv4``/``ipv6`` match (RFC 8519 §4.1) with the DNS-name augmentation (RFC 8520 §9)."""

    version: int  # 4 or 6: which container it came from
    protocol: int | None = None  # IP protocol / IPv6 next header
    src_network: str | None = None  # source-ipv4-network / source-ipv6-network (prefix)
    dst_network: str | None = None
    src_dnsname: str | None = None
    dst_dnsname: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, version: int, data: dict[str, Any]) -> L3Match:
        src, dst = f"source-ipv{version}-network", f"destination-ipv{version}-network"
        return cls(version, data.get("protocol"), data.get(src), data.get(dst), data.get(DNS_SRC),
                   data.get(DNS_DST), _rest(data, ("protocol", src, dst, DNS_SRC, DNS_DST)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "protocol", self.protocol)
        _put(out, f"source-ipv{self.version}-network", self.src_network)
        _put(out, f"destination-ipv{self.version}-network", self.dst_network)
        _put(out, DNS_SRC, self.src_dnsname)
        _put(out, DNS_DST, self.dst_dnsname)
        return {**out, **self.extra}


@dataclass(slots=True)
class L4Match:
    """The ``tcp`` or ``udp`` match (RFC 8519 §4.1); ``direction`` is RFC 8520 §6's
    ``direction-initiated`` (``from-device`` or ``to-device``), defined for TCP only."""

    proto: str  # "tcp" or "udp"
    src_port: PortMatch | None = None
    dst_port: PortMatch | None = None
    direction: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, proto: str, data: dict[str, Any]) -> L4Match:
        src, dst = data.get("source-port"), data.get("destination-port")
        return cls(proto, PortMatch.from_dict(src) if isinstance(src, dict) else None,
                   PortMatch.from_dict(dst) if isinstance(dst, dict) else None, data.get(DIRECTION),
                   _rest(data, ("source-port", "destination-port", DIRECTION)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.src_port is not None:
            out["source-port"] = self.src_port.to_dict()
        if self.dst_port is not None:
            out["destination-port"] = self.dst_port.to_dict()
        _put(out, DIRECTION, self.direction)
        return {**out, **self.extra}


@dataclass(slots=True)
class MudMatch:
    """The ``ietf-mud:mud`` match (RFC 8520 §8): classes of peers named by role, not address."""

    manufacturer: str | None = None  # peers whose MUD URL authority is this host
    same_manufacturer: bool = False  # peers whose MUD URL authority equals this device's
    model: str | None = None  # peers announcing exactly this MUD URL
    local_networks: bool = False  # any address on the local network (RFC 8520 §8)
    controller: str | None = None  # a class of controllers, e.g. urn:ietf:params:mud:dns (§8.6)
    my_controller: bool = False  # the controller(s) configured for this device's MUD URL
    extra: dict[str, Any] = field(default_factory=dict)
    # empty leaves as they were written when not [null] (e.g. []), so even a wrong encoding round-trips
    raw_empty: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MudMatch:
        return cls(data.get("manufacturer"), "same-manufacturer" in data, data.get("model"),
                   "local-networks" in data, data.get("controller"), "my-controller" in data,
                   _rest(data, MUD_MATCH_TEXT + MUD_MATCH_EMPTY),
                   {k: data[k] for k in MUD_MATCH_EMPTY if k in data and data[k] != EMPTY})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "manufacturer", self.manufacturer)
        if self.same_manufacturer:
            out["same-manufacturer"] = self.raw_empty.get("same-manufacturer", list(EMPTY))
        _put(out, "model", self.model)
        if self.local_networks:
            out["local-networks"] = self.raw_empty.get("local-networks", list(EMPTY))
        _put(out, "controller", self.controller)
        if self.my_controller:
            out["my-controller"] = self.raw_empty.get("my-controller", list(EMPTY))
        return {**out, **self.extra}


@dataclass(slots=True)
class Matches:
    """An ACE's ``matches`` (RFC 8519 §4.1): every present part must match (logical AND)."""

    l3: L3Match | None = None
    l4: L4Match | None = None
    mud: MudMatch | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # eth, icmp, egress-interface, ... as read

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Matches:
        l3 = next((L3Match.from_dict(v, data[f"ipv{v}"]) for v in (4, 6) if isinstance(data.get(f"ipv{v}"), dict)),
                  None)
        l4 = next((L4Match.from_dict(p, data[p]) for p in ("tcp", "udp") if isinstance(data.get(p), dict)), None)
        mud = MudMatch.from_dict(data[MUD]) if isinstance(data.get(MUD), dict) else None
        taken = tuple(k for k in ("ipv4", "ipv6", "tcp", "udp", MUD) if isinstance(data.get(k), dict))
        # a second l3/l4 container (invalid YANG: a choice) stays in extra, so validate can name it
        if l3 is not None and isinstance(data.get("ipv6"), dict) and l3.version == 4:
            taken = tuple(k for k in taken if k != "ipv6")
        if l4 is not None and isinstance(data.get("udp"), dict) and l4.proto == "tcp":
            taken = tuple(k for k in taken if k != "udp")
        return cls(l3, l4, mud, _rest(data, taken))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.mud is not None:
            out[MUD] = self.mud.to_dict()
        if self.l3 is not None:
            out[f"ipv{self.l3.version}"] = self.l3.to_dict()
        if self.l4 is not None:
            out[self.l4.proto] = self.l4.to_dict()
        return {**out, **self.extra}


@dataclass(slots=True)
class Ace:
    """One access-control entry (RFC 8519 §4.1 ``ace``): ``forwarding`` is accept, drop or reject."""

    name: str
    matches: Matches = field(default_factory=Matches)
    forwarding: str = "accept"
    extra: dict[str, Any] = field(default_factory=dict)
    actions_extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ace:
        actions, matches = _obj(data, "actions"), _obj(data, "matches")
        return cls(str(data.get("name", "")), Matches.from_dict(matches), str(actions.get("forwarding", "")),
                   _rest(data, ("name", "matches", "actions")), _rest(actions, ("forwarding",)))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "matches": self.matches.to_dict(),
                "actions": {"forwarding": self.forwarding, **self.actions_extra}, **self.extra}


@dataclass(slots=True)
class Acl:
    """One named access list (RFC 8519 §4.1 ``acl``); ``type`` such as ``ipv4-acl-type``."""

    name: str
    type: str | None = None
    aces: list[Ace] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Acl:
        aces = data.get("aces", {}).get("ace", []) if isinstance(data.get("aces"), dict) else []
        return cls(str(data.get("name", "")), data.get("type"),
                   [Ace.from_dict(a) for a in aces if isinstance(a, dict)], _rest(data, ("name", "type", "aces")))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        _put(out, "type", self.type)
        out["aces"] = {"ace": [a.to_dict() for a in self.aces]}
        return {**out, **self.extra}


def _policy_names(data: Any) -> list[str] | None:
    if not isinstance(data, dict):
        return None
    lists = data.get("access-lists", {}).get("access-list", []) if isinstance(data.get("access-lists"), dict) else []
    return [str(item.get("name", "")) for item in lists if isinstance(item, dict)]


def _policy_dict(names: list[str]) -> dict[str, Any]:
    return {"access-lists": {"access-list": [{"name": n} for n in names]}}


MUD_LEAVES = ("mud-version", "mud-url", "last-update", "mud-signature", "cache-validity", "is-supported",
              "systeminfo", "mfg-name", "model-name", "firmware-rev", "software-rev", "documentation",
              "extensions", "from-device-policy", "to-device-policy")


@dataclass(slots=True)
class MudProfile:
    """A MUD file (RFC 8520 §2): the ``ietf-mud:mud`` container and the access lists it names."""

    mud_url: str
    last_update: str
    is_supported: bool = True
    mud_version: int = 1  # §3.1
    cache_validity: int | None = None  # hours, 1..168; absent means 48 (§3.5)
    mud_signature: str | None = None  # URI of the CMS signature (§3.4, §13)
    systeminfo: str | None = None  # §3.7
    mfg_name: str | None = None  # §3.8
    model_name: str | None = None  # §3.12
    firmware_rev: str | None = None  # §3.10
    software_rev: str | None = None  # §3.11
    documentation: str | None = None  # §3.9
    extensions: list[str] | None = None  # §3.13
    from_device: list[str] | None = None  # ACL names of from-device-policy (§3.14)
    to_device: list[str] | None = None  # ACL names of to-device-policy (§3.15)
    acls: list[Acl] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # other members of the ietf-mud:mud container
    acl_extra: dict[str, Any] = field(default_factory=dict)  # other members of the access-lists container
    top_extra: dict[str, Any] = field(default_factory=dict)  # other top-level members
    has_acl_container: bool = True  # False when the file had no access-lists container (kept absent)

    DEFAULT_CACHE_VALIDITY = 48  # hours, RFC 8520 §3.5 default

    def acl(self, name: str) -> Acl | None:
        return next((a for a in self.acls if a.name == name), None)

    def policy(self, direction: str) -> list[Acl]:
        """The ACLs of ``from-device`` or ``to-device``, in order; names without an ACL are skipped."""
        names = self.from_device if direction == "from-device" else self.to_device
        return [acl for acl in (self.acl(n) for n in names or []) if acl is not None]

    @property
    def validity_hours(self) -> int:
        return self.cache_validity if self.cache_validity is not None else self.DEFAULT_CACHE_VALIDITY

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MudProfile:
        """Read the JSON form; no checks beyond shapes (see :mod:`.validate` for the RFC's rules)."""
        mud, acls = _obj(data, MUD), _obj(data, ACLS)
        items = acls.get("acl", []) if isinstance(acls.get("acl"), list) else []
        return cls(
            mud_url=mud.get("mud-url", ""), last_update=mud.get("last-update", ""),
            is_supported=mud.get("is-supported", True), mud_version=mud.get("mud-version", 1),
            cache_validity=mud.get("cache-validity"), mud_signature=mud.get("mud-signature"),
            systeminfo=mud.get("systeminfo"), mfg_name=mud.get("mfg-name"), model_name=mud.get("model-name"),
            firmware_rev=mud.get("firmware-rev"), software_rev=mud.get("software-rev"),
            documentation=mud.get("documentation"), extensions=mud.get("extensions"),
            from_device=_policy_names(mud.get("from-device-policy")),
            to_device=_policy_names(mud.get("to-device-policy")),
            acls=[Acl.from_dict(a) for a in items if isinstance(a, dict)],
            extra=_rest(mud, MUD_LEAVES), acl_extra=_rest(acls, ("acl",)), top_extra=_rest(data, (MUD, ACLS)),
            has_acl_container=ACLS in data)

    def to_dict(self) -> dict[str, Any]:
        mud: dict[str, Any] = {"mud-version": self.mud_version, "mud-url": self.mud_url,
                               "last-update": self.last_update}
        _put(mud, "mud-signature", self.mud_signature)
        _put(mud, "cache-validity", self.cache_validity)
        mud["is-supported"] = self.is_supported
        for key, value in (("systeminfo", self.systeminfo), ("mfg-name", self.mfg_name),
                           ("model-name", self.model_name), ("firmware-rev", self.firmware_rev),
                           ("software-rev", self.software_rev), ("documentation", self.documentation),
                           ("extensions", self.extensions)):
            _put(mud, key, value)
        if self.from_device is not None:
            mud["from-device-policy"] = _policy_dict(self.from_device)
        if self.to_device is not None:
            mud["to-device-policy"] = _policy_dict(self.to_device)
        mud.update(self.extra)
        out: dict[str, Any] = {MUD: mud}
        if self.has_acl_container or self.acls:
            out[ACLS] = {"acl": [a.to_dict() for a in self.acls], **self.acl_extra}
        return {**out, **self.top_extra}
