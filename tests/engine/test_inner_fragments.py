"""A datagram fragmented inside a tunnel (a mirrored host's own fragmented DNS answer or TCP segment, carried in whole
VXLAN, Geneve, ERSPAN or IP-in-IP packets) is put back together within its virtual networks, so the mirror reads what
the host's own link would, and two tenants' identical fragments never mix (engine/fragments.py)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scapy.contrib.erspan import ERSPAN_II
from scapy.contrib.geneve import GENEVE
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import GRE, Ether
from scapy.layers.ppp import PPP, PPPoE
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from iotwarden.engine.core import Engine
from iotwarden.engine.decode import decode
from iotwarden.engine.fragments import Reassembler, reassemble
from tests.engineutil import engine_frames
from tests.sources.capbuild import batch_of

SPAN = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")  # the tunnel's two ends
HOST, RESOLVER = "00:40:8c:11:22:33", "00:12:12:44:55:66"
C4, S4, C6, S6 = "10.20.0.5", "10.20.0.53", "fd00::5", "fd00::53"

Wrap = Callable[[bytes, int], Packet]
WRAPS: dict[str, Wrap] = {  # a mirrored inner frame (Ethernet) as its whole tunnel packet, in virtual network vni
    "vxlan": lambda frame, vni: IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=50000, dport=4789)
    / VXLAN(vni=vni) / Raw(frame),
    "geneve": lambda frame, vni: IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=50000, dport=6081)
    / GENEVE(vni=vni, proto=0x6558) / Raw(frame),
    "erspan": lambda frame, vni: IP(src="192.0.2.1", dst="192.0.2.2")
    / GRE(proto=0x88BE, seqnum_present=1, sequence_number=1) / ERSPAN_II(session_id=1) / Raw(frame),
    "ipip": lambda frame, vni: IP(src="192.0.2.1", dst="192.0.2.2", proto=4) / Raw(bytes(Ether(frame).payload)),
    "pppoe": lambda frame, vni: PPPoE(sessionid=7) / PPP(proto=0x0021) / Raw(bytes(Ether(frame).payload)),
    "vxlan6": lambda frame, vni: IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=50000, dport=4789)
    / VXLAN(vni=vni) / Raw(frame),
}


def _answer(family: int, label: str = "big") -> tuple[Packet, Packet]:
    """A DNS query and its ~3 KB answer (15 TXT records, as an EDNS answer past the path MTU is), IP down."""
    answers = [DNSRR(rrname=f"{label}{i}.example.", type="TXT", rdata=[label[0] * 200]) for i in range(15)]
    ip_q, ip_a = (IP(src=C4, dst=S4), IP(src=S4, dst=C4, id=4242)) if family == 4 else (IPv6(src=C6, dst=S6),
                                                                                         IPv6(src=S6, dst=C6))
    query = ip_q / UDP(sport=40000, dport=53) / DNS(id=7, qd=DNSQR(qname=f"{label}.example.", qtype="TXT"))
    answer = ip_a / UDP(sport=53, dport=40000) / DNS(id=7, qr=1, aa=1,
                                                      qd=DNSQR(qname=f"{label}.example.", qtype="TXT"), an=answers)
    return query, answer


def _pieces(ip: Packet) -> list[Packet]:
    """The host's own fragments of ``ip`` on a 1500-byte link."""
    if ip.version == 4:
        return list(fragment(ip, fragsize=1480))
    return list(fragment6(IPv6(src=ip.src, dst=ip.dst) / IPv6ExtHdrFragment(id=0x4242) / ip.payload, 1500))


def _eth(ip: Packet) -> bytes:
    return bytes(Ether(src=RESOLVER if ip.src in (S4, S6) else HOST, dst=HOST if ip.src in (S4, S6) else RESOLVER)
                 / ip)


def _frames(ips: list[Packet], wrap: Wrap | None, vni: int = 77) -> list[tuple[float, bytes]]:
    """The host's packets, each mirrored whole through ``wrap`` (None: as on the host's own link), one a 10 ms."""
    out = [_eth(ip) if wrap is None else bytes(SPAN / wrap(_eth(ip), vni)) for ip in ips]
    return [(1_700_000_000.0 + i * 0.01, f) for i, f in enumerate(out)]


def _run(frames: list[tuple[float, bytes]], *, one_by_one: bool = False) -> tuple[Engine, list[dict[str, Any]],
                                                                                   list[dict[str, Any]]]:
    engine, flows, observations = engine_frames(frames, one_by_one=one_by_one)
    return engine, [f.to_dict() for f in flows], [o.to_dict() for o in observations]


