"""The IPv6 frames tests/detect/botnet_pcap.py renders, decoded by scapy (an implementation independent of the lab's
wire helpers): addresses, ports, flags, payload and a checksum scapy computes the same."""

from __future__ import annotations

import random

from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from iotwarden.lab.wire import SYN, Host, TcpStream, udp_frame
from tests.detect.botnet_pcap import ipv6_frame

V6 = {"10.10.20.7": "fd10:10::20:7", "240.0.0.0": "2a01:4f8::1"}
BOT, PEER = Host("02:00:0a:0a:14:07", "10.10.20.7"), Host("02:00:00:00:00:fe", "240.0.0.0")


def _checksum_ok(frame: Ether, layer: type[TCP | UDP]) -> bool:
    """Whether the frame's checksum is the one scapy computes for it."""
    again = Ether(bytes(frame))
    del again[layer].chksum
    return bool(Ether(bytes(again))[layer].chksum == frame[layer].chksum)


def test_a_syn_is_carried_in_ipv6_with_its_ports_flags_and_a_valid_checksum() -> None:
    stream = TcpStream(random.Random(7), BOT, 40123, PEER, 37215)
    (_, syn), (_, synack), _ = stream.handshake(0.0)
    frame = Ether(ipv6_frame(syn, V6))
    assert frame.type == 0x86DD and frame.src == BOT.mac and frame.dst == PEER.mac
    assert (frame[IPv6].src, frame[IPv6].dst, frame[IPv6].nh, frame[IPv6].hlim) == ("fd10:10::20:7", "2a01:4f8::1",
                                                                                    6, 64)
    assert (frame[TCP].sport, frame[TCP].dport, int(frame[TCP].flags)) == (40123, 37215, SYN)
    assert _checksum_ok(frame, TCP)
    back = Ether(ipv6_frame(synack, V6))
    assert (back[IPv6].src, back[TCP].sport, back[TCP].ack) == ("2a01:4f8::1", 37215, frame[TCP].seq + 1)


def test_a_datagram_keeps_its_payload_and_loses_the_ethernet_padding() -> None:
    frame = Ether(ipv6_frame(udp_frame(BOT, PEER.mac, PEER.ip, b"hi", sport=5000, dport=23), V6))
    assert frame[IPv6].plen == 10 and bytes(frame[UDP].payload) == b"hi"
    assert _checksum_ok(frame, UDP)
