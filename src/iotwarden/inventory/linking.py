"""Interface linking: which MAC addresses are interfaces of one device (randomised MACs that
re-randomise, devices with several interfaces), decided from identity facts the MACs share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

MAX_LINK_FACTS = 200_000  # (attribute, value) -> first MAC table entries; further facts link nothing
MAX_LINKED_MACS = 100_000  # MACs folded into another one; further links are dropped and counted
MAX_INTERFACES = 16  # MACs one device may gather; past it a shared fact is no longer believed unique
MAX_CANDIDATES = 10_000  # randomised-MAC pairs sharing a name, waiting for the end of input to be judged

# Facts unique to one device whatever its MACs: a device holding the same one on two MACs is one
# device with two interfaces (or one interface that changed its MAC).
UNIQUE_FACTS = frozenset({
    "dhcp.client_id",  # RFC 2132 §9.14 / RFC 4361 §6.1: "unique ... within the subnet"; MAC-derived ids excluded
    "dhcp.fqdn",  # RFC 4702 §3: the client's fully qualified name, unique in the DNS
    "enip.serial",  # CIP Vol 1 §5-2.2.1.7 Identity object serial number (unique per vendor)
    "s7comm.serial_number",  # SZL 0x0011/0x001C serial number of the module
    "sadp.device_sn",  # Hikvision's full serial (model, date, label serial): a dual-NIC NVR answers on both
    "pppp.did",  # the CS2/iLnkP2P device UID its P2P servers know it by, in its own clear login (pppp.fdesc)
    "tuya.gw_id",  # the Tuya device id (devId) a device announces itself with (tinytuya's scanner keys by it)
})
# Names a host picks (RFC 2132 §12 host name, RFC 6762 mDNS .local name): default names repeat
# across identical devices ("HIKVISION", "espressif"), so they link only randomised (locally
# administered, IEEE 802 §8.2 U/L bit) MACs whose sightings do not overlap: one device that
# re-randomised, not two devices using one default name at the same time. Overlap is judged on the
# whole run (:meth:`InterfaceLinker.settle`), since at the moment a name repeats the old MAC may
# merely be quiet.
RANDOMISED_ONLY_FACTS = frozenset({"dhcp.hostname", "mdns.hostnames"})
LINK_FACTS = UNIQUE_FACTS | RANDOMISED_ONLY_FACTS

Span = Callable[[str], tuple[float, float] | None]  # a MAC's first and last sighting


def randomised(mac: str) -> bool:
    """True for a locally administered MAC (IEEE 802 §8.2: U/L bit, 0x02 of the first octet)."""
    try:
        return bool(int(mac[:2], 16) & 0x02)
    except ValueError:
        return False


def derived_from(value: str, mac: str) -> bool:
    """True when a client identifier is the hardware address itself (type 1 + MAC, RFC 2132 §9.14)."""
    return value.lower().endswith(mac.lower())


@dataclass(slots=True)
class InterfaceLinker:
    """Remembers which MAC first held each identifying fact, and folds later MACs into it.

    ``canonical(mac)`` is the MAC that names the device (the first one seen with the fact); the
    builder keys devices by it and records the others as the device's interfaces.
    """

    first_holder: dict[tuple[str, str], str] = field(default_factory=dict)
    alias: dict[str, str] = field(default_factory=dict)  # mac -> the root MAC it was folded into
    groups: dict[str, set[str]] = field(default_factory=dict)  # root -> every MAC of it (linked roots only)
    candidates: dict[tuple[str, str], None] = field(default_factory=dict)  # (first holder, later MAC), in order
    dropped: int = 0

    def canonical(self, mac: str) -> str:
        return self.alias.get(mac, mac)

    def interfaces(self, root: str) -> list[str]:
        return sorted(self.groups.get(root, {root}))

    def offer(self, name: str, value: str, mac: str, span: Span) -> str | None:
        """``mac`` holds fact ``name`` = ``value``; returns the root it must be folded into now, if any.

        A :data:`RANDOMISED_ONLY_FACTS` match between two randomised MACs is kept as a candidate
        for :meth:`settle`.
        """
        if name not in LINK_FACTS or not value:
            return None
        if name == "dhcp.client_id" and derived_from(value, mac):
            return None
        fact = (name, value.lower().rstrip("."))
        holder = self.first_holder.get(fact)
        if holder is None:
            if len(self.first_holder) < MAX_LINK_FACTS:
                self.first_holder[fact] = mac
            else:
                self.dropped += 1
            return None
        root, mine = self.canonical(holder), self.canonical(mac)
        if root == mine:
            return None
        if name in RANDOMISED_ONLY_FACTS:
            if randomised(holder) and randomised(mac):
                if len(self.candidates) < MAX_CANDIDATES:
                    self.candidates[(holder, mac)] = None
                else:
                    self.dropped += 1
            return None
        return self._fold(mine, root)

    def settle(self, span: Span) -> list[str]:
        """At the end of input: fold the candidates whose MACs were never seen at the same time
        (``span(mac)``: a MAC's first and last sighting); returns the roots that gained MACs."""
        roots = []
        for old, new in self.candidates:
            root, mine = self.canonical(old), self.canonical(new)
            if root != mine and self._rerandomised(old, new, span) and self._fold(mine, root) is not None:
                roots.append(root)
        self.candidates.clear()
        return roots

    def _fold(self, mine: str, root: str) -> str | None:
        moving = self.groups.pop(mine, {mine})
        group = self.groups.get(root, {root})
        if len(group) + len(moving) > MAX_INTERFACES or len(self.alias) + len(moving) > MAX_LINKED_MACS:
            if len(moving) > 1:
                self.groups[mine] = moving
            self.dropped += 1
            return None
        for mac in moving:  # every alias points at its root: canonical() is one lookup
            self.alias[mac] = root
        self.groups[root] = group | moving
        return root

    @staticmethod
    def _rerandomised(old: str, new: str, span: Span) -> bool:
        a, b = span(old), span(new)
        if a is None or b is None:
            return False
        return a[1] <= b[0] or b[1] <= a[0]  # one stopped before the other began
