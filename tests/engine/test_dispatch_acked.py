"""Dispatch: a TCP hole is told to the dissector as soon as the peer acknowledges past it (issues #3/#4), so
each direction's messages reach it in capture order relative to the other's."""

from __future__ import annotations

from typing import Any

from iotwarden.engine.core import Engine
from iotwarden.engine.decode import decode
from tests.engineutil import Recorder, recorder_segment
from tests.sources.capbuild import ACK, FIN, PSH, SYN, batch_of

C, S = "192.168.1.10", "192.168.1.20"
CISN, SISN = 1000, 5000  # first data byte of each direction (SYN sequence number + 1)


class Log(Recorder):
    """Records, in order, each direction's bytes as delivered and each gap."""

    name = "log"

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        self.events.append(("c" if to_server else "s", b"<gap>"))


_seg = recorder_segment  # one TCP segment of the Recorder's connection, C the client


def _handshake(cisn: int = CISN, sisn: int = SISN) -> list[bytes]:
    return [_seg(C, S, cisn - 1, None, flags=SYN), _seg(S, C, sisn - 1, cisn, flags=SYN | ACK),
            _seg(C, S, cisn, sisn, flags=ACK)]


def _run(frames: list[bytes]) -> tuple[Log, Engine, list[tuple[str, bytes]]]:
    d = Log()
    engine = Engine([d])
    engine.process(batch_of([(i / 100, f) for i, f in enumerate(frames)]))
    before_end = list(d.events)
    engine.flush()
    return d, engine, before_end


def _exchange(cisn: int = CISN, *, retransmit: bool = False) -> list[bytes]:
    """REQ1/ANS1, then REQ2 in two segments whose first is lost, ANS2 acknowledging all of REQ2, REQ3/ANS3."""
    c, s = cisn, SISN
    frames = _handshake(cisn)
    frames += [_seg(C, S, c, s, b"REQ1\n"), _seg(S, C, s, c + 5, b"ANS1\n")]
    c, s = c + 5, s + 5
    # REQ2's head (c .. c+9) never captured; its tail waits out of order
    frames.append(_seg(C, S, c + 9, s, b"tail\n"))
    if retransmit:  # the head retransmitted and captured before the server's ACK: nothing lost
        frames.append(_seg(C, S, c, s, b"REQ2 head"))
    frames.append(_seg(S, C, s, c + 14, b"ANS2\n"))
    c, s = c + 14, s + 5
    frames += [_seg(C, S, c, s, b"REQ3\n"), _seg(S, C, s, c + 5, b"ANS3\n")]
    return frames


IN_ORDER = [("c", b"REQ1\n"), ("s", b"ANS1\n"), ("c", b"<gap>"), ("c", b"tail\n"), ("s", b"ANS2\n"),
            ("c", b"REQ3\n"), ("s", b"ANS3\n")]


def test_decode_reads_the_acknowledgment_number() -> None:
    h = decode(batch_of([(0.0, _seg(C, S, 7, 2**32 - 3, b"x")), (0.1, _seg(C, S, 7, None, b"x"))]))
    assert h.ack.tolist() == [2**32 - 3, 0]
    assert (h.tcp_flags & ACK).tolist() == [ACK, 0]


def test_a_lost_request_segment_is_a_gap_when_the_answer_acknowledges_past_it() -> None:
    _, engine, before_end = _run(_exchange())
    # declared at the server's ACK, not when the flow ends: the dissector sees the messages in order
    assert before_end == IN_ORDER
    assert engine.stats.decode_errors["tcp_gap"] == 1
    assert engine.stats.decode_errors["tcp_gap_acked"] == 1


def test_before_the_ack_the_request_waited_so_the_answer_came_first() -> None:
    frames = _exchange()
    ans2 = next(i for i, f in enumerate(frames) if f.endswith(b"ANS2\n"))
    d, engine, _ = _run(frames[:ans2])  # up to the ACK: the tail waits, as before
    assert ("c", b"tail\n") not in d.events[:2] and d.events[:2] == [("c", b"REQ1\n"), ("s", b"ANS1\n")]
    assert engine.stats.decode_errors["tcp_gap_acked"] == 0


def test_a_retransmission_captured_before_the_ack_fills_the_hole() -> None:
    _, engine, before_end = _run(_exchange(retransmit=True))
    assert before_end == [("c", b"REQ1\n"), ("s", b"ANS1\n"), ("c", b"REQ2 head"), ("c", b"tail\n"),
                          ("s", b"ANS2\n"), ("c", b"REQ3\n"), ("s", b"ANS3\n")]
    assert engine.stats.decode_errors["tcp_gap"] == 0


