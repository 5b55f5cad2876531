"""Home Assistant's discovery matchers (``homeassistant/generated/{dhcp,zeroconf,ssdp}.py``) -> rules.

Home Assistant (Apache-2.0) compiles each integration's ``manifest.json`` matchers into these files:
DHCP (host name glob and/or MAC glob), zeroconf (service type, with instance-name and TXT property
globs), HomeKit (``md`` model names) and SSDP (header and device-description fields, all equal).
They are read as data: the assigned literal is parsed with ``ast.literal_eval``, no HA code is run.
What a matcher concludes comes from the curated domain map (``kb/data/homeassistant_domains.yaml``):
the integration's vendor and, only where it covers one kind of device, the device type.
"""

# How HA matches, which the rules follow (homeassistant/components/*/__init__.py at 2024.3.3):
# * dhcp: the lower-cased DHCP host name against the hostname glob (fnmatch), the upper-case MAC
#   digits against the macaddress glob; both must hold. -> dhcp.hostname + required mac.address.
# * zeroconf: the service type exactly, the lower-cased instance name against ``name`` and each
#   lower-cased TXT value against ``properties`` globs. Our mDNS attributes are the device's, not one
#   record's, so a rule's conditions may be met by two announcements of one device. -> mdns.services
#   + required mdns.instances / mdns.txt.
# * homekit: the ``md`` TXT value equal to the model, or starting with it and a space or hyphen, or
#   matching its glob, on a _hap._tcp/_hap._udp announcement. -> mdns.txt + required mdns.services.
# * ssdp: every key equal (st/nt headers, UPnP device description fields). -> ssdp.st|nt and
#   http.upnp_* attributes; a matcher naming a field no dissector reports is skipped, never loosened.
# * a zeroconf matcher on a printer's Bonjour service (PRINTER_SERVICES) matches a host sharing that printer too:
#   CUPS (macOS printer sharing, a Linux or NAS print server) announces each shared queue on the host's own record
#   as _printer._tcp/_ipp._tcp/_ipps._tcp with the instance name '<printer-info> @ <host>' (scheduler/dirsvc.c
#   dnssdRegisterPrinter), so 'Brother HL-L2350DW series @ nas' meets HA's brother 'name=brother*'. Such a rule is
#   marked ``behaviour: printer_announcement`` like the hand-written printer rules (rules/mdns.yaml): it yields on
#   a device announcing a print_sharing key (inventory/classifier.py).

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotwarden.errors import ConfigError, ParseError
from iotwarden.kb import paths
from iotwarden.kb.importers.common import ImportResult, slug
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.oui import OuiRegistry
from iotwarden.kb.schema import safe_load
from iotwarden.kb.taxonomy import Taxonomy

GENERATED = {"dhcp.py": ("DHCP",), "zeroconf.py": ("ZEROCONF", "HOMEKIT"), "ssdp.py": ("SSDP",)}
MAX_SOURCE_CHARS = 8 * 1024 * 1024  # one generated file (zeroconf.py is ~20 kB at 2024.3)
DOMAIN_MAP = paths.PACKAGE_DATA / "homeassistant_domains.yaml"
SHIPPED_FILE = "homeassistant.yaml"  # the shipped conversion: never "hand-written" evidence for itself
# weight per matcher kind: like hand-written rules of the same evidence, below a device's own model answer
WEIGHTS = {"dhcp": 0.6, "dhcp_hostname": 0.5, "dhcp_mac": 0.5, "zeroconf": 0.6, "homekit": 0.6, "ssdp": 0.6}
SSDP_KEYS: dict[str, str | list[str]] = {
    "st": ["ssdp.st", "ssdp.nt"],  # a search target answered is the type NOTIFY announces (UDA 2.0 §1.2.2, §1.3.3)
    "nt": ["ssdp.nt", "ssdp.st"],
    "manufacturer": "http.upnp_manufacturer",
    "deviceType": "http.upnp_device_type",
    "modelName": "http.upnp_model_name",
    "modelNumber": "http.upnp_model_number",
    "modelDescription": "http.upnp_model_description",
}
SSDP_PRIMARY = ("manufacturer", "modelName", "modelDescription", "deviceType", "st", "nt", "modelNumber")
HAP_SERVICES = r"^_hap\._(tcp|udp)\.local$"  # zeroconf HOMEKIT_TYPES
# a printer's Bonjour services a host sharing a queue announces as well (Bonjour Printing Specification 1.2 §9:
# _printer._tcp LPR; PWG 5100.14 §5.2 _ipp._tcp/_ipps._tcp; PWG 5100.15 _fax-ipp._tcp): the hand-written rules on
# them are printer_announcement (rules/mdns.yaml). Not _pdl-datastream._tcp, the printer's raw port 9100, which
# CUPS's shared queues never announce (scheduler/dirsvc.c dnssdRegisterPrinter): a printer's own sign, as
# mdns.service.pdl_datastream is
PRINTER_SERVICES = re.compile(r"^_(printer|ipps?|fax-ipp)\._tcp\.local$", re.IGNORECASE)
PRINTER_ANNOUNCEMENT = "printer_announcement"  # kb/schema.py BEHAVIOURS
_HEX_PREFIX = re.compile(r"[0-9A-F]+\*")


