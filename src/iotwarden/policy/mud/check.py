"""Check a device's flows against its MUD profile: which flows no ACE accepts, and which ACE decided.

A flow is judged by its initiating packet, as a stateful enforcement point would: the first packet
(device -> peer against ``from-device-policy``, peer -> device against ``to-device-policy``, RFC 8520
§3.13-§3.14) must be accepted; replies of an accepted flow are its return traffic. ACEs are tried in
order and the first whose matches all hold decides (RFC 8519 §4.1); no matching ACE denies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from iotwarden.detect.base import is_internal
from iotwarden.model import Flow
from iotwarden.policy.mud.model import Ace, MudProfile
from iotwarden.policy.mud.traffic import DnsTable

SYN = 0x02  # TCP flag, RFC 9293 §3.1
L4_NAMES = {6: "tcp", 17: "udp"}
MAX_VIOLATIONS = 10_000  # violations returned by one check_flows call (the count goes on)


@dataclass(frozen=True, slots=True)
class Packet:
    """The initiating packet of a flow as the ACL sees it."""

    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    direction: str  # "from-device" (device sends) or "to-device"

    @property
    def peer(self) -> str:
        return self.dst if self.direction == "from-device" else self.src


@dataclass
class Site:
    """What the site knows beyond the profile (RFC 8520 §8): controller addresses per class URI,
    the device's own controllers, and the MUD URLs other devices announced (peer IP -> URL).
    A controller class the site has not configured matches any local host (the usual home or lab
    case where one gateway is the DNS, NTP and DHCP server)."""

    controllers: dict[str, set[str]] = field(default_factory=dict)
    my_controllers: set[str] | None = None
    peer_urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Violation:
    """A flow no ACE accepts (``ace`` None: "no ACE") or one a drop/reject ACE matched."""

    flow: Flow
    packet: Packet
    acl: str | None
    ace: str | None

    def to_dict(self) -> dict[str, Any]:
        p = self.packet
        return {"direction": p.direction, "src": p.src, "dst": p.dst, "proto": p.proto, "sport": p.sport,
                "dport": p.dport, "acl": self.acl, "ace": self.ace or "no ACE",
                "first_seen": self.flow.first_seen, "packets": self.flow.packets, "bytes": self.flow.bytes}


@lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%", maxsplit=1)[0])
    except ValueError:
        return None


def is_local(ip: str) -> bool:
    """``local-networks`` (RFC 8520 §8): the site's own space, and broadcast and multicast, which
    never leave it."""
    addr = _address(ip)
    return addr is not None and (is_internal(ip) or addr.is_multicast or ip == "255.255.255.255")


def _in(ip: str, net: str) -> bool:
    addr, network = _address(ip), _network(net)
    return addr is not None and network is not None and addr.version == network.version and addr in network


def _host(url: str | None) -> str | None:
    return (urlsplit(url).hostname or None) if url else None


class Checker:
    """Judges flows of one device (its MAC and/or addresses) against one profile."""

    def __init__(self, profile: MudProfile, *, mac: str | None = None, ips: Iterable[str] = (),
                 dns: DnsTable | None = None, site: Site | None = None) -> None:
        self.profile = profile
        self.mac = mac.lower() if mac else None
        self.ips = set(ips)
        self.dns = dns or DnsTable()
        self.site = site or Site()
        self.policies = {d: [(acl.name, acl.aces) for acl in profile.policy(d)] for d in ("from-device", "to-device")}

    def owns(self, flow: Flow) -> str | None:
        """``a`` or ``b``: which end of ``flow`` is the device; None if neither."""
        if (self.mac and flow.a_mac == self.mac) or flow.a_ip in self.ips:
            return "a"
        if (self.mac and flow.b_mac == self.mac) or flow.b_ip in self.ips:
            return "b"
        return None

    def packets(self, flow: Flow, end: str) -> list[Packet]:
        """The initiating packet; for a TCP flow seen from its middle (no SYN from the initiator) the
        other direction too, since which end began it is unknown."""
        fwd = Packet(flow.a_ip, flow.b_ip, flow.ip_proto, flow.a_port, flow.b_port,
                     "from-device" if end == "a" else "to-device")
        rev = Packet(flow.b_ip, flow.a_ip, flow.ip_proto, flow.b_port, flow.a_port,
                     "to-device" if end == "a" else "from-device")
        mid = flow.ip_proto == 6 and not flow.tcp_flags_ab & SYN and flow.pkts_ba > 0
        return [fwd, rev] if mid else [fwd]

    def decide(self, packet: Packet) -> tuple[str | None, Ace | None]:
        """(ACL name, first matching ACE) of the policy for the packet's direction, or (None, None)."""
        for acl_name, aces in self.policies[packet.direction]:
            for ace in aces:
                if self.ace_matches(ace, packet):
                    return acl_name, ace
        return None, None

    def check(self, flow: Flow) -> Violation | None:
        end = self.owns(flow)
        if end is None:
            return None
        first: Violation | None = None
        for packet in self.packets(flow, end):
            acl, ace = self.decide(packet)
            if ace is not None and ace.forwarding.split(":")[-1] == "accept":
                return None
            if first is None:
                first = Violation(flow, packet, acl, ace.name if ace else None)
        return first

    def ace_matches(self, ace: Ace, p: Packet) -> bool:
        m = ace.matches
        if "icmp" in m.extra and p.proto not in (1, 58):
            return False
        if m.l3 is not None and not self._l3(m.l3.version, m.l3, p):
            return False
        if m.l4 is not None:
            l4 = m.l4
            if L4_NAMES.get(p.proto) != l4.proto:
                return False
            if l4.src_port is not None and not l4.src_port.matches(p.sport):
                return False
            if l4.dst_port is not None and not l4.dst_port.matches(p.dport):
                return False
            if l4.direction is not None and l4.direction != p.direction:
                return False  # RFC 8520 §6: who opened the connection
        return m.mud is None or self._mud(m.mud, p)

    def _l3(self, version: int, l3: Any, p: Packet) -> bool:
        addr = _address(p.src)
        if addr is None or addr.version != version:
            return False
        if l3.protocol is not None and l3.protocol != p.proto:
            return False
        if l3.src_network is not None and not _in(p.src, l3.src_network):
            return False
        if l3.dst_network is not None and not _in(p.dst, l3.dst_network):
            return False
        if l3.src_dnsname is not None and p.src not in self.dns.addresses(l3.src_dnsname):
            return False
        return l3.dst_dnsname is None or p.dst in self.dns.addresses(l3.dst_dnsname)

    def _mud(self, mud: Any, p: Packet) -> bool:
        peer = p.peer
        site = self.site
        if mud.local_networks and not is_local(peer):
            return False
        if mud.controller is not None:
            known = site.controllers.get(mud.controller)
            if not (peer in known if known is not None else is_local(peer)):
                return False
        if mud.my_controller and not (peer in site.my_controllers if site.my_controllers is not None
                                      else is_local(peer)):
            return False
        peer_url = site.peer_urls.get(peer)
        if mud.manufacturer is not None and _host(peer_url) != mud.manufacturer.lower():
            return False
        if mud.same_manufacturer and (peer_url is None or _host(peer_url) != _host(self.profile.mud_url)):
            return False
        return mud.model is None or peer_url == mud.model


@dataclass
class CheckResult:
    flows: int = 0  # flows of the device judged
    violations: list[Violation] = field(default_factory=list)
    violating: int = 0  # may exceed len(violations) past MAX_VIOLATIONS

    def to_dict(self) -> dict[str, Any]:
        return {"flows": self.flows, "violating": self.violating,
                "violations": [v.to_dict() for v in self.violations]}


def check_flows(checker: Checker, flows: Iterable[Flow]) -> CheckResult:
    """Judge every flow of the checker's device; the first MAX_VIOLATIONS violations are kept."""
    out = CheckResult()
    for flow in flows:
        if checker.owns(flow) is None:
            continue
        out.flows += 1
        v = checker.check(flow)
        if v is not None:
            out.violating += 1
            if len(out.violations) < MAX_VIOLATIONS:
                out.violations.append(v)
    return out
