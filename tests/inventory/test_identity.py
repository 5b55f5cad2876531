"""The identity table names real protocols and fields, and keeps fingerprint order where it matters."""

from __future__ import annotations

from iotwarden.dissect import REGISTRY
from iotwarden.inventory.identity import ORDERED_FIELDS, RULES

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


def test_option_order_fingerprints_are_kept_whole() -> None:
    assert {"param_req_list", "options", "oro"} == ORDERED_FIELDS
