"""What the scan detector counts as a probe, and the repeated probes that are a monitor's (detect/scan_probe)."""

from __future__ import annotations

from iotwarden.detect.scan import ScanOptions
from iotwarden.detect.scan_probe import health_check, repeated_check, steady, to_a_group
from iotwarden.detect.scan_state import Recent
from iotwarden.model import Flow
from tests.detect.runner import tcp_flow


def test_a_connection_completed_then_reset_with_no_bytes_is_a_health_check() -> None:
    assert health_check(tcp_flow("10.0.0.9", "10.0.1.1", 80, 0.0, flags=(0x16, 0x12), pkts=(3, 1)))
    assert not health_check(tcp_flow("10.0.0.9", "10.0.1.1", 80, 0.0, flags=(0x06, 0x12), pkts=(2, 1)))  # ShR
    zeek = tcp_flow("10.0.0.9", "10.0.1.1", 80, 0.0, pkts=(3, 1))
    zeek.extra.update(conn_state="RSTO", history="ShAR")
    assert health_check(zeek)
    zeek.extra["history"] = "ShR"
    assert not health_check(zeek)


def test_a_datagram_to_a_group_is_no_probe() -> None:
    def udp(dst: str, mac: str | None = None) -> Flow:
        return Flow(vlan=0, ip_proto=17, a_ip="10.0.0.9", a_port=50000, b_ip=dst, b_port=5560, first_seen=0.0,
                    last_seen=0.0, b_mac=mac, pkts_ab=1, pkts_ba=0, bytes_ab=60, bytes_ba=0)
    assert to_a_group(udp("255.255.255.255")) and to_a_group(udp("239.255.255.250"))
    assert to_a_group(udp("10.0.0.255", "ff:ff:ff:ff:ff:ff")) and not to_a_group(udp("10.0.0.7", "02:00:00:00:00:07"))
    assert not to_a_group(udp("10.0.0.7"))


def test_a_target_probed_at_a_steady_cadence_is_watched_at_its_third_cycle() -> None:
    o, cycles = ScanOptions(), Recent[tuple[int, str], tuple[int, float, float, int]]()
    target = (161, "10.0.1.1")
    assert not steady(cycles, target, 40001, 60.0, 0.0, o=o)
    assert not steady(cycles, target, 40001, 61.0, None, o=o)  # the same source port: a retransmission
    assert steady(cycles, target, 40002, 120.0, None, o=o)
    assert not steady(cycles, (161, "10.0.1.2"), 40003, 0.5, 0.0, o=o)  # sooner than min_cycle_s: the same cycle


def test_a_check_that_comes_back_within_slow_window_s_is_a_repeat() -> None:
    o, checked = ScanOptions(), Recent[tuple[int, str], float]()
    assert not repeated_check(checked, (80, "10.0.1.1"), 0.0, o)
    assert repeated_check(checked, (80, "10.0.1.1"), 10.0, o)
    assert not repeated_check(checked, (80, "10.0.1.1"), 10.0 + o.slow_window_s + 1, o)
