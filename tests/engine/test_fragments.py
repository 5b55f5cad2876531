"""IP fragments (issues #3/#4): the first fragment of a fragmented datagram carries the transport header and only
the start of the payload, so it is never dissected (nor probed) as if it were the datagram; it is counted in
``decode_errors["ip_fragment_incomplete"]``. An IPv6 atomic fragment (RFC 6946) is a whole datagram.

Fragments are built with scapy's ``fragment()`` (IPv4, RFC 791) and ``fragment6()`` (IPv6, RFC 8200 §4.5); which
frames are first fragments is checked against tshark on the same frames."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether
from scapy.layers.snmp import SNMP, SNMPresponse, SNMPvarbind
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet as ScapyPacket
from scapy.packet import Raw
from scapy.utils import wrpcap

from iotwarden.dissect.base import Dissector, Packet, StreamDissector, confirm
from iotwarden.engine.core import Engine, EngineConfig
from iotwarden.engine.decode import decode
from iotwarden.engine.fragments import FRAGMENT_TIMEOUT_S
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import SHARED_DATA
from tests.sources.capbuild import batch_of

C4, S4 = "192.168.1.10", "192.168.1.20"
C6, S6 = "fd00::10", "fd00::20"
MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}


def _frames(packets: list[ScapyPacket]) -> list[tuple[float, bytes]]:
    return [(float(i), bytes(Ether(**MACS) / p)) for i, p in enumerate(packets)]


def _dns_answer(ip: ScapyPacket) -> ScapyPacket:
    """A DNS answer of ~3 KB (many TXT records, as an EDNS answer over the path MTU is)."""
    answers = [DNSRR(rrname="big.example.", type="TXT", rdata=["x" * 200])]
    answers += [DNSRR(rrname=f"big{i}.example.", type="TXT", rdata=["y" * 200]) for i in range(14)]
    return ip / UDP(sport=53, dport=40000) / DNS(id=7, qr=1, aa=1, qd=DNSQR(qname="big.example.", qtype="TXT"),
                                                 an=answers)


def _snmp_response(ip: ScapyPacket) -> ScapyPacket:
    """An SNMPv2c GetBulk-sized answer of ~2.5 KB (RFC 3416 §4.2.3 Response-PDU)."""
    binds = [SNMPvarbind(oid=f"1.3.6.1.2.1.2.2.1.2.{i}", value=f"interface-{i:03d}-" + "d" * 40) for i in range(40)]
    return ip / UDP(sport=161, dport=40001) / SNMP(version=1, community="public",
                                                  PDU=SNMPresponse(id=3, varbindlist=binds))


def _run(frames: list[tuple[float, bytes]], dissectors: list[Dissector] | None = None) -> tuple[Engine,
                                                                                               list[Observation]]:
    engine = Engine(dissectors)
    out = engine.process(batch_of(frames))
    done = engine.flush()
    return engine, out.observations + done.observations


def _about(observations: list[Observation], proto: str) -> list[Observation]:
    return [o for o in observations if o.proto == proto]


# -- decode -------------------------------------------------------------------------------------------------

def test_decode_marks_first_fragments_only() -> None:
    v4 = fragment(_dns_answer(IP(src=S4, dst=C4)), fragsize=1480)
    v6 = fragment6(_dns_answer(IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment()), 1280)
    atomic = IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(m=0, offset=0, id=9) / UDP(sport=53, dport=40000) / b"x"
    whole = IP(src=S4, dst=C4, flags="DF") / UDP(sport=53, dport=40000) / b"x"
    packets = [*v4, *v6, atomic, whole]
    h = decode(batch_of(_frames(packets)))
    assert len(v4) == 3 and len(v6) == 3
    assert h.frag_head.tolist() == [True, False, False, True, False, False, False, False]
    assert h.frag.tolist() == [False, True, True, False, True, True, False, False]
    assert h.dport.tolist()[0] == 40000 and h.dport.tolist()[3] == 40000  # the first fragment keeps its ports


def test_an_ipv6_fragment_header_with_reserved_bits_set_is_still_a_first_fragment() -> None:
    p = IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(m=1, offset=0, res2=3, id=5) / UDP(sport=53, dport=40000) / b"x"
    assert decode(batch_of(_frames([p]))).frag_head.tolist() == [True]


def test_a_tunnel_first_fragment_is_not_decapsulated_until_reassembled() -> None:
    inner = Ether(**MACS) / IP(src=C4, dst=S4) / UDP(sport=40000, dport=53) / (b"q" * 40)
    outer = IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", id=77) / UDP(sport=5000, dport=4789) / VXLAN(vni=1) / inner
    h = decode(batch_of(_frames([outer])))
    assert h.tunnel.tolist() == [0]  # its inner frame is cut where the fragment ends: read once the datagram is whole
    assert h.dport.tolist() == [4789] and h.frag_head.tolist() == [True]


@settings(max_examples=300, deadline=None)
@given(mf=st.booleans(), df=st.booleans(), offset=st.integers(0, 0x1FFF), v6=st.booleans(),
       res=st.integers(0, 3), body=st.binary(max_size=64))
def test_fuzz_fragment_flags(*, mf: bool, df: bool, offset: int, v6: bool, res: int, body: bytes) -> None:
    if v6:
        p = IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(m=int(mf), offset=offset, res2=res, id=1) / UDP() / body
    else:
        p = IP(src=S4, dst=C4, flags=(1 if mf else 0) | (2 if df else 0), frag=offset) / UDP() / body
    h = decode(batch_of(_frames([p])))
    assert h.error.tolist() == [0]
    assert h.frag_head.tolist() == [mf and offset == 0]
    assert h.frag.tolist() == [offset != 0]


# -- the engine: a datagram is read once, whole, at its last fragment --------------------------------------------

def _dns_pieces(family: int) -> tuple[ScapyPacket, ScapyPacket, list[ScapyPacket]]:
    """The query, the whole answer and the answer's fragments."""
    if family == 4:
        query = IP(src=C4, dst=S4) / UDP(sport=40000, dport=53) / DNS(id=7, qd=DNSQR(qname="big.example.", qtype="TXT"))
        whole = _dns_answer(IP(src=S4, dst=C4))
        return query, whole, fragment(whole, fragsize=1480)
    query = IPv6(src=C6, dst=S6) / UDP(sport=40000, dport=53) / DNS(id=7, qd=DNSQR(qname="big.example.", qtype="TXT"))
    whole = _dns_answer(IPv6(src=S6, dst=C6))
    return query, whole, fragment6(_dns_answer(IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(id=0x1234)), 1280)