def test_sequence_numbers_wrapping_around_2_32() -> None:
    for cisn in (2**32 - 7, 2**32 - 12, 2**32 - 16):  # the wrap in REQ1, in the lost head, in the tail
        _, engine, before_end = _run(_exchange(cisn))
        assert before_end == IN_ORDER, cisn
        assert engine.stats.decode_errors["tcp_gap_acked"] == 1


def test_an_ack_only_up_to_the_hole_and_a_keep_alive_declare_nothing() -> None:
    c, s = CISN, SISN
    frames = _handshake()
    frames += [_seg(C, S, c, s, b"REQ1\n"), _seg(S, C, s, c + 5, b"ANS1\n"),
               _seg(C, S, c + 9, s + 5, b"tail\n"),  # REQ2's head lost
               _seg(C, S, c + 4, s + 5, b"\0", flags=ACK),  # a keep-alive: one old byte (RFC 9293 §3.8.4)
               _seg(S, C, s + 5, c + 5, b"MORE\n"),  # the server acknowledges up to the hole only
               _seg(S, C, s + 9, c + 5, b"\0", flags=ACK)]  # the server's keep-alive, acknowledging the hole
    d, engine, before_end = _run(frames)
    assert before_end == [("c", b"REQ1\n"), ("s", b"ANS1\n"), ("s", b"MORE\n")]
    assert engine.stats.decode_errors["tcp_gap_acked"] == 0
    assert d.events[-2:] == [("c", b"<gap>"), ("c", b"tail\n")]  # given up when the flow ends, as before


def test_a_fin_acknowledged_is_no_hole() -> None:
    c, s = CISN, SISN
    frames = _handshake()
    frames += [_seg(C, S, c, s, b"REQ1\n", flags=PSH | ACK | FIN), _seg(S, C, s, c + 6, b"ANS1\n")]
    d, engine, _ = _run(frames)
    assert d.events == [("c", b"REQ1\n"), ("s", b"ANS1\n")]
    assert engine.stats.decode_errors["tcp_gap"] == 0


def test_a_flow_seen_mid_stream_has_no_ack_gap_until_its_direction_is_placed() -> None:
    c, s = 70000, 90000
    frames = [_seg(S, C, s, c + 50, b"ANS0\n"),  # the client's position is unknown: its ACK proves nothing
              _seg(C, S, c + 50, s + 5, b"REQ1\n"), _seg(S, C, s + 5, c + 55, b"ANS1\n"),
              _seg(C, S, c + 64, s + 10, b"tail\n"),  # the head (c+55 .. c+63) lost
              _seg(S, C, s + 10, c + 69, b"ANS2\n")]
    _, engine, before_end = _run(frames)
    assert before_end == [("s", b"ANS0\n"), ("c", b"REQ1\n"), ("s", b"ANS1\n"), ("c", b"<gap>"),
                          ("c", b"tail\n"), ("s", b"ANS2\n")]
    assert engine.stats.decode_errors["tcp_gap_acked"] == 1


def test_one_ack_past_several_holes_gives_each_up_in_order() -> None:
    c, s = CISN, SISN
    frames = _handshake()
    frames += [_seg(C, S, c, s, b"a"), _seg(C, S, c + 2, s, b"c"), _seg(C, S, c + 4, s, b"e"),
               _seg(S, C, s, c + 5, b"ANS\n")]
    _, engine, before_end = _run(frames)
    assert before_end == [("c", b"a"), ("c", b"<gap>"), ("c", b"c"), ("c", b"<gap>"), ("c", b"e"), ("s", b"ANS\n")]
    assert engine.stats.decode_errors["tcp_gap_acked"] == 2


class Quitter(Log):
    """Stops at its first gap (the default for a dissector that cannot resync)."""

    name = "log"

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        super().gap(state, to_server)
        state["done"] = True


def test_a_dissector_that_stops_at_the_gap_gets_nothing_more() -> None:
    d = Quitter()
    engine = Engine([d])
    engine.process(batch_of([(i / 100, f) for i, f in enumerate(_exchange())]))
    engine.flush()
    assert d.events == [("c", b"REQ1\n"), ("s", b"ANS1\n"), ("c", b"<gap>")]
    assert engine.stats.decode_errors["tcp_gap"] == 1


class EndsAtGap(Recorder):
    """Keeps StreamDissector's own gap, which ends the flow: it cannot read past a hole."""

    name = "log"


