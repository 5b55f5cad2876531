"""Policy proposal from evidence: zones from the inventory's classification, least-privilege rules from
the flows observed between them, each rule explained by the flows that need it (counts, examples).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from iotwarden.inventory.addresses import local_ip
from iotwarden.model import Device, Flow
from iotwarden.policy.match import NOT_ROUTED, resolve, verdict
from iotwarden.policy.model import ANY, INTERNET, Policy, Rule, Service, Zone, check_name
from iotwarden.policy.simulate import flow_example

UNCLASSIFIED = "unclassified"  # zone of devices the classifier could not place in a category
MAX_DEST_HOSTS = 16  # a rule names its destination hosts up to this many; more: the whole zone
MAX_EXAMPLES = 3  # example flows kept in each rule's explanation
MAX_GROUPS = 10_000  # (source zone, destination zone, service) groups; past it flows are counted, not ruled
PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}


@dataclass(slots=True)
class _Need:
    flows: int = 0
    packets: int = 0
    bytes: int = 0
    hosts: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    examples: list[dict[str, Any]] = field(default_factory=list)


def propose_zones(devices: Iterable[Device]) -> list[Zone]:
    """One zone per classifier category present (OT zones availability-first), plus ``unclassified``;
    members are listed explicitly (device keys) so a later reclassification never moves a device."""
    by_cat: dict[str, list[str]] = {}
    for dev in sorted(devices, key=lambda d: d.key):
        by_cat.setdefault((dev.category or UNCLASSIFIED).lower(), []).append(dev.key)
    zones = []
    for cat in sorted(by_cat):
        zones.append(Zone(name=cat, description=f"devices classified {cat}" if cat != UNCLASSIFIED else
                          "devices without a classified category", devices=by_cat[cat],
                          availability_first=cat == "ot"))
    return zones


def _rule_name(src: str, dst: str, flow: Flow, taken: set[str]) -> str:
    proto = PROTO_NAMES.get(flow.ip_proto, f"p{flow.ip_proto}")
    base = f"{src}_{dst}_{proto}{flow.b_port if flow.ip_proto in (6, 17) else ''}"[:28]
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def propose(devices: list[Device], flows: Iterable[Flow], *, name: str = "proposed",
            site_networks: tuple[str, ...] = ()) -> Policy:
    """Zones from :func:`propose_zones`; for each (source zone, destination zone, protocol, port) seen
    in an initiated flow between zones (or to the internet), one allow rule limited to the hosts that
    were reached (up to :data:`MAX_DEST_HOSTS`). Everything else is denied (OT: logged)."""
    check_name(name, "name")  # before the work: a policy written under a bad name would not load again
    zones = propose_zones(devices)
    policy = Policy(name=name, zones=zones, default="deny", site_networks=list(site_networks),
                    description="proposed from observed flows; review before enforcing")
    members = resolve(policy, devices)
    flows = list(flows)
    strays = sorted({f.a_ip for f in flows if local_ip(f.a_ip, site_networks) and members.zone_of(f.a_ip) is None
                     and not members.by_mac.get(f.a_mac or "")})
    if strays:  # initiators the inventory has no device for: name them so their traffic is ruled too
        zone = policy.zone(UNCLASSIFIED) or Zone(name=UNCLASSIFIED, description="devices without a category")
        if zone not in policy.zones:
            policy.zones.append(zone)
        zone.devices.extend(f"ip:{ip}" for ip in strays)
        members = resolve(policy, devices)
    needs: dict[tuple[str, str, int, int], _Need] = {}
    firsts: dict[tuple[str, str, int, int], Flow] = {}
    for flow in flows:
        v = verdict(policy, members, flow)
        if v.rule == NOT_ROUTED or v.src_zone is None or v.src_zone == v.dst_zone:
            continue
        port = flow.b_port if flow.ip_proto in (6, 17) else 0
        # an internal address no zone holds (a directed broadcast, an unknown host) is ruled by address
        key = (v.src_zone, v.dst_zone or ANY, flow.ip_proto, port)
        if key not in needs and len(needs) >= MAX_GROUPS:
            continue
        need = needs.setdefault(key, _Need())
        firsts.setdefault(key, flow)
        need.flows += 1
        need.packets += flow.packets
        need.bytes += flow.bytes
        need.hosts.add(flow.b_ip)
        need.devices.add(flow.a_ip)
        if len(need.examples) < MAX_EXAMPLES:
            need.examples.append(flow_example(flow))
    taken: set[str] = set()
    for key in sorted(needs):
        src, dst, proto, port = key
        need = needs[key]
        pname = PROTO_NAMES.get(proto)
        if pname is None:
            continue  # other IP protocols stay under the zone default (no service syntax for them)
        service = Service(proto=pname, ports=[str(port)] if port else [])
        hosts = sorted(need.hosts)
        dests = [f"{h}/{128 if ':' in h else 32}" for h in hosts] if len(hosts) <= MAX_DEST_HOSTS else []
        policy.rules.append(Rule(
            name=_rule_name(src, dst, firsts[key], taken), src=src, dst=dst, action="allow", services=[service],
            destinations=dests,
            why={"flows": need.flows, "packets": need.packets, "bytes": need.bytes,
                 "initiators": sorted(need.devices)[:MAX_DEST_HOSTS], "examples": need.examples},
        ))
    return policy


__all__ = ["INTERNET", "UNCLASSIFIED", "propose", "propose_zones"]
