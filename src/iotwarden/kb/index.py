"""The compiled knowledge base: rules indexed per attribute for fast lookup, with the evidence kept."""

# ``KnowledgeBase.load()`` (cached) reads the compiled index ``kb/data/generated/index.json`` when
# its digest matches the rule sources (like Home Assistant's ``generated/*.py``), else compiles the
# YAML rules; rule files in the user data dir (``<home>/rules/*.yaml``) are added on top.
# ``kb.match(attribute, value)`` returns :class:`Match` records: rule id, conclusions (regex groups
# substituted), weight and reference, so a classifier can explain every conclusion. A rule with
# ``requires`` (schema.Condition) holds only on a whole device: ``match_device`` keeps its match when
# every condition matches one of the device's values too (the MAC address as ``mac.address``);
# ``match`` of one value leaves such rules out. A rule with ``unless`` holds only on a device none of whose
# values matches any of those conditions; ``match`` of one value (no device: nothing to exclude) keeps it.

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from iotwarden.errors import ConfigError
from iotwarden.kb import paths
from iotwarden.kb.compiled import (
    INDEX_FORMAT,
    compile_rules,
    index_problem,
    load_shipped_rules,
    render_index,
    source_digest,
    source_files,
    write_index,
)
from iotwarden.kb.oui import OuiRegistry, VendorNames, mac_hex
from iotwarden.kb.schema import (
    Attribute,
    Condition,
    Rule,
    RuleValidator,
    canonical_list,
    load_attributes,
    rule_files,
    set_key,
)
from iotwarden.kb.taxonomy import Taxonomy
from iotwarden.kb.tcpsig import P0fSignature
from iotwarden.model.observation import key_value_texts

# the compiled index's names (kb/compiled.py, split from this module) stay importable from here
__all__ = ["INDEX_FORMAT", "MAX_MATCH_MEMO", "MAX_VALUES_PER_CALL", "MAX_VALUE_LENGTH", "KnowledgeBase", "Match",
           "compile_rules", "index_problem", "render_index", "source_digest", "source_files", "write_index"]

MAX_VALUES_PER_CALL = 1_000  # values of one attribute matched per match() call; the rest are ignored
MAX_VALUE_LENGTH = 4_096  # characters of an observed value looked at (banners can be long)
# (attribute, value text) pairs whose matches are remembered: the classifier asks about a device's
# same values again at every pass, and many devices share values (a vendor's DHCP options, its cloud
# names); past the limit the memo starts again empty
MAX_MATCH_MEMO = 65_536
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Match:
    """One piece of evidence: ``rule_id`` matched ``value`` of ``attribute``."""

    rule_id: str
    attribute: str
    value: str
    conclusions: Mapping[str, str]
    weight: float
    reference: str
    file: str
    behaviour: str = ""  # the rule's ``behaviour`` (schema.BEHAVIOURS): evidence of what the device did

    def to_dict(self) -> dict[str, Any]:
        out = {"rule_id": self.rule_id, "attribute": self.attribute, "value": self.value,
               "conclusions": dict(self.conclusions), "weight": self.weight,
               "reference": self.reference, "file": self.file}
        if self.behaviour:
            out["behaviour"] = self.behaviour
        return out


