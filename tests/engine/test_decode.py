"""Tier-1 header decode: each link layer, VLAN tags, LLC/SNAP, IPv4/IPv6, TCP/UDP, and bad frames."""

from __future__ import annotations

import socket
import struct

import dpkt
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.engine.decode import (
    E_BAD_IP,
    E_BAD_TCP,
    E_LINKTYPE,
    E_OK,
    E_SHORT_IP,
    E_SHORT_LINK,
    E_SHORT_UDP,
    ERROR_REASONS,
    IPV4_MAPPED,
    addr_text,
    addr_texts,
    decode,
)
from tests.sources.capbuild import ACK, PSH, SYN, batch_of, ethernet, mac, tcp, udp

TCP_PKT = tcp("10.1.2.3", "10.9.8.7", 40000, 443, SYN | ACK, seq=123456789, payload=b"hello", ttl=33)


def _one(frame: bytes, linktype: int = 1):  # type: ignore[no-untyped-def]
    return decode(batch_of([(1.0, frame)], linktype))


def test_ethernet_ipv4_tcp_fields() -> None:
    h = _one(ethernet(TCP_PKT, src=7, dst=9))
    assert h.error[0] == E_OK
    assert (h.ipver[0], h.proto[0], h.ttl[0]) == (4, 6, 33)
    assert addr_text(4, int(h.src_hi[0]), int(h.src_lo[0])) == "10.1.2.3"
    assert int(h.dst_lo[0]) & 0xFFFFFFFF == 0x0A090807
    assert int(h.src_lo[0]) & ~0xFFFFFFFF == int(IPV4_MAPPED)
    assert (h.sport[0], h.dport[0], h.tcp_flags[0], h.seq[0]) == (40000, 443, SYN | ACK, 123456789)
    assert (h.pay_off[0], h.pay_len[0], h.pay_wire[0]) == (14 + 20 + 20, 5, 5)
    assert (h.src_mac_off[0], h.dst_mac_off[0]) == (6, 0)


def test_ethernet_padding_is_not_payload() -> None:
    frame = ethernet(udp("10.0.0.1", "10.0.0.2", 1, 2, b"ab"))
    padded = frame + b"\0" * (60 - len(frame))
    h = _one(padded)
    assert (h.pay_len[0], h.pay_wire[0]) == (2, 2)


def test_snapped_packet_announces_more_than_captured() -> None:
    frame = ethernet(udp("10.0.0.1", "10.0.0.2", 1, 2, b"x" * 100))
    b = batch_of([(1.0, frame)])
    b.caplen[:] = 14 + 20 + 8 + 10
    h = decode(b)
    assert (h.pay_len[0], h.pay_wire[0]) == (10, 100)


def test_vlan_and_qinq_keep_inner_and_outer_ids() -> None:
    h = decode(batch_of([(1.0, ethernet(TCP_PKT, vlans=(20,))), (2.0, ethernet(TCP_PKT, vlans=(100, 200)))]))
    assert h.vlan.tolist() == [20, 200]
    assert h.outer_vlan.tolist() == [20, 100]
    assert h.dport.tolist() == [443, 443]


def test_llc_snap_cdp_frame() -> None:
    # IEEE 802.3 length field, LLC AA AA 03, SNAP OUI 00:00:0c PID 0x2000 (CDP)
    body = b"\x02\xb4\x00\x00" + b"cdp-tlvs"
    llc = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + body
    frame = bytes.fromhex("01000ccccccc") + mac(5) + struct.pack(">H", len(llc)) + llc
    h = _one(frame)
    assert h.ethertype[0] == -1
    assert h.snap[0] == (0x00000C << 16) | 0x2000
    assert h.l3_off[0] == 14 + 8
    assert h.ipver[0] == 0


def test_rfc1042_snap_carries_an_ethertype() -> None:
    llc = b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + TCP_PKT
    frame = mac(2) + mac(1) + struct.pack(">H", len(llc)) + llc
    h = _one(frame)
    assert (h.ethertype[0], h.ipver[0], h.dport[0]) == (0x0800, 4, 443)


