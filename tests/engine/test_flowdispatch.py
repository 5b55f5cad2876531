"""Tier-2 flow state and the dispatcher's loose helpers (engine/flowdispatch.py): which hooks a dissector
declares, its TCP packet limit, a Packet's own stamp, a flow's starting state."""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet, StreamDissector
from iotwarden.engine.flowdispatch import (
    UNDECIDED,
    FlowDispatch,
    _memoisable,
    _overrides_probe,
    _stamped,
    _tcp_packet_limit,
)
from iotwarden.model import Observation


class Plain(Dissector):
    name = "plain"
    max_packets_per_flow: ClassVar[int | None] = 5


class Probing(Plain):
    def probe(self, payload: bytes, to_server: bool) -> bool:
        return payload.startswith(b"X")

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload


class Budgeted(StreamDissector):
    name = "budgeted"
    max_packets_per_flow: ClassVar[int | None] = 5
    max_stream_bytes: ClassVar[int | None] = 1000
    max_stream_packets: ClassVar[int | None] = 40

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        return []


def test_only_a_dissector_declaring_probe_or_memo_key_is_a_prober_or_memoised() -> None:
    assert (_overrides_probe(Plain()), _memoisable(Plain())) == (False, False)
    assert (_overrides_probe(Probing()), _memoisable(Probing())) == (True, True)


def test_a_stream_byte_budget_bounds_tcp_by_its_safety_net_instead_of_the_packet_cap() -> None:
    assert _tcp_packet_limit(Plain()) == 5
    assert _tcp_packet_limit(Budgeted()) == 40


def test_only_the_packets_own_stamp_can_be_restamped_by_a_memo_replay() -> None:
    pkt = Packet(1.0, b"x", src_mac="aa:bb:cc:dd:ee:ff", src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=17,
                 src_port=5, dst_port=53)
    assert _stamped(pkt.observation("p", "k", {}), pkt)
    other = Packet(2.0, b"x", src_mac="aa:bb:cc:dd:ee:ff", src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=17,
                   src_port=5, dst_port=53)
    assert not _stamped(other.observation("p", "k", {}), pkt)


def test_a_flow_starts_undecided_and_flows_share_no_state() -> None:
    a, b = FlowDispatch(), FlowDispatch()
    assert (a.t2, a.dissector, a.app, a.passing) == (UNDECIDED, None, None, 0)
    a.state["n"] = 1
    a.probed.add(True)
    assert (b.state, b.probed) == ({}, set())