@dataclass(slots=True)
class _AttributeIndex:
    """Lookup tables of one attribute. Keys of ``*_ci`` tables are lower-cased."""

    type: str
    exact: dict[str, list[Rule]] = field(default_factory=lambda: defaultdict(list))
    exact_ci: dict[str, list[Rule]] = field(default_factory=lambda: defaultdict(list))
    prefix: dict[str, list[Rule]] = field(default_factory=lambda: defaultdict(list))
    prefix_ci: dict[str, list[Rule]] = field(default_factory=lambda: defaultdict(list))
    suffix: dict[str, list[Rule]] = field(default_factory=lambda: defaultdict(list))
    suffix_ci: dict[str, list[Rule]] = field(default_factory=lambda: defaultdict(list))
    domain: dict[str, list[Rule]] = field(default_factory=lambda: defaultdict(list))
    set_equal: dict[str, list[Rule]] = field(default_factory=lambda: defaultdict(list))
    contains: list[tuple[str, Rule]] = field(default_factory=list)
    # the regex rules as (pattern, flags, rule), compiled into ``regex`` at the attribute's first lookup
    # (``regex_stale``): a start-up pays only for the attributes its run sees (the ~900 shipped regexes
    # compiled at every start took ~0.1 CPU s)
    regex_sources: list[tuple[str, int, Rule]] = field(default_factory=list)
    regex: list[tuple[re.Pattern[str], Rule]] = field(default_factory=list)
    regex_stale: bool = False
    p0f: dict[str, list[tuple[P0fSignature, Rule]]] = field(default_factory=lambda: defaultdict(list))
    prefix_lengths: list[int] = field(default_factory=list)
    suffix_lengths: list[int] = field(default_factory=list)

    def add(self, rule: Rule) -> None:
        ci = rule.ignore_case
        for value in rule.values:
            if rule.how == "exact":
                key = value.lower() if ci or self.type == "domain" else value
                (self.exact_ci if ci or self.type == "domain" else self.exact)[key].append(rule)
            elif rule.how == "prefix":
                if self.type in ("oid", "list"):  # whole arcs/items: 1.3.6.1.4.1.9 must not match ...4.1.99
                    self.domain[value].append(rule)
                else:
                    (self.prefix_ci if ci else self.prefix)[value.lower() if ci else value].append(rule)
            elif rule.how == "suffix":
                (self.suffix_ci if ci else self.suffix)[value.lower() if ci else value].append(rule)
            elif rule.how == "domain":
                self.domain[value.lower().strip(".")].append(rule)
            elif rule.how == "set_equal":
                self.set_equal[value].append(rule)
            elif rule.how == "contains":
                self.contains.append((value.lower() if ci else value, rule))
            elif rule.how == "regex":
                self.regex_sources.append((value, re.IGNORECASE if ci else 0, rule))
                self.regex_stale = True
            elif rule.how == "p0f":
                sig = P0fSignature.parse(value)
                self.p0f[sig.layout_key()].append((sig, rule))

    def finish(self) -> None:
        self.prefix_lengths = sorted({len(k) for k in (*self.prefix, *self.prefix_ci)}, reverse=True)
        self.suffix_lengths = sorted({len(k) for k in (*self.suffix, *self.suffix_ci)}, reverse=True)

    def compile_regexes(self) -> None:
        """Compile ``regex_sources`` into ``regex``, in the order added. Idempotent and swapped in whole, so
        safe while another thread looks up (it sees the old list or the new one, at worst compiles too)."""
        self.regex = [(re.compile(value, flags), rule) for value, flags, rule in self.regex_sources]
        self.regex_stale = False

    def lookup(self, value: str) -> list[tuple[Rule, re.Match[str] | None]]:
        """Every rule of this attribute that matches the canonical ``value``."""
        if self.regex_stale:
            self.compile_regexes()
        hits: list[tuple[Rule, re.Match[str] | None]] = []
        low = value.lower()
        for rule in self.exact.get(value, ()):
            hits.append((rule, None))
        for rule in self.exact_ci.get(low, ()):
            hits.append((rule, None))
        for n in self.prefix_lengths:
            if n <= len(value):
                hits.extend((r, None) for r in self.prefix.get(value[:n], ()))
                hits.extend((r, None) for r in self.prefix_ci.get(low[:n], ()))
        for n in self.suffix_lengths:
            if n <= len(value):
                hits.extend((r, None) for r in self.suffix.get(value[-n:], ()))
                hits.extend((r, None) for r in self.suffix_ci.get(low[-n:], ()))
        if self.domain:
            sep = "," if self.type == "list" else "."
            labels = (low if self.type == "domain" else value).strip(sep).split(sep)
            if self.type == "domain":  # the name itself and each parent domain
                candidates = [sep.join(labels[i:]) for i in range(len(labels))]
            else:  # leading OID arcs (1, 1.3, 1.3.6, ...) or leading list items (1, 1,3, ...)
                candidates = [sep.join(labels[: i + 1]) for i in range(len(labels))]
            for cand in candidates:
                hits.extend((r, None) for r in self.domain.get(cand, ()))
        if self.set_equal:
            hits.extend((r, None) for r in self.set_equal.get(set_key(value), ()))
        for needle, rule in self.contains:
            if needle in (low if rule.ignore_case else value):
                hits.append((rule, None))
        for pattern, rule in self.regex:
            m = pattern.search(value)
            if m is not None:
                hits.append((rule, m))
        if self.p0f:
            try:
                seen = P0fSignature.parse(value)
            except ValueError:
                return hits
            hits.extend((r, None) for sig, r in self.p0f.get(seen.layout_key(), ()) if sig.matches(seen))
        return hits


