"""MAC address facts: IEEE registry lookup by 24/28/36-bit prefix and the U/L and I/G address bits."""

# The IEEE Registration Authority lists (MA-L ``oui.csv``, MA-M ``mam.csv``, MA-S ``oui36.csv``,
# IAB ``iab.csv``) ship gzip-compressed in ``kb/data/oui``; a newer list installed by
# ``iotwarden kb update --oui`` in the user data dir wins. Organisation names are shortened to a
# vendor name by the data table ``vendor_aliases.yaml``, never by code. The shipped lists are also kept
# parsed in ``kb/data/generated/oui.json`` (``iotwarden kb check --fix`` writes it, ``kb check`` fails when it
# is stale): read when its digest matches the shipped files, it spares every start the CSV parse (~0.09 CPU s).
# The registry's one spelling of each vendor name its registrants spell in several cases is kept apart, in the
# small ``generated/vendor_spellings.json`` that the shipped vendor table is loaded with (VendorNames.load), so a
# vendor is named the same whether or not the process has read the registry (a Zeek-only run never does).

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from iotwarden.errors import ConfigError
from iotwarden.kb import generated, paths
from iotwarden.kb.aliases import Patterns
from iotwarden.kb.parsed import load_table

# registry name -> (file name, prefix length in bits); MA-L is the old "OUI" (IEEE 802-2014 §8.2)
REGISTRIES: dict[str, tuple[str, int]] = {
    "MA-L": ("oui.csv", 24),
    "MA-M": ("mam.csv", 28),
    "MA-S": ("oui36.csv", 36),
    "IAB": ("iab.csv", 36),
}
PREFIX_BITS = (36, 28, 24)  # longest first: an MA-S/MA-M block overrides its parent MA-L entry
MAX_REGISTRY_ROWS = 200_000  # per file; the 2022 MA-L list has ~32.5k rows
VENDOR_CACHE_SIZE = 65_536  # distinct organisation names whose short vendor name is cached
_HEX = re.compile(r"[0-9A-Fa-f]")
_UPPER_HEX = frozenset("0123456789ABCDEF")
ASSIGNMENT_DIGITS = {24: 6, 28: 7, 36: 9}  # hex digits of an assignment per registry prefix length
CACHE_FORMAT = 3  # version of generated/oui.json; bump when its layout changes
SPELLINGS_FORMAT = 1  # version of generated/vendor_spellings.json; bump when its layout changes


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
        if len(fast) == 12 and _UPPER_HEX.issuperset(fast):
            return fast
    digits = "".join(_HEX.findall(mac))
    rest = _HEX.sub("", mac).strip()
    if rest.strip(":-. ") or not 6 <= len(digits) <= 12:
        return None
    return digits.upper()


