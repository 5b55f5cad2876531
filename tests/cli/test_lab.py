"""``iotwarden lab generate``: writes the capture and truth; a bad scenario is one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iotwarden.cli.lab import lab_app
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