def _substitute(conclusions: dict[str, str], m: re.Match[str] | None) -> dict[str, str] | None:
    """Conclusions with ``{1}`` / ``{name}`` replaced by regex groups; a missing group drops the key."""
    if m is None:
        return conclusions
    out: dict[str, str] = {}
    for key, template in conclusions.items():
        missing = False

        def group(ref: re.Match[str], _m: re.Match[str] = m) -> str:
            nonlocal missing
            name = ref.group(1)
            text = _m.group(int(name) if name.isdigit() else name)
            if not text:
                missing = True
                return ""
            return str(text).strip()

        value = _PLACEHOLDER.sub(group, template)
        if not missing and value:
            out[key] = value
    return out


class KnowledgeBase:
    """Rules indexed by attribute, the taxonomy and the OUI registry (loaded on first use)."""

    def __init__(self, rules: list[Rule], attributes: dict[str, Attribute], taxonomy: Taxonomy) -> None:
        self.rules = rules
        self.attributes = attributes
        self.taxonomy = taxonomy
        self._by_id = {r.id: r for r in rules}
        # attribute -> its rules in order; an attribute's lookup tables (and a rule's condition tables) are
        # built at its first lookup, so a start pays only for the attributes its run sees (building all ~230
        # took ~5 ms of every start). An attribute unknown to ``attributes`` is a KeyError here, as before.
        self._rules_of: dict[str, list[Rule]] = {}
        for rule in rules:
            for name in rule.attributes:
                listed = self._rules_of.get(name)
                if listed is None:
                    if name not in attributes:
                        raise KeyError(name)
                    listed = self._rules_of[name] = []
                listed.append(rule)
            for condition in (*rule.requires, *rule.unless):
                if condition.attribute not in attributes:
                    raise KeyError(condition.attribute)
        self._index: dict[str, _AttributeIndex] = {}
        # rule id -> one single-rule index per condition of its ``requires``, and of its ``unless`` (built at the
        # rule's first check)
        self._conditions: dict[str, list[tuple[Condition, _AttributeIndex]]] = {}
        self._exclusions: dict[str, list[tuple[Condition, _AttributeIndex]]] = {}
        # (attribute, text) -> its matches, each with its rule when the rule has ``requires`` or ``unless`` (held
        # only on a device meeting them); up to MAX_MATCH_MEMO pairs (see _text_matches)
        self._memo: dict[tuple[str, str], tuple[tuple[Match, Rule | None], ...]] = {}

    def _index_of(self, attribute: str) -> _AttributeIndex | None:
        """The lookup tables of ``attribute`` (None when no rule matches it), built at its first lookup. Safe
        while another thread looks up: both may build them, each the same, and one is kept."""
        idx = self._index.get(attribute)
        if idx is None:
            rules = self._rules_of.get(attribute)
            if rules is None:
                return None
            idx = _AttributeIndex(self.attributes[attribute].type)
            for rule in rules:
                idx.add(rule)
            idx.finish()
            self._index[attribute] = idx
        return idx

    _cached: KnowledgeBase | None = None

    @classmethod
    def load(cls, *, user_rules: Path | None = None, refresh: bool = False) -> KnowledgeBase:
        """The knowledge base (cached after the first call unless ``refresh``)."""
        if cls._cached is not None and not refresh and user_rules is None:
            return cls._cached
        attributes = load_attributes()
        taxonomy = Taxonomy.load()
        rules = load_shipped_rules(attributes, taxonomy)
        extra_dir = user_rules if user_rules is not None else paths.user_data_dir() / "rules"
        extra = rule_files(extra_dir)
        if extra:
            validator = RuleValidator(attributes, taxonomy)
            known = {r.id for r in rules}
            for rule in validator.load_files(extra):
                if rule.id in known:
                    raise ConfigError(f"{extra_dir}/{rule.file}: rule {rule.id!r}: key 'id': "
                                      "duplicates a shipped rule")
                rules.append(rule)
        kb = cls(rules, attributes, taxonomy)
        if user_rules is None:
            cls._cached = kb
        return kb

    @cached_property
    def vendor_names(self) -> VendorNames:
        """The vendor name table (aliases, brand owners, part makers), the registry's own (:attr:`oui`
        names vendors with it): read without the registry, whose ~50k rows a run whose devices show no
        MAC address (a Zeek conn.log) never needs. The vendor names rules state are its spellings: a name
        stated in another case (a host name's, a device's) is read as the rules spell it; under them the
        registry's one spelling of a name its registrants spell in several cases ('3COM' -> '3Com'), which
        comes with the table (generated/vendor_spellings.json), so it names vendors before the registry is read
        as after."""
        stated = {v for r in self.rules if (v := r.conclusions.get("vendor")) and "{" not in v}
        return VendorNames.load(spellings=stated)

    @cached_property
    def oui(self) -> OuiRegistry:
        return OuiRegistry.load(vendors=self.vendor_names)

    def rule(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def attributes_indexed(self) -> list[str]:
        return sorted(self._rules_of)

    def match(self, attribute: str, value: Any) -> list[Match]:
        """Evidence for one observed value (str, int, list or dict) of ``attribute``.

        A list is one value for list-typed attributes (DHCP option 55) and several values
        otherwise; a dict (mDNS TXT) is matched as ``key=value`` strings, one per value of a key
        holding a list. Results are sorted by weight (highest first), then rule id.
        """
        return self._match(attribute, value, None)

    def _match(self, attribute: str, value: Any, device: Mapping[str, Iterable[Any]] | None) -> list[Match]:
        """``match``; a rule with ``requires`` or ``unless`` is kept when ``device`` meets its conditions (a rule with
        ``unless`` alone is kept with no device)."""
        idx = self._index_of(attribute)
        if idx is None or value is None:
            return []
        out: list[Match] = []
        for text in self._canonical_values(idx.type, value):
            for match, conditional in self._text_matches(attribute, idx, text):
                if conditional is not None and not self._meets(conditional, device or {}):
                    continue
                out.append(match)
        out.sort(key=lambda x: (-x.weight, x.rule_id, x.value))
        return out

    def _text_matches(self, attribute: str, idx: _AttributeIndex, text: str) -> tuple[tuple[Match, Rule | None], ...]:
        """The matches of one canonical ``text``, in lookup order, each with its rule when that rule
        has ``requires`` or ``unless`` (to be checked per device); remembered, since they depend on the text alone
        (Match records are frozen, so one serves every caller). The memo is bounded by
        MAX_MATCH_MEMO: full, it is emptied (one step, safe while another thread reads it)."""
        key = (attribute, text)
        found = self._memo.get(key)
        if found is None:
            found = tuple(
                (Match(rule.id, attribute, text, MappingProxyType(conclusions), rule.weight, rule.reference,
                       rule.file, rule.behaviour), rule if rule.requires or rule.unless else None)
                for rule, m in idx.lookup(text)
                if (conclusions := _substitute(rule.conclusions, m)))
            if len(self._memo) >= MAX_MATCH_MEMO:
                self._memo.clear()
            self._memo[key] = found
        return found

    def match_device(self, attributes: Mapping[str, Iterable[Any]], mac: str | None = None) -> list[Match]:
        """Evidence for every attribute value of a device (``Device.attributes``), deduplicated.

        With ``mac``, the registry vendor of a globally administered MAC is matched as
        ``mac.oui_vendor`` too, and a globally administered MAC itself as ``mac.address`` (12
        upper-case hex digits: a locally administered one has no registry prefix to match).
        """
        seen: set[tuple[str, str]] = set()
        out: list[Match] = []
        items: dict[str, Iterable[Any]] = dict(attributes)
        if mac is not None:
            info = self.oui.info(mac)
            if info is not None and info.vendor:
                items["mac.oui_vendor"] = [info.vendor]
            digits = mac_hex(mac) if info is not None and not info.locally_administered else None
            if digits:
                items["mac.address"] = [digits]
        for attribute, values in items.items():
            if attribute not in self._rules_of:
                continue
            for value in list(values)[:MAX_VALUES_PER_CALL]:
                for hit in self._match(attribute, value, items):
                    if (hit.rule_id, hit.value) not in seen:
                        seen.add((hit.rule_id, hit.value))
                        out.append(hit)
        out.sort(key=lambda x: (-x.weight, x.rule_id, x.value))
        return out

    def _meets(self, rule: Rule, device: Mapping[str, Iterable[Any]]) -> bool:
        """Whether ``device`` has, for each condition of ``rule.requires``, a value matching it, and for no
        condition of ``rule.unless`` one."""
        conditions = self._conditions.get(rule.id)
        if conditions is None:
            conditions = self._conditions[rule.id] = self._indexed(rule.requires)
        exclusions = self._exclusions.get(rule.id)
        if exclusions is None:
            exclusions = self._exclusions[rule.id] = self._indexed(rule.unless)
        return (all(self._has(device, condition, idx) for condition, idx in conditions)
                and not any(self._has(device, condition, idx) for condition, idx in exclusions))

    def _indexed(self, conditions: tuple[Condition, ...]) -> list[tuple[Condition, _AttributeIndex]]:
        return [(c, _condition_index(c, self.attributes[c.attribute].type)) for c in conditions]

    def _has(self, device: Mapping[str, Iterable[Any]], condition: Condition, idx: _AttributeIndex) -> bool:
        """Whether one of ``device``'s values of the condition's attributes matches it."""
        return any(idx.lookup(text)
                   for name in condition.attributes
                   for value in list(device.get(name, ()))[:MAX_VALUES_PER_CALL]
                   for text in self._canonical_values(idx.type, value))

    @staticmethod
    def _canonical_values(type_: str, value: Any) -> list[str]:
        if type_ == "list":
            try:
                text = canonical_list(value)
            except (TypeError, ValueError):  # a list that is not all integers matches nothing
                return []
            return [text] if text else []
        if isinstance(value, dict):
            items: list[Any] = key_value_texts(value.items())
        elif isinstance(value, list | tuple | set | frozenset):
            items = list(value)
        else:
            items = [value]
        out: list[str] = []
        for item in items[:MAX_VALUES_PER_CALL]:
            if isinstance(item, bool) or item is None:
                continue
            text = str(item)[:MAX_VALUE_LENGTH]
            if type_ == "oid":
                text = text.strip().lstrip(".")
            out.append(text)
        return out


def _condition_index(condition: Condition, type_: str) -> _AttributeIndex:
    """A lookup table holding one condition alone, so it matches exactly as a rule's ``match`` does."""
    idx = _AttributeIndex(type_)
    idx.add(Rule(id="condition", attribute=condition.attribute, how=condition.how, values=condition.values,
                 conclusions={}, weight=0.0, reference="", ignore_case=condition.ignore_case))
    idx.finish()
    return idx