@dataclass(frozen=True, slots=True)
class Domain:
    """What the curated map says of one integration domain."""

    name: str
    reference: str
    vendor: str | None = None
    device_type: str | None = None
    skip: str | None = None  # why its matchers give no rule (software, protocol, several brands)
    mac_type: bool = True  # a MAC-only matcher may conclude the type (false: the block carries other kinds)
    exclude: frozenset[str] = frozenset()  # matcher keys (Matcher.key) left out, each a reason in the map
    vendor_only: frozenset[str] = frozenset()  # matcher keys that conclude the vendor alone (other kinds match)


@dataclass(slots=True)
class Matcher:
    """One HA matcher as conditions on our attributes; the first condition is the rule's match."""

    kind: str  # dhcp, dhcp_hostname, dhcp_mac, zeroconf, homekit, ssdp
    file: str
    key: str  # how the domain map names it in ``exclude``
    conditions: list[dict[str, Any]]
    sample: str | None  # a value the first condition matches (None when a glob has classes)
    domains: list[str] = field(default_factory=list)


def load_domain_map(path: Path | None = None, taxonomy: Taxonomy | None = None) -> dict[str, Domain]:
    """The curated domain map; ConfigError names the domain and key of any bad entry."""
    path = path or DOMAIN_MAP
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the Home Assistant domain map: {exc}") from exc
    table = data.get("domains") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'domains' mapping")
    tax = taxonomy or Taxonomy.load()
    out: dict[str, Domain] = {}
    for name, entry in table.items():
        where = f"{path}: domain {name!r}"
        if not isinstance(entry, dict) or not isinstance(entry.get("reference"), str):
            raise ConfigError(f"{where}: key 'reference' required (the integration page and generated file)")
        unknown = set(entry) - {"vendor", "device_type", "skip", "reference", "mac_type", "exclude", "vendor_only",
                                "note"}
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        dtype = entry.get("device_type")
        if dtype is not None and tax.get(str(dtype)) is None:
            raise ConfigError(f"{where}: key 'device_type': {dtype!r} is not in taxonomy.yaml")
        if entry.get("skip") is None and not (entry.get("vendor") or dtype):
            raise ConfigError(f"{where}: needs a vendor or device_type, or 'skip' with the reason")
        keyed = {}
        for key in ("exclude", "vendor_only"):
            keyed[key] = entry.get(key) or {}
            if not isinstance(keyed[key], dict):
                raise ConfigError(f"{where}: key {key!r}: a mapping of matcher to reason")
        out[str(name)] = Domain(str(name), entry["reference"], entry.get("vendor"), dtype, entry.get("skip"),
                                bool(entry.get("mac_type", True)), frozenset(map(str, keyed["exclude"])),
                                frozenset(map(str, keyed["vendor_only"])))
    return out


def literal(text: str, name: str, filename: str) -> Any:
    """The value assigned to ``name`` in a generated file, parsed as a literal (never executed)."""
    if len(text) > MAX_SOURCE_CHARS:
        raise ParseError(f"{filename}: larger than {MAX_SOURCE_CHARS} characters (MAX_SOURCE_CHARS)")
    try:
        tree = ast.parse(text, filename)
    except (SyntaxError, ValueError) as exc:
        raise ParseError(f"{filename}: not Python source: {exc}") from exc
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name:
            try:
                return ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
                raise ParseError(f"{filename}: {name} is not a plain literal: {exc}") from exc
    raise ParseError(f"{filename}: no {name} = ... assignment (is it Home Assistant's generated/{filename}?)")


