"""The rule file format: validation of ``kb/data/rules/*.yaml`` against the attribute vocabulary."""

# A rule file is ``{source: ..., rules: [...]}``; each rule is::
#
#     id: dhcp.vendor_class.msft          # unique across all files: [a-z0-9][a-z0-9_.:-]*
#     match: {attribute: dhcp.vendor_class, exact: "MSFT 5.0", ignore_case: false}
#                                         # attribute may list several of one type: [tls.sni, dns.qname]
#     conclusions: {vendor: Microsoft, os: Windows}
#     weight: 0.6                         # 0..1: how much this evidence alone is worth
#     reference: "[MS-DHCPE] §2.2.8.1"    # where the knowledge comes from
#     comment: optional free text
#     requires: [{attribute: mac.address, prefix: "00177A"}]
#                                         # optional: further matches the same device must also
#                                         # have (AND), each written like ``match``
#     unless: [{attribute: snmp.sys_object_id, prefix: "1.3.6.1.4.1.318.1.3.14"}]
#                                         # optional: matches that, any one of them on the same
#                                         # device, take the rule's evidence away (NOT), each
#                                         # written like ``match``
#     behaviour: ot_operation             # optional: the evidence is what the device did, not what
#                                         # it is (one of :data:`BEHAVIOURS`)
#
# ``match`` holds exactly one of the match types allowed for the attribute's type (see
# :data:`MATCH_TYPES`). Conclusion values of ``regex`` rules may name groups: ``{1}`` or
# ``{name}`` (of ``match`` only). ``requires`` is how a rule says "host name glob AND MAC prefix"
# (Home Assistant's DHCP matchers) or "service type AND TXT property": the rule is evidence only
# for a device that has a value matching ``match`` and one matching each condition.
# ``unless`` is how a rule says "this text, but not on that product": the rule is evidence only for a
# device with no value matching any of its conditions (an APC network card's sysDescr reads as a UPS's
# unless the card's sysObjectID is one of APC's cooling, PDU, monitor or transfer-switch arcs); a lone
# value, with no device to look at, meets it.
# ``behaviour`` marks a rule whose evidence is a request the device sent that any host could send
# (an attacker's tool included), so it types the device without vouching for it: the classifier weighs
# it like any rule, and the risk.ot.* checks do not let a type resting only on such evidence authorise
# the very requests it was drawn from (risk/checks/ot_operations.py). ``app_reachable`` marks a brand's
# cloud name: the classifier counts it only for a device that is not a controller of other brands' goods.
# ``printer_announcement`` marks a printer's Bonjour evidence, which the classifier counts only for a device
# announcing no ``print_sharing`` key (a computer sharing a printer's queue announces the printer's), and on a
# device showing an IT machine (its system, a computer's kind, a browser) only beside a sign of a printer's own.
# Every error names the file, the rule id and the key (:class:`~iotwarden.errors.ConfigError`).

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from iotwarden.errors import ConfigError
from iotwarden.kb import paths
from iotwarden.kb.parsed import load_table
from iotwarden.kb.taxonomy import CATEGORIES, Taxonomy
from iotwarden.kb.tcpsig import P0fSignature

CONCLUSION_KEYS = ("vendor", "model", "device_type", "os", "os_version", "firmware", "category")
# attribute type -> match types allowed on it
MATCH_TYPES: dict[str, tuple[str, ...]] = {
    "text": ("exact", "prefix", "suffix", "contains", "regex"),
    "domain": ("exact", "domain", "prefix", "regex"),
    "list": ("exact", "set_equal", "prefix"),
    "int": ("exact",),
    "oid": ("exact", "prefix"),
    "tcpsig": ("p0f",),
}
ALL_MATCH_TYPES = frozenset(m for ms in MATCH_TYPES.values() for m in ms)
RULE_KEYS = frozenset({"id", "match", "conclusions", "weight", "reference", "comment", "requires", "unless",
                       "behaviour"})
