"""detect.c2.p2p_dht: a device of the site among many outside BitTorrent DHT nodes (Mozi, Hajime)."""

from __future__ import annotations

from pathlib import Path

from iotwarden.detect.p2p import P2P_DHT, P2pDetector
from iotwarden.hooks import Context
from iotwarden.model import Device, Observation
from iotwarden.model.device import Conclusion
from tests.detect.runner import detect, feed
from tests.dissect.test_dht import FIND_NODE, PING_ANSWER
from tests.risk.harness import T0, host, udp, write_pcap

BOT, MAC = "192.168.1.20", "b8:27:eb:00:00:20"  # a Raspberry Pi block, as IoT-23's infected hosts


def _krpc(i: int, *, src: str = BOT, peer_net: str = "203.0.113") -> list[Observation]:
    peer = f"{peer_net}.{10 + i}"
    query = Observation(ts=T0 + i, proto="dht", kind="query", src_ip=src, dst_ip=peer, src_mac=MAC, subject="src",
                        fields={"method": "find_node", "node_id": "88" * 20, "client": None})
    answer = Observation(ts=T0 + i + 0.1, proto="dht", kind="response", src_ip=peer, dst_ip=src, dst_mac=MAC,
                         subject="src", fields={"method": None, "node_id": "11" * 20, "client": "LT0102"})
    return [query, answer]


def test_a_device_among_many_outside_dht_nodes_is_a_p2p_channel() -> None:
    obs = [o for i in range(12) for o in _krpc(i)]
    alerts = feed([P2pDetector()], observations=obs)
    assert [(a.id, a.src_ip, a.severity) for a in alerts] == [(P2P_DHT, BOT, "high")]  # unplaced device: high
    assert alerts[0].evidence["peers"] >= 10 and alerts[0].mitre == ["T1071", "T1008"]


def test_a_few_peers_or_peers_on_the_lan_raise_nothing() -> None:
    assert feed([P2pDetector()], observations=[o for i in range(5) for o in _krpc(i)]) == []
    assert feed([P2pDetector()], observations=[o for i in range(30) for o in _krpc(i, peer_net="192.168.1")]) == []


def test_peers_spread_over_more_than_the_window_are_not_counted() -> None:
    obs = [o for i in range(12) for o in _krpc(i)]
    for k, o in enumerate(obs):
        o.ts = T0 + k * 120.0
    assert feed([P2pDetector()], observations=obs) == []


def test_a_workstations_torrent_client_is_no_alert() -> None:
    ctx = Context()
    ctx.devices[f"mac:{MAC}"] = Device(f"mac:{MAC}", 0, 0, mac=MAC, ips={BOT})
    ctx.devices[f"mac:{MAC}"].classification["device_type"] = Conclusion("laptop", 0.9)
    detector = P2pDetector()
    for o in (o for i in range(12) for o in _krpc(i)):
        detector.on_observation(ctx, o)
    assert ctx.alerts == []


def test_from_the_wire(tmp_path: Path) -> None:
    bot = host(20)
    frames = []
    for i in range(12):
        node = host(10 + i, "198.51.100")
        frames += udp(bot, node, 51413, 6881 + i, FIND_NODE, t=T0 + i)
        frames += udp(node, bot, 6881 + i, 51413, PING_ANSWER, t=T0 + i + 0.05)
    alerts = detect([write_pcap(tmp_path / "mozi.pcap", frames)]).alerts
    assert [(a.id, a.src_ip) for a in alerts] == [(P2P_DHT, bot.ip)]
