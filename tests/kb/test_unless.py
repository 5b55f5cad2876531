"""A rule's ``unless`` (kb/schema.py): matches that, any one of them on the same device, take the rule's evidence
away, validated as ``requires`` is, kept in the compiled index only by the rules that have it, and judged on the
whole device by the index (kb/index.py)."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.errors import ConfigError
from iotwarden.kb.schema import MAX_REQUIRES, Rule, RuleValidator, load_attributes
from iotwarden.kb.taxonomy import Taxonomy
from tests.kb.test_index import build, ids, r

CARD = "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.5.6 PN:apc_hw05_aos_656.bin AN1:apc_hw05_x_656.bin MN:X)"


@pytest.fixture(scope="module")
def validator() -> RuleValidator:
    return RuleValidator(load_attributes(), Taxonomy.load())


def card_rule(**extra: Any) -> dict[str, Any]:
    return {**r("card", "snmp.sys_descr", "regex", "^APC Web/SNMP Management Card", conclusions={"device_type": "ups"}),
            "unless": [{"attribute": "snmp.sys_object_id",
                        "prefix": ["1.3.6.1.4.1.318.1.3.14", "1.3.6.1.4.1.318.1.3.4"]}],
            **extra}


def test_unless_is_validated_like_requires_and_survives_the_compiled_index(validator: RuleValidator) -> None:
    rule = validator.rule(card_rule(), "x.yaml")
    assert [(c.attribute, c.how, c.values) for c in rule.unless] == [
        ("snmp.sys_object_id", "prefix", ("1.3.6.1.4.1.318.1.3.14", "1.3.6.1.4.1.318.1.3.4"))]
    assert rule.requires == () and Rule.from_dict(rule.to_dict()) == rule
    plain = validator.rule(r("plain", "snmp.sys_descr", "exact", "x"), "x.yaml")
    assert plain.unless == () and "unless" not in plain.to_dict()  # compiled lines of other rules unchanged


@pytest.mark.parametrize(("unless", "key"), [
    ([], "'unless'"), ({"attribute": "snmp.sys_object_id", "prefix": "1"}, "'unless'"),
    ([{"attribute": "snmp.sys_object_id", "prefix": "1"}] * (MAX_REQUIRES + 1), "'unless'"),
    ([{"attribute": "no.such", "exact": "1"}], "unless[0]"),
    ([{"attribute": "snmp.sys_descr", "regex": "("}], "unless[0]"),
    ([{"attribute": "snmp.sys_object_id", "regex": "^1"}], "unless[0]"),  # no regex on an OID
])
def test_a_bad_unless_is_named_by_rule_and_key(validator: RuleValidator, unless: Any, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        validator.rule(card_rule(unless=unless), "x.yaml")
    assert "rule 'card'" in str(err.value) and key in str(err.value), err.value


def test_one_matching_condition_takes_the_rule_s_evidence_away() -> None:
    kb = build(card_rule(), {**r("two", "snmp.sys_descr", "prefix", "APC"),
                             "unless": [{"attribute": "snmp.sys_object_id", "exact": "1.3.6.1.4.1.318.1.3.4.5"},
                                        {"attribute": "snmp.sys_name", "exact": "pdu"}]})
    ups = {"snmp.sys_descr": [CARD], "snmp.sys_object_id": ["1.3.6.1.4.1.318.1.3.27"]}
    assert sorted(ids(kb.match_device(ups))) == ["card", "two"]
    assert sorted(ids(kb.match_device({"snmp.sys_descr": [CARD]}))) == ["card", "two"]  # nothing excludes
    cooling = {**ups, "snmp.sys_object_id": ["1.3.6.1.4.1.318.1.3.14.5"]}
    assert ids(kb.match_device(cooling)) == ["two"]
    pdu = {**ups, "snmp.sys_object_id": ["1.3.6.1.4.1.318.1.3.4.5"]}
    assert ids(kb.match_device(pdu)) == []  # both rules' conditions met
    assert ids(kb.match_device({**ups, "snmp.sys_name": ["pdu"]})) == ["card"]  # any one condition of the list
    # a lone value, with no device to look at, has nothing excluding it; the memo keeps it judged per device
    assert sorted(ids(kb.match("snmp.sys_descr", CARD))) == ["card", "two"]
    assert ids(kb.match_device(cooling)) == ["two"]


def test_requires_and_unless_together() -> None:
    kb = build({**card_rule(), "requires": [{"attribute": "snmp.sys_object_id", "prefix": "1.3.6.1.4.1.318"}]})
    assert ids(kb.match_device({"snmp.sys_descr": [CARD], "snmp.sys_object_id": ["1.3.6.1.4.1.318.1.3.27"]})) == [
        "card"]
    assert kb.match_device({"snmp.sys_descr": [CARD], "snmp.sys_object_id": ["1.3.6.1.4.1.318.1.3.14.4"]}) == []
    assert kb.match_device({"snmp.sys_descr": [CARD]}) == []  # requires unmet
    assert kb.match("snmp.sys_descr", CARD) == []