def _answers(observations: list[Observation], server: str) -> list[Observation]:
    return [o for o in _about(observations, "dns") if o.src_ip == server]


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("order", ["in_order", "reversed", "duplicated"])
def test_a_fragmented_dns_answer_is_read_once_whole_at_its_last_fragment(family: int, order: str) -> None:
    query, whole, pieces = _dns_pieces(family)
    assert len(pieces) == 3
    sent = {"in_order": pieces, "reversed": pieces[::-1], "duplicated": [pieces[0], *pieces, pieces[1]]}[order]
    engine, observations = _run(_frames([query, *sent]))
    server = S4 if family == 4 else S6
    got = _answers(observations, server)
    _, control = _run(_frames([query, whole]))
    expected = _answers(control, server)
    assert len(got) == 1 and len(expected) == 1
    assert got[0].fields == expected[0].fields and len(got[0].fields["answers"]) == 15
    completing = {"in_order": 3, "reversed": 3, "duplicated": 4}[order]  # the frame whose piece made it whole
    assert got[0].ts == float(completing)
    assert (got[0].src_port, got[0].dst_port) == (53, 40000)
    errors = {k: v for k, v in engine.stats.decode_errors.items() if k.startswith("ip_")}
    assert errors == {}
    assert dict(engine.stats.parse_errors) == {} and dict(engine.stats.rejected_before_confirmation) == {}


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("order", ["first_only", "first_missing", "middle_missing"])
def test_an_unfinished_datagram_is_not_read_and_is_counted(family: int, order: str) -> None:
    query, _, pieces = _dns_pieces(family)
    sent = {"first_only": pieces[:1], "first_missing": pieces[1:], "middle_missing": [pieces[0], pieces[2]]}[order]
    engine, observations = _run(_frames([query, *sent]))
    assert _answers(observations, S4 if family == 4 else S6) == []
    errors = engine.stats.decode_errors
    assert errors["ip_defrag_unfinished"] == 1
    assert errors.get("ip_fragment_incomplete", 0) == (0 if order == "first_missing" else 1)
    assert dict(engine.stats.parse_errors) == {} and dict(engine.stats.rejected_before_confirmation) == {}