class VendorNames:
    """Organisation name -> short vendor name, from the alias table in ``vendor_aliases.yaml``. ``aliases`` (regex,
    vendor) and ``part_makers`` are case-insensitive regexes' sources, compiled when a name could match them
    (kb/aliases.py: compiling the ~220 at every start cost ~14 ms of it)."""

    def __init__(self, aliases: list[tuple[str, str]], suffixes: frozenset[str],
                 parents: dict[str, str] | None = None, part_makers: list[str] | None = None,
                 spellings: Iterable[str] = (), *, generic: frozenset[str] = frozenset()) -> None:
        self._aliases = Patterns([pattern for pattern, _ in aliases])
        self._alias_vendors = [vendor for _, vendor in aliases]
        self._suffixes = suffixes
        self._generic = generic  # words a name is never cut down to ('Server Technology' stays so)
        self._parents = dict(parents or {})
        self._part_makers = Patterns(list(part_makers or []))
        self.short = lru_cache(maxsize=VENDOR_CACHE_SIZE)(self._short)
        self.part_maker = lru_cache(maxsize=VENDOR_CACHE_SIZE)(self._part_maker)
        self.canonical = lru_cache(maxsize=VENDOR_CACHE_SIZE)(self._canonical)
        self._known = {v for _, v in aliases} | set(self._parents) | set(self._parents.values())
        self._ambiguous: set[str] = set()  # folded names rules spell two ways (two companies)
        self._folded = self._spellings(spellings)

    def _spellings(self, spellings: Iterable[str]) -> dict[str, str]:
        """Case-folded name -> the knowledge base's spelling of it: the table's own names (aliases, brand
        owners), then the names rules state (``spellings``) where the table has none; a folded name rules
        spell two ways (two companies: ODVA's 'Microcontrol' and 'MicroControl') is left out, each spelling
        kept as it is. A rule's name is shortened when it is looked up (:meth:`canonical`), not here: the
        registry's shortening of ~2,500 names would cost every start ~0.07 CPU s."""
        out = {v.casefold(): v for v in sorted(self._known)}
        stated: dict[str, set[str]] = defaultdict(set)
        for name in spellings:
            if name and (key := name.casefold()) not in out:
                stated[key].add(name)
        out.update((key, names.pop()) for key, names in stated.items() if len(names) == 1)
        self._ambiguous = {key for key, names in stated.items() if len(names) > 1}
        return out

    def add_registry_spellings(self, spellings: dict[str, str]) -> None:
        """The registry's one spelling of each vendor name its registrants spell in several cases ('Sonicwall',
        'SonicWall', 'SonicWALL'), case-folded name -> spelling (:func:`registry_spellings`): the lowest
        priority, under the table's and the rules' own spellings, and never for a folded name rules spell two
        ways (two companies)."""
        for key, spelling in spellings.items():
            if key not in self._folded and key not in self._ambiguous:
                self._folded[key] = spelling
        self.canonical.cache_clear()

    def _canonical(self, name: str) -> str:
        """A vendor name as rules and the registry spell it: a known short name is kept ('Google
        Nest'), any other is shortened like an organisation ('Hewlett-Packard' -> 'HP', 'EPSON' -> 'Epson'),
        and a name the knowledge base spells otherwise only in case takes its spelling (a Roku TV's host
        name '43onnRokuTV' and its device-info vendor-name 'Onn' both name 'onn.'), so that one vendor is never
        spelled two ways."""
        if name in self._known:
            return name
        spelled = self._folded.get(name.casefold())
        if spelled is None:
            short = self.short(name)
            spelled = self._folded.get(short.casefold())
            if spelled is None:
                return short
        return spelled if spelled in self._known else self.short(spelled)

    def is_generic(self, name: str) -> bool:
        """True for a name that is one generic word alone ('Control', 'Server'), never a vendor's name."""
        return len(words := name.split()) == 1 and words[0].lower().strip(".") in self._generic

    def owners(self, vendor: str) -> list[str]:
        """``vendor`` and the companies that own its brand, nearest first (``parents`` table)."""
        chain = [vendor]
        while chain[-1] in self._parents and self._parents[chain[-1]] not in chain:
            chain.append(self._parents[chain[-1]])
        return chain

    def related(self, a: str, b: str) -> bool:
        """True when one vendor name is the other or a brand it owns (Nest of Google, Ring of Amazon)."""
        return a in self.owners(b) or b in self.owners(a)

    def _part_maker(self, vendor: str) -> bool:
        """True for a maker of modules, chipsets or products sold under other brands (``part_makers``)."""
        return self._part_makers.first(vendor) is not None

    @classmethod
    def load(cls, path: Path | None = None, spellings: Iterable[str] = (), *, registry: bool = True) -> VendorNames:
        """The table in ``path`` (the shipped one by default); ``spellings``: vendor names rules state, each
        the one spelling of its name whatever the case (:meth:`canonical`). The shipped table comes with the
        registry's spellings (``generated/vendor_spellings.json``, :func:`read_spellings`) unless ``registry`` is
        False, whichever registry lists are used and whether or not one was read. The regexes of a table named
        by ``path`` are compiled here (ConfigError for a bad one); the shipped table's when first needed
        (tests/kb/test_aliases.py compiles each)."""
        shipped = path is None
        path = path or paths.VENDOR_ALIASES_FILE
        try:
            data = load_table(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read vendor aliases: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("aliases"), list):
            raise ConfigError(f"{path}: expected a mapping with an 'aliases' list")
        aliases: list[tuple[str, str]] = []
        for i, item in enumerate(data["aliases"]):
            if not isinstance(item, dict) or not isinstance(item.get("match"), str) or not item.get("vendor"):
                raise ConfigError(f"{path}: aliases[{i}]: needs 'match' (regex) and 'vendor'")
            aliases.append((item["match"], str(item["vendor"])))
            try:
                if not shipped:
                    re.compile(item["match"], re.IGNORECASE)
            except re.error as exc:
                raise ConfigError(f"{path}: aliases[{i}]: key 'match': bad regex: {exc}") from exc
        suffixes = frozenset(str(s).lower() for s in data.get("suffixes", []))
        generic = data.get("generic_words", []) or []
        if not isinstance(generic, list) or not all(isinstance(w, str) and w for w in generic):
            raise ConfigError(f"{path}: 'generic_words' must be a list of words")
        parents = data.get("parents", {}) or {}
        if not isinstance(parents, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                                    for k, v in parents.items()):
            raise ConfigError(f"{path}: 'parents' must map a brand name to its owner's name")
        makers: list[str] = []
        for i, item in enumerate(data.get("part_makers", []) or []):
            if not isinstance(item, str):
                raise ConfigError(f"{path}: part_makers[{i}]: expected a regex string")
            makers.append(item)
            try:
                if not shipped:
                    re.compile(item, re.IGNORECASE)
            except re.error as exc:
                raise ConfigError(f"{path}: part_makers[{i}]: bad regex: {exc}") from exc
        names = cls(aliases, suffixes, parents, makers, spellings, generic=frozenset(w.lower() for w in generic))
        if shipped and registry:
            names.add_registry_spellings(read_spellings())
        return names

    def _short(self, organization: str) -> str:
        name = " ".join(organization.split())
        alias = self._aliases.first(name)
        if alias is not None:
            return self._alias_vendors[alias]
        # generic clean-up: drop what follows the first comma ("Cisco Systems, Inc") and trailing
        # legal-form words ("Co.", "Ltd", "GmbH"), but never down to a generic word alone ("Server Technology,
        # Inc." is "Server Technology"), then de-shout all-caps names
        head = name.split(",")[0].strip()
        # the comma's legal form stays when the text before it is one generic word ('Energy, Inc.' is 'Energy Inc')
        name = " ".join(name.replace(",", " ").split()) if self.is_generic(head) and head != name else head
        words = name.split()
        while len(words) > 1 and words[-1].lower().strip(".") in self._suffixes:
            if len(words) == 2 and self.is_generic(words[0]):
                break
            words.pop()
        name = " ".join(words).strip(" .,")
        if name.isupper() and len(name) > 4:
            name = name.title()
        return name or organization.strip()


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
                    cached = _read_cache_data(shipped_dir, paths.GENERATED_OUI) or {}
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


