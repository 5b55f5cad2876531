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
from iotwarden.engine.core import Engine
from iotwarden.engine.decode import decode
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
    answers = DNSRR(rrname="big.example.", type="TXT", rdata=["x" * 200])
    for i in range(14):
        answers = answers / DNSRR(rrname=f"big{i}.example.", type="TXT", rdata=["y" * 200])
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


def test_the_inner_packet_of_a_tunnel_first_fragment_is_a_first_fragment_too() -> None:
    inner = Ether(**MACS) / IP(src=C4, dst=S4) / UDP(sport=40000, dport=53) / (b"q" * 40)
    outer = IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", id=77) / UDP(sport=5000, dport=4789) / VXLAN(vni=1) / inner
    h = decode(batch_of(_frames([outer])))
    assert h.tunnel.tolist() == [3]  # decoded as VXLAN's inner frame
    assert h.dport.tolist() == [53] and h.frag_head.tolist() == [True]


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


# -- the engine: a first fragment is not read as the datagram ---------------------------------------------------

@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("order", ["in_order", "reversed", "duplicated", "first_only", "first_missing"])
def test_a_fragmented_dns_answer_is_not_read_from_its_first_fragment(family: int, order: str) -> None:
    if family == 4:
        query = IP(src=C4, dst=S4) / UDP(sport=40000, dport=53) / DNS(id=7, qd=DNSQR(qname="big.example.", qtype="TXT"))
        answer = _dns_answer(IP(src=S4, dst=C4))
        pieces = fragment(answer, fragsize=1480)
    else:
        query = IPv6(src=C6, dst=S6) / UDP(sport=40000, dport=53) / DNS(id=7, qd=DNSQR(qname="big.example.",
                                                                                          qtype="TXT"))
        answer = _dns_answer(IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(id=0x1234))
        pieces = fragment6(answer, 1280)
    sent = {"in_order": pieces, "reversed": pieces[::-1], "duplicated": [pieces[0], *pieces, pieces[-1]],
            "first_only": pieces[:1], "first_missing": pieces[1:]}[order]
    frames = _frames([query, *sent])
    engine, observations = _run(frames)
    dns = _about(observations, "dns")
    assert dns and all(o.fields.get("qr") in (False, 0, None) or "answers" not in o.fields for o in dns)
    assert not any(o.src_ip == (S4 if family == 4 else S6) for o in dns)  # nothing read from the answer's pieces
    heads = sum(1 for p in sent if p is pieces[0])
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == heads
    assert dict(engine.stats.parse_errors) == {} and dict(engine.stats.rejected_before_confirmation) == {}
    assert engine.stats.decode_errors.get("snapped_payload", 0) == 0


@pytest.mark.parametrize("family", [4, 6])
def test_the_same_dns_answer_unfragmented_is_read(family: int) -> None:
    ip = IP(src=S4, dst=C4) if family == 4 else IPv6(src=S6, dst=C6)
    engine, observations = _run(_frames([_dns_answer(ip)]))
    answers = [o for o in _about(observations, "dns") if o.src_ip == (S4 if family == 4 else S6)]
    assert answers
    assert engine.stats.decode_errors.get("ip_fragment_incomplete", 0) == 0


def test_an_atomic_fragment_is_a_whole_datagram_and_is_read() -> None:
    answer = _dns_answer(IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(m=0, offset=0, id=0x99))  # RFC 6946
    engine, observations = _run(_frames([answer]))
    assert [o for o in _about(observations, "dns") if o.src_ip == S6]
    assert engine.stats.decode_errors.get("ip_fragment_incomplete", 0) == 0


@pytest.mark.parametrize("family", [4, 6])
def test_a_fragmented_snmp_answer_is_not_read_as_malformed(family: int) -> None:
    if family == 4:
        whole = _snmp_response(IP(src=S4, dst=C4))
        pieces = fragment(whole, fragsize=1000)
    else:
        whole = _snmp_response(IPv6(src=S6, dst=C6))
        pieces = fragment6(_snmp_response(IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(id=3)), 1280)
    assert len(pieces) >= 2
    engine, observations = _run(_frames(pieces))
    assert _about(observations, "snmp") == []
    assert dict(engine.stats.parse_errors) == {} and dict(engine.stats.rejected_before_confirmation) == {}
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 1
    # the control: the unfragmented answer is read
    _, observations = _run(_frames([whole]))
    assert _about(observations, "snmp")


def test_fragments_still_count_in_flows_as_on_the_wire() -> None:
    pieces = fragment(_dns_answer(IP(src=S4, dst=C4)), fragsize=1480)
    frames = _frames(pieces)
    engine = Engine()
    flows = engine.process(batch_of(frames)).flows + engine.flush().flows
    assert sum(f.pkts_ab + f.pkts_ba for f in flows) == len(frames)
    assert sum(f.bytes_ab + f.bytes_ba for f in flows) == sum(len(f) for _, f in frames)
    ported = [f for f in flows if f.a_port or f.b_port]  # the first fragment gives the datagram's ports
    assert len(ported) == 1 and ported[0].pkts_ab + ported[0].pkts_ba == 1


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


