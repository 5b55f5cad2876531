"""p0f.fp (p0f 3.09b, Debian) -> TCP/IP stack fingerprint rules."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.kb.importers import p0f
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.schema import load_attributes
from iotwarden.kb.taxonomy import Taxonomy
from tests.conftest import shared


def test_p0f_database(validate: Any) -> None:
    text = shared("fingerprints", "p0f", "p0f.fp").read_text(encoding="utf-8")
    result = p0f.convert(text)
    rules = validate(result)
    sig_lines = sum(1 for line in text.splitlines() if line.strip().startswith("sig"))
    # every sig line is either a rule or counted as skipped, by reason
    assert len(rules) + sum(result.skipped.values()) == sig_lines
    assert result.skipped["[mtu] section"] > 0 and result.skipped["[http:request] section"] > 0
    assert result.skipped["application label (not an OS)"] > 0  # NMap, browsers: not an OS
    assert {r.attribute for r in rules} == {"tcp.syn_signature", "tcp.synack_signature"}
    linux = [r for r in rules if r.values == ("*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0",)]
    assert linux and linux[0].conclusions == {"os": "Linux", "os_version": "3.11 and newer"}
    assert linux[0].weight == 0.7  # an "s" (specific) label

    kb = KnowledgeBase(rules, load_attributes(), Taxonomy.load())
    seen = "4:58:0:1460:29200,10:mss,sok,ts,nop,ws:df,id+:0"
    assert any(m.conclusions.get("os") == "Linux" for m in kb.match("tcp.syn_signature", seen))


def test_small_database() -> None:
    text = """
; comment
classes = win,unix,other
[tcp:request]
label = g:win:Windows:NT kernel
sig = *:128:0:*:8192,0:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:128:0:*:broken
label = s:!:NMap:SYN scan
sig = *:64-:0:1460:1024,0:mss:::0
"""
    result = p0f.convert(text)
    assert [r["conclusions"] for r in result.rules] == [{"os": "Windows", "os_version": "NT kernel"}]
    assert result.rules[0]["weight"] == 0.4  # "g" (generic)
    assert result.skipped == {"invalid signature": 1, "application label (not an OS)": 1}


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="[]tcp:request=labelsig*,0123456789\n;!uxw", max_size=300))
def test_never_crashes(text: str) -> None:
    result = p0f.convert(text)
    assert all(r["match"]["attribute"].startswith("tcp.") for r in result.rules)
