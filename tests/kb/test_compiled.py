"""The compiled index (kb/data/generated/index.json): CI fails when it is stale (STYLE 8), a stale one is not
read, its text is deterministic."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from iotwarden.kb import compiled, oui, paths
from iotwarden.kb.compiled import (
    compile_rules,
    index_problem,
    load_shipped_rules,
    render_index,
    source_digest,
    write_index,
)
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.schema import Rule, load_attributes
from iotwarden.kb.taxonomy import Taxonomy


def test_compiled_index_is_not_stale() -> None:
    assert index_problem() is None


def _copy_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    shutil.copytree(paths.PACKAGE_DATA, data, ignore=shutil.ignore_patterns("oui"))
    monkeypatch.setattr(paths, "RULES_DIR", data / "rules")
    monkeypatch.setattr(paths, "GENERATED_INDEX", data / "generated" / "index.json")
    monkeypatch.setattr(paths, "ATTRIBUTES_FILE", data / "attributes.yaml")
    monkeypatch.setattr(paths, "TAXONOMY_FILE", data / "taxonomy.yaml")
    return data


def test_editing_a_rule_file_makes_the_index_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _copy_sources(tmp_path, monkeypatch)
    assert index_problem(paths.GENERATED_INDEX) is None
    dhcp = data / "rules" / "dhcp.yaml"
    dhcp.write_text(dhcp.read_text().replace("weight: 0.7\n", "weight: 0.71\n", 1))
    problem = index_problem(paths.GENERATED_INDEX)
    assert problem is not None and "stale" in problem
    write_index(paths.GENERATED_INDEX)
    assert index_problem(paths.GENERATED_INDEX) is None


def test_stale_index_falls_back_to_the_rule_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _copy_sources(tmp_path, monkeypatch)
    rule = {"id": "extra.rule", "match": {"attribute": "dhcp.vendor_class", "exact": "only-in-yaml"},
            "conclusions": {"vendor": "extra.rule"}, "weight": 0.5, "reference": "test"}
    (data / "rules" / "zz_extra.yaml").write_text(yaml.safe_dump({"source": "x", "rules": [rule]}))
    assert "extra.rule" in {r.id for r in load_shipped_rules(load_attributes(), Taxonomy.load())}
    kb = KnowledgeBase.load(user_rules=tmp_path / "none")
    assert [m.rule_id for m in kb.match("dhcp.vendor_class", "only-in-yaml")] == ["extra.rule"]


def test_hand_edited_index_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _copy_sources(tmp_path, monkeypatch)
    text = paths.GENERATED_INDEX.read_text()
    paths.GENERATED_INDEX.write_text(text.replace('"weight": 0.7', '"weight": 0.1', 1))
    assert "stale" in (index_problem(paths.GENERATED_INDEX) or "")
    paths.GENERATED_INDEX.unlink()
    assert "missing" in (index_problem(paths.GENERATED_INDEX) or "")


def test_render_is_deterministic() -> None:
    rules = compile_rules()
    assert render_index(rules, source_digest()) == render_index(list(rules), source_digest())


def test_rules_compiled_already_are_not_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `kb check` passes the rules it compiled; index_problem and write_index then render those
    rules = compile_rules()
    index = tmp_path / "index.json"

    def refuse() -> list[Rule]:
        raise AssertionError("compiled again")

    monkeypatch.setattr(compiled, "compile_rules", refuse)
    assert write_index(index, rules=rules) == len(rules)
    assert index_problem(index, rules=rules) is None
    assert index.read_text() == paths.GENERATED_INDEX.read_text()
    assert "stale" in (index_problem(index, rules=rules[1:]) or "")


def test_regenerating_the_shipped_index_keeps_the_registry_spellings_fresh(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """generated/vendor_spellings.json's registry spellings come from vendor_aliases.yaml: whoever edits it and runs
    write_index() (as after any rule edit) gets the file rewritten, not a stale one CI then refuses."""
    data = _copy_sources(tmp_path, monkeypatch)
    shutil.copytree(paths.OUI_DIR, data / "oui")
    spellings = data / "generated" / "vendor_spellings.json"
    monkeypatch.setattr(paths, "OUI_DIR", data / "oui")
    monkeypatch.setattr(paths, "GENERATED_OUI", data / "generated" / "oui.json")
    monkeypatch.setattr(paths, "GENERATED_SPELLINGS", spellings)
    monkeypatch.setattr(paths, "GENERATED_TABLES", data / "generated" / "tables.json")
    monkeypatch.setattr(paths, "VENDOR_ALIASES_FILE", data / "vendor_aliases.yaml")
    assert oui.cache_problem() is None and oui.spellings_problem() is None
    aliases = data / "vendor_aliases.yaml"
    sonicwall = "aliases:\n  - {match: '^sonicwall', vendor: SonicWall}\n"
    aliases.write_text(aliases.read_text().replace("aliases:\n", sonicwall, 1))
    # three spellings of SonicWall are one name now: no choice to keep; the parsed rows do not depend on the table
    assert "stale" in (oui.spellings_problem() or "") and oui.cache_problem() is None
    write_index()
    assert oui.spellings_problem() is None and '"sonicwall"' not in spellings.read_text()
