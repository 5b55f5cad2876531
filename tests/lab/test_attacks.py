"""Attacks: the scan probes the whole subnet, brute force ends on the real password, lateral movement
opens SMB, RDP and SSH; each reports its ground truth."""

from __future__ import annotations

import dpkt
import pytest
import yaml

from iotwarden.errors import ConfigError
from iotwarden.kb import KnowledgeBase
from iotwarden.lab.attacks import ATTACKS, SSH_SERVER_BY_OS, SSH_SERVER_OTHER, ssh_server_identification
from iotwarden.lab.generator import attack_params, behaviour_params
from iotwarden.lab.scenario import Activity, Scenario, parse_scenario
from iotwarden.lab.world import World
from tests.lab.conftest import SCENARIOS


def _run(scenario: Scenario, kind: str, **override: object) -> tuple[list[dpkt.ethernet.Ethernet], dict]:
    world = World(scenario, 3)
    act = next(a for a in scenario.attacks if a.kind == kind)
    act = Activity(act.kind, {**act.params, **override}, act.path, act.key)
    fn, _ = ATTACKS[kind]
    stream, event = fn(world, act)
    return [dpkt.ethernet.Ethernet(f) for _, f in stream], event


def test_scan_arps_then_syns_with_the_mirai_sequence_number(small_scenario: Scenario) -> None:
    frames, event = _run(small_scenario, "mirai_scan", duration=20, rate=20)
    arps = [f for f in frames if isinstance(f.data, dpkt.arp.ARP) and f.data.op == 1]
    assert len(arps) == 253  # every other address of the /24
    syns = [f.data for f in frames if isinstance(f.data, dpkt.ip.IP) and f.data.data.flags == dpkt.tcp.TH_SYN]
    assert syns and all(s.data.seq == int.from_bytes(s.dst, "big") and s.data.dport in (23, 2323) for s in syns)
    synacks = [f.data for f in frames if isinstance(f.data, dpkt.ip.IP) and
               f.data.data.flags == dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK]
    assert {s.src for s in synacks} <= {bytes([10, 20, 0, 103])}  # only the DVR has Telnet open
    assert event["technique"].startswith("T1046") and "10.20.0.103" in event["targets"]


def test_bruteforce_succeeds_with_the_targets_default_password(small_scenario: Scenario) -> None:
    frames, event = _run(small_scenario, "telnet_bruteforce", attempts=3)
    data = b"".join(bytes(f.data.data.data) for f in frames)
    assert data.count(b"login: ") == 3 and data.count(b"Login incorrect") == 2
    assert data.rfind(b"vizxv") > data.rfind(b"Login incorrect") and b"MIRAI: applet not found" in data
    assert event["targets"] == ["10.20.0.103"]


def test_lateral_movement_opens_each_service(small_scenario: Scenario) -> None:
    frames, event = _run(small_scenario, "lateral_movement")
    payloads = {f.data.data.dport: bytes(f.data.data.data) for f in frames if f.data.data.data and
                f.data.data.dport in (445, 3389, 22)}
    assert payloads[445][4:8] == b"\xfeSMB" and payloads[3389][:2] == b"\x03\x00"
    assert b"SSH-2.0-" in b"".join(bytes(f.data.data.data) for f in frames)
    assert event["targets"] == ["10.20.0.10", "10.20.0.20"] and event["end"] > event["start"]


def test_unknown_target_or_bad_port_is_a_config_error() -> None:
    raw = yaml.safe_load((SCENARIOS / "small.yaml").read_text())
    raw["attacks"][2]["targets"] = ["srv-dc", "ghost"]
    with pytest.raises(ConfigError, match=r"attacks\[2\]\.targets\[1\]: no device with id 'ghost'"):
        parse_scenario(raw, behaviour_params(), attack_params())
    raw["attacks"][2]["targets"] = ["srv-dc"]
    raw["attacks"][2]["ports"] = [445, "smb"]
    with pytest.raises(ConfigError, match=r"attacks\[2\]\.ports\[1\]: expected a port number"):
        parse_scenario(raw, behaviour_params(), attack_params())


