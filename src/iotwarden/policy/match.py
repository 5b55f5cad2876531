"""Zone membership and the verdict of one flow under a policy: the single decision procedure that
simulation, diff, boundary monitoring and the nftables renderer all follow (first match wins).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from iotwarden.inventory.addresses import local_ip
from iotwarden.model import Device, Flow
from iotwarden.policy.model import ANY, INTERNET, Action, Policy, Rule, Zone
from iotwarden.policy.names import domain_matches

MAX_HOSTS = 1_000_000  # resolved host addresses kept (one entry per device address)
NOT_ROUTED = "not-routed"  # pseudo rule of multicast/broadcast traffic: never crosses a router


@dataclass(slots=True)
class Membership:
    """Which zone each device address belongs to: host IPs, then subnets, then MACs (as rendered)."""

    policy: Policy
    by_ip: dict[str, str] = field(default_factory=dict)
    by_mac: dict[str, str] = field(default_factory=dict)
    subnets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)  # zone -> device keys

    def zone_of(self, ip: str, mac: str | None = None) -> str | None:
        """The zone of an endpoint, ``internet`` for an off-site address, None when unzoned."""
        found = self.by_ip.get(ip)
        if found:
            return found
        addr = _addr(ip)
        if addr is not None:
            for net, name in self.subnets:
                if addr.version == net.version and addr in net:
                    return name
        if mac and mac in self.by_mac:
            return self.by_mac[mac]
        if not local_ip(ip, tuple(self.policy.site_networks)):
            return INTERNET
        return None

    def addresses(self, zone: str) -> tuple[list[str], list[str], list[str]]:
        """(IPv4 hosts and subnets, IPv6 hosts and subnets, MACs) of a zone, for rendering."""
        v4 = sorted(ip for ip, z in self.by_ip.items() if z == zone and ":" not in ip)
        v6 = sorted(ip for ip, z in self.by_ip.items() if z == zone and ":" in ip)
        for net, z in self.subnets:
            if z == zone:
                (v4 if net.version == 4 else v6).append(str(net))
        macs = sorted(m for m, z in self.by_mac.items() if z == zone)
        return v4, v6, macs


@lru_cache(maxsize=65536)
def _addr(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None


def _selects(zone: Zone, dev: Device) -> bool:
    if dev.key in zone.devices or (dev.mac and f"mac:{dev.mac}" in zone.devices):
        return True
    if any(f"ip:{ip}" in zone.devices for ip in dev.ips):
        return True
    category = (dev.category or "").lower()
    if zone.categories and category in zone.categories:
        return True
    if zone.device_types and (dev.device_type or "").lower() in zone.device_types:
        return True
    return bool(zone.vendors and dev.vendor and any(v.lower() == dev.vendor.lower() for v in zone.vendors))


def resolve(policy: Policy, devices: Iterable[Device]) -> Membership:
    """Assign every device to the first zone that selects it; explicit entries with no device in the
    inventory (an address the operator named) become members too."""
    out = Membership(policy)
    for zone in policy.zones:
        for cidr in zone.subnets:
            out.subnets.append((ipaddress.ip_network(cidr), zone.name))
        out.members.setdefault(zone.name, [])
    # a more specific subnet wins over a wider one of an earlier zone only by order: operators list
    # the specific zone first (documented in the policy docs); keep the policy's order here
    claimed: set[str] = set()
    for dev in devices:
        zone_name = next((z.name for z in policy.zones if _selects(z, dev)), None)
        if zone_name is None:
            continue
        claimed.add(dev.key)
        out.members[zone_name].append(dev.key)
        for ip in dev.ips:
            if len(out.by_ip) < MAX_HOSTS:
                out.by_ip.setdefault(ip, zone_name)
        if dev.mac:
            out.by_mac.setdefault(dev.mac, zone_name)
    for zone in policy.zones:
        for entry in zone.devices:
            kind, value = entry.split(":", 1)
            table = out.by_ip if kind == "ip" else out.by_mac
            if value not in table and len(table) < MAX_HOSTS:
                table[value] = zone.name
                if entry not in claimed:
                    out.members[zone.name].append(entry)
    return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one flow: the action, the rule that decided it (or ``<zone>.default``/``intra``)
    and the two zones."""

    action: Action
    rule: str
    src_zone: str | None
    dst_zone: str | None

    @property
    def blocked(self) -> bool:
        return self.action == "deny"

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "rule": self.rule, "src_zone": self.src_zone, "dst_zone": self.dst_zone}


def _not_routed(ip: str) -> bool:
    addr = _addr(ip)
    return addr is None or addr.is_multicast or addr.is_unspecified or str(addr) == "255.255.255.255" or (
        addr.version == 6 and addr.is_link_local) or (addr.version == 4 and addr.is_link_local)


def _dest_matches(rule: Rule, ip: str, names: Mapping[str, Iterable[str]]) -> bool:
    if not rule.destinations:
        return True
    addr = _addr(ip)
    if addr is not None and any(addr.version == (n := ipaddress.ip_network(c)).version and addr in n
                                for c in rule.cidrs):
        return True
    seen = names.get(ip, ())
    return any(domain_matches(d, n) for d in rule.domains for n in seen)


def verdict(policy: Policy, members: Membership, flow: Flow,
            names: Mapping[str, Iterable[str]] | None = None) -> Verdict:
    """What ``policy`` does with ``flow`` (initiator ``a`` to responder ``b`` on ``b_port``).

    Order (the rendered ruleset follows it): traffic not routed (multicast, broadcast, link-local)
    passes; anything into an isolated zone from elsewhere is denied; traffic within one zone gets the
    zone's ``intra`` action; then the first rule whose zones, service and destinations match; else
    the source zone's default (the policy default for unzoned sources).
    """
    src = members.zone_of(flow.a_ip, flow.a_mac)
    if _not_routed(flow.b_ip):
        return Verdict("allow", NOT_ROUTED, src, None)
    dst = members.zone_of(flow.b_ip)
    src_zone = policy.zone(src) if src else None
    dst_zone = policy.zone(dst) if dst else None
    if dst_zone is not None and dst_zone.isolated and src != dst:
        return Verdict("deny", f"{dst}.isolated", src, dst)
    if src_zone is not None and src == dst:
        return Verdict(src_zone.intra, f"{src}.intra", src, dst)
    for rule in policy.rules:
        if rule.src not in (ANY, src) or (src_zone is not None and src_zone.isolated and rule.src == ANY):
            continue
        if rule.dst not in (ANY, dst):
            continue
        if rule.services and not any(s.matches(flow.ip_proto, flow.b_port) for s in rule.services):
            continue
        if not _dest_matches(rule, flow.b_ip, names or {}):
            continue
        return Verdict(rule.action, rule.name, src, dst)
    if src_zone is None:
        return Verdict(policy.default, "default", src, dst)
    return Verdict(src_zone.effective_default(policy.default), f"{src}.default", src, dst)


def service_of(policy: Policy, flow: Flow, dst_zone: str | None) -> str:
    """The business service a flow belongs to: a named service of the policy matching its protocol
    and port, else ``<zone>:<proto>/<port>`` of the responder's zone."""
    for name, services in policy.services.items():
        if any(s.matches(flow.ip_proto, flow.b_port) for s in services):
            return name
    proto = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}.get(flow.ip_proto, str(flow.ip_proto))
    port = f"/{flow.b_port}" if flow.ip_proto in (6, 17) else ""
    return f"{dst_zone or 'unzoned'}:{proto}{port}"