@pytest.mark.parametrize("family", [4, 6])
def test_overlapping_pieces_with_different_bytes_drop_the_datagram(family: int) -> None:
    # RFC 5722 §4: a datagram with overlapping fragments is discarded; a piece saying other bytes for the range
    # another piece covered cannot be read either way (which one the host kept is unknown)
    query, _, pieces = _dns_pieces(family)
    forged = pieces[1].copy()
    data = bytearray(bytes(forged.getlayer(Raw).load))
    data[100] ^= 0xFF
    forged.getlayer(Raw).load = bytes(data)
    engine, observations = _run(_frames([query, pieces[0], pieces[1], forged, pieces[2]]))
    assert _answers(observations, S4 if family == 4 else S6) == []
    assert engine.stats.decode_errors["ip_defrag_overlap_conflict"] == 1
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 1


def test_overlapping_pieces_with_the_same_bytes_are_reassembled() -> None:
    query, whole, _ = _dns_pieces(4)
    pieces = fragment(whole, fragsize=1480)
    overlap = fragment(whole, fragsize=1024)  # cut elsewhere: its pieces overlap the others', byte for byte
    engine, observations = _run(_frames([query, pieces[0], overlap[1], pieces[1], pieces[2]]))
    assert len(_answers(observations, S4)) == 1
    assert not [k for k in engine.stats.decode_errors if k.startswith("ip_")]


def test_a_datagram_not_whole_within_the_timeout_is_dropped() -> None:
    query, _, pieces = _dns_pieces(4)
    frames = [(0.0, bytes(Ether(**MACS) / query)), (1.0, bytes(Ether(**MACS) / pieces[0])),
              (2.0, bytes(Ether(**MACS) / pieces[1])), (1.0 + FRAGMENT_TIMEOUT_S + 1, bytes(Ether(**MACS) / pieces[2]))]
    engine, observations = _run(frames)
    assert _answers(observations, S4) == []
    assert engine.stats.decode_errors["ip_defrag_timeout"] == 1
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 1


def test_the_same_dns_answer_in_batches_of_one_packet_is_read_alike() -> None:
    query, _, pieces = _dns_pieces(6)
    engine = Engine()
    observations: list[Observation] = []
    for frame in _frames([query, *pieces]):
        observations += engine.process(batch_of([frame])).observations
    observations += engine.flush().observations
    assert len(_answers(observations, S6)) == 1


def test_an_atomic_fragment_is_a_whole_datagram_and_is_read() -> None:
    answer = _dns_answer(IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(m=0, offset=0, id=0x99))  # RFC 6946
    engine, observations = _run(_frames([answer]))
    assert _answers(observations, S6)
    assert not [k for k in engine.stats.decode_errors if k.startswith("ip_")]


@pytest.mark.parametrize("family", [4, 6])
def test_a_fragmented_snmp_answer_is_read_as_the_whole_one(family: int) -> None:
    if family == 4:
        whole = _snmp_response(IP(src=S4, dst=C4))
        pieces = fragment(whole, fragsize=1000)
    else:
        whole = _snmp_response(IPv6(src=S6, dst=C6))
        pieces = fragment6(_snmp_response(IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(id=3)), 1280)
    assert len(pieces) >= 2
    engine, observations = _run(_frames(pieces))
    _, control = _run(_frames([whole]))
    got, expected = _about(observations, "snmp"), _about(control, "snmp")
    assert len(got) == 1 and got[0].fields == expected[0].fields and got[0].fields["varbinds"]
    assert dict(engine.stats.parse_errors) == {} and dict(engine.stats.rejected_before_confirmation) == {}


def test_fragments_still_count_in_flows_as_on_the_wire() -> None:
    # the reassembled datagram adds no packet: the first fragment counts in the datagram's flow (its ports), the
    # others in their addresses' port-less flow, as before reassembly
    pieces = fragment(_dns_answer(IP(src=S4, dst=C4)), fragsize=1480)
    frames = _frames(pieces)
    engine = Engine()
    flows = engine.process(batch_of(frames)).flows + engine.flush().flows
    assert sum(f.pkts_ab + f.pkts_ba for f in flows) == len(frames)
    assert sum(f.bytes_ab + f.bytes_ba for f in flows) == sum(len(f) for _, f in frames)
    ported = [f for f in flows if f.a_port or f.b_port]
    assert len(ported) == 1 and ported[0].pkts_ab + ported[0].pkts_ba == 1 and ported[0].app == "dns"


