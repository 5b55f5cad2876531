"""Rogue DHCP servers: an answering server not among those seen while learning."""

from __future__ import annotations

from iotwarden.detect.dhcp import MAX_DOMAINS, RogueDhcpDetector
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


def test_one_server_per_vlan_is_normal() -> None:
    """A trunk mirror sees each VLAN's own server (or relay agent); a VLAN first answered after the others'
    learning learns its own from then on."""
    offers = [_offer("10.0.0.1", "02:00:00:00:00:01", 10.0), _offer("10.0.0.1", "02:00:00:00:00:01", 900.0),
              _offer("10.0.20.1", "02:00:00:00:00:02", 2000.0), _offer("10.0.20.1", "02:00:00:00:00:02", 9000.0)]
    offers[0].vlan = offers[1].vlan = 10
    offers[2].vlan = offers[3].vlan = 20
    assert feed([RogueDhcpDetector({"learn_s": 600.0})], observations=offers) == []


def test_a_server_known_on_one_vlan_is_rogue_on_another() -> None:
    offers = [_offer("10.0.0.1", "02:00:00:00:00:01", 10.0), _offer("10.0.0.2", "02:00:00:00:00:02", 20.0),
              _offer("10.0.0.1", "02:00:00:00:00:01", 900.0)]
    offers[0].vlan, offers[1].vlan, offers[2].vlan = 10, 20, 20
    alerts = feed([RogueDhcpDetector({"learn_s": 600.0})], observations=offers)
    assert [(a.key, a.evidence["domain"]) for a in alerts] == [("10.0.0.1%vlan20", "vlan20")]


def test_servers_of_two_vnis_are_learned_apart() -> None:
    offers = [_offer("10.0.0.1", "02:00:00:00:00:01", 10.0), _offer("10.0.0.1", "02:00:00:00:00:02", 5000.0),
              _offer("10.0.0.66", "02:00:00:00:00:66", 6000.0)]
    offers[0].vni, offers[1].vni, offers[2].vni = (4001,), (4002,), (4001,)
    alerts = feed([RogueDhcpDetector({"learn_s": 600.0})], observations=offers)
    assert [a.key for a in alerts] == ["10.0.0.66%vni4001"]


def test_domains_are_bounded() -> None:
    det = RogueDhcpDetector({"learn_s": 600.0})
    offers = [_offer("10.0.0.1", "02:00:00:00:00:01", 10.0 + i) for i in range(MAX_DOMAINS + 5)]
    for i, o in enumerate(offers):
        o.vni = (i,)
    feed([det], observations=offers)
    assert len(det.servers) == MAX_DOMAINS
    assert det.servers.dropped_devices == 5
