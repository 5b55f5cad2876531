"""TCP stream delivery (engine/streamfeed.py): a hole told to the dissector is counted and what it says of it kept,
a failing gap hook ends the flow; a segment wholly inside bytes passed over is found old without being handed."""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.engine.dispatch import Dispatcher, DispatchLimits
from iotwarden.engine.flowdispatch import ASSIGNED, FINISHED, FlowDispatch
from iotwarden.engine.reassembly import HALF, StreamDirection
from iotwarden.engine.streamfeed import MAX_PASS
from iotwarden.model import CaptureStats, Observation


class Holes(StreamDissector):
    name = "holes"

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        return []

    def gap(self, state: dict[str, Any], to_server: bool) -> list[Observation] | None:
        if state.get("fail"):
            raise RuntimeError("bug")
        return [Packet(1.0, b"").observation(self.name, "gap", {"to_server": to_server})]


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
