"""Dispatch: bytes a stream dissector passes over (dissect/base.py PASS_KEYS) are not handed to it: the stream moves
past them (engine/reassembly.py StreamDirection.pass_over) and its segments wholly inside them are neither copied nor
fed; what comes after them (a straddling segment's tail) is fed exactly, and a hole among them is no gap."""

from __future__ import annotations

import re
from typing import Any

import pytest

from iotwarden.dissect.base import Packet, pass_key
from iotwarden.engine import streamfeed
from iotwarden.engine.core import Engine
from iotwarden.model import Observation
from tests.engineutil import Recorder, recorder_segment
from tests.sources.capbuild import ACK, SYN, batch_of

C, S = "192.168.1.10", "192.168.1.20"
CISN, SISN = 1000, 5000  # first data byte of each direction (SYN sequence number + 1)
MARK = re.compile(rb"<pass (\d+)>")
BODY = bytes(range(256)) * 12  # 3,072 bytes passed over, never to be fed
HEAD = b"HEAD<pass %d>" % len(BODY)


class Passer(Recorder):
    """Records what it reads and each gap; ``<pass N>`` in what it reads passes over the N bytes after it, those of
    the same delivery itself, the rest by telling the engine; fed bytes it passes over (the contract, as when fed
    directly), it skips itself, recording ``<fed inside>``."""

    name = "passer"

    def __init__(self) -> None:
        super().__init__()
        self.feeds = 0

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        self.feeds += 1
        key = pass_key(pkt.to_server)
        skip = state.get(key, 0)
        if skip:
            self.events.append(("c" if pkt.to_server else "s", b"<fed inside>"))
            state[key] = max(0, skip - len(data))
            data = data[skip:]
        while data:
            m = MARK.search(data)
            if m is None:
                super().feed(pkt, data, state)
                break
            super().feed(pkt, data[: m.end()], state)
            rest, count = data[m.end() :], int(m[1])
            if count >= len(rest):
                state[key] = count - len(rest)
                break
            data = rest[count:]
        return []

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        self.events.append(("c" if to_server else "s", b"<gap>"))


_seg = recorder_segment  # one TCP segment of the Recorder's connection, C the client


def _handshake(cisn: int) -> list[bytes]:
    return [_seg(C, S, cisn - 1, None, flags=SYN), _seg(S, C, SISN - 1, cisn, flags=SYN | ACK),
            _seg(C, S, cisn, SISN, flags=ACK)]


def _client(stream: bytes, cisn: int = CISN, size: int = 1000) -> list[tuple[int, bytes]]:
    """The client's ``stream`` cut into ``size``-byte segments: (sequence number, bytes)."""
    return [(cisn + i, stream[i : i + size]) for i in range(0, len(stream), size)]


def _run(segments: list[tuple[int, bytes]], cisn: int = CISN) -> tuple[Passer, Engine]:
    """The Passer's reading of the client's ``segments`` in that order, after the handshake, through the engine."""
    d = Passer()
    engine = Engine([d])
    frames = [*_handshake(cisn), *(_seg(C, S, seq, SISN, data) for seq, data in segments)]
    engine.process(batch_of([(i / 100, f) for i, f in enumerate(frames)]))
    engine.flush()
    return d, engine


STREAM = HEAD + BODY + b"after\n"
READ = [("c", HEAD), ("c", b"after\n")]


def test_bytes_passed_over_are_not_fed_and_the_tail_of_the_straddling_segment_is() -> None:
    segs = _client(STREAM)  # HEAD's segment carries the body's first bytes, the last one its end and b"after\n"
    d, engine = _run(segs)
    assert d.events == READ
    assert d.feeds == 2  # HEAD's segment (cut by the dissector itself) and the tail: no segment inside was fed
    assert engine.stats.protocols["passer"] == len(segs)  # every segment still counts as handed
    assert not engine.stats.decode_errors["tcp_gap"]


def test_the_bytes_after_a_pass_ending_on_a_segment_boundary_are_fed_whole() -> None:
    stream = HEAD + BODY + b"after\n"
    segs = [(CISN, HEAD), *_client(BODY, CISN + len(HEAD), 512), (CISN + len(HEAD) + len(BODY), b"after\n")]
    assert b"".join(s for _, s in segs) == stream
    d, _ = _run(segs)
    assert d.events == READ and d.feeds == 2


def test_retransmissions_inside_and_across_the_pass_feed_nothing_again() -> None:
    segs = _client(STREAM, size=700)
    again = [segs[2], segs[1], segs[-1], segs[3]]  # inside, inside, the tail's segment, inside: all old
    d, engine = _run(segs + again)
    assert d.events == READ and d.feeds == 2
    assert not engine.stats.decode_errors["tcp_gap"]


def test_segments_out_of_order_inside_and_across_the_pass() -> None:
    segs = _client(STREAM, size=700)
    shuffled = [segs[0], segs[3], segs[2], segs[-1], segs[1], *segs[4:-1]]
    d, _ = _run(shuffled)
    assert d.events == READ
    # the body's segments and the tail's arriving before HEAD: buffered, then dropped or cut once HEAD says pass
    d, _ = _run([*segs[1:], segs[0]])
    assert d.events == READ


