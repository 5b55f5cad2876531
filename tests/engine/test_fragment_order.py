"""A TCP segment carried in IP fragments is dissected in its place in the flow, whatever the batch: the engine cuts a
batch after each TCP fragment (engine/core.py ``_tcp_fragment_cuts``), up to ``MAX_TCP_FRAGMENT_CUTS``."""

from __future__ import annotations

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
from iotwarden.model import Observation
from tests.sources.capbuild import batch_of

C4, S4, C6, S6 = "10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"


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
    return [(1.0 + i / 1000, bytes(Ether() / p)) for i, p in enumerate(packets)]


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