def release(const_text: str) -> str:
    """The release named by ``homeassistant/const.py`` (MAJOR_VERSION.MINOR_VERSION.PATCH_VERSION)."""
    parts = [literal(const_text, name, "const.py") for name in ("MAJOR_VERSION", "MINOR_VERSION", "PATCH_VERSION")]
    return ".".join(str(p) for p in parts)


def glob_body(pattern: str) -> str | None:
    """An fnmatch glob as regex text (``*``, ``?``, ``[seq]``, ``[!seq]``); None if it has no wildcard."""
    out, i, wild = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(".*")
            wild = True
        elif c == "?":
            out.append(".")
            wild = True
        elif c == "[" and (j := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1:j]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            wild = True
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out) if wild else None


def _sample(pattern: str) -> str | None:
    """A value the glob matches, for finding hand-written rules that already say the same."""
    if "[" in pattern:
        return None
    return pattern.replace("*", "").replace("?", "x") or None


def _text(attribute: str | list[str], pattern: str, *, ignore_case: bool) -> dict[str, Any]:
    body = glob_body(pattern)
    if body is None:
        return {"attribute": attribute, "exact": pattern, **({"ignore_case": True} if ignore_case else {})}
    return {"attribute": attribute, "regex": f"^{body}$", **({"ignore_case": True} if ignore_case else {})}


def _mac(pattern: str) -> dict[str, Any]:
    upper = pattern.upper()
    if _HEX_PREFIX.fullmatch(upper):
        return {"attribute": "mac.address", "prefix": upper[:-1]}
    return _text("mac.address", upper, ignore_case=True)


def dhcp_matchers(entries: Any, result: ImportResult) -> list[Matcher]:
    out = []
    for entry in _entries(entries, "dhcp.py", list):
        if not isinstance(entry, dict):
            result.skipped["dhcp matcher that is not a mapping"] += 1
            continue
        domain = entry.get("domain")
        host, mac = entry.get("hostname"), entry.get("macaddress")
        if entry.get("registered_devices"):
            result.skipped["dhcp registered_devices (devices the integration already set up)"] += 1
            continue
        if not isinstance(domain, str) or not (isinstance(host, str) or isinstance(mac, str)):
            result.skipped["dhcp matcher without domain, hostname or macaddress"] += 1
            continue
        conditions = ([_text("dhcp.hostname", host, ignore_case=True)] if isinstance(host, str) else []) + (
            [_mac(mac)] if isinstance(mac, str) else [])
        kind = "dhcp" if len(conditions) == 2 else ("dhcp_hostname" if isinstance(host, str) else "dhcp_mac")
        key = "dhcp " + " ".join(f"{k}={entry[k]}" for k in ("hostname", "macaddress") if k in entry)
        sample = _sample(host) if isinstance(host, str) else _sample(str(mac).upper())
        out.append(Matcher(kind, "dhcp.py", key, conditions, sample, [domain]))
    return out


def zeroconf_matchers(entries: Any, result: ImportResult) -> list[Matcher]:
    out = []
    table = _entries(entries, "zeroconf.py", dict)
    for service, matchers in table.items():
        for entry in matchers if isinstance(matchers, list) else []:
            domain = entry.get("domain") if isinstance(entry, dict) else None
            extra = set(entry) - {"domain", "name", "properties"} if isinstance(entry, dict) else set()
            props = entry.get("properties", {}) if isinstance(entry, dict) else {}
            if not isinstance(domain, str) or not isinstance(service, str) or extra or not isinstance(props, dict):
                result.skipped["zeroconf matcher with keys no dissector reports"] += 1
                continue
            conditions = [{"attribute": "mdns.services", "exact": service.rstrip("."), "ignore_case": True}]
            key = f"zeroconf {service}"
            if isinstance(entry.get("name"), str):
                conditions.append(_text("mdns.instances", entry["name"].rstrip("."), ignore_case=True))
                key += f" name={entry['name']}"
            for prop, value in props.items():
                body = glob_body(str(value)) or re.escape(str(value))
                conditions.append({"attribute": "mdns.txt", "regex": f"^{re.escape(str(prop).lower())}={body}$",
                                   "ignore_case": True})
                key += f" {prop}={value}"
            out.append(Matcher("zeroconf", "zeroconf.py", key, conditions, service.rstrip("."), [domain]))
    return out


