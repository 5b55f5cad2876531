"""HL7 v2 over MLLP past a lost segment (issues #3/#4): the hole costs its direction the block it was in, not the
flow; the next block is taken only where one may begin (a segment start, or right after an end block) and only when
dissect/hl7.plausible accepts it, and an acknowledgement whose message was lost claims nothing of it. Built
connections go through the default engine with segments left out (tests/engine/losscheck.session) or straight to the
dissector (tests/dissect/gapfeed.converse)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.hl7 import END, MAX_MESSAGE, START, Hl7Dissector, plausible
from iotwarden.lab import proto_app
from iotwarden.model import Observation
from tests.dissect.gapfeed import GAP, Chunk, converse, lose, segments
from tests.engine.losscheck import assert_loss_adds_nothing, gaps_among_junk, segment_count, segments_of, session

PORT = 2575
SENDER, RECEIVER = "CARESCAPE Gateway^444B5DFFFE500001^EUI-64|ICU^HOSP", "Mirth|HOSP"
STAMP = "20240304090005"
# a gateway's PCD-01 feed, each report acknowledged
EXCHANGE: list[tuple[bool, bytes]] = []
for _n in range(4):
    EXCHANGE += [(True, proto_app.hl7_pcd01(SENDER, RECEIVER, STAMP, f"MSG0000000{_n}", spo2=95 + _n, heart_rate=70,
                                            devices=(("patient_monitor", f"44:4b:5d:50:00:0{_n}"),))),
                 (False, proto_app.hl7_ack(RECEIVER, SENDER, STAMP, f"ACK0000000{_n}", f"MSG0000000{_n}"))]
SEGMENT = 120


def _keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    return Counter((o.kind, json.dumps(o.fields, sort_keys=True)) for o in observations if o.proto == "hl7")


def _controls(observations: list[Observation]) -> list[tuple[str, int]]:
    """(kind, the report's number: its SpO2 or, for an ack, the message number of its sender's control id)."""
    return [(o.kind, int(o.fields["devices"][0]["equipment_id"][-1]) if o.kind == "message" else -1)
            for o in observations if o.proto == "hl7"]


def test_a_whole_connection_reads_every_report_and_ack() -> None:
    assert [o.kind for o in session(EXCHANGE, PORT, segment=SEGMENT) if o.proto == "hl7"] == ["message", "ack"] * 4


def test_a_hole_in_a_report_costs_that_report_and_keeps_the_rest() -> None:
    whole = _keys(session(EXCHANGE, PORT, segment=SEGMENT))
    cut = segments(EXCHANGE, SEGMENT)
    for index in (2, 4):  # the second and third reports (the first opens the flow: the probe reads it)
        for lost in segments_of(EXCHANGE, index, SEGMENT):
            lossy = converse(Hl7Dissector(), lose(cut, lost), None, PORT)
            assert not _keys(lossy) - whole, lost
            kept = [n for n in range(4) if n != index // 2]
            assert [c for c in _controls(lossy) if c[0] == "message"] == [("message", n) for n in kept], lost
            assert sum(o.kind == "ack" for o in lossy) == 4, lost  # the acks each stand alone


def test_a_lost_ack_costs_only_that_ack() -> None:
    whole = _keys(session(EXCHANGE, PORT, segment=SEGMENT))
    cut = segments(EXCHANGE, SEGMENT)
    for lost in segments_of(EXCHANGE, 3, SEGMENT):
        lossy = converse(Hl7Dissector(), lose(cut, lost), None, PORT)
        assert not _keys(lossy) - whole, lost
        assert [o.kind for o in lossy].count("message") == 4 and [o.kind for o in lossy].count("ack") == 3, lost


def test_through_the_engine_a_hole_keeps_what_follows() -> None:
    whole = _keys(session(EXCHANGE, PORT, segment=SEGMENT))
    lost = segments_of(EXCHANGE, 2, SEGMENT)[1]  # inside the second report
    lossy = session(EXCHANGE, PORT, (lost,), segment=SEGMENT)
    assert not _keys(lossy) - whole
    assert [o.kind for o in lossy if o.proto == "hl7"].count("message") == 3


def test_past_a_hole_a_block_is_taken_only_at_a_segment_start_or_after_an_end_block() -> None:
    report, ack = EXCHANGE[2][1], EXCHANGE[3][1]
    inner = report[: len(report) // 2] + report  # a whole block inside a segment, not after an end block
    chunks: list[Chunk] = [(True, EXCHANGE[0][1]), (True, GAP), (True, inner[10:]), (True, EXCHANGE[4][1]),
                           (False, ack)]
    got = converse(Hl7Dissector(), chunks, None, PORT)
    assert _controls(got) == [("message", 0), ("message", 2), ("ack", -1)]  # the block after the first's end
    chunks = [(True, EXCHANGE[0][1]), (True, GAP), (True, b"junk" + report)]
    assert _controls(converse(Hl7Dissector(), chunks, None, PORT)) == [("message", 0)]  # no end block before it


def test_plausible_validates_a_block_harder_than_in_sync() -> None:
    block = bytearray(EXCHANGE[0][1])
    assert plausible(block, 0) is True
    assert plausible(block[:60], 0) is None and plausible(bytearray(START + b"MS"), 0) is None  # not whole yet
    assert plausible(block, 1) is False  # no start block
    caret = bytearray(block.replace(b"|", b"#"))  # another separator: fine in sync, not taken past a hole
    assert plausible(caret, 0) is False
    assert plausible(bytearray(START + b"MSH|^~\\&|A" + START + b"MSH|^~\\&|B|||||ACK" + END), 0) is False
    assert plausible(bytearray(START + b"MSH|^~\\&|APP" + END), 0) is False  # no message type
    assert plausible(bytearray(START + b"MSH|" + b"x" * MAX_MESSAGE), 0) is False  # over its limit


def test_a_gap_drops_the_partial_block_and_a_candidate_waits_within_max_buffer() -> None:
    d = Hl7Dissector()
    state: dict[str, Any] = {}
    converse(d, [(True, EXCHANGE[0][1][:80])], state, PORT)
    d.gap(state, True)
    assert not state.get("c2s") and state["resync_c2s"]
    longest = START + b"MSH|" + b"x" * (MAX_MESSAGE - 5)
    assert converse(d, [(True, longest)], state, PORT) == [] and len(state["c2s"]) <= d.max_buffer
    assert converse(d, [(True, b"y" * 10)], state, PORT) == [] and not state["c2s"]  # over its limit: dropped
    # the end block of the block the hole cut split over two segments: the block after it is found
    chunks: list[Chunk] = [(True, b"the tail of a block" + END[:1]), (True, END[1:] + EXCHANGE[2][1])]
    assert _controls(converse(d, chunks, state, PORT)) == [("message", 1)]


def test_every_single_lost_segment_reads_nothing_the_whole_connection_lacks() -> None:
    cut = segments(EXCHANGE, SEGMENT)
    assert_loss_adds_nothing(_keys, EXCHANGE, PORT, segment=SEGMENT,
                             in_place=lambda lost: converse(Hl7Dissector(), lose(cut, lost), None, PORT))


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=segment_count(EXCHANGE, SEGMENT) - 1), max_size=3))
def test_fuzz_any_segments_lost_no_message_is_read_that_the_whole_connection_does_not_hold(lost: set[int]) -> None:
    assert_loss_adds_nothing(_keys, EXCHANGE, PORT, [tuple(lost)], segment=SEGMENT)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool, bool]]) -> None:
    gaps_among_junk(Hl7Dissector(), chunks, PORT)
