"""``iotwarden mud``: generate (store or capture), validate, check and fetch, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import iotwarden.cli.mud  # noqa: F401 - registers its commands (cli.main imports it only when its command runs)
from iotwarden.cli.main import main
from tests.conftest import shared
from tests.policy.mud.conftest import PAIRS

TAPO = PAIRS["tapo"]


def pair_file(name: str) -> str:
    return str(shared("mud", "v4k0nd_pcap_plus_mud", name))


def test_validate_names_the_problem_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mud", "validate", pair_file(PAIRS["door_sensor"].profile)]) == 0
    out = capsys.readouterr()
    assert "valid MUD file for https://door_sensor-19jwt.com/door_sensor-19jwt (3 ACLs" in out.out
    assert "ethernet-acl-type" in out.err  # the draft identity name: a warning
    assert main(["mud", "validate", str(shared("mud", "unsw_mudgee_via_nist", "hpprinterMud.json"))]) == 2
    assert "destination-ipv6-network: 'ff05:0:0:0:0:0:0:c' is not an ipv6-prefix" in capsys.readouterr().err


def test_check_lists_violations_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    door = PAIRS["door_sensor"]
    assert main(["mud", "check", pair_file(door.profile), pair_file(door.capture), "-d", door.mac, "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["schema"], doc["violating"]) == ("iotwarden.mud-check/1", 0) and doc["flows"] > 0
    assert main(["mud", "check", pair_file(TAPO.profile), pair_file(door.capture), "-d", door.mac]) == 1
    assert "MUD violations" in capsys.readouterr().out
    # nobody in the capture announced the profile's URL: the device must be named
    assert main(["mud", "check", pair_file(TAPO.profile), pair_file(door.capture)]) == 2
    assert "name it with --device" in capsys.readouterr().err


def test_generate_from_a_capture_then_check_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tapo.json"
    assert main(["mud", "generate", TAPO.mac, "--capture", pair_file(TAPO.capture), "-o", str(out),
                 "--mud-url", "https://tp-link.example/p115.json"]) == 0
    assert json.loads(out.read_text())["ietf-mud:mud"]["mud-url"] == "https://tp-link.example/p115.json"
    assert main(["mud", "check", str(out), pair_file(TAPO.capture), "-d", TAPO.mac]) == 0


def test_generate_from_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["analyze", pair_file(TAPO.capture), "--db", db, "-f", "json"]) == 0
    out = tmp_path / "tapo.json"
    assert main(["mud", "generate", TAPO.mac, "--db", db, "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["mud", "validate", str(out)]) == 0
    # the store keeps no DNS answers: cloud peers are named by address
    assert main(["mud", "check", str(out), pair_file(TAPO.capture), "-d", TAPO.mac]) == 0


def test_fetch_refuses_plain_http(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mud", "fetch", "http://127.0.0.1:9/x.json", "--cache", str(tmp_path)]) == 2
    assert "https only" in capsys.readouterr().err