def homekit_matchers(entries: Any, result: ImportResult) -> list[Matcher]:
    out = []
    for model, entry in _entries(entries, "zeroconf.py", dict).items():
        domain = entry.get("domain") if isinstance(entry, dict) else None
        if not isinstance(domain, str) or not isinstance(model, str) or not model:
            result.skipped["homekit entry without domain"] += 1
            continue
        body = glob_body(model) if any(c in model for c in "*?[") else None
        if body is None:  # the model, or its first word / first hyphenated part (async_get_homekit_discovery)
            tails = [t for t in (" ", "-") if t not in model]
            body = re.escape(model) + (f"(?:[{''.join(tails)}].*)?" if tails else "")
        conditions: list[dict[str, Any]] = [{"attribute": "mdns.txt", "regex": f"^md={body}$"},
                                            {"attribute": "mdns.services", "regex": HAP_SERVICES, "ignore_case": True}]
        out.append(Matcher("homekit", "zeroconf.py", f"homekit {model}", conditions, _sample(f"md={model}"),
                           [domain]))
    return out


def ssdp_matchers(entries: Any, result: ImportResult) -> list[Matcher]:
    out = []
    for domain, matchers in _entries(entries, "ssdp.py", dict).items():
        for entry in matchers if isinstance(matchers, list) else []:
            if not isinstance(entry, dict) or not entry or not all(isinstance(v, str) for v in entry.values()):
                result.skipped["ssdp matcher that is not a mapping of strings"] += 1
                continue
            unknown = sorted(str(k) for k in entry if k not in SSDP_KEYS)
            if unknown:
                result.skipped[f"ssdp matcher on {unknown[0]} (no dissector reports it)"] += 1
                continue
            if any(v == "*" for v in entry.values()):
                result.skipped["ssdp matcher on a header's presence"] += 1
                continue
            ordered = sorted(entry, key=SSDP_PRIMARY.index)
            conditions: list[dict[str, Any]] = [{"attribute": SSDP_KEYS[k], "exact": entry[k]} for k in ordered]
            key = "ssdp " + " ".join(f"{k}={entry[k]}" for k in entry)
            out.append(Matcher("ssdp", "ssdp.py", key, conditions, entry[ordered[0]], [str(domain)]))
    return out


def _entries(value: Any, filename: str, kind: type) -> Any:
    if not isinstance(value, kind):
        raise ParseError(f"{filename}: expected a {kind.__name__} of matchers, found {type(value).__name__}")
    return value


def convert(files: Mapping[str, str], domains: Mapping[str, Domain] | None = None, *,
            registry: OuiRegistry | None = None, existing: KnowledgeBase | None = None) -> ImportResult:
    """Rules from the text of generated ``dhcp.py``, ``zeroconf.py`` and ``ssdp.py`` (any of them).

    ``registry`` (default: the shipped IEEE registry, so the output does not depend on a user's
    update) checks that a MAC-only matcher's block is registered to the integration's vendor;
    ``existing`` (hand-written rules) drops a rule a hand-written one already states.
    """
    if not any(name in files for name in GENERATED):
        raise ParseError(f"none of {', '.join(GENERATED)}: not Home Assistant's generated/ matchers")
    domains = domains if domains is not None else load_domain_map()
    registry = registry or OuiRegistry.load(user_dir=paths.OUI_DIR)
    result = ImportResult("homeassistant")
    matchers: list[Matcher] = []
    if "dhcp.py" in files:
        matchers += dhcp_matchers(literal(files["dhcp.py"], "DHCP", "dhcp.py"), result)
    if "zeroconf.py" in files:
        matchers += zeroconf_matchers(literal(files["zeroconf.py"], "ZEROCONF", "zeroconf.py"), result)
        matchers += homekit_matchers(literal(files["zeroconf.py"], "HOMEKIT", "zeroconf.py"), result)
    if "ssdp.py" in files:
        matchers += ssdp_matchers(literal(files["ssdp.py"], "SSDP", "ssdp.py"), result)
    numbers: Counter[str] = Counter()
    for matcher in _merge(matchers):
        rule = _rule(matcher, domains, registry, existing, result)
        if rule is not None:
            base = f"homeassistant.{slug(matcher.domains[0])}.{matcher.kind.split('_')[0]}"
            numbers[base] += 1
            result.add({"id": f"{base}.{numbers[base]}", **rule})
    return result


