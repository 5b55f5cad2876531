"""A tunnel's outer datagram fragmented on its way to the sensor (a VXLAN or ERSPAN mirror over a 1500-byte path: the
50 bytes each adds push every full-size mirrored frame past it) is put back together before it is decapsulated, so
the mirror yields the flows, observations and counts of the same mirror unfragmented (engine/fragments.py)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib.erspan import ERSPAN_II
from scapy.contrib.geneve import GENEVE
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import GRE, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from iotwarden.engine.core import Engine, EngineConfig
from iotwarden.engine.fragments import MAX_PIECES
from tests.engineutil import engine_frames

SPAN = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")  # the tunnel's two ends
CAMERA, NVR = "00:40:8c:11:22:33", "00:12:12:44:55:66"
CAM_IP, NVR_IP = "10.20.0.5", "10.20.0.9"
MTU = 1500  # the path's: a full-size mirrored frame (1514 bytes) plus a tunnel's 36-50 bytes is past it

Wrap = Callable[[int, bytes], Packet]
WRAPS: dict[str, Wrap] = {  # the i-th mirrored frame as its outer IP datagram (a distinct IP id for each)
    "vxlan": lambda i, frame: IP(src="192.0.2.1", dst="192.0.2.2", id=100 + i) / UDP(sport=50000 + i % 8, dport=4789)
    / VXLAN(vni=77) / Raw(frame),
    "erspan": lambda i, frame: IP(src="192.0.2.1", dst="192.0.2.2", id=100 + i)
    / GRE(proto=0x88BE, seqnum_present=1, sequence_number=i) / ERSPAN_II(session_id=1) / Raw(frame),
    "geneve": lambda i, frame: IP(src="192.0.2.1", dst="192.0.2.2", id=100 + i) / UDP(sport=50000, dport=6081)
    / GENEVE(vni=5, proto=0x6558) / Raw(frame),
    "vxlan6": lambda i, frame: IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=50000, dport=4789)
    / VXLAN(vni=77) / Raw(frame),
}


def _inner() -> list[tuple[float, bytes]]:
    """A camera's RTSP-over-HTTP session whose answers are full-size frames, and a DNS exchange: inner frames."""
    cam, nvr = Ether(src=CAMERA, dst=NVR), Ether(src=NVR, dst=CAMERA)
    up, down = IP(src=CAM_IP, dst=NVR_IP), IP(src=NVR_IP, dst=CAM_IP)
    req = b"GET /axis-cgi/mjpg/video.cgi HTTP/1.1\r\nHost: nvr\r\nUser-Agent: AXIS/10.12 libcurl\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Length: %d\r\n\r\n" % (3 * 1460 - 63)
    c, s = 1000, 5000
    frames: list[Packet] = [
        cam / up / TCP(sport=49152, dport=80, flags="S", seq=c),
        nvr / down / TCP(sport=80, dport=49152, flags="SA", seq=s, ack=c + 1),
        cam / up / TCP(sport=49152, dport=80, flags="A", seq=c + 1, ack=s + 1),
        cam / up / TCP(sport=49152, dport=80, flags="PA", seq=c + 1, ack=s + 1) / req,
    ]
    data = head + b"v" * (3 * 1460 - len(head))  # three full segments
    assert len(head) == 63
    for at in range(0, len(data), 1460):  # full-size segments: 1514-byte frames
        frames.append(nvr / down / TCP(sport=80, dport=49152, flags="A", seq=s + 1 + at, ack=c + 1 + len(req))
                      / data[at : at + 1460])
    query = bytes.fromhex("000701000001000000000000" "03777777076578616d706c6503636f6d00" "00010001")  # www.example.com
    frames.append(cam / up / UDP(sport=40000, dport=53) / query)
    return [(1_700_000_000.0 + i * 0.01, bytes(f)) for i, f in enumerate(frames)]


