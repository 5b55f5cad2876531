"""Knowledge-base conflict audit: rules that name the wrong vendor or kind (issue #3).

A rule that concludes a vendor (or a kind) from evidence other vendors' devices send too misleads
more than no rule: DoorBird door stations announce Axis's ``_axis-video._tcp`` and were named Axis.
Rerun after adding rules; every finding is either fixed in the rule files or allow-listed here with
the reason it is fine. Three checks:

a. pairs of rules one value can satisfy (same attribute; each rule's example values, regex samples
   from bench/regex_samples.py and literal values, matched against every other rule) whose
   conclusions disagree on the vendor (vendor_aliases.yaml: one name, a brand of its owner) or on
   the type (neither an ancestor of the other in taxonomy.yaml), unless the rules' own conditions keep
   them off one device (``requires`` of one-valued fields, or one rule's ``unless`` met by the value or
   by what the other ``requires``);
b. hand-written rules concluding a vendor from a value Home Assistant 2024.3.3 lists under an
   integration of another vendor, or of a protocol or several brands, or a kind from a value it lists
   under an integration of another kind or of several (its zeroconf, HomeKit, SSDP and DHCP matchers,
   tests/kb/importers/data/homeassistant-2024.3.3, with the domain map's vendors and types);
c. rules concluding a vendor with weight >= 0.8 from evidence not vendor-specific by nature: a
   generic library or server, a standard UPnP type, a shared cloud (GENERIC below).

    python bench/kb_audit.py            # every finding, allow-listed ones marked, counts per check
    python bench/kb_audit.py --check    # exit 1 when a finding of a check is not allow-listed
    python bench/kb_audit.py --json F   # also the findings as JSON

tests/kb/test_audit.py runs the checks on the shipped rules: a new finding fails the suite until its
rule is fixed or the allow-list below says why it is fine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from iotwarden.inventory.weighing import COMPONENT_TYPES
from iotwarden.kb import KnowledgeBase
from iotwarden.kb.importers import homeassistant as ha
from iotwarden.kb.importers.common import ImportResult
from iotwarden.kb.index import Match
from iotwarden.kb.oui import VendorNames
from iotwarden.kb.schema import Condition, Rule

sys.path.insert(0, str(Path(__file__).resolve().parent))
from regex_samples import samples

REPO = Path(__file__).resolve().parents[1]
HA_GENERATED = REPO / "tests" / "kb" / "importers" / "data" / "homeassistant-2024.3.3" / "homeassistant" / "generated"
HA_FILE = ha.SHIPPED_FILE  # the generated rule file; everything else is hand-written
STRONG = 0.8  # check (c): a vendor concluded this strongly must rest on vendor-specific evidence
SINGLE_VALUED = ("mac.address",)  # a device has one: rules requiring disjoint blocks never meet

# Check (c): evidence other makers' devices send too. (attributes, pattern searched in a rule's
# example value, case-insensitive, why it is not one vendor's).
GENERIC: tuple[tuple[frozenset[str], str, str], ...] = (
    (frozenset({"http.user_agent", "sip.user_agent"}),
     r"okhttp|dalvik|cfnetwork|python-requests|^curl|libcurl|wget|go-http-client|^java/|apache-httpclient"
     r"|esp32 http|mozilla/",
     "HTTP client library or browser used by many makers' firmware and apps"),
    (frozenset({"http.server", "ssdp.server", "rtsp.server", "http.www_authenticate"}),
     r"lighttpd|nginx|^apache|goahead|^boa\b|mini_httpd|thttpd|uhttpd|mongoose|rompager|miniupnp|portable sdk"
     r"|libupnp|jetty|werkzeug|cowboy|hiawatha|^upnp/|live555|gstreamer",
     "embedded web, UPnP or RTSP server library shipped by many makers"),
    (frozenset({"ssdp.st", "ssdp.nt", "http.upnp_device_type", "http.upnp_service_types"}),
     r"^urn:schemas-upnp-org:|^upnp:rootdevice|^ssdp:all",
     "standard UPnP Forum device or service type (UDA 2.0), implemented by any maker"),
    (frozenset({"tls.sni", "dns.qname"}),
     r"amazonaws\.com|azure-devices\.net|cloudfront\.net|akamai|googleapis\.com|gstatic\.com|aliyuncs\.com"
     r"|firebaseio\.com|pool\.ntp\.org|cloudflare|azureedge|hivemq|emqx|tuya(us|eu|cn|in)\.com",
     "shared cloud or public service many makers' devices reach"),
    (frozenset({"dhcp.vendor_class"}), r"udhcp|dhcpcd|^android-dhcp|^msft",
     "DHCP client of an operating system many makers ship"),
    (frozenset({"mdns.services"}),
     r"^_(http|https|workstation|ssh|sftp-ssh|device-info|matter|matterc|hap|googlecast|airplay|raop"
     r"|spotify-connect|ipp|ipps|printer|pdl-datastream|uscan|uscans|smb|afpovertcp|rfb|companion-link)\._",
     "DNS-SD service type of an open protocol many makers implement"),
)

# Reviewed findings that are right, each with the reason (keys: Finding.key).
_SCAN_MFP = ("designed pair: a scan service alone leans to a scanner (0.55); the multifunction reading (0.45) "
             "wins once the same device shows print evidence, which adds to mfp through its parent printer "
             "(taxonomy.yaml; the classifier weighs a type with its ancestors' evidence)")
_SONOS = ("ZonePlayer is Sonos's own device type, not a UPnP Forum standard one (the Forum's device templates: "
          "MediaServer, MediaRenderer, InternetGatewayDevice, ...), only written in the upnp-org namespace; Home "
          "Assistant 2024.3.3 generated/ssdp.py lists ZonePlayer:1 under sonos alone")
ALLOW_A: dict[str, str] = {
    "dhcp.hostname.epson_printer homeassistant.tplink.dhcp.1 vendor":
        "the TP-Link matcher ('e[sp]*' host names) holds only on MAC block 3C:52:A1, which Home Assistant's "
        "tplink dhcp matcher gives TP-Link (not in the shipped IEEE registry); an Epson printer does not carry it",
    "dpws.type.scanner_service dpws.type.scanner_service_mfp device_type": _SCAN_MFP,
    "wsd.type.scan_device wsd.type.scan_device_mfp device_type": _SCAN_MFP,
    "tls.sni.withings_baby tls.sni.withings_health device_type":
        "designed pair: withings.net leans to a health monitor (0.4, its own reference: the cloud never settles "
        "the kind), the baby monitor's own service name (0.5) outweighs it",
    "snmp.oid.epson_projector snmp.pen.epson device_type":
        "designed pair: Epson's enterprise number leans to a printer (0.7), which most Epson agents are; its "
        "projectors answer under their own subtree 1248.4.1 (0.85), which outweighs it",
    "snmp.oid.hpe_ups snmp.pen.compaq device_type":
        "designed pair: Compaq's enterprise number leans to an HPE server (0.6); HPE's UPS management module answers "
        "under its own subtree 232.165.3 (CPQPOWER-MIB, 0.8), which outweighs it",
}
_LEANS = "weight 0.3, under the classifier's MIN_CONFIDENCE: it leans towards the kind, never concludes it alone"
ALLOW_B: dict[str, str] = {
    "mdns.service.homekit homekit vendor":
        "weight 0.3, under the classifier's MIN_CONFIDENCE: it never names Apple alone; Home Assistant lists "
        "_homekit._tcp only under its own HomeKit Bridge (manifest.json zeroconf), no other maker's device",
    "mdns.service.airplay apple_tv device_type": _LEANS,
    "mdns.service.airplay samsungtv device_type": _LEANS,
    "mdns.service.raop apple_tv device_type": _LEANS,
    "mdns.service.sleep_proxy apple_tv device_type": _LEANS,
    "upnp.type.media_server denonavr device_type": _LEANS,
    "upnp.type.media_server directv device_type": _LEANS,
    "mdns.service.airport apple_tv device_type":
        "_airport._tcp is the AirPort base stations' configuration service (IANA 'airport'); the apple_tv "
        "integration covers several kinds through its other services, this one is the access points'",
    "mdns.service.appletv apple_tv device_type":
        "_appletv-v2 and _mediaremotetv are the Apple TV's remote-control services (IANA); the apple_tv "
        "integration covers several kinds through its other services (AirPlay, AirPort)",
    "mdns.txt.hap_md_healthy_home_coach netatmo device_type":
        "a HomeKit model name of one product (Netatmo's air-quality monitor), not the integration's several kinds",
    "mdns.txt.hap_md_netatmo_relay netatmo device_type":
        "a HomeKit model name of one product (the Smart Thermostat's relay), not the integration's several kinds",
    "mdns.txt.hap_md_netatmo_camera netatmo device_type":
        "a HomeKit model name of one product (the Presence outdoor camera), not the integration's several kinds",
}
ALLOW_C: dict[str, str] = {
    "ssdp.type.sonos": _SONOS,
    "ssdp.type.sonos_any": _SONOS,
    "upnp.type.sonos": _SONOS,
}


@dataclass(frozen=True)
class Finding:
    """One audit finding; ``key`` is what an allow-list names."""

    check: str
    key: str
    text: str
    allowed: str | None = None  # the allow-list's reason, when reviewed as fine


def _add(found: dict[str, Finding], check: str, key: str, allow: dict[str, str], text: str) -> None:
    """Record a finding under ``key`` once (one conflict is met by many values; the first says it)."""
    if key not in found:
        found[key] = Finding(check, key, text, allow.get(key))


def load() -> tuple[KnowledgeBase, KnowledgeBase]:
    """The shipped knowledge base, and one of the same rules without ``requires`` (every pair that
    could meet on one device is looked at; a rule's own conditions narrow it, they never make it right).
    ``unless`` stays: a lone value meets an unless rule; check_pairs asks whether the other rule's value
    or its ``requires`` is a situation the unless excludes (:func:`_unless_excludes`)."""
    kb = KnowledgeBase.load()
    loose = KnowledgeBase([dataclasses.replace(r, requires=()) for r in kb.rules], kb.attributes, kb.taxonomy)
    return kb, loose


def examples(rule: Rule) -> list[str]:
    """Values the rule's match holds for: its literal values, and samples of its regexes."""
    out: list[str] = []
    for value in rule.values:
        if rule.how == "regex":
            out.extend(samples(value, ignore_case=rule.ignore_case))
        elif rule.how != "p0f":  # TCP signatures conclude an OS, never a vendor: left out
            out.append(value)
    return out


def _exclusive(kb: KnowledgeBase, a: Rule, b: Rule) -> bool:
    """Whether the two rules' own conditions keep them off one device: each requires a value of a
    field a device (or one announcement) has once, and neither's values meet the other's (two
    TXT ``key=`` values of one key, two instance names, two MAC blocks); or one requires a MAC
    block registered to its own vendor and the other names a vendor that is not the registrant."""
    for ca in a.requires:
        for cb in b.requires:
            if ca.attribute == cb.attribute and _one_valued(ca, cb) and not _meet(ca, cb):
                return True
    return (_foreign_block(kb, a, b) or _foreign_block(kb, b, a)
            or _self_named(kb, a, b) or _self_named(kb, b, a))


def _unless_excludes(a: Rule, b: Rule, attribute: str, value: str) -> bool:
    """Whether ``a``'s ``unless`` takes its evidence away wherever ``b`` holds on ``value``: one of its
    conditions holds for the value itself (an ``attribute`` condition), or for every example of a
    condition ``b`` requires of the same device (``b``'s situation is one ``a`` stands down in)."""
    for excluding in a.unless:
        if attribute in excluding.attributes and _holds(excluding, value):
            return True
        for needed in b.requires:
            shown = _examples_of(needed)
            if (needed.attribute in excluding.attributes and shown
                    and all(_holds(excluding, v) for v in shown)):
                return True
    return False


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _self_named(kb: KnowledgeBase, a: Rule, b: Rule) -> bool:
    """``a`` requires a value stating its own vendor's name (a TXT ``vendor=synology``, an instance
    name ``Shelly...``), and ``b`` names another vendor: a device of ``b``'s vendor does not state
    ``a``'s vendor's name."""
    names = kb.oui.names
    va, vb = a.conclusions.get("vendor"), b.conclusions.get("vendor")
    if not va or not vb or "{" in va or "{" in vb or names.related(names.canonical(va), names.canonical(vb)):
        return False
    word = _squash(va.split()[0])
    return len(word) >= 4 and any(word in _squash(v) for c in a.requires for v in _examples_of(c))


def _txt_key(condition: Condition) -> str | None:
    """The TXT key a ``mdns.txt`` condition tests (``^macaddress=...``), lower-cased."""
    m = re.match(r"\^?((?:[\w-]|\\.)+)=", condition.values[0]) if condition.values else None
    return re.sub(r"\\(.)", r"\1", m.group(1)).lower() if m else None


def _one_valued(ca: Condition, cb: Condition) -> bool:
    if ca.attribute in SINGLE_VALUED:
        return True
    if ca.attribute == "mdns.txt":  # one value per key in one service's TXT record (RFC 6763 §6.4)
        return _txt_key(ca) is not None and _txt_key(ca) == _txt_key(cb)
    return ca.attribute == "mdns.instances"  # one instance name per service (RFC 6763 §4.1)


def _examples_of(condition: Condition) -> list[str]:
    if condition.how == "regex":
        return [s for v in condition.values for s in samples(v, ignore_case=condition.ignore_case)]
    return list(condition.values)


def _holds(condition: Condition, value: str) -> bool:
    """Whether ``value`` meets a text condition (exact, prefix, suffix, contains or regex)."""
    flags = re.IGNORECASE if condition.ignore_case or condition.attribute == "mac.address" else 0
    for pattern in condition.values:
        literal = re.escape(pattern)
        regex = {"exact": f"^{literal}$", "prefix": f"^{literal}", "suffix": f"{literal}$",
                 "contains": literal, "regex": pattern}.get(condition.how)
        if regex is not None and re.search(regex, value, flags):
            return True
    return False


def _meet(ca: Condition, cb: Condition) -> bool:
    """Whether some value meets both conditions (each one's examples tried on the other)."""
    return any(_holds(cb, v) for v in _examples_of(ca)) or any(_holds(ca, v) for v in _examples_of(cb))


def _foreign_block(kb: KnowledgeBase, a: Rule, b: Rule) -> bool:
    """``a`` requires MAC blocks registered to its own vendor, and ``b`` names another vendor: a
    device of ``b``'s vendor does not carry ``a``'s vendor's block (part makers' blocks excepted)."""
    names = kb.oui.names
    va, vb = a.conclusions.get("vendor"), b.conclusions.get("vendor")
    blocks = [v for c in a.requires if c.attribute == "mac.address" and c.how == "prefix" for v in c.values]
    if not va or not vb or "{" in vb or not blocks:
        return False
    for prefix in blocks:
        entry = kb.oui.lookup(prefix)
        owner = names.canonical(entry.vendor) if entry is not None and entry.vendor else None
        if owner is None or names.part_maker(owner) or not names.related(owner, names.canonical(va)):
            return False
        if names.related(owner, names.canonical(vb)):
            return False
    return True


def vendor_conflict(names: VendorNames, a: Match, b: Match) -> bool:
    """Two matches naming different vendors, not one a brand of the other; component evidence
    (an ESP32 module's maker, COMPONENT_TYPES) names a part, never the product's vendor."""
    va, vb = a.conclusions.get("vendor"), b.conclusions.get("vendor")
    if not va or not vb or COMPONENT_TYPES & {a.conclusions.get("device_type"), b.conclusions.get("device_type")}:
        return False
    ca, cb = names.canonical(va), names.canonical(vb)
    return ca.lower() != cb.lower() and not names.related(ca, cb)


def type_conflict(kb: KnowledgeBase, a: Match, b: Match) -> bool:
    """Two matches naming types neither of which is the other or one of its ancestors."""
    ta, tb = a.conclusions.get("device_type"), b.conclusions.get("device_type")
    if not ta or not tb or ta == tb or kb.taxonomy.get(ta) is None or kb.taxonomy.get(tb) is None:
        return False
    return ta not in kb.taxonomy.ancestors(tb) and tb not in kb.taxonomy.ancestors(ta)


def check_pairs(kb: KnowledgeBase, loose: KnowledgeBase) -> list[Finding]:
    """Check (a): rules one value satisfies whose vendors or types disagree."""
    names = kb.oui.names
    found: dict[str, Finding] = {}
    for rule in kb.rules:
        for attribute in rule.attributes:
            for value in examples(rule):
                hits = loose.match(attribute, value)
                own = [h for h in hits if h.rule_id == rule.id]
                if not own:
                    continue
                for other in hits:
                    if other.rule_id == rule.id:
                        continue
                    other_rule = loose_rule(kb, other.rule_id)
                    if (_exclusive(kb, rule, other_rule) or _unless_excludes(rule, other_rule, attribute, value)
                            or _unless_excludes(other_rule, rule, attribute, value)):
                        continue
                    for field, clash in (("vendor", vendor_conflict(names, own[0], other)),
                                         ("device_type", type_conflict(kb, own[0], other))):
                        if not clash:
                            continue
                        first, second = sorted((own[0], other), key=lambda m: m.rule_id)
                        _add(found, "a", f"{first.rule_id} {second.rule_id} {field}", ALLOW_A,
                             f"{field}: {attribute}={value!r}: {first.rule_id} ({first.conclusions[field]}, "
                             f"{first.weight}) vs {second.rule_id} ({second.conclusions[field]}, {second.weight})")
    return list(found.values())


def loose_rule(kb: KnowledgeBase, rule_id: str) -> Rule:
    rule = kb.rule(rule_id)
    assert rule is not None
    return rule


def ha_matchers() -> list[ha.Matcher]:
    """Every discovery matcher of Home Assistant 2024.3.3 as the importer reads it."""
    files = {name: (HA_GENERATED / name).read_text(encoding="utf-8") for name in ha.GENERATED}
    result = ImportResult("homeassistant")
    return (ha.dhcp_matchers(ha.literal(files["dhcp.py"], "DHCP", "dhcp.py"), result)
            + ha.zeroconf_matchers(ha.literal(files["zeroconf.py"], "ZEROCONF", "zeroconf.py"), result)
            + ha.homekit_matchers(ha.literal(files["zeroconf.py"], "HOMEKIT", "zeroconf.py"), result)
            + ha.ssdp_matchers(ha.literal(files["ssdp.py"], "SSDP", "ssdp.py"), result))


def _condition_values(condition: dict[str, object]) -> Iterator[tuple[str, str]]:
    """(attribute, value) pairs a matcher's condition is met by: its literal, or samples of its regex."""
    attrs = condition["attribute"]
    for attribute in attrs if isinstance(attrs, list) else [attrs]:
        if "exact" in condition:
            yield str(attribute), str(condition["exact"])
        elif "regex" in condition:
            for value in samples(str(condition["regex"]), ignore_case=bool(condition.get("ignore_case"))):
                yield str(attribute), value


def check_home_assistant(kb: KnowledgeBase, loose: KnowledgeBase) -> list[Finding]:
    """Check (b): hand-written rules met by a value HA lists under another vendor's integration (vendor),
    or under an integration of another kind or of several kinds (device_type)."""
    domains = ha.load_domain_map(taxonomy=kb.taxonomy)
    found: dict[str, Finding] = {}
    for matcher in ha_matchers():
        for condition in matcher.conditions:
            if condition["attribute"] == "mac.address":
                continue  # a MAC block names its registrant: the IEEE registry speaks for it
            for attribute, value in _condition_values(condition):
                for hit in loose.match(attribute, value):
                    rule = loose_rule(kb, hit.rule_id)
                    if rule.file == HA_FILE or hit.conclusions.get("device_type") in COMPONENT_TYPES:
                        continue
                    for name in matcher.domains:
                        domain = domains.get(name)
                        if domain is not None and matcher.key in domain.exclude:
                            continue  # the domain map says why this matcher is another maker's device
                        for field, why in _disagreement(kb, hit, domain):
                            _add(found, "b", f"{rule.id} {name} {field}", ALLOW_B,
                                 f"{field}: {rule.id} ({hit.conclusions[field]}, {rule.weight}) meets HA {name} "
                                 f"({why}) {matcher.key!r} on {attribute}={value!r}")
    return list(found.values())


def _disagreement(kb: KnowledgeBase, hit: Match, domain: ha.Domain | None) -> list[tuple[str, str]]:
    """What a rule's conclusions say that the HA integration listing the value does not."""
    names = kb.oui.names
    out: list[tuple[str, str]] = []
    if domain is None or domain.skip:
        if hit.conclusions.get("vendor"):
            out.append(("vendor", f"skipped: {domain.skip}" if domain is not None else "not in the map"))
        return out
    vendor, theirs = hit.conclusions.get("vendor"), domain.vendor
    if vendor and not (theirs and (names.canonical(theirs).lower() == names.canonical(vendor).lower()
                                   or names.related(names.canonical(theirs), names.canonical(vendor)))):
        out.append(("vendor", f"vendor {theirs}"))
    kind, their_kind = hit.conclusions.get("device_type"), domain.device_type
    if kind and kb.taxonomy.get(kind) is not None:
        if their_kind is None:
            out.append(("device_type", "an integration of several kinds"))
        elif kind != their_kind and kind not in kb.taxonomy.ancestors(their_kind) \
                and their_kind not in kb.taxonomy.ancestors(kind):
            out.append(("device_type", f"type {their_kind}"))
    return out


def check_generic(kb: KnowledgeBase) -> list[Finding]:
    """Check (c): strong vendor rules whose evidence many makers' devices send (GENERIC)."""
    out: list[Finding] = []
    for rule in kb.rules:
        if rule.weight < STRONG or "vendor" not in rule.conclusions:
            continue
        values = examples(rule)
        for attributes, pattern, why in GENERIC:
            if not attributes & set(rule.attributes):
                continue
            found = next((v for v in values if re.search(pattern, v, re.IGNORECASE)), None)
            if found is not None:
                text = (f"{rule.id} ({rule.conclusions['vendor']}, {rule.weight}) on {rule.attribute}={found!r}: "
                        f"{why}; reference: {rule.reference}")
                out.append(Finding("c", rule.id, text, ALLOW_C.get(rule.id)))
                break
    return out


def audit(checks: Iterable[str] = ("a", "b", "c")) -> list[Finding]:
    """The findings of the named checks on the shipped rules."""
    kb, loose = load()
    out: list[Finding] = []
    if "a" in checks:
        out += check_pairs(kb, loose)
    if "b" in checks:
        out += check_home_assistant(kb, loose)
    if "c" in checks:
        out += check_generic(kb)
    return out


def stale_allowances(findings: list[Finding], checks: Iterable[str] = ("a", "b", "c")) -> list[str]:
    """Allow-list keys of the given checks that no finding needs any more (a fixed rule: drop its entry)."""
    tables = {"a": ALLOW_A, "b": ALLOW_B, "c": ALLOW_C}
    found = {(f.check, f.key) for f in findings}
    return [f"{c} {k}" for c in checks for k in tables[c] if (c, k) not in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a finding is not allow-listed")
    parser.add_argument("--only", choices=("a", "b", "c"), action="append", help="run this check (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the findings to this file")
    args = parser.parse_args(argv)
    checks = tuple(args.only or ("a", "b", "c"))
    findings = audit(checks)
    for check in checks:
        mine = [f for f in findings if f.check == check]
        open_ = [f for f in mine if f.allowed is None]
        print(f"== check {check}: {len(mine)} findings, {len(open_)} not reviewed, "
              f"{len(mine) - len(open_)} allow-listed")
        for f in mine:
            print(("   ok  " if f.allowed else "   NEW ") + f.text
                  + (f"\n        allowed: {f.allowed}" if f.allowed else ""))
    stale = stale_allowances(findings, checks)
    for key in stale:
        print(f"stale allow-list entry (nothing to allow any more): {key}")
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(f) for f in findings], indent=1) + "\n", encoding="utf-8")
    unreviewed = sum(1 for f in findings if f.allowed is None)
    return 1 if args.check and (unreviewed or stale) else 0


if __name__ == "__main__":
    sys.exit(main())
