"""The identity table names real protocols and fields, and the inventory reads them in its order."""

from __future__ import annotations

from iotwarden.dissect import REGISTRY
from iotwarden.inventory.fieldvalues import attribute_name
from iotwarden.inventory.identity import RULES, attribute_plan

ZEEK_ONLY = {"software"}  # protocols only the Zeek log reader emits


def test_every_rule_is_for_a_registered_dissector_or_a_zeek_log() -> None:
    assert set(RULES) <= {name for name, _ in REGISTRY} | ZEEK_ONLY


def test_credentials_and_requested_paths_are_never_identity() -> None:
    # DNS query names are: the device clouds a device resolves name its vendor (kb/data/rules/tls.yaml)
    names = {path.rsplit(".", 1)[-1] for rule in RULES.values() for path in rule.attributes}
    assert not names & {"password", "community", "username", "questions", "uri"}


def test_hostnames_are_a_subset_of_identity_or_named_by_the_protocol() -> None:
    for proto, rule in RULES.items():
        assert rule.kinds is None or rule.kinds, proto
        assert not (rule.binds and rule.mac_field is None), proto  # a binding needs the owner's MAC


def test_the_plan_reads_each_rules_fields_in_its_declared_order() -> None:
    # the inventory reads fields through attribute_plan: the same names, paths and order as the rule
    for proto, rule in RULES.items():
        vocabulary = rule.vocabulary or proto
        for kind in ("", *(k for k, _ in rule.by_kind)):
            leading, trailing = attribute_plan(proto, kind)
            assert [(n, p) for n, p, _ in leading] == [
                (attribute_name(vocabulary, p, rule.renames), p) for p in rule.attributes], proto
            assert [(n, p) for n, p, _ in trailing] == [
                (attribute_name(vocabulary, p), p) for k, p in rule.by_kind if k == kind], proto
            assert all(top == ("." not in p and p != "*" and not p.isdigit()) for _, p, top in leading + trailing)


def test_the_plan_renames_and_adds_the_kinds_own_fields() -> None:
    leading, trailing = attribute_plan("s7comm", "job")
    assert ("s7comm.module_order_number", "order_number", True) in leading  # IdentityRule.renames
    assert trailing == (("s7comm.function", "function", True),)  # by_kind: a job's function
    assert attribute_plan("s7comm", "ack_data")[1] == ()
