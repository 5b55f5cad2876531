"""bench/kb_audit.py on the shipped rules: no rule names the wrong vendor or kind without review.

A new pair of rules that one value satisfies and that disagree on the vendor or the type (check a),
or a hand-written rule naming a vendor from a value Home Assistant lists under another maker's
integration (check b), fails here until its rule is fixed or the audit's allow-list says why it is fine.
"""

from __future__ import annotations

import dataclasses

import pytest

from iotwarden.kb import KnowledgeBase
from iotwarden.kb.schema import Condition, Rule
from tests.benchutil import bench_module

audit = bench_module("kb_audit")
regex_samples = bench_module("regex_samples")


@pytest.fixture(scope="module")
def shipped() -> tuple[KnowledgeBase, KnowledgeBase]:
    return audit.load()  # type: ignore[no-any-return]


def test_shipped_rules_have_no_unreviewed_conflict(shipped: tuple[KnowledgeBase, KnowledgeBase]) -> None:
    kb, loose = shipped
    findings = audit.check_pairs(kb, loose) + audit.check_home_assistant(kb, loose)
    new = [f.text for f in findings if f.allowed is None]
    assert not new, "fix these rules or allow-list them in bench/kb_audit.py with the reason:\n" + "\n".join(new)
    # an entry whose conflict is gone (the rule was fixed) is dropped from the allow-list too
    assert not audit.stale_allowances(findings, ("a", "b"))


def test_strong_vendor_rules_on_generic_evidence_are_reviewed(shipped: tuple[KnowledgeBase, KnowledgeBase]) -> None:
    findings = audit.check_generic(shipped[0])
    assert [f.text for f in findings if f.allowed is None] == []
    assert not audit.stale_allowances(findings, ("c",))


def _with(kb: KnowledgeBase, rule_id: str, conclusions: dict[str, str]) -> tuple[KnowledgeBase, KnowledgeBase]:
    """The shipped rules with one rule's conclusions changed, as audit.load() returns them."""
    rules = [dataclasses.replace(r, conclusions=conclusions) if r.id == rule_id else r for r in kb.rules]
    changed = KnowledgeBase(rules, kb.attributes, kb.taxonomy)
    return changed, KnowledgeBase([dataclasses.replace(r, requires=()) for r in rules], kb.attributes, kb.taxonomy)


def test_the_axis_service_naming_doorbird_stations_axis_is_found(shipped: tuple[KnowledgeBase, KnowledgeBase]) -> None:
    # mdns.service.axis_video as it was before dbbdec1: DoorBird announces _axis-video too
    kb, loose = _with(shipped[0], "mdns.service.axis_video", {"vendor": "Axis", "device_type": "camera"})
    keys = {f.key for f in audit.check_pairs(kb, loose)}
    assert "homeassistant.doorbird.zeroconf.1 mdns.service.axis_video vendor" in keys
    assert "mdns.service.axis_video homeassistant.doorbird.zeroconf.1 vendor" not in keys  # one key per pair
    keys = {f.key for f in audit.check_home_assistant(kb, loose)}
    assert "mdns.service.axis_video doorbird vendor" in keys


def test_the_fixed_rules_are_found_again_when_they_name_a_vendor(shipped: tuple[KnowledgeBase, KnowledgeBase]) -> None:
    kb, loose = _with(shipped[0], "mdns.service.somfy_kizbox", {"vendor": "Somfy", "device_type": "smart_hub"})
    assert "homeassistant.overkiz.zeroconf.1 mdns.service.somfy_kizbox vendor" in {
        f.key for f in audit.check_pairs(kb, loose)}
    kb, loose = _with(shipped[0], "mdns.service.miio", {"vendor": "Xiaomi", "category": "iot"})
    assert "mdns.service.miio yeelight vendor" in {f.key for f in audit.check_home_assistant(kb, loose)}
    # Roku OS answers alike on players and TVs: Home Assistant's roku integration covers both kinds
    kb, loose = _with(shipped[0], "ssdp.type.roku_ecp", {"vendor": "Roku", "device_type": "streaming_stick"})
    assert "ssdp.type.roku_ecp roku device_type" in {f.key for f in audit.check_home_assistant(kb, loose)}


