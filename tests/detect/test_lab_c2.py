"""Acceptance on the lab (issue 4): a compromised device's C2 beaconing, DGA lookups and DNS tunnel in
enterprise-c2.yaml are caught by detect.c2.beaconing, detect.dns.dga and detect.dns.tunnel, on the
device the ground truth names, and the same 80 minutes without the attacks raise nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotwarden.detect.dns import dga_score, split_name
from iotwarden.lab.attacks import dga_names
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model.alert import Alert
from tests.detect.runner import detect

SCENARIO = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios" / "enterprise-c2.yaml"
# lab attack kind -> the detector id that must catch it, from the attacker
EXPECTED = {
    "c2_beacon": "detect.c2.beaconing",
    "dns_dga": "detect.dns.dga",
    "dns_tunnel": "detect.dns.tunnel",
    "p2p_dht": "detect.c2.p2p_dht",
}


@pytest.fixture(scope="module")
def attack_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Alert], dict[str, Any]]:
    out = tmp_path_factory.mktemp("lab-c2")
    generate(load_scenario(SCENARIO), out / "c2.pcap", out / "c2.json")
    return list(detect([out / "c2.pcap"]).alerts), json.loads((out / "c2.json").read_text())


def test_the_scenario_switches_on_each_c2_attack_with_its_technique(attack_run: tuple[list[Alert], dict]) -> None:
    _, truth = attack_run
    assert {a["kind"]: a["technique"].split()[0] for a in truth["attacks"]} == {
        "c2_beacon": "T1071.001", "dns_dga": "T1568.002", "dns_tunnel": "T1071.004", "p2p_dht": "T1071"}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_c2_attack_is_detected_on_the_infected_device(kind: str, attack_run: tuple[list[Alert], dict]) -> None:
    alerts, truth = attack_run
    (attack,) = [a for a in truth["attacks"] if a["kind"] == kind]
    mac, ip = attack["attacker"]["mac"], attack["attacker"]["ip"]
    raised = [a for a in alerts if a.id == EXPECTED[kind] and attack["start"] - 1 <= a.first_seen <= attack["end"] + 1]
    assert raised, (kind, [(a.id, a.subject) for a in alerts])
    assert {a.subject for a in raised} == {f"mac:{mac}"}
    assert {a.src_ip for a in raised} == {ip}


def test_the_beacon_alert_names_the_c2_server_and_its_period(attack_run: tuple[list[Alert], dict]) -> None:
    alerts, truth = attack_run
    (attack,) = [a for a in truth["attacks"] if a["kind"] == "c2_beacon"]
    (alert,) = [a for a in alerts if a.id == "detect.c2.beaconing"]
    assert alert.key == f"{attack['targets'][0]}:80"
    assert "T1071" in alert.mitre


def test_only_the_infected_devices_raise_alerts(attack_run: tuple[list[Alert], dict]) -> None:
    alerts, truth = attack_run
    attackers = {f"mac:{a['attacker']['mac']}" for a in truth["attacks"]}
    assert {a.subject for a in alerts} == attackers


def test_generated_names_score_as_dga_and_the_sites_names_do_not() -> None:
    names = dga_names(7, 20, ["com", "net"])
    assert len(set(names)) == 20
    generated = [dga_score(split_name(n)[1].split(".")[0]) for n in names]
    assert sum(s >= 0.5 for s in generated) >= 15
    for name in ("login.microsoftonline.com", "checkip.synology.com", "dispatcher.axis.com"):
        assert dga_score(split_name(name)[1].split(".")[0]) < 0.5


def test_the_same_site_without_the_attacks_raises_nothing(tmp_path: Path) -> None:
    generate(load_scenario(SCENARIO), tmp_path / "b.pcap", attacks=False)
    ctx = detect([tmp_path / "b.pcap"])
    assert len(ctx.devices) > 30
    assert [a.title for a in ctx.alerts] == []
