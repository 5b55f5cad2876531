"""The flow table: bidirectional keys, per-direction counters, timeouts, TCP close, eviction.

Expected values are computed independently here (by hand or with dpkt), never by the engine.
"""

from __future__ import annotations

import socket
from collections import defaultdict
from pathlib import Path
from typing import Any

import dpkt
import pytest

from iotwarden.engine.core import Engine, EngineConfig
from iotwarden.engine.flowtable import FlowTable
from iotwarden.engine.segments import SegmentRules
from iotwarden.model import Flow
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.sources.capbuild import ACK, FIN, PSH, RST, SYN, batch_of, ethernet, tcp, udp

C, S = "10.0.0.5", "10.0.0.80"


def _run(frames: list[tuple[float, bytes]], config: EngineConfig | None = None, batch: int = 65536) -> list[Flow]:
    engine = Engine([], config)
    flows: list[Flow] = []
    for lo in range(0, len(frames), batch):
        flows += engine.process(batch_of(frames[lo : lo + batch])).flows
    flows += engine.flush().flows
    return flows


def _summary(flows: list[Flow]) -> list[tuple[Any, ...]]:
    return sorted((f.key, f.first_seen, f.last_seen, f.pkts_ab, f.pkts_ba, f.bytes_ab, f.bytes_ba, f.payload_ab,
                   f.payload_ba, f.tcp_flags_ab, f.tcp_flags_ba, f.end_reason) for f in flows)


def _handshake(t: float, sport: int = 40000, data: bytes = b"hi") -> list[tuple[float, bytes]]:
    return [
        (t, ethernet(tcp(C, S, sport, 80, SYN, 100), src=1, dst=2)),
        (t + 0.1, ethernet(tcp(S, C, 80, sport, SYN | ACK, 500), src=2, dst=1)),
        (t + 0.2, ethernet(tcp(C, S, sport, 80, PSH | ACK, 101, data), src=1, dst=2)),
    ]


def test_initiator_is_the_sender_of_the_first_packet_and_counters_are_per_direction() -> None:
    frames = _handshake(10.0)
    [flow] = _run(frames)
    assert (flow.a_ip, flow.a_port, flow.b_ip, flow.b_port, flow.ip_proto) == (C, 40000, S, 80, 6)
    assert (flow.pkts_ab, flow.pkts_ba) == (2, 1)
    assert (flow.bytes_ab, flow.bytes_ba) == (len(frames[0][1]) + len(frames[2][1]), len(frames[1][1]))
    assert (flow.payload_ab, flow.payload_ba) == (2, 0)
    assert (flow.tcp_flags_ab, flow.tcp_flags_ba) == (SYN | PSH | ACK, SYN | ACK)
    assert (flow.first_seen, flow.last_seen, flow.end_reason) == (10.0, 10.2, "end")
    assert (flow.a_mac, flow.b_mac) == ("02:00:00:00:00:01", "02:00:00:00:00:02")


def test_a_capture_joined_after_the_syn_still_makes_the_client_the_initiator() -> None:
    # was: the responder seen first became the initiator; its SYN+ACK proves it is the responder
    # (engine/orient.py), so a/b, their counters and MACs stay the client's and the server's
    [flow] = _run(_handshake(1.0)[1:])
    assert (flow.a_ip, flow.a_port, flow.b_ip, flow.b_port) == (C, 40000, S, 80)
    assert (flow.pkts_ab, flow.pkts_ba, flow.payload_ab, flow.tcp_flags_ba) == (1, 1, 2, SYN | ACK)
    assert (flow.a_mac, flow.b_mac, flow.extra["flipped"]) == ("02:00:00:00:00:01", "02:00:00:00:00:02", "syn-ack")


def test_vlan_is_part_of_the_key() -> None:
    pkt = udp(C, S, 5000, 53, b"q")
    flows = _run([(1.0, ethernet(pkt, vlans=(10,))), (2.0, ethernet(pkt, vlans=(20,))), (3.0, ethernet(pkt))])
    assert sorted(f.vlan for f in flows) == [0, 10, 20]


def test_icmp_flows_have_no_ports() -> None:
    echo = bytes(dpkt.ip.IP(src=b"\1\1\1\1", dst=b"\2\2\2\2", p=1, data=dpkt.icmp.ICMP(type=8, data=b"ping")))
    reply = bytes(dpkt.ip.IP(src=b"\2\2\2\2", dst=b"\1\1\1\1", p=1, data=dpkt.icmp.ICMP(type=0, data=b"ping")))
    [flow] = _run([(1.0, ethernet(echo)), (1.5, ethernet(reply))])
    assert (flow.ip_proto, flow.a_port, flow.b_port, flow.pkts_ab, flow.pkts_ba) == (1, 0, 0, 1, 1)


