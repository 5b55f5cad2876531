"""bench/kb_channels.py, the coverage probe of issue #3: a kind's channels are the protocols of the attributes its
rules match, counted once each whatever the rule file; only the chosen categories are listed, weakest first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.kb import KnowledgeBase
from iotwarden.kb.schema import Rule
from tests.benchutil import bench_module

probe = bench_module("kb_channels")


def _rule(rule_id: str, attribute: str, **conclusions: str) -> Rule:
    return Rule(id=rule_id, attribute=attribute, how="exact", values=("x",), conclusions=conclusions, weight=0.5,
                reference="test")


def test_a_kind_s_channels_are_its_rules_protocols_each_once() -> None:
    rules = [_rule("a", "dhcp.vendor_class", device_type="camera"), _rule("b", "dhcp.hostname", device_type="camera"),
             _rule("c", "rtsp.server", device_type="camera"), _rule("d", "mac.oui_vendor", device_type="printer"),
             _rule("e", "http.server", vendor="Acme")]  # no kind: counts for none
    assert probe.channels_by_kind(rules) == {"camera": {"dhcp", "rtsp"}, "printer": {"mac"}}


def test_each_attribute_a_rule_matches_is_a_channel() -> None:
    # a rule matching [tls.sni, dns.qname] types through TLS and DNS alike (Rule.attributes: the first and 'also')
    rule = Rule(id="a", attribute="tls.sni", how="exact", values=("x",), conclusions={"device_type": "smart_scale"},
                weight=0.5, reference="test", also=("dns.qname",))
    assert probe.channels_by_kind([rule]) == {"smart_scale": {"tls", "dns"}}
    shipped = {kind: set(chans) for kind, _, chans in probe.coverage(KnowledgeBase.load())}
    assert {"tls", "dns"} <= shipped["smart_scale"]  # tls.sni.withings_scale matches both


def test_the_shipped_rules_type_a_camera_through_many_channels_and_rows_run_weakest_first() -> None:
    rows = probe.coverage(KnowledgeBase.load())
    counts = [len(chans) for _, _, chans in rows]
    assert counts == sorted(counts)
    assert {category for _, category, _ in rows} <= set(probe.CATEGORIES)
    camera = {kind: chans for kind, _, chans in rows}["camera"]
    assert {"rtsp", "wsd", "sip", "http", "mac"} <= set(camera)


def test_the_command_lists_the_kinds_below_a_count_and_writes_json(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "channels.json"
    assert probe.main(["--below", "2", "--json", str(out)]) == 0
    listed = json.loads(out.read_text(encoding="utf-8"))
    assert listed and all(len(row["channels"]) < 2 for row in listed.values())
    assert "camera" not in listed
    assert capsys.readouterr().out.count("\n") == len(listed)