def test_rules_that_never_meet_on_one_device_are_no_conflict(shipped: tuple[KnowledgeBase, KnowledgeBase]) -> None:
    kb, loose = shipped
    keys = {f.key for f in audit.check_pairs(kb, loose)}
    # both require the TXT macaddress of their own blocks: one announcement has one value of a key
    assert not any("homeassistant.axis.zeroconf" in k and "doorbird" in k for k in keys)
    # each requires its own maker's name in the instance name or TXT record
    assert not any("homeassistant.shelly.zeroconf.1" in k for k in keys)


def _card_rules(unless: tuple[Condition, ...], pdu_requires: str) -> tuple[KnowledgeBase, KnowledgeBase]:
    """The shipped rules plus two read from one management card's sysDescr: a UPS's card unless ``unless``,
    and a PDU's card requiring the sysObjectID prefix ``pdu_requires`` (as audit.load() returns them)."""
    kb = audit.load()[0]
    card = "Acme Web/SNMP Management Card"
    ups = Rule("test.card.ups", "snmp.sys_descr", "prefix", (card,), {"device_type": "ups"}, 0.9, "test",
               unless=unless)
    pdu = Rule("test.card.pdu", "snmp.sys_descr", "prefix", (card,), {"device_type": "pdu"}, 0.9, "test",
               requires=(Condition("snmp.sys_object_id", "prefix", (pdu_requires,)),))
    rules = [*kb.rules, ups, pdu]
    return (KnowledgeBase(rules, kb.attributes, kb.taxonomy),
            KnowledgeBase([dataclasses.replace(r, requires=()) for r in rules], kb.attributes, kb.taxonomy))


def test_an_unless_that_excludes_the_other_rules_situation_is_no_conflict() -> None:
    # 993b6c8's unless: the UPS card's rule stands down on the arcs of APC's PDUs, so the pair never meets
    arc = Condition("snmp.sys_object_id", "prefix", ("1.3.6.1.4.1.99999.1.4",))
    key = "test.card.pdu test.card.ups device_type"
    assert key not in {f.key for f in audit.check_pairs(*_card_rules((arc,), "1.3.6.1.4.1.99999.1.4.2"))}
    # the same pair without the unless, or with the PDU on an arc the unless leaves alone, is a conflict
    assert key in {f.key for f in audit.check_pairs(*_card_rules((), "1.3.6.1.4.1.99999.1.4.2"))}
    assert key in {f.key for f in audit.check_pairs(*_card_rules((arc,), "1.3.6.1.4.1.99999.1.27"))}
    # an unless met by the very value both rules read takes the evidence away too
    text = Condition("snmp.sys_descr", "contains", ("Management Card",))
    assert key not in {f.key for f in audit.check_pairs(*_card_rules((text,), "1.3.6.1.4.1.99999.1.27"))}


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"^_(printer|pdl-datastream)\._tcp\.", ["_printer._tcp.", "_pdl-datastream._tcp."]),
    (r"^axis-([0-9a-f]{12})$", ["axis-000000000000", "axis-aaaaaaaaaaaa"]),
    (r"^md=Foo(?:[ -].*)?$", ["md=Foo", "md=Foo ", "md=Foo x", "md=Foo-", "md=Foo-x"]),
    (r"^(?!foo)bar", ["bar"]),
    (r"(", []),  # not a regex: no sample
])
def test_regex_samples_are_strings_the_pattern_matches(pattern: str, expected: list[str]) -> None:
    assert regex_samples.samples(pattern) == expected


def test_the_audit_script_reports_counts_and_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert audit.main(["--check", "--only", "a"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("== check a: ") and "0 not reviewed" in out