def test_linux_sll_and_sll2() -> None:
    sll = struct.pack(">HHH8sH", 0, 1, 6, mac(3) + b"\0\0", 0x0800) + TCP_PKT
    sll2 = struct.pack(">HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, mac(4) + b"\0\0") + TCP_PKT
    h = decode(batch_of([(1.0, sll), (2.0, sll2)], [113, 276]))
    assert h.error.tolist() == [E_OK, E_OK]
    assert h.dport.tolist() == [443, 443]
    assert h.src_mac_off.tolist() == [6, len(sll) + 12]
    assert h.dst_mac_off.tolist() == [-1, -1]


def test_raw_ip_and_loopback_families() -> None:
    v6 = bytes(dpkt.ip6.IP6(src=b"\x20\x01" + b"\0" * 13 + b"\x01", dst=b"\xfe\x80" + b"\0" * 13 + b"\x02", nxt=17,
                            hlim=5, data=dpkt.udp.UDP(sport=546, dport=547, ulen=8)))
    frames = [
        (1.0, TCP_PKT, 101),
        (2.0, v6, 101),
        (3.0, TCP_PKT, 228),
        (4.0, v6, 229),
        (5.0, struct.pack("<I", 2) + TCP_PKT, 0),  # NULL, little-endian AF_INET
        (6.0, struct.pack(">I", 30) + v6, 0),  # NULL written by a big-endian macOS: AF_INET6 = 30
        (7.0, struct.pack(">I", 24) + v6, 108),  # LOOP: network order, OpenBSD AF_INET6 = 24
    ]
    h = decode(batch_of([(t, f) for t, f, _ in frames], [lt for _, _, lt in frames]))
    assert h.error.tolist() == [E_OK] * 7
    assert h.ipver.tolist() == [4, 6, 4, 6, 4, 6, 6]
    assert h.dport.tolist() == [443, 547, 443, 547, 443, 547, 547]
    assert addr_text(6, int(h.src_hi[1]), int(h.src_lo[1])) == "2001::1"
    assert h.ttl[1] == 5


def test_ipv6_extension_headers_and_fragments() -> None:
    udp_hdr = struct.pack(">HHHH", 1000, 53, 8, 0)
    hop = bytes([44, 0]) + b"\0" * 6  # hop-by-hop, next: fragment
    first = bytes([17, 0]) + struct.pack(">HI", 0 | 1, 7)  # offset 0, more fragments
    later = bytes([17, 0]) + struct.pack(">HI", (185 << 3), 7)  # offset 185*8

    def ip6(ext: bytes, tail: bytes) -> bytes:
        addresses = b"\0" * 15 + b"\1" + b"\0" * 15 + b"\2"
        return struct.pack(">IHBB", 6 << 28, len(ext) + len(tail), 0, 64) + addresses + ext + tail

    h = decode(batch_of([(1.0, ip6(hop + first, udp_hdr)), (2.0, ip6(hop + later, b"data"))], 101))
    assert h.proto.tolist() == [17, 17]
    assert h.frag.tolist() == [False, True]
    assert h.dport.tolist() == [53, 0]


def test_ipv4_non_first_fragment_has_no_ports() -> None:
    ip = dpkt.ip.IP(src=b"\1\2\3\4", dst=b"\5\6\7\x08", p=17, offset=800, data=b"\0" * 16)
    h = _one(ethernet(bytes(ip)))
    assert (h.frag[0], h.sport[0], h.dport[0], h.pay_len[0]) == (True, 0, 0, 16)


def test_malformed_frames_get_reasons_not_crashes() -> None:
    good = ethernet(TCP_PKT)
    bad_ihl = bytearray(good)
    bad_ihl[14] = 0x43
    bad_doff = bytearray(good)
    bad_doff[14 + 20 + 12] = 0x20
    short_udp = ethernet(udp("1.1.1.1", "2.2.2.2", 1, 2))[: 14 + 20 + 4]
    frames = [(1.0, good[:10]), (2.0, good[:30]), (3.0, bytes(bad_ihl)), (4.0, bytes(bad_doff)),
              (5.0, short_udp)]
    h = decode(batch_of(frames))
    assert h.error.tolist() == [E_SHORT_LINK, E_SHORT_IP, E_BAD_IP, E_BAD_TCP, E_SHORT_UDP]
    assert decode(batch_of([(1.0, good)], 147)).error[0] == E_LINKTYPE


def test_payload_of_tcp_data_packet() -> None:
    h = _one(ethernet(tcp("10.0.0.1", "10.0.0.2", 5, 6, PSH | ACK, 1, b"0123456789")))
    b = batch_of([(1.0, ethernet(tcp("10.0.0.1", "10.0.0.2", 5, 6, PSH | ACK, 1, b"0123456789")))])
    assert b.data[h.pay_off[0] : h.pay_off[0] + h.pay_len[0]].tobytes() == b"0123456789"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 1, 101, 105, 108, 113, 127, 228, 229, 276, 9]), st.binary(max_size=120)),
                min_size=1, max_size=20))
def test_fuzz_random_frames_never_crash_and_stay_in_bounds(frames: list[tuple[int, bytes]]) -> None:
    b = batch_of([(float(i), f) for i, (_, f) in enumerate(frames)], [lt for lt, _ in frames])
    h = decode(b)
    end = b.offsets + b.caplen
    ok = h.error == 0
    assert ((h.error >= 0) & (h.error < len(ERROR_REASONS))).all()
    assert (h.pay_len >= 0).all()
    assert (h.pay_off[ok & (h.pay_len > 0)] + h.pay_len[ok & (h.pay_len > 0)] <= end[ok & (h.pay_len > 0)]).all()
    assert ((h.ipver == 0) | (h.proto >= 0)).all()
    assert (h.pay_len[~ok] == 0).all()
    assert np.isin(h.ipver, [0, 4, 6]).all()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=40))
def test_ipv4_text_is_the_inet_ntop_dotted_quad(values: list[int]) -> None:
    # edge octets (0, 9-10, 99-100, 255) and random ones: no leading zeros, one text per distinct address
    values += [0, 0x0A000001, 0x09630A64, 0xFFFFFFFF]
    expected = [socket.inet_ntop(socket.AF_INET, v.to_bytes(4, "big")) for v in values]
    lo = np.array(values, dtype=np.uint64) | IPV4_MAPPED  # as decode stores an IPv4 address
    assert [addr_text(4, 0, int(v)) for v in lo] == expected
    assert addr_texts(np.full(len(values), 4), np.zeros(len(values), dtype=np.uint64), lo) == expected
    # among IPv6 addresses the IPv4 ones read the same
    ipver = np.array([4] * len(values) + [6])
    hi = np.append(np.zeros(len(values), dtype=np.uint64), np.uint64(0x20010DB8 << 32))
    assert addr_texts(ipver, hi, np.append(lo, np.uint64(1))) == [*expected, "2001:db8::1"]
