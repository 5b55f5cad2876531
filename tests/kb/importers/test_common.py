"""Shared importer pieces: the result record, id slugs, wildcard patterns and the YAML writer."""

from __future__ import annotations

import re

import pytest

from iotwarden.kb.importers import common
from iotwarden.kb.importers.common import ImportResult, dump_rules, glob_regex, slug
from iotwarden.kb.schema import safe_load


def test_slug_and_glob() -> None:
    assert slug("Microsoft Windows XP (5.1)") == "microsoft_windows_xp_5_1"
    assert slug("***") == "x"
    pattern = re.compile(glob_regex("65535:128:1:*:M*,N,W0:."))
    assert pattern.match("65535:128:1:52:M1460,N,W0:.")
    assert not pattern.match("65535:128:1:52:M1460,N,W1:.")


def test_dump_names_origin_licence_and_skips() -> None:
    result = ImportResult("p0f")
    result.add({"id": "p0f.x.1", "match": {"attribute": "tcp.syn_signature", "p0f": "*:64:0:*:*,*:mss:df:0"},
                "conclusions": {"os": "Linux"}, "weight": 0.5, "reference": "test"})
    result.skipped["[mtu] section"] += 3
    text = dump_rules(result, "p0f.fp", "LGPL-2.1")
    assert text.startswith("# Converted by `iotwarden kb import p0f` from p0f.fp.\n# LGPL-2.1\n")
    assert "3 [mtu] section" in text
    assert safe_load(text)["rules"][0]["id"] == "p0f.x.1"


def test_imported_rule_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "MAX_IMPORTED_RULES", 2)
    result = ImportResult("x")
    assert [result.add({"id": str(i)}) for i in range(3)] == [True, True, False]
    assert result.skipped["over MAX_IMPORTED_RULES"] == 1
