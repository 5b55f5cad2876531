"""Frame builders: Internet checksums (RFC 1071), Ethernet padding, TCP sequence/ack bookkeeping."""

from __future__ import annotations

import itertools
import random
import struct

import dpkt
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iotwarden.lab.wire import ACK, FIN, PSH, SYN, Host, TcpStream, checksum, multicast_mac, udp_frame
from tests.lab.capcheck import ones_sum_ok


def test_checksum_matches_the_rfc1071_worked_example() -> None:
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


def _word_by_word(data: bytes) -> int:
    """RFC 1071 §4.1's loop: 16-bit words summed with their carries folded back, then complemented."""
    padded = data + b"\x00" * (len(data) % 2)
    total: int = sum(struct.unpack(f"!{len(padded) // 2}H", padded))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=1600), st.lists(st.sampled_from([b"\x00", b"\xff"]), max_size=40).map(b"".join)))
@example(b"")
@example(b"\xff\xff")  # a nonzero sum that is a multiple of 0xFFFF: 0xFFFF, so the checksum 0
@example(b"\x00\x00\xff\xff\xff\xff")
@example(b"\x01")  # odd length: padded with a zero byte
def test_checksum_is_the_word_by_word_sum(data: bytes) -> None:
    """checksum reads the data as one number modulo 0xFFFF; the same value as the word-by-word sum, on any bytes."""
    assert checksum(data) == _word_by_word(data)


def test_multicast_mac_maps_the_low_23_bits() -> None:
    assert multicast_mac("224.0.0.251") == "01:00:5e:00:00:fb"
    assert multicast_mac("239.255.255.250") == "01:00:5e:7f:ff:fa"


def test_udp_frame_decodes_and_verifies() -> None:
    src = Host("ac:cc:8e:00:00:01", "10.0.0.5")
    raw = udp_frame(src, "ff:ff:ff:ff:ff:ff", "10.0.0.255", b"x", sport=68, dport=67)
    assert len(raw) == 60  # padded to the Ethernet minimum
    eth = dpkt.ethernet.Ethernet(raw)
    ip = eth.data
    assert (ip.data.sport, ip.data.dport, bytes(ip.data.data)) == (68, 67, b"x")
    assert ones_sum_ok(raw[14:34])
    seg = raw[34 : 14 + ip.len]
    assert ones_sum_ok(ip.src + ip.dst + bytes([0, 17]) + len(seg).to_bytes(2, "big") + seg)


def test_tcp_stream_numbers_bytes_and_closes_cleanly() -> None:
    rng = random.Random(1)
    client, server = Host("00:00:00:00:00:01", "10.0.0.1"), Host("00:00:00:00:00:02", "10.0.0.2")
    conn = TcpStream(rng, client, 40000, server, 80)
    frames = conn.session(100.0, [(True, b"GET / HTTP/1.1\r\n\r\n"), (False, b"x" * 4000)])
    segs = [dpkt.ethernet.Ethernet(f).data.data for _, f in sorted(frames, key=lambda f: f[0])]
    assert [s.flags for s in segs[:3]] == [SYN, SYN | ACK, ACK]
    assert segs[1].ack == segs[0].seq + 1 and segs[2].ack == segs[1].seq + 1
    data_from_server = [s for s in segs if s.sport == 80 and s.data]
    assert sum(len(s.data) for s in data_from_server) == 4000
    assert all(len(s.data) <= 1460 for s in data_from_server)
    assert data_from_server[-1].flags & PSH
    for a, b in itertools.pairwise(data_from_server):
        assert b.seq == a.seq + len(a.data)
    fins = [s for s in segs if s.flags & FIN]
    assert len(fins) == 2 and segs[-1].flags == ACK and segs[-1].ack == fins[-1].seq + 1


def test_refused_connection_is_answered_by_rst() -> None:
    conn = TcpStream(random.Random(2), Host("00:00:00:00:00:01", "10.0.0.1"), 40000,
                     Host("00:00:00:00:00:02", "10.0.0.2"), 23)
    syn, rst = (dpkt.ethernet.Ethernet(f).data.data for _, f in conn.refused(5.0))
    assert rst.flags == dpkt.tcp.TH_RST | dpkt.tcp.TH_ACK and rst.ack == syn.seq + 1
