"""Fingerbank dhcp_fingerprints.conf (2014, ODbL) -> DHCP option 55 / vendor class rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ParseError
from iotwarden.kb.importers import fingerbank
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.schema import load_attributes
from iotwarden.kb.taxonomy import Taxonomy
from tests.conftest import shared


@pytest.fixture(scope="module")
def text() -> str:
    return shared("fingerprints", "fingerbank_dhcp_2014", "dhcp_fingerprints.conf").read_text(encoding="latin-1")


def test_parse_counts(text: str) -> None:
    data = fingerbank.parse(text)
    assert len(data["class"]) == 25
    assert len(data["os"]) == text.count("[os ")
    assert data["os"]["100"]["vendor_id"] == ["MSFT 5.0"]


def test_windows_option_55_maps_to_windows(text: str, validate: Any) -> None:
    rules = validate(fingerbank.convert(text))
    assert len(rules) > 500
    kb = KnowledgeBase(rules, load_attributes(), Taxonomy.load())
    # the Windows Vista/7 request list, a well-known fingerprint ([os 107] in this file)
    hits = kb.match("dhcp.param_req_list", [1, 15, 3, 6, 44, 46, 47, 31, 33, 121, 249, 43, 252])
    assert hits and {m.conclusions["os"] for m in hits} == {"Windows"}
    assert any("Vista/7" in m.conclusions["os_version"] for m in hits)
    xp = kb.match("dhcp.param_req_list", "1,15,3,6,44,46,47,31,33,249,43")
    assert [m.rule_id for m in xp] == ["fingerbank.os100.prl1"]


def test_device_classes_resolve_to_taxonomy_types(text: str) -> None:
    result = fingerbank.convert(text)
    types = {r["conclusions"].get("device_type") for r in result.rules}
    assert {"printer", "voip_phone", "router", "game_console", "mobile_phone"} <= types
    # "Dead OSes" cross-lists Windows ids 102-106: the Windows class still wins
    me = [r for r in result.rules if r["id"].startswith("fingerbank.os102.")]
    assert me and me[0]["conclusions"]["os"] == "Windows"


def test_not_fingerbank() -> None:
    with pytest.raises(ParseError, match="no \\[os N\\] sections"):
        fingerbank.convert("[class 1]\ndescription=x\n")
    with pytest.raises(ParseError, match="unterminated"):
        fingerbank.parse("[os 1]\nfingerprints=<<EOT\n1,2,3\n")
    with pytest.raises(ParseError, match="outside a"):
        fingerbank.parse("stray line\n")


def test_heredoc_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fingerbank, "MAX_HEREDOC_LINES", 2)
    assert fingerbank.parse("[os 1]\nfingerprints=<<EOT\n1\n2\nEOT\n")["os"]["1"]["fingerprints"] == ["1", "2"]
    with pytest.raises(ParseError, match="longer than 2"):
        fingerbank.parse("[os 1]\nfingerprints=<<EOT\n1\n2\n3\nEOT\n")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="[]osclass 0123456789=<EOT\n#,-description", max_size=300))
def test_contract(text: str) -> None:
    try:
        result = fingerbank.convert(text)
    except ParseError:
        return
    assert all(r["match"]["attribute"] in ("dhcp.param_req_list", "dhcp.vendor_class") for r in result.rules)
