"""``iotwarden policy``: propose, validate, test, diff, render and apply from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import iotwarden.cli.policy  # noqa: F401 - registers the command group (main.py registration: lead)
from iotwarden.cli.main import main
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from tests.policy.conftest import Lab
from tests.policy.conftest import lab as lab  # noqa: PLC0414 - re-export the session fixture here


@pytest.fixture
def db(lab: Lab, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Store(url) as store:
        analyze([lab.benign_pcap], store)
    return url


def test_propose_from_the_store_then_test_the_attack_capture(
        capsys: pytest.CaptureFixture[str], lab: Lab, db: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    assert main(["policy", "propose", "--db", db, "-o", str(policy), "--save"]) == 0
    assert "stored as proposed version 1" in capsys.readouterr().out
    assert main(["policy", "validate", str(policy)]) == 0
    assert main(["policy", "test", str(policy), "--db", db]) == 0
    assert ", 0 blocked" in capsys.readouterr().out
    assert main(["policy", "test", str(policy), "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["blocked"] == 0
    assert main(["policy", "test", str(policy), str(lab.attack_pcap)]) == 0
    out = capsys.readouterr().out
    assert "blocked" in out and ":tcp/445" in out and ":tcp/3389" in out and ":tcp/22" in out


def test_diff_render_and_apply_guard(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    assert main(["policy", "propose", "--db", db, "-o", str(old)]) == 0
    text = old.read_text(encoding="utf-8")
    new.write_text(text.replace("rules:\n", "rules: []\nx-dropped-rules:\n", 1), encoding="utf-8")
    capsys.readouterr()
    assert main(["policy", "diff", str(old), str(new), "--db", db]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["breaks"] and not report["opens"] and report["rules"]["added"] == []
    ruleset = tmp_path / "r.nft"
    assert main(["policy", "render", str(old), "-o", str(ruleset), "--db", db]) == 0
    assert "table inet iotwarden {" in ruleset.read_text(encoding="utf-8")
    assert main(["policy", "apply", str(old), "--db", db]) == 2
    assert "give --netns NS, or --yes" in capsys.readouterr().err


def test_an_invalid_policy_is_one_line_naming_the_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrules: [{name: r, action: perhaps}]\n", encoding="utf-8")
    assert main(["policy", "validate", str(bad)]) == 2
    assert "rules[0].action: 'perhaps' is not an action" in capsys.readouterr().err
