"""detect.c2.p2p_udp: a device's one UDP socket exchanging datagrams with many outside peers on ports of no
service (Hide and Seek's own P2P protocol; Hajime's and Mozi's DHT/uTP seen in a bare conn.log)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from iotwarden.detect.p2p import P2P_DHT
from iotwarden.detect.p2p_udp import P2P_UDP, P2pUdpDetector
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Device, Flow
from iotwarden.model.device import Conclusion
from tests.detect.labelled import write_labelled_conn_log
from tests.detect.runner import detect, feed
from tests.risk.harness import T0, host, udp, write_pcap

BOT, MAC, PORT = "192.168.100.103", "b8:27:eb:00:01:03", 43591  # IoT-23 1-1's infected Raspberry Pi


def _exchange(
    peer: str,
    peer_port: int,
    ts: float,
    *,
    port: int = PORT,
    inbound: bool = False,
    answered: bool = True,
    device: str = BOT,
    app: str | None = None,
) -> Flow:
    """One request and its answer between the device's socket and a peer (``inbound``: the peer asked)."""
    ends = (peer, peer_port, device, port) if inbound else (device, port, peer, peer_port)
    return Flow(
        0,
        17,
        ends[0],
        ends[1],
        ends[2],
        ends[3],
        ts,
        ts + 0.1,
        a_mac=None if inbound else MAC,
        b_mac=MAC if inbound else None,
        pkts_ab=1,
        pkts_ba=int(answered),
        bytes_ab=60,
        bytes_ba=120 * answered,
        payload_ab=32,
        payload_ba=92 * answered,
        app=app,
    )


def _peers(
    n: int, *, ports: list[int] | None = None, net: str = "203.0.113", every: float = 20.0, **kw: object
) -> list[Flow]:
    rng = random.Random(n)
    ports = ports or [rng.randint(1024, 65535) for _ in range(n)]
    return [_exchange(f"{net}.{10 + i}", ports[i % len(ports)], T0 + i * every, **kw) for i in range(n)]  # type: ignore[arg-type]


def _placed(ctx: Context, device_type: str, category: str) -> None:
    dev = ctx.devices[f"mac:{MAC}"] = Device(f"mac:{MAC}", 0, 0, mac=MAC, ips={BOT})
    dev.classification["device_type"] = Conclusion(device_type, 0.9)
    dev.classification["category"] = Conclusion(category, 0.9)


def test_one_socket_answered_by_many_outside_peers_on_their_own_ports_is_a_p2p_channel() -> None:
    ctx, detector = Context(), P2pUdpDetector()
    _placed(ctx, "camera", "iot")
    detector.flows(ctx, _peers(12))
    alerts = ctx.alerts
    assert [(a.id, a.src_ip, a.severity, a.key) for a in alerts] == [(P2P_UDP, BOT, "high", f"udp/{PORT}")]
    assert alerts[0].evidence["peers"] == 10 and alerts[0].evidence["peer_ports"] == 10  # raised at the tenth
    assert alerts[0].mitre == ["T1071", "T1095", "T1008"] and alerts[0].dst_ip == "203.0.113.19"


def test_an_unclassified_device_waits_for_its_verdict() -> None:
    """Packets before the classifier's first pass: a laptop's P2P application is not judged as an unplaced host's;
    a device still unplaced after unknown_wait_s (every device of a bare conn.log) is raised high, as at the end."""
    ctx, detector = Context(), P2pUdpDetector()
    detector.flows(ctx, _peers(12))
    assert ctx.alerts == [] and list(detector._waiting) == [(BOT, PORT)]
    _placed(ctx, "laptop", "it")
    detector.on_tick(ctx, T0 + 30)
    assert ctx.alerts == [] and not detector._waiting  # judged: a laptop's
    ctx, detector = Context(), P2pUdpDetector()
    detector.flows(ctx, _peers(12))
    detector.on_tick(ctx, T0 + 300)
    assert ctx.alerts == []  # within unknown_wait_s of meeting the thresholds
    detector.on_tick(ctx, T0 + 9 * 20 + 600)  # the tenth peer answered at T0 + 180
    assert [(a.src_ip, a.severity) for a in ctx.alerts] == [(BOT, "high")] and not detector._waiting
    ctx, detector = Context(), P2pUdpDetector()
    detector.flows(ctx, _peers(12))
    detector.done(ctx)
    assert [(a.src_ip, a.severity) for a in ctx.alerts] == [(BOT, "high")]