def _mirror(wrap: Wrap, *, mtu: int | None = MTU) -> list[tuple[float, bytes]]:
    """The inner frames as the tunnel delivers them, each outer datagram cut to ``mtu`` (None: not cut); every
    piece at its frame's time."""
    out: list[tuple[float, bytes]] = []
    for i, (ts, frame) in enumerate(_inner()):
        outer = wrap(i, frame)
        if mtu is not None and len(outer) > mtu:
            pieces = fragment(outer, fragsize=mtu - 20) if outer.version == 4 else fragment6(_v6_pieces(outer, i), mtu)
        else:
            pieces = [outer]
        out.extend((ts, bytes(SPAN / p)) for p in pieces)
    return out


def _v6_pieces(outer: Packet, i: int) -> Packet:
    """An IPv6 datagram with a Fragment header (its identification ``i``) after its fixed header, for fragment6()."""
    ip = IPv6(bytes(outer))
    return IPv6(src=ip.src, dst=ip.dst) / IPv6ExtHdrFragment(id=0x7700 + i) / ip.payload


def _run(frames: list[tuple[float, bytes]], *, one_by_one: bool = False,
         engine: Engine | None = None) -> tuple[Engine, list[dict[str, Any]], list[dict[str, Any]]]:
    engine, flows, observations = engine_frames(frames, one_by_one=one_by_one, engine=engine)
    return (engine, sorted((f.to_dict() for f in flows), key=repr),
            sorted((o.to_dict() for o in observations), key=repr))


@pytest.mark.parametrize("tunnel", sorted(WRAPS))
@pytest.mark.parametrize("one_by_one", [False, True])
def test_a_fragmented_mirror_yields_what_the_unfragmented_one_does(tunnel: str, one_by_one: bool) -> None:
    whole = _mirror(WRAPS[tunnel], mtu=None)
    cut = _mirror(WRAPS[tunnel])
    assert len(cut) >= len(whole) + 3  # the three full-size answers at least went in pieces
    base, want_flows, want_obs = _run(whole)
    engine, flows, observations = _run(cut, one_by_one=one_by_one)
    assert flows == want_flows
    assert observations == want_obs
    assert any(o["proto"] == "http" for o in observations) and any(o["proto"] == "dns" for o in observations)
    assert engine.stats.tunnels == base.stats.tunnels
    assert dict(engine.stats.decode_errors) == dict(base.stats.decode_errors) == {}
    assert engine.stats.packets == len(cut)
    (http,) = [f for f in flows if f["b_port"] == 80]
    assert (http["pkts_ab"], http["pkts_ba"]) == (3, 4)
    assert http["bytes_ba"] == 54 + 3 * 1514  # SYN+ACK and the three full-size frames, as on the inner wire


def test_the_completed_datagram_takes_the_place_of_its_last_fragment() -> None:
    # flows are oriented by their first packets: a full-size first frame fragmented must still come first
    big = Ether(src=CAMERA, dst=NVR) / IP(src=CAM_IP, dst=NVR_IP) / UDP(sport=40000, dport=9999) / (b"q" * 1472)
    reply = Ether(src=NVR, dst=CAMERA) / IP(src=NVR_IP, dst=CAM_IP) / UDP(sport=9999, dport=40000) / b"ok"
    frames = []
    for i, (ts, frame) in enumerate([(1.0, bytes(big)), (1.5, bytes(reply))]):
        frames += [(ts, bytes(SPAN / p)) for p in fragment(WRAPS["vxlan"](i, frame), fragsize=MTU - 20)]
    _, (flow,), _ = _run(frames)
    assert (flow["a_ip"], flow["a_port"], flow["pkts_ab"], flow["pkts_ba"]) == (CAM_IP, 40000, 1, 1)
    assert flow["first_seen"] == 1.0 and flow["extra"]["vni"] == [77]


