"""risk.exposure.many_external: devices opening flows to many internet addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iotwarden.hooks import Context
from iotwarden.lab.wire import Host
from iotwarden.model import Device, Flow
from iotwarden.risk.checks.exposure_many_external import ManyExternalDestinations
from iotwarden.risk.subjects import SubjectIndex
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


def test_interleaved_sources_each_count_their_own_destinations() -> None:
    """The check reuses the previous flow's source entry for the same (MAC, address); sources taking
    turns, and one MAC written in two cases, still count as the inventory names them."""
    check = ManyExternalDestinations()
    sources = [("02:00:00:00:00:1e", "10.9.0.30"), ("02:00:00:00:00:1f", "10.9.0.31"),
               ("02:00:00:00:00:1E", "10.9.0.30")]
    for n in range(30):
        mac, ip = sources[n % 3]
        check.on_flow(Context(), Flow(0, 6, ip, 40000 + n, f"81.0.{n}.1", 23, T0 + n, T0 + n + 1, a_mac=mac))
    reached = {source: sorted(r.destinations) for source, r in check.reached.items()}
    assert set(reached) == {("02:00:00:00:00:1e", "10.9.0.30"), ("02:00:00:00:00:1f", "10.9.0.31")}
    assert len(reached[("02:00:00:00:00:1e", "10.9.0.30")]) == 20
    assert reached[("02:00:00:00:00:1f", "10.9.0.31")] == sorted(f"81.0.{n}.1" for n in range(1, 30, 3))
    assert check.reached[("02:00:00:00:00:1f", "10.9.0.31")].last == T0 + 29  # its last flow: n = 28


def test_a_source_asked_again_is_still_judged_per_destination() -> None:
    """The previous flow's source is known internal: its next flows skip that test, never the
    destination's, and an internet source never counts."""
    check = ManyExternalDestinations()
    mac, ip = "02:00:00:00:00:1e", "10.9.0.30"
    destinations = ["81.0.0.1", "10.9.0.1", "224.0.0.251", "81.0.0.2", "192.168.1.9", "81.0.0.1"]
    for n, dst in enumerate(destinations):
        check.on_flow(Context(), Flow(0, 6, ip, 40000 + n, dst, 443, T0 + n, T0 + n + 1, a_mac=mac))
    check.on_flow(Context(), Flow(0, 6, "81.0.0.9", 5000, "81.0.0.3", 443, T0, T0 + 1, a_mac=mac))
    assert {k: sorted(r.destinations) for k, r in check.reached.items()} == {(mac, ip): ["81.0.0.1", "81.0.0.2"]}


def test_two_vlans_routed_address_counts_its_own_destinations() -> None:
    """A router on VLAN 10 and VLAN 20 (router-on-a-stick) carries each VLAN's routed 10.0.0.5 to 30 internet
    addresses, taking turns: each VLAN's 10.0.0.5 is its own device (ip:10.0.0.5%vlanN, as the inventory keys it)
    with its own 30, under the threshold of 50 (before: one endpoint of 60, a finding on the first). Untagged, the
    same flows are one endpoint of 60, as before."""
    router, devices = "02:00:00:00:00:01", {}
    for key in ("ip:10.0.0.5%vlan10", "ip:10.0.0.5%vlan20", f"mac:{router}"):
        devices[key] = Device(key, T0, T0, mac=router if key.startswith("mac:") else None,
                              ips={"10.0.0.1" if key.startswith("mac:") else "10.0.0.5"})

    def run(vlans: tuple[int, int], threshold: int = 50) -> dict[str, int]:
        check = ManyExternalDestinations()
        check.configure({"threshold": threshold})
        for n in range(60):
            check.on_flow(Context(), Flow(vlans[n % 2], 6, "10.0.0.5", 40000 + n, f"81.0.{n}.1", 23, T0 + n,
                                          T0 + n + 1, a_mac=router))
        subjects = SubjectIndex(devices)
        return {f.subject: f.evidence["distinct_destinations"] for f in check.findings(Context(), subjects)}
    assert run((10, 20)) == {}
    assert run((10, 20), threshold=30) == {"ip:10.0.0.5%vlan10": 30, "ip:10.0.0.5%vlan20": 30}
    assert run((10, 10)) == {"ip:10.0.0.5%vlan10": 60}
    assert run((0, 0)) == {"ip:10.0.0.5%vlan10": 60}  # untagged: the first routed device holding it, as before