def registry_file(filename: str, user_dir: Path, shipped_dir: Path) -> Path | None:
    """The user's copy of a registry file if installed, else the shipped gzip one."""
    for candidate in (user_dir / f"{filename}.gz", user_dir / filename, shipped_dir / f"{filename}.gz"):
        if candidate.is_file():
            return candidate
    return None


def shipped_digest(shipped_dir: Path | None = None) -> str:
    """sha256 over the shipped registry files (name and bytes, REGISTRIES order; a missing one is skipped)."""
    shipped_dir = shipped_dir or paths.OUI_DIR
    h = hashlib.sha256()
    for filename, _ in REGISTRIES.values():
        path = shipped_dir / f"{filename}.gz"
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def registry_spellings(organizations: Iterable[str], vendors: VendorNames) -> dict[str, str]:
    """Case-folded vendor name -> the one spelling of it, for each name the registrants' organisations shorten
    to in more than one case ('Sonicwall' 3 blocks, 'SonicWall' 2, 'SonicWALL' 1): a device on any of those
    blocks then shows one vendor, not three. The spelling chosen: one whose every word starts with a capital or
    a digit, not all capitals, then the one most blocks carry, then the first in sort order."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for org in organizations:
        short = vendors.short(org)
        counts[short.casefold()][short] += 1

    def rank(item: tuple[str, int]) -> tuple[bool, bool, int]:
        name, blocks = item
        return all(not w[0].islower() for w in name.split()), not name.isupper(), blocks

    # max keeps the first of equals: sorted, the earliest spelling in sort order
    return {key: max(sorted(spelt.items()), key=rank)[0] for key, spelt in sorted(counts.items()) if len(spelt) > 1}


def _shipped_rows(shipped_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Registry -> the rows of its shipped list as read_registry_csv reads them (a list not shipped left out)."""
    return {registry: read_registry_csv(path, bits) for registry, (filename, bits) in REGISTRIES.items()
            if (path := shipped_dir / f"{filename}.gz").is_file()}


