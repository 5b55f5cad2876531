"""risk.exposure.many_external: devices opening flows to many internet addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iotwarden.lab.wire import Host
from tests.risk.harness import T0, analyse, found, host, tcp, write_pcap

ID = "risk.exposure.many_external"
GATEWAY_MAC = "02:00:00:00:00:01"


def scanner(path: Path, destinations: int) -> Path:
    """10.9.0.30 opens one TCP connection to each of ``destinations`` internet addresses via the gateway."""
    frames = []
    for n in range(destinations):
        remote = Host(GATEWAY_MAC, f"{81 + n // 250}.{n % 250 + 1}.10.20")
        frames += tcp(host(30), remote, 23, [(True, b"\r\n")], t=T0 + n, seed=n, cport=30000 + n)
    return write_pcap(path, frames)


def test_device_reaching_many_internet_hosts_is_flagged(tmp_path: Path) -> None:
    ctx, _ = analyse(scanner(tmp_path / "scan.pcap", 60))
    finding = found(ctx, ID)["mac:02:00:00:00:00:1e"]
    assert finding.severity == "medium"
    assert finding.evidence["distinct_destinations"] == 60
    assert finding.evidence["destination_ports"] == ["23"]
    assert len(finding.evidence["sample_destinations"]) == 16


def test_threshold_is_an_option(tmp_path: Path) -> None:
    path = scanner(tmp_path / "few.pcap", 12)
    ctx, _ = analyse(path)
    assert found(ctx, ID) == {}
    ctx, _ = analyse(path, options={ID: {"threshold": 10, "high_threshold": 12}})
    assert found(ctx, ID)["mac:02:00:00:00:00:1e"].severity == "high"


def test_lab_devices_talk_to_few_clouds(small_lab: Any) -> None:
    ctx, _, _ = small_lab
    assert found(ctx, ID) == {}