def test_scan_stops_at_its_probe_limit(small_scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iotwarden.lab.attacks.MAX_SCAN_PROBES", 10)
    frames, _ = _run(small_scenario, "mirai_scan", duration=20, rate=20)
    arps = [f for f in frames if isinstance(f.data, dpkt.arp.ARP) and f.data.op == 1]
    assert len(arps) == 10


def test_lateral_movement_targets_answer_ssh_as_their_os_ships_it(small_scenario: Scenario) -> None:
    # srv-dc runs Windows Server 2019 (Win32-OpenSSH), nvr-01 not Windows: one Ubuntu sshd for both made the DC Linux
    frames, _ = _run(small_scenario, "lateral_movement")
    answers = {f.data.src: bytes(f.data.data.data) for f in frames
               if f.data.data.sport == 22 and bytes(f.data.data.data).startswith(b"SSH-2.0-")}
    assert answers == {bytes([10, 20, 0, 10]): b"SSH-2.0-OpenSSH_for_Windows_8.1\r\n",
                       bytes([10, 20, 0, 20]): b"SSH-2.0-OpenSSH_8.2p1\r\n"}  # Synology DSM 7: no Ubuntu suffix


@pytest.mark.parametrize(("os_name", "banner"), [
    ("Windows Server 2019", b"SSH-2.0-OpenSSH_for_Windows_8.1\r\n"),
    ("Windows 10 IoT Enterprise", b"SSH-2.0-OpenSSH_for_Windows_8.1\r\n"),
    ("IOS XE", b"SSH-2.0-Cisco-1.25\r\n"),
    ("Cisco IOS", b"SSH-2.0-Cisco-1.25\r\n"),
    ("Ubuntu 22.04", b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n"),
    ("Raspberry Pi OS 12", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"),
    ("Debian 12", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"),
    ("DSM 7", b"SSH-2.0-OpenSSH_8.2p1\r\n"),
    ("Linux", b"SSH-2.0-dropbear_2020.81\r\n"),
    ("", b"SSH-2.0-OpenSSH_9.6p1\r\n"),
    ("AXIS OS", b"SSH-2.0-OpenSSH_9.6p1\r\n"),
    ("macOS 14", b"SSH-2.0-OpenSSH_9.6p1\r\n"),
    ("Biosig", b"SSH-2.0-OpenSSH_9.6p1\r\n"),  # 'ios' inside a word is no IOS
])
def test_each_os_kind_answers_ssh_with_the_banner_it_ships(os_name: str, banner: bytes) -> None:
    # one banner for every non-Windows OS made a router, a NAS or an embedded target read as Ubuntu Linux
    raw = yaml.safe_load((SCENARIOS / "small.yaml").read_text())
    nvr = next(d for d in raw["devices"] if d["id"] == "nvr-01")
    nvr["os"] = os_name
    world = World(parse_scenario(raw, behaviour_params(), attack_params()), 3)
    assert ssh_server_identification(world, "nvr-01") == banner


def test_the_inventory_reads_no_ubuntu_in_another_os_banner() -> None:
    # ssh.banner's rules conclude Ubuntu only from Ubuntu's banner, Cisco IOS from IOS's, no OS from a plain OpenSSH
    kb = KnowledgeBase.load()
    for name, banner in SSH_SERVER_BY_OS:
        versions = {m.conclusions.get("os_version", "") for m in kb.match("ssh.banner", banner.decode().strip())}
        assert (name == "ubuntu") == any(v.startswith("Ubuntu") for v in versions), name
    ios = kb.match("ssh.banner", SSH_SERVER_BY_OS[1][1].decode().strip())
    assert [m.conclusions["os"] for m in ios] == ["Cisco IOS"]
    assert kb.match("ssh.banner", SSH_SERVER_OTHER.decode().strip()) == []
