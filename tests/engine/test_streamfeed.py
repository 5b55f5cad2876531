"""TCP stream delivery (engine/streamfeed.py): a hole told to the dissector is counted and what it says of it kept,
a failing gap hook ends the flow; a segment wholly inside bytes passed over is found old without being handed; FINs
and RSTs without payload reach the dissectors that read them, in capture order, whatever the batches."""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.engine.core import Engine
from iotwarden.engine.dispatch import Dispatcher, DispatchLimits
from iotwarden.engine.flowdispatch import ASSIGNED, FINISHED, FlowDispatch
from iotwarden.engine.reassembly import HALF, StreamDirection
from iotwarden.engine.streamfeed import MAX_PASS
from iotwarden.model import CaptureStats, Observation
from tests.sources.capbuild import ACK, FIN, PSH, RST, SYN, batch_of, ethernet, tcp


class Holes(StreamDissector):
    name = "holes"

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        return []

    def gap(self, state: dict[str, Any], to_server: bool) -> list[Observation] | None:
        if state.get("fail"):
            raise RuntimeError("bug")
        return [Packet(1.0, b"").observation(self.name, "gap", {"to_server": to_server})]


class EndsAtHoles(Holes):
    gap_ends_flow = True


def test_only_a_dissector_that_reads_on_past_a_hole_is_told_of_it_at_the_peer_s_ack() -> None:
    """A dissector whose own gap still ends the flow (dissect/telnet.py) is told its holes late, as the default's:
    told at the ACK past them, it would stop before the other direction's later messages."""
    holes, ends = Holes(), EndsAtHoles()
    disp = Dispatcher([holes, ends], DispatchLimits(probe_window=4, tcp_max_ooo_segments=8,
                                                   tcp_max_ooo_bytes=1 << 16), CaptureStats())
    assert id(holes) in disp.ack_gaps and id(ends) not in disp.ack_gaps


def _dispatcher() -> Dispatcher:
    return Dispatcher([Holes()], DispatchLimits(probe_window=4, tcp_max_ooo_segments=8, tcp_max_ooo_bytes=1 << 16),
                      CaptureStats())


def test_a_gap_is_counted_and_what_the_dissector_says_of_it_kept() -> None:
    disp, fd = _dispatcher(), FlowDispatch(t2=ASSIGNED)
    out: list[Observation] = []
    assert disp._gap(fd, Holes(), True, 3, out)
    assert ([o.fields for o in out], disp.stats.decode_errors["tcp_gap"]) == ([{"to_server": True}], 3)


def test_a_failing_gap_hook_is_counted_and_finishes_the_flow() -> None:
    disp, fd = _dispatcher(), FlowDispatch(t2=ASSIGNED, state={"fail": True})
    assert not disp._gap(fd, Holes(), False, 1, [])
    assert (fd.t2, disp.stats.analyzer_errors["dissect.holes"]) == (FINISHED, 1)


def test_a_segment_inside_passed_bytes_is_old_one_reaching_past_them_ends_the_pass() -> None:
    fd = FlowDispatch(passing=2)
    stream = fd.streams[True] = StreamDirection(1000, 8, 1 << 16)
    stream.next_seq = 5000  # moved past passed bytes
    assert Dispatcher._passed(fd, True, 3000, 100)
    assert not Dispatcher._passed(fd, False, 3000, 100)  # the server's direction passes over nothing
    fd.replay = (True, 1000, b"x")
    assert not Dispatcher._passed(fd, True, 3000, 100)  # the probe's bytes still wait to be handed
    fd.replay = None
    assert not Dispatcher._passed(fd, True, 4950, 100)
    assert fd.passing == 0


def test_a_pass_is_taken_within_half_the_sequence_space() -> None:
    assert 0 < MAX_PASS < HALF