def test_peers_reaching_the_devices_open_port_count_as_its_peers() -> None:
    """Hide and Seek opens a random port and lets peers in through the firewall (Bitdefender, 2018)."""
    flows = _peers(6) + [_exchange(f"198.51.100.{i}", 20000 + i, T0 + 200 + i, inbound=True) for i in range(4)]
    assert [(a.src_ip, a.key) for a in feed([P2pUdpDetector()], flows=sorted(flows, key=lambda f: f.first_seen))] == [
        (BOT, f"udp/{PORT}")
    ]


def test_ports_below_1024_and_shared_ports_are_peers_too() -> None:
    """A Hide and Seek sample's hard-coded peers: ports 487, 744 (four peers), 880, 1428... (Netlab 360)."""
    assert len(feed([P2pUdpDetector()], flows=_peers(12, ports=[744, 744, 880, 487, 1428, 5344, 7986, 8597]))) == 1


@pytest.mark.parametrize(
    "flows",
    [
        _peers(9),  # too few peers
        _peers(20, answered=False),  # nobody answers: a scan or dead list, not an exchange
        _peers(20, net="192.168.100"),  # peers on the LAN
        _peers(20, ports=[123]),  # an NTP pool
        _peers(20, ports=[3478, 19302]),  # STUN servers
        _peers(20, ports=[443]),  # QUIC
        _peers(20, ports=[32100, 32100, 32108]),  # a P2P camera's relays: one service's servers on two ports
        _peers(20, app="pppp"),  # a protocol recognised: its own detector's
        _peers(20, every=110.0),  # spread over more than the window
        _peers(20, port=53),  # an internal resolver answering outside clients on its service port
    ],
    ids=["few", "unanswered", "lan", "ntp-pool", "stun", "quic", "camera-relays", "recognised", "slow", "service"],
)
def test_look_alikes_raise_nothing(flows: list[Flow]) -> None:
    assert feed([P2pUdpDetector()], flows=flows) == []


def test_a_socket_per_peer_is_no_peer_to_peer_socket() -> None:
    """WebRTC, RTP and an application's one-off queries open a socket each: no socket has many peers."""
    flows = [_exchange(f"203.0.113.{10 + i}", 30000 + i, T0 + i, port=50000 + i) for i in range(30)]
    assert feed([P2pUdpDetector()], flows=flows) == []


@pytest.mark.parametrize(
    ("device_type", "category", "raised"),
    [
        ("laptop", "it", []),
        ("game_console", "iot", []),
        ("server", "it", []),
        ("camera", "iot", ["high"]),
        ("router", "network", ["medium"]),
        ("plc", "ot", ["high"]),
    ],
)
def test_severity_follows_the_device(device_type: str, category: str, raised: list[str]) -> None:
    ctx = Context()
    _placed(ctx, device_type, category)
    detector = P2pUdpDetector()
    detector.flows(ctx, _peers(12))
    assert [a.severity for a in ctx.alerts] == raised
    assert not raised or ctx.alerts[0].subject == f"mac:{MAC}"


def test_one_alert_per_socket_within_realert() -> None:
    flows = _peers(40, every=5.0) + [
        _exchange(f"203.0.113.{100 + i}", 4000 + i, T0 + 300 + i, port=PORT + 1) for i in range(12)
    ]
    alerts = feed([P2pUdpDetector()], flows=sorted(flows, key=lambda f: f.first_seen))
    assert sorted(a.key for a in alerts) == [f"udp/{PORT}", f"udp/{PORT + 1}"]
    assert all(a.count == 1 for a in alerts)


def test_tables_stay_within_their_limits() -> None:
    detector = P2pUdpDetector({"max_sockets": 3, "max_peers": 12})
    ctx = Context()
    detector.flows(ctx, [_exchange(f"203.0.113.{i}", 5000 + i, T0 + i, port=40000 + i) for i in range(10)])
    assert list(detector._sockets) == [(BOT, 40007), (BOT, 40008), (BOT, 40009)]
    detector.flows(ctx, _peers(30, every=1.0))
    assert len(detector._sockets[(BOT, PORT)].peers) == 12 and len(detector._sockets) == 3


