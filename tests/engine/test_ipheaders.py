"""IPv4/IPv6 and TCP/UDP/ICMP headers of a whole batch at once: each packet's addresses, ports, flags, fragments and
payload bounds, and an error code (not a crash) for a header that is short or wrong."""

from __future__ import annotations

import struct
from typing import Any

import dpkt
import numpy as np

from iotwarden.engine.headers import (
    E_BAD_IP,
    E_BAD_TCP,
    E_OK,
    E_SHORT_IP,
    E_SHORT_UDP,
    ETH_IPV4,
    ETH_IPV6,
    IPV4_MAPPED,
    Reader,
)
from iotwarden.engine.ipheaders import decode_ip
from tests.sources.capbuild import ACK, PSH, SYN, ipv4, tcp, udp


def _decode(packets: list[bytes], ethertypes: list[int]) -> tuple[dict[str, Any], list[int]]:
    data = b"".join(packets)
    lengths = np.array([len(p) for p in packets], dtype=np.int64)
    pos = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    error = np.zeros(len(packets), dtype=np.int8)
    cols = decode_ip(Reader(np.frombuffer(data, dtype=np.uint8)), np.array(ethertypes, dtype=np.int64), pos,
                     pos + lengths, error)
    cols["rel_pay"] = (cols["pay_off"] - pos).tolist()
    return cols, error.tolist()


def test_ipv4_tcp_and_udp_fields() -> None:
    seg = tcp("10.0.0.1", "10.0.0.2", 40000, 80, SYN | ACK, seq=7, payload=b"hello", ttl=33, ack=9)
    dgram = udp("10.0.0.3", "10.0.0.4", 5353, 53, b"q" * 3)
    cols, error = _decode([seg, dgram], [ETH_IPV4, ETH_IPV4])
    assert error == [E_OK, E_OK]
    assert cols["ipver"].tolist() == [4, 4] and cols["proto"].tolist() == [6, 17] and cols["ttl"][0] == 33
    assert cols["src_lo"][0] == int.from_bytes(ipv4("10.0.0.1"), "big") | int(IPV4_MAPPED) and cols["src_hi"][0] == 0
    assert cols["sport"].tolist() == [40000, 5353] and cols["dport"].tolist() == [80, 53]
    assert cols["tcp_flags"][0] == SYN | ACK and cols["seq"][0] == 7 and cols["ack"][0] == 9
    assert cols["rel_pay"] == [40, 28] and cols["pay_len"].tolist() == [5, 3] and cols["pay_wire"].tolist() == [5, 3]
    assert cols["icmp_type"].tolist() == [-1, -1]


def test_the_udp_length_bounds_the_payload() -> None:
    dgram = bytearray(udp("10.0.0.3", "10.0.0.4", 1000, 2000, b"abcdef"))
    struct.pack_into(">H", dgram, 24, 8 + 2)  # UDP length: two payload bytes, the rest is padding
    cols, error = _decode([bytes(dgram)], [ETH_IPV4])
    assert error == [E_OK] and cols["pay_len"].tolist() == [2]


def test_ipv6_walks_extension_headers_to_a_first_fragments_ports() -> None:
    hop = struct.pack(">BB6x", 44, 0)  # hop-by-hop options (RFC 8200 §4.3), 8 bytes, then the fragment header
    frag = struct.pack(">BBHI", 6, 0, 0x0001, 5)  # RFC 8200 §4.5: offset 0, M set: a first fragment
    seg = bytes(dpkt.tcp.TCP(sport=1, dport=2, flags=PSH | ACK, data=b"xy"))
    src, dst = b"\x20\x01" + b"\0" * 13 + b"\x01", b"\xfe\x80" + b"\0" * 13 + b"\x02"
    packet = struct.pack(">IHBB", 6 << 28, len(hop + frag + seg), 0, 7) + src + dst + hop + frag + seg
    cols, error = _decode([packet], [ETH_IPV6])
    assert error == [E_OK] and cols["ipver"][0] == 6 and cols["proto"][0] == 6 and cols["ttl"][0] == 7
    assert cols["src_hi"][0] == 0x2001 << 48 and cols["src_lo"][0] == 1
    assert cols["frag_head"].tolist() == [True] and cols["frag"].tolist() == [False]
    assert (cols["sport"][0], cols["dport"][0], cols["pay_len"][0]) == (1, 2, 2)


def test_a_later_ipv4_fragment_has_no_ports() -> None:
    packet = bytearray(udp("10.0.0.3", "10.0.0.4", 1000, 2000, b"abcdef"))
    struct.pack_into(">H", packet, 6, 3)  # fragment offset 3 (24 bytes)
    cols, error = _decode([bytes(packet)], [ETH_IPV4])
    assert error == [E_OK] and cols["frag"].tolist() == [True] and cols["sport"].tolist() == [0]


def test_short_or_wrong_headers_get_error_codes() -> None:
    good = tcp("10.0.0.1", "10.0.0.2", 1, 2)
    bad_version = bytes([0x65]) + good[1:]
    bad_offset = bytearray(good)
    bad_offset[32] = 0x30  # data offset 12 bytes, under the TCP header's 20
    short_udp = udp("10.0.0.3", "10.0.0.4", 1, 2)[:24]
    cols, error = _decode([good[:12], bad_version, bytes(bad_offset), short_udp, b"\x00" * 30],
                          [ETH_IPV4, ETH_IPV4, ETH_IPV4, ETH_IPV4, -1])
    assert error == [E_SHORT_IP, E_BAD_IP, E_BAD_TCP, E_SHORT_UDP, E_OK]
    assert cols["ipver"].tolist()[-1] == 0 and cols["pay_len"].tolist() == [0, 0, 0, 0, 0]
