"""Monitoring systems and load balancers are no scanners (issue #4 precision): the same targets and ports probed again
and again at a fixed interval (tests/detect/monitoring.py), through the whole detect pipeline, from a conn.log and
from packets. A scan touches each target once or a few times; monitoring touches the same set every cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.detect.scan import ScanDetector
from iotwarden.model import Flow
from tests.detect import monitoring
from tests.detect.runner import detect, feed, tcp_flow

FORMS = ("conn", "pcap")


def _run(tmp_path: Path, kind: str, form: str) -> list[tuple[str, str, int, float]]:
    checks = monitoring.HOST_KINDS[kind]()
    path = (monitoring.conn_log(tmp_path / "conn.log", checks) if form == "conn"
            else monitoring.pcap(tmp_path / "checks.pcap", checks))
    return [(a.id, str(a.key), a.count, a.last_seen - monitoring.T0) for a in detect([path]).alerts
            if a.id.startswith("detect.scan.")]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", ["haproxy", "zabbix"])
def test_health_checks_and_agent_polls_raise_no_scan(tmp_path: Path, kind: str, form: str) -> None:
    """HAProxy's TCP checks (connect, then RST) of 12 backends every 5 s and 40 every 30 s: 150 scan detections
    before (fast and, past the hour, slow); Zabbix's answered polls none."""
    assert _run(tmp_path, kind, form) == []


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", ["nagios", "snmp_poller"])
def test_hosts_down_polled_every_cycle_raise_no_scan(tmp_path: Path, kind: str, form: str) -> None:
    """12 hosts down, pinged every minute (75 detections before the cadence rule from Zeek's records, 2 with it) or
    asked by SNMP every five minutes (15, then 2): the first two cycles look like a sweep of 12 hosts, held (under
    max_held_hosts) until the third shows the targets watched, then dropped. From packets a dead host's echo requests
    are one flow while the engine's idle timeout is longer than the minute between them (31 requests in 30 min): a
    monitor's cycles by themselves."""
    assert _run(tmp_path, kind, form) == []


def _rst_check(dst: str, port: int, ts: float, sport: int) -> Flow:
    f = tcp_flow("10.0.0.8", dst, port, ts, sport=sport, flags=(0x16, 0x12), pkts=(3, 1))
    f.extra.update(conn_state="RSTO", history="ShAR")
    return f


def _s0(dst: str, port: int, ts: float, sport: int) -> Flow:
    f = tcp_flow("10.0.0.8", dst, port, ts, sport=sport, flags=(0x02, 0), pkts=(3, 0))
    f.extra["conn_state"] = "S0"
    return f


def test_a_connect_then_reset_repeated_is_a_health_check_and_a_syn_scanners_reset_a_probe() -> None:
    """Zeek RSTO with history ShAR (the checker completed the handshake) to 29 backends every 5 s raises nothing (the
    first round, a connect scan's look, is held until the third shows the cadence: tests/detect/test_scan_connect.py);
    ShR (the SYN scanner's kernel resetting the SYN-ACK, two packets) is a probe; from packets the same by the
    initiator's packets."""
    checks = [_rst_check(f"10.0.3.{i}", 9000, 100.0 + c * 5.0 + i * 0.01, 40000 + c * 30 + i) for c in range(3)
              for i in range(1, 30)]
    assert feed([ScanDetector()], flows=checks) == []
    probes = []
    for i in range(1, 13):
        f = tcp_flow("10.0.0.8", f"10.0.3.{i}", 9000, 100.0 + i, flags=(0x06, 0x12), pkts=(2, 1))
        f.extra.update(conn_state="RSTO", history="ShR")
        probes.append(f)
    assert [a.id for a in feed([ScanDetector()], flows=probes)] == ["detect.scan.horizontal"]
    from_packets = [tcp_flow("10.0.0.8", f"10.0.3.{i}", 9000, 100.0 + c * 5.0 + i * 0.01, sport=40000 + c * 30 + i,
                             flags=(0x16, 0x12), pkts=(3, 1)) for c in range(3) for i in range(1, 30)]
    assert feed([ScanDetector()], flows=from_packets) == []


def test_unanswered_checks_at_a_steady_cadence_raise_nothing_under_max_held_hosts() -> None:
    """30 dead backends checked every 20 s for an hour: the first cycles' scan is held, then dropped; the later
    cycles count towards no scan (neither fast nor slow). 40 dead backends (max_held_hosts 32 or more): the first
    cycle's scan is raised at once, as a large sweep's, and nothing after it."""
    def checks(n: int) -> list[Flow]:
        return [_s0(f"10.0.4.{i}", 7000, c * 20.0 + i * 0.01, 40000 + (c * n + i) % 20000)
                for c in range(180) for i in range(1, n + 1)]

    assert feed([ScanDetector()], flows=checks(30)) == []
    [alert] = feed([ScanDetector()], flows=checks(40))
    assert (alert.key, alert.count) == ("7000", 1)


def test_retransmissions_and_an_uneven_rescan_are_no_cadence() -> None:
    """A connect's SYNs retransmitted (Zeek's later S0 records keep the source port) do not make a target watched,
    nor do probes at uneven gaps: a scanner sweeping the same 12 hosts at 0, 65, 200 and 700 s is raised each sweep."""
    det = ScanDetector()
    retransmitted = [_s0(f"10.0.5.{i}", 7001, t + i * 0.01, 41000 + i) for t in (0.0, 7.0, 15.0, 31.0)
                     for i in range(1, 13)]
    assert [a.key for a in feed([det], flows=retransmitted)] == ["7001"]
    sweeps = [_s0(f"10.0.6.{i}", 7002, t + i * 0.01, 42000 + int(t) * 20 + i) for t in (0.0, 65.0, 200.0, 700.0)
              for i in range(1, 13)]
    [alert] = feed([ScanDetector()], flows=sweeps)
    assert alert.count == 4


def test_a_watched_monitor_scanning_new_targets_is_a_scanner() -> None:
    """A load balancer whose checks are watched, then sweeping Telnet of hosts it never checked."""
    checks = [_s0(f"10.0.4.{i}", 7000, c * 10.0 + i * 0.01, 40000 + (c * 12 + i) % 20000)
              for c in range(30) for i in range(1, 13)]
    sweep = [_s0(f"10.0.9.{i}", 23, 400.0 + i * 0.1, 50000 + i) for i in range(1, 20)]
    ids = {(a.id, a.key) for a in feed([ScanDetector()], flows=checks + sweep)}
    assert ("detect.scan.telnet_mirai", "23/2323") in ids


def test_watched_targets_are_bounded() -> None:
    """A target is entered at its first repeat (a ping at its first probe); at most ``max_targets`` a source."""
    det = ScanDetector({"max_targets": 16})
    pings = [Flow(0, 1, "10.0.0.8", 8, f"10.0.7.{i % 200 + 1}", 0, i * 1.0, i * 1.0, pkts_ab=1, bytes_ab=84,
                  extra={"icmp_type": 8}) for i in range(400)]
    probes = [_s0(f"10.0.8.{i % 12 + 1}", 7003, i * 5.0, 40000 + i) for i in range(48)]
    feed([det], flows=pings + probes)
    assert len(det._src["10.0.0.8"].cycles) == 16
