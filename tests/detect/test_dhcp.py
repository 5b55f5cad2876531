"""Rogue DHCP servers: an answering server not among those seen while learning."""

from __future__ import annotations

from iotwarden.detect.dhcp import RogueDhcpDetector
from iotwarden.model import Observation
from tests.detect.runner import feed


def _offer(server: str, mac: str, ts: float) -> Observation:
    return Observation(ts=ts, proto="dhcp", kind="offer", src_ip=server, src_mac=mac, dst_ip="255.255.255.255",
                       fields={"server_id": server, "yiaddr": "10.0.0.50", "routers": [server]})


def test_a_new_server_after_learning_is_rogue() -> None:
    alerts = feed([RogueDhcpDetector({"learn_s": 600.0})], observations=[
        _offer("10.0.0.1", "02:00:00:00:00:01", 10.0), _offer("10.0.0.1", "02:00:00:00:00:01", 900.0),
        _offer("10.0.0.66", "02:00:00:00:00:66", 1000.0), _offer("10.0.0.66", "02:00:00:00:00:66", 1001.0)])
    assert [(a.id, a.key, a.count) for a in alerts] == [("detect.dhcp.rogue_server", "10.0.0.66", 1)]


def test_servers_seen_while_learning_are_trusted() -> None:
    alerts = feed([RogueDhcpDetector({"learn_s": 600.0})], observations=[
        _offer("10.0.0.1", "02:00:00:00:00:01", 10.0), _offer("10.0.0.2", "02:00:00:00:00:02", 20.0),
        _offer("10.0.0.2", "02:00:00:00:00:02", 5000.0)])
    assert alerts == []
