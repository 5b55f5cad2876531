"""Every PJLink rule sits in rules/pjlink.yaml (issue #3): the tcp/4352 answers (INF1, INF2, the service) and the
udp/4352 Class 2 MAC, read by one dissector (dissect/pjlink.py), are one source's knowledge in one file."""

from __future__ import annotations

from iotwarden.kb.compiled import compile_rules
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.schema import Rule

PJLINK_RULES = {
    "pjlink.service", "pjlink.manufacturer.stated", "pjlink.product.model", "pjlink.manufacturer.epson",
    "pjlink.product.panasonic_projector", "pjlink.product.sony_projector", "pjlink.product.hitachi_projector",
    "pjlink.class2.mac",
}


def _reads_pjlink(rule: Rule) -> bool:
    attributes = [*rule.attributes, *(a for c in rule.requires for a in c.attributes)]
    return (any(a.startswith("pjlink.") for a in attributes)
            or (rule.attribute == "service.server" and "pjlink" in rule.values))


def test_the_pjlink_rules_are_all_in_pjlink_yaml() -> None:
    rules = compile_rules()
    reading = {r.id: r.file for r in rules if _reads_pjlink(r)}
    assert set(reading) == PJLINK_RULES
    assert set(reading.values()) == {"pjlink.yaml"}
    assert {r.id for r in rules if r.file == "pjlink.yaml"} == PJLINK_RULES  # and nothing else there


def test_the_compiled_index_names_the_file_and_reads_them_as_before() -> None:
    kb = KnowledgeBase.load()
    assert {r.id: r.file for r in kb.rules if r.id in PJLINK_RULES} == dict.fromkeys(PJLINK_RULES, "pjlink.yaml")
    assert not [r.id for r in kb.rules if r.file == "enterprise.yaml" and _reads_pjlink(r)]
    found = kb.match("pjlink.manufacturer", "EPSON")
    assert {m.rule_id for m in found} == {"pjlink.manufacturer.stated", "pjlink.manufacturer.epson"}
    kinds = {m.rule_id: dict(m.conclusions).get("device_type") for m in found}
    assert kinds["pjlink.manufacturer.epson"] == "projector"
