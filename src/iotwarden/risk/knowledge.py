"""Loaders of the protocol risk facts the checks read from the knowledge base (``kb/data/risk/*.yaml``):
weak TLS cipher suites, default SNMP communities and software versions known to be old.

Each file is validated once (a bad file is a ConfigError naming the entry) and cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from iotwarden.errors import ConfigError
from iotwarden.kb.paths import PACKAGE_DATA
from iotwarden.kb.schema import safe_load
from iotwarden.model.finding import SEVERITIES, Severity

RISK_DATA = PACKAGE_DATA / "risk"
MAX_ENTRIES = 10_000  # entries read from one risk data file
MAX_VERSION_PARTS = 6  # numeric components compared in a version ("1.6.18" has 3)

Version = tuple[int, ...]


def _load(name: str, section: str, path: Path | None = None) -> list[dict[str, Any]]:
    file = path or RISK_DATA / name
    try:
        data = safe_load(file.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{file}: cannot read risk data: {exc}") from None
    items = data.get(section) if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) > MAX_ENTRIES or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{file}: expected a list '{section}' of at most {MAX_ENTRIES} mappings")
    return items


@lru_cache(maxsize=1)
def weak_ciphers() -> dict[int, tuple[str, str]]:
    """IANA cipher-suite id -> (name, weakness class) of every suite in ``tls_weak_ciphers.yaml``."""
    out: dict[int, tuple[str, str]] = {}
    for item in _load("tls_weak_ciphers.yaml", "suites"):
        if not isinstance(item.get("id"), int) or not isinstance(item.get("weakness"), str):
            raise ConfigError(f"tls_weak_ciphers.yaml: bad entry {item!r}")
        out[item["id"]] = (str(item.get("name", "")), item["weakness"])
    return out


@lru_cache(maxsize=1)
def default_communities() -> frozenset[str]:
    """The default SNMP community strings of ``snmp_communities.yaml``."""
    out = set()
    for item in _load("snmp_communities.yaml", "communities"):
        if not isinstance(item.get("community"), str):
            raise ConfigError(f"snmp_communities.yaml: community must be text: {item!r}")
        out.add(item["community"])
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Software:
    """One product whose old versions a banner can reveal."""

    product: str
    pattern: re.Pattern[str]
    fixed_in: Version | None  # None: every version is outdated (unmaintained product)
    fixed_in_text: str | None
    severity: Severity
    reason: str
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BannerSource:
    """Where a banner is read: observation ``proto``/``kind``/``field`` (``role`` for SSH)."""

    proto: str
    kind: str
    field: str
    role: str | None = None


def parse_version(text: str) -> Version:
    """The numeric components of a version text: ``"7.4p1"`` -> (7, 4, 1); ``"2016.74"`` -> (2016, 74)."""
    return tuple(int(n) for n in re.findall(r"\d+", text)[:MAX_VERSION_PARTS])


def older(version: Version, than: Version) -> bool:
    """``version < than``, missing trailing components counting as 0 ("1.4" == "1.4.0")."""
    width = max(len(version), len(than))
    return version + (0,) * (width - len(version)) < than + (0,) * (width - len(than))


def _software(item: dict[str, Any]) -> Software:
    try:
        pattern = re.compile(str(item["pattern"]), re.IGNORECASE)
        severity = item.get("severity", "medium")
        fixed = item.get("fixed_in")
        if severity not in SEVERITIES or pattern.groups != 1 or not item.get("product"):
            raise ValueError("needs product, one capture group and a known severity")
        return Software(str(item["product"]), pattern, parse_version(str(fixed)) if fixed is not None else None,
                        str(fixed) if fixed is not None else None, severity, str(item.get("reason", "")),
                        tuple(str(r) for r in item.get("references", ())))
    except (KeyError, ValueError, re.error) as exc:
        raise ConfigError(f"outdated_software.yaml: bad entry {item.get('product')!r}: {exc}") from None


@lru_cache(maxsize=4)
def outdated_software(path: Path | None = None) -> tuple[tuple[BannerSource, ...], tuple[Software, ...]]:
    """The banner sources and product thresholds of ``outdated_software.yaml`` (or ``path``)."""
    sources = tuple(
        BannerSource(str(s["proto"]), str(s["kind"]), str(s["field"]), s.get("role"))
        for s in _load("outdated_software.yaml", "sources", path)
    )
    return sources, tuple(_software(i) for i in _load("outdated_software.yaml", "software", path))
