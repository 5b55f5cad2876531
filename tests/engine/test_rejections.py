"""A dissector's rejection is a parse error only once it confirmed the flow (engine/dispatch.py
``Dispatcher._reject_count``): before, the bytes are another protocol on its port (Zeek's analyzer violation
before ``AnalyzerConfirmation``), counted in ``CaptureStats.rejected_before_confirmation`` while the flow keeps
its ``failed_services`` as before."""

from __future__ import annotations

import struct
from typing import Any, ClassVar

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import CaptureStats, Observation
from tests.engine.test_dispatch import Banner, Broken, C, Echo, Framed, S, Strict, _exchange, _run, _stream
from tests.sources.capbuild import ethernet, udp


def _counts(stats: CaptureStats) -> tuple[dict[str, int], dict[str, int]]:
    return dict(+stats.parse_errors), dict(+stats.rejected_before_confirmation)


def test_a_ports_dissector_refusing_a_flows_first_bytes_is_no_parse_error() -> None:
    engine, obs, [flow] = _run([Strict()], _exchange(b"zz", b"HI server"))
    assert (obs, flow.app, flow.extra.get("failed_services")) == ([], None, ["strict"])
    assert _counts(engine.stats) == ({}, {"strict": 1})


def test_the_fallback_dissector_names_the_flow_and_the_ports_refusal_is_still_no_parse_error() -> None:
    engine, obs, [flow] = _run([Strict(), Banner()], _exchange(b"HI client", b"HI server"))
    assert ([o.proto for o in obs], flow.app, flow.extra.get("failed_services")) == (["banner"], "banner", None)
    assert _counts(engine.stats) == ({}, {"strict": 1})
    # the prober claimed the bytes but refuses the answer before describing anything: both are refusals
    engine, obs, [flow] = _run([Strict(), Banner()], _exchange(b"HI client", b"garbage"))
    assert (obs, flow.app, flow.extra.get("failed_services")) == ([], None, ["strict"])
    assert _counts(engine.stats) == ({}, {"strict": 1, "banner": 1})


def test_a_malformed_message_after_confirmation_is_a_parse_error() -> None:
    # confirmed by an Observation, or by confirm() alone, in an earlier delivery
    for first in (b"\x01D", b"\x01K"):
        engine, _, [flow] = _run([Framed()], _stream([(0, first), (2, b"\x01x")]))
        assert (flow.app, flow.extra.get("failed_services")) == ("framed", None)
        assert _counts(engine.stats) == ({"framed": 1}, {})
    # in the same delivery, before the malformed message (streambuf.PartialParse): the flow was confirmed
    for both in (b"\x01D\x01x", b"\x01K\x01x"):
        engine, _, _ = _run([Framed()], _stream([(0, both)]))
        assert _counts(engine.stats) == ({"framed": 1}, {})


def test_a_refusal_after_bytes_only_buffered_is_still_before_confirmation() -> None:
    # the dissector accepted (buffered) a partial message, then the completed one is malformed: nothing was
    # ever confirmed, the flow is the port's failed service and no parse error is counted
    engine, obs, [flow] = _run([Framed()], _stream([(0, b"\x01"), (1, b"x")]))
    assert (obs, flow.app, flow.extra.get("failed_services")) == ([], None, ["framed"])
    assert _counts(engine.stats) == ({}, {"framed": 1})


def test_datagrams_are_refusals_until_one_confirms_the_flow_then_parse_errors() -> None:
    # the datagram memo path (Echo declares memo_key) and the plain one (memo off) agree
    from iotwarden.engine.core import EngineConfig

    frames = [(1.0, ethernet(udp(C, S, 1000, 4000, b"\x01bad"))), (2.0, ethernet(udp(C, S, 1000, 4000, b"\x02ok"))),
              (3.0, ethernet(udp(C, S, 1000, 4000, b"\x03ok"))), (4.0, ethernet(udp(C, S, 1000, 4000, b"\x04bad")))]
    for config in (None, EngineConfig(memo_entries=0)):
        engine, obs, [flow] = _run([Echo()], frames, config)
        assert (len(obs), flow.app) == (2, "echo")
        assert _counts(engine.stats) == ({"echo": 1}, {"echo": 1})


