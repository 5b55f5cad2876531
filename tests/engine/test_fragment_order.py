"""A TCP segment carried in IP fragments is dissected in its place in the flow, whatever the batch: the engine cuts a
batch after each TCP fragment (engine/core.py ``_tcp_fragment_cuts``), up to ``MAX_TCP_FRAGMENT_CUTS``."""

from __future__ import annotations

import json
import random
import struct
from typing import Any, ClassVar

import pytest
from scapy.layers.inet import IP, TCP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether
from scapy.packet import Packet as ScapyPacket

from iotwarden.dissect.base import Packet, StreamDissector, confirm
from iotwarden.engine import core
from iotwarden.engine.core import Engine
from iotwarden.engine.decode import decode
from iotwarden.lab import proto_app
from iotwarden.model import Observation
from tests.sources.capbuild import ACK, PSH, SYN, batch_of, ethernet, tcp

C4, S4, C6, S6 = "10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"
# Explicit addresses: a bare Ether() makes scapy resolve the destination's MAC, a neighbour solicitation for S6 sent
# on a host interface where fd00::/64 is on-link (a second's wait a frame; the default suite stays on loopback)
CLIENT_MAC, SERVER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"


class Stream(StreamDissector):
    name = "stream"
    tcp_ports: ClassVar[tuple[int, ...]] = (7000,)

    def __init__(self) -> None:
        self.events: list[tuple[bool, str, bytes]] = []

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        confirm(state)
        self.events.append((pkt.to_server, "data", data))
        return []

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        self.events.append((to_server, "gap", b""))


def _frames(packets: list[ScapyPacket]) -> list[tuple[float, bytes]]:
    return [(1.0 + i / 1000, bytes(Ether(src=CLIENT_MAC, dst=SERVER_MAC) / p)) for i, p in enumerate(packets)]


def _exchange(family: int) -> list[ScapyPacket]:
    """A request, a 2000-byte answer in IP fragments that the client acknowledges, and the next request."""
    if family == 4:
        c, s, answer = IP(src=C4, dst=S4), IP(src=S4, dst=C4), IP(src=S4, dst=C4, id=42)
    else:
        c, s = IPv6(src=C6, dst=S6), IPv6(src=S6, dst=C6)
        answer = IPv6(src=S6, dst=C6) / IPv6ExtHdrFragment(id=42)
    big = answer / TCP(sport=7000, dport=50000, flags="PA", seq=5000, ack=1004) / (b"a" * 2000)
    return [c / TCP(sport=50000, dport=7000, flags="S", seq=999),
            s / TCP(sport=7000, dport=50000, flags="SA", seq=4999, ack=1000),
            c / TCP(sport=50000, dport=7000, flags="PA", seq=1000, ack=5000) / b"req1",
            *(fragment(big, fragsize=1480) if family == 4 else fragment6(big, 1280)),
            c / TCP(sport=50000, dport=7000, flags="PA", seq=1004, ack=7000) / b"req2",
            s / TCP(sport=7000, dport=50000, flags="PA", seq=7000, ack=1008) / b"ok"]


WHOLE = [(True, "data", b"req1"), (False, "data", b"a" * 2000), (True, "data", b"req2"), (False, "data", b"ok")]


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("size", [1, 4, 64])
def test_a_fragmented_answer_acknowledged_in_the_same_batch_is_read_in_its_place(size: int, family: int) -> None:
    # before, the rebuilt answer was dissected after the whole batch: the client's acknowledgment of it, earlier in
    # the batch, made it a hole (tcp_gap, tcp_gap_acked) and the answer was lost; in batches of one it was read
    frames, d = _frames(_exchange(family)), Stream()
    engine = Engine([d])
    for lo in range(0, len(frames), size):
        engine.process(batch_of(frames[lo : lo + size]))
    engine.flush()
    assert d.events == WHOLE
    assert not {k for k in engine.stats.decode_errors if k.startswith(("tcp_gap", "ip_"))}
    assert engine.stats.packets == len(frames)


