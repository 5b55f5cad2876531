"""The component catalog (``data/components.yaml``): names, CPE vendor/product, purls, aliases used by
vulnerability feeds, and compiled version signatures. Loaded and validated once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from iotwarden.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    vendor: str  # CPE 2.3 vendor (NVD dictionary)
    product: str  # CPE 2.3 product
    purl: str  # package URL without version (purl-spec)
    aliases: tuple[str, ...]
    patterns: tuple[re.Pattern[bytes], ...]
    distro: re.Pattern[bytes] | None = None
    version_pattern: re.Pattern[bytes] | None = None  # version kept apart from the product string
    listens: bool = False

    @property
    def key(self) -> str:
        """The product key vulnerabilities are stored under: ``vendor:product`` (CPE 2.3)."""
        return f"{self.vendor}:{self.product}"


def _product(entry: dict[str, Any]) -> Product:
    try:
        vendor, product = entry["cpe"]
        return Product(
            name=str(entry["name"]),
            vendor=str(vendor).lower(),
            product=str(product).lower(),
            purl=str(entry["purl"]),
            aliases=tuple(str(a).lower() for a in entry.get("aliases", [])),
            patterns=tuple(re.compile(p.encode("latin-1")) for p in entry["patterns"]),
            distro=re.compile(entry["distro"].encode("latin-1")) if entry.get("distro") else None,
            version_pattern=re.compile(entry["version_pattern"].encode("latin-1"))
            if entry.get("version_pattern")
            else None,
            listens=bool(entry.get("listens", False)),
        )
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise ConfigError(f"components.yaml entry {entry.get('name', '?')!r}: {exc}") from None


@lru_cache(maxsize=1)
def products() -> tuple[Product, ...]:
    text = resources.files("iotwarden.firmware").joinpath("data/components.yaml").read_text("utf-8")
    return tuple(_product(e) for e in yaml.safe_load(text))


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, Product]:
    index: dict[str, Product] = {}
    for p in products():
        for name in (p.name, p.product, *p.aliases):
            index.setdefault(name.lower(), p)
    return index


def product_key(name: str, vendor: str | None = None) -> str:
    """The ``vendor:product`` key of a package name used by a feed (Alpine, OSV, CVE 5 ``product``);
    names outside the catalog keep their own name under vendor ``*``."""
    hit = _alias_index().get(name.lower())
    if hit:
        return hit.key
    return f"{(vendor or '*').lower().replace(' ', '_')}:{name.lower().replace(' ', '_')}"


def by_key(key: str) -> Product | None:
    return next((p for p in products() if p.key == key), None)