def test_a_dissector_crash_is_a_parse_and_analyzer_error_even_before_confirmation() -> None:
    frames = [(1.0, ethernet(udp(C, S, 1, 9999, b"bad"))), (2.0, ethernet(udp(C, S, 2, 9999, b"crash")))]
    engine, _, flows = _run([Broken()], frames)
    assert _counts(engine.stats) == ({"broken": 1}, {"broken": 1})
    assert engine.stats.analyzer_errors["dissect.broken"] == 1
    assert sorted(tuple(f.extra.get("failed_services", ())) for f in flows) == [("broken",), ("broken",)]


class BadArp(Dissector):
    """Rejects every ARP frame: the ethertype names the protocol, so each is a malformed message."""

    name = "badarp"
    ethertypes: ClassVar[tuple[int, ...]] = (0x0806,)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        raise ParseError("truncated")


def test_a_link_layer_frame_its_dissector_rejects_is_a_parse_error() -> None:
    frame = ethernet(b"\x00\x01", src=1, dst=0xFFFF, ethertype=0x0806)
    engine, _, _ = _run([BadArp()], [(1.0, frame), (2.0, frame)])
    assert _counts(engine.stats) == ({"badarp": 2}, {})


def test_stun_on_udp_443_is_not_malformed_quic() -> None:
    """The brief's case on the default dissectors: a STUN Binding Request (RFC 8489 §5: first two bits 0,
    magic cookie 0x2112A442) on udp/443 is refused by QUIC (RFC 9000 §17.2: a long header has its first bit
    set; RFC 9000 §17.3.1: a short header's fixed bit is set) before anything confirmed the flow."""
    stun = struct.pack(">HHI", 0x0001, 0, 0x2112A442) + bytes(12)
    frames = [(1.0 + i, ethernet(udp(C, S, 50000, 443, stun), src=1, dst=2)) for i in range(3)]
    engine, obs, [flow] = _run(default_dissectors(), frames)
    assert flow.extra.get("failed_services") == ["quic"] and flow.app is None
    assert "quic" not in engine.stats.parse_errors and engine.stats.rejected_before_confirmation["quic"] >= 1
    assert obs == [] or all(o.proto != "quic" for o in obs)


def test_the_statistic_merges_and_serialises_beside_parse_errors() -> None:
    a, b = CaptureStats(), CaptureStats()
    a.rejected_before_confirmation["quic"] += 2
    b.rejected_before_confirmation.update({"quic": 1, "http": 1})
    b.parse_errors["dns"] += 1
    a.merge(b)
    out = a.to_dict()
    assert out["rejected_before_confirmation"] == {"http": 1, "quic": 3} and out["parse_errors"] == {"dns": 1}
    assert list(out["rejected_before_confirmation"]) == ["http", "quic"]


def test_every_rejection_is_counted_once_in_one_of_the_two() -> None:
    """Hostile sequences of messages: each refusal the dissector raises lands in exactly one counter."""
    import random

    rng = random.Random(7)
    alphabet = [b"\x01D", b"\x01K", b"\x01x", b"\x01", b"D", b"x", b"\x02DD"]
    for _ in range(60):
        pieces = [rng.choice(alphabet) for _ in range(rng.randint(1, 6))]
        segments, off = [], 0
        for piece in pieces:
            segments.append((off, piece))
            off += len(piece)
        framed = _Counting()
        engine, _, [flow] = _run([framed], _stream(segments))
        parse, rejected = _counts(engine.stats)
        assert parse.get("framed", 0) + rejected.get("framed", 0) == framed.raised
        if rejected.get("framed"):  # a refusal before confirmation always leaves the port's failed service
            assert flow.extra.get("failed_services") == ["framed"] or flow.app == "framed"
        if flow.app is None:  # never confirmed: no refusal of it is a parse error
            assert "framed" not in parse


class _Counting(Framed):
    def __init__(self) -> None:
        self.raised = 0

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        try:
            return super().feed(pkt, data, state)
        except ParseError:
            self.raised += 1
            raise