def test_non_ip_frames_make_no_flows() -> None:
    arp = bytes(dpkt.arp.ARP(sha=b"\2" * 6, spa=b"\1\1\1\1", tha=b"\0" * 6, tpa=b"\1\1\1\2"))
    assert _run([(1.0, ethernet(arp, ethertype=0x0806))]) == []


def test_idle_gap_splits_a_flow() -> None:
    cfg = EngineConfig(udp_idle_timeout=30.0)
    q = ethernet(udp(C, S, 5000, 53, b"q"))
    flows = _run([(0.0, q), (29.0, q), (70.0, q)], cfg)
    assert _summary(flows)[0][1:5] == (0.0, 29.0, 2, 0)
    assert sorted((f.first_seen, f.packets, f.end_reason) for f in flows) == [(0.0, 2, "idle"), (70.0, 1, "end")]


def test_active_timeout_cuts_a_long_flow_at_its_next_packet() -> None:
    cfg = EngineConfig(active_timeout=100.0, udp_idle_timeout=60.0)
    q = ethernet(udp(C, S, 5000, 53, b"q"))
    frames = [(float(t), q) for t in range(0, 250, 50)]  # 0, 50, ..., 200
    flows = _run(frames, cfg)
    assert sorted((f.first_seen, f.last_seen, f.end_reason) for f in flows) == [
        (0.0, 100.0, "active"), (150.0, 200.0, "end")]


def test_idle_flows_expire_as_capture_time_advances() -> None:
    cfg = EngineConfig(udp_idle_timeout=10.0)
    engine = Engine([], cfg)
    assert engine.process(batch_of([(0.0, ethernet(udp(C, S, 1, 2, b"a")))])).flows == []
    assert engine.open_flows() == 1
    later = engine.process(batch_of([(11.0, ethernet(udp(C, "10.0.0.99", 1, 2, b"b")))]))
    assert [(f.b_ip, f.end_reason) for f in later.flows] == [(S, "idle")]
    assert engine.open_flows() == 1


def test_fin_both_ways_closes_and_the_last_ack_stays_in_the_flow() -> None:
    frames = [*_handshake(0.0), (1.0, ethernet(tcp(C, S, 40000, 80, FIN | ACK, 103))),
              (1.1, ethernet(tcp(S, C, 80, 40000, FIN | ACK, 501))), (1.2, ethernet(tcp(C, S, 40000, 80, ACK, 104)))]
    engine = Engine([])
    out = engine.process(batch_of(frames))
    assert out.flows == []  # closed, but closing ACKs may still come for tcp_close_delay
    flows = engine.process(batch_of([(20.0, ethernet(udp(C, S, 9, 9)))])).flows
    [flow] = [f for f in flows if f.ip_proto == 6]
    assert (flow.packets, flow.end_reason) == (6, "fin")


def test_rst_closes_and_a_new_syn_on_the_same_ports_opens_a_new_flow() -> None:
    frames = [*_handshake(0.0), (0.5, ethernet(tcp(S, C, 80, 40000, RST, 501))), *_handshake(1.0)]
    flows = _run(frames)
    assert sorted((f.first_seen, f.packets, f.end_reason) for f in flows) == [(0.0, 4, "rst"), (1.0, 3, "end")]


def test_timeouts_and_closes_do_not_depend_on_batch_boundaries() -> None:
    cfg = EngineConfig(idle_timeout=3.0, udp_idle_timeout=2.0, active_timeout=8.0, tcp_close_delay=0.5)
    frames: list[tuple[float, bytes]] = []
    t = 0.0
    for i in range(40):  # reused ports, closes, restarts, gaps around every timeout
        sport = 40000 + i % 3
        frames += _handshake(t, sport)
        if i % 4 == 0:
            frames.append((t + 0.3, ethernet(tcp(S, C, 80, sport, RST, 501))))
        if i % 4 == 1:
            frames += [(t + 0.3, ethernet(tcp(C, S, sport, 80, FIN | ACK, 103))),
                       (t + 0.35, ethernet(tcp(S, C, 80, sport, FIN | ACK, 501))),
                       (t + 0.4, ethernet(tcp(C, S, sport, 80, ACK, 104))),
                       (t + 1.2, ethernet(tcp(C, S, sport, 80, ACK, 104)))]
        frames.append((t + 0.25, ethernet(udp(C, S, 5353, 5353, b"m"))))
        t += [0.5, 1.0, 2.5, 3.5, 0.2][i % 5]
    frames.sort(key=lambda f: f[0])
    whole = _summary(_run(frames, cfg))
    assert len(whole) > 40
    for size in (1, 7):
        assert _summary(_run(frames, cfg, batch=size)) == whole