class Datagrams(Dissector):
    """Records each datagram it is handed (udp/9600) and what it is asked to probe."""

    name = "datagrams"
    udp_ports: ClassVar[tuple[int, ...]] = (9600,)

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.probed: list[bytes] = []

    def probe(self, payload: bytes, to_server: bool) -> bool:
        self.probed.append(payload)
        return False

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        self.seen.append(pkt.payload)
        return [pkt.observation(self.name, "datagram", {"n": len(pkt.payload)})]


def test_a_datagram_is_dissected_and_probed_whole_never_its_first_fragment() -> None:
    d = Datagrams()
    listed = fragment(IP(src=C4, dst=S4, id=1) / UDP(sport=50000, dport=9600) / (b"A" * 3000), fragsize=1480)
    unlisted = fragment(IP(src=C4, dst=S4, id=2) / UDP(sport=50001, dport=7777) / (b"B" * 3000), fragsize=1480)
    cut = fragment(IP(src=C4, dst=S4, id=3) / UDP(sport=50002, dport=9600) / (b"D" * 3000), fragsize=1480)[:2]
    small = IP(src=C4, dst=S4) / UDP(sport=50003, dport=9600) / (b"C" * 10)
    engine, _ = _run(_frames([*listed, *unlisted, *cut, small]), [d])
    assert sorted(d.seen) == [b"A" * 3000, b"C" * 10]
    assert d.probed == [b"B" * 3000]
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 1


class Stream(StreamDissector):
    name = "stream"
    tcp_ports: ClassVar[tuple[int, ...]] = (7000,)

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        confirm(state)
        self.events.append(("data", data))
        return []

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        self.events.append(("gap", b""))


def test_a_fragmented_tcp_segment_reaches_its_stream_whole() -> None:
    d = Stream()
    syn = IP(src=C4, dst=S4) / TCP(sport=50000, dport=7000, flags="S", seq=999)
    big = IP(src=C4, dst=S4, id=42) / TCP(sport=50000, dport=7000, flags="PA", seq=1000) / (b"a" * 2000)
    after = IP(src=C4, dst=S4) / TCP(sport=50000, dport=7000, flags="PA", seq=3000) / b"tail"
    engine, _ = _run(_frames([syn, *fragment(big, fragsize=1480), after]), [d])
    assert d.events == [("data", b"a" * 2000), ("data", b"tail")]
    assert not [k for k in engine.stats.decode_errors if k.startswith("ip_")]


def test_a_tiny_first_fragment_cutting_the_tcp_header_is_reassembled() -> None:
    # RFC 1858 §3: a first fragment of 8 bytes holds only the TCP ports and sequence number; decode cannot read the
    # header from it (short_tcp_header), the reassembled segment has it whole
    d = Stream()
    syn = IP(src=C4, dst=S4) / TCP(sport=50000, dport=7000, flags="S", seq=999)
    seg = IP(src=C4, dst=S4, id=43) / TCP(sport=50000, dport=7000, flags="PA", seq=1000) / b"hello"
    engine, _ = _run(_frames([syn, *fragment(seg, fragsize=8)]), [d])
    assert d.events == [("data", b"hello")]
    assert not [k for k in engine.stats.decode_errors if k.startswith("ip_")]


def test_a_mirror_copy_of_every_fragment_is_read_once() -> None:
    query, _, pieces = _dns_pieces(4)
    engine, observations = _run(_frames([query, *[p for piece in pieces for p in (piece, piece)]]))
    assert len(_answers(observations, S4)) == 1
    assert not [k for k in engine.stats.decode_errors if k.startswith("ip_")]


