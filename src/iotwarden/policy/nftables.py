"""Enforcement rendering: a policy and its resolved zone members as one nftables ``inet`` table (named
sets per zone, verdict maps host -> zone chain, per-zone chains with counters, log prefixes, a default
per zone), and :func:`apply`, which loads it with ``nft -f`` (inside a network namespace for tests).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence

from iotwarden.errors import PolicyError
from iotwarden.inventory.addresses import LOCAL_NETWORKS
from iotwarden.policy.match import Membership
from iotwarden.policy.model import ANY, INTERNET, Action, Policy, Rule, Zone

TABLE = "iotwarden"
LOG_PREFIX = "iotwarden"  # log prefixes read "iotwarden <rule> " (nft log prefix: at most 127 bytes)
APPLY_TIMEOUT_S = 30.0  # nft -f of one ruleset
VERDICTS: dict[Action, str] = {"allow": "accept", "deny": "drop", "log": "accept"}
FAMILIES = (("ip", "v4", "ipv4_addr"), ("ip6", "v6", "ipv6_addr"))
# destinations never routed: multicast (RFC 5771, RFC 4291 §2.7), limited broadcast (RFC 919)
NOT_ROUTED = {"v4": "224.0.0.0/4, 255.255.255.255", "v6": "ff00::/8, fe80::/10"}


def _elements(items: Sequence[str]) -> str:
    return f" elements = {{ {', '.join(items)} }};" if items else ""


def _set(name: str, kind: str, items: Sequence[str]) -> str:
    flags = " flags interval; auto-merge;" if kind != "ether_addr" else ""
    return f"\tset {name} {{ type {kind};{flags}{_elements(items)} }}"


def _action(action: Action, label: str) -> str:
    log = f' log prefix "{LOG_PREFIX} {label} "' if action == "log" else ""
    return f'counter{log} {VERDICTS[action]} comment "{label}"'


def _services(rule: Rule) -> list[str]:
    """One match expression per service (an empty one for 'every service')."""
    if not rule.services:
        return [""]
    out = []
    for svc in rule.services:
        if svc.proto == "any":
            out.append("")
        elif svc.ports:
            ports = ", ".join(svc.ports)
            out.append(f"meta l4proto {svc.proto} th dport {{ {ports} }} ")
        else:
            out.append(f"meta l4proto {svc.proto} ")
    return list(dict.fromkeys(out))


def _zone_sets(zone: Zone, members: Membership) -> dict[str, list[str]]:
    v4, v6, macs = members.addresses(zone.name)
    return {"v4": v4, "v6": v6, "mac": macs}


def _rule_lines(policy: Policy, rule: Rule, sets: Mapping[str, Mapping[str, list[str]]],
                dests: Mapping[str, Mapping[str, list[str]]]) -> list[str]:
    lines: list[str] = []
    for fam, suffix, _ in FAMILIES:
        conds = []
        if rule.dst == INTERNET:
            conds.append(f"{fam} daddr != @site_{suffix} ")
        elif rule.dst != ANY:
            if not sets[rule.dst][suffix]:
                continue  # the zone has no address of this family: nothing can match
            conds.append(f"{fam} daddr @z_{rule.dst}_{suffix} ")
        targets = [""]
        if rule.destinations:  # CIDRs in r_<rule>, resolved domain addresses in d_<rule>: one line each
            targets = [f"{fam} daddr @{kind}_{rule.name}_{suffix} " for kind in ("r", "d")
                       if dests[f"{kind}_{rule.name}"][suffix]]
        lines.extend(f"\t\t{''.join(conds)}{target}{svc}{_action(rule.action, rule.name)}"
                     for target in targets for svc in _services(rule))
    return lines


def isolation_rules(v4: str, v6: str, mac: str | None, label: str, *, outbound: bool) -> list[str]:
    """The rules that isolate the members of three named sets (IPv4, IPv6, MAC): nothing reaches them,
    and with ``outbound`` they reach nothing either. The segmentation ruleset (isolated zones, whose
    outbound traffic their zone chain decides) and the standalone quarantine table both use these."""
    drop = _action("deny", label)
    out = [f"ip daddr @{v4} {drop}", f"ip6 daddr @{v6} {drop}"]
    if outbound:
        out = [*([f"ether saddr @{mac} {drop}"] if mac else []), f"ip saddr @{v4} {drop}", out[0],
               f"ip6 saddr @{v6} {drop}", out[1]]
    return out


def render(policy: Policy, members: Membership, resolved: Mapping[str, Sequence[str]] | None = None) -> str:
    """The ruleset text. ``resolved`` maps a rule's domain names to addresses (nftables matches
    addresses only; :meth:`iotwarden.policy.names.NameMap.for_policy` builds it from DNS answers); they
    fill the rule's ``d_<rule>_v4/v6`` sets, a domain with no addresses matches nothing. Loading it
    replaces the table atomically (``nft -f`` runs the file as one transaction)."""
    resolved = resolved or {}
    out = [f"# iotwarden policy {policy.name}: generated, do not edit (iotwarden policy render)",
           f"table inet {TABLE}", f"delete table inet {TABLE}", f"table inet {TABLE} {{"]
    site = {"v4": [str(n) for n in LOCAL_NETWORKS if n.version == 4], "v6": [str(n) for n in LOCAL_NETWORKS
                                                                            if n.version == 6]}
    for cidr in policy.site_networks:
        site["v6" if ":" in cidr else "v4"].append(cidr)
    for _, suffix, kind in FAMILIES:
        out.append(_set(f"site_{suffix}", kind, site[suffix]))
    sets = {z.name: _zone_sets(z, members) for z in policy.zones}
    for zone in policy.zones:
        for _, suffix, kind in FAMILIES:
            out.append(_set(f"z_{zone.name}_{suffix}", kind, sets[zone.name][suffix]))
        out.append(_set(f"z_{zone.name}_mac", "ether_addr", sets[zone.name]["mac"]))
    dests: dict[str, dict[str, list[str]]] = {}
    for rule in policy.rules:
        if not rule.destinations:
            continue
        named = [a for d in rule.domains for a in resolved.get(d, ())]
        for kind, addrs in (("r", rule.cidrs), ("d", named)):
            dests[f"{kind}_{rule.name}"] = {"v4": sorted({a for a in addrs if ":" not in a}),
                                            "v6": sorted({a for a in addrs if ":" in a})}
        if rule.domains:
            out.append(f"\t# d_{rule.name}_*: addresses of {', '.join(rule.domains[:4])}"
                       f"{' ...' if len(rule.domains) > 4 else ''} from DNS answers at render time; names move, "
                       "so refresh them (render and load again)")
        for kind in ("r", "d"):
            for _, suffix, family in FAMILIES:
                out.append(_set(f"{kind}_{rule.name}_{suffix}", family, dests[f"{kind}_{rule.name}"][suffix]))
    for _, suffix, kind in FAMILIES:
        hosts = sorted((ip, z) for ip, z in members.by_ip.items() if (":" in ip) == (suffix == "v6"))
        out.append(f"\tmap zone_{suffix} {{ type {kind} : verdict;"
                   f"{_elements([f'{ip} : jump from_{z}' for ip, z in hosts])} }}")
    out += ["\tchain forward {", "\t\ttype filter hook forward priority filter; policy drop;",
            "\t\tct state established,related counter accept", "\t\tct state invalid counter drop",
            f"\t\tip daddr {{ {NOT_ROUTED['v4']} }} counter accept",
            f"\t\tip6 daddr {{ {NOT_ROUTED['v6']} }} counter accept"]
    for zone in policy.zones:
        if zone.isolated:
            out += [f"\t\t{line}" for line in isolation_rules(f"z_{zone.name}_v4", f"z_{zone.name}_v6", None,
                                                               f"{zone.name}.isolated", outbound=False)]
    out += ["\t\tip saddr vmap @zone_v4", "\t\tip6 saddr vmap @zone_v6"]
    for zone in policy.zones:
        for fam, suffix, _ in FAMILIES:
            if any("/" in a for a in sets[zone.name][suffix]):
                out.append(f"\t\t{fam} saddr @z_{zone.name}_{suffix} jump from_{zone.name}")
    out += [f"\t\tether saddr @z_{z.name}_mac jump from_{z.name}" for z in policy.zones if sets[z.name]["mac"]]
    out += ["\t\tjump from_unzoned", "\t}"]
    chains: list[Zone | None] = [*policy.zones, None]  # None: the chain of unzoned sources
    for src_zone in chains:
        name = src_zone.name if src_zone else "unzoned"
        out.append(f"\tchain from_{name} {{")
        if src_zone is not None:
            out += [f"\t\t{fam} daddr @z_{name}_{suffix} {_action(src_zone.intra, f'{name}.intra')}"
                    for fam, suffix, _ in FAMILIES if sets[name][suffix]]
        for rule in policy.rules:
            if rule.src == name or (rule.src == ANY and not (src_zone is not None and src_zone.isolated)):
                out += _rule_lines(policy, rule, sets, dests)
        default = src_zone.effective_default(policy.default) if src_zone else policy.default
        out += [f"\t\t{_action(default, f'{name}.default' if src_zone else 'default')}", "\t}"]
    out.append("}")
    return "\n".join(out) + "\n"


def apply(ruleset: str, *, netns: str | None, confirm: bool = False, nft: str | None = None) -> None:
    """Load ``ruleset`` with ``nft -f -``, inside network namespace ``netns`` (``ip netns exec``); on
    the host's own namespace only with ``confirm`` (it replaces the table that filters forwarding)."""
    if netns is None and not confirm:
        raise PolicyError("refusing to load a ruleset into this host's own network namespace without confirmation")
    binary = nft or shutil.which("nft")
    if binary is None:
        raise PolicyError("nft not found (install the nftables package)")
    argv = [binary, "-f", "-"]
    if netns is not None:
        ip = shutil.which("ip") or "ip"
        argv = [ip, "netns", "exec", netns, *argv]
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell; the netns name is one argument
            argv, input=ruleset, capture_output=True, text=True, timeout=APPLY_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PolicyError(f"nft -f failed: {exc}") from exc
    if done.returncode != 0:
        first = (done.stderr or done.stdout).strip().splitlines()
        raise PolicyError(f"nft -f refused the ruleset: {' | '.join(first[:3]) or done.returncode}")
