"""IP fragments and tunnels nested to evade a sensor (engine/fragments.py, engine/defrag.py, engine/decode.py): a
datagram fragmented inside a tunnel fragmented inside a tunnel ... is followed to MAX_FRAGMENT_LEVELS levels and
tunnels within a frame to MAX_TUNNEL_DEPTH, past either counted, never silent; the same datagram sent again with the
same identification is read again, a mirror's copies once; pieces a timeout releases are counted where it passed.
Frames are built byte by byte (struct), no packet library."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Any

import pytest

from iotwarden.engine.batch import PacketBatch
from iotwarden.engine.core import Engine
from iotwarden.engine.defrag import COPY_WINDOW_S, FRAGMENT_TIMEOUT_S
from iotwarden.engine.fragments import MAX_FRAGMENT_LEVELS
from iotwarden.engine.tunnels import MAX_TUNNEL_DEPTH
from iotwarden.model import Flow, Observation
from tests.sources.capbuild import batch_of

C, S = "10.20.0.5", "10.20.0.53"  # a client and its resolver, deep inside the tunnels
T0 = 1_700_000_000.0


def _checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f">{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip4(src: str, dst: str, proto: int, payload: bytes, *, ident: int = 0, offset: int = 0,
        more: bool = False) -> bytes:
    """An IPv4 packet (RFC 791 §3.1): ``offset`` in bytes (a multiple of 8), ``more`` the MF flag."""
    header = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                                   (0x2000 if more else 0) | offset // 8, 64, proto, 0, socket.inet_aton(src),
                                   socket.inet_aton(dst)))
    header[10:12] = struct.pack(">H", _checksum(bytes(header)))
    return bytes(header) + payload


def fragment(packet: bytes, size: int) -> list[bytes]:
    """An IPv4 packet's fragments carrying at most ``size`` payload bytes each (a multiple of 8 but the last)."""
    assert size % 8 == 0
    src, dst = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
    proto, ident = packet[9], struct.unpack_from(">H", packet, 4)[0]
    payload = packet[20:]
    return [ip4(src, dst, proto, payload[at : at + size], ident=ident, offset=at, more=at + size < len(payload))
            for at in range(0, len(payload), size)]


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload  # checksum 0: none (RFC 768)


def ether(l3: bytes, *, src: int = 1, dst: int = 2) -> bytes:
    return bytes([2, 0, 0, 0, 0, dst]) + bytes([2, 0, 0, 0, 0, src]) + b"\x08\x00" + l3


def dns_query(qid: int) -> bytes:
    question = b"\x03big\x07example\x00" + struct.pack(">HH", 16, 1)  # TXT, IN
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question


def dns_answer(qid: int, records: int = 15) -> bytes:
    """A ~3 KB answer of ``records`` TXT records (RFC 1035 §4.1, each 200 bytes: an EDNS answer past the MTU)."""
    question = b"\x03big\x07example\x00" + struct.pack(">HH", 16, 1)
    answers = b"".join(b"\xc0\x0c" + struct.pack(">HHIH", 16, 1, 300, 201) + b"\xc8" + bytes([97 + i % 26]) * 200
                       for i in range(records))
    return struct.pack(">HHHHHH", qid, 0x8180, 1, records, 0, 0) + question + answers


Wrap = Callable[[bytes, int], bytes]
# a tunnel around an IP packet, as its whole IP datagram (identification ident): IP-in-IP (RFC 2003), GRE carrying
# IP or Ethernet (RFC 2784; 0x6558), VXLAN (RFC 7348: UDP to 4789, flags I, VNI 5, Ethernet)
WRAPS: dict[str, Wrap] = {
    "ipip": lambda ip, ident: ip4("172.16.0.1", "172.16.0.2", 4, ip, ident=ident),
    "gre": lambda ip, ident: ip4("172.16.1.1", "172.16.1.2", 47, b"\x00\x00\x08\x00" + ip, ident=ident),
    "gre_eth": lambda ip, ident: ip4("172.16.2.1", "172.16.2.2", 47, b"\x00\x00\x65\x58" + ether(ip), ident=ident),
    "vxlan": lambda ip, ident: ip4("172.16.3.1", "172.16.3.2", 17,
                                   udp(50001, 4789, b"\x08\x00\x00\x00\x00\x00\x05\x00" + ether(ip)), ident=ident),
}


def nested(packets: list[bytes], levels: list[str], size: int, *, reverse: bool = False) -> list[bytes]:
    """Each packet wrapped in ``levels`` (innermost first), each tunnel's datagram cut in fragments of ``size``
    payload bytes (``reverse``: its pieces sent last first) before the next wraps each piece."""
    ident = 100
    for kind in levels:
        out = []
        for packet in packets:
            ident += 1
            pieces = fragment(WRAPS[kind](packet, ident), size)
            out += pieces[::-1] if reverse else pieces
        packets = out
    return packets


def frames(packets: list[bytes], start: float = T0, step: float = 0.001) -> list[tuple[float, bytes]]:
    return [(start + i * step, ether(p, src=9, dst=10)) for i, p in enumerate(packets)]