def _reversed(frames: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """Each datagram's pieces in reverse order (its last piece has MF clear)."""
    out: list[tuple[float, bytes]] = []
    run: list[tuple[float, bytes]] = []
    for ts, frame in frames:
        run.append((ts, frame))
        if not Ether(frame)[IP].flags.MF:
            out += run[::-1]
            run = []
    return out


@pytest.mark.parametrize("tunnel", ["erspan", "vxlan", "geneve"])
@pytest.mark.parametrize("one_by_one", [False, True])
def test_outer_pieces_in_reverse_order(tunnel: str, one_by_one: bool) -> None:
    # GRE says it is GRE in every piece; a later piece of UDP before its first cannot say it is VXLAN's: it waits,
    # held from the flow table, and the first claims it (before: counted in the port-less flow of the tunnel's ends)
    base, want_flows, want_obs = _run(_mirror(WRAPS[tunnel], mtu=None))
    engine, flows, observations = _run(_reversed(_mirror(WRAPS[tunnel])), one_by_one=one_by_one)
    assert observations == want_obs
    assert flows == want_flows
    assert engine.stats.tunnels == base.stats.tunnels
    assert dict(engine.stats.decode_errors) == {}


def _plain_pieces() -> list[tuple[float, bytes]]:
    """A camera's 3.5 KB UDP datagram (no tunnel's) in three pieces on its own link, reversed, and a reply."""
    big = IP(src=CAM_IP, dst=NVR_IP, id=31) / UDP(sport=40000, dport=9999) / (b"q" * 3500)
    pieces = [bytes(Ether(src=CAMERA, dst=NVR) / p) for p in fragment(big, fragsize=1480)][::-1]
    reply = bytes(Ether(src=NVR, dst=CAMERA) / IP(src=NVR_IP, dst=CAM_IP) / UDP(sport=9999, dport=40000) / b"ok")
    return [(1.0 + i * 0.01, f) for i, f in enumerate([*pieces, reply])]


@pytest.mark.parametrize("one_by_one", [False, True])
def test_a_plain_datagrams_later_pieces_are_counted_as_any_fragment_once_its_first_says_so(one_by_one: bool) -> None:
    # the first piece (third to come) says port 9999: no tunnel's; the two that waited are counted in the port-less
    # flow at their own times, as on arrival
    engine, flows, _ = _run(_plain_pieces(), one_by_one=one_by_one)
    assert [(f["ip_proto"], f["a_port"], f["pkts_ab"], f["pkts_ba"], f["first_seen"], f["last_seen"])
            for f in flows] == [(17, 0, 2, 0, 1.0, 1.01), (17, 40000, 1, 1, 1.02, 1.03)]
    assert dict(engine.stats.decode_errors) == {}


def test_a_waiting_piece_never_claimed_is_counted_and_dropped_within_the_limits() -> None:
    # the first piece never comes: the two later ones are given up at the end (unfinished, one datagram) and counted
    # as any fragment, in the port-less flow
    frames = _plain_pieces()
    engine, flows, _ = _run([frames[0], frames[1], frames[3]])
    assert [(min(f["a_port"], f["b_port"]), f["pkts_ab"] + f["pkts_ba"]) for f in flows] == [(0, 2), (9999, 1)]
    assert engine.stats.decode_errors["ip_defrag_unfinished"] == 1
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 0  # no first piece was lost
    # past the timeout (30 s), given up when the next packet comes, counted then
    later = [(frames[0][0] + 31.0, frames[3][1])]
    engine, flows, _ = _run([frames[0], *later], one_by_one=True)
    assert engine.stats.decode_errors["ip_defrag_timeout"] == 1
    assert [(min(f["a_port"], f["b_port"]), f["pkts_ab"] + f["pkts_ba"], f["first_seen"]) for f in flows] == [
        (0, 1, 1.0), (9999, 1, 32.0)]
    # a full table drops the oldest (table_full): what waited there is counted; copies of one waiting piece past
    # MAX_PIECES give its datagram up (too_many_pieces)
    many = []
    for i in range(4):
        big = IP(src=CAM_IP, dst=NVR_IP, id=40 + i) / UDP(sport=40000, dport=9999) / (b"q" * 3500)
        many.append((2.0 + i, bytes(Ether(src=CAMERA, dst=NVR) / fragment(big, fragsize=1480)[-1])))
    engine = Engine(config=EngineConfig(fragment_max_datagrams=2))
    engine, flows, _ = _run(many, engine=engine)
    assert engine.stats.decode_errors["ip_defrag_table_full"] == 2
    assert engine.stats.decode_errors["ip_defrag_unfinished"] == 2
    assert [(f["a_port"], f["pkts_ab"]) for f in flows] == [(0, 4)]
    copies = [(3.0, frames[0][1])] * (MAX_PIECES + 1)
    engine, flows, _ = _run(copies)
    assert engine.stats.decode_errors["ip_defrag_too_many_pieces"] == 1
    assert [(f["a_port"], f["pkts_ab"]) for f in flows] == [(0, MAX_PIECES + 1)]


def test_two_vlans_identical_outer_pieces_out_of_order_are_kept_apart() -> None:
    # two VLANs' VXLAN tunnels with the same ends and IP identification, other inner frames, every piece reversed
    # and the two interleaved: each VLAN's later pieces wait for its own first (mixed, their bytes would conflict)
    pieces = {}
    for vlan, port, payload in ((10, 9999, b"r"), (20, 9998, b"b")):
        big = Ether(src=CAMERA, dst=NVR) / IP(src=CAM_IP, dst=NVR_IP) / UDP(sport=40000, dport=port) / (payload * 1472)
        pieces[vlan] = [bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / Dot1Q(vlan=vlan) / p)
                        for p in fragment(WRAPS["vxlan"](0, bytes(big)), fragsize=MTU - 20)][::-1]
    frames = [(1.0 + i * 0.01, f) for i, f in enumerate(x for pair in zip(pieces[10], pieces[20], strict=True)
                                                         for x in pair)]
    for one_by_one in (False, True):
        engine, flows, _ = _run(frames, one_by_one=one_by_one)
        assert [(f["b_port"], f["pkts_ab"], f["bytes_ab"]) for f in flows] == [(9998, 1, 1514), (9999, 1, 1514)]
        assert dict(engine.stats.decode_errors) == {}


