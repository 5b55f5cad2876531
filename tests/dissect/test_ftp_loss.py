"""FTP's control connection past a lost segment (issues #3/#4): the hole costs the line it was in, not the flow; the
next line is taken only where a line or a segment begins and only when it is a known command (client) or a reply
line (server), and a reply after a hole claims no login of the USER and PASS read before it, nor a greeting not
seen whole. Built connections go through the default engine with segments left out (tests/engine/losscheck.session)
or straight to the dissector (tests/dissect/gapfeed.converse)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.ftp import MAX_LINE, FtpDissector
from iotwarden.model import Observation
from tests.dissect.gapfeed import GAP, Chunk, converse, lose, segments
from tests.engine.losscheck import assert_loss_adds_nothing, gaps_among_junk, segment_count, segments_of, session

PORT = 21
# a camera's FTP server: a multi-line greeting, two failed logins, then one that succeeds
EXCHANGE = [(False, b"220-Welcome to the NVR\r\n220-   firmware 2.1\r\n220 ready\r\n"),
            (True, b"USER admin\r\n"), (False, b"331 Password required\r\n"),
            (True, b"PASS wrong\r\n"), (False, b"530 Login incorrect.\r\n"),
            (True, b"USER root\r\n"), (False, b"331 Password required\r\n"),
            (True, b"PASS toor\r\n"), (False, b"530 Login incorrect.\r\n"),
            (True, b"USER admin\r\n"), (False, b"331 Password required\r\n"),
            (True, b"PASS 1234\r\n"), (False, b"230 Logged in\r\n")]
LOGINS = [("admin", "wrong", "failure"), ("root", "toor", "failure"), ("admin", "1234", "success")]


def _keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    return Counter((o.kind, json.dumps(o.fields, sort_keys=True)) for o in observations if o.proto == "ftp")


def _logins(observations: list[Observation]) -> list[tuple[Any, ...]]:
    return [(o.fields["username"], o.fields["password"], o.fields["result"]) for o in observations
            if o.kind == "login_attempt"]


def test_a_whole_connection_reads_the_greeting_and_three_logins() -> None:
    got = session(EXCHANGE, PORT)
    assert [o.kind for o in got if o.proto == "ftp"] == ["banner"] + ["login_attempt"] * 3
    assert _logins(got) == LOGINS


def _lossy(*lost: int) -> list[Observation]:
    """EXCHANGE, one message a segment, with messages ``lost``, each hole told in its place (as the engine tells it
    once the other direction acknowledges past it)."""
    chunks: list[Chunk] = [(to_server, None if i in lost else data) for i, (to_server, data) in enumerate(EXCHANGE)]
    return converse(FtpDissector(), chunks, None, PORT)


def test_a_lost_command_costs_its_login_and_keeps_the_logins_after_it() -> None:
    whole = _keys(session(EXCHANGE, PORT))
    for message, kept in ((1, LOGINS[1:]), (3, LOGINS[1:]), (5, [LOGINS[0], LOGINS[2]]), (7, [LOGINS[0], LOGINS[2]])):
        lossy = _lossy(message)
        assert not _keys(lossy) - whole, message
        assert _logins(lossy) == kept, message


def test_a_lost_reply_costs_its_login_and_keeps_the_logins_after_it() -> None:
    assert _logins(_lossy(4)) == LOGINS[1:]  # the first 530
    assert _logins(_lossy(2)) == LOGINS[1:]  # the 331 before it: the USER and PASS may have been answered in it
    lossy = _lossy(0)  # the greeting
    assert [o.kind for o in lossy] == ["login_attempt"] * 3


def test_an_answer_whose_user_or_pass_was_lost_claims_no_login() -> None:
    # the hole told before the answer
    chunks: list[Chunk] = [(False, b"220 ready\r\n"), (True, b"USER guest\r\n"), (False, b"331 go on\r\n"),
                           (True, GAP), (False, b"230 Logged in\r\n")]
    assert [o.kind for o in converse(FtpDissector(), chunks, None, PORT)] == ["banner"]
    # the hole told only after it (nothing of the client's came behind it): the 230 answers no command read
    chunks = [(False, b"220 ready\r\n"), (True, b"USER admin\r\n"), (False, b"331 go on\r\n"),
              (False, b"230 Logged in\r\n"), (True, GAP), (True, b"SYST\r\n")]
    assert [o.kind for o in converse(FtpDissector(), chunks, None, PORT)] == ["banner"]
    # through the engine, whose capture has no ACKs to tell a hole early: the last PASS lost, its 230 claims none
    assert _logins(session(EXCHANGE, PORT, (11,))) == LOGINS[:2]
    # a lost 230 leaves no USER pending: a later 530 (a command refused) is no failed login of it
    chunks = [(False, b"220 ready\r\n"), (True, b"USER admin\r\nPASS 1234\r\n"), (False, GAP),
              (True, b"LIST\r\n"), (False, b"530 Please login with USER and PASS.\r\n")]
    assert [o.kind for o in converse(FtpDissector(), chunks, None, PORT)] == ["banner"]


def test_a_greeting_cut_by_a_hole_is_no_banner() -> None:
    chunks: list[Chunk] = [(False, b"220-Welcome to the NVR\r\n"), (False, GAP), (False, b"220 ready\r\n"),
                           (True, b"USER a\r\nPASS b\r\n"), (False, b"530 no\r\n")]
    got = converse(FtpDissector(), chunks, None, PORT)
    assert [o.kind for o in got] == ["login_attempt"]
    assert _logins(got) == [("a", "b", "failure")]


def test_past_a_hole_only_a_known_command_or_a_reply_line_is_taken() -> None:
    # the hole cut lines: their tails, and lines that are neither a command nor a reply, are skipped
    chunks: list[Chunk] = [(False, b"220 ready\r\n"), (True, b"USER a\r\n"), (True, GAP),
                           (True, b"ER admin\r\nXYZZ 1\r\nPASS 1234\r\n"), (False, b"230 ok\r\n")]
    assert [o.kind for o in converse(FtpDissector(), chunks, None, PORT)] == ["banner"]  # no USER after the hole
    chunks = [(False, b"220 ready\r\n"), (True, b"USER a\r\nPASS b\r\n"), (False, GAP),
              (False, b"in 530 text\r\n699 no such code\r\n530 Login incorrect\r\n"),
              (True, b"USER c\r\nPASS d\r\n"), (False, b"331 go on\r\n530 Login incorrect\r\n")]
    assert _logins(converse(FtpDissector(), chunks, None, PORT)) == [("c", "d", "failure")]
    # a command line within MAX_LINE waits for its end; one over it is not taken
    state: dict[str, Any] = {}
    d = FtpDissector()
    d.gap(state, True)
    assert converse(d, [(True, b"USER a" + b"x" * (MAX_LINE - 20))], state, PORT) == []
    assert state["c2s"].startswith(b"USER a")
    converse(d, [(True, b"y" * 40)], state, PORT)
    assert len(state["c2s"]) <= d.max_buffer and state["resync_c2s"]


SEGMENT = 7  # holes inside lines too


def test_every_single_lost_segment_reads_nothing_the_whole_connection_lacks() -> None:
    # the hole told late (the engine's, with no ACKs in the capture) and in its place (gapfeed's)
    for segment in (None, SEGMENT):
        whole = _keys(session(EXCHANGE, PORT, segment=segment))
        cut = segments(EXCHANGE, segment or MAX_LINE)
        for lost in range(segment_count(EXCHANGE, segment)):
            assert not _keys(session(EXCHANGE, PORT, (lost,), segment=segment)) - whole, (segment, lost)
            assert not _keys(converse(FtpDissector(), lose(cut, lost), None, PORT)) - whole, (segment, lost)


def test_a_hole_in_the_greeting_keeps_every_login() -> None:
    cut = segments(EXCHANGE, SEGMENT)
    for lost in segments_of(EXCHANGE, 0, SEGMENT):
        assert _logins(converse(FtpDissector(), lose(cut, lost), None, PORT)) == LOGINS, lost


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=segment_count(EXCHANGE, SEGMENT) - 1), max_size=3))
def test_fuzz_any_segments_lost_no_message_is_read_that_the_whole_connection_does_not_hold(lost: set[int]) -> None:
    assert_loss_adds_nothing(_keys, EXCHANGE, PORT, [tuple(lost)], segment=SEGMENT)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool, bool]]) -> None:
    gaps_among_junk(FtpDissector(), chunks, PORT)
