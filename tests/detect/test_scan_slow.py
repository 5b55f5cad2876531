"""Scans the fast counts missed (issue #4, tests/detect/botnet_variants.py): a scan paced under ``min_hosts`` a
window, a SYN scan whose probes meet open ports (Zeek's RSTO), and a UDP flood's random ports, which are no scan."""

from __future__ import annotations

import random

from iotwarden.detect.scan import ScanDetector
from iotwarden.model import Flow
from tests.detect.runner import feed, tcp_flow


def _s0(src: str, dst: str, port: int, ts: float, sport: int = 40000) -> Flow:
    f = tcp_flow(src, dst, port, ts, sport=sport, flags=(0x02, 0), pkts=(3, 0))
    f.extra["conn_state"] = "S0"
    return f


def test_a_scan_of_one_probe_every_half_minute_is_a_slow_scan() -> None:
    """Mirai variants' exploit ports probed one host every 20-40 s: never 10 hosts a minute, 30 within the hour."""
    rng, t, flows = random.Random(1), 0.0, []
    for i in range(60):
        flows.append(_s0("10.0.0.9", f"198.51.{i // 200}.{i % 200 + 1}", 37215, t, sport=40000 + i))
        t += rng.uniform(20, 40)
    alerts = feed([ScanDetector()], flows=flows)
    assert [(a.id, a.key) for a in alerts] == [("detect.scan.horizontal", "37215/slow")]
    assert alerts[0].evidence["hosts"] == 30 and alerts[0].evidence["window_s"] == 3600.0


def test_a_slow_telnet_scan_is_a_mirai_scan_and_a_fast_one_raises_no_slow_alert() -> None:
    slow = [_s0("10.0.0.9", f"198.51.100.{i + 1}", 23, i * 30.0, sport=40000 + i) for i in range(40)]
    assert [(a.id, a.key) for a in feed([ScanDetector()], flows=slow)] == [("detect.scan.telnet_mirai", "23/2323/slow")]
    fast = [_s0("10.0.0.9", f"198.51.{i // 200}.{i % 200 + 1}", 23, i * 0.5, sport=40000 + i) for i in range(400)]
    assert {a.key for a in feed([ScanDetector()], flows=fast)} == {"23/2323"}


def test_slow_connects_to_a_cloud_port_or_to_few_hosts_are_no_slow_scan() -> None:
    """Failed connects to 30 hosts of a device-cloud port (an egress firewall blocking 443) are left to the fast
    counts; a dead cloud's few addresses on an odd port stay under min_slow_hosts."""
    blocked = [_s0("10.0.0.9", f"198.51.100.{i + 1}", 443, i * 30.0, sport=40000 + i) for i in range(60)]
    dead = [_s0("10.0.0.9", f"198.51.100.{i % 4 + 1}", 9999, i * 30.0, sport=41000 + i) for i in range(120)]
    assert feed([ScanDetector()], flows=blocked + dead) == []


def test_slow_scan_tables_are_bounded() -> None:
    det = ScanDetector({"max_targets": 16})
    feed([det], flows=[_s0("10.0.0.9", f"198.51.100.{i % 250 + 1}", 1000 + i, i * 30.0) for i in range(100)])
    assert len(det._src["10.0.0.9"].slow) == 16


def test_probes_answered_and_reset_by_the_scanner_are_probes_in_a_conn_log() -> None:
    """A raw SYN scan meeting open ports: SYN, SYN-ACK, the scanner's kernel's RST; Zeek logs RSTO, history ShR, no
    bytes (base/protocols/conn/main.zeek conn_state); from packets the same flows were probes already."""
    flows = []
    for i in range(1, 13):
        f = tcp_flow("10.0.0.9", f"10.0.3.{i}", 8080, 100.0 + i, flags=(0x06, 0x12), pkts=(2, 1))
        f.extra["conn_state"] = "RSTO"
        flows.append(f)
    assert [a.id for a in feed([ScanDetector()], flows=flows)] == ["detect.scan.horizontal"]
    talked = tcp_flow("10.0.0.9", "10.0.3.99", 8080, 200.0, payload=(10, 0), flags=(0x1E, 0x12), pkts=(3, 1))
    talked.extra["conn_state"] = "RSTO"
    assert feed([ScanDetector()], flows=[talked]) == []


def test_a_udp_flood_at_random_ports_is_no_port_scan() -> None:
    """Mirai's attack_udp_generic: random source and destination ports a datagram, 512 payload bytes each."""
    rng = random.Random(2)
    flood = [Flow(0, 17, "10.0.0.9", rng.randint(1024, 65535), "203.0.113.7", rng.randint(1, 65535), i * 0.01,
                  i * 0.01, pkts_ab=1, bytes_ab=540, payload_ab=512) for i in range(500)]
    assert feed([ScanDetector()], flows=flood) == []
    probes = [Flow(0, 17, "10.0.0.9", 50000, "203.0.113.7", port, port * 0.01, port * 0.01, pkts_ab=1, bytes_ab=68,
                   payload_ab=40) for port in range(1000, 1020)]
    assert [a.id for a in feed([ScanDetector()], flows=probes)] == ["detect.scan.vertical"]


def test_a_slow_scans_evidence_is_its_own_ports_probes() -> None:
    """A source that failed connects to another port first: the slow Telnet scan's alert carries its Telnet probes,
    not the source's first flows (brief S a, issue #4)."""
    other = [_s0("10.0.0.9", f"198.51.100.{200 + i}", 9999, i * 1.0, sport=39000 + i) for i in range(4)]
    slow = [_s0("10.0.0.9", f"198.51.100.{i + 1}", 23, 10.0 + i * 30.0, sport=40000 + i) for i in range(40)]
    (alert,) = feed([ScanDetector()], flows=other + slow)
    assert (alert.id, alert.key) == ("detect.scan.telnet_mirai", "23/2323/slow")
    assert alert.flows and {f["b_port"] for f in alert.flows} == {23}
