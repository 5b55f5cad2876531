"""What a scan alert shows a SOC analyst: the probes of the scan itself (its port's, its Telnet probes, its host's,
its pings, its ARP requests), never the source's first flows, which may be to another port or host long before
(brief G b, issue #4; a slow scan's: tests/detect/test_scan_slow.py)."""

from __future__ import annotations

from typing import Any

from iotwarden.detect.scan import ScanDetector
from iotwarden.detect.scan_state import EVIDENCE_FLOWS, RECENT_PROBES
from iotwarden.model import Observation
from iotwarden.model.alert import Alert
from tests.detect.runner import feed, tcp_flow
from tests.detect.test_scan_icmp import icmp_flow

SRC = "10.0.0.9"
# the source's first flows: a camera app's failed connects to its cloud's relay port, before any scan
EARLIER = [tcp_flow(SRC, f"203.0.113.{i}", 9999, 10.0 + i, sport=39000 + i) for i in range(4)]


def _evidence(alert: Alert) -> list[tuple[Any, ...]]:
    return [(f["b_ip"], f["b_port"], f["ip_proto"], f["first_seen"]) for f in alert.flows]


def _is_the_scans(alert: Alert, own: set[tuple[Any, ...]]) -> None:
    """EVIDENCE_FLOWS probes of the scan, in time order, the one that raised the alert last."""
    shown = _evidence(alert)
    assert len(shown) == EVIDENCE_FLOWS and set(shown) <= own, shown
    assert [t for *_, t in shown] == sorted(t for *_, t in shown) and shown[-1][3] == alert.first_seen


def test_a_fast_horizontal_scans_evidence_is_its_ports_probes() -> None:
    sweep = [tcp_flow(SRC, f"10.0.1.{i}", 445, 100.0 + i * 0.5, sport=40000 + i) for i in range(1, 13)]
    (alert,) = feed([ScanDetector()], flows=EARLIER + sweep)
    assert (alert.id, alert.key) == ("detect.scan.horizontal", "445")
    _is_the_scans(alert, {(f.b_ip, 445, 6, f.first_seen) for f in sweep})


def test_a_scan_of_several_exploit_ports_shows_each_alerts_own_port() -> None:
    """Mirai variants probe two to four exploit ports in turn (tests/detect/botnet_variants.exploit_ports)."""
    ports = (5555, 37215, 52869)
    sweep = [tcp_flow(SRC, f"198.51.100.{i}", ports[i % 3], 100.0 + i * 0.2, sport=41000 + i) for i in range(40)]
    alerts = feed([ScanDetector()], flows=EARLIER + sweep)
    assert sorted(a.key for a in alerts) == sorted(str(p) for p in ports)
    for alert in alerts:
        port = int(alert.key)
        _is_the_scans(alert, {(f.b_ip, port, 6, f.first_seen) for f in sweep if f.b_port == port})


def test_a_mirai_scans_evidence_is_its_telnet_probes() -> None:
    """A bot whose C&C is down retries it (refused connects to 6667), then scans 23 and, every tenth, 2323."""
    c2 = [tcp_flow(SRC, "203.0.113.50", 6667, 50.0 + i * 5, sport=42000 + i) for i in range(6)]
    telnet = [tcp_flow(SRC, f"198.51.100.{i}", 2323 if i % 10 == 0 else 23, 100.0 + i * 0.3, sport=43000 + i)
              for i in range(10)]
    (alert,) = feed([ScanDetector()], flows=c2 + telnet)
    assert (alert.id, alert.key) == ("detect.scan.telnet_mirai", "23/2323")
    _is_the_scans(alert, {(f.b_ip, f.b_port, 6, f.first_seen) for f in telnet})


def test_a_port_scans_evidence_is_its_hosts_probes() -> None:
    """A port scan of 10.0.0.1 after a few refused connects to other hosts' web ports."""
    others = [tcp_flow(SRC, f"10.0.0.{i}", 80, 50.0 + i, sport=44000 + i) for i in range(2, 6)]
    scan = [tcp_flow(SRC, "10.0.0.1", port, 100.0 + port * 0.01, sport=45000 + port) for port in range(20, 40)]
    (alert,) = feed([ScanDetector()], flows=others + EARLIER + scan)
    assert (alert.id, alert.key) == ("detect.scan.vertical", "10.0.0.1")
    _is_the_scans(alert, {("10.0.0.1", f.b_port, 6, f.first_seen) for f in scan})


def test_a_ping_sweeps_evidence_is_its_pings() -> None:
    pings = [icmp_flow(f"10.0.9.{i}", 100.0 + i * 0.2, src=SRC) for i in range(1, 11)]
    (alert,) = feed([ScanDetector()], flows=EARLIER + pings)
    assert (alert.id, alert.key) == ("detect.scan.horizontal", "icmp")
    _is_the_scans(alert, {(f.b_ip, 0, 1, f.first_seen) for f in pings})


def test_an_arp_sweeps_evidence_is_its_latest_requests() -> None:
    obs = [Observation(ts=10.0 + i * 0.1, proto="arp", kind="request", src_mac="02:00:00:00:00:09",
                       fields={"sender_ip": SRC, "target_ip": f"10.0.0.{i + 1}", "gratuitous": False,
                               "probe": False}) for i in range(64)]
    (alert,) = feed([ScanDetector()], observations=obs)
    assert [o["fields"]["target_ip"] for o in alert.observations] == [f"10.0.0.{i}" for i in range(61, 65)]


def test_a_sources_recent_probes_are_bounded() -> None:
    det = ScanDetector()
    feed([det], flows=[tcp_flow(SRC, f"10.0.{i // 200}.{i % 200}", 8000 + i % 7, i * 10.0, sport=40000 + i)
                       for i in range(500)])
    assert len(det._src[SRC].recent) == RECENT_PROBES