# ``behaviour`` values: evidence of what a device did, which any client can do, never of what it is
BEHAVIOURS = {
    # an OT request that changes a controller or its program (a stop, a download, an upload, a
    # reservation for one): the risk.ot.* checks judge such requests (model/otops.py)
    "ot_operation": "OT requests that stop, program or read the program of a controller",
    # a connection parameter every client library of the protocol sets, by default or on request
    # (the S7 connection resource class of a TSAP: Snap7 Cli_SetConnectionType, default PG)
    "ot_connection": "a connection resource any client of the protocol may ask for",
    # a brand's cloud name (tls.sni / dns.qname) that the brand's app on a phone, tablet or computer, or
    # a hub's or home-automation server's integration, reaches as the brand's own goods do: evidence of
    # the device's brand only when the device is not such a controller (inventory/classifier.py)
    "app_reachable": "a brand's cloud that its app or a home-automation integration reaches too",
    # a printer's Bonjour service or TXT key (_ipp._tcp, _printer._tcp, ty=, product=): a computer sharing
    # a printer's queue announces them too, on its own record, for that printer (CUPS scheduler/dirsvc.c
    # dnssdRegisterPrinter): evidence of a printer only on a device that shows no print_sharing key, and on one that
    # shows an IT machine only beside a printer's own sign (usb_MFG, _pdl-datastream, a printer's SNMP or web server)
    "printer_announcement": "a printer's Bonjour service or TXT key, which a host sharing that printer announces too",
    # a TXT key only a print scheduler sharing a queue announces (CUPS: rp=printers/<queue>, printer-type): the
    # device shares a printer, and its printer_announcement evidence is that printer's (inventory/classifier.py)
    "print_sharing": "a TXT key only a host sharing a print queue announces (CUPS's rp=printers/<queue>, printer-type)",
    # a type read from the operating system's edition or build (a build only client Windows has): embedded editions
    # share it (Windows IoT Enterprise in panel PCs, HMIs, modality consoles), so the classifier lets it yield on a
    # device whose evidence names OT, medical or building automation (inventory/classifier.py IT_SYSTEM)
    "it_system": "a type read from the system's edition or build, which embedded editions (OT, medical hosts) share",
}
MAX_REQUIRES = 8  # conditions of one rule's ``requires``, and of its ``unless``
MAX_RULES_PER_FILE = 50_000  # an imported database is a few thousand; more is a mistake
MAX_PATTERN_LENGTH = 1_000  # characters of one match value or regex
_ID = re.compile(r"^[a-z0-9][a-z0-9_.:\-]*$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    type: str
    source: str


@dataclass(frozen=True, slots=True)
class Condition:
    """One further test a rule requires of the same device (a ``requires`` item): like ``match``."""

    attribute: str
    how: str
    values: tuple[str, ...]
    ignore_case: bool = False
    also: tuple[str, ...] = ()

    @property
    def attributes(self) -> tuple[str, ...]:
        return (self.attribute, *self.also)

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "how": self.how, "values": list(self.values),
                "ignore_case": self.ignore_case, "also": list(self.also)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Condition:
        return cls(attribute=data["attribute"], how=data["how"], values=tuple(data["values"]),
                   ignore_case=bool(data.get("ignore_case")), also=tuple(data.get("also", ())))


@dataclass(slots=True)
class Rule:
    """One validated rule; ``values`` are the match values (several for a list of exact values)."""

    id: str
    attribute: str  # the first of ``attributes``
    how: str
    values: tuple[str, ...]
    conclusions: dict[str, str]
    weight: float
    reference: str
    ignore_case: bool = False
    comment: str = ""
    file: str = ""
    also: tuple[str, ...] = ()  # further attributes of the same type the rule applies to
    requires: tuple[Condition, ...] = ()  # further matches the same device must have (AND)
    behaviour: str = ""  # one of BEHAVIOURS when the evidence is what the device did; "" otherwise
    unless: tuple[Condition, ...] = ()  # matches none of which the same device may have (NOT)

    @property
    def attributes(self) -> tuple[str, ...]:
        return (self.attribute, *self.also)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id, "attribute": self.attribute, "how": self.how, "values": list(self.values),
            "conclusions": dict(self.conclusions), "weight": self.weight, "reference": self.reference,
            "ignore_case": self.ignore_case, "comment": self.comment, "file": self.file, "also": list(self.also),
        }
        if self.requires:  # only when present: the compiled lines of other rules stay as they were
            out["requires"] = [c.to_dict() for c in self.requires]
        if self.behaviour:  # likewise
            out["behaviour"] = self.behaviour
        if self.unless:  # likewise
            out["unless"] = [c.to_dict() for c in self.unless]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        # run for each of the ~3,900 compiled rules at every start: arguments by position, in the fields' order (8 -> 5
        # ms a start), no generator for the few with ``requires`` or ``unless``
        get = data.get
        requires, unless = get("requires"), get("unless")
        return cls(data["id"], data["attribute"], data["how"], tuple(data["values"]), dict(data["conclusions"]),
                   float(data["weight"]), data["reference"], bool(get("ignore_case")), get("comment", ""),
                   get("file", ""), tuple(get("also", ())),
                   tuple(map(Condition.from_dict, requires)) if requires else (), str(get("behaviour", "")),
                   tuple(map(Condition.from_dict, unless)) if unless else ())


