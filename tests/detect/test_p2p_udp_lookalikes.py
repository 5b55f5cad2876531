"""detect.c2.p2p_udp against benign devices that keep one UDP socket with many outside hosts (review of issue #4):
a Tailscale node's peers on NAT-mapped ports, a desk phone's RTP through an operator's SBCs, a Teams room's media
relays on 3478-3481. None of them is a botnet's P2P channel; a smart TV's P2P CDN client still is raised (known and
not modelled: docs/detection.md)."""

from __future__ import annotations

import random

from iotwarden.detect.p2p_udp import P2pUdpDetector
from iotwarden.model import Flow
from tests.detect.runner import feed
from tests.detect.test_p2p_udp import _exchange
from tests.risk.harness import T0


def _socket(peers: list[tuple[str, int]], port: int, every: float = 30.0) -> list[Flow]:
    return [_exchange(ip, peer_port, T0 + i * every, port=port) for i, (ip, peer_port) in enumerate(peers)]


def test_a_tailscale_node_meeting_its_peers_through_their_nats_is_no_p2p_botnet() -> None:
    """tailscaled listens on udp/41641 and meets each peer directly at whatever port the peer's NAT mapped
    (Tailscale, "What firewall ports should I open to use Tailscale?", https://tailscale.com/kb/1082/firewall-ports;
    "How NAT traversal works", https://tailscale.com/blog/how-nat-traversal-works): fourteen peers on fourteen
    ports from one socket, as Hide and Seek's, but on Tailscale's port."""
    rng = random.Random(7)
    peers = [(f"198.51.100.{20 + i}", rng.randint(1024, 65535)) for i in range(14)]
    assert feed([P2pUdpDetector()], flows=_socket(peers, 41641)) == []
    # the same node behind a NAT that remapped its port: its peers that kept Tailscale's port are a service's
    assert feed([P2pUdpDetector()], flows=_socket([(ip, 41641) for ip, _ in peers], 61023)) == []


def test_a_desk_phone_reusing_its_rtp_port_through_sbcs_is_no_p2p_botnet() -> None:
    """A phone with a small RTP range (Polycom UC: 2222-2269) meets the same few SBC media addresses call after
    call, each call on another of their even ports (RFC 3550 §11): few peers, however many ports."""
    rng = random.Random(3)
    sbcs = ["203.0.113.40", "203.0.113.41", "203.0.113.42"]
    peers = [(sbcs[i % 3], 2 * rng.randint(8000, 16000)) for i in range(30)]
    assert feed([P2pUdpDetector()], flows=_socket(peers, 2222, every=25.0)) == []


def test_a_teams_room_meeting_many_media_relays_on_their_four_ports_is_no_p2p_botnet() -> None:
    """Teams media goes to Microsoft's transport relays on udp/3478-3481 (Microsoft 365 URLs and IP address
    ranges, ID 11: https://learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges): many addresses,
    two ports outside service_ports (3480, 3481), under min_peer_ports."""
    peers = [(f"52.112.{i // 4}.{10 + i}", 3478 + i % 4) for i in range(24)]
    assert feed([P2pUdpDetector()], flows=_socket(peers, 50010, every=10.0)) == []


def test_hide_and_seek_on_its_own_random_port_is_still_raised() -> None:
    rng = random.Random(11)
    peers = [(f"198.51.100.{20 + i}", rng.randint(1024, 65535)) for i in range(14)]
    assert [a.severity for a in feed([P2pUdpDetector()], flows=_socket(peers, 43591))] == ["high"]