def test_overlapping_outer_pieces_as_fragments_py_reads_them() -> None:
    big = Ether(src=CAMERA, dst=NVR) / IP(src=CAM_IP, dst=NVR_IP) / UDP(sport=40000, dport=9999) / (b"q" * 1472)
    pieces = fragment(WRAPS["vxlan"](0, bytes(big)), fragsize=512)
    assert len(pieces) == 3
    forged = pieces[1].copy()
    load = bytearray(bytes(forged[Raw].load))
    load[10] ^= 0xFF
    forged[Raw].load = bytes(load)
    _, flows, _ = _run([(1.0, bytes(SPAN / p)) for p in (pieces[0], pieces[1], pieces[1], pieces[2], pieces[2])])
    # a copy before completion adds nothing; one after it (a late copy) is ignored, not counted either
    assert [(f["a_ip"], f["pkts_ab"], f["bytes_ab"]) for f in flows] == [(CAM_IP, 1, len(big))]
    engine, flows, observations = _run([(1.0, bytes(SPAN / p)) for p in (pieces[0], pieces[1], forged, pieces[2])])
    # RFC 5722 §4: the datagram is dropped; its inner packet is neither counted nor dissected. The piece after the
    # drop starts a datagram of its own, not known to be a tunnel's: counted as any fragment (the tunnel ends')
    assert observations == []
    assert [(f["a_ip"], f["ip_proto"], f["a_port"], f["pkts_ab"]) for f in flows] == [("192.0.2.1", 17, 0, 1)]
    assert engine.stats.decode_errors["ip_defrag_overlap_conflict"] == 1


def test_a_lost_outer_piece_leaves_the_inner_packet_unread_and_counted() -> None:
    big = Ether(src=CAMERA, dst=NVR) / IP(src=CAM_IP, dst=NVR_IP) / UDP(sport=40000, dport=9999) / (b"q" * 1472)
    first, _ = fragment(WRAPS["vxlan"](0, bytes(big)), fragsize=MTU - 20)
    engine, flows, observations = _run([(1.0, bytes(SPAN / first))])
    assert flows == [] and observations == []
    assert engine.stats.decode_errors["ip_defrag_unfinished"] == 1
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 1
    assert engine.stats.tunnels == {}


