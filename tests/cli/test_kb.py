"""`iotwarden kb`: check, stats, lookup, update and import, as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import iotwarden.cli.kb  # noqa: F401 - registers the `kb` group on the app
from iotwarden.cli.main import app
from iotwarden.errors import ConfigError
from iotwarden.kb import paths
from iotwarden.kb.index import KnowledgeBase
from iotwarden.kb.schema import Rule, RuleValidator, rule_files
from tests.conftest import shared

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("IOTWARDEN_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_check_passes_on_the_shipped_knowledge() -> None:
    result = runner.invoke(app, ["kb", "check"])
    assert result.exit_code == 0, result.output
    assert "compiled index up to date" in result.output


def test_check_fails_when_the_index_is_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stale = tmp_path / "index.json"
    stale.write_text('{"format": 1, "digest": "old", "rules": []}\n')
    monkeypatch.setattr(paths, "GENERATED_INDEX", stale)
    result = runner.invoke(app, ["kb", "check"])
    assert result.exit_code == 1
    assert "stale" in result.output
    fixed = runner.invoke(app, ["kb", "check", "--fix"])
    assert fixed.exit_code == 0 and "rewritten" in fixed.output
    assert runner.invoke(app, ["kb", "check"]).exit_code == 0


def test_check_fails_when_the_registry_spellings_are_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stale = tmp_path / "vendor_spellings.json"
    stale.write_text('{"format": 1, "digest": "old", "spellings": {}}\n')
    monkeypatch.setattr(paths, "GENERATED_SPELLINGS", stale)
    result = runner.invoke(app, ["kb", "check"])
    assert result.exit_code == 1 and "vendor_spellings.json is stale" in result.output
    index = tmp_path / "index.json"
    index.write_bytes(paths.GENERATED_INDEX.read_bytes())
    monkeypatch.setattr(paths, "GENERATED_INDEX", index)  # --fix rewrites it: a copy
    fixed = runner.invoke(app, ["kb", "check", "--fix"])
    assert fixed.exit_code == 0 and "registry spellings rewritten" in fixed.output
    assert stale.read_bytes() == paths.PACKAGE_DATA.joinpath("generated", "vendor_spellings.json").read_bytes()


def test_check_fails_when_the_parsed_registries_are_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stale = tmp_path / "oui.json"
    stale.write_text('{"format": 1, "digest": "old", "registries": {}}\n')
    monkeypatch.setattr(paths, "GENERATED_OUI", stale)
    result = runner.invoke(app, ["kb", "check"])
    assert result.exit_code == 1 and "oui.json is stale" in result.output
    index = tmp_path / "index.json"
    index.write_bytes(paths.GENERATED_INDEX.read_bytes())
    monkeypatch.setattr(paths, "GENERATED_INDEX", index)  # --fix rewrites it: a copy
    fixed = runner.invoke(app, ["kb", "check", "--fix"])
    assert fixed.exit_code == 0 and "parsed registries rewritten" in fixed.output
    assert stale.read_bytes() == paths.PACKAGE_DATA.joinpath("generated", "oui.json").read_bytes()
    assert runner.invoke(app, ["kb", "check"]).exit_code == 0


@pytest.mark.parametrize("args", [["kb", "check"], ["kb", "check", "--fix"]])
def test_check_compiles_the_rule_files_once(args: list[str], monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    # compiling the shipped rule files takes most of a second: `check` compiles them once and passes them on
    shipped = paths.GENERATED_INDEX
    index = tmp_path / "index.json"
    index.write_bytes(shipped.read_bytes())
    monkeypatch.setattr(paths, "GENERATED_INDEX", index)
    calls: list[int] = []
    load_files = RuleValidator.load_files

    def counted(self: RuleValidator, files: Iterable[Path]) -> list[Rule]:
        files = list(files)
        calls.append(len(files))
        return load_files(self, files)

    monkeypatch.setattr(RuleValidator, "load_files", counted)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert calls == [len(rule_files(paths.RULES_DIR))]
    assert index.read_bytes() == shipped.read_bytes()  # --fix rewrote it from the rules passed on


def test_check_validates_user_rules(home: Path) -> None:
    (home / "rules").mkdir(parents=True)
    (home / "rules" / "site.yaml").write_text("rules:\n  - {id: site.x, match: {attribute: dhcp.hostname, "
                                              "exact: a}, conclusions: {colour: red}, weight: 0.5, reference: me}\n")
    result = runner.invoke(app, ["kb", "check"])
    assert isinstance(result.exception, ConfigError)
    assert "site.yaml: rule 'site.x': key 'conclusions.colour'" in str(result.exception)


def test_stats_json() -> None:
    result = runner.invoke(app, ["kb", "stats", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["rules"] == len(KnowledgeBase.load(refresh=True).rules)
    assert data["device_types"] >= 40
    assert data["oui_prefixes"]["24-bit"] > 30_000
    human = runner.invoke(app, ["kb", "stats"])
    assert "dhcp.yaml" in human.output


def test_lookup() -> None:
    result = runner.invoke(app, ["kb", "lookup", "00:40:8C:12:34:56", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["vendor"], data["prefix"], data["registry"], data["randomised"]) == ("Axis", "00408C", "MA-L", False)
    private = json.loads(runner.invoke(app, ["kb", "lookup", "da:a1:19:00:00:01", "--json"]).output)
    assert private["randomised"] is True and private["vendor"] is None
    assert "vendor" in runner.invoke(app, ["kb", "lookup", "b8:27:eb"]).output
    bad = runner.invoke(app, ["kb", "lookup", "not-a-mac"])
    assert isinstance(bad.exception, ConfigError)


def test_update_installs_a_newer_registry(home: Path, tmp_path: Path) -> None:
    newer = tmp_path / "oui.csv"
    newer.write_text("Registry,Assignment,Organization Name,Organization Address\n"
                     "MA-L,00408C,Axis Communications AB (renamed),Lund SE\n")
    result = runner.invoke(app, ["kb", "update", "--oui", str(newer)])
    assert result.exit_code == 0, result.output
    assert (home / "oui" / "oui.csv.gz").is_file()
    data = json.loads(runner.invoke(app, ["kb", "lookup", "00:40:8c:00:00:01", "--json"]).output)
    assert data["organization"] == "Axis Communications AB (renamed)"


def test_update_with_the_real_ma_m_list(home: Path) -> None:
    result = runner.invoke(app, ["kb", "update", "--oui", str(shared("fingerprints", "ieee_oui", "mam.csv"))])
    assert result.exit_code == 0, result.output
    assert "MA-M registry" in result.output and (home / "oui" / "mam.csv.gz").is_file()


def test_update_refuses_what_is_not_a_registry(tmp_path: Path) -> None:
    bogus = tmp_path / "x.csv"
    bogus.write_text("Registry,Assignment,Organization Name,Organization Address\nXYZ,00,Nope,\n")
    result = runner.invoke(app, ["kb", "update", "--oui", str(bogus)])
    assert isinstance(result.exception, ConfigError)


@pytest.mark.parametrize(("fmt", "parts"), [
    ("p0f", ("fingerprints", "p0f", "p0f.fp")),
    ("fingerbank", ("fingerprints", "fingerbank_dhcp_2014", "dhcp_fingerprints.conf")),
    ("satori", ("fingerprints", "satori", "ssh.xml")),
    ("ja4", ("fingerprints", "ja4", "ja4plus-mapping.csv")),
])
def test_import_writes_a_rule_file_the_loader_accepts(home: Path, tmp_path: Path, fmt: str,
                                                      parts: tuple[str, ...]) -> None:
    out = home / "rules" / f"{fmt}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = runner.invoke(app, ["kb", "import", fmt, str(shared(*parts)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith(f"# Converted by `iotwarden kb import {fmt}`")
    kb = KnowledgeBase.load(user_rules=out.parent)
    assert any(r.file == out.name for r in kb.rules)


def test_import_of_the_wrong_format_is_one_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["kb", "import", "fingerbank", str(shared("fingerprints", "p0f", "p0f.fp")),
                                 "-o", str(tmp_path / "x.yaml")])
    assert isinstance(result.exception, ConfigError)
    assert not (tmp_path / "x.yaml").exists()