def render_cache(shipped_dir: Path | None = None) -> str:
    """The text of ``generated/oui.json``: the shipped registries' rows as read_registry_csv reads them, per
    registry two lists (assignments, organisations), one registry a line, and the shipped files' digest."""
    shipped_dir = shipped_dir or paths.OUI_DIR
    lines = [f"{json.dumps(registry)}: " + json.dumps([[a for a, _ in rows], [o for _, o in rows]], ensure_ascii=False)
             for registry, rows in _shipped_rows(shipped_dir).items()]
    head = f'{{"format": {CACHE_FORMAT}, "digest": "{shipped_digest(shipped_dir)}", "registries": {{\n'
    return head + ",\n".join(lines) + "\n}}\n"


def render_spellings(shipped_dir: Path | None = None) -> str:
    """The text of ``generated/vendor_spellings.json``: the registry's spellings of the vendor names the shipped
    lists' registrants spell in several cases (:func:`registry_spellings`, one a line), with the shipped lists'
    digest (what ``kb check`` holds it to: it comes from them and from ``vendor_aliases.yaml``)."""
    shipped_dir = shipped_dir or paths.OUI_DIR
    # one organisation per block: a spelling's weight is how many blocks carry it
    organizations = [o for rows in _shipped_rows(shipped_dir).values() for _, o in rows]
    spellings = registry_spellings(organizations, VendorNames.load(registry=False))
    head = f'{{"format": {SPELLINGS_FORMAT}, "digest": "{shipped_digest(shipped_dir)}", "spellings": '
    return head + json.dumps(spellings, ensure_ascii=False, indent=0, sort_keys=True) + "}\n"


def read_spellings(path: Path | None = None) -> dict[str, str]:
    """The registry's spellings from ``generated/vendor_spellings.json`` (case-folded name -> spelling); empty
    when it is missing, unreadable or of another format. Its digest is not checked here: hashing the ~1.5 MB of
    lists would cost every start ~3 ms, and ``kb check`` (CI) fails when the file is stale."""
    try:
        data = json.loads((path or paths.GENERATED_SPELLINGS).read_text(encoding="utf-8"))
        spellings = data["spellings"] if data.get("format") == SPELLINGS_FORMAT else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    if not isinstance(spellings, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in spellings.items()):
        return {}
    return spellings