def load_attributes(path: Path | None = None) -> dict[str, Attribute]:
    path = path or paths.ATTRIBUTES_FILE
    data = _read_yaml(path, table=True)
    table = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a mapping with an 'attributes' mapping")
    out: dict[str, Attribute] = {}
    for name, spec in table.items():
        if not isinstance(spec, dict) or spec.get("type") not in MATCH_TYPES:
            raise ConfigError(f"{path}: attribute {name!r}: key 'type' must be one of {sorted(MATCH_TYPES)}")
        if "." not in str(name):
            raise ConfigError(f"{path}: attribute {name!r}: must be '<proto>.<field>'")
        out[str(name)] = Attribute(str(name), spec["type"], str(spec.get("source", "")))
    return out


def canonical_list(value: Any) -> str:
    """An ordered integer list as the comma-joined text rules and indexes use ("1,3,6")."""
    if isinstance(value, list | tuple):
        return ",".join(str(int(v)) for v in value)
    return ",".join(re.findall(r"\d+", str(value)))


def set_key(value: Any) -> str:
    """The order-free key of an integer list: sorted distinct values joined by commas."""
    return ",".join(str(n) for n in sorted({int(x) for x in canonical_list(value).split(",") if x}))


class RuleValidator:
    """Validates rule files against the attribute vocabulary and the taxonomy."""

    def __init__(self, attributes: dict[str, Attribute], taxonomy: Taxonomy) -> None:
        self.attributes = attributes
        self.taxonomy = taxonomy

    def load_files(self, files: Iterable[Path]) -> list[Rule]:
        """Every rule of ``files``, validated; rule ids must be unique across them."""
        rules: list[Rule] = []
        seen: dict[str, str] = {}
        for path in files:
            for rule in self.load_file(path):
                if rule.id in seen:
                    raise ConfigError(f"{path}: rule {rule.id!r}: key 'id': duplicate (also in {seen[rule.id]})")
                seen[rule.id] = path.name
                rules.append(rule)
        return rules

    def load_file(self, path: Path) -> list[Rule]:
        data = _read_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise ConfigError(f"{path}: expected a mapping with a 'rules' list")
        if len(data["rules"]) > MAX_RULES_PER_FILE:
            raise ConfigError(f"{path}: more than {MAX_RULES_PER_FILE} rules (MAX_RULES_PER_FILE)")
        return [self.rule(item, path.name, i) for i, item in enumerate(data["rules"])]

    def rule(self, item: Any, origin: str, index: int = 0) -> Rule:
        """One rule from its YAML mapping; ConfigError names ``origin``, the rule id and the key."""
        if not isinstance(item, dict):
            raise ConfigError(f"{origin}: rules[{index}]: expected a mapping")
        rid = item.get("id")
        where = f"{origin}: rule {rid!r}" if rid is not None else f"{origin}: rules[{index}]"

        def fail(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{where}: key {key!r}: {problem}")

        if not isinstance(rid, str) or not _ID.match(rid):
            raise fail("id", "required, lower-case [a-z0-9_.:-]")
        for key in item:
            if key not in RULE_KEYS:
                raise fail(str(key), f"unknown key (allowed: {', '.join(sorted(RULE_KEYS))})")
        match = self._condition(item.get("match"), "match", fail)
        groups = self._regex_groups(match.values, match.how, match.ignore_case, fail)
        requires = self._requires(item.get("requires"), fail)
        unless = self._requires(item.get("unless"), fail, "unless")
        conclusions = self._conclusions(item.get("conclusions"), groups, fail)
        weight = item.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            raise fail("weight", "required number between 0 and 1")
        reference = item.get("reference")
        if not isinstance(reference, str) or not reference.strip():
            raise fail("reference", "required: say where this knowledge comes from")
        comment = item.get("comment", "")
        behaviour = item.get("behaviour", "")
        if "behaviour" in item and (not isinstance(behaviour, str) or behaviour not in BEHAVIOURS):
            raise fail("behaviour", f"one of {', '.join(sorted(BEHAVIOURS))}, or left out")
        return Rule(rid, match.attribute, match.how, match.values, conclusions, float(weight), reference.strip(),
                    match.ignore_case, str(comment or ""), origin, match.also, requires, behaviour, unless)

    def _condition(self, match: Any, key: str, fail: Callable[[str, str], ConfigError]) -> Condition:
        """One attribute test (``match``, a ``requires`` or an ``unless`` item), validated."""
        if not isinstance(match, dict):
            raise fail(key, "required mapping {attribute: ..., <match type>: ...}")
        names = match.get("attribute")
        names = names if isinstance(names, list) and names else [names]
        attrs = [self.attributes.get(n) if isinstance(n, str) else None for n in names]
        for name, found in zip(names, attrs, strict=True):
            if found is None:
                raise fail(f"{key}.attribute", f"unknown attribute {name!r} (see attributes.yaml)")
        attr = attrs[0]
        assert attr is not None
        if any(a is not None and a.type != attr.type for a in attrs):
            raise fail(f"{key}.attribute", "several attributes must all have the same type")
        hows = [k for k in match if k in ALL_MATCH_TYPES]
        unknown = [k for k in match if k not in ALL_MATCH_TYPES and k not in ("attribute", "ignore_case")]
        if unknown:
            raise fail(f"{key}.{unknown[0]}", "unknown match key")
        if len(hows) != 1:
            raise fail(key, f"exactly one match type needed, one of {', '.join(MATCH_TYPES[attr.type])}")
        how = hows[0]
        if how not in MATCH_TYPES[attr.type]:
            raise fail(f"{key}.{how}", f"not allowed on a {attr.type} attribute "
                                       f"(allowed: {', '.join(MATCH_TYPES[attr.type])})")
        ignore_case = match.get("ignore_case", False)
        if not isinstance(ignore_case, bool):
            raise fail(f"{key}.ignore_case", "must be true or false")
        values = self._values(match[how], attr, how, _renamed(fail, key))
        return Condition(attr.name, how, values, ignore_case, tuple(str(n) for n in names[1:]))

    def _requires(self, raw: Any, fail: Callable[[str, str], ConfigError],
                  key: str = "requires") -> tuple[Condition, ...]:
        """The conditions of ``requires`` (or ``unless``: ``key``), validated."""
        if raw is None:
            return ()
        if not isinstance(raw, list) or not raw or len(raw) > MAX_REQUIRES:
            raise fail(key, f"a list of 1 to {MAX_REQUIRES} match mappings (MAX_REQUIRES)")
        out = []
        for i, item in enumerate(raw):
            cond = self._condition(item, f"{key}[{i}]", fail)
            # compiled here so a bad regex fails at load; its groups name nothing (conclusions use match's)
            self._regex_groups(cond.values, cond.how, cond.ignore_case, _renamed(fail, f"{key}[{i}]"))
            out.append(cond)
        return tuple(out)

    def _values(self, raw: Any, attr: Attribute, how: str, fail: Any) -> tuple[str, ...]:
        items = raw if isinstance(raw, list) and attr.type != "list" else [raw]
        if attr.type == "list" and isinstance(raw, list) and raw and all(isinstance(x, list | str) for x in raw):
            items = raw  # several option lists: [[1, 3, 6], "1,3,6,15"]
        if not items:
            raise fail(f"match.{how}", "empty")
        out: list[str] = []
        for value in items:
            if attr.type == "int":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise fail(f"match.{how}", f"{value!r} is not an integer")
                out.append(str(value))
                continue
            if attr.type == "list":
                try:
                    text = set_key(value) if how == "set_equal" else canonical_list(value)
                except (TypeError, ValueError):
                    text = ""
                if not text:
                    raise fail(f"match.{how}", f"{value!r} is not a list of integers")
                out.append(text)
                continue
            if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
                raise fail(f"match.{how}", f"{value!r} is not a non-empty string")
            text = str(value)
            if len(text) > MAX_PATTERN_LENGTH:
                raise fail(f"match.{how}", f"longer than {MAX_PATTERN_LENGTH} characters")
            if how == "p0f":
                try:
                    P0fSignature.parse(text)
                except ValueError as exc:
                    raise fail("match.p0f", str(exc)) from exc
            if attr.type == "oid" and not re.fullmatch(r"\d+(\.\d+)*", text.strip(".")):
                raise fail(f"match.{how}", f"{text!r} is not a dotted OID")
            out.append(text.strip(".") if attr.type == "oid" else text)
        return tuple(out)

    @staticmethod
    def _regex_groups(values: tuple[str, ...], how: str, ignore_case: bool, fail: Any) -> set[str]:
        if how != "regex":
            return set()
        groups: set[str] = set()
        for pattern in values:
            try:
                compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
            except re.error as exc:
                raise fail("match.regex", f"bad regex {pattern!r}: {exc}") from exc
            names = {str(i) for i in range(1, compiled.groups + 1)} | set(compiled.groupindex)
            groups = names if not groups else groups & names
        return groups

    def _conclusions(self, raw: Any, groups: set[str], fail: Any) -> dict[str, str]:
        if not isinstance(raw, dict) or not raw:
            raise fail("conclusions", f"required non-empty mapping of {', '.join(CONCLUSION_KEYS)}")
        out: dict[str, str] = {}
        for key, value in raw.items():
            if key not in CONCLUSION_KEYS:
                raise fail(f"conclusions.{key}", f"unknown (allowed: {', '.join(CONCLUSION_KEYS)})")
            if not isinstance(value, str | int | float) or isinstance(value, bool) or str(value) == "":
                raise fail(f"conclusions.{key}", "must be a non-empty string")
            text = str(value)
            for ref in _PLACEHOLDER.findall(text):
                if ref not in groups:
                    raise fail(f"conclusions.{key}", f"refers to regex group {{{ref}}} the match does not have")
            out[key] = text
        if "device_type" in out and not _PLACEHOLDER.search(out["device_type"]):
            if self.taxonomy.get(out["device_type"]) is None:
                raise fail("conclusions.device_type", f"{out['device_type']!r} is not in taxonomy.yaml")
            out.setdefault("category", self.taxonomy.category_of(out["device_type"]))
        if "category" in out and out["category"] not in CATEGORIES:
            raise fail("conclusions.category", f"must be one of {', '.join(CATEGORIES)}")
        return out


def _renamed(fail: Callable[[str, str], ConfigError], key: str) -> Callable[[str, str], ConfigError]:
    """``fail`` for the checks that name "match.<how>", when they check ``key`` (a ``requires`` item)."""
    def renamed(k: str, problem: str) -> ConfigError:
        return fail(key + k[len("match"):] if k.startswith("match") else k, problem)
    return renamed


def rule_files(directory: Path | None = None) -> list[Path]:
    """The rule files of a directory (default: the shipped ones), sorted by name (index order)."""
    directory = directory or paths.RULES_DIR
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _read_yaml(path: Path, *, table: bool = False) -> Any:
    """``path`` parsed; ``table``: one of the tables kept parsed in generated/tables.json (kb/parsed.py)."""
    try:
        text = path.read_text(encoding="utf-8")
        return load_table(text) if table else safe_load(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's C safe loader when available (about 10x faster)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