def _reusing_id_0(dns_id: int) -> tuple[ScapyPacket, list[ScapyPacket]]:
    """A DNS query and its ~3 KB answer in 3 fragments, sent with identification 0 (a stack that gives every
    fragmented datagram ID 0, or one whose 16-bit ID wrapped, RFC 4963 §2); answers differ in their DNS ID only, so
    their first pieces differ (UDP checksum, DNS ID) and the other two are the same bytes."""
    query = IP(src=C4, dst=S4, id=0) / UDP(sport=40000, dport=53) / DNS(id=dns_id, qd=DNSQR(qname="big.example.",
                                                                                           qtype="TXT"))
    whole = _dns_answer(IP(src=S4, dst=C4, id=0))
    whole[DNS].id = dns_id
    return query, fragment(IP(bytes(whole)), fragsize=1480)


@pytest.mark.parametrize("order", ["in_order", "reversed", "mirrored"])
@pytest.mark.parametrize("batch", [0, 1])
def test_two_datagrams_reusing_identification_0_are_both_read(order: str, batch: int) -> None:
    # the second answer, seconds after the first (within FRAGMENT_TIMEOUT_S), was taken for late copies of the first's
    # pieces and lost; identical copies (a mirror port's) are still read once
    frames = []
    for dns_id in (7, 8):
        query, pieces = _reusing_id_0(dns_id)
        assert len(pieces) == 3 and pieces[0][IP].id == 0
        sent = {"in_order": pieces, "reversed": pieces[::-1],
                "mirrored": [p for piece in pieces for p in (piece, piece)]}[order]
        frames += [query, *sent]
    engine = Engine()
    observations: list[Observation] = []
    framed = _frames(frames)
    for at in range(0, len(framed), batch or len(framed)):  # one batch, or a batch per packet
        observations += engine.process(batch_of(framed[at : at + (batch or len(framed))])).observations
    observations += engine.flush().observations
    got = _answers(observations, S4)
    assert [o.fields["id"] for o in got] == [7, 8]
    assert all(len(o.fields["answers"]) == 15 for o in got)
    assert not [k for k in engine.stats.decode_errors if k.startswith("ip_")]


def test_a_datagram_reusing_an_identification_is_read_as_a_host_reads_it() -> None:
    # UDP payloads, each in 3 pieces with ID 0, 1 s apart: the second's first piece is its own, its others the
    # first's bytes, and a conflicting copy of a piece of the third drops it as any overlap (RFC 5722)
    d = Datagrams()
    def cut(body: bytes) -> list[ScapyPacket]:
        return list(fragment(IP(src=C4, dst=S4, id=0) / UDP(sport=50000, dport=9600) / body, fragsize=1480))
    one, two, three = cut(b"A" * 3000), cut(b"B" + b"A" * 2999), cut(b"C" * 3000)
    forged = three[1].copy()
    forged[Raw].load = b"X" * len(forged[Raw].load)
    engine, _ = _run(_frames([*one, *two[::-1], three[0], three[1], forged, three[2]]), [d])
    assert d.seen == [b"A" * 3000, b"B" + b"A" * 2999]
    assert engine.stats.decode_errors["ip_defrag_overlap_conflict"] == 1


def test_a_first_fragment_holding_the_udp_header_alone_is_reassembled() -> None:
    # the smallest first fragment (8 bytes: RFC 791 §3.1 offsets count 8-byte units) holds the UDP header only
    d = Datagrams()
    pieces = fragment(IP(src=C4, dst=S4) / UDP(sport=50000, dport=9600) / Raw(b"z" * 16), fragsize=8)
    assert decode(batch_of(_frames(pieces))).frag_head.tolist() == [True, False, False]
    _run(_frames(pieces), [d])
    assert d.seen == [b"z" * 16]


def test_limits_drop_the_oldest_datagram() -> None:
    config = EngineConfig(fragment_max_datagrams=2)
    engine = Engine([Datagrams()], config)
    firsts = [fragment(IP(src=C4, dst=S4, id=i) / UDP(sport=50000 + i, dport=9600) / (b"E" * 3000),
                       fragsize=1480)[0] for i in range(3)]
    engine.process(batch_of(_frames(firsts)))
    engine.flush()
    assert engine.stats.decode_errors["ip_defrag_table_full"] == 1
    assert engine.stats.decode_errors["ip_defrag_unfinished"] == 2
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 3