def _read_cache_data(shipped_dir: Path | None, path: Path) -> dict[str, Any] | None:
    """``generated/oui.json`` parsed and checked; None when it is missing, unreadable, of another format or not
    made from the files now in ``shipped_dir``."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))  # not a dict: .get fails below
        if data.get("format") != CACHE_FORMAT or data.get("digest") != shipped_digest(shipped_dir):
            return None
        registries = data["registries"]
        if not isinstance(registries, dict) or not all(
                isinstance(v, list) and len(v) == 2 and len(v[0]) == len(v[1]) for v in registries.values()):
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def read_cache(shipped_dir: Path | None = None, path: Path | None = None) -> dict[str, list[list[str]]] | None:
    """The parsed shipped registries from ``generated/oui.json``; None when it is missing, unreadable or not
    made from the files now in ``shipped_dir`` (the caller then parses the CSV files)."""
    data = _read_cache_data(shipped_dir, path or paths.GENERATED_OUI)
    return None if data is None else data["registries"]


def cache_problem(path: Path | None = None) -> str | None:
    """Why ``generated/oui.json`` is stale (None when it is what the shipped registry files parse to)."""
    return generated.problem(path or paths.GENERATED_OUI, render_cache)


def write_cache(path: Path | None = None) -> None:
    """Regenerate ``generated/oui.json`` from the shipped registry files."""
    generated.write(path or paths.GENERATED_OUI, render_cache())


def spellings_problem(path: Path | None = None) -> str | None:
    """Why ``generated/vendor_spellings.json`` is stale (None when it is what the shipped lists and vendor table
    make)."""
    return generated.problem(path or paths.GENERATED_SPELLINGS, render_spellings)


def write_spellings(path: Path | None = None) -> None:
    """Regenerate ``generated/vendor_spellings.json`` from the shipped registry files and vendor table."""
    generated.write(path or paths.GENERATED_SPELLINGS, render_spellings())


def read_registry_csv(path: Path, bits: int) -> list[tuple[str, str]]:
    """(assignment hex, organisation) rows of one IEEE registry CSV (plain or gzip).

    Raises ConfigError naming the file when it is not an IEEE registry CSV.
    """
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read IEEE registry: {exc}") from exc
    return parse_registry_csv(text, bits, str(path))


def _csv_rows(text: str, origin: str) -> list[list[str]]:
    """The rows of a CSV text (RFC 4180: CR, LF or CRLF end a record); ConfigError naming the line where it stops
    being CSV (a quote left open past csv's field limit, ...), which escaped as ``_csv.Error``, an internal error."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as exc:
        raise ConfigError(f"{origin}:{reader.line_num}: not CSV: {exc}") from None


def parse_registry_csv(text: str, bits: int | None, origin: str) -> list[tuple[str, str]]:
    """Rows of an IEEE registry CSV text; ``bits`` None accepts any registry's prefix length."""
    reader = iter(_csv_rows(text, origin))
    header = next(reader, None)
    if not header or [h.strip() for h in header[:3]] != ["Registry", "Assignment", "Organization Name"]:
        raise ConfigError(f"{origin}: not an IEEE registry CSV (header 'Registry,Assignment,Organization Name')")
    rows: list[tuple[str, str]] = []
    digits = ASSIGNMENT_DIGITS.get(bits) if bits else None  # once per file: this loop runs ~50k times a start
    for lineno, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(rows) >= MAX_REGISTRY_ROWS:
            raise ConfigError(f"{origin}: more than {MAX_REGISTRY_ROWS} rows (MAX_REGISTRY_ROWS)")
        if len(row) < 3:
            raise ConfigError(f"{origin}:{lineno}: expected at least 3 columns")
        assignment = row[1].strip().upper()
        want = digits if bits else len(assignment)
        if len(assignment) != want or not _UPPER_HEX.issuperset(assignment):
            raise ConfigError(f"{origin}:{lineno}: bad assignment {row[1]!r} for a {bits}-bit registry")
        rows.append((assignment, row[2].strip()))
    return rows


def registry_of(text: str) -> str | None:
    """The registry name (MA-L, MA-M, MA-S, IAB) of the first data row of a registry CSV text."""
    reader = csv.reader(io.StringIO(text))
    try:
        next(reader, None)
        for row in reader:
            if row:
                return row[0].strip() if row[0].strip() in REGISTRIES else None
    except csv.Error:  # NUL bytes, broken quoting: not a registry CSV
        return None
    return None