class Closer(StreamDissector):
    """Reads port 4000: each FIN or RST without payload handed to it (closing) said as an Observation."""

    name = "closer"
    tcp_ports = (4000,)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if data == b"bye":
            state["done"] = True
        return []

    def closing(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if state.get("fail"):
            raise RuntimeError("bug")
        state["fail"] = pkt.tcp_flags == FIN | ACK and not pkt.to_server  # the server's FIN: the next one fails
        return [pkt.observation(self.name, "closing", {"flags": pkt.tcp_flags, "seq": pkt.tcp_seq,
                                                        "ack": pkt.tcp_ack, "to_server": pkt.to_server})]


def _closings(frames: list[tuple[bool, int, bytes]], batch: int) -> tuple[list[dict[str, Any]], int]:
    """What Closer is handed of a connection to port 4000 (after its handshake, ``frames``: to the server?, flags,
    payload; the client at sequence number 1000, the server at 5000), read ``batch`` frames at a time; and the
    analyzer errors counted."""
    seq = {True: 1000, False: 5000}
    built = [ethernet(tcp("10.0.0.1", "10.0.0.2", 40000, 4000, SYN, 999)),
             ethernet(tcp("10.0.0.2", "10.0.0.1", 4000, 40000, SYN | ACK, 4999, ack=1000), src=2, dst=1)]
    for to_server, flags, payload in frames:
        a, b, sport, dport = ("10.0.0.1", "10.0.0.2", 40000, 4000) if to_server else ("10.0.0.2", "10.0.0.1", 4000,
                                                                                      40000)
        built.append(ethernet(tcp(a, b, sport, dport, flags, seq[to_server], payload, ack=seq[not to_server])))
        seq[to_server] += len(payload) + (flags & FIN)
    engine = Engine([Closer()])
    out: list[Observation] = []
    for at in range(0, len(built), batch):
        out += engine.process(batch_of([(1.0 + (at + i) / 1000, f) for i, f in enumerate(built[at:at + batch])],
                                       )).observations
    out += engine.flush().observations
    return [o.fields for o in out if o.kind == "closing"], engine.stats.analyzer_errors["dissect.closer"]


def test_fins_and_rsts_without_payload_reach_a_dissector_that_reads_them_in_capture_order() -> None:
    frames = [(True, ACK | PSH, b"hello"), (False, ACK, b""), (True, FIN | ACK, b""), (False, ACK | PSH, b"hi"),
              (False, FIN | ACK | PSH, b"!"), (True, RST | ACK, b""), (True, RST, b"")]
    for batch in (1, 3, len(frames) + 2):
        # a pure ACK and a FIN with payload are not handed (its payload is fed); a RST without ACK has no tcp_ack
        assert _closings(frames, batch) == ([
            {"flags": FIN | ACK, "seq": 1005, "ack": 5000, "to_server": True},
            {"flags": RST | ACK, "seq": 1006, "ack": 5004, "to_server": True},
            {"flags": RST, "seq": 1006, "ack": None, "to_server": True}], 0), batch
    # the hook fails on the RST after the server's FIN: counted, the flow finished, the last RST not handed
    failing = [(True, ACK | PSH, b"hello"), (False, FIN | ACK, b""), (True, RST | ACK, b""), (True, RST, b"")]
    for batch in (1, len(failing) + 2):
        assert _closings(failing, batch) == ([{"flags": FIN | ACK, "seq": 5000, "ack": 1005, "to_server": False}],
                                             1), batch


def test_a_flow_its_dissector_finished_and_a_dissector_that_does_not_read_closes_get_none() -> None:
    assert _closings([(True, ACK | PSH, b"bye"), (True, FIN | ACK, b""), (False, RST | ACK, b"")], 1) == ([], 0)
    assert _dispatcher().closers == frozenset()
    limits = DispatchLimits(probe_window=4, tcp_max_ooo_segments=8, tcp_max_ooo_bytes=1 << 16)
    closer = Closer()
    assert Dispatcher([closer, Holes()], limits, CaptureStats()).closers == frozenset({id(closer)})
