"""Ping sweeps: unanswered ICMP requests to many hosts are a horizontal scan (key ``icmp``), from Zeek's
conn.log ICMP records and from packets; answered pings, ICMP errors and group destinations are not."""

from __future__ import annotations

from pathlib import Path

import dpkt
import pytest

from iotwarden.detect.scan import ScanDetector
from iotwarden.model import Flow
from tests.detect.runner import detect, feed
from tests.services.builders import ZEEK_CONN_HEADER
from tests.sources.capbuild import ipv4, mac

SCANNER = "10.0.5.66"


def icmp_flow(dst: str, ts: float, icmp_type: int = 8, *, answered: bool = False, proto: int = 1,
              src: str = SCANNER) -> Flow:
    """A conn.log ICMP record as sources/zeek_map.py makes it: no ports, the first type in extra."""
    flow = Flow(vlan=0, ip_proto=proto, a_ip=src, a_port=0, b_ip=dst, b_port=0, first_seen=ts, last_seen=ts,
                pkts_ab=1, pkts_ba=1 if answered else 0, bytes_ab=84, bytes_ba=84 if answered else 0)
    flow.extra["icmp_type"] = icmp_type
    return flow


def test_unanswered_echo_requests_to_many_hosts_are_a_ping_sweep() -> None:
    alerts = feed([ScanDetector()], flows=[icmp_flow(f"10.0.9.{i}", 100.0 + i * 0.2) for i in range(1, 31)])
    assert [(a.id, a.key, a.src_ip) for a in alerts] == [("detect.scan.horizontal", "icmp", SCANNER)]
    assert alerts[0].title == f"Ping sweep of 10 hosts from {SCANNER}"
    assert alerts[0].mitre == ["T1018", "T1046"]


@pytest.mark.parametrize(("proto", "icmp_type"), [(1, 13), (1, 17), (58, 128)])
def test_timestamp_address_mask_and_icmpv6_echo_sweeps(proto: int, icmp_type: int) -> None:
    hosts = [f"2001:db8::{i:x}" if proto == 58 else f"10.0.9.{i}" for i in range(1, 13)]
    flows = [icmp_flow(h, 100.0 + i, icmp_type, proto=proto) for i, h in enumerate(hosts)]
    assert [a.key for a in feed([ScanDetector()], flows=flows)] == ["icmp"]


@pytest.mark.parametrize("name", ["answered", "errors", "beyond the window", "too few", "to groups"])
def test_what_is_no_ping_sweep(name: str) -> None:
    flows = {
        "answered": [icmp_flow(f"10.0.9.{i}", 100.0 + i, answered=True) for i in range(1, 40)],  # a monitor
        "errors": [icmp_flow(f"10.0.9.{i}", 100.0 + i, 3) for i in range(1, 40)],  # port unreachables sent back
        "beyond the window": [icmp_flow(f"10.0.9.{i}", 100.0 + i * 90) for i in range(1, 40)],
        "too few": [icmp_flow(f"10.0.9.{i}", 100.0 + i) for i in range(1, 10)],
        "to groups": [icmp_flow(f"224.0.0.{i}", 100.0 + i) for i in range(1, 40)],
    }[name]
    assert feed([ScanDetector()], flows=flows) == []


def test_a_ping_sweep_in_a_zeek_conn_log(tmp_path: Path) -> None:
    lines = [f"{1_700_000_000 + i * 0.3:.6f}\tC{i:017d}\t{SCANNER}\t8\t10.0.9.{i}\t0\ticmp\t-\t-\t-\t-\tOTH\tT\tT\t0"
             f"\t-\t1\t28\t0\t0\t(empty)\t-\t-\n" for i in range(1, 21)]
    log = tmp_path / "conn.log"
    log.write_text(ZEEK_CONN_HEADER + "".join(lines))
    alerts = [a for a in detect([log]).alerts if a.id == "detect.scan.horizontal"]
    assert [(a.key, a.src_ip) for a in alerts] == [("icmp", SCANNER)]


def ping(src: str, dst: str, icmp_type: int, seq: int) -> bytes:
    echo = dpkt.icmp.ICMP.Echo(id=7, seq=seq, data=b"x" * 32)
    msg = dpkt.icmp.ICMP(type=icmp_type, code=0, data=echo)
    ip = dpkt.ip.IP(src=ipv4(src), dst=ipv4(dst), p=1, ttl=64, data=msg)
    eth = dpkt.ethernet.Ethernet(src=mac(5), dst=mac(1), type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    return bytes(eth)


def test_a_ping_sweep_in_a_capture_with_some_hosts_alive(tmp_path: Path) -> None:
    path = tmp_path / "sweep.pcap"
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh)
        t = 1_700_000_000.0
        for i in range(1, 41):
            writer.writepkt(ping(SCANNER, f"10.0.9.{i}", 8, i), ts=t + i * 0.1)
            if i % 4 == 0:  # every fourth host is alive and answers
                writer.writepkt(ping(f"10.0.9.{i}", SCANNER, 0, i), ts=t + i * 0.1 + 0.001)
    alerts = [a for a in detect([path]).alerts if a.id == "detect.scan.horizontal"]
    assert [(a.key, a.src_ip) for a in alerts] == [("icmp", SCANNER)]
    assert alerts[0].evidence["hosts"] >= 10


@pytest.mark.parametrize(("count", "gap"), [(3, 1.0), (5, 1.0), (4, 4.5)])
def test_a_sweep_of_ping_commands_is_a_ping_sweep(count: int, gap: float) -> None:
    """``ping -c 3 <host> &`` over a /24 (iputils and BusyBox send one request a second), Windows' ``ping <host>`` (four
    requests, each after its 4 s timeout): every dead host's requests are one flow, a command's burst, not a monitor's
    cycles (a monitor keeping one flow pings every minute or so: tests/detect/monitoring.py's 31 requests in 30 min).
    Before, any flow of min_cycles requests min_cycle_s apart was watched by itself, and such a sweep raised nothing."""
    flows = []
    for i in range(1, 41):
        flow = icmp_flow(f"10.0.9.{i}", 100.0 + i * 0.05)
        flow.pkts_ab, flow.bytes_ab, flow.last_seen = count, 84 * count, flow.first_seen + (count - 1) * gap
        flows.append(flow)
    assert [(a.key, a.evidence["hosts"]) for a in feed([ScanDetector()], flows=flows)] == [("icmp", 10)]