def run(sent: list[tuple[float, bytes]], *, batches: list[int] | None = None) -> tuple[Engine, list[Flow],
                                                                                     list[Observation]]:
    """``sent`` through one engine, cut in batches of the given sizes (default one), flushed at the end."""
    engine = Engine()
    flows: list[Flow] = []
    observations: list[Observation] = []
    at = 0
    for size in batches or [len(sent)]:
        got = engine.process(batch_of(sent[at : at + size]))
        at += size
        flows += got.flows
        observations += got.observations
    assert at == len(sent)
    got = engine.flush()
    return engine, flows + got.flows, observations + got.observations


def answers(observations: list[Observation]) -> list[dict[str, Any]]:
    return [o.fields for o in observations if o.proto == "dns" and o.src_port == 53]


def exchange(qid: int = 7) -> tuple[bytes, list[bytes]]:
    """A DNS query and its answer's fragments (1480 payload bytes each: a 1500-byte link), identification 4242."""
    query = ip4(C, S, 17, udp(40000, 53, dns_query(qid)), ident=1)
    answer = ip4(S, C, 17, udp(53, 40000, dns_answer(qid)), ident=4242)
    return query, fragment(answer, 1480)


# -- (a) fragments inside tunnels rebuilt from fragments, level after level ----------------------------------------

@pytest.mark.parametrize("levels", [["ipip", "ipip", "ipip"], ["gre", "vxlan", "gre_eth"], ["vxlan", "gre", "ipip"]])
@pytest.mark.parametrize("reverse", [False, True])
def test_a_datagram_fragmented_inside_three_fragmented_tunnels_is_read(levels: list[str], reverse: bool) -> None:
    # the resolver's answer in 3 fragments, each carried in a tunnel datagram fragmented on its way, each piece of it
    # carried in another fragmented tunnel datagram, and again: four levels of fragments. Before, the third level was
    # reassembled but not followed: the answer's pieces inside it were never put together
    query, pieces = exchange()
    sent = frames(nested([query, *pieces], levels, 1480, reverse=reverse))
    assert len(sent) > 3 * 2  # every level cut something
    for batches in (None, [1] * len(sent)):
        engine, flows, observations = run(sent, batches=batches)
        got = answers(observations)
        assert len(got) == 1 and len(got[0]["answers"]) == 15
        assert dict(engine.stats.decode_errors) == {}
        # every tunnel fragment was held and its whole datagram decoded through: no flow of any tunnel's ends
        assert {(f.a_ip, f.b_ip) for f in flows} <= {(C, S), (S, C)}
        assert any(f.app == "dns" for f in flows)


