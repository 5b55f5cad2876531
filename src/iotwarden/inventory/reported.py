"""Devices a message reports besides its sender (IdentityRule.reports: IHE PCD-01 device rows): which
device each record names, and the facts held for a named MAC until it is seen on the network (also
those of overheard messages, IdentityRule.overheard: 802.11 probe and association requests).
"""

# Placement (inventory/builder.py applies it):
# * a record whose MAC (or identifier) is the sender's own states facts about the sender;
# * a record naming another MAC states facts about the device of that MAC: attached to it when the
#   MAC has been seen, else held here and attached the moment the MAC appears; the sender keeps the
#   record's facts under the rule's ``relayed`` name (it is a gateway for that device);
# * a record with neither a MAC nor the sender's identifier names a device the network does not show
#   (a serial-connected bedside device, a serial number): only the sender's ``relayed`` fact remains.
# A MAC never seen by the end of the run gets no device: the inventory lists what is on the network,
# and a report proves neither that the device is on this segment nor which address it uses (behind
# a router it is an ``ip:`` device that no MAC names). Its held facts are dropped at ``done`` and
# counted in :attr:`PendingFacts.unplaced`; the gateway's ``relayed`` fact stays as the evidence of it.
#
# Overheard facts (IdentityRule.overheard: the WSC device information of 802.11 probe and (re)association
# requests) are held the same way, in their own PendingFacts, for their sender's MAC: every station in
# radio range probes, passers-by and neighbours' clients too, so such a message alone makes no device.
# They join the MAC's device when the run shows the MAC otherwise (data frames, ARP, DHCP, ...) and are
# dropped at ``done`` if it never does. Randomised (locally administered) MACs are treated alike: a
# phone that joins the network with its private MAC is that device for the run, and the MAC it probed
# with, when it differs, never shows up. Their store evicts the least recently heard MAC when full
# (MAX_OVERHEARD), so a crowd of passers-by cannot keep a device that joins later from its facts.

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotwarden.inventory.addresses import usable_mac
from iotwarden.inventory.fieldvalues import MAX_VALUE_LEN
from iotwarden.inventory.identity import ReportRule
from iotwarden.model import Observation

MAX_RECORDS = 64  # reported records read from one message (the dissector keeps 32 device rows)
MAX_PENDING = 4_096  # facts held for MACs not seen yet; further ones are dropped and counted
MAX_OVERHEARD = 4_096  # overheard facts held for MACs not seen yet; past it the least recently heard MAC's go


@dataclass(frozen=True, slots=True)
class Reported:
    """One reported device: its MAC (None when its identifier holds none), whether it is the sender,
    and its facts as (attribute suffix, value)."""

    mac: str | None
    own: bool
    facts: tuple[tuple[str, str], ...]


def reported(rule: ReportRule, fields: dict[str, Any], sender_mac: str | None) -> list[Reported]:
    """The devices ``fields`` reports under ``rule``, sender's own records marked."""
    records = fields.get(rule.records)
    if not isinstance(records, list):
        return []
    own_mac = usable_mac(fields.get(rule.own_mac)) if rule.own_mac else None
    own_id = fields.get(rule.own_identifier) if rule.own_identifier else None
    out: list[Reported] = []
    for record in records[:MAX_RECORDS]:
        if not isinstance(record, dict):
            continue
        facts = tuple((suffix, str(record[key])[:MAX_VALUE_LEN]) for key, suffix in rule.facts
                      if isinstance(record.get(key), str | int) and not isinstance(record.get(key), bool)
                      and str(record[key]))
        if not facts:
            continue
        mac = usable_mac(record.get(rule.mac))
        identifier = record.get(rule.identifier) if rule.identifier else None
        own = ((mac is not None and mac in (sender_mac, own_mac))
               or (isinstance(identifier, str) and bool(identifier) and identifier == own_id))
        out.append(Reported(mac=mac, own=own, facts=facts))
    return out


@dataclass(slots=True)
class PendingFacts:
    """Facts about MACs not seen yet, each with the observation that stated it, at most ``limit`` (None:
    MAX_PENDING). When full, a new fact is dropped; with ``evict_oldest`` the facts of the MAC heard least
    recently are dropped to make room instead (overheard facts: the newest sender is likeliest to join)."""

    by_mac: dict[str, dict[tuple[str, str], Observation]] = field(default_factory=dict)
    held: int = 0
    dropped: int = 0  # facts not held, or evicted, because the limit was reached
    unplaced: int = 0  # facts whose MAC was never seen (dropped at the end of the run)
    limit: int | None = None
    evict_oldest: bool = False

    def hold(self, mac: str, name: str, value: str, obs: Observation) -> None:
        facts = self.by_mac.pop(mac, None) if self.evict_oldest else self.by_mac.get(mac)
        if facts is None:
            facts = {}
        self.by_mac[mac] = facts  # with evict_oldest: moved to the end, the most recently heard
        if (name, value) in facts:
            return
        limit = MAX_PENDING if self.limit is None else self.limit
        while self.evict_oldest and self.held >= limit and len(self.by_mac) > 1:
            oldest = next(iter(self.by_mac))
            gone = len(self.by_mac.pop(oldest))
            self.held -= gone
            self.dropped += gone
        if self.held >= limit:
            self.dropped += 1
            if not facts:
                del self.by_mac[mac]
            return
        facts[(name, value)] = obs
        self.held += 1

    def take(self, mac: str) -> list[tuple[str, str, Observation]]:
        """The facts held for ``mac`` (now seen), removed from the store."""
        facts = self.by_mac.pop(mac, {})
        self.held -= len(facts)
        return [(name, value, obs) for (name, value), obs in facts.items()]

    def settle(self) -> int:
        """End of the run: the facts still held name MACs never seen; drop and count them."""
        left = self.held
        self.unplaced += left
        self.by_mac.clear()
        self.held = 0
        return left
