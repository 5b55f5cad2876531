"""Build a MUD profile (RFC 8520) from a device's observed flows, the way mudgee does from a capture.

Each flow becomes one ACE for its initiating packet and one for its return traffic. Peers are named
by the DNS name that resolved to them when one did (§9: names survive address changes), by
``local-networks`` when they are on the site (§8), else by their /32 or /128 address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from iotwarden.errors import PolicyError
from iotwarden.model import Flow
from iotwarden.policy.mud.check import SYN, Checker, is_local
from iotwarden.policy.mud.model import Ace, Acl, L3Match, L4Match, Matches, MudMatch, MudProfile, PortMatch
from iotwarden.policy.mud.traffic import DnsTable

MAX_ACES = 2_000  # ACEs per generated ACL; a device needing more is not well described by MUD
CACHE_VALIDITY = 48  # hours written to generated profiles (RFC 8520 §3.6 default)
L4 = {6: "tcp", 17: "udp"}
PLACEHOLDER_AUTHORITY = "mud.iotwarden.invalid"  # RFC 6761 §6.4: a name that never resolves


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "device"


# An ACE shape: (direction, version, proto, peer kind, peer value, peer port, device port, initiated)
Rule = tuple[str, int, int, str, str, int | None, int | None, str | None]


def _peer(ip: str, dns: DnsTable, names: dict[str, str | None]) -> tuple[str, str]:
    if is_local(ip):
        return "local", ""
    if ip not in names:
        found = dns.names_for(ip)
        names[ip] = found[0] if found else None
    name = names[ip]
    return ("dns", name) if name else ("net", ip)


def _rules(flow: Flow, end: str, dns: DnsTable, names: dict[str, str | None]) -> list[Rule]:
    """The ACE shapes that accept ``flow`` (device at ``end``): its first packet and its reply."""
    dev_port, peer_port = (flow.a_port, flow.b_port) if end == "a" else (flow.b_port, flow.a_port)
    peer_ip = flow.b_ip if end == "a" else flow.a_ip
    version = 6 if ":" in peer_ip else 4
    kind, value = _peer(peer_ip, dns, names)
    proto = flow.ip_proto
    if proto not in L4:
        return [("from-device", version, proto, kind, value, None, None, None),
                ("to-device", version, proto, kind, value, None, None, None)]
    opened = end == "a"
    if proto == 6 and not flow.tcp_flags_ab & SYN and dev_port != peer_port:
        opened = dev_port > peer_port  # seen from its middle: the lower port is the service's
    init = ("from-device" if opened else "to-device") if proto == 6 else None
    if opened:  # the device opened it: the peer's service port is the stable one
        return [("from-device", version, proto, kind, value, peer_port, None, init),
                ("to-device", version, proto, kind, value, peer_port, None, None)]
    return [("to-device", version, proto, kind, value, None, dev_port, init),
            ("from-device", version, proto, kind, value, None, dev_port, None)]


def _ace(name: str, rule: Rule) -> Ace:
    direction, version, proto, kind, value, peer_port, dev_port, init = rule
    outbound = direction == "from-device"
    l3 = L3Match(version, protocol=proto)
    if kind == "dns":
        l3.dst_dnsname, l3.src_dnsname = (value, None) if outbound else (None, value)
    elif kind == "net":
        prefix = f"{value}/{128 if version == 6 else 32}"
        l3.dst_network, l3.src_network = (prefix, None) if outbound else (None, prefix)
    l4 = None
    if proto in L4:
        l4 = L4Match(L4[proto], direction=init)  # §6, on the initiating packet's ACE only
        peer = PortMatch("eq", peer_port) if peer_port is not None else None
        dev = PortMatch("eq", dev_port) if dev_port is not None else None
        l4.dst_port, l4.src_port = (peer, dev) if outbound else (dev, peer)
    mud = MudMatch(local_networks=True) if kind == "local" else None
    return Ace(name, Matches(l3, l4, mud), "accept")


def generate(flows: Iterable[Flow], *, name: str, mac: str | None = None, ips: Iterable[str] = (),
             dns: DnsTable | None = None, mud_url: str | None = None, mfg_name: str | None = None,
             model_name: str | None = None, now: datetime | None = None) -> MudProfile:
    """The profile that accepts exactly the kinds of flows the device (``mac``/``ips``) had.
    Raises PolicyError when an ACL would pass MAX_ACES."""
    dns = dns or DnsTable()
    tag = slug(name)
    owner = Checker(MudProfile("", ""), mac=mac, ips=ips)  # only its owns() is used
    names: dict[str, str | None] = {}
    seen: dict[Rule, None] = {}
    for flow in sorted(flows, key=lambda f: f.first_seen):
        end = owner.owns(flow)
        if end is None:
            continue
        for rule in _rules(flow, end, dns, names):
            seen.setdefault(rule, None)
    acls: dict[tuple[str, int], Acl] = {}
    for rule in seen:
        direction, version = rule[0], rule[1]
        key = (direction, version)
        if key not in acls:
            acls[key] = Acl(f"{direction.split('-')[0]}-ipv{version}-{tag}", f"ipv{version}-acl-type")
        acl = acls[key]
        if len(acl.aces) >= MAX_ACES:
            raise PolicyError(f"{name}: more than {MAX_ACES} distinct rules in {acl.name}; MUD cannot describe it")
        acl.aces.append(_ace(f"{acl.name}-{len(acl.aces)}", rule))
    ordered = [acls[k] for k in sorted(acls, key=lambda k: (k[0] != "from-device", k[1]))]
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return MudProfile(
        mud_url=mud_url or f"https://{PLACEHOLDER_AUTHORITY}/{tag}.json", last_update=stamp,
        is_supported=True, cache_validity=CACHE_VALIDITY, systeminfo=name[:60], mfg_name=mfg_name,
        model_name=model_name,
        from_device=[a.name for a in ordered if a.name.startswith("from-")],
        to_device=[a.name for a in ordered if a.name.startswith("to-")], acls=ordered)