def test_sockets_raised_are_remembered_within_the_same_limit() -> None:
    detector, ctx = P2pUdpDetector({"max_sockets": 3}), Context()
    for k in range(5):  # five sockets in turn, each answered by twelve peers
        detector.flows(
            ctx, [_exchange(f"203.0.{113 - k}.{10 + i}", 5000 + i, T0 + 100 * k + i, port=40000 + k) for i in range(12)]
        )
    assert len(detector._waiting) == 3  # unclassified: waiting, the oldest judged past the limit
    detector.done(ctx)
    assert len(ctx.alerts) == 5 and list(detector._raised) == [(BOT, 40002), (BOT, 40003), (BOT, 40004)]


def test_max_peers_under_min_peers_is_refused_at_configure_time() -> None:
    with pytest.raises(ConfigError, match="max_peers: expected at least min_peers"):
        P2pUdpDetector({"max_peers": 5})
    assert P2pUdpDetector({"max_peers": 5, "min_peers": 5}).options.max_peers == 5


def test_service_ports_are_checked_once_with_one_clear_error() -> None:
    assert P2pUdpDetector({"service_ports": "53, 123"})._service == frozenset({53, 123})
    for bad in ("53,x", "0", "70000", "²3"):
        with pytest.raises(ConfigError, match="service_ports"):
            P2pUdpDetector({"service_ports": bad})
    assert feed([P2pUdpDetector({"service_ports": ""})], flows=_peers(20, ports=[123, *range(2000, 2010)]))


def test_from_a_bare_conn_log_and_from_the_wire(tmp_path: Path) -> None:
    flows = _peers(12)
    conn = write_labelled_conn_log(tmp_path / "conn.log.labeled", [(f, "C&C") for f in flows])
    assert [(a.id, a.src_ip) for a in detect([conn]).alerts] == [(P2P_UDP, BOT)]
    bot, frames = host(103, "192.168.100"), []
    for i, f in enumerate(flows):
        peer = host(10 + i, "203.0.113")
        frames += udp(bot, peer, PORT, f.b_port, bytes([0x02, i]) + bytes(30), t=f.first_seen)
        frames += udp(peer, bot, f.b_port, PORT, bytes([0x03, i]) + bytes(90), t=f.first_seen + 0.05)
    alerts = detect([write_pcap(tmp_path / "hns.pcap", frames)]).alerts
    assert [(a.id, a.src_ip, a.key) for a in alerts] == [(P2P_UDP, bot.ip, f"udp/{PORT}")]


def test_dht_from_the_wire_is_left_to_p2p_dht(tmp_path: Path) -> None:
    from tests.dissect.test_dht import FIND_NODE, PING_ANSWER

    bot, frames = host(20), []
    for i in range(12):
        node = host(10 + i, "198.51.100")
        frames += udp(bot, node, 51413, 6881 + i, FIND_NODE, t=T0 + i)
        frames += udp(node, bot, 6881 + i, 51413, PING_ANSWER, t=T0 + i + 0.05)
    assert [a.id for a in detect([write_pcap(tmp_path / "mozi.pcap", frames)]).alerts] == [P2P_DHT]


def test_one_socket_address_on_two_vlans_answered_by_half_the_peers_each_is_no_channel() -> None:
    """A trunk mirror: VLAN 10's and VLAN 20's 192.168.100.103 each exchange from udp/43591 with 6 of 12 outside
    peers (min_peers 10): two sockets of 6 peers, nothing raised; the 12 on one VLAN are a P2P channel as untagged."""
    def exchanges(vlans: tuple[int, int]) -> list[Flow]:
        flows = _peers(12)
        for i, flow in enumerate(flows):
            flow.vlan = vlans[i % 2]
        return flows
    assert feed([P2pUdpDetector()], flows=exchanges((10, 20))) == []
    assert [(a.src_ip, a.key) for a in feed([P2pUdpDetector()], flows=exchanges((20, 20)))] == [(BOT, f"udp/{PORT}")]