def test_a_dissector_whose_gap_ends_the_flow_still_reads_the_other_direction_until_the_hole_must_go() -> None:
    # told early, it would stop at ANS2's ACK and lose ANS2 and ANS3 (Hl7Dissector, Telnet, SSH, TLS, RDP)
    d = EndsAtGap()
    engine = Engine([d])
    engine.process(batch_of([(i / 100, f) for i, f in enumerate(_exchange())]))
    assert d.events == [("c", b"REQ1\n"), ("s", b"ANS1\n"), ("s", b"ANS2\n"), ("s", b"ANS3\n")]
    engine.flush()
    assert engine.stats.decode_errors["tcp_gap"] == 1 and engine.stats.decode_errors["tcp_gap_acked"] == 0


def _held_behind_a_hole(ack: int) -> list[bytes]:
    """REQ1/ANS1, then REQ2 in two segments whose first is lost, its tail waiting; the server answers only with a
    pure ACK up to ``ack`` (the client's sequence space), and the flow does not end."""
    c, s = CISN, SISN
    frames = [*_handshake(), _seg(C, S, c, s, b"REQ1\n"), _seg(S, C, s, c + 5, b"ANS1\n")]
    c, s = c + 5, s + 5
    return [*frames, _seg(C, S, c + 9, s, b"tail\n"), _seg(S, C, s, ack)]


def test_a_pure_ack_past_a_hole_tells_it_before_the_flow_ends() -> None:
    frames = _held_behind_a_hole(CISN + 5 + 14)
    _, engine, before_end = _run(frames)
    assert before_end == IN_ORDER[:4]
    assert engine.stats.decode_errors["tcp_gap_acked"] == 1
    d = Log()  # the pure ACK in a later batch than the tail it lets through
    engine = Engine([d])
    engine.process(batch_of([(i / 100, f) for i, f in enumerate(frames[:-1])]))
    assert d.events == IN_ORDER[:2]
    engine.process(batch_of([(1.0, frames[-1])]))
    assert d.events == IN_ORDER[:4]


def test_a_pure_ack_captured_before_the_tail_it_covers_tells_nothing() -> None:
    # as a payload segment's ACK: the tail recorded after the ACK still finds its place (module s7comm case)
    frames = _held_behind_a_hole(CISN + 5 + 14)
    _, engine, before_end = _run([*frames[:-2], frames[-1], frames[-2]])
    assert before_end == IN_ORDER[:2]
    assert engine.stats.decode_errors["tcp_gap_acked"] == 0


def test_a_pure_ack_up_to_or_inside_the_hole_tells_nothing() -> None:
    for ack in (CISN + 5, CISN + 5 + 4):  # a keep-alive's answer, a window probe's
        _, engine, before_end = _run(_held_behind_a_hole(ack))
        assert before_end == IN_ORDER[:2], ack
        assert engine.stats.decode_errors["tcp_gap_acked"] == 0


class AckLog(Log):
    """Log that also records each delivery's Acknowledgment Number as the dissector is handed it."""

    def feed(self, pkt: Any, data: bytes, state: dict[str, Any]) -> list[Any]:
        self.events.append(("ack", str(pkt.tcp_ack).encode()))
        return super().feed(pkt, data, state)


def test_an_acknowledgment_number_of_0_tells_nothing_whatever_the_sequence_numbers() -> None:
    # a capture built without Acknowledgment Numbers (ACK set, 0; docs/architecture.md: ACKs of 0 say nothing): with
    # the client's bytes in the upper half of sequence space, 0 lay ahead of them and gave a hole up that a segment
    # captured late still fills, which was then lost; a dissector was handed 0 as if the server had acknowledged
    for c in (3_000_000_000, 2**32 - 3, CISN):
        s = SISN
        frames = [_seg(C, S, c - 1, None, flags=SYN), _seg(S, C, s - 1, 0, flags=SYN | ACK),
                  _seg(C, S, c, 0, flags=ACK),
                  _seg(C, S, c + 5, 0, b"tail\n"),  # REQ1's tail captured before its head
                  _seg(S, C, s, 0, b"ANS0\n"),  # the server's segment with ACK 0 between them
                  _seg(C, S, c, 0, b"REQ1 ")]
        d = AckLog()
        engine = Engine([d])
        engine.process(batch_of([(i / 100, f) for i, f in enumerate(frames)]))
        engine.flush()
        got = [e for e in d.events if e[0] != "ack"]
        assert got == [("s", b"ANS0\n"), ("c", b"REQ1 "), ("c", b"tail\n")], c
        assert engine.stats.decode_errors["tcp_gap"] == 0, c
        assert {e[1] for e in d.events if e[0] == "ack"} == {b"None"}, c