@settings(max_examples=150, deadline=None)
@given(family=st.sampled_from([4, 6]), data=st.data())
def test_fuzz_damaged_fragments_through_the_engine_never_raise(family: int, data: st.DataObject) -> None:
    _, _, pieces = _dns_pieces(family)
    frames = [bytearray(f) for _, f in _frames(pieces)]
    for _ in range(data.draw(st.integers(1, 8))):  # bytes of the IP and fragment headers and payload changed
        frame = frames[data.draw(st.integers(0, len(frames) - 1))]
        at = data.draw(st.integers(14, min(len(frame) - 1, 14 + 48 + 40)))
        frame[at] = data.draw(st.integers(0, 255))
    order = data.draw(st.permutations(range(len(frames))))
    engine = Engine()
    engine.process(batch_of([(float(i), bytes(frames[j])) for i, j in enumerate(order)]))
    engine.flush()
    assert not [k for k in engine.stats.analyzer_errors if k.startswith("dissect.dns")]


# -- against tshark ---------------------------------------------------------------------------------------------

def _tshark_first_fragments(path: Path) -> int:
    """Frames tshark (without reassembly) reads as a first fragment: MF/M set at offset 0."""
    query = ("(ip.flags.mf == 1 && ip.frag_offset == 0) || (ipv6.fraghdr.more == 1 && ipv6.fraghdr.offset == 0)")
    done = subprocess.run(["tshark", "-r", str(path), "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
                           "-Y", query, "-T", "fields", "-e", "frame.number"], capture_output=True, text=True,
                          timeout=60, check=True)
    return len(done.stdout.split())


def _tshark_reassembled(path: Path, layer: str, field: str) -> list[tuple[int, str]]:
    """(frame number, ``field``) of each ``layer`` message tshark reads with IP reassembly on."""
    done = subprocess.run(["tshark", "-r", str(path), "-o", "ip.defragment:TRUE", "-o", "ipv6.defragment:TRUE",
                           "-Y", layer, "-T", "fields", "-e", "frame.number", "-e", field], capture_output=True,
                          text=True, timeout=60, check=True)
    return [(int(a), b) for a, b in (line.split("\t") for line in done.stdout.splitlines())]


def _counted(path: Path) -> tuple[int, list[Observation]]:
    engine = Engine()
    out: list[Observation] = []
    for batch in read_capture(path):
        out += engine.process(batch).observations
    out += engine.flush().observations
    return int(engine.stats.decode_errors.get("ip_fragment_incomplete", 0)), out


def test_datagrams_are_reassembled_where_tshark_reassembles_them(tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    _, dns4, _ = _dns_pieces(4)
    v4 = fragment(dns4, fragsize=576)
    v6 = fragment6(_snmp_response(IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(id=3)), 1280)
    lone = fragment(_dns_answer(IP(src=S4, dst=C4, id=99)), fragsize=576)[0]  # never completed
    path = tmp_path / "fragments.pcap"
    frames = [Ether(**MACS) / p for p in [*v4[:2], *v6[::-1], lone, *v4[2:]]]
    for i, frame in enumerate(frames):
        frame.time = float(i)
    wrpcap(str(path), frames)
    incomplete, observations = _counted(path)
    assert incomplete == 1
    # frame numbers (1-based) where tshark reassembled each message, and what it read there
    dns = _tshark_reassembled(path, "dns", "dns.count.answers")
    snmp = _tshark_reassembled(path, "snmp", "snmp.request_id")
    ours_dns = [(int(o.ts) + 1, str(len(o.fields["answers"]))) for o in _about(observations, "dns")]
    ours_snmp = [(int(o.ts) + 1, str(o.fields["request_id"])) for o in _about(observations, "snmp")]
    assert ours_dns == dns == [(len(v4) + len(v6) + 1, "15")]
    assert ours_snmp == snmp == [(2 + len(v6), "3")]


REAL = SHARED_DATA / "pcaps" / "tcpdump_tests"
# the shared captures holding IP fragments (tshark -Y "ip.flags.mf==1 || ip.frag_offset>0 || ipv6.fraghdr" over
# the shared captures): crafted first fragments of tcpdump's fuzzing corpus, their datagrams never completed
REAL_FRAGMENTED = ("bootp_asan.pcap", "bootp_asan-2.pcap", "dhcp6_reconf_asan.pcap", "hncp_dhcpv4data-oobr.pcap")


@pytest.mark.parametrize("name", REAL_FRAGMENTED)
def test_real_captures_first_fragments_are_those_tshark_reads(name: str) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"test data not found: {path}")
    assert _counted(path)[0] == _tshark_first_fragments(path) == 1
