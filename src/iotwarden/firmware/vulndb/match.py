"""Matching components to vulnerabilities (by CPE vendor:product and version range) and ranking the
matches: known exploitation (CISA KEV) first, then CVSS, raised by reachability hints (the component
is a network service, or started at boot) and lowered when a distribution build may carry a backport."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotwarden.firmware.components import Component
from iotwarden.firmware.vulndb.records import AffectedRange, VulnRepository
from iotwarden.firmware.vulndb.versions import in_range

SEVERITY_SCORE = {"critical": 9.5, "high": 8.0, "moderate": 5.5, "medium": 5.5, "low": 3.0}
KEV_BONUS = 10.0  # a known exploited vulnerability outranks any unexploited one
REACH_BONUS = 1.0  # per reachability hint
BACKPORT_FACTOR = 0.5  # distribution builds: the fix may be backported without a version change


@dataclass(slots=True)
class VulnMatch:
    vuln_id: str
    component: str  # "busybox 1.33.1"
    product_key: str
    version: str
    sources: list[str] = field(default_factory=list)  # feeds that say so ("nvd", "alpine", ...)
    ranges: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    cvss: float | None = None
    severity: str | None = None
    kev: bool = False
    kev_ransomware: bool = False
    hints: list[str] = field(default_factory=list)  # "network_service", "started_at_boot", "distro_backport_possible"
    rank: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _affects(version: str, r: AffectedRange) -> bool:
    return in_range(
        version,
        exact=r.exact,
        start_incl=r.start_incl,
        start_excl=r.start_excl,
        end_incl=r.end_incl,
        end_excl=r.end_excl,
    )


def match(components: list[Component], repo: VulnRepository, boot_started: set[str] | None = None) -> list[VulnMatch]:
    """Vulnerabilities of ``components`` (those with a version), best-ranked first. ``boot_started``
    holds the logical paths of binaries an init script starts."""
    boot_started = boot_started or set()
    out: list[VulnMatch] = []
    for comp in components:
        if not comp.version:
            continue
        found: dict[str, VulnMatch] = {}
        for r in repo.ranges_for(comp.key):
            if not _affects(comp.version, r):
                continue
            m = found.setdefault(r.vuln_id, VulnMatch(r.vuln_id, f"{comp.name} {comp.version}", comp.key, comp.version))
            if r.source not in m.sources:
                m.sources.append(r.source)
            m.ranges.append({k: v for k, v in r.to_dict().items() if v and k not in ("vuln_id", "product_key")})
        if not found:
            continue
        records = repo.get(found)
        kev = repo.kev(found)
        for vid, m in found.items():
            for v in sorted(records.get(vid, []), key=lambda v: v.source != "nvd"):  # NVD scores first
                m.summary = m.summary or v.summary
                m.cvss = m.cvss if m.cvss is not None else v.cvss_score
                m.severity = m.severity or v.severity
            if vid in kev:
                m.kev, m.kev_ransomware = True, kev[vid].ransomware
            if comp.listens:
                m.hints.append("network_service")
            if any(e.path in boot_started for e in comp.evidence):
                m.hints.append("started_at_boot")
            if comp.distro:
                m.hints.append("distro_backport_possible")
            m.rank = _rank(m)
            out.append(m)
    return sorted(out, key=lambda m: (-m.rank, m.vuln_id))


def _rank(m: VulnMatch) -> float:
    base = m.cvss if m.cvss is not None else SEVERITY_SCORE.get((m.severity or "").lower(), 5.0)
    score = base + (KEV_BONUS if m.kev else 0.0)
    score += REACH_BONUS * sum(h in ("network_service", "started_at_boot") for h in m.hints)
    if "distro_backport_possible" in m.hints:
        score *= BACKPORT_FACTOR
    return round(score, 2)
