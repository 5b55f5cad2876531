"""Rapid7 Recog XML fingerprint files (BSD-2-Clause) -> rules, on real fingerprints kept in data/recog."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import iotwarden.cli.kb  # noqa: F401 - registers the `kb` group on the app
from iotwarden.cli.main import app
from iotwarden.errors import ConfigError, ParseError
from iotwarden.kb.importers import recog
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.schema import load_attributes
from iotwarden.kb.taxonomy import Taxonomy

DATA = Path(__file__).parent / "data" / "recog"
FILES = sorted(DATA.glob("*.xml"))
# the example attributes whose value the importer turns into a conclusion (model, firmware, os_version)
CHECKED = ("hw.product", "hw.model", "hw.version", "os.product", "os.version")


def kb_of(rules: list[Any]) -> KnowledgeBase:
    return KnowledgeBase(rules, load_attributes(), Taxonomy.load())


def examples(path: Path) -> list[tuple[str, ET.Element, ET.Element]]:
    """(description, fingerprint, example) for every <example> of a fixture file."""
    root = ET.parse(path).getroot()  # noqa: S314 - our own fixture
    return [(fp.findtext("description") or "", fp, ex) for fp in root.iter("fingerprint") for ex in fp.iter("example")]


def test_fixture_carries_recog_licence_and_source() -> None:
    assert "Copyright (c) 2014, Rapid7" in (DATA / "LICENSE").read_text()
    source = (DATA / "SOURCE.txt").read_text()
    assert all(p.name in source for p in FILES) and len(FILES) == 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_example_matches_its_rule_with_the_params_conclusions(validate: Any, path: Path) -> None:
    result = recog.convert(path.read_text(encoding="utf-8"), path.name)
    rules = validate(result)
    kb = kb_of(rules)
    by_description = {r.reference.split("'")[1]: r for r in rules}
    checked = 0
    for description, fp, example in examples(path):
        rule = by_description.get(description)
        if rule is None:  # a fingerprint with nothing for us (service.* only): counted as skipped
            assert not any(p.get("name", "").startswith(("hw.", "os.")) for p in fp.iter("param"))
            continue
        hits = [m for m in kb.match(rule.attribute, example.text or "") if m.rule_id == rule.id]
        assert hits, f"{rule.id} does not match its example {example.text!r}"
        conclusions = hits[0].conclusions
        assert not any("{" in v for v in conclusions.values()), conclusions  # every group filled in
        for key in CHECKED:
            if key in example.attrib:
                assert any(example.attrib[key] in v for v in conclusions.values()), (key, conclusions)
                checked += 1
    assert checked or path.name == "rtsp_servers.xml"  # rtsp's examples only state service.version


def test_conclusions_of_real_fingerprints(validate: Any) -> None:
    result = recog.convert_all((p.name, p.read_text(encoding="utf-8")) for p in FILES)
    kb = kb_of(validate(result))
    (phone,) = kb.match("sip.user_agent", "PolycomVVX-VVX_400-UA/4.1.4.7430_010203040506")
    assert phone.conclusions == {"vendor": "Polycom", "model": "VVX 400", "firmware": "4.1.4.7430"}
    assert kb.match("sip.server", "Mitel-5320-SIP-Phone 06.05.00.11 010203040506")  # Server as User-Agent
    (hdx,) = kb.match("sip.server", "Polycom HDX 9006 (Release - 3.0.6-37004)")
    assert hdx.conclusions["device_type"] == "video_conferencing" and hdx.conclusions["model"] == "HDX 9006"
    (gateway,) = kb.match("sip.user_agent", "Cisco-SIPGateway/IOS-12.x")
    assert gateway.conclusions == {"os": "IOS", "os_version": "12.x"}  # os.* alone: the OS, no vendor
    # an appliance named by its OS params (os.device Switch, no hw.*): os.product is its model
    (switch,) = kb.match("snmp.sys_descr", "3Com LinkSwitch 1000, SW Version:1.04")
    assert switch.conclusions == {"vendor": "3Com", "model": "LinkSwitch 1000", "device_type": "switch",
                                  "category": "network", "firmware": "1.04"}
    (camera,) = kb.match("dhcp.vendor_class", "AXIS,Network Camera,P3343,5.20.3")
    assert camera.conclusions["device_type"] == "camera" and camera.conclusions["firmware"] == "5.20.3"
    (ap,) = kb.match("dhcp.vendor_class", "Cisco AP c1840i")  # Recog "WAP" -> access_point
    assert ap.conclusions["device_type"] == "access_point" and "os" not in ap.conclusions  # "... Firmware"
    (onvif,) = kb.match("rtsp.server", "AvigilonOnvifNvt/2.6.0.130")
    assert onvif.conclusions["os"] == "Linux" and onvif.conclusions["os_version"] == "2.6.0.130"
    # "^(?i)Cisco ..." (a Ruby flag group after the anchor) moved to the front: compiles, ignores case
    assert kb.match("dhcp.vendor_class", "CISCO SYSTEMS INC. WIRELESS PHONE 7925G")


def test_counts_and_weights() -> None:
    result = recog.convert_all((p.name, p.read_text(encoding="utf-8")) for p in FILES)
    fingerprints = sum(p.read_text().count("<fingerprint ") for p in FILES)
    assert len(result.rules) + result.skipped["no conclusion our rules hold (service.* only)"] == fingerprints
    assert result.skipped["device name not in the taxonomy (device_type left out)"] == 3  # Recog "VoIP"
    weights = {r["id"].split(".")[1]: r["weight"] for r in result.rules}
    assert weights["snmp_sysdescr"] == recog.DEFAULT_WEIGHT  # preference="0.20" is no confidence
    aironet = next(r for r in result.rules if "aironet" in r["id"])
    assert aironet["weight"] == round(recog.DEFAULT_WEIGHT * 0.8, 2)  # certainty="0.8"
    assert all(r["reference"].startswith("Rapid7 Recog xml/") and r["reference"].endswith("(BSD-2-Clause)")
               for r in result.rules)


def fingerprint_file(pattern: str, params: str = '<param pos="0" name="hw.vendor" value="Acme"/>',
                     matches: str = "http_header.server", flags: str = "") -> str:
    flag_attr = f' flags="{flags}"' if flags else ""
    return (f'<fingerprints matches="{matches}"><fingerprint pattern="{html.escape(pattern)}"{flag_attr}>'
            f"<description>t</description>{params}</fingerprint></fingerprints>")


@pytest.mark.parametrize("pattern", [
    r"^Acme(?i)Server",  # a flag group mid-pattern: Ruby scopes it, Python refuses it
    r"^Acme\p{Alpha}+",  # Onigmo property class
    r"^Acme\K/(\d+)",  # match-start reset
    r"^Acme(?<x>a)(?<x>b)",  # a group name used twice (legal in Ruby)
])
def test_ruby_only_regex_is_skipped_and_counted(pattern: str) -> None:
    result = recog.convert(fingerprint_file(pattern), "http_servers.xml")
    assert result.rules == []
    assert result.skipped["Ruby regex Python cannot compile"] == 1


@pytest.mark.parametrize(("ruby", "value", "group"), [
    (r"^Acme/(\h+)\z", "Acme/00ff", "00ff"),  # \h hex digit, \z end of string
    (r"^Acme/([\h.]+)\Z", "Acme/1.a\n", "1.a"),  # \h in a class; \Z before a final newline
    (r"\AAcme (?<ver>\d+)$", "Acme 12", "12"),  # named group
    (r"^Acme (\d++)(?>x)", "Acme 7x", "7"),  # possessive quantifier, atomic group (Python 3.11)
    (r"^Acme [^\]]+ (\d)", "Acme ab 3", "3"),
])
def test_ruby_regex_conversion(ruby: str, value: str, group: str) -> None:
    m = re.compile(recog.ruby_to_python(ruby)).search(value)
    assert m is not None and m.group(1) == group
    assert re.compile(recog.ruby_to_python(r"^Acme/\d+\z")).search("Acme/1\n") is None  # \z is absolute


def test_flags_and_line_anchors(validate: Any) -> None:
    # Ruby's ^ matches after any newline (a banner's second line); REG_DOT_NEWLINE lets '.' cross lines
    text = fingerprint_file(r"^User Access Verification.*Password", flags="REG_ICASE,REG_DOT_NEWLINE",
                            matches="telnet.banner")
    kb = kb_of(validate(recog.convert(text, "telnet_banners.xml")))
    assert kb.match("telnet.banner", "\r\nuser access verification\r\n\r\npassword: ")
    unsupported = recog.convert(fingerprint_file("^A", flags="REG_EXTENDED"), "x.xml")
    assert unsupported.skipped["unsupported regex flag"] == 1


def test_ssh_banner_anchor_moves_past_the_protocol_version(validate: Any) -> None:
    text = fingerprint_file(r"^RomSShell_([\d\.]+)$", '<param pos="0" name="hw.vendor" value="Allegro"/>'
                            '<param pos="1" name="hw.version"/>', matches="ssh.banner")
    kb = kb_of(validate(recog.convert(text, "ssh_banners.xml")))
    (m,) = kb.match("ssh.banner", "SSH-2.0-RomSShell_4.31")
    assert m.conclusions == {"vendor": "Allegro", "firmware": "4.31"}


def test_unmapped_files_and_bad_params_are_counted() -> None:
    x509 = recog.convert(fingerprint_file("^CN=acme", matches="x509.subject"), "x509_subjects.xml")
    assert x509.rules == [] and x509.skipped["matches x509.subject: no attribute of ours"] == 1
    # hp_pjl_id.xml has no matches attribute: the file name says what it is
    pjl = recog.convert('<fingerprints protocol="pjl"><fingerprint pattern="^Brother (.+)$"><description>B'
                        '</description><param pos="0" name="os.vendor" value="Brother"/><param pos="0" '
                        'name="os.device" value="Printer"/><param pos="1" name="os.product"/></fingerprint>'
                        "</fingerprints>", "hp_pjl_id.xml")
    assert pjl.rules[0]["match"]["attribute"] == "pjl.model"
    assert pjl.rules[0]["conclusions"] == {"vendor": "Brother", "model": "{1}", "device_type": "printer"}
    long = recog.convert(fingerprint_file("^Acme" + "a" * 1000), "http_servers.xml")
    assert long.skipped["regex longer than MAX_PATTERN_LENGTH"] == 1
    missing_group = recog.convert(fingerprint_file("^Acme", '<param pos="2" name="hw.version"/>'), "x.xml")
    assert missing_group.skipped["param names a regex group the pattern lacks"] == 1
    # an interpolation of nothing, or of an unknown param, drops that one conclusion
    dangling = recog.convert(fingerprint_file("^Acme (\\d+)", '<param pos="0" name="hw.vendor" value="Acme"/>'
                                              '<param pos="0" name="hw.product" value="X {hw.nothing}"/>'),
                             "http_servers.xml")
    assert dangling.rules[0]["conclusions"] == {"vendor": "Acme"}


def test_hostile_or_foreign_xml() -> None:
    with pytest.raises(ParseError, match="DOCTYPE"):
        recog.convert('<!DOCTYPE x [<!ENTITY a "aaaa">]><fingerprints>&a;</fingerprints>', "x.xml")
    with pytest.raises(ParseError, match="DOCTYPE"):
        recog.convert('<?xml version="1.0"?>\n<!-- c -->\n<!ENTITY a SYSTEM "file:///etc/passwd">', "x.xml")
    with pytest.raises(ParseError, match="not well-formed"):
        recog.convert("<fingerprints><fingerprint>", "x.xml")
    with pytest.raises(ParseError, match="not a Recog"):
        recog.convert("<DHCP><fingerprints/></DHCP>", "dhcp.xml")  # a Satori file
    with pytest.raises(ParseError, match=r"b\.xml: not well-formed"):
        recog.convert_all([("a.xml", "<fingerprints/>"), ("b.xml", "<")])


def test_size_and_file_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recog, "MAX_XML_BYTES", 10)
    with pytest.raises(ParseError, match="MAX_XML_BYTES"):
        recog.convert("<fingerprints></fingerprints>", "x.xml")
    monkeypatch.undo()
    monkeypatch.setattr(recog, "MAX_FILES", 2)
    with pytest.raises(ParseError, match="MAX_FILES"):
        recog.convert_all([(f"{i}.xml", "<fingerprints/>") for i in range(3)])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='<>/="fingerprints matches pattern param pos name value hw.vendor 0 1 ^(\\d)[?<', max_size=200))
def test_contract(text: str) -> None:
    try:
        result = recog.convert(text, "http_servers.xml")
    except ParseError:
        return
    assert isinstance(result.rules, list)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_regex_conversion_never_raises(pattern: str) -> None:
    try:
        result = recog.convert(fingerprint_file(pattern), "http_servers.xml")
    except ParseError:  # a character XML 1.0 cannot hold (NUL, lone surrogates...)
        return
    assert len(result.rules) + sum(result.skipped.values()) >= 1


def test_cli_imports_a_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("IOTWARDEN_HOME", str(home))
    out = home / "rules" / "recog.yaml"
    out.parent.mkdir(parents=True)
    result = CliRunner().invoke(app, ["kb", "import", "recog", str(DATA), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "14 rules" in result.output and "1 no conclusion our rules hold" in result.output
    text = out.read_text()
    assert text.startswith("# Converted by `iotwarden kb import recog` from recog.") and "BSD-2-Clause" in text
    assert "&id" not in text and "\n- id: recog." in text  # no YAML anchors; each rule opens with its id
    kb = KnowledgeBase.load(user_rules=out.parent)
    hits = kb.match("snmp.sys_descr", "3Com IntelliJack NJ220")
    assert any(m.conclusions.get("model") == "NJ220" and m.rule_id.startswith("recog.") for m in hits)
    one = CliRunner().invoke(app, ["kb", "import", "recog", str(DATA / "rtsp_servers.xml"), "-o",
                                   str(tmp_path / "one.yaml")])
    assert one.exit_code == 0 and "3 rules" in one.output
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = CliRunner().invoke(app, ["kb", "import", "recog", str(empty), "-o", str(tmp_path / "x.yaml")])
    assert isinstance(nothing.exception, ConfigError) and not (tmp_path / "x.yaml").exists()