def test_a_first_fragment_is_neither_dissected_nor_probed() -> None:
    d = Datagrams()
    listed = fragment(IP(src=C4, dst=S4) / UDP(sport=50000, dport=9600) / (b"A" * 3000), fragsize=1480)
    unlisted = fragment(IP(src=C4, dst=S4) / UDP(sport=50001, dport=7777) / (b"B" * 3000), fragsize=1480)
    small = IP(src=C4, dst=S4) / UDP(sport=50000, dport=9600) / (b"C" * 10)
    engine, _ = _run(_frames([*listed, *unlisted, small]), [d])
    assert d.seen == [b"C" * 10]
    assert d.probed == []
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 2


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


def test_a_fragmented_tcp_segment_is_a_hole_in_its_stream_not_a_short_segment() -> None:
    d = Stream()
    syn = IP(src=C4, dst=S4) / TCP(sport=50000, dport=7000, flags="S", seq=999)
    big = IP(src=C4, dst=S4, id=42) / TCP(sport=50000, dport=7000, flags="PA", seq=1000) / (b"a" * 2000)
    after = IP(src=C4, dst=S4) / TCP(sport=50000, dport=7000, flags="PA", seq=3000) / b"tail"
    engine, _ = _run(_frames([syn, *fragment(big, fragsize=1480), after]), [d])
    # the segment's first 1460 bytes are never handed as if they were the whole segment (the next segment would
    # then have been taken for a later one with a hole before it); its bytes are lost, the stream goes on after
    assert ("data", b"a" * 1460) not in d.events
    assert d.events == [("gap", b""), ("data", b"tail")]
    assert engine.stats.decode_errors["ip_fragment_incomplete"] == 1


# -- against tshark ---------------------------------------------------------------------------------------------

def _tshark_first_fragments(path: Path) -> int:
    """Frames tshark (without reassembly) reads as a first fragment: MF/M set at offset 0."""
    query = ("(ip.flags.mf == 1 && ip.frag_offset == 0) || (ipv6.fraghdr.more == 1 && ipv6.fraghdr.offset == 0)")
    done = subprocess.run(["tshark", "-r", str(path), "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
                           "-Y", query, "-T", "fields", "-e", "frame.number"], capture_output=True, text=True,
                          timeout=60, check=True)
    return len(done.stdout.split())


def _counted(path: Path) -> int:
    engine = Engine()
    for batch in read_capture(path):
        engine.process(batch)
    engine.flush()
    return int(engine.stats.decode_errors.get("ip_fragment_incomplete", 0))


def test_first_fragments_are_those_tshark_reads(tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    v4 = fragment(_dns_answer(IP(src=S4, dst=C4)), fragsize=576)
    v6 = fragment6(_snmp_response(IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(id=3)), 1280)
    atomic = IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(m=0, offset=0, id=9) / UDP(sport=53, dport=40000) / b"x"
    path = tmp_path / "fragments.pcap"
    wrpcap(str(path), [Ether(**MACS) / p for p in [*v4, *v6[::-1], atomic, v4[0]]])
    assert _counted(path) == _tshark_first_fragments(path) == 3


REAL = SHARED_DATA / "pcaps" / "tcpdump_tests"
# the shared captures holding IP fragments (tshark -Y "ip.flags.mf==1 || ip.frag_offset>0 || ipv6.fraghdr" over every
# shared capture): crafted first fragments of tcpdump's fuzzing corpus, their datagrams never completed
REAL_FRAGMENTED = ("bootp_asan.pcap", "bootp_asan-2.pcap", "dhcp6_reconf_asan.pcap", "hncp_dhcpv4data-oobr.pcap")


@pytest.mark.parametrize("name", REAL_FRAGMENTED)
def test_real_captures_first_fragments_are_those_tshark_reads(name: str) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"test data not found: {path}")
    assert _counted(path) == _tshark_first_fragments(path) == 1


def test_a_first_fragment_holding_the_udp_header_alone_is_counted_and_not_dissected() -> None:
    # the smallest first fragment (8 bytes: RFC 791 §3.1 offsets count 8-byte units) holds the UDP header only
    d = Datagrams()
    pieces = fragment(IP(src=C4, dst=S4) / UDP(sport=50000, dport=9600) / Raw(b"z" * 16), fragsize=8)
    assert decode(batch_of(_frames(pieces))).frag_head.tolist() == [True, False, False]
    engine, _ = _run(_frames(pieces), [d])
    assert d.seen == [] and engine.stats.decode_errors["ip_fragment_incomplete"] == 1
