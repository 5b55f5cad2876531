"""Which IP device a KNX individual address or a KNXnet/IP routing group belongs to, from what KNX IP devices announce
of themselves; shared by detect/ot.py (its alerts) and the risk.ot.* and risk.knx.unsecured checks (their findings),
so a KNX operation routed to the multicast group names the same device in both.

A KNXnet/IP server announces its own KNX individual address in the DEVICE_INFO DIB of its SEARCH and DESCRIPTION
responses (KNX 03.08.02 §7.5.4.2; dissect/knxip.py ``individual_address``), its routing multicast address in the same
DIB and the service families it supports in SUPP_SVC_FAMILIES (§7.5.4.3; family 0x05 routing, ``service_families``):
:class:`KnxDevices` remembers which IP device holds which address and which devices take part in routing, for which
group (:data:`MAX_KNX_DEVICES` of each, least recently announced dropped).

An operation's target (:meth:`KnxDevices.target`) is, in this order: the IP device holding the frame's destination
address (``own``: a KNX IP router or interface reconfigured, wherever the frame entered); the unicast receiver of the
frame, the KNXnet/IP interface or router a tunnel or device-management connection reached it through (``interface``;
03.08.04, 03.08.03); for a frame routed to the multicast group (03.08.05 §2.5: every KNX IP router of the group
receives it), the KNX IP router that couples the destination's line, the one that forwards it there (``coupler``: a
line coupler's individual address is its line's device 0, area.line.0, KNX Association "KNX Basics": couplers have
device number 0); else none is known (``none``).

An individual address should be unique on the installation, but one announced by several KNX IP devices is not
rare: every unprogrammed device holds the factory default 15.15.255 (0xFFFF) until ETS writes its address (KNX
03.05.02 §2.3, individual address programming; the Freebus firmware's EEPROM default 0xFFFF alike), and software
takes defaults too (xknx, Home Assistant's KNX library, uses 15.15.250 for itself), so a site commissioning two
devices at once, or a device copied into a project twice, announces one address from two IP devices.
A frame for it reaches every holder (a KNX device accepts what is addressed to its individual address), so it is
attributed to no single one of them, neither ``own`` nor ``coupler``: the frame's unicast receiver still is its
``interface``; otherwise the target is ``ambiguous``, naming every announcer (:attr:`KnxTarget.announcers`) and
choosing none, so no device is blamed for an operation that may have been for another (attributing it to all would
put an alert or finding on each, of which at most one is meant). A device that announces a new address (ETS
programmed it) leaves its old one. At most :data:`MAX_ANNOUNCERS` announcers are kept per address (least recently
announced dropped).

Announcements are kept per broadcast domain (Observation.domain: a VLAN or VNI, "" untagged; issues #3/#4), as the
inventory keys hosts (inventory/addresses.zoned) and risk/subjects.py resolves them: a SEARCH answer reaches only its
own domain and routing multicast stays in it, so on a trunk two VLANs' identical installations (the same KNX IP
addresses, individual addresses and routing group) are two: a frame's target and a group's routing members are
looked up in the frame's domain only. Untagged traffic is one domain, as before.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from iotwarden.model import Observation

MAX_KNX_DEVICES = 4096  # KNX individual addresses of IP devices remembered (LRU), and as many routing participants
MAX_ANNOUNCERS = 16  # IP devices remembered per individual address (LRU): more than one makes it ambiguous
DEFAULT_ADDRESS = "15.15.255"  # an unprogrammed KNX device's individual address (0xFFFF; module docstring)
ANNOUNCING = frozenset({"search_response", "search_response_ext", "description_response"})  # carry DEVICE_INFO
ROUTING_GROUP = "224.0.23.12"  # the KNXnet/IP routing multicast address (IANA, KNX 03.08.05 §2.5)
K = TypeVar("K")
V = TypeVar("V")
Device = tuple[str | None, str | None]  # an IP device: (ip, mac)
Held = tuple[str, str | None, str | None]  # an IP device within its broadcast domain: (domain, ip, mac)
# DEVICE_INFO's routing multicast address of a device that does not route (03.08.02 §7.5.4.2); no socket binds it
UNSET_GROUP = "0.0.0.0"  # noqa: S104


@dataclass(frozen=True)
class KnxTarget:
    """The cEMI destination of an operation (an individual address "1.1.5", a group "0/0/0"; None for a device
    management message, which is for the interface itself), the IP device it is about (ip, mac; both None when none
    is known) and how that device was found (``own``, ``interface``, ``coupler``, ``ambiguous``, ``none``: module
    docstring)."""

    destination: str | None
    ip: str | None
    mac: str | None
    found: str
    announcers: tuple[Device, ...] = ()  # ``ambiguous``: the IP devices announcing the address, none chosen

    def describe(self) -> str:
        """How an alert's title names the target."""
        if self.destination is None:
            return f"KNXnet/IP device {self.ip or self.mac}" if self.ip or self.mac else "KNXnet/IP device"
        knx = f"KNX device {self.destination}" if "." in self.destination else f"KNX group {self.destination}"
        if self.found == "ambiguous":
            default = ", the factory default of unprogrammed devices" if self.destination == DEFAULT_ADDRESS else ""
            return (f"{knx} (announced by {len(self.announcers)} KNX IP devices{default}: "
                    f"{', '.join(self.names())})")
        if self.found == "own":
            return f"{knx} ({self.ip or self.mac})"
        if self.found in ("interface", "coupler"):
            return f"{knx} through {self.ip or self.mac}"
        return f"{knx} (routed to the multicast group; no IP device known for it)"

    def names(self) -> list[str]:
        """The announcers of an ``ambiguous`` target, each by its IP address, else its MAC."""
        return [ip or mac or "" for ip, mac in self.announcers]


