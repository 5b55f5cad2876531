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
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from iotwarden.model import Observation

MAX_KNX_DEVICES = 4096  # KNX individual addresses of IP devices remembered (LRU), and as many routing participants
ANNOUNCING = frozenset({"search_response", "search_response_ext", "description_response"})  # carry DEVICE_INFO
ROUTING_GROUP = "224.0.23.12"  # the KNXnet/IP routing multicast address (IANA, KNX 03.08.05 §2.5)
K = TypeVar("K")
V = TypeVar("V")
# DEVICE_INFO's routing multicast address of a device that does not route (03.08.02 §7.5.4.2); no socket binds it
UNSET_GROUP = "0.0.0.0"  # noqa: S104


@dataclass(frozen=True)
class KnxTarget:
    """The cEMI destination of an operation (an individual address "1.1.5", a group "0/0/0"; None for a device
    management message, which is for the interface itself), the IP device it is about (ip, mac; both None when none
    is known) and how that device was found (``own``, ``interface``, ``coupler``, ``none``: module docstring)."""

    destination: str | None
    ip: str | None
    mac: str | None
    found: str

    def describe(self) -> str:
        """How an alert's title names the target."""
        if self.destination is None:
            return f"KNXnet/IP device {self.ip or self.mac}" if self.ip or self.mac else "KNXnet/IP device"
        knx = f"KNX device {self.destination}" if "." in self.destination else f"KNX group {self.destination}"
        if self.found == "own":
            return f"{knx} ({self.ip or self.mac})"
        if self.found in ("interface", "coupler"):
            return f"{knx} through {self.ip or self.mac}"
        return f"{knx} (routed to the multicast group; no IP device known for it)"


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
    """KNX individual address -> the IP device (ip, mac) that announced it in a DEVICE_INFO DIB, and the IP devices
    announcing the routing family -> their routing multicast group (both bounded)."""

    def __init__(self, limit: int = MAX_KNX_DEVICES) -> None:
        self._devices: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()
        self._routing: OrderedDict[tuple[str | None, str | None], str] = OrderedDict()
        self._limit = limit

    def __len__(self) -> int:
        return len(self._devices)

    def see(self, obs: Observation) -> None:
        """Remember what a KNXnet/IP server's SEARCH or DESCRIPTION response announces of itself."""
        if obs.kind not in ANNOUNCING or not (obs.src_ip or obs.src_mac):
            return
        f, device = obs.fields, (obs.src_ip, obs.src_mac)
        address = f.get("individual_address")
        if isinstance(address, str):
            _remember(self._devices, address, device, self._limit)
        families = f.get("service_families")
        if isinstance(families, list) and "routing" in families:
            group = f.get("multicast_address")
            group = group if isinstance(group, str) and group != UNSET_GROUP else ROUTING_GROUP
            _remember(self._routing, device, group, self._limit)

    def target(self, obs: Observation) -> KnxTarget:
        """The target of a KNX operation a client sent (module docstring)."""
        f = obs.fields
        destination = f.get("destination") if isinstance(f.get("destination"), str) else None
        address = destination if f.get("destination_type") == "individual" else None
        if address is not None and address in self._devices:
            return KnxTarget(destination, *self._devices[address], "own")
        if unicast(obs.dst_ip):
            return KnxTarget(destination, obs.dst_ip, obs.dst_mac, "interface")
        coupler = _coupler(address) if address is not None else None
        if coupler is not None and coupler in self._devices:
            return KnxTarget(destination, *self._devices[coupler], "coupler")
        return KnxTarget(destination, None, None, "none")

    def routing_members(self, group: str | None) -> list[tuple[str | None, str | None]]:
        """(ip, mac) of the IP devices that announced the routing family for ``group`` (they receive what is routed
        to it: 03.08.05 §2.5), in the order they were last announced."""
        return [device for device, joined in self._routing.items() if joined == group]


def _remember(table: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    table[key] = value
    table.move_to_end(key)
    if len(table) > limit:
        table.popitem(last=False)
