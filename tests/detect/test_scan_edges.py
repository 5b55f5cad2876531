"""Edges of the scan detector's probe rules (review of 4706b58, 2666972, 7c00ed8): a UDP probe's size is a datagram's,
not its flow's; a UDP poller keeping one socket still polls in cycles; a slow scan's port table is kept while probed."""

from __future__ import annotations

from iotwarden.detect.scan import ScanDetector
from iotwarden.model import Flow
from tests.detect.runner import feed, tcp_flow


def _udp(dst: str, port: int, ts: float, *, sport: int, datagrams: int = 1, payload: int = 54) -> Flow:
    """An unanswered UDP flow of ``datagrams`` datagrams of ``payload`` bytes each."""
    return Flow(0, 17, "10.40.0.7", sport, dst, port, ts, ts + datagrams - 1, pkts_ab=datagrams,
                bytes_ab=datagrams * (payload + 28), payload_ab=datagrams * payload, extra={"conn_state": "S0"})


def _s0(dst: str, port: int, ts: float, sport: int) -> Flow:
    f = tcp_flow("10.0.0.9", dst, port, ts, sport=sport, flags=(0x02, 0), pkts=(3, 0))
    f.extra["conn_state"] = "S0"
    return f


def test_udp_probes_sent_twice_in_one_flow_are_probes_and_a_flood_s_are_not() -> None:
    """max_udp_probe bounds what one datagram carries (docs/detection.md): a scanner that sends each 150-byte probe
    twice from one source port (one flow of 300 bytes) probes 20 ports; 512-byte datagrams, one or many a flow, are a
    flood's."""
    twice = [_udp("203.0.113.7", port, port * 0.01, sport=50000, datagrams=2, payload=150)
             for port in range(1000, 1020)]
    assert [(a.id, a.key) for a in feed([ScanDetector()], flows=twice)] == [("detect.scan.vertical", "203.0.113.7")]
    for datagrams in (1, 3):
        flood = [_udp("203.0.113.7", port, port * 0.01, sport=50000, datagrams=datagrams, payload=512)
                 for port in range(1000, 1020)]
        assert feed([ScanDetector()], flows=flood) == []


def _poll(sport: int | None, options: dict[str, object] | None = None) -> list[tuple[str, str, int]]:
    """An SNMP poller asking 12 switched-off devices every 5 minutes for 75 minutes, from one source port (``sport``)
    or the next ephemeral one each request (None)."""
    flows, t, n = [], 0.0, 0
    while t < 4500.0:
        for i in range(12):
            flows.append(_udp(f"10.40.4.{10 + i}", 161, t + i * 0.005, sport=sport or 32768 + n))
            n += 1
        t += 300.0
    return [(a.id, str(a.key), a.count) for a in feed([ScanDetector(options)], flows=flows)]


def test_a_udp_poller_keeping_one_socket_is_watched_as_one_using_a_port_a_request() -> None:
    """A UDP request from the source port of the one before is no retransmission: those share its flow (Zeek's and
    the engine's UDP flows end after 60 s idle), so a poller keeping one socket polls in cycles as any other; before,
    each of the 15 cycles was a sweep. Unheld (max_held_hosts 1) the first two cycles raise, as from a new port each
    request; held (detect/scan_hold), they are dropped at the third."""
    unheld: dict[str, object] = {"max_held_hosts": 1}
    assert _poll(None, unheld) == [("detect.scan.horizontal", "161", 2)]
    assert _poll(50161, unheld) == _poll(None, unheld)
    assert _poll(50161) == _poll(None) == []


def test_a_slow_scan_s_port_stays_while_probed_among_many_ports_probed_once() -> None:
    """The slow table drops its least recently probed port (as every table of the detector): a slow Telnet scan,
    one host every 30 s, beside failed connects to three new ports of one host in between, is still counted with
    room for 32 ports (before, its port went first, being the oldest inserted, and the scan was never raised)."""
    flows = []
    for i in range(40):
        flows.append(_s0(f"198.51.100.{i + 1}", 23, i * 30.0, 40000 + i))
        flows += [_s0("198.51.101.1", 10000 + 3 * i + j, i * 30.0 + 5 + 5 * j, 45000 + 3 * i + j) for j in range(3)]
    det = ScanDetector({"max_targets": 32})
    assert [(a.id, a.key) for a in feed([det], flows=flows)] == [("detect.scan.telnet_mirai", "23/2323/slow")]
    st = det._src["10.0.0.9"]
    assert len(st.slow) == 32 and set(st.slow_flows) == set(st.slow)


def _port_scans(hosts: int, spacing: float, options: dict[str, object] | None = None) -> tuple[int, int]:
    """One source port-scanning ``hosts`` hosts (15 refused ports each) one after the other, ``spacing`` s apart:
    (vertical scans raised, entries the source's alerted table holds after)."""
    det = ScanDetector(options)
    flows = [tcp_flow("10.0.0.9", f"10.{1 + h // 65536}.{h // 256 % 256}.{h % 256}", 1000 + p, h * spacing + p * 0.01,
                      sport=40000 + p) for h in range(hosts) for p in range(15)]
    alerts = feed([det], flows=flows)
    raised = sum(a.count for a in alerts if a.id == "detect.scan.vertical")
    return raised, len(det._src["10.0.0.9"].alerted)


def test_what_a_source_raised_is_remembered_within_bounds() -> None:
    """_Probes.alerted had no bound (review R2): a vulnerability scanner port-scanning every host kept one entry per
    host for as long as it was tracked. An entry raised longer ago than both windows holds back no detection, so it
    goes; past max_targets the oldest goes too. Every host's scan is still raised once."""
    # 300 port scans and the 15 ports' sweeps (ten hosts a port within window_s), all within slow_window_s (3600 s)
    # and under max_targets (1024): all kept
    assert _port_scans(300, 1.0) == (300, 315)
    assert _port_scans(300, 1.0, {"max_targets": 64}) == (300, 64)  # HEAD before: 315
    # 200 s apart: only the scans raised within the last hour (hosts 21-39) are kept; HEAD before: 40
    assert _port_scans(40, 200.0) == (40, 19)