def _read(observations: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What was read, where and when (not the tunnel's virtual networks, which the host's own link lacks)."""
    return sorted((o["proto"], o["ts"], o["src_ip"], o["src_port"], o["dst_ip"], o["dst_port"], repr(o["fields"]))
                  for o in observations)


def _counts(flows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((f["a_ip"], f["a_port"], f["b_ip"], f["b_port"], f["ip_proto"], f["pkts_ab"], f["pkts_ba"],
                   f["bytes_ab"], f["bytes_ba"]) for f in flows)


@pytest.mark.parametrize(("tunnel", "family"), [("vxlan", 4), ("vxlan", 6), ("geneve", 4), ("erspan", 4),
                                                ("ipip", 4), ("vxlan6", 4), ("pppoe", 4)])
def test_a_dns_answer_fragmented_inside_a_tunnel_reads_as_on_the_hosts_link(tunnel: str, family: int) -> None:
    query, answer = _answer(family)
    pieces = _pieces(answer)
    assert len(pieces) == 3
    _, _, whole = _run(_frames([query, answer], None))
    host, host_flows, host_obs = _run(_frames([query, *pieces], None))
    engine, flows, observations = _run(_frames([query, *pieces], WRAPS[tunnel]))
    dns = [o for o in observations if o["proto"] == "dns" and o["src_port"] == 53]
    assert len(dns) == 1 and len(dns[0]["fields"]["answers"]) == 15  # before: cut at its first fragment
    assert dns[0].get("vni") == ([77] if tunnel in ("vxlan", "geneve", "vxlan6") else None)
    assert _read(observations) == _read(host_obs)  # read at the fragment completing it, as on the host's link
    assert [(o["proto"], repr(o["fields"])) for o in observations] == [(o["proto"], repr(o["fields"])) for o in whole]
    # every fragment counted as on the host's link (its inner frame: IP-in-IP's has no Ethernet header; PPPoE's
    # session header is on the link), in the tunnel's virtual network
    link = {"ipip": 14, "pppoe": -8}.get(tunnel, 0)
    assert _counts(flows) == [(*f[:7], f[7] - link * f[5], f[8] - link * f[6]) for f in _counts(host_flows)]
    if tunnel in ("vxlan", "geneve", "vxlan6"):
        assert {f["extra"].get("vni") and tuple(f["extra"]["vni"]) for f in flows} == {(77,)}
    assert dict(engine.stats.decode_errors) == dict(host.stats.decode_errors) == {}
    assert dict(engine.stats.parse_errors) == {}


@pytest.mark.parametrize("order", ["in_order", "reversed"])
def test_a_tcp_segment_fragmented_inside_a_tunnel_reads_as_unfragmented(order: str) -> None:
    c, s = 1000, 5000
    up, down = IP(src=C4, dst=S4), IP(src=S4, dst=C4)
    request = (b"POST /api/v1/telemetry HTTP/1.1\r\nHost: hub\r\nUser-Agent: Shelly/1.14 (SHPLG-S)\r\n"
               b"Content-Length: 2800\r\n\r\n" + b"t" * 2800)
    hello = [up / TCP(sport=49152, dport=80, flags="S", seq=c),
             down / TCP(sport=80, dport=49152, flags="SA", seq=s, ack=c + 1),
             up / TCP(sport=49152, dport=80, flags="A", seq=c + 1, ack=s + 1)]
    segment = IP(src=C4, dst=S4, id=77) / TCP(sport=49152, dport=80, flags="PA", seq=c + 1, ack=s + 1) / request
    reply = down / TCP(sport=80, dport=49152, flags="PA", seq=s + 1, ack=c + 1 + len(request)) / (
        b"HTTP/1.1 204 No Content\r\nServer: lighttpd/1.4.59\r\n\r\n")
    pieces = _pieces(segment)
    assert len(pieces) == 2
    sent = pieces if order == "in_order" else pieces[::-1]
    _, _, want = _run(_frames([*hello, segment, reply], WRAPS["vxlan"]))
    engine, _, observations = _run(_frames([*hello, *sent, reply], WRAPS["vxlan"]))
    http = [o for o in observations if o["proto"] == "http"]
    assert any(o["fields"].get("user_agent") == "Shelly/1.14 (SHPLG-S)" for o in http)  # before: none
    assert sorted(repr((o["proto"], o["fields"])) for o in observations) == sorted(
        repr((o["proto"], o["fields"])) for o in want)
    assert dict(engine.stats.decode_errors) == {}


def test_two_virtual_networks_identical_fragments_are_kept_apart() -> None:
    # two tenants' overlays reuse 10.20.0.0/16: the same addresses, ports and IP identification, other answers; their
    # pieces interleaved. Keyed without the VNI, the second tenant's pieces would overlap the first's with other
    # bytes (RFC 5722: both dropped) or complete its datagram
    query, red = _answer(4, "red")
    _, blue = _answer(4, "blu")
    red_pieces, blue_pieces = _pieces(red), _pieces(blue)
    assert [len(bytes(p)) for p in red_pieces] == [len(bytes(p)) for p in blue_pieces]
    frames: list[tuple[float, bytes]] = []
    sent = [(1, query), (2, query)]
    for red_piece, blue_piece in zip(red_pieces, blue_pieces, strict=True):
        sent += [(1, red_piece), (2, blue_piece)]
    for i, (vni, ip) in enumerate(sent):
        frames.append((100.0 + i, bytes(SPAN / WRAPS["vxlan"](_eth(ip), vni))))
    engine, flows, observations = _run(frames, one_by_one=True)
    answers = {tuple(o["vni"]): o["fields"]["answers"] for o in observations
               if o["proto"] == "dns" and o["src_port"] == 53}
    assert sorted(answers) == [(1,), (2,)]
    assert all("r" * 200 in repr(a) for a in answers[(1,)]) and all("b" * 200 in repr(a) for a in answers[(2,)])
    assert dict(engine.stats.decode_errors) == {}
    assert sorted(tuple(f["extra"]["vni"]) for f in flows if f["a_port"] or f["b_port"]) == [(1,), (2,)]


def test_the_inner_reassembler_is_the_outer_ones_with_its_limits() -> None:
    # one table for both (its datagram, byte and piece limits, its timeout): an inner datagram never completed is
    # dropped at the end and its first piece counted unread
    query, answer = _answer(4)
    first, *_ = _pieces(answer)
    engine, _, observations = _run(_frames([query, first], WRAPS["vxlan"]))
    assert [o for o in observations if o["src_port"] == 53] == []
    assert engine.stats.decode_errors["ip_defrag_unfinished"] == 1
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 1
    frags = Reassembler(max_datagrams=2)
    for vni in range(1, 5):  # four tenants' first pieces: the table holds two
        frames = _frames([first], WRAPS["vxlan"], vni)
        batch = batch_of(frames)
        reassemble(batch, decode(batch), frags)
    assert len(frags) == 2 and frags.dropped["table_full"] == 2


def _write_pcap(path: Path, frames: list[tuple[float, bytes]]) -> None:
    """``frames`` (time, Ethernet frame) as a pcap file for tshark."""
    packets = []
    for ts, f in frames:
        p = Ether(f)
        p.time = ts
        packets.append(p)
    wrpcap(str(path), packets)


def test_tshark_reassembles_the_inner_datagram_at_the_same_frame(tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    query, answer = _answer(4)
    frames = _frames([query, *_pieces(answer)[::-1]], WRAPS["vxlan"])
    path = tmp_path / "inner.pcap"
    _write_pcap(path, frames)
    done = subprocess.run(["tshark", "-r", str(path), "-o", "ip.defragment:TRUE", "-Y", "dns.flags.response == 1",
                           "-T", "fields", "-e", "frame.number", "-e", "dns.count.answers", "-e", "vxlan.vni"],
                          capture_output=True, text=True, timeout=60, check=True)
    theirs = [tuple(line.split("\t")) for line in done.stdout.splitlines()]
    _, _, observations = _run(frames)
    ours = [(str(round((o["ts"] - frames[0][0]) / 0.01) + 1), str(len(o["fields"]["answers"])),
             str(o["vni"][0])) for o in observations if o["proto"] == "dns" and o["src_port"] == 53]
    assert ours == theirs == [("4", "15", "77")]


# a tunnel inside the tunnel (an IP-in-IP or GRE datagram a mirrored router sent), fragmented within the outer one:
# each of its fragments in a whole VXLAN packet; the unfragmented datagram is one (jumbo) VXLAN packet
NESTED: dict[str, Callable[[Packet], Packet]] = {
    "ipip": lambda ip: IP(src="172.16.0.1", dst="172.16.0.2", id=9090, proto=4) / ip,
    "gre": lambda ip: IP(src="172.16.0.1", dst="172.16.0.2", id=9090) / GRE(proto=0x0800) / ip,
    "gre_eth": lambda ip: IP(src="172.16.0.1", dst="172.16.0.2", id=9090) / GRE(proto=0x6558) / Raw(_eth(ip)),
    "ipip6": lambda ip: IPv6(src="fd00:1::1", dst="fd00:1::2") / IPv6ExtHdrFragment(id=0x9090, nh=4) / ip,
    # UDP: reversed, its later pieces wait for the first to say VXLAN
    "vxlan": lambda ip: IP(src="172.16.0.1", dst="172.16.0.2", id=9090) / UDP(sport=50001, dport=4789)
    / VXLAN(vni=5) / Raw(_eth(ip)),
}


def _nested_pieces(carrier: Packet) -> list[Packet]:
    if carrier.version == 4:
        return list(fragment(carrier, fragsize=1480))
    return list(fragment6(carrier, 1500))


@pytest.mark.parametrize("nested", sorted(NESTED))
@pytest.mark.parametrize("order", ["in_order", "reversed"])
def test_a_tunnel_fragmented_inside_a_tunnel_is_followed_as_unfragmented(nested: str, order: str) -> None:
    query, answer = _answer(4)
    carrier = NESTED[nested](answer)
    pieces = _nested_pieces(carrier)
    assert len(pieces) == 3
    sent = pieces if order == "in_order" else pieces[::-1]
    base, want_flows, want = _run(_frames([NESTED[nested](query), carrier], WRAPS["vxlan"]))
    engine, flows, observations = _run(_frames([NESTED[nested](query), *sent], WRAPS["vxlan"]))
    dns = [o for o in observations if o["proto"] == "dns" and o["src_port"] == 53]
    assert len(dns) == 1 and len(dns[0]["fields"]["answers"]) == 15  # before: counted ip_fragment_flow_gone
    assert dns[0]["vni"] == ([77, 5] if nested == "vxlan" else [77])
    late = {o["ts"] for o in want if o["src_port"] == 53}  # the answer is read at its last piece's time
    assert _read(observations) == _read([{**o, "ts": o["ts"] + 0.02 if o["ts"] in late else o["ts"]} for o in want])
    # counted once in the answer's flow, as the unfragmented datagram (before: its pieces in the port-less flow of
    # the nested tunnel's ends, the answer in none)
    assert sorted(repr({**f, "last_seen": None}) for f in flows) == sorted(
        repr({**f, "last_seen": None}) for f in want_flows)
    assert [f["last_seen"] for f in flows if f["b_port"] == 53] == [_frames([query, *sent], None)[-1][0]]
    assert engine.stats.tunnels == base.stats.tunnels
    assert dict(engine.stats.decode_errors) == dict(base.stats.decode_errors) == {}


def test_tshark_follows_the_tunnel_fragmented_inside_the_tunnel(tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    query, answer = _answer(4)
    frames = _frames([NESTED["ipip"](query), *_nested_pieces(NESTED["ipip"](answer))[::-1]], WRAPS["vxlan"])
    path = tmp_path / "nested.pcap"
    _write_pcap(path, frames)
    done = subprocess.run(["tshark", "-r", str(path), "-o", "ip.defragment:TRUE", "-Y", "dns.flags.response == 1",
                           "-T", "fields", "-e", "frame.number", "-e", "dns.count.answers", "-e", "vxlan.vni",
                           "-e", "ip.src"],
                          capture_output=True, text=True, timeout=60, check=True)
    theirs = [tuple(line.split("\t")) for line in done.stdout.splitlines()]
    _, _, observations = _run(frames)
    ours = [(str(round((o["ts"] - frames[0][0]) / 0.01) + 1), str(len(o["fields"]["answers"])), str(o["vni"][0]),
             f"192.0.2.1,172.16.0.1,{o['src_ip']}")
            for o in observations if o["proto"] == "dns" and o["src_port"] == 53]
    assert ours == theirs == [("4", "15", "77", f"192.0.2.1,172.16.0.1,{S4}")]


def test_two_virtual_networks_identical_tunnels_out_of_order_are_kept_apart() -> None:
    # VXLAN inside two tenants' VXLAN: the same inner tunnel ends and IP identification, other answers, every piece
    # reversed and the two interleaved: each tenant's later pieces wait for its own first
    query, red = _answer(4, "red")
    _, blue = _answer(4, "blu")
    sent: list[tuple[int, Packet]] = [(1, NESTED["vxlan"](query)), (2, NESTED["vxlan"](query))]
    for red_piece, blue_piece in zip(_nested_pieces(NESTED["vxlan"](red))[::-1],
                                     _nested_pieces(NESTED["vxlan"](blue))[::-1], strict=True):
        sent += [(1, red_piece), (2, blue_piece)]
    frames = [(100.0 + i, bytes(SPAN / WRAPS["vxlan"](_eth(ip), vni)))
              for i, (vni, ip) in enumerate(sent)]
    for one_by_one in (False, True):
        engine, flows, observations = _run(frames, one_by_one=one_by_one)
        answers = {tuple(o["vni"]): o["fields"]["answers"] for o in observations
                   if o["proto"] == "dns" and o["src_port"] == 53}
        assert sorted(answers) == [(1, 5), (2, 5)]
        assert all("r" * 200 in repr(a) for a in answers[(1, 5)])
        assert all("b" * 200 in repr(a) for a in answers[(2, 5)])
        assert dict(engine.stats.decode_errors) == {}
        assert sorted(tuple(f["extra"]["vni"]) for f in flows) == [(1, 5), (2, 5)]  # no port-less flow of pieces
