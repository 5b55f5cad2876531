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


def test_policy_test_reports_the_benign_flows_pass_and_exactly_the_lateral_movement_is_blocked(
        capsys: pytest.CaptureFixture[str], lab: Lab, db: str, tmp_path: Path) -> None:
    """Issue 6 done-when, end to end on the command line: propose from the benign lab traffic, then
    `policy test` on the benign capture (nothing blocked) and on the attack capture (the lateral
    movement of the scenario's ground truth blocked, per device and per service, and nothing else)."""
    policy = tmp_path / "policy.yaml"
    assert main(["policy", "propose", "--db", db, "-o", str(policy)]) == 0
    capsys.readouterr()
    assert main(["policy", "test", str(policy), str(lab.benign_pcap), "--json"]) == 0
    benign = json.loads(capsys.readouterr().out)
    assert benign["totals"]["blocked"] == 0 and benign["totals"]["allowed"] == len(lab.benign.flows)
    assert benign["devices"] == {} and not any(v["blocked"] for v in benign["services"].values())

    attack = next(a for a in lab.truth["attacks"] if a["kind"] == "lateral_movement")  # type: ignore[attr-defined]
    attacker, targets = attack["attacker"]["ip"], set(attack["targets"])
    lateral = {(f.b_ip, f.b_port) for f in lab.attack.flows
               if f.a_ip == attacker and f.b_ip in targets and f.b_port in (22, 445, 3389)}
    assert lateral == {(t, p) for t in targets for p in (22, 445, 3389)}
    assert main(["policy", "test", str(policy), str(lab.attack_pcap), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["blocked"] == len(lateral)  # the lateral movement, nothing else
    assert report["totals"]["allowed"] + report["totals"]["logged"] == len(lab.attack.flows) - len(lateral)
    camera = next(d.key for d in lab.attack.devices if attacker in d.ips)
    assert set(report["devices"]) == {camera} and report["devices"][camera]["blocked"] == len(lateral)
    blocked = {(e["dst"], e["port"]) for v in report["services"].values() for e in v["examples"]
               if e["action"] == "deny"}
    assert blocked == lateral and all(e["src"] == attacker for v in report["services"].values()
                                      for e in v["examples"])
    assert main(["policy", "test", str(policy), str(lab.attack_pcap)]) == 0
    text = capsys.readouterr().out
    assert f", {len(lateral)} blocked" in text and "devices affected: 1" in text and camera in text


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


CLOUD = """name: cams
default: allow
zones:
  - {name: cameras, devices: ["mac:ac:cc:8e:4a:10:01"], default: deny}
rules:
  - {name: axis_cloud, from: cameras, to: internet, action: allow, services: [{proto: tcp, port: 443}],
     destinations: ["*.axis.com"]}
"""


def test_domain_rules_are_judged_and_rendered_from_the_captures_dns_answers(
        capsys: pytest.CaptureFixture[str], lab: Lab, db: str, tmp_path: Path) -> None:
    policy = tmp_path / "cloud.yaml"
    policy.write_text(CLOUD, encoding="utf-8")
    assert main(["policy", "test", str(policy), str(lab.benign_pcap), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [ip] = lab.benign.names.resolve(["*.axis.com"])["*.axis.com"]
    assert report["rules"]["axis_cloud"] == sum(f.b_ip == ip for f in lab.benign.flows) > 0  # each TLS flow
    assert main(["policy", "test", str(policy), "--db", db]) == 0
    assert "the store keeps no DNS answers" in capsys.readouterr().err
    ruleset = tmp_path / "r.nft"
    assert main(["policy", "render", str(policy), "-o", str(ruleset), "--db", db, "--dns", str(lab.benign_pcap)]) == 0
    assert f"set d_axis_cloud_v4 {{ type ipv4_addr; flags interval; auto-merge; elements = {{ {ip} }}; }}" in \
        ruleset.read_text(encoding="utf-8")


def test_load_versions_and_show_the_stored_policies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    policy = tmp_path / "cloud.yaml"
    policy.write_text(CLOUD, encoding="utf-8")
    assert main(["policy", "load", str(policy), "--name", "site", "--db", url]) == 0
    assert "stored site version 1" in capsys.readouterr().out
    policy.write_text(CLOUD.replace("default: allow", "default: deny"), encoding="utf-8")
    assert main(["policy", "load", str(policy), "--name", "site", "--comment", "tighten", "--db", url]) == 0
    assert "stored site version 2" in capsys.readouterr().out
    assert main(["policy", "versions", "site", "--db", url, "--json"]) == 0
    history = json.loads(capsys.readouterr().out)["versions"]
    assert [(v["version"], v["comment"]) for v in history] == [(1, "loaded from cloud.yaml"), (2, "tighten")]
    assert main(["policy", "versions", "site", "--db", url]) == 0
    assert "tighten" in capsys.readouterr().out
    assert main(["policy", "show", "site", "--version", "1", "--db", url]) == 0
    first = capsys.readouterr().out
    assert "name: site" in first and "default: allow" in first
    assert main(["policy", "show", "site", "--db", url]) == 0
    assert "default: deny" in capsys.readouterr().out
    assert main(["policy", "show", "site", "--version", "9", "--db", url]) == 2
    assert "no stored policy 'site' version 9" in capsys.readouterr().err
    assert main(["policy", "versions", "nothing", "--db", url]) == 2
    assert main(["policy", "load", str(policy), "--name", "Bad Name", "--db", url]) == 2
