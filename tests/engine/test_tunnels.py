"""Tunnel decapsulation in the tier-1 decode: MPLS, PPPoE, VXLAN, Geneve, GRE (IP, Ethernet, MPLS, ERSPAN
I-III) and IP-in-IP each yield the inner packet's headers; a tunnel whose inner frame is not there or not
valid stays the outer packet. Frames are built with scapy; the suricata-verify VXLAN capture is read with
tshark's answers as the oracle."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific
from scapy.contrib.geneve import GENEVE
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, GRE, Dot1Q, Ether
from scapy.layers.ppp import PPP, PPPoE
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet

from iotwarden.engine.core import Engine
from iotwarden.engine.decode import (
    E_OK,
    ERROR_REASONS,
    T_ERSPAN,
    T_GENEVE,
    T_GRE,
    T_GTP,
    T_IPIP,
    T_MPLS,
    T_PPPOE,
    T_TEREDO,
    T_VXLAN,
    TUNNELS,
    VNI_FIELD,
    VNI_PRESENT,
    Headers,
    addr_text,
    decode,
    mac48,
    mac_texts,
    vni_list,
)
from iotwarden.engine.tunnels import nest_vni
from iotwarden.sources.capfile import read_capture
from tests.conftest import SHARED_DATA
from tests.sources.capbuild import batch_of

DATA = SHARED_DATA / "pcaps"
VXLAN_ARP = DATA / "suricata_verify" / "arp" / "detect-arp-04-vxlan" / "vxlan-arp.pcap"

OUTER = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
ROUTERS = IP(src="192.0.2.1", dst="192.0.2.2")
CAMERA, NVR = "00:40:8c:11:22:33", "00:12:12:44:55:66"  # inner Ethernet: Axis camera, Pelco NVR blocks
INNER_TCP = IP(src="10.20.0.5", dst="10.20.0.9", ttl=61) / TCP(sport=50000, dport=554, flags="PA") / b"OPTIONS *"
INNER_ETH = Ether(src=CAMERA, dst=NVR) / INNER_TCP


def one(pkt: Packet) -> tuple[Headers, bytes]:
    frame = bytes(pkt)
    return decode(batch_of([(1.0, frame)])), frame


def endpoints(h: Headers, i: int = 0) -> tuple[str, int, str, int]:
    v = int(h.ipver[i])
    return (addr_text(v, int(h.src_hi[i]), int(h.src_lo[i])), int(h.sport[i]),
            addr_text(v, int(h.dst_hi[i]), int(h.dst_lo[i])), int(h.dport[i]))


def macs(h: Headers, frame: bytes, i: int = 0) -> tuple[str | None, str | None]:
    data = np.frombuffer(frame, dtype=np.uint8)
    src = mac_texts(mac48(data, h.src_mac_off[i : i + 1]))[0]
    dst = mac_texts(mac48(data, h.dst_mac_off[i : i + 1]))[0]
    return src, dst


def payload(h: Headers, frame: bytes) -> bytes:
    return frame[int(h.pay_off[0]) : int(h.pay_off[0]) + int(h.pay_len[0])]


ETHERNET_TUNNELS = {
    "vxlan": (OUTER / ROUTERS / UDP(sport=61000, dport=4789) / VXLAN(vni=4242) / INNER_ETH, T_VXLAN),
    "geneve": (OUTER / ROUTERS / UDP(sport=61000, dport=6081) / GENEVE(vni=7, proto=0x6558) / INNER_ETH, T_GENEVE),
    "gre-teb": (OUTER / ROUTERS / GRE(proto=0x6558) / INNER_ETH, T_GRE),
    "gre-teb-key-seq": (OUTER / ROUTERS / GRE(proto=0x6558, key_present=1, key=9, seqnum_present=1, sequence_number=3)
                        / INNER_ETH, T_GRE),
    "erspan-i": (OUTER / ROUTERS / GRE(proto=0x88BE) / INNER_ETH, T_ERSPAN),
    "erspan-ii": (OUTER / ROUTERS / GRE(proto=0x88BE, seqnum_present=1, sequence_number=5) / ERSPAN_II(session_id=3)
                  / INNER_ETH, T_ERSPAN),
    "erspan-iii": (OUTER / ROUTERS / GRE(proto=0x22EB, seqnum_present=1) / ERSPAN_III(session_id=3, o=0)
                   / INNER_ETH, T_ERSPAN),
    "erspan-iii-platform": (OUTER / ROUTERS / GRE(proto=0x22EB, seqnum_present=1) / ERSPAN_III(session_id=3, o=1)
                            / ERSPAN_PlatformSpecific(platf_id=3) / INNER_ETH, T_ERSPAN),
    "vxlan-over-vlan-inner-vlan": (OUTER / Dot1Q(vlan=300) / ROUTERS / UDP(dport=4789) / VXLAN(vni=1)
                                   / Ether(src=CAMERA, dst=NVR) / Dot1Q(vlan=12) / INNER_TCP, T_VXLAN),
}


@pytest.mark.parametrize("name", sorted(ETHERNET_TUNNELS))
def test_ethernet_tunnels_yield_the_inner_frame(name: str) -> None:
    pkt, kind = ETHERNET_TUNNELS[name]
    h, frame = one(pkt)
    assert h.error[0] == E_OK
    assert int(h.tunnel[0]) == kind
    assert endpoints(h) == ("10.20.0.5", 50000, "10.20.0.9", 554)
    assert (int(h.proto[0]), int(h.ttl[0])) == (6, 61)
    assert macs(h, frame) == (CAMERA, NVR)  # the devices inside the mirror, not the tunnel's routers
    assert payload(h, frame) == b"OPTIONS *"
    inner = bytes(pkt[VXLAN].payload) if VXLAN in pkt else bytes(INNER_ETH)
    assert int(h.frame_len[0]) == len(inner)
    assert int(h.vlan[0]) == (12 if name == "vxlan-over-vlan-inner-vlan" else 0)


IP_TUNNELS = {
    "gre-ipv4": (OUTER / ROUTERS / GRE(proto=0x0800) / INNER_TCP, T_GRE),
    "gre-checksum": (OUTER / ROUTERS / GRE(proto=0x0800, chksum_present=1) / INNER_TCP, T_GRE),
    "gre-mpls": (OUTER / ROUTERS / GRE(proto=0x8847) / MPLS(label=100, s=1) / INNER_TCP, T_GRE),
    "ipip": (OUTER / ROUTERS / INNER_TCP, T_IPIP),
    "mpls-two-labels": (Ether(src=CAMERA, dst=NVR, type=0x8847) / MPLS(label=16, s=0) / MPLS(label=17, s=1)
                        / INNER_TCP, T_MPLS),
    "pppoe": (Ether(src=CAMERA, dst=NVR) / PPPoE(sessionid=0x11) / PPP(proto=0x0021) / INNER_TCP, T_PPPOE),
    "geneve-ipv4": (OUTER / ROUTERS / UDP(dport=6081) / GENEVE(proto=0x0800) / INNER_TCP, T_GENEVE),
    "gtp-u": (OUTER / ROUTERS / UDP(sport=2152, dport=2152) / GTP_U_Header(teid=0x1234) / INNER_TCP, T_GTP),
    "gtp-u-5g-pdu-session": (OUTER / ROUTERS / UDP(sport=2152, dport=2152) / GTP_U_Header(teid=7, E=1, next_ex=0x85)
                             / GTPPDUSessionContainer(type=1, QFI=9) / INNER_TCP, T_GTP),
}


@pytest.mark.parametrize("name", sorted(IP_TUNNELS))
def test_ip_tunnels_yield_the_inner_packet(name: str) -> None:
    pkt, kind = IP_TUNNELS[name]
    h, frame = one(pkt)
    assert h.error[0] == E_OK
    assert int(h.tunnel[0]) == kind
    assert endpoints(h) == ("10.20.0.5", 50000, "10.20.0.9", 554)
    assert payload(h, frame) == b"OPTIONS *"
    labels = 4 if name == "gre-mpls" else 0  # a GRE tunnel's inner frame is the labelled packet
    assert int(h.frame_len[0]) == (len(frame) if kind in {T_MPLS, T_PPPOE} else len(bytes(INNER_TCP)) + labels)
    src, dst = macs(h, frame)
    if kind in {T_MPLS, T_PPPOE}:  # the same link: its MACs are the host's and its neighbour's
        assert (src, dst) == (CAMERA, NVR)
    else:  # routed through a tunnel: the outer MACs are the routers'
        assert (src, dst) == (None, None)


def test_ipv6_tunnels_both_ways() -> None:
    inner6 = IPv6(src="2001:db8::5", dst="2001:db8::9") / UDP(sport=5683, dport=5683) / b"coap"
    h, _ = one(OUTER / ROUTERS / inner6)  # 6in4 (protocol 41)
    assert (int(h.tunnel[0]), int(h.ipver[0])) == (T_IPIP, 6)
    assert endpoints(h) == ("2001:db8::5", 5683, "2001:db8::9", 5683)
    h, _ = one(OUTER / IPv6(src="2001:db8:ffff::1", dst="2001:db8:ffff::2") / INNER_TCP)  # 4in6
    assert (int(h.tunnel[0]), int(h.ipver[0])) == (T_IPIP, 4)
    assert endpoints(h)[0] == "10.20.0.5"


TEREDO_INNER = (IPv6(src="2001:0:4136:e378:8000:63bf:3fff:fdd2", dst="2001:db8::9") / UDP(sport=5683, dport=5683)
                / b"coap")
ORIGIN = b"\x00\x00" + b"\xf2\x27" + bytes([0xC0 ^ 0xFF, 0x00 ^ 0xFF, 0x02 ^ 0xFF, 0x7B ^ 0xFF])  # RFC 4380 §5.1.1
AUTH = b"\x00\x01" + b"\x02\x03" + b"id" + b"mac" + b"\x11" * 8 + b"\x00"  # id-len 2, au-len 3, nonce, confirmation


@pytest.mark.parametrize("indicators", [b"", ORIGIN, AUTH, AUTH + ORIGIN], ids=["plain", "origin", "auth", "both"])
def test_teredo_yields_the_ipv6_packet(indicators: bytes) -> None:
    for sport, dport in ((50000, 3544), (3544, 50000)):  # to the server, and its answer
        h, frame = one(OUTER / ROUTERS / UDP(sport=sport, dport=dport) / (indicators + bytes(TEREDO_INNER)))
        assert (int(h.tunnel[0]), int(h.ipver[0])) == (T_TEREDO, 6)
        assert endpoints(h) == ("2001:0:4136:e378:8000:63bf:3fff:fdd2", 5683, "2001:db8::9", 5683)
        assert payload(h, frame) == b"coap"


def test_teredo_port_traffic_that_is_no_ipv6_packet_stays_udp() -> None:
    short = bytes(TEREDO_INNER)[:-2]  # its payload length says 2 bytes more than the datagram holds
    for body in (short, b"\x45" + b"\x00" * 60, b"\x60" + b"\x00" * 20):
        h, _ = one(OUTER / ROUTERS / UDP(sport=50000, dport=3544) / body)
        assert (int(h.tunnel[0]), int(h.proto[0]), endpoints(h)[0]) == (0, 17, "192.0.2.1")


def test_nested_tunnels_are_peeled_and_the_outermost_is_named() -> None:
    pkt = OUTER / ROUTERS / GRE(proto=0x88BE) / Ether(src="02:00:00:00:00:aa") / IP(src="198.51.100.1",
          dst="198.51.100.2") / UDP(dport=4789) / VXLAN(vni=5) / INNER_ETH
    h, frame = one(pkt)
    assert int(h.tunnel[0]) == T_ERSPAN
    assert endpoints(h) == ("10.20.0.5", 50000, "10.20.0.9", 554)
    assert macs(h, frame) == (CAMERA, NVR)


def test_arp_inside_vxlan_is_a_layer_two_frame_of_the_inner_hosts() -> None:
    arp = Ether(src=CAMERA, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=CAMERA, psrc="10.20.0.5", pdst="10.20.0.1")
    h, frame = one(OUTER / ROUTERS / UDP(dport=4789) / VXLAN(vni=1) / arp)
    assert (int(h.tunnel[0]), int(h.ethertype[0]), int(h.ipver[0])) == (T_VXLAN, 0x0806, 0)
    assert frame[int(h.l3_off[0]) : int(h.l2_end[0])] == bytes(arp[ARP])
    assert macs(h, frame)[0] == CAMERA


NOT_TUNNELS = {
    "vxlan-port-without-i-flag": OUTER / ROUTERS / UDP(dport=4789) / VXLAN(flags=0) / INNER_ETH,
    "vxlan-too-short-for-ethernet": OUTER / ROUTERS / UDP(dport=4789) / VXLAN(vni=1) / (b"\x00" * 10),
    "gre-version-1-pptp": OUTER / ROUTERS / GRE(proto=0x880B, version=1, key_present=1) / b"\xff\x03\x00\x21",
    "gre-unknown-protocol": OUTER / ROUTERS / GRE(proto=0x1234) / INNER_TCP,
    "ipip-inner-not-ip": OUTER / IP(src="192.0.2.1", dst="192.0.2.2", proto=4) / (b"\x55" * 40),
    "mpls-pseudowire-ethernet": Ether(type=0x8847) / MPLS(label=16, s=1) / b"\x00\x00\x00\x00" / INNER_ETH,
    "pppoe-lcp": Ether() / PPPoE(sessionid=1) / PPP(proto=0xC021) / b"\x01\x01\x00\x04",
    "gtp-echo-request": OUTER / ROUTERS / UDP(dport=2152) / GTP_U_Header(gtp_type=1, S=1) / (b"\x45" + b"\x00" * 30),
}


@pytest.mark.parametrize("name", sorted(NOT_TUNNELS))
def test_what_is_not_a_decodable_tunnel_stays_the_outer_packet(name: str) -> None:
    h, _ = one(NOT_TUNNELS[name])
    assert int(h.tunnel[0]) == 0
    assert h.error[0] == E_OK
    if int(h.ipver[0]):
        assert endpoints(h)[0] == "192.0.2.1"


def test_vxlan_capture_matches_tshark() -> None:
    if not VXLAN_ARP.exists():
        pytest.skip(f"{VXLAN_ARP} is not here (../shared/data)")
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed (apt-get install tshark)")
    fields = subprocess.run(["tshark", "-r", str(VXLAN_ARP), "-T", "fields", "-E", "separator=,", "-e",
                             "arp.src.hw_mac", "-e", "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4"],
                            capture_output=True, text=True, check=True).stdout.split()
    batches = [b for b in read_capture(VXLAN_ARP) if not isinstance(b, str)]
    seen = []
    for batch in batches:
        h = decode(batch)
        for i in np.flatnonzero(h.ethertype == 0x0806).tolist():
            body = batch.data[int(h.l3_off[i]) : int(h.l2_end[i])].tobytes()
            sender = ":".join(f"{b:02x}" for b in body[8:14])
            seen.append(f"{sender},{'.'.join(map(str, body[14:18]))},{'.'.join(map(str, body[24:28]))}")
            assert int(h.tunnel[i]) == T_VXLAN
    assert seen == fields


def test_engine_counts_tunnels_and_sizes_flows_by_the_inner_frame(tmp_path: Path) -> None:
    pkts = [OUTER / ROUTERS / UDP(sport=61000 + i, dport=4789) / VXLAN(vni=9) / INNER_ETH for i in range(3)]
    pkts.append(OUTER / ROUTERS / GRE(proto=0x0800) / INNER_TCP)
    frames = [(float(i), bytes(p)) for i, p in enumerate(pkts)]
    engine = Engine()
    engine.process(batch_of(frames))
    flows = engine.flush().flows
    assert engine.stats.tunnels == {"vxlan": 3, "gre": 1}
    assert set(engine.stats.to_dict()["tunnels"]) <= set(TUNNELS)
    # all four carry the same inner connection; the tunnels' own ends make no flow; VXLAN's VNI 9 is its own network
    vxlan, gre = sorted(flows, key=lambda f: f.packets, reverse=True)
    for flow in (vxlan, gre):
        assert (flow.a_ip, flow.b_ip, flow.b_port) == ("10.20.0.5", "10.20.0.9", 554)
    assert vxlan.bytes == 3 * len(bytes(INNER_ETH)) and vxlan.packets == 3 and vxlan.extra["vni"] == [9]
    assert gre.bytes == len(bytes(INNER_TCP)) and "vni" not in gre.extra
    assert vxlan.a_mac == CAMERA


# -- the virtual network in the flow key ---------------------------------------------------------------------------

def _vnet(vni: int, inner: Packet, port: int) -> Packet:
    """``inner`` (an Ethernet frame) in VXLAN (udp/4789) or Geneve (udp/6081) network ``vni``."""
    head = VXLAN(vni=vni) if port == 4789 else GENEVE(vni=vni, proto=0x6558)
    return ROUTERS / UDP(sport=61000, dport=port) / head / inner


@pytest.mark.parametrize("port", [4789, 6081], ids=["vxlan", "geneve"])
def test_two_virtual_networks_carrying_the_same_connection_are_two_flows(port: int) -> None:
    # a cloud traffic mirror (AWS VPC Traffic Mirroring: one VNI per session) of two VPCs with one address plan
    back = Ether(src=NVR, dst=CAMERA) / IP(src="10.20.0.9", dst="10.20.0.5") / TCP(sport=554, dport=50000,
                                                                                   flags="A") / b"RTSP/1.0 200 OK"
    sends = [(100, INNER_ETH), (100, INNER_ETH), (100, back), (200, INNER_ETH), (200, back), (200, back), (200, back)]
    frames = [(float(i), bytes(OUTER / _vnet(vni, f, port))) for i, (vni, f) in enumerate(sends)]
    engine = Engine()
    engine.process(batch_of(frames))
    flows = sorted(engine.flush().flows, key=lambda f: f.extra["vni"])
    assert [f.extra["vni"] for f in flows] == [[100], [200]]
    for flow, (ab, ba) in zip(flows, [(2, 1), (1, 3)], strict=True):
        assert (flow.a_ip, flow.a_port, flow.b_ip, flow.b_port) == ("10.20.0.5", 50000, "10.20.0.9", 554)
        assert (flow.pkts_ab, flow.pkts_ba) == (ab, ba)
        assert (flow.bytes_ab, flow.bytes_ba) == (ab * len(bytes(INNER_ETH)), ba * len(bytes(back)))
        assert flow.a_mac == CAMERA


def test_the_flow_key_never_mixes_vlans_and_virtual_networks() -> None:
    # every combination below is one distinct key: a packing of the VLAN (12 bits) and the VNIs (24 bits each) that
    # let one spill into another, or VNI 0 stand for "no tunnel", would merge two of them
    def tagged(vlan: int) -> Packet:
        return Ether(src=CAMERA, dst=NVR) / Dot1Q(vlan=vlan) / INNER_TCP if vlan else INNER_ETH

    cases: list[tuple[Packet, int, list[int]]] = []
    for vlan in (0, 1, 0xFFF):
        cases.append((tagged(vlan), vlan, []))
        for vni in (0, 1, 0x1000, 0x10000, 0xFFFFFF):
            cases.append((OUTER / _vnet(vni, tagged(vlan), 4789), vlan, [vni]))
        for a, b in ((1, 2), (2, 1), (0, 1), (1, 0), (0xFFFFFF, 0), (0, 0xFFFFFF)):
            cases.append((OUTER / _vnet(a, OUTER / _vnet(b, tagged(vlan), 6081), 4789), vlan, [a, b]))
    frames = [(float(i), bytes(p)) for i, (p, _, _) in enumerate(cases)]
    engine = Engine()
    engine.process(batch_of(frames))
    flows = engine.flush().flows
    assert len(flows) == len(cases) == 3 * (1 + 5 + 6)
    got = sorted((f.vlan, f.extra.get("vni", []), f.packets) for f in flows)
    assert got == sorted((vlan, vnis, 1) for _, vlan, vnis in cases)


def test_three_nested_virtual_networks_keep_the_outermost_and_the_innermost() -> None:
    pkt = OUTER / _vnet(7, OUTER / _vnet(8, OUTER / _vnet(9, INNER_ETH, 4789), 6081), 4789)
    h, _ = one(pkt)
    assert endpoints(h) == ("10.20.0.5", 50000, "10.20.0.9", 554)
    assert vni_list(int(h.vni[0])) == [7, 9]
    assert int(h.vni[0]) == ((VNI_PRESENT | 7) << VNI_FIELD) | VNI_PRESENT | 9
    assert vni_list(0) == [] and int(one(OUTER / ROUTERS / GRE(proto=0x6558) / INNER_ETH)[0].vni[0]) == 0


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["vxlan", "geneve", "gre", "erspan2", "erspan3", "ipip", "mpls", "pppoe", "gtp", "teredo"]),
       st.binary(max_size=90), st.integers(0, 0xFFFF))
def test_fuzz_tunnel_payloads_never_crash_and_stay_in_bounds(kind: str, inner: bytes, word: int) -> None:
    pkt = {
        "vxlan": lambda: OUTER / ROUTERS / UDP(dport=4789) / VXLAN(flags=word >> 8) / inner,
        "geneve": lambda: OUTER / ROUTERS / UDP(dport=6081) / (word.to_bytes(2, "big") + b"\x65\x58" + inner),
        "gre": lambda: OUTER / ROUTERS / GRE(proto=0x0800) / inner,
        "erspan2": lambda: OUTER / ROUTERS / GRE(proto=0x88BE, seqnum_present=word & 1) / inner,
        "erspan3": lambda: OUTER / ROUTERS / GRE(proto=0x22EB) / inner,
        "ipip": lambda: OUTER / IP(src="192.0.2.1", dst="192.0.2.2", proto=4 if word & 1 else 41) / inner,
        "mpls": lambda: Ether(type=0x8847) / inner,
        "pppoe": lambda: Ether(type=0x8864) / inner,
        "gtp": lambda: OUTER / ROUTERS / UDP(dport=2152) / (bytes([0x30 | (word & 0x07), 0xFF]) + inner),
        "teredo": lambda: OUTER / ROUTERS / UDP(dport=3544) / (word.to_bytes(2, "big") + inner),
    }[kind]()
    frame = bytes(pkt)
    b = batch_of([(1.0, frame)])
    h = decode(b)
    end = len(frame)
    assert 0 <= int(h.error[0]) < len(ERROR_REASONS)
    assert 0 <= int(h.tunnel[0]) < len(TUNNELS)
    assert int(h.pay_off[0]) >= 0
    assert int(h.pay_off[0]) + int(h.pay_len[0]) <= end
    assert 0 <= int(h.frame_len[0]) <= end
    assert int(h.l2_end[0]) <= end
    for off in (int(h.src_mac_off[0]), int(h.dst_mac_off[0])):
        assert off == -1 or off + 6 <= end


def test_nest_vni_keeps_the_first_as_outermost_and_replaces_the_innermost() -> None:
    first = nest_vni(np.zeros(3, dtype=np.int64), np.array([5, -1, 0], dtype=np.int64))
    assert [vni_list(int(v)) for v in first] == [[5], [], [0]]  # VNI 0 is a network, not "none"
    second = nest_vni(first, np.array([7, 7, -1], dtype=np.int64))
    assert [vni_list(int(v)) for v in second] == [[5, 7], [7], [0]]
    third = nest_vni(second, np.array([9, -1, -1], dtype=np.int64))
    assert [vni_list(int(v)) for v in third] == [[5, 9], [7], [0]]
