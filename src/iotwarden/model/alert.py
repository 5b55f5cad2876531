"""Alert: one detection (or a run of aggregated repeats) raised by a detector about one subject.

An alert is keyed by its detector ``id`` (``detect.scan.horizontal``), its ``subject`` (a device key)
and a detector-chosen ``key`` (the scanned port, the peer...): repeats within the pipeline's window
add to ``count`` and widen ``first_seen``/``last_seen`` instead of raising a new alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from iotwarden.model.finding import SEVERITIES, Severity

AlertStatus = Literal["new", "acknowledged", "closed"]
ALERT_STATUSES: tuple[AlertStatus, ...] = ("new", "acknowledged", "closed")


@dataclass(slots=True)
class Alert:
    """What was detected (``id``, ``title``), how bad (``severity``), about whom (``subject``, with
    ``src_ip``/``dst_ip`` of the triggering traffic), which ATT&CK techniques it maps to (``mitre``),
    why (``evidence``: JSON-compatible facts plus the bounded ``flows`` and ``observations`` behind
    it, as dicts) and where it stands (``status``, ``suppressed``)."""

    id: str
    title: str
    severity: Severity
    subject: str
    key: str = ""
    src_ip: str | None = None
    dst_ip: str | None = None
    mitre: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    flows: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    first_seen: float = 0.0
    last_seen: float = 0.0
    count: int = 1
    status: AlertStatus = "new"
    suppressed: bool = False
    uid: str = ""  # set by the pipeline: stable text id of this alert instance (exports, STIX ids)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r}: one of {', '.join(SEVERITIES)}")
        if self.status not in ALERT_STATUSES:
            raise ValueError(f"status {self.status!r}: one of {', '.join(ALERT_STATUSES)}")

    @property
    def group(self) -> tuple[str, str, str]:
        """The aggregation key: (detector id, subject, key)."""
        return (self.id, self.subject, self.key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "severity": self.severity, "subject": self.subject,
            "key": self.key, "src_ip": self.src_ip, "dst_ip": self.dst_ip, "mitre": list(self.mitre),
            "evidence": dict(self.evidence), "flows": list(self.flows), "observations": list(self.observations),
            "first_seen": self.first_seen, "last_seen": self.last_seen, "count": self.count,
            "status": self.status, "suppressed": self.suppressed, "uid": self.uid,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        names = {f.name for f in fields(cls)}
        alert = cls(**{k: v for k, v in data.items() if k in names})
        extra = {k: v for k, v in data.items() if k not in names}
        if extra:  # unknown fields survive a round trip (STYLE 11)
            alert.evidence.setdefault("_extra", {}).update(extra)
        return alert