def test_a_fragmented_inner_datagram_inside_a_fragmented_tunnel_is_reassembled_as_in_the_unfragmented_mirror() -> None:
    # the inner datagram's own fragments (inside the tunnel) are put back together once each outer datagram is, as
    # in the unfragmented mirror (tests/engine/test_inner_fragments.py)
    inner = fragment(IP(src=NVR_IP, dst=CAM_IP, id=9) / UDP(sport=161, dport=40001) / (b"s" * 2900), fragsize=1480)
    frames = [(float(i), bytes(Ether(src=NVR, dst=CAMERA) / p)) for i, p in enumerate(inner)]
    whole = [(ts, bytes(SPAN / WRAPS["vxlan"](i, f))) for i, (ts, f) in enumerate(frames)]
    cut = [(ts, bytes(SPAN / p)) for i, (ts, f) in enumerate(frames)
           for p in fragment(WRAPS["vxlan"](i, f), fragsize=MTU - 20)]
    base, want, _ = _run(whole)
    engine, got, _ = _run(cut)
    assert got == want and len(want) == 2  # the datagram's flow (first piece) and the port-less one
    assert dict(engine.stats.decode_errors) == dict(base.stats.decode_errors) == {}


@settings(max_examples=120, deadline=None)
@given(tunnel=st.sampled_from(["vxlan", "erspan", "vxlan6"]), data=st.data())
def test_fuzz_damaged_outer_fragments_never_raise(tunnel: str, data: st.DataObject) -> None:
    frames = [bytearray(f) for _, f in _mirror(WRAPS[tunnel])]
    for _ in range(data.draw(st.integers(1, 8))):  # bytes of the outer IP, fragment, tunnel and inner headers
        frame = frames[data.draw(st.integers(0, len(frames) - 1))]
        at = data.draw(st.integers(14, min(len(frame) - 1, 14 + 40 + 8 + 16 + 14 + 40)))
        frame[at] = data.draw(st.integers(0, 255))
    order = data.draw(st.permutations(range(len(frames))))
    one_by_one = data.draw(st.booleans())
    engine, flows, _ = _run([(float(i), bytes(frames[j])) for i, j in enumerate(order)], one_by_one=one_by_one)
    assert not engine.stats.analyzer_errors
    assert sum(f["pkts_ab"] + f["pkts_ba"] for f in flows) <= len(frames)


def test_inner_conversations_as_tshark_counts_them_with_outer_reassembly(tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed (apt-get install tshark)")
    path = tmp_path / "vxlan-fragmented.pcap"
    packets = []
    for ts, frame in _mirror(WRAPS["vxlan"]):
        p = Ether(frame)
        p.time = ts
        packets.append(p)
    wrpcap(str(path), packets)
    done = subprocess.run(["tshark", "-r", str(path), "-q", "-z", "conv,tcp", "-z", "conv,udp"], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    # "a:port <-> b:port  frames bytes  frames bytes  frames bytes ..." (tshark counts the outer frame's bytes)
    frames = {}
    for line in done.splitlines():  # a <-> b, frames/bytes "bytes" each way, then the total frames
        parts = line.split()
        if len(parts) > 9 and parts[1] == "<->":
            frames[(parts[0], parts[2])] = int(parts[9])
    _, flows, _ = _run(_mirror(WRAPS["vxlan"]))
    for f in flows:
        ends = {(f"{f['a_ip']}:{f['a_port']}", f"{f['b_ip']}:{f['b_port']}"),
                (f"{f['b_ip']}:{f['b_port']}", f"{f['a_ip']}:{f['a_port']}")}
        (key,) = [k for k in frames if k in ends]
        assert frames[key] == f["pkts_ab"] + f["pkts_ba"]
    assert {f"{NVR_IP}:80", f"{NVR_IP}:53"} <= {end for key in frames for end in key}
    assert len(flows) == 2  # tshark lists the tunnel's own UDP conversations too; the engine makes no flow of them
