"""Risk scores: 0..100 per device from its findings, the band it falls in, and one score for the fleet.

Device score (documented in docs/schemas/report.md, "Risk scores"): each finding is an independent
chance that the device is compromised through it, ``p = SEVERITY_P[severity] * CATEGORY_WEIGHT[category]``
(capped at :data:`MAX_P`), and the score is ``100 * (1 - prod(1 - p))``: one critical finding alone
gives 80, more findings only add, and the score never passes 100. The same check on the same device
counts once (findings are unique per check and device).

Fleet score: ``0.5 * worst device + 0.5 * mean of all devices``. The worst device weighs half
because one compromised device is the attacker's foothold; the mean rewards fixing the breadth.
"""

from __future__ import annotations

from collections.abc import Iterable
from statistics import fmean

from iotwarden.model import Device
from iotwarden.model.finding import Finding, Severity

SEVERITY_P: dict[Severity, float] = {"info": 0.0, "low": 0.08, "medium": 0.25, "high": 0.5, "critical": 0.8}
# devices whose compromise harms people or processes weigh more (ETSI EN 303 645 §5 "risk-based")
CATEGORY_WEIGHT: dict[str, float] = {"ot": 1.2, "medical": 1.2, "building": 1.1}
MAX_P = 0.95  # no single finding makes a device certainly compromised
BANDS: tuple[tuple[str, float], ...] = (("critical", 80.0), ("high", 50.0), ("medium", 25.0), ("low", 0.01))
NO_RISK_BAND = "none"


def device_score(findings: Iterable[Finding], category: str | None = None) -> float:
    """The 0..100 score of one device from its findings (see the module docstring)."""
    weight = CATEGORY_WEIGHT.get((category or "").lower(), 1.0)
    survive = 1.0
    seen: set[str] = set()
    for finding in findings:
        if finding.id in seen:
            continue
        seen.add(finding.id)
        survive *= 1.0 - min(MAX_P, SEVERITY_P[finding.severity] * weight)
    return round(100.0 * (1.0 - survive), 1)


def band(score: float | None) -> str:
    """``critical`` (>= 80), ``high`` (>= 50), ``medium`` (>= 25), ``low`` (> 0) or ``none``."""
    for name, floor in BANDS:
        if score is not None and score >= floor:
            return name
    return NO_RISK_BAND


def fleet_score(scores: Iterable[float]) -> float:
    """``0.5 * max + 0.5 * mean`` of the device scores; 0 for an empty fleet."""
    values = list(scores)
    if not values:
        return 0.0
    return round(0.5 * max(values) + 0.5 * fmean(values), 1)


def scores_by_subject(findings: Iterable[Finding], categories: dict[str, str | None]) -> dict[str, float]:
    """Score per device key named in ``categories`` (devices without findings score 0)."""
    grouped: dict[str, list[Finding]] = {key: [] for key in categories}
    for finding in findings:
        if finding.subject in grouped:
            grouped[finding.subject].append(finding)
    return {key: device_score(items, categories[key]) for key, items in grouped.items()}


def score_devices(devices: Iterable[Device], findings: Iterable[Finding]) -> None:
    """Set ``risk_score`` on each device from the findings about it."""
    by_key = {d.key: d for d in devices}
    scores = scores_by_subject(findings, {k: d.category for k, d in by_key.items()})
    for key, score in scores.items():
        by_key[key].risk_score = score