def _merge(matchers: list[Matcher]) -> list[Matcher]:
    """One matcher per distinct set of conditions, naming every domain that declares it."""
    merged: dict[str, Matcher] = {}
    for m in matchers:
        key = json.dumps(m.conditions, sort_keys=True)
        if key in merged:
            merged[key].domains.extend(d for d in m.domains if d not in merged[key].domains)
        else:
            merged[key] = m
    return list(merged.values())


def _rule(matcher: Matcher, domains: Mapping[str, Domain], registry: OuiRegistry,
          existing: KnowledgeBase | None, result: ImportResult) -> dict[str, Any] | None:
    entries = [domains.get(d) for d in matcher.domains]
    if any(e is None for e in entries):
        result.skipped["matcher of a domain not in the domain map"] += 1
        return None
    known = [e for e in entries if e is not None]
    if not all(_compiles(c) for c in matcher.conditions):
        result.skipped["matcher whose glob is no valid pattern (a class like [z-a])"] += 1
        return None
    if any(e.skip for e in known):
        result.skipped["matcher of a software, protocol or multi-brand integration"] += 1
        return None
    if any(matcher.key in e.exclude for e in known):
        result.skipped["matcher excluded by the domain map"] += 1
        return None
    conclusions: dict[str, str] = {}
    vendors = {e.vendor for e in known}
    types = {e.device_type for e in known}
    if len(vendors) == 1 and None not in vendors:
        conclusions["vendor"] = str(vendors.pop())
    typed = all(e.mac_type for e in known) if matcher.kind == "dhcp_mac" else True
    if len(types) == 1 and None not in types and typed and not any(matcher.key in e.vendor_only for e in known):
        conclusions["device_type"] = str(types.pop())
    if matcher.kind == "dhcp_mac" and not _block_of(matcher, conclusions.get("vendor"), registry):
        result.skipped["MAC-only matcher on a block registered to another company"] += 1
        return None
    if not conclusions:
        result.skipped["matcher of domains that disagree or conclude nothing"] += 1
        return None
    if existing is not None and _stated(matcher, conclusions, existing):
        result.skipped["already stated by a hand-written rule"] += 1
        return None
    first, *rest = matcher.conditions
    refs = "; ".join(e.reference for e in known)
    rule: dict[str, Any] = {"match": first}
    if rest:
        rule["requires"] = rest
    rule.update({"conclusions": conclusions, "weight": WEIGHTS[matcher.kind],
                 "reference": f"Home Assistant {', '.join(matcher.domains)} {matcher.kind.split('_')[0]} matcher "
                              f"'{matcher.key.split(' ', 1)[1]}' ({refs}; Apache-2.0)"})
    if matcher.kind == "zeroconf" and PRINTER_SERVICES.match(str(first.get("exact", ""))):
        rule["behaviour"] = PRINTER_ANNOUNCEMENT  # a host sharing the printer announces it too (notes at the top)
    return rule


def _compiles(condition: dict[str, Any]) -> bool:
    """Whether a condition's regex (a glob turned into one) compiles: the rule validator refuses the whole
    file for one that does not."""
    try:
        re.compile(str(condition.get("regex", "")))
    except re.error:
        return False
    return True


def _block_of(matcher: Matcher, vendor: str | None, registry: OuiRegistry) -> bool:
    """Whether the MAC prefix is registered to ``vendor`` (or a brand owner of it)."""
    prefix = matcher.conditions[0].get("prefix")
    entry = registry.lookup(str(prefix)) if prefix else None
    if entry is None or vendor is None:
        return False
    names = registry.names
    registrant = names.canonical(entry.vendor)
    return (names.related(registrant, names.canonical(vendor))
            or registrant.lower().startswith(vendor.lower()) or vendor.lower().startswith(registrant.lower()))


def _stated(matcher: Matcher, conclusions: dict[str, str], existing: KnowledgeBase) -> bool:
    """Whether a hand-written rule without conditions matches the matcher's sample value and concludes
    the same vendor and type: the HA rule would count that fact a second time."""
    first = matcher.conditions[0]
    if matcher.sample is None:
        return False
    names = first["attribute"] if isinstance(first["attribute"], list) else [first["attribute"]]
    for name in names:
        for hit in existing.match(name, matcher.sample):
            if all(hit.conclusions.get(k) == v for k, v in conclusions.items() if k in ("vendor", "device_type")):
                return True
    return False

