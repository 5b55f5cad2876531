"""``iotwarden playbooks|cases|actions``: validate and list playbooks, run them over the stored alerts
(dry-run quarantine), then read the case and the action log, add a note, close, undo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import iotwarden.cli.policy  # registers ``policy load``
import iotwarden.cli.respond  # noqa: F401 - registers its commands (cli.main imports it only when its command runs)
from iotwarden.cli.main import main
from iotwarden.store.alerts import upsert_alerts
from tests.respond.conftest import CAMERA_KEY, PLC_KEY, mirai_alert, seeded_store

PLAYBOOKS = {"playbooks": [{
    "name": "contain-mirai", "trigger": {"detector": "detect.scan.*", "category": ["iot", "ot"]},
    "actions": ["quarantine", {"open_case": {"title": "Mirai scan from {device}"}}, {"tag_device": {"tag": "bad"}}],
}]}


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "playbooks.yaml"
    path.write_text(yaml.safe_dump(PLAYBOOKS))
    return path


@pytest.fixture
def db(tmp_path: Path) -> str:
    with seeded_store(tmp_path / "respond.db") as store, store.transaction() as session:
        upsert_alerts(session, [mirai_alert(), mirai_alert(PLC_KEY, "10.10.30.20")])
    return store.url


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main([*argv, "-f", "json"]) == 0
    return json.loads(capsys.readouterr()[0])


def test_validate_accepts_good_playbooks_and_names_the_bad_key(capsys: pytest.CaptureFixture[str], book: Path,
                                                               tmp_path: Path) -> None:
    assert main(["playbooks", "validate", str(book)]) == 0
    assert "1 playbook(s) valid" in capsys.readouterr()[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"playbooks": [{**PLAYBOOKS["playbooks"][0], "actions": ["reboot"]}]}))
    assert main(["playbooks", "validate", str(bad)]) == 2
    assert "(contain-mirai).actions[0]: unknown action 'reboot'" in capsys.readouterr()[1]


def test_list_shows_triggers_and_actions(capsys: pytest.CaptureFixture[str], book: Path) -> None:
    assert main(["playbooks", "list", str(book)]) == 0
    out = capsys.readouterr()[0]
    assert "contain-mirai" in out and "quarantine, open_case, tag_device" in out
    doc = _json(capsys, "playbooks", "list", str(book))
    assert doc["playbooks"][0]["trigger"]["detector"] == ["detect.scan.*"]


def test_run_then_cases_and_actions(capsys: pytest.CaptureFixture[str], book: Path, db: str, tmp_path: Path) -> None:
    ran = _json(capsys, "playbooks", "run", str(book), "--db", db, "--allow", "any udp/67", "--ca-dir",
                str(tmp_path / "no-ca"))
    by_device = {(a["device_key"], a["kind"]): a for a in ran["actions"]}
    assert by_device[(CAMERA_KEY, "quarantine")]["status"] == "done"
    assert "udp dport 67 accept" in by_device[(CAMERA_KEY, "quarantine")]["result"]["rules"]
    assert by_device[(PLC_KEY, "quarantine")]["status"] == "skipped"  # OT: notify-only
    assert main(["playbooks", "run", str(book), "--db", db, "--ca-dir", str(tmp_path / "no-ca")]) == 0
    assert "no playbook matched a new alert" in capsys.readouterr()[0]  # handled once

    [case] = _json(capsys, "cases", "list", "--db", db)["cases"]
    assert case["device_key"] == CAMERA_KEY and case["status"] == "open"
    assert main(["cases", "note", str(case["id"]), "camera re-imaged", "--db", db, "--actor", "user:alice",
                 "--phase", "containment_eradication_recovery"]) == 0
    assert "containment_eradication_recovery" in capsys.readouterr()[0]
    shown = _json(capsys, "cases", "show", str(case["id"]), "--db", db)["case"]
    assert shown["timeline"][-1]["text"] == "camera re-imaged" and shown["timeline"][-1]["author"] == "user:alice"
    assert main(["cases", "show", str(case["id"]), "--db", db]) == 0
    assert "Mirai scan from mac:44:47:cc:2b:10:03" in capsys.readouterr()[0]

    quarantine = by_device[(CAMERA_KEY, "quarantine")]["id"]
    assert main(["actions", "undo", str(quarantine), "--db", db, "--actor", "user:alice"]) == 0
    assert f"action {quarantine} undone: release_quarantine" in capsys.readouterr()[0]
    assert main(["actions", "undo", str(quarantine), "--db", db]) == 2
    assert "already undone by user:alice" in capsys.readouterr()[1]
    logged = _json(capsys, "actions", "list", "--db", db, "--device", CAMERA_KEY)["actions"]
    assert logged[0]["kind"] == "release_quarantine" and logged[0]["undo_of"] == quarantine
    assert main(["actions", "list", "--db", db, "--case", str(case["id"])]) == 0
    assert "release_quarantine" in capsys.readouterr()[0]

    assert main(["cases", "close", str(case["id"]), "--db", db, "--reason", "re-imaged"]) == 0
    assert "closed, post_incident" in capsys.readouterr()[0]
    assert main(["cases", "reopen", str(case["id"]), "--db", db]) == 0
    assert main(["cases", "list", "--db", db, "--status", "open"]) == 0
    assert "Mirai scan" in capsys.readouterr()[0]


def test_unknown_ids_are_one_line_errors(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert main(["cases", "show", "99", "--db", db]) == 2
    assert "no case with id 99" in capsys.readouterr()[1]
    assert main(["actions", "undo", "99", "--db", db]) == 2
    assert "no action with id 99" in capsys.readouterr()[1]


SITE = """name: site
default: allow
zones:
  - {name: cameras, devices: ["10.10.20.102"]}