@pytest.mark.parametrize("family", [4, 6])
def test_the_frames_are_built_without_asking_the_network(family: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """scapy resolves a frame's destination MAC (ARP, a neighbour solicitation on a host interface) only for an
    Ether() left without one; these frames carry theirs."""
    from scapy.config import conf

    def refuse(*_: object) -> None:
        raise AssertionError("scapy asked the network for a MAC address")

    monkeypatch.setattr(conf.neighbor, "resolve", refuse)
    assert {f[:12] for _, f in _frames(_exchange(family))} == {bytes.fromhex("020000000002" "020000000001")}


def test_a_batch_is_cut_after_each_tcp_fragment_up_to_the_limit() -> None:
    limit = core.MAX_TCP_FRAGMENT_CUTS
    segments = [IP(src=S4, dst=C4, id=n) / TCP(sport=7000, dport=50000, seq=5000 + 40 * n) / (b"a" * 40)
                for n in range(limit + 5)]
    pieces = [p for seg in segments for p in fragment(seg, fragsize=24)]
    frames = _frames(pieces)  # 3 pieces each: every row a TCP fragment
    assert core._tcp_fragment_cuts(decode(batch_of(frames))) == list(range(1, limit + 1))  # a flood: limit cuts
    assert core._tcp_fragment_cuts(decode(batch_of(frames[-1:]))) == []  # the last row: nothing after it to cut
    engine = Engine([])
    engine.process(batch_of(frames))
    engine.flush()
    assert engine.stats.packets == len(frames)
    assert not {k for k in engine.stats.decode_errors if k.startswith("ip_")}


# --- fuzz: a monitor feed's TCP exchange with seeded segments fragmented reads as whole in batches of any size ------
HL7 = [m for n in range(4) for m in (
    (True, proto_app.hl7_pcd01("Gateway|ICU", "Mirth|HOSP", "20240304090005", f"MSG{n}", spo2=95 + n, heart_rate=70)),
    (False, proto_app.hl7_ack("Mirth|HOSP", "Gateway|ICU", "20240304090005", f"ACK{n}", f"MSG{n}")))]


def _ipv4(head: bytearray, body: bytes, **fields: int) -> bytes:
    """An IPv4 packet of ``head`` (20 bytes) with its identification, total length and fragment field set as given,
    its checksum computed (RFC 791 §3.1), before ``body``."""
    for name, at in (("ident", 4), ("frag", 6)):
        if name in fields:
            head[at : at + 2] = struct.pack(">H", fields[name])
    head[2:4], head[10:12] = struct.pack(">H", 20 + len(body)), b"\0\0"
    total = sum(struct.unpack(">10H", head))
    head[10:12] = struct.pack(">H", ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF)
    return bytes(head) + body


def _hl7_session() -> list[bytes]:
    """IPv4 packets of an HL7/MLLP connection (port 2575), every segment acknowledging what the other side sent, each
    with its own IP identification (RFC 791 §3.2: one per datagram in flight)."""
    seq = {True: 1000, False: 5000}
    out = [tcp(C4, S4, 40000, 2575, SYN, 999), tcp(S4, C4, 2575, 40000, SYN | ACK, 4999, ack=1000)]
    for to_server, data in HL7:
        a, b, sport, dport = (C4, S4, 40000, 2575) if to_server else (S4, C4, 2575, 40000)
        out.append(tcp(a, b, sport, dport, ACK | PSH, seq[to_server], data, ack=seq[not to_server]))
        seq[to_server] += len(data)
    return [_ipv4(bytearray(p[:20]), p[20:], ident=n + 1) for n, p in enumerate(out)]


def _pieces(packet: bytes, rnd: random.Random) -> list[bytes]:
    """``packet`` (IPv4, no options) as 2 to 4 fragments (RFC 791 §3.2: offsets in 8-byte units)."""
    body = packet[20:]
    cuts = [*sorted({8 * rnd.randrange(1, len(body) // 8) for _ in range(rnd.randint(1, 3))}), len(body)]
    return [_ipv4(bytearray(packet[:20]), body[lo:hi], frag=(lo // 8) | (0x2000 if hi < len(body) else 0))
            for lo, hi in zip([0, *cuts], cuts, strict=False)]


def _hl7_read(packets: list[bytes], size: int) -> tuple[list[tuple[str, str]], set[str]]:
    frames = [(1.0 + i / 1000, ethernet(p)) for i, p in enumerate(packets)]
    engine = Engine()
    got = []
    for lo in range(0, len(frames), size):
        got += engine.process(batch_of(frames[lo : lo + size])).observations
    got += engine.flush().observations
    holes = {k for k in engine.stats.decode_errors if k.startswith(("tcp_gap", "ip_"))}
    return [(o.kind, json.dumps(o.fields, sort_keys=True)) for o in got if o.proto == "hl7"], holes


@pytest.mark.parametrize("seed", range(8))
def test_fuzz_fragmented_segments_read_as_the_whole_exchange_in_batches_of_any_size(seed: int) -> None:
    packets = _hl7_session()
    whole, _ = _hl7_read(packets, 64)
    assert [kind for kind, _ in whole] == ["message", "ack"] * 4
    rnd = random.Random(f"fragment-order:{seed}")
    cut = set(rnd.sample(range(2, len(packets)), rnd.randint(1, 4)))  # segments sent in fragments
    mutant: list[bytes] = []
    for i, packet in enumerate(packets):
        pieces = _pieces(packet, rnd) if i in cut else [packet]
        if len(pieces) > 1 and rnd.random() < 0.3:
            pieces.reverse()
        if len(pieces) > 1 and rnd.random() < 0.3:
            pieces.append(pieces[0])  # a mirror's copy of one, after its datagram completed
        mutant += pieces
    for size in (1, 5, 64):
        assert _hl7_read(mutant, size) == (whole, set()), (sorted(cut), size)


def test_a_tiny_first_fragment_of_a_connection_opened_before_the_capture_is_read() -> None:
    # an HMI's long-lived connection to a PLC (opened before the sensor started): a request sent in 8-byte-first
    # fragments, as an evasion (RFC 1858 §3), reaches the stream as the same request unfragmented does; before, its
    # first fragment opened only the port-less flow and the rebuilt request was counted ip_fragment_flow_gone, unread
    request = IP(src=C4, dst=S4, id=44) / TCP(sport=50000, dport=7000, flags="PA", seq=1000) / b"hello"
    whole, cut = Stream(), Stream()
    Engine([whole]).process(batch_of(_frames([request])))
    engine = Engine([cut])
    engine.process(batch_of(_frames(fragment(request, fragsize=8))))
    engine.flush()
    assert whole.events == [(True, "data", b"hello")]
    assert cut.events == whole.events
    assert not {k for k in engine.stats.decode_errors if k.startswith("ip_")}


def test_a_rebuilt_segment_opening_its_flow_counts_one_packet_of_no_bytes() -> None:
    request = IP(src=C4, dst=S4, id=44) / TCP(sport=50000, dport=7000, flags="PA", seq=1000) / b"hello"
    pieces = _frames(fragment(request, fragsize=8))
    engine = Engine([Stream()])
    engine.process(batch_of(pieces))
    flows = {(f.a_port, f.b_port): (f.packets, f.bytes) for f in engine.flush().flows}
    # the later fragments' frames in their addresses' port-less flow, as on the wire (the first, cutting the TCP
    # header, a decode error as before); the request in its own flow
    assert flows == {(0, 0): (len(pieces) - 1, sum(len(f) for _, f in pieces[1:])), (50000, 7000): (1, 0)}
    assert engine.stats.decode_errors == {"short_tcp_header": 1}
