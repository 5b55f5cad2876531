"""Vulnerability records (a vulnerability, the version ranges it affects, a CISA KEV entry) and the
repository interface that keeps them. The store implements it on SQLite/PostgreSQL
(:mod:`iotwarden.store.firmware_models`); :class:`MemoryVulnRepository` serves tests and one-shot runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class Vulnerability:
    id: str  # CVE id where one exists, else the feed's id (OSV "GHSA-..", Alpine "ALPINE-13661")
    source: str  # feed it came from: "nvd", "cve5", "osv", "alpine", ...
    summary: str = ""
    published: str | None = None  # ISO 8601
    cvss_score: float | None = None  # CVSS v3.x base score (v4 or v2 when no v3)
    cvss_vector: str | None = None
    severity: str | None = None  # CVSS qualitative rating, or the CNA's own ("Low", "Moderate", ...)
    aliases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class AffectedRange:
    """One affected version range of one product (NVD 2.0 cpeMatch, CVE 5 ``versions[]`` entry, OSV
    range, Alpine secfix). All bounds None and ``exact`` None means every version."""

    vuln_id: str
    source: str
    product_key: str  # CPE "vendor:product" (see :func:`iotwarden.firmware.catalog.product_key`)
    exact: str | None = None
    start_incl: str | None = None
    start_excl: str | None = None
    end_incl: str | None = None
    end_excl: str | None = None
    note: str = ""  # e.g. "alpine 1.35.0-r17: distribution patch"

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class KevEntry:
    """A CISA Known Exploited Vulnerabilities catalog entry."""

    cve_id: str
    date_added: str
    name: str = ""
    ransomware: bool = False  # knownRansomwareCampaignUse == "Known"

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class VulnRepository(Protocol):
    """Where imported vulnerabilities live. Importing a record again replaces what that source said."""

    def put(self, vulns: Iterable[Vulnerability], ranges: Iterable[AffectedRange]) -> None: ...

    def put_kev(self, entries: Iterable[KevEntry]) -> None: ...

    def ranges_for(self, product_key: str) -> list[AffectedRange]: ...

    def get(self, ids: Iterable[str]) -> dict[str, list[Vulnerability]]: ...

    def kev(self, ids: Iterable[str]) -> dict[str, KevEntry]: ...

    def stats(self) -> dict[str, int]: ...


class MemoryVulnRepository:
    """An in-process :class:`VulnRepository`."""

    def __init__(self) -> None:
        self._vulns: dict[tuple[str, str], Vulnerability] = {}
        self._ranges: dict[tuple[str, str], list[AffectedRange]] = defaultdict(list)
        self._kev: dict[str, KevEntry] = {}

    def put(self, vulns: Iterable[Vulnerability], ranges: Iterable[AffectedRange]) -> None:
        ranges = list(ranges)
        for v in vulns:
            self._vulns[(v.id, v.source)] = v
            self._ranges.pop((v.id, v.source), None)
        for r in ranges:
            self._ranges[(r.vuln_id, r.source)].append(r)

    def put_kev(self, entries: Iterable[KevEntry]) -> None:
        self._kev.update((e.cve_id, e) for e in entries)

    def ranges_for(self, product_key: str) -> list[AffectedRange]:
        return [r for rs in self._ranges.values() for r in rs if r.product_key == product_key]

    def get(self, ids: Iterable[str]) -> dict[str, list[Vulnerability]]:
        wanted = set(ids)
        out: dict[str, list[Vulnerability]] = defaultdict(list)
        for (vid, _src), v in self._vulns.items():
            if vid in wanted:
                out[vid].append(v)
        return dict(out)

    def kev(self, ids: Iterable[str]) -> dict[str, KevEntry]:
        return {i: self._kev[i] for i in ids if i in self._kev}

    def stats(self) -> dict[str, int]:
        by_source: dict[str, int] = defaultdict(int)
        for _vid, src in self._vulns:
            by_source[f"vulns.{src}"] += 1
        return {**by_source, "ranges": sum(len(r) for r in self._ranges.values()), "kev": len(self._kev)}
