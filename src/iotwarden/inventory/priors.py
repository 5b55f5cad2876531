"""Prior owners: which MAC device held a site address before this run, from the store's address history
(``device_ips``), so that an address a run sees only through a router (nothing in the run proves its
owner) is the device the store knows held it then, not a new ``ip:`` device. A site address's history is
its broadcast domain's (``device_ips.domain``): VLAN 10's holder of 10.0.0.5 says nothing of VLAN 20's
10.0.0.5, and addresses are asked zoned (``10.0.0.5%vlan20``, inventory/addresses.zoned). No I/O: the
services read the rows (:func:`iotwarden.store.addresses.load_tenures`) and hand them over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotwarden.inventory.addresses import private_v4, unzoned
from iotwarden.inventory.gateways import carries_many

# How far from a stored tenure a sighting still counts as the same holder: one day. A DHCP client
# renews its lease at half of it (RFC 2131 §4.4.5) and keeps its address while it does; home routers
# lease for hours (OpenWrt's default 12h, dnsmasq's 1h) and a router's own address is static. A day is
# longer than such a lease, so a client gone that long may have lost its address to another (DHCP
# reuse): past the gap history says nothing, and within it a second holder stored makes it say nothing.
OWNER_GAP_S = 86_400.0
MAX_TENURES = 100_000  # stored (MAC device, address) rows one run reads, the most recently seen first
MAX_TENURES_PER_ADDRESS = 16  # holders kept per address (the most recently seen); older ones are past the gap
MAX_TENURES_PER_MAC = 64  # addresses of one MAC in the history read (as MAX_IPS_PER_MAC a run); past it, a router


@dataclass(frozen=True, slots=True)
class Tenure:
    """MAC ``mac`` held address ``ip`` from ``first_seen`` to ``last_seen`` in broadcast ``domain`` ("" untagged;
    one ``device_ips`` row of a ``mac:`` device)."""

    mac: str
    ip: str
    first_seen: float
    last_seen: float
    domain: str = ""

    @property
    def at(self) -> str:
        """The address within its domain, as the resolver asks for it (``ip%domain``, addresses.zoned)."""
        return f"{self.ip}%{self.domain}" if self.domain else self.ip

    def distance(self, ts: float) -> float:
        """Seconds between ``ts`` and the tenure (0 within it)."""
        if ts < self.first_seen:
            return self.first_seen - ts
        return max(0.0, ts - self.last_seen)

    def overlaps(self, other: Tenure) -> bool:
        return self.first_seen <= other.last_seen and other.first_seen <= self.last_seen


class PriorOwners:
    """The stored tenures of site addresses, and who held an address at a time (:meth:`owner`).

    Bounded: at most :data:`MAX_TENURES` tenures, :data:`MAX_TENURES_PER_ADDRESS` per address (the
    caller hands them most recent first; the rest are counted in ``dropped``); a MAC with more than
    :data:`MAX_TENURES_PER_MAC` is a router's (``crowded``) and holds none.
    """

    def __init__(self, tenures: Iterable[Tenure] = (), *, gap_s: float = OWNER_GAP_S) -> None:
        self.gap_s = gap_s
        self.by_ip: dict[str, list[Tenure]] = {}
        self.by_mac: dict[str, list[Tenure]] = {}
        self.crowded: set[str] = set()
        self.dropped = 0
        kept = 0
        for tenure in tenures:
            held = self.by_ip.setdefault(tenure.at, [])
            if kept >= MAX_TENURES or len(held) >= MAX_TENURES_PER_ADDRESS:
                self.dropped += 1
                continue
            of_mac = self.by_mac.setdefault(tenure.mac, [])
            if len(of_mac) >= MAX_TENURES_PER_MAC:
                self.crowded.add(tenure.mac)
                self.dropped += 1
                continue
            held.append(tenure)
            of_mac.append(tenure)
            kept += 1

    def __len__(self) -> int:
        return sum(len(held) for held in self.by_ip.values())

    def owner(self, ip: str, ts: float) -> str | None:
        """The MAC that held ``ip`` (zoned within its broadcast domain: ``10.0.0.5%vlan10``, Tenure.at) around
        ``ts``, when the history names exactly one.

        A tenure counts when ``ts`` falls within it or within ``gap_s`` of it. None when no MAC held the
        address then (a routed host of another subnet; a holder of long ago, the address maybe leased
        to another since), when two MACs did (DHCP reuse inside the gap: which one is unknown; any MAC
        that held it between the tenure and ``ts`` is one of them), or when the holder carried many
        addresses at that time (a router's MAC, whose routed addresses were stored before it was known
        as one: gateways.carries_many).
        """
        near = [t for t in self.by_ip.get(ip, ()) if t.distance(ts) <= self.gap_s]
        if not near or any(t.mac != near[0].mac for t in near):
            return None
        mac = near[0].mac
        if mac in self.crowded:
            return None
        plain = unzoned(ip)
        held = {t.ip for t in self.by_mac[mac] if any(t.overlaps(n) for n in near)}
        if carries_many(sorted(held - {plain}), private_segment=private_v4(plain)):
            return None
        return mac

    def owner_throughout(self, ip: str, first_seen: float, last_seen: float) -> str | None:
        """The MAC that held ``ip`` all the time from ``first_seen`` to ``last_seen`` (a stored ``ip:``
        device's sightings), by :meth:`owner`'s rule at both ends, when no other MAC held it in between
        or within ``gap_s`` of the span (DHCP reuse inside it: which one is unknown)."""
        mac = self.owner(ip, first_seen)
        if mac is None or self.owner(ip, last_seen) != mac:
            return None
        for t in self.by_ip.get(ip, ()):
            if t.mac != mac and max(0.0, t.first_seen - last_seen, first_seen - t.last_seen) <= self.gap_s:
                return None
        return mac
