"""Finding: one security-relevant conclusion about a device, made by a risk or identity check.

A finding is keyed by its check ``id`` (``identity.cert.expired``) and ``subject`` (a device key);
the same check firing again on the same subject widens ``first_seen``/``last_seen``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")


@dataclass(slots=True)
class Finding:
    """What was found (``id``, ``title``), how bad (``severity``), about whom (``subject``), why
    (``evidence``, JSON-compatible), what to do (``remediation``) and where to read more (``references``)."""

    id: str
    title: str
    severity: Severity
    subject: str
    evidence: dict[str, Any] = field(default_factory=dict)
    remediation: str = ""
    references: list[str] = field(default_factory=list)
    first_seen: float = 0.0
    last_seen: float = 0.0

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r}: one of {', '.join(SEVERITIES)}")

    def seen(self, ts: float) -> None:
        """Widen the time span to include ``ts``."""
        self.first_seen = min(self.first_seen, ts) if self.first_seen else ts
        self.last_seen = max(self.last_seen, ts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "subject": self.subject,
            "evidence": dict(self.evidence),
            "remediation": self.remediation,
            "references": list(self.references),
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        names = {f.name for f in fields(cls)}
        finding = cls(**{k: v for k, v in data.items() if k in names})
        extra = {k: v for k, v in data.items() if k not in names}
        if extra:  # unknown fields survive a round trip (STYLE 11)
            finding.evidence.setdefault("_extra", {}).update(extra)
        return finding