"""


def test_enforce_policy_quarantines_inside_the_stored_policy_and_undo_releases(
        capsys: pytest.CaptureFixture[str], book: Path, db: str, tmp_path: Path) -> None:
    run = ["playbooks", "run", str(book), "--db", db, "--ca-dir", str(tmp_path / "no-ca"), "--enforce", "policy"]
    assert main(run) == 2
    assert "--enforce policy needs --policy NAME" in capsys.readouterr()[1]
    assert main([*run, "--policy", "site"]) == 2
    assert "give --netns NS, or --yes" in capsys.readouterr()[1]
    if os.geteuid() != 0 or shutil.which("nft") is None:
        pytest.skip("needs root and nft to load the ruleset into a network namespace")
    policy = tmp_path / "site.yaml"
    policy.write_text(SITE, encoding="utf-8")
    assert main(["policy", "load", str(policy), "--db", db]) == 0
    assert "stored site version 1" in capsys.readouterr()[0]
    ns = f"iwcli{os.getpid() % 100000}"
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=30)
        ran = _json(capsys, *run, "--policy", "site", "--netns", ns)
        [action] = [a for a in ran["actions"] if a["device_key"] == CAMERA_KEY and a["kind"] == "quarantine"]
        assert action["status"] == "done" and action["result"]["policy"] == "site"
        listed = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "set", "inet", "iotwarden",
                                 "z_quarantine_v4"], capture_output=True, text=True, timeout=30, check=True).stdout
        assert "10.10.20.102" in listed
        assert main(["actions", "undo", str(action["id"]), "--db", db]) == 0  # netns and policy from the log
        listed = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "set", "inet", "iotwarden",
                                 "z_quarantine_v4"], capture_output=True, text=True, timeout=30, check=True).stdout
        assert "10.10.20.102" not in listed
        assert main(["policy", "versions", "site", "--db", db]) == 0
        out = capsys.readouterr()[0]
        assert f"quarantine {CAMERA_KEY}" in out and f"release {CAMERA_KEY}" in out
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False)
