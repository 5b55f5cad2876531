"""MAC address facts: IEEE registry lookup by 24/28/36-bit prefix and the U/L and I/G address bits."""

# The IEEE Registration Authority lists are read by kb/oui_csv.py (the shipped ones from their parsed copy,
# kb/oui_generated.py); organisation names are shortened to a vendor name by kb/oui_names.py. The names those
# modules own are importable from here too, where their callers have always found them.

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotwarden.kb import paths
from iotwarden.kb.oui_csv import (
    ASSIGNMENT_DIGITS,
    MAX_REGISTRY_ROWS,
    REGISTRIES,
    UPPER_HEX,
    parse_registry_csv,
    read_registry_csv,
    registry_file,
    registry_of,
)
from iotwarden.kb.oui_generated import (
    CACHE_FORMAT,
    cache_problem,
    read_cache,
    read_cache_data,
    render_cache,
    render_spellings,
    shipped_digest,
    spellings_problem,
    write_cache,
    write_spellings,
)
from iotwarden.kb.oui_names import (
    SPELLINGS_FORMAT,
    VENDOR_CACHE_SIZE,
    VendorNames,
    read_spellings,
    registry_spellings,
)

__all__ = ["ASSIGNMENT_DIGITS", "CACHE_FORMAT", "MAX_REGISTRY_ROWS", "PREFIX_BITS", "REGISTRIES", "SPELLINGS_FORMAT",
           "VENDOR_CACHE_SIZE", "MacInfo", "OuiEntry", "OuiRegistry", "VendorNames", "cache_problem", "mac_hex",
           "parse_registry_csv", "read_cache", "read_registry_csv", "read_spellings", "registry_file", "registry_of",
           "registry_spellings", "render_cache", "render_spellings", "shipped_digest", "spellings_problem",
           "write_cache", "write_spellings"]

PREFIX_BITS = (36, 28, 24)  # longest first: an MA-S/MA-M block overrides its parent MA-L entry
_HEX = re.compile(r"[0-9A-Fa-f]")


@dataclass(frozen=True, slots=True)


class OuiEntry:
    """One registry assignment: ``prefix`` in upper-case hex (6, 7 or 9 digits)."""

    prefix: str
    bits: int
    registry: str
    organization: str
    vendor: str


@dataclass(frozen=True, slots=True)


class MacInfo:
    """What a MAC address says about itself (IEEE 802-2014 §8.2, Figure 8-1).

    ``multicast`` is the I/G bit (bit 0 of the first octet); ``locally_administered`` the U/L bit
    (bit 1). A unicast locally administered address is what phones and laptops use for MAC
    randomisation (private Wi-Fi addresses), so ``randomised`` is true for those: it never has a
    registry entry.
    """

    mac: str
    multicast: bool
    locally_administered: bool
    entry: OuiEntry | None

    @property
    def randomised(self) -> bool:
        return self.locally_administered and not self.multicast

    @property
    def vendor(self) -> str | None:
        return self.entry.vendor if self.entry else None


def mac_hex(mac: str) -> str | None:
    """The hex digits of ``mac`` (any of ``aa:bb..``, ``aa-bb..``, ``aabb.ccdd..``), upper case.

    Returns None unless there are 6..12 hex digits and nothing but separators besides them.
    """
    if len(mac) == 17 and mac[2] in ":-" and mac[2] == mac[5] == mac[8] == mac[11] == mac[14]:
        # the common whole form, read without the regexes (bench/kb_lookup.py)
        fast = mac.replace(mac[2], "").upper()
        if len(fast) == 12 and UPPER_HEX.issuperset(fast):
            return fast
    digits = "".join(_HEX.findall(mac))
    rest = _HEX.sub("", mac).strip()
    if rest.strip(":-. ") or not 6 <= len(digits) <= 12:
        return None
    return digits.upper()


