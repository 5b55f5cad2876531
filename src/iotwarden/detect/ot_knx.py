"""Which device a KNX operation is about (detect/ot.py): the cEMI frame's destination individual address and, when
an IP device holds it, that device; never the routing multicast group a KNXnet/IP router floods frames to.

A KNXnet/IP server announces its own KNX individual address in the DEVICE_INFO DIB of its SEARCH and DESCRIPTION
responses (KNX 03.08.02 §7.5.4.2; dissect/knxip.py ``individual_address``): :class:`KnxDevices` remembers which IP
device holds which address (:data:`MAX_KNX_DEVICES`, least recently announced dropped). An operation's target is,
in this order: the IP device holding the frame's destination address (``own``: a KNX IP router or interface
reconfigured, wherever the frame entered); the unicast receiver of the frame, the KNXnet/IP interface or router a
tunnel or device-management connection reached it through (``interface``; 03.08.04, 03.08.03); for a frame routed
to the multicast group (03.08.05 §2.5: every KNX IP router of the group receives it), the KNX IP router that
couples the destination's line, the one that forwards it there (``coupler``: a line coupler's individual address
is its line's device 0, area.line.0, KNX Association "KNX Basics": couplers have device number 0); else none is
known (``none``), and the alert falls on the sender, naming the KNX address.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from dataclasses import dataclass

from iotwarden.model import Observation

MAX_KNX_DEVICES = 4096  # KNX individual addresses of IP devices remembered (LRU)
ANNOUNCING = frozenset({"search_response", "search_response_ext", "description_response"})  # carry DEVICE_INFO


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


def _unicast(ip: str | None) -> bool:
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
    """KNX individual address -> the IP device (ip, mac) that announced it in a DEVICE_INFO DIB (bounded)."""

    def __init__(self, limit: int = MAX_KNX_DEVICES) -> None:
        self._devices: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()
        self._limit = limit

    def __len__(self) -> int:
        return len(self._devices)

    def see(self, obs: Observation) -> None:
        """Remember the address a KNXnet/IP server's SEARCH or DESCRIPTION response announces for itself."""
        address = obs.fields.get("individual_address")
        if obs.kind not in ANNOUNCING or not isinstance(address, str) or not (obs.src_ip or obs.src_mac):
            return
        self._devices[address] = (obs.src_ip, obs.src_mac)
        self._devices.move_to_end(address)
        if len(self._devices) > self._limit:
            self._devices.popitem(last=False)

    def target(self, obs: Observation) -> KnxTarget:
        """The target of a KNX operation a client sent (module docstring)."""
        f = obs.fields
        destination = f.get("destination") if isinstance(f.get("destination"), str) else None
        address = destination if f.get("destination_type") == "individual" else None
        if address is not None and address in self._devices:
            return KnxTarget(destination, *self._devices[address], "own")
        if _unicast(obs.dst_ip):
            return KnxTarget(destination, obs.dst_ip, obs.dst_mac, "interface")
        coupler = _coupler(address) if address is not None else None
        if coupler is not None and coupler in self._devices:
            return KnxTarget(destination, *self._devices[coupler], "coupler")
        return KnxTarget(destination, None, None, "none")
