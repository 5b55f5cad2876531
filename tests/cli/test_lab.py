"""``iotwarden lab generate``: writes the capture and truth; a bad scenario is one clear error; a shipped scenario's
name stands for its file. ``iotwarden lab list``: every shipped scenario, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iotwarden.cli.lab import lab_app
from iotwarden.cli.main import main
from iotwarden.errors import ConfigError
from tests.lab.conftest import SCENARIOS


def test_generate_writes_capture_and_truth(tmp_path: Path) -> None:
    out, truth = tmp_path / "o.pcap", tmp_path / "t.json"
    result = CliRunner().invoke(lab_app, ["generate", str(SCENARIOS / "small.yaml"), "-o", str(out), "--truth",
                                          str(truth), "--duration", "10", "--seed", "3", "--attacks"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"  # pcap magic, little-endian
    doc = json.loads(truth.read_text())
    assert doc["seed"] == 3 and doc["duration"] == 10.0 and len(doc["attacks"]) == 3


def test_bad_scenario_raises_config_error_for_the_cli_edge(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnetwork: {}\ndevices: []\n")
    result = CliRunner().invoke(lab_app, ["generate", str(bad), "-o", str(tmp_path / "o.pcap")])
    assert isinstance(result.exception, ConfigError)
    with pytest.raises(ConfigError, match=r"bad\.yaml\.network\.subnets: required key missing"):
        raise result.exception


def test_a_scenario_extending_a_name_with_a_nul_byte_is_a_clear_error(tmp_path: Path) -> None:
    # found by fuzzing: an internal error (ValueError: embedded null byte) before inputfile refused such names
    (tmp_path / "s.yaml").write_text('extends: "enterprise\\0.yaml"\nname: s\n')
    result = CliRunner().invoke(lab_app, ["generate", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "s.pcap")])
    assert isinstance(result.exception, ConfigError)
    assert "cannot read scenario: a file name cannot hold a NUL byte" in str(result.exception)


SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def _generate(tmp_path: Path, scenario: str) -> dict[str, Any]:
    truth = tmp_path / "t.json"
    result = CliRunner().invoke(lab_app, ["generate", scenario, "-o", str(tmp_path / "o.pcap"), "--truth", str(truth),
                                          "--duration", "5"])
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(truth.read_text())
    return doc


@pytest.mark.parametrize("name", ["small", "small.yaml"])
def test_a_shipped_scenarios_name_is_generated_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                name: str) -> None:
    monkeypatch.chdir(tmp_path)  # no small.yaml here, as for a user of an installed package
    doc = _generate(tmp_path, name)
    assert doc["scenario"] == "small" and len(doc["devices"]) == 12


def test_a_local_file_wins_over_the_shipped_scenario_of_its_name(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = (SCENARIOS / "small.yaml").read_text()
    (tmp_path / "small.yaml").write_text(text.replace("\nname: small\n", "\nname: my-small\n", 1))
    assert _generate(tmp_path, "small.yaml")["scenario"] == "my-small"


def test_an_unknown_name_is_one_line_listing_the_shipped_scenarios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for arg in ("no-such-scenario", "sub/small"):  # a path with a folder is never a shipped name
        assert main(["lab", "generate", arg, "-o", str(tmp_path / "o.pcap")]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and err.startswith(f"error: {arg}: no such scenario file, nor a shipped scenario")
        assert f"(shipped: {', '.join(SHIPPED)})" in err
    assert not (tmp_path / "o.pcap").exists()


def test_lab_list_shows_every_shipped_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "list"]) == 0
    out = capsys.readouterr().out
    assert f"Shipped scenarios ({len(SHIPPED)})" in out
    assert all(name in out for name in SHIPPED)
    assert "mirai_scan (off)" in out and "mirai_scan (on)" in out  # small switches it off, enterprise-attack on
    assert main(["lab", "list", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "iotwarden.lab.scenarios/1"
    assert [s["name"] for s in doc["scenarios"]] == SHIPPED
    schema_doc = (Path(__file__).resolve().parents[2] / "docs" / "schemas" / "lab-scenarios.md").read_text()
    assert all(f"`{key}`" in schema_doc for s in doc["scenarios"] for key in s)
    small = next(s for s in doc["scenarios"] if s["name"] == "small")
    assert small == {"name": "small", "file": "small.yaml", "devices": 12, "duration": 60.0, "seed": 7,
                     "description": small["description"],
                     "attacks": [{"kind": k, "enabled": False}
                                 for k in ("mirai_scan", "telnet_bruteforce", "lateral_movement")]}
