"""generated/tables.json: the shipped YAML tables kept parsed answer exactly as the YAML does, an edited table is
parsed as before, and `kb check` finds the file stale (and `--fix`, `write_index()` rewrite it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import iotwarden.cli.kb  # noqa: F401 - registers the `kb` group on the app
from iotwarden.cli.main import app
from iotwarden.errors import ConfigError
from iotwarden.kb import parsed, paths
from iotwarden.kb.compiled import write_index
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.oui import REGISTRIES, VendorNames, read_registry_csv
from iotwarden.kb.parsed import load_table, render_tables, table_files, tables_problem, write_tables
from iotwarden.kb.schema import load_attributes, safe_load
from iotwarden.kb.taxonomy import Taxonomy

ORG_SAMPLE = 15  # every n-th registry organisation is shortened both ways (each costs the alias regexes)


def without_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paths, "GENERATED_TABLES", tmp_path / "no-tables.json")


def test_the_shipped_file_is_fresh() -> None:
    assert tables_problem() is None


def test_each_table_reads_as_its_yaml_parses_keys_in_order_too() -> None:
    stored = json.loads(paths.GENERATED_TABLES.read_text(encoding="utf-8"))["tables"]
    assert len(stored) == len(table_files()) == 3
    for path in table_files():
        text = path.read_text(encoding="utf-8")
        assert parsed.text_digest(text) in stored  # taken from the file, not parsed
        assert json.dumps(load_table(text)) == json.dumps(safe_load(text))  # same data, same order of keys


def test_the_tables_answer_as_before(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The attribute vocabulary, the taxonomy and the vendor names from the parsed file equal those parsed from
    YAML: every attribute and type, every vendor name rules state and the table's own names brought to one
    spelling (VendorNames.canonical), a sample of the registry's organisations shortened."""
    kb = KnowledgeBase.load()
    stated = sorted({v for r in kb.rules if (v := r.conclusions.get("vendor")) and "{" not in v})
    organisations = sorted({org for filename, bits in REGISTRIES.values()
                            for _, org in read_registry_csv(paths.OUI_DIR / f"{filename}.gz", bits)})[::ORG_SAMPLE]
    cached = (load_attributes(), Taxonomy.load(), VendorNames.load(spellings=stated))
    without_cache(monkeypatch, tmp_path)
    plain = (load_attributes(), Taxonomy.load(), VendorNames.load(spellings=stated))
    assert cached[0] == plain[0] and list(cached[0]) == list(plain[0])
    assert cached[1].types == plain[1].types and list(cached[1].types) == list(plain[1].types)
    names, plain_names = cached[2], plain[2]
    spellings = [*stated, *sorted(names._known), *(s.upper() for s in stated), *(s.lower() for s in stated)]
    assert len(stated) > 1_000 and len(organisations) > 1_000
    assert [names.canonical(s) for s in spellings] == [plain_names.canonical(s) for s in spellings]
    assert [names.short(o) for o in organisations] == [plain_names.short(o) for o in organisations]
    assert [names.part_maker(o) for o in organisations] == [plain_names.part_maker(o) for o in organisations]
    assert all(names.owners(v) == plain_names.owners(v) for v in names._known)


def test_an_edited_table_is_parsed_not_taken_from_the_file(tmp_path: Path) -> None:
    edited = tmp_path / "attributes.yaml"
    edited.write_text(paths.ATTRIBUTES_FILE.read_text(encoding="utf-8") +
                      "  zz.added: {type: text, source: 'a test attribute'}\n", encoding="utf-8")
    assert "zz.added" in load_attributes(edited) and "zz.added" not in load_attributes()


def test_a_missing_or_broken_file_falls_back_to_the_yaml(tmp_path: Path) -> None:
    text = paths.TAXONOMY_FILE.read_text(encoding="utf-8")
    for broken in ("", "[1]", '{"format": 1}', '{"format": 1, "tables": []}', '{"format": 99, "tables": {}}'):
        (tmp_path / "tables.json").write_text(broken)
        assert load_table(text, tmp_path / "tables.json") == safe_load(text)
    assert load_table(text, tmp_path / "missing.json") == safe_load(text)


def test_an_edited_table_makes_the_file_stale_and_rewriting_mends_it(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    aliases = tmp_path / "vendor_aliases.yaml"
    aliases.write_text(paths.VENDOR_ALIASES_FILE.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    monkeypatch.setattr(paths, "VENDOR_ALIASES_FILE", aliases)
    out = tmp_path / "generated" / "tables.json"
    assert "missing" in (tables_problem(out) or "")
    out.parent.mkdir()
    out.write_text(paths.PACKAGE_DATA.joinpath("generated", "tables.json").read_text(encoding="utf-8"))
    assert "stale" in (tables_problem(out) or "")
    write_tables(out)
    assert tables_problem(out) is None


def test_write_index_rewrites_the_tables_beside_the_index(tmp_path: Path) -> None:
    """Whoever edits the tables or rules and regenerates the index (``write_index()``) rewrites tables.json too."""
    write_index(tmp_path / "index.json")
    assert (tmp_path / "tables.json").read_text(encoding="utf-8") == render_tables()


def test_kb_check_fails_on_a_stale_file_and_fix_rewrites_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IOTWARDEN_HOME", str(tmp_path / "home"))
    index = tmp_path / "index.json"
    index.write_text(paths.GENERATED_INDEX.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(paths, "GENERATED_INDEX", index)
    stale = tmp_path / "tables.json"
    stale.write_text('{"format": 1, "tables": {}}\n')
    monkeypatch.setattr(paths, "GENERATED_TABLES", stale)
    runner = CliRunner()
    result = runner.invoke(app, ["kb", "check"])
    assert result.exit_code == 1 and "tables.json is stale" in result.output
    fixed = runner.invoke(app, ["kb", "check", "--fix"])
    assert fixed.exit_code == 0 and "parsed tables rewritten" in fixed.output
    assert stale.read_text(encoding="utf-8") == render_tables()
    again = runner.invoke(app, ["kb", "check"])
    assert again.exit_code == 0 and "parsed tables up to date" in again.output


def test_a_table_json_cannot_keep_is_a_clear_error(tmp_path: Path) -> None:
    for body in ("when: 2024-01-01\n", "codes: {1: one}\n"):
        table = tmp_path / "table.yaml"
        table.write_text(body)
        with pytest.raises(ConfigError, match="JSON cannot keep"):
            render_tables([table])
