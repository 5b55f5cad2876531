"""Device: one physical or virtual device, keyed by a stable identifier (STYLE 9).

The key is the MAC address where one is known (``mac:aa:bb:..``), else the IP address for devices
seen only routed (``ip:10.0.0.5``). IP addresses and names are attributes that change over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CLASSIFIED_FIELDS = ("vendor", "model", "device_type", "category", "os", "os_version", "firmware")
# The broadcast domains a MAC device was seen in (Observation.domain: ``vlan10``, ``vni4001``; UNTAGGED for
# untagged frames), recorded by the inventory once a run shows tagged traffic (inventory/resolution.py)
DOMAINS_ATTRIBUTE = "link.domain"
UNTAGGED = "untagged"


@dataclass(slots=True)
class Conclusion:
    """One classified property (say ``vendor``): the value, how sure we are, and every piece of
    evidence that weighed in (rule id, attribute, value seen, weight), so it can be explained."""

    value: str
    confidence: float  # 0..1
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "confidence": round(self.confidence, 4), "evidence": list(self.evidence)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conclusion:
        return cls(str(data["value"]), float(data.get("confidence", 0.0)), list(data.get("evidence", [])))


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
    # classifier output keyed by CLASSIFIED_FIELDS; a missing key means unknown (never guessed)
    classification: dict[str, Conclusion] = field(default_factory=dict)
    risk_score: float | None = None  # 0..100, set by the risk scorer

    def conclusion(self, name: str) -> str | None:
        """The classified value of ``name`` (``vendor``, ``device_type``, ...) or None if unknown."""
        found = self.classification.get(name)
        return found.value if found else None

    @property
    def vendor(self) -> str | None:
        return self.conclusion("vendor")

    @property
    def device_type(self) -> str | None:
        return self.conclusion("device_type")

    @property
    def category(self) -> str | None:
        return self.conclusion("category")

    def in_domain(self, domain: str) -> bool:
        """Whether the device may be a host of broadcast ``domain`` ("" untagged): one of the domains its
        frames (or a router joining its link to it) were seen in (:data:`DOMAINS_ATTRIBUTE`), or any when
        none is recorded (a run that showed no tagged traffic, a device the run never saw in a frame)."""
        seen = self.attributes.get(DOMAINS_ATTRIBUTE)
        return not seen or (domain or UNTAGGED) in seen

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
            "classification": {k: v.to_dict() for k, v in sorted(self.classification.items())},
            "risk_score": self.risk_score,
        }
