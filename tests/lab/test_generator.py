"""The generator: small.yaml becomes a time-ordered, checksum-clean capture whose content and ground
truth match the scenario, deterministic per seed, with attacks switched on and off."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import dpkt
import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.generator import TRUTH_SCHEMA, PcapWriter, generate
from iotwarden.lab.profiles import DHCP_PROFILES
from iotwarden.lab.scenario import MAX_DEVICE_TEXT_BYTES, PCAP_END_S, Scenario
from tests.lab.capcheck import CaptureReport

Capture = tuple[Path, dict[str, Any], CaptureReport]


def _ip(frame: Any) -> Any:
    return frame.data if isinstance(frame.data, dpkt.ip.IP) else None


def _payloads(report: CaptureReport, proto: type, port: int) -> list[tuple[Any, Any, bytes]]:
    out = []
    for _, eth in report.frames:
        ip = _ip(eth)
        if ip is not None and isinstance(ip.data, proto) and port in (ip.data.sport, ip.data.dport) and ip.data.data:
            out.append((eth, ip, bytes(ip.data.data)))
    return out


def test_capture_is_time_ordered_with_valid_checksums_and_tcp_state(small_benign: Capture) -> None:
    _, result, rep = small_benign
    assert rep.packets == result["packets"] > 1000
    assert rep.bad_order == 0
    assert rep.bad_ip_checksum == 0
    assert rep.bad_l4_checksum == 0
    assert rep.seq_errors == []
    assert rep.ack_errors == []
    assert rep.handshakes >= 20
    assert rep.fin_closes >= rep.handshakes - 3  # long-lived MQTT, Modbus polling may stay open


def test_every_declared_protocol_is_on_the_wire(small_benign: Capture) -> None:
    _, _, rep = small_benign
    for key in [("udp", 67), ("udp", 53), ("udp", 123), ("udp", 161), ("udp", 1900), ("udp", 5353),
                ("udp", 47808), ("tcp", 443), ("tcp", 80), ("tcp", 554), ("tcp", 631), ("tcp", 9100), ("tcp", 23),
                ("tcp", 1883), ("tcp", 502)]:
        assert rep.ports[key] > 0, key
    assert any(isinstance(eth.data, dpkt.arp.ARP) for _, eth in rep.frames)


def test_dhcp_carries_the_profile_of_each_client(small_benign: Capture, small_scenario: Scenario) -> None:
    _, _, rep = small_benign
    seen: dict[str, dict[int, bytes]] = {}
    for eth, _, data in _payloads(rep, dpkt.udp.UDP, 67):
        msg = dpkt.dhcp.DHCP(data)
        opts = dict(msg.opts)
        if msg.op == dpkt.dhcp.DHCP_OP_REQUEST and opts.get(53) == b"\x01":  # DISCOVER
            seen[":".join(f"{b:02x}" for b in eth.src)] = opts
    for dev in small_scenario.devices:
        dhcp = [b for b in dev.behaviours if b.kind == "dhcp"]
        if not dhcp or dev.ip:
            continue
        prof = DHCP_PROFILES[dhcp[0].params["profile"]]
        opts = seen[dev.mac]
        assert list(opts[55]) == list(prof.prl)
        assert opts.get(60) == (prof.vendor_class.format(model=dev.model).encode() if prof.vendor_class else None)
        assert opts[12] == dev.hostname.encode()


def test_truth_matches_the_scenario_and_the_leases(small_benign: Capture, small_scenario: Scenario) -> None:
    path, _, rep = small_benign
    truth = json.loads(path.with_suffix(".json").read_text())
    assert truth["schema"] == TRUTH_SCHEMA
    assert [d["id"] for d in truth["devices"]] == [d.id for d in small_scenario.devices]
    assert truth["attacks"] == []
    acks = {}
    for _, _, data in _payloads(rep, dpkt.udp.UDP, 68):
        msg = dpkt.dhcp.DHCP(data)
        if dict(msg.opts).get(53) == b"\x05":
            acks[msg.chaddr.hex(":")] = socket.inet_ntoa(msg.yiaddr.to_bytes(4, "big"))
    for dev, spec in zip(truth["devices"], small_scenario.devices, strict=True):
        assert (dev["mac"], dev["vendor"], dev["model"], dev["category"]) == (spec.mac, spec.vendor, spec.model,
                                                                           spec.category)
        if dev["dhcp"] and "dhcp" in dev["behaviours"]:
            assert acks[dev["mac"]] == dev["ips"][0]
        elif spec.ip:
            assert dev["ips"] == [spec.ip]


def test_tls_client_hellos_name_the_cloud_and_servers_send_certificates(small_benign: Capture) -> None:
    _, _, rep = small_benign
    names, certs = set(), 0
    for _, ip, data in _payloads(rep, dpkt.tcp.TCP, 443):
        if data[0] == 22 and data[5] == 1:  # handshake record, ClientHello
            hello = dpkt.ssl.TLSRecord(data)
            ch = dpkt.ssl.TLSHandshake(hello.data).data
            for ext_type, ext in ch.extensions:
                if ext_type == 0:
                    names.add(ext[5:].decode())
        elif data[0] == 22 and data[5] == 2 and ip.data.sport == 443:
            certs += b"\x0b" in data[:2000]
    assert {"login.microsoftonline.com", "dispatcher.axis.com", "settings-win.data.microsoft.com"} <= names
    assert certs >= len(names)


def test_ot_and_printer_protocols_carry_identity(small_benign: Capture) -> None:
    _, _, rep = small_benign
    modbus = b"".join(d for _, _, d in _payloads(rep, dpkt.tcp.TCP, 502))
    assert b"TM221CE16R" in modbus and b"Schneider Electric" in modbus
    bacnet = [d for _, _, d in _payloads(rep, dpkt.udp.UDP, 47808)]
    i_am = [d for d in bacnet if d[6:8] == b"\x10\x00"]
    assert i_am and i_am[0].endswith(b"\x21\x05")  # vendor identifier 5, Johnson Controls
    snmp = b"".join(d for _, _, d in _payloads(rep, dpkt.udp.UDP, 161))
    assert b"public" in snmp and b"JETDIRECT" in snmp
    rtsp = b"".join(d for _, _, d in _payloads(rep, dpkt.tcp.TCP, 554))
    for method in (b"OPTIONS", b"DESCRIBE", b"SETUP", b"PLAY", b"TEARDOWN"):
        assert method + b" rtsp://" in rtsp
    mqtt = [d for _, _, d in _payloads(rep, dpkt.tcp.TCP, 1883)]
    assert mqtt[0][:1] == b"\x10" and b"MQTT" in mqtt[0]


def test_attack_switch_adds_scan_bruteforce_and_lateral_movement(small_benign: Capture, small_attack: Capture,
                                                                   small_scenario: Scenario) -> None:
    _, benign, brep = small_benign
    _, result, rep = small_attack
    attacker = next(d for d in small_scenario.devices if d.id == "cam-01")
    assert rep.seq_errors == [] and rep.bad_l4_checksum == 0
    assert [a["kind"] for a in result["attacks"]] == ["mirai_scan", "telnet_bruteforce", "lateral_movement"]
    assert result["packets"] > benign["packets"]

    def syns(report: CaptureReport) -> list[tuple[int, bool]]:
        out = []
        for _, eth in report.frames:
            ip = _ip(eth)
            if ip is not None and isinstance(ip.data, dpkt.tcp.TCP) and eth.src.hex(":") == attacker.mac and \
                    ip.data.flags == dpkt.tcp.TH_SYN:
                out.append((ip.data.dport, ip.data.seq == int.from_bytes(ip.dst, "big")))
        return out

    benign_syns, attack_syns = syns(brep), syns(small_attack[2])
    assert not [p for p, _ in benign_syns if p in (23, 2323, 445, 3389, 22)]
    mirai = [p for p, seq_is_dst in attack_syns if seq_is_dst]  # Mirai's tell: sequence number = target address
    assert set(mirai) <= {23, 2323} and len(mirai) >= 5
    assert {445, 3389, 22} <= {p for p, _ in attack_syns}
    telnet = b"".join(d for _, _, d in _payloads(rep, dpkt.tcp.TCP, 23))
    assert b"/bin/busybox MIRAI" in telnet and b"Login incorrect" in telnet
    for event in result["attacks"]:
        assert event["attacker"]["mac"] == attacker.mac
        assert event["start"] <= event["end"]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, small_scenario: Scenario) -> None:
    generate(small_scenario, tmp_path / "a.pcap", duration=10)
    generate(small_scenario, tmp_path / "b.pcap", duration=10)
    generate(small_scenario, tmp_path / "c.pcap", duration=10, seed=99)
    assert (tmp_path / "a.pcap").read_bytes() == (tmp_path / "b.pcap").read_bytes()
    assert (tmp_path / "a.pcap").read_bytes() != (tmp_path / "c.pcap").read_bytes()


def test_duration_override_is_validated_and_shortens(tmp_path: Path, small_scenario: Scenario,
                                                     small_benign: Capture) -> None:
    short = generate(small_scenario, tmp_path / "s.pcap", duration=5)
    assert 0 < short["packets"] < small_benign[1]["packets"]
    with pytest.raises(ConfigError, match="duration"):
        generate(small_scenario, tmp_path / "x.pcap", duration=-1)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed (apt-get install tshark)")
def test_tshark_decodes_without_malformed_packets_or_errors(small_attack: Capture) -> None:
    path = small_attack[0]
    proc = subprocess.run(["tshark", "-n", "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o",
                           "udp.check_checksum:TRUE", "-Y", "_ws.malformed || _ws.expert.severity >= error || "
                           "tcp.checksum.status == 0 || udp.checksum.status == 0", "-T", "fields", "-e",
                           "frame.number", "-e", "_ws.col.Info"], capture_output=True, text=True, timeout=120,
                          check=True)
    assert proc.stdout.strip() == ""


def test_an_interrupted_generation_leaves_no_capture_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            small_scenario: Scenario) -> None:
    from iotwarden.lab import generator

    def broken(*args: object, **kwargs: object) -> object:
        def frames() -> object:
            yield 1.0, b"\x00" * 60
            raise KeyboardInterrupt

        return frames(), [], None

    monkeypatch.setattr(generator, "frames", broken)
    out = tmp_path / "lab.pcap"
    with pytest.raises(KeyboardInterrupt):
        generator.generate(small_scenario, out)
    assert list(tmp_path.iterdir()) == []


def test_a_frame_past_the_last_time_a_pcap_carries_is_a_config_error() -> None:
    # a scenario starting late (up to LATEST_START_S) whose attack lasts long enough (600,000 DNS lookups at 0.01 a
    # second: 700 days) reaches 2**32 s, which a pcap record's 32-bit seconds cannot hold (struct.error before)
    writer = PcapWriter(io.BytesIO())
    writer.write(PCAP_END_S - 1.0, b"\x00" * 60)
    with pytest.raises(ConfigError, match="past 2106-02-07T06:28:15Z, the last time a pcap can carry"):
        writer.write(float(PCAP_END_S), b"\x00" * 60)
    assert writer.packets == 1


def test_device_texts_of_the_longest_allowed_length_are_generated(tmp_path: Path, small_scenario: Scenario) -> None:
    # MAX_DEVICE_TEXT_BYTES: the longest host name, vendor, model, OS and firmware every wire field holds
    longest = [dataclasses.replace(d, hostname="h" * 63, vendor="v" * 63, model="é" * 31 + "m", os="o" * 63,
                                   firmware="f" * 63) for d in small_scenario.devices]
    scenario = dataclasses.replace(small_scenario, devices=longest, duration=120.0)
    truth = generate(scenario, tmp_path / "long.pcap")
    assert truth["packets"] > 0 and {d["hostname"] for d in truth["devices"]} == {"h" * MAX_DEVICE_TEXT_BYTES}
