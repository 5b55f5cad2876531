"""Vendor names: an organisation's short vendor name (the table ``vendor_aliases.yaml``), brand owners and part
makers, and the registry's one spelling of each vendor name its registrants spell in several cases."""

# Organisation names are shortened to a vendor name by the data table ``vendor_aliases.yaml``, never by code.
# The registry's one spelling of each vendor name its registrants spell in several cases is kept apart, in the
# small ``generated/vendor_spellings.json`` that the shipped vendor table is loaded with (VendorNames.load), so a
# vendor is named the same whether or not the process has read the registry (a Zeek-only run never does).

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml

from iotwarden.errors import ConfigError
from iotwarden.kb import paths
from iotwarden.kb.aliases import Patterns
from iotwarden.kb.parsed import load_table

VENDOR_CACHE_SIZE = 65_536  # distinct organisation names whose short vendor name is cached
SPELLINGS_FORMAT = 1  # version of generated/vendor_spellings.json; bump when its layout changes


class VendorNames:
    """Organisation name -> short vendor name, from the alias table in ``vendor_aliases.yaml``. ``aliases`` (regex,
    vendor) and ``part_makers`` are case-insensitive regexes' sources, compiled when a name could match them
    (kb/aliases.py: compiling the ~220 at every start cost ~14 ms of it)."""

    def __init__(self, aliases: list[tuple[str, str]], suffixes: frozenset[str],
                 parents: dict[str, str | list[str]] | None = None, part_makers: list[str] | None = None,
                 spellings: Iterable[str] = (), *, generic: frozenset[str] = frozenset()) -> None:
        self._aliases = Patterns([pattern for pattern, _ in aliases])
        self._alias_vendors = [vendor for _, vendor in aliases]
        self._suffixes = suffixes
        self._generic = generic  # words a name is never cut down to ('Server Technology' stays so)
        # brand -> its owners, nearest first: one company, or a company that was a group's before it was sold
        # (Samsung Techwin: Samsung's, then Hanwha's), its goods carrying either's name
        self._parents = {k: [v] if isinstance(v, str) else list(v) for k, v in (parents or {}).items()}
        self._part_makers = Patterns(list(part_makers or []))
        self.short = lru_cache(maxsize=VENDOR_CACHE_SIZE)(self._short)
        self.part_maker = lru_cache(maxsize=VENDOR_CACHE_SIZE)(self._part_maker)
        self.canonical = lru_cache(maxsize=VENDOR_CACHE_SIZE)(self._canonical)
        self._known = {v for _, v in aliases} | set(self._parents) | {o for vs in self._parents.values() for o in vs}
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
        """``vendor`` and the companies that own or owned its brand, nearest first (``parents`` table; where a brand
        has several owners, each in the table's order, the last its present owner's line)."""
        chain = [vendor]
        for name in chain:  # grows while read: breadth first, each company once
            chain.extend(o for o in self._parents.get(name, ()) if o not in chain)
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
        if not isinstance(parents, dict) or not all(
                isinstance(k, str) and v and (isinstance(v, str) or (isinstance(v, list)
                                                                  and all(isinstance(o, str) and o for o in v)))
                for k, v in parents.items()):
            raise ConfigError(f"{path}: 'parents' must map a brand name to its owner's name or a list of them")
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
