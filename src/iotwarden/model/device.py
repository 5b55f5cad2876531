"""Device: one physical or virtual device, keyed by a stable identifier (STYLE 9).

The key is the MAC address where one is known (``mac:aa:bb:..``), else the IP address for devices
seen only routed (``ip:10.0.0.5``). IP addresses and names are attributes that change over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Device:
    key: str
    first_seen: float
    last_seen: float
    mac: str | None = None
    ips: set[str] = field(default_factory=set)
    hostnames: set[str] = field(default_factory=set)
    # identity facts gathered from observations: {"dhcp.vendor_class": {"MSFT 5.0"}, ...}
    attributes: dict[str, set[str]] = field(default_factory=dict)
    protocols: set[str] = field(default_factory=set)  # dissectors that saw this device speak
    packets: int = 0
    bytes: int = 0

    def add_attribute(self, name: str, value: str) -> None:
        self.attributes.setdefault(name, set()).add(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "mac": self.mac,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "ips": sorted(self.ips),
            "hostnames": sorted(self.hostnames),
            "attributes": {k: sorted(v) for k, v in sorted(self.attributes.items())},
            "protocols": sorted(self.protocols),
            "packets": self.packets,
            "bytes": self.bytes,
        }
