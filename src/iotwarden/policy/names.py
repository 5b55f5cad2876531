"""The IP -> name map that domain rules are judged and rendered with, built from the DNS answers seen in
the same captures (A/AAAA records, CNAME chains followed back to the name asked), and the addon that
collects it while captures run through the engine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.policy.model import Policy

MAX_ADDRESSES = 200_000  # addresses mapped to names; answers for further addresses are counted, not kept
MAX_NAMES_PER_ADDRESS = 32  # names one address keeps (CDN addresses serve many); the rest are counted
MAX_CNAME_DEPTH = 8  # CNAME links followed from an address record back to the name asked (RFC 1034 §3.6.2)
ADDRESS_TYPES = ("A", "AAAA")  # RFC 1035 §3.4.1, RFC 3596 §2.1


def domain_matches(pattern: str, name: str) -> bool:
    """A rule's domain against a name: exact, or ``*.example.com`` for any name below example.com."""
    return name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:]))


@dataclass(slots=True)
class NameMap:
    """Address -> the names DNS said it has (lower case, no trailing dot), bounded by the limits above."""

    names: dict[str, set[str]] = field(default_factory=dict)
    dropped: int = 0  # (address, name) pairs not kept because of a limit

    def add(self, ip: str, name: str) -> None:
        try:
            addr = str(ipaddress.ip_address(ip))
        except ValueError:
            return
        name = name.lower().rstrip(".")
        known = self.names.get(addr)
        if known is None:
            if len(self.names) >= MAX_ADDRESSES:
                self.dropped += 1
                return
            known = self.names[addr] = set()
        if name in known:
            return
        if len(known) >= MAX_NAMES_PER_ADDRESS:
            self.dropped += 1
            return
        known.add(name)

    def add_answers(self, answers: Any) -> None:
        """The answer section of one DNS response (the DNS dissector's ``answers``: name/type/data)."""
        if not isinstance(answers, list):
            return
        records = [a for a in answers if isinstance(a, dict) and isinstance(a.get("name"), str)]
        alias_of = {str(a["data"]).lower().rstrip("."): a["name"].lower().rstrip(".")
                    for a in records if a.get("type") == "CNAME" and isinstance(a.get("data"), str)}
        for rec in records:
            if rec.get("type") not in ADDRESS_TYPES or not isinstance(rec.get("data"), str):
                continue
            name, seen = rec["name"].lower().rstrip("."), set()
            for _ in range(MAX_CNAME_DEPTH + 1):  # the address answers for every name of the chain
                self.add(rec["data"], name)
                seen.add(name)
                if alias_of.get(name) in seen | {None}:  # end of the chain, or a CNAME loop
                    break
                name = alias_of[name]

    def resolve(self, domains: Iterable[str]) -> dict[str, list[str]]:
        """Domain (as a rule writes it) -> the addresses whose names it matches, for nftables sets."""
        wanted = list(dict.fromkeys(domains))
        out: dict[str, list[str]] = {d: [] for d in wanted}
        for ip, names in sorted(self.names.items()):
            for d in wanted:
                if any(domain_matches(d, n) for n in names):
                    out[d].append(ip)
        return out

    def for_policy(self, policy: Policy) -> dict[str, list[str]]:
        """:meth:`resolve` for every domain destination of ``policy``'s rules."""
        return self.resolve(d for rule in policy.rules for d in rule.domains)

    def as_mapping(self) -> Mapping[str, Iterable[str]]:
        return self.names


class DnsNames:
    """Analyzer: feeds every DNS response's answers into a :class:`NameMap`."""

    name = "policy.dns_names"
    observes: ClassVar[frozenset[str]] = frozenset({"dns"})

    def __init__(self, names: NameMap) -> None:
        self.names = names

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto == "dns" and obs.kind == "response":
            self.names.add_answers(obs.fields.get("answers"))
