"""TCP stream delivery (engine/streamfeed.py): a hole told to the dissector is counted and what it says of it kept,
a failing gap hook ends the flow; a segment wholly inside bytes passed over is found old without being handed; FINs
and RSTs without payload reach the dissectors that read them, in capture order, whatever the batches."""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.engine.core import Engine, EngineConfig
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


class Ender(StreamDissector):
    """Reads port 4100: each delivery said ("fed"), and the flow's end (ending) with what it read last; "bye" ends
    the flow, after "fail" the ending hook fails, a hole is read on past."""

    name = "ender"
    tcp_ports = (4100,)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        state["done"] = data == b"bye"
        state["fail"] = state.get("fail") or data == b"fail"
        state["last"] = pkt
        return [pkt.observation(self.name, "fed", {"data": data})]

    def gap(self, state: dict[str, Any], to_server: bool) -> list[Observation] | None:
        return None

    def ending(self, state: dict[str, Any]) -> list[Observation]:
        if state["fail"]:
            raise RuntimeError("bug")
        last: Packet = state["last"]
        return [last.observation(self.name, "ending", {"port": last.src_port})]


def _connection(sport: int, payloads: list[bytes], at: float, lost: tuple[int, ...] = (),
                close: bool = False) -> list[tuple[float, bytes]]:
    """A connection from ``sport`` to port 4100: its handshake, then ``payloads`` from the client, one a millisecond
    from ``at`` (those numbered in ``lost`` left out), FIN both ways when ``close``."""
    seq = 1000
    frames = [ethernet(tcp("10.0.0.1", "10.0.0.2", sport, 4100, SYN, 999)),
              ethernet(tcp("10.0.0.2", "10.0.0.1", 4100, sport, SYN | ACK, 4999, ack=1000), src=2, dst=1)]
    for n, data in enumerate(payloads):
        if n not in lost:
            frames.append(ethernet(tcp("10.0.0.1", "10.0.0.2", sport, 4100, ACK | PSH, seq, data, ack=5000)))
        seq += len(data)
    if close:
        frames += [ethernet(tcp("10.0.0.1", "10.0.0.2", sport, 4100, FIN | ACK, seq, ack=5000)),
                   ethernet(tcp("10.0.0.2", "10.0.0.1", 4100, sport, FIN | ACK, 5000, ack=seq + 1), src=2, dst=1)]
    return [(at + i / 1000, f) for i, f in enumerate(frames)]


def _said(out: list[Observation]) -> list[tuple[Any, ...]]:
    return [(o.kind, o.src_port, o.fields.get("data")) for o in out if o.proto == "ender"]


def test_a_flow_still_read_at_the_end_of_input_is_told_once_after_what_waited_behind_its_hole() -> None:
    engine = Engine([Ender(), Holes()])
    frames = (_connection(40001, [b"hello"], 1.0) + _connection(40002, [b"hi", b"bye"], 1.1)
              + _connection(40003, [b"ab", b"cd"], 1.2, lost=(0,)) + _connection(40004, [b"x"], 1.3, close=True))
    for batch in (frames[:7], frames[7:]):
        got = _said(engine.process(batch_of(batch)).observations)
        assert ("ending", 40001, None) not in got and ("ending", 40004, None) not in got
    out = engine.flush().observations
    # 40002 finished itself ("bye"): never told; 40003's bytes behind the hole are read first, then its end
    assert _said(out) == [("ending", 40001, None), ("fed", 40003, b"cd"), ("ending", 40003, None),
                          ("ending", 40004, None)]
    assert [o.ts for o in out if o.kind == "ending"] == [1.002, 1.202, 1.302]  # each its flow's last delivery's
    assert engine.flush().observations == [] and engine.stats.analyzer_errors == {}


def test_a_flow_closed_for_idleness_or_for_room_in_the_table_is_told_when_it_goes() -> None:
    engine = Engine([Ender()], EngineConfig(idle_timeout=10.0))
    assert _said(engine.process(batch_of(_connection(40001, [b"hello"], 1.0))).observations) == [
        ("fed", 40001, b"hello")]
    # a packet 100 s later: the first flow was idle past its timeout
    got = engine.process(batch_of(_connection(40002, [b"hi"], 100.0))).observations
    assert _said(got) == [("fed", 40002, b"hi"), ("ending", 40001, None)]
    assert _said(engine.flush().observations) == [("ending", 40002, None)]
    # a table of one flow: the second connection evicts the first
    engine = Engine([Ender()], EngineConfig(max_flows=1))
    engine.process(batch_of(_connection(40001, [b"hello"], 1.0)))
    got = engine.process(batch_of(_connection(40002, [b"hi"], 2.0))).observations
    assert ("ending", 40001, None) in _said(got) and engine.stats.decode_errors["flow_table_full"] >= 1
    assert _said(engine.flush().observations) == [("ending", 40002, None)]


def test_a_failing_ending_hook_is_counted_and_the_other_flows_still_told() -> None:
    engine = Engine([Ender()])
    engine.process(batch_of(_connection(40001, [b"fail"], 1.0) + _connection(40002, [b"ok"], 1.1)))
    assert _said(engine.flush().observations) == [("ending", 40002, None)]
    assert engine.stats.analyzer_errors["dissect.ender"] == 1


def test_only_dissectors_that_override_ending_are_told() -> None:
    assert _dispatcher().enders == frozenset()
    limits = DispatchLimits(probe_window=4, tcp_max_ooo_segments=8, tcp_max_ooo_bytes=1 << 16)
    ender = Ender()
    assert Dispatcher([ender, Closer(), Holes()], limits, CaptureStats()).enders == frozenset({id(ender)})


class SmallEnder(Ender):
    """Ender with a byte budget of 6 a flow."""

    name = "ender"
    max_stream_bytes = 6


def test_a_flow_whose_byte_budget_is_spent_is_told_then_and_never_again() -> None:
    """What the dissector waits for will never reach it once the budget is spent: told at once, not at the end."""
    engine = Engine([SmallEnder()])
    frames = (_connection(40001, [b"abcd", b"efgh", b"ijkl"], 1.0) + _connection(40002, [b"ab", b"bye"], 1.1)
              + _connection(40003, [b"abc"], 1.2))
    got = _said(engine.process(batch_of(frames)).observations)
    # 40001: its budget's last two bytes fed, then told (after the batch's, as at a flow's end); 40002 finished
    # itself within its budget ("bye"): never told
    assert got == [("fed", 40001, b"abcd"), ("fed", 40001, b"ef"), ("fed", 40002, b"ab"), ("fed", 40002, b"bye"),
                   ("fed", 40003, b"abc"), ("ending", 40001, None)]
    assert _said(engine.flush().observations) == [("ending", 40003, None)]  # 40001 not told twice
    assert engine.stats.analyzer_errors == {}