def _deep(levels: int) -> list[tuple[float, bytes]]:
    """A small UDP datagram in 2 fragments, each wrapped in IP-in-IP cut in 2 fragments, ``levels`` times."""
    payload = ip4(S, C, 17, udp(53, 40000, dns_answer(9, records=1)), ident=77)
    cut = fragment(payload, ((len(payload) - 20) // 2 + 7) // 8 * 8)
    assert len(cut) == 2
    packets = cut
    ident = 1000
    for _ in range(levels):
        out = []
        for packet in packets:
            ident += 1
            whole = WRAPS["ipip"](packet, ident)
            out += fragment(whole, ((len(whole) - 20) // 2 + 7) // 8 * 8)
        packets = out
    return frames([ip4(C, S, 17, udp(40000, 53, dns_query(9)), ident=76), *packets])


def test_fragment_levels_are_followed_to_the_bound_and_past_it_counted() -> None:
    # the answer's fragments inside MAX_FRAGMENT_LEVELS - 1 fragmented tunnels: MAX_FRAGMENT_LEVELS levels, read
    engine, _, observations = run(_deep(MAX_FRAGMENT_LEVELS - 1))
    assert len(answers(observations)) == 1 and dict(engine.stats.decode_errors) == {}
    # one tunnel more: its two fragments are past the last level, counted (and its first as not read), never read
    engine, flows, observations = run(_deep(MAX_FRAGMENT_LEVELS))
    assert answers(observations) == []
    assert dict(engine.stats.decode_errors) == {"ip_fragment_too_deep": 2, "ip_fragment_incomplete": 1}
    assert sum(f.pkts_ab + f.pkts_ba for f in flows if {f.a_ip, f.b_ip} == {C, S}) == 3  # still counted as frames


def test_tunnels_nested_in_one_frame_are_followed_to_the_bound_and_past_it_counted() -> None:
    # a query wrapped in MAX_TUNNEL_DEPTH IP-in-IP tunnels is read; one more is counted, left as the last tunnel's
    # packet between its ends (before: three were followed, a fourth left unread and uncounted)
    query = ip4(C, S, 17, udp(40000, 53, dns_query(5)), ident=3)
    for depth, read in ((MAX_TUNNEL_DEPTH, True), (MAX_TUNNEL_DEPTH + 1, False)):
        packet = query
        for _ in range(depth):
            packet = WRAPS["ipip"](packet, 0)
        engine, flows, observations = run(frames([packet]))
        assert [o.proto for o in observations if o.dst_port == 53] == (["dns"] if read else [])
        assert dict(engine.stats.decode_errors) == ({} if read else {"tunnel_too_deep": 1})
        assert [(f.a_ip, f.b_ip) for f in flows] == [(C, S)] if read else [("172.16.0.1", "172.16.0.2")]
        assert engine.stats.tunnels == {"ipip": 1}


# -- (b) the same datagram sent again under the same identification --------------------------------------------------

def _again(*, mirrored: bool, gap: float) -> list[tuple[float, bytes]]:
    """The query, its answer in 3 fragments with ID 0 (a stack giving every fragmented datagram ID 0), then the query
    retransmitted ``gap`` later and the same answer again, byte for byte; ``mirrored``: each frame copied 10 us after
    it (a SPAN session copying the frame at its ingress and its egress port)."""
    query = ip4(C, S, 17, udp(40000, 53, dns_query(7)), ident=0)
    answer = fragment(ip4(S, C, 17, udp(53, 40000, dns_answer(7)), ident=0), 1480)
    sent = frames([query, *answer]) + frames([query, *answer], start=T0 + gap)
    if mirrored:
        sent = [(ts + d, f) for ts, f in sent for d in (0.0, 0.00001)]
    return sorted(sent, key=lambda x: x[0])


@pytest.mark.parametrize("mirrored", [False, True])
@pytest.mark.parametrize("one_by_one", [False, True])
def test_the_same_answer_sent_again_with_the_same_identification_is_read_again(mirrored: bool,
                                                                               one_by_one: bool) -> None:
    # the resolver answers the retransmitted query (a second later) with the same bytes and ID 0: a host reads both,
    # tshark too (-o ip.defragment:TRUE reassembles both); before, the second was taken for a mirror's copies
    sent = _again(mirrored=mirrored, gap=1.0)
    engine, _, observations = run(sent, batches=[1] * len(sent) if one_by_one else None)
    assert [len(a["answers"]) for a in answers(observations)] == [15, 15]
    assert dict(engine.stats.decode_errors) == {}


@pytest.mark.parametrize("one_by_one", [False, True])
def test_a_mirrors_copies_of_every_fragment_after_the_datagram_completed_are_read_once(one_by_one: bool) -> None:
    # the mirror's copies of a datagram's pieces all coming after its last (the egress copies of a burst sent faster
    # than the switch forwards it): within COPY_WINDOW_S, copies, read once
    query = ip4(C, S, 17, udp(40000, 53, dns_query(7)), ident=0)
    answer = fragment(ip4(S, C, 17, udp(53, 40000, dns_answer(7)), ident=0), 1480)
    sent = frames([query, *answer], step=0.000001) + frames(answer, start=T0 + COPY_WINDOW_S / 10, step=0.000001)
    engine, _, observations = run(sent, batches=[1] * len(sent) if one_by_one else None)
    assert len(answers(observations)) == 1
    assert dict(engine.stats.decode_errors) == {}


# -- (c) what a timeout releases is counted where the timeout passed -------------------------------------------------

@pytest.mark.parametrize("then", [0, 1])
def test_a_piece_released_by_a_timeout_is_counted_before_the_packets_after_it(then: int) -> None:
    # a later UDP fragment whose first never comes waits (its first would say whether it is a tunnel's); a batch past
    # the timeout gives its datagram up and the piece is counted as any fragment, at its own time, before that batch's
    # packets: its port-less flow is the server's, first seen at the piece. Before, it was counted after the batch
    # (or before the batch's next fragment, ``then``), so a later fragment between the same hosts there (cut by the
    # snap length: not reassembled) opened the flow first, the client's
    lost = fragment(ip4(S, C, 17, udp(53, 40000, dns_answer(7)), ident=5), 1480)[1]
    other = fragment(ip4(C, S, 17, udp(40000, 53, b"q" * 3000), ident=6), 1480)[1]
    late = T0 + FRAGMENT_TIMEOUT_S + 5
    cut = ether(other, src=9, dst=10)
    later = [(late + 1, ether(p, src=9, dst=10)) for p in fragment(ip4(C, S, 17, udp(40001, 9, b"z" * 2000),
                                                                      ident=7), 1480)][:then]
    second = batch_of([(late, cut[:200]), *later])
    wire = second.wirelen.copy()
    wire[0] = len(cut)  # the capture kept 200 bytes of it
    second = PacketBatch(second.data, second.offsets, second.caplen, wire, second.ts, second.linktype)
    engine = Engine()
    flows = engine.process(batch_of([(T0, ether(lost, src=9, dst=10))])).flows
    flows += engine.process(second).flows + engine.flush().flows
    portless = [f for f in flows if f.a_port == 0 and f.b_port == 0]
    assert [(f.a_ip, f.b_ip, f.first_seen, f.pkts_ab, f.pkts_ba) for f in portless] == [(S, C, T0, 1, 1)]
    assert engine.stats.decode_errors["ip_defrag_timeout"] == 1
