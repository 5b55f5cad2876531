"""``iotwarden alerts``: list, show, ack, close and suppress stored alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import iotwarden.cli.alerts  # noqa: F401 - registers the commands (also done by cli.main)
from iotwarden.cli.main import main
from iotwarden.store import Store
from iotwarden.store.alerts import upsert_alerts
from tests.export.alerts import sample_alerts


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    with Store(url) as store, store.transaction() as session:
        upsert_alerts(session, sample_alerts())
    return url


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main([*argv, "-f", "json"]) == 0
    return json.loads(capsys.readouterr()[0])


def test_list_shows_every_open_alert(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert main(["alerts", "--db", db]) == 0
    out = capsys.readouterr()[0]
    assert "detect.ot.s7_cpu_stop" in out and "critical" in out
    doc = _json(capsys, "alerts", "list", "--db", db, "--detector", "detect.scan")
    assert [a["id"] for a in doc["alerts"]] == ["detect.scan.telnet_mirai"]


def test_show_gives_the_evidence(capsys: pytest.CaptureFixture[str], db: str) -> None:
    row = _json(capsys, "alerts", "list", "--db", db, "--detector", "detect.scan")["alerts"][0]["row"]
    doc = _json(capsys, "alerts", "show", str(row), "--db", db)
    assert doc["alert"]["mitre"] == ["T1046", "T1110"] and doc["alert"]["evidence"]["hosts"] == 12
    assert main(["alerts", "show", str(row), "--db", db]) == 0
    assert "ATT&CK T1046, T1110" in capsys.readouterr()[0]


def test_ack_then_close_and_no_way_back(capsys: pytest.CaptureFixture[str], db: str) -> None:
    row = _json(capsys, "alerts", "list", "--db", db, "--detector", "detect.ot")["alerts"][0]["row"]
    assert main(["alerts", "ack", str(row), "--db", db]) == 0
    assert main(["alerts", "close", str(row), "--db", db]) == 0
    capsys.readouterr()
    assert main(["alerts", "ack", str(row), "--db", db]) == 2
    assert "cannot become acknowledged" in capsys.readouterr()[1]
    doc = _json(capsys, "alerts", "list", "--db", db, "--status", "closed")
    assert [a["row"] for a in doc["alerts"]] == [row]


def test_suppress_writes_a_rule_and_hides_matching_alerts(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          db: str) -> None:
    rules = tmp_path / "rules.yaml"
    assert main(["alerts", "suppress", "--db", db, "--cidr", "10.0.0.0/24", "--reason", "lab", "--rules",
                 str(rules)]) == 0
    assert "1 stored alerts suppressed" in capsys.readouterr()[0]
    assert yaml.safe_load(rules.read_text())["suppressions"][0]["cidr"] == "10.0.0.0/24"
    assert len(_json(capsys, "alerts", "list", "--db", db)["alerts"]) == 2
    assert len(_json(capsys, "alerts", "list", "--db", db, "--suppressed")["alerts"]) == 3
    assert main(["alerts", "suppress", "--db", db, "--rules", str(rules)]) == 2
    assert "at least one" in capsys.readouterr()[1]


@pytest.mark.parametrize("text", ["zones:\n  - {name: cameras, cidrs: [10.0.0.0/24]}\nrules: []\n",  # a policy
                                  "supressions:\n  - {detector: detect.scan.*}\n"])  # a misspelt key
def test_suppress_refuses_a_rules_file_of_other_keys_and_leaves_it_as_it_was(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], db: str, text: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    assert main(["alerts", "suppress", "--db", db, "--detector", "detect.scan.*", "--rules", str(rules)]) == 2
    assert "unknown keys" in capsys.readouterr()[1]
    assert rules.read_text() == text