def test_full_table_evicts_the_least_recently_seen() -> None:
    engine = Engine([], EngineConfig(max_flows=3))
    frames = [(float(i), ethernet(udp(C, S, 1000 + i, 53, b"q"))) for i in range(5)]
    out = engine.process(batch_of(frames))
    assert sorted(f.a_port for f in out.flows) == [1000, 1001]
    assert {f.end_reason for f in out.flows} == {"evicted"}
    assert engine.open_flows() == 3
    assert engine.stats.decode_errors["flow_table_full"] == 2


def test_table_slots_are_reused_after_flows_close() -> None:
    table = FlowTable(SegmentRules(1.0, 1.0, 100.0, 1.0), max_flows=10)
    engine = Engine([], EngineConfig(idle_timeout=1.0, udp_idle_timeout=1.0))
    engine._table = table
    for i in range(1100):
        engine.process(batch_of([(float(i) * 2, ethernet(udp(C, S, 1000 + i, 53, b"q")))]))
    assert table.cap == 1024
    assert engine.open_flows() == 1


def _dpkt_conversations(path: Path) -> dict[tuple[Any, ...], list[int]]:
    """Per (proto, ordered endpoints): packets and bytes each way, the initiator first (dpkt).

    The initiator is the first packet's sender, unless that packet has no SYN and goes from a well-known
    port (< 1024; the engine runs without dissectors, so no port is declared) to a higher one to a unicast
    address: then it is the answer of a server whose request was not captured (engine/orient.py).
    """
    conv: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    first: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    with path.open("rb") as fh:
        for _, buf in dpkt.pcap.Reader(fh):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP):
                continue
            ports = (ip.data.sport, ip.data.dport) if isinstance(ip.data, dpkt.tcp.TCP | dpkt.udp.UDP) else (0, 0)
            src, dst = (ip.src, ports[0]), (ip.dst, ports[1])
            key = (ip.p, *sorted([src, dst]))
            syn = isinstance(ip.data, dpkt.tcp.TCP) and bool(ip.data.flags & dpkt.tcp.TH_SYN)
            answer = not syn and ports[0] < 1024 <= ports[1] and ip.p in (6, 17) and ip.dst[0] < 224
            a = first.setdefault(key, (dst, src) if answer else (src, dst))
            row = conv[(ip.p, *a[0], *a[1])]
            i = 0 if src == a[0] else 1
            row[i] += 1
            row[2 + i] += len(buf)
    return conv


@pytest.mark.parametrize("name", ["dhcp-rfc4388.pcap", "edns-opts.pcap", "telnet-iac-check-oobr.pcap", "ntp.pcap"])
def test_real_captures_match_an_independent_dpkt_count(name: str) -> None:
    path = shared("pcaps", "tcpdump_tests", name)
    big = EngineConfig(idle_timeout=1e9, udp_idle_timeout=1e9, active_timeout=1e9, tcp_close_delay=1e9)
    engine = Engine([], big)
    flows: list[Flow] = []
    for b in read_capture(path):
        flows += engine.process(b).flows
    flows += engine.flush().flows
    mine = {(f.ip_proto, socket.inet_aton(f.a_ip), f.a_port, socket.inet_aton(f.b_ip), f.b_port):
            [f.pkts_ab, f.pkts_ba, f.bytes_ab, f.bytes_ba] for f in flows}
    assert mine == dict(_dpkt_conversations(path))


# tshark -n -q -z conv,tcp on the same files: (frames, bytes) from a to b, then from b to a
TSHARK_CONV = [
    (("ics_iti", "pcaps", "dnp3", "opendnp3-3", "conformance", "8.22.2.9", "dump.pcap"),  # LINKTYPE_NULL
     ("127.0.0.1", 1735, "127.0.0.1", 20000), (11, 565, 10, 539)),
    (("ics_iti", "pcaps", "hart", "hart_ip.pcap"),  # pcapng
     ("192.168.0.101", 49559, "192.168.0.10", 5094), (27, 1652, 14, 1156)),
]


@pytest.mark.parametrize(("parts", "ends", "expected"), TSHARK_CONV)
def test_tcp_conversations_match_tshark(parts: tuple[str, ...], ends: tuple[object, ...],
                                        expected: tuple[int, int, int, int]) -> None:
    engine = Engine([])
    flows: list[Flow] = []
    for b in read_capture(shared("pcaps", *parts)):
        flows += engine.process(b).flows
    flows += engine.flush().flows
    [flow] = [f for f in flows if (f.a_ip, f.a_port, f.b_ip, f.b_port) == ends]
    assert (flow.pkts_ab, flow.bytes_ab, flow.pkts_ba, flow.bytes_ba) == expected