def unicast(ip: str | None) -> bool:
    """True for an address one host holds (not multicast, not the limited broadcast)."""
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not (address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"))


def _coupler(address: str) -> str | None:
    """The individual address of the line coupler of ``address``'s line (area.line.0), None for a coupler."""
    parts = address.split(".")
    return None if len(parts) != 3 or parts[2] == "0" else f"{parts[0]}.{parts[1]}.0"


class KnxDevices:
    """KNX individual address -> the IP devices (ip, mac) that announced it in a DEVICE_INFO DIB (one, or several:
    ambiguous), and the IP devices announcing the routing family -> their routing multicast group (all bounded)."""

    def __init__(self, limit: int = MAX_KNX_DEVICES, announcers: int = MAX_ANNOUNCERS) -> None:
        # (domain, individual address) -> its announcers; each device's last announced address; its routing group
        self._devices: OrderedDict[tuple[str, str], OrderedDict[Held, None]] = OrderedDict()
        self._addresses: OrderedDict[Held, str] = OrderedDict()
        self._routing: OrderedDict[Held, str] = OrderedDict()
        self._limit, self._announcers = limit, announcers

    def __len__(self) -> int:
        return len(self._devices)

    def see(self, obs: Observation) -> None:
        """Remember what a KNXnet/IP server's SEARCH or DESCRIPTION response announces of itself."""
        if obs.kind not in ANNOUNCING or not (obs.src_ip or obs.src_mac):
            return
        f, device = obs.fields, (obs.domain, obs.src_ip, obs.src_mac)
        address = f.get("individual_address")
        if isinstance(address, str):
            self._announce(address, device)
        families = f.get("service_families")
        if isinstance(families, list) and "routing" in families:
            group = f.get("multicast_address")
            group = group if isinstance(group, str) and group != UNSET_GROUP else ROUTING_GROUP
            _remember(self._routing, device, group, self._limit)

    def _announce(self, address: str, device: Held) -> None:
        domain = device[0]
        previous = self._addresses.get(device)
        if previous is not None and previous != address:  # reprogrammed: it no longer holds its old address
            left = self._devices.get((domain, previous))
            if left is not None:
                left.pop(device, None)
                if not left:
                    del self._devices[(domain, previous)]
        _remember(self._addresses, device, address, self._limit)
        holders = self._devices.get((domain, address))
        if holders is None:
            holders = OrderedDict()
        _remember(holders, device, None, self._announcers)
        _remember(self._devices, (domain, address), holders, self._limit)

    def announcers(self, address: str, domain: str = "") -> list[Device]:
        """The IP devices that announced ``address`` in broadcast ``domain`` ("" untagged), least recently announced
        first (several: ambiguous)."""
        return [(ip, mac) for _, ip, mac in self._devices.get((domain, address)) or ()]

    def target(self, obs: Observation) -> KnxTarget:
        """The target of a KNX operation a client sent, among the devices of its broadcast domain (module
        docstring)."""
        f = obs.fields
        destination = f.get("destination") if isinstance(f.get("destination"), str) else None
        address = destination if f.get("destination_type") == "individual" else None
        held = self.announcers(address, obs.domain) if address is not None else []
        if len(held) == 1:
            return KnxTarget(destination, *held[0], "own")
        if unicast(obs.dst_ip):
            return KnxTarget(destination, obs.dst_ip, obs.dst_mac, "interface")
        if held:
            return KnxTarget(destination, None, None, "ambiguous", tuple(held))
        coupler = _coupler(address) if address is not None else None
        couplers = self.announcers(coupler, obs.domain) if coupler is not None else []
        if len(couplers) == 1:
            return KnxTarget(destination, *couplers[0], "coupler")
        if couplers:
            return KnxTarget(destination, None, None, "ambiguous", tuple(couplers))
        return KnxTarget(destination, None, None, "none")

    def routing_members(self, group: str | None, domain: str = "") -> list[Device]:
        """(ip, mac) of the IP devices of broadcast ``domain`` ("" untagged) that announced the routing family for
        ``group`` (they receive what is routed to it there: 03.08.05 §2.5), in the order they were last announced."""
        return [(ip, mac) for (seen_in, ip, mac), joined in self._routing.items()
                if joined == group and seen_in == domain]


def _remember(table: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    table[key] = value
    table.move_to_end(key)
    if len(table) > limit:
        table.popitem(last=False)
