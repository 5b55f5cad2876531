"""Acceptance on the lab: every attack a scenario can switch on is caught by the right detector, and a
benign enterprise day long enough to learn (three hours: one learning, two enforcing) raises nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Flow
from tests.detect.runner import detect

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"
# lab attack kind -> the detector id that must catch it, from the attacker
EXPECTED = {
    "mirai_scan": {"detect.scan.telnet_mirai"},
    "ping_sweep": {"detect.scan.horizontal"},
    "telnet_bruteforce": {"detect.bruteforce.telnet"},
    "lateral_movement": {"detect.lateral.admin_protocol"},
    "c2_beacon": {"detect.c2.beaconing"},
    "dns_dga": {"detect.dns.dga"},
    "dns_tunnel": {"detect.dns.tunnel"},
    "sip_scan": {"detect.scan.sip_tool", "detect.scan.sip_extensions"},
    "sip_bruteforce": {"detect.bruteforce.sip"},
    "p2p_dht": {"detect.c2.p2p_dht"},
    "remote_service_exec": {"detect.lateral.remote_exec"},
    "psexec": {"detect.lateral.remote_exec", "detect.lateral.admin_share_exec"},
    "dcsync": {"detect.lateral.dcsync"},
    "rdp_bruteforce": {"detect.bruteforce.rdp"},  # spraying too when it rotates user names (test_rdp_attacks)
    "knx_reprogram": {"detect.ot.program_download", "detect.ot.device_restart"},
    "kerberos_spray": {"detect.bruteforce.kerberos_spray"},  # guessing too with one user (test_krb_attacks)
    "kerberoast": {"detect.kerberos.kerberoast"},
    "ldap_bruteforce": {"detect.bruteforce.ldap"},
    "ftp_bruteforce": {"detect.bruteforce.ftp"},
}
# attacks on a controller: detect.ot reports the operation on the device that received it, naming the attacker
# as the alert's source (src_ip), so their alerts have the target as subject
ON_TARGET = frozenset({"knx_reprogram"})


@pytest.fixture(scope="module")
def attack_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, dict]:
    out = tmp_path_factory.mktemp("lab")
    generate(load_scenario(SCENARIOS / "enterprise-attack.yaml"), out / "a.pcap", out / "a.json")
    truth = json.loads((out / "a.json").read_text())
    return detect([out / "a.pcap"]).alerts, truth


def test_every_attack_kind_has_an_expected_detector(attack_run: tuple[list, dict]) -> None:
    from iotwarden.lab.attacks import ATTACKS

    assert set(ATTACKS) == set(EXPECTED)


def test_each_lab_attack_is_detected_by_the_right_detector(attack_run: tuple[list, dict]) -> None:
    alerts, truth = attack_run
    assert truth["attacks"]
    for attack in truth["attacks"]:
        mac = attack["attacker"]["mac"]
        raised = {a.id for a in alerts if a.subject == f"mac:{mac}"
                  and attack["start"] - 1 <= a.first_seen <= attack["end"] + 120}
        assert EXPECTED[attack["kind"]] <= raised, (attack["kind"], raised)


def test_lab_attack_alerts_name_the_attacker_and_its_techniques(attack_run: tuple[list, dict]) -> None:
    alerts, truth = attack_run
    attacker = truth["attacks"][0]["attacker"]
    for alert in alerts:
        assert alert.subject == f"mac:{attacker['mac']}"
        assert alert.src_ip == attacker["ip"]
        assert alert.mitre and all(t.startswith("T") for t in alert.mitre)
    lateral = {a.key for a in alerts if a.id == "detect.lateral.admin_protocol"}
    assert lateral == {"SMB", "RDP", "SSH"}


# scenarios with a test of their own above and in test_lab_c2.py; every other one is checked below
COVERED = {"enterprise-attack.yaml", "enterprise-c2.yaml"}
OTHERS = sorted(p.name for p in SCENARIOS.glob("*.yaml") if p.name not in COVERED and load_scenario(p).attacks)


@pytest.mark.parametrize("name", OTHERS)
def test_every_attack_another_scenario_can_switch_on_is_detected(tmp_path: Path, name: str) -> None:
    generate(load_scenario(SCENARIOS / name), tmp_path / "s.pcap", tmp_path / "s.json", attacks=True)
    truth = json.loads((tmp_path / "s.json").read_text())
    alerts = detect([tmp_path / "s.pcap"]).alerts
    assert truth["attacks"]
    for attack in truth["attacks"]:
        on_target = attack["kind"] in ON_TARGET
        raised = {a.id for a in alerts if (a.src_ip == attack["attacker"]["ip"] and a.dst_ip in attack["targets"]
                                           if on_target else a.subject == f"mac:{attack['attacker']['mac']}")
                  and attack["start"] - 1 <= a.first_seen <= attack["end"] + 120}
        assert EXPECTED[attack["kind"]] <= raised, (name, attack["kind"], raised)
    sources = {a["attacker"]["ip"] for a in truth["attacks"]}
    assert all(a.subject in {f"mac:{t['attacker']['mac']}" for t in truth["attacks"]} or a.src_ip in sources
               for a in alerts), [(a.id, a.subject, a.src_ip) for a in alerts]


def test_a_benign_lab_day_raises_no_alert(enterprise_day: tuple[Path, list[Flow]]) -> None:
    ctx = detect([enterprise_day[0]])  # three hours of enterprise.yaml (tests/detect/conftest.py)
    assert len(ctx.devices) > 30
    assert [a.title for a in ctx.alerts] == []
