"""Volume spikes against a device's own EWMA history, and large uploads to new external addresses."""

from __future__ import annotations

from iotwarden.detect.volume import VolumeDetector
from tests.detect.runner import feed, tcp_flow

OK = {"flags": (0x1B, 0x1B), "pkts": (10, 10)}


def _steady(n: int, size: int = 200_000) -> list:
    return [tcp_flow("10.0.0.7", "10.0.0.1", 443, i * 300.0 + 10, bytes_=(size, 5000), **OK) for i in range(n)]


def test_a_burst_far_above_the_devices_history_is_a_spike() -> None:
    flows = [*_steady(20), tcp_flow("10.0.0.7", "10.0.0.1", 443, 20 * 300.0 + 10, bytes_=(80_000_000, 5000), **OK)]
    alerts = feed([VolumeDetector()], flows=flows)
    assert [a.id for a in alerts] == ["detect.volume.spike"]
    assert alerts[0].evidence["bytes"] == 80_000_000


def test_no_spike_during_warm_up() -> None:
    flows = [*_steady(3), tcp_flow("10.0.0.7", "10.0.0.1", 443, 3 * 300.0 + 10, bytes_=(80_000_000, 0), **OK)]
    assert feed([VolumeDetector()], flows=flows) == []


def test_a_large_upload_to_a_new_external_address_is_exfiltration() -> None:
    flows = [tcp_flow("10.0.0.7", "198.51.100.1", 443, 10.0, bytes_=(1000, 1000), **OK),
             tcp_flow("10.0.0.7", "203.0.113.9", 443, 4000.0, bytes_=(60_000_000, 100_000), **OK)]
    alerts = feed([VolumeDetector({"learn_s": 3600.0})], flows=flows)
    assert [(a.id, a.dst_ip) for a in alerts if a.id == "detect.exfil.upload"] == [
        ("detect.exfil.upload", "203.0.113.9")]


def test_a_large_download_is_not_exfiltration() -> None:
    flows = [tcp_flow("10.0.0.7", "198.51.100.1", 443, 10.0, **OK),
             tcp_flow("10.0.0.7", "203.0.113.9", 443, 4000.0, bytes_=(1_000_000, 90_000_000), **OK)]
    assert [a for a in feed([VolumeDetector({"learn_s": 3600.0})], flows=flows) if a.id == "detect.exfil.upload"] == []


def test_a_busy_hour_never_seen_while_learning_is_off_hours() -> None:
    day = 86400.0
    flows = [tcp_flow("10.0.0.7", "10.0.0.1", 443, d * day + 9 * 3600 + 10, bytes_=(60_000_000, 1000), **OK)
             for d in range(3)]  # busy at 09h every day while learning
    flows.append(tcp_flow("10.0.0.7", "10.0.0.1", 443, 3 * day + 9 * 3600 + 10, bytes_=(60_000_000, 1000), **OK))
    flows.append(tcp_flow("10.0.0.7", "10.0.0.1", 443, 3 * day + 3 * 3600 + 10, bytes_=(60_000_000, 1000), **OK))
    alerts = [a for a in feed([VolumeDetector()], flows=flows) if a.id == "detect.volume.off_hours"]
    assert [a.key for a in alerts] == ["03h"]


def test_two_vlans_same_address_have_a_history_each() -> None:
    """A trunk mirror: VLAN 10's 10.0.0.7 sends a steady 200 kB per bucket for 20 buckets, then VLAN 20's 10.0.0.7
    sends 80 MB in its first bucket. Per plain address that was a spike against VLAN 10's history; VLAN 20's device
    has none (still warming up): nothing. All on one VLAN, the spike is raised as untagged."""
    def tagged(vlans: tuple[int, int]) -> list:
        flows = _steady(20)
        for flow in flows:
            flow.vlan = vlans[0]
        burst = tcp_flow("10.0.0.7", "10.0.0.1", 443, 20 * 300.0 + 10, bytes_=(80_000_000, 5000), **OK)
        burst.vlan = vlans[1]
        return [*flows, burst]
    assert feed([VolumeDetector()], flows=tagged((10, 20))) == []
    alerts = feed([VolumeDetector()], flows=tagged((20, 20)))
    assert [(a.id, a.src_ip) for a in alerts] == [("detect.volume.spike", "10.0.0.7")]
    assert "%" not in alerts[0].title


def test_two_vpcs_uploading_half_each_are_no_exfiltration() -> None:
    """VPC 4001's and VPC 4002's 10.0.0.7 each send 30 MB to one new outside address (60 MB together, over
    min_upload 50 MB): nothing; the 60 MB from one VPC are exfiltration."""
    def uploads(vnis: tuple[int, int]) -> list:
        flows = []
        for i, vni in enumerate(vnis):
            learnt = tcp_flow("10.0.0.7", "198.51.100.1", 443, 10.0 + i, bytes_=(1000, 1000), **OK)
            learnt.extra["vni"] = [vni]
            flows.append(learnt)
            flow = tcp_flow("10.0.0.7", "203.0.113.9", 443, 4000.0 + i, bytes_=(30_000_000, 50_000), **OK)
            flow.extra["vni"] = [vni]
            flows.append(flow)
        return sorted(flows, key=lambda f: f.first_seen)
    assert [a for a in feed([VolumeDetector({"learn_s": 3600.0})], flows=uploads((4001, 4002)))
            if a.id == "detect.exfil.upload"] == []
    assert [(a.id, a.src_ip, a.dst_ip) for a in feed([VolumeDetector({"learn_s": 3600.0})], flows=uploads((4001, 4001)))
            if a.id == "detect.exfil.upload"] == [("detect.exfil.upload", "10.0.0.7", "203.0.113.9")]