def test_a_hole_inside_the_pass_is_no_gap() -> None:
    segs = _client(STREAM, size=700)
    for lost in range(1, len(segs) - 1):  # each segment wholly inside the body
        d, engine = _run(segs[:lost] + segs[lost + 1 :])
        assert d.events == READ, lost
        assert not engine.stats.decode_errors["tcp_gap"]


def test_a_hole_across_the_end_of_the_pass_is_a_gap_before_the_bytes_after_it() -> None:
    stream = HEAD + BODY + b"lost" + b"x" * 696 + b"more\n"
    segs = _client(stream, size=700)
    cut = next(i for i, (seq, s) in enumerate(segs) if b"lost" in s)  # the body's end and the next bytes
    d, engine = _run(segs[:cut] + segs[cut + 1 :])
    assert d.events == [("c", HEAD), ("c", b"<gap>"), ("c", segs[cut + 1][1])]
    assert engine.stats.decode_errors["tcp_gap"] == 1


def test_a_pass_across_the_sequence_number_wrap() -> None:
    cisn = 2**32 - 1500  # the body crosses 2**32
    d, _ = _run(_client(STREAM, cisn), cisn)
    assert d.events == READ and d.feeds == 2


def test_the_peer_acknowledging_past_a_hole_while_the_client_passes_over_bytes() -> None:
    """The server's second segment lost, its third waiting: the client's next segment, inside its pass, acknowledges
    past the hole, so the hole and the third segment are told there, before the client's bytes after its pass, as
    without a pass (tests/engine/test_dispatch_acked.py)."""
    segs = _client(STREAM)
    s1, s3 = _seg(S, C, SISN, CISN + 1000, b"ANS1\n"), _seg(S, C, SISN + 10, CISN + 1000, b"ANS3\n")
    acked = _seg(C, S, segs[1][0], SISN + 15, segs[1][1])
    frames = [*_handshake(CISN), _seg(C, S, CISN, SISN, segs[0][1]), s1, s3, acked,
              *(_seg(C, S, seq, SISN + 15, data) for seq, data in segs[2:])]
    d = Passer()
    engine = Engine([d])
    engine.process(batch_of([(i / 100, f) for i, f in enumerate(frames)]))
    assert d.events == [("c", HEAD), ("s", b"ANS1\n"), ("s", b"<gap>"), ("s", b"ANS3\n"), ("c", b"after\n")]
    assert engine.stats.decode_errors["tcp_gap_acked"] == 1


def test_a_pass_over_max_pass_is_taken_in_turns_and_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamfeed, "MAX_PASS", 1000)  # read where _pass lives
    d, _ = _run(_client(STREAM, size=300))
    # the engine takes 1,000 bytes at a time; each time the dissector is fed the next segment and cuts it itself
    assert [e for e in d.events if e[1] != b"<fed inside>"] == READ
    assert d.feeds < len(BODY) // 300


def test_passed_bytes_count_against_the_flow_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Budgeted as if fed: a budget ending inside the pass ends the flow there, the bytes after it not read, as
    when the dissector was fed them."""
    segs = [(CISN, HEAD), *_client(BODY + b"after\n", CISN + len(HEAD))]
    monkeypatch.setattr(Passer, "max_stream_bytes", len(HEAD) + 100)
    d, _ = _run(segs)
    assert d.events == [("c", HEAD)]
    monkeypatch.setattr(Passer, "max_stream_bytes", len(STREAM) + 100)
    d, _ = _run(segs)
    assert d.events == READ


def _snapped(frames: list[bytes], which: int, caplen: int) -> Any:
    """``frames`` as a batch, frame ``which`` cut to its first ``caplen`` bytes by the capture's snap length."""
    batch = batch_of([(i / 100, f) for i, f in enumerate(frames)])
    batch.caplen[which] = caplen
    return batch


@pytest.mark.parametrize(("count", "gap"), [(len(BODY), False), (20, True)])
def test_a_segment_cut_by_the_snap_length_inside_or_past_a_pass(count: int, gap: bool) -> None:
    """A segment's captured bytes end in a pass: its cut bytes are passed over, no gap; when the pass ends before the
    segment does, the rest of the segment is the gap told at once (engine/dispatch.py: lost)."""
    head = b"HEAD<pass %d>" % count
    stream = head + BODY + b"after\n"
    first = 54 + len(head) + 10  # Ethernet, IPv4 and TCP headers (14 + 20 + 20), HEAD and 10 bytes of the body
    frames = [*_handshake(CISN), *(_seg(C, S, seq, SISN, data) for seq, data in _client(stream))]
    d = Passer()
    engine = Engine([d])
    engine.process(_snapped(frames, 3, first))
    if gap:  # 20 passed over, 10 of them captured: the segment's 970 bytes after them cut, told at once (not at the
        # flow's end), and the next segments read after it
        assert d.events == [("c", head), ("c", b"<gap>"), *(("c", seg) for _, seg in _client(stream)[1:])]
    else:
        assert d.events == [("c", head), ("c", b"after\n")]
    assert engine.stats.decode_errors["tcp_gap"] == gap