class OuiRegistry:
    """Prefix tables for the four IEEE registries; lookups are O(1) (three dict probes)."""

    def __init__(self, registries: dict[str, dict[str, str]], vendors: VendorNames,
                 sources: dict[str, Path]) -> None:
        # registry -> assignment -> organisation, as loaded; per prefix length one table of them all (the
        # later registry of a length wins an assignment both list, IAB over MA-S, as each list's last row
        # wins within it), and which registries of that length to ask for the name of the one that holds it.
        # The organisation alone is kept per assignment (no (organisation, registry) pair): the tables are
        # built by dict(zip()) in C, with no ~46k tuples for the garbage collector to walk at every start.
        self._tables: dict[int, dict[str, str]] = {bits: {} for bits in PREFIX_BITS}
        self._holders: dict[int, list[tuple[str, dict[str, str]]]] = {bits: [] for bits in PREFIX_BITS}
        for registry, (_, bits) in REGISTRIES.items():
            table = registries.get(registry)
            if table is None:
                continue
            merged = self._tables[bits]
            self._tables[bits] = table if not merged else {**merged, **table}
            self._holders[bits].insert(0, (registry, table))
        self._vendors = vendors
        self.sources = sources  # registry -> file actually loaded (shipped or user-installed)

    @classmethod
    def load(cls, *, user_dir: Path | None = None, shipped_dir: Path | None = None,
             vendors: VendorNames | None = None) -> OuiRegistry:
        """Read every registry file, preferring the user's installed copy of each."""
        shipped_dir = shipped_dir or paths.OUI_DIR
        registries: dict[str, dict[str, str]] = {}
        sources: dict[str, Path] = {}
        udir = user_dir if user_dir is not None else paths.user_oui_dir()
        cached: dict[str, Any] | None = None  # generated/oui.json, read once, when a shipped file is used
        for registry, (filename, bits) in REGISTRIES.items():
            path = registry_file(filename, udir, shipped_dir)
            if path is None:
                continue
            sources[registry] = path
            if path == shipped_dir / f"{filename}.gz":
                if cached is None:
                    cached = read_cache_data(shipped_dir, paths.GENERATED_OUI) or {}
                if registry in cached.get("registries", {}):
                    assignments, orgs = cached["registries"][registry]
                    registries[registry] = dict(zip(assignments, orgs, strict=True))
                    continue
            registries[registry] = dict(read_registry_csv(path, bits))
        # the shipped table's names come with the registry's spellings (VendorNames.load), whichever lists are read
        return cls(registries, vendors or VendorNames.load(), sources)

    def __len__(self) -> int:
        return sum(len(t) for t in self._tables.values())

    def counts(self) -> dict[int, int]:
        return {bits: len(table) for bits, table in self._tables.items()}

    def lookup(self, mac: str) -> OuiEntry | None:
        """The longest registry prefix covering ``mac`` (a full address or just its first octets)."""
        digits = mac_hex(mac)
        if digits is None:
            return None
        for bits in PREFIX_BITS:
            n = bits // 4
            if len(digits) < n:
                continue
            key = digits[:n]
            org = self._tables[bits].get(key)
            if org is not None:
                registry = next(name for name, table in self._holders[bits] if key in table)
                return OuiEntry(key, bits, registry, org, self._vendors.short(org))
        return None

    def info(self, mac: str) -> MacInfo | None:
        """Address bits and registry entry of a full 48-bit MAC; None when it is not one."""
        digits = mac_hex(mac)
        if digits is None or len(digits) != 12:
            return None
        first = int(digits[:2], 16)
        local = bool(first & 0x02)
        normal = ":".join(digits[i : i + 2] for i in range(0, 12, 2)).lower()
        # a locally administered address is outside the IEEE registries by definition
        entry = None if local else self.lookup(digits)
        return MacInfo(normal, bool(first & 0x01), local, entry)

    def vendor_name(self, organization: str) -> str:
        return self._vendors.short(organization)

    @property
    def names(self) -> VendorNames:
        """The vendor name table (aliases, brand owners, part makers) the registry names vendors with."""
        return self._vendors
