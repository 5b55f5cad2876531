"""Satori XML fingerprint files (xnih/satori, GPL-2.0) -> rules, read in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ParseError
from iotwarden.kb.importers import satori
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.schema import load_attributes
from iotwarden.kb.taxonomy import Taxonomy
from tests.conftest import shared


def load(name: str) -> str:
    return shared("fingerprints", "satori", name).read_text(encoding="utf-8")


def kb_of(rules: list[Any]) -> KnowledgeBase:
    return KnowledgeBase(rules, load_attributes(), Taxonomy.load())


def test_dhcp_xml(validate: Any) -> None:
    text = load("dhcp.xml")
    result = satori.convert(text)
    rules = validate(result)
    assert len(rules) + sum(result.skipped.values()) == text.count("<test ")  # nothing silently lost
    assert result.skipped["dhcp test on an unsupported field"] > 0  # the IP TTL tests
    kb = kb_of(rules)
    phone = kb.match("dhcp.param_req_list", [1, 3, 6, 15, 35, 66, 58, 59, 120, 184, 26])  # "3Com IP Phone"
    assert any(m.conclusions.get("device_type") == "voip_phone" and m.conclusions.get("vendor") == "3Com"
               for m in phone)
    assert kb.match("dhcp.vendor_class", "3Com-Phone-3101b")


def test_tcp_xml_exact_and_wildcard(validate: Any) -> None:
    rules = validate(satori.convert(load("tcp.xml")))
    kb = kb_of(rules)
    plc = kb.match("tcp.satori_synack_signature", "2048:128:0:48:M16384,N,N,S:.")
    assert any(m.conclusions.get("os") == "1763 MicroLogix 1100 PLC" for m in plc)
    assert any(r.how == "regex" for r in rules)  # partial signatures with '*'


@pytest.mark.parametrize(("name", "attribute"), [
    ("ssh.xml", "ssh.banner"), ("web.xml", "http.server"), ("webuseragent.xml", "http.user_agent"),
    ("ssl.xml", "tls.ja3"), ("dhcpv6.xml", "dhcpv6.oro"), ("dns.xml", "dns.qname"),
    ("sip.xml", "sip.user_agent"), ("sip.xml", "sip.server"), ("smb.xml", "smb.native_os"),
    ("smb.xml", "smb.native_lanman"),
])
def test_other_files(validate: Any, name: str, attribute: str) -> None:
    text = load(name)
    result = satori.convert(text)
    rules = validate(result)
    assert len(rules) + sum(result.skipped.values()) >= text.count("<test ") - text.count("<fingerprint ")
    assert any(attribute in r.attributes for r in rules)


def test_web_server_names(validate: Any) -> None:
    kb = kb_of(validate(satori.convert(load("web.xml"))))
    assert any(m.conclusions.get("vendor") == "F5" for m in kb.match("http.server", "BigIP"))


def test_sip_and_smb_names_reach_what_the_dissectors_keep(validate: Any) -> None:
    sip = kb_of(validate(satori.convert(load("sip.xml"))))
    phone = sip.match("sip.user_agent", "Aastra 480i/2.4.1")
    assert any(m.conclusions.get("device_type") == "voip_phone" for m in phone)
    assert any(m.conclusions.get("vendor") for m in sip.match("sip.server", "3CXPhoneSystem 15.5"))
    smb = kb_of(validate(satori.convert(load("smb.xml"))))
    assert smb.match("smb.native_lanman", "Samba for GuardianOS v.7.7.220")


def test_unsupported_files_skip_everything() -> None:
    result = satori.convert(load("icmp.xml"))
    assert result.rules == [] and sum(result.skipped.values()) > 0


def test_hostile_or_foreign_xml() -> None:
    with pytest.raises(ParseError, match="DOCTYPE"):
        satori.convert('<!DOCTYPE x [<!ENTITY a "aaaa">]><DHCP><fingerprints/></DHCP>')
    with pytest.raises(ParseError, match="not well-formed"):
        satori.convert("<DHCP><fingerprints>")
    with pytest.raises(ParseError, match="no <fingerprints>"):
        satori.convert("<html/>")


def test_size_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(satori, "MAX_XML_BYTES", 10)
    with pytest.raises(ParseError, match="MAX_XML_BYTES"):
        satori.convert("<DHCP><fingerprints/></DHCP>")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='<>/="DHCP fingerprints test dhcpoption55 1,3 name weight matchtype exact', max_size=200))
def test_contract(text: str) -> None:
    try:
        result = satori.convert(text)
    except ParseError:
        return
    assert isinstance(result.rules, list)
