"""RTSP past a lost segment (issues #3/#4): a camera session is read on after the capture lost bytes of it, from
the next head streambuf.resync_head finds and RtspDissector.resync_valid accepts (a start line of the whole form,
well-formed field lines, CSeq), never from a look-alike inside a body. Built sessions go through the default
engine with segments left out (tests/engine/losscheck.session)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.rtsp import RtspDissector
from iotwarden.model import Observation
from tests.engine.losscheck import gaps_among_junk, segment_count, segments_of, session

URL = "rtsp://10.10.20.101:554/stream1"
SEGMENT = 64
# an SDP body whose later segments begin with RTSP look-alikes: a status line without CSeq, a request line of
# no RTSP method
_SDP = (b"v=0\r\no=- 1 1 IN IP4 10.10.20.101\r\ns=cam\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n").ljust(SEGMENT, b" ")
SDP = _SDP + b"RTSP/1.0 200 OK\r\nServer: fake\r\n\r\n".ljust(SEGMENT, b" ") + b"FETCH rtsp://x/ RTSP/1.0\r\n\r\n"


def _request(method: str, cseq: int, extra: str = "") -> bytes:
    return f"{method} {URL} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: vlc\r\n{extra}\r\n".encode()


def _response(cseq: int, extra: str = "", body: bytes = b"") -> bytes:
    length = f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n" if body else ""
    return f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nServer: GStreamer\r\n{extra}{length}\r\n".encode() + body


EXCHANGE = [(True, _request("OPTIONS", 1)), (False, _response(1, "Public: DESCRIBE, SETUP, PLAY\r\n")),
            (True, _request("DESCRIBE", 2)), (False, _response(2, body=SDP)),
            (True, _request("SETUP", 3, "Transport: RTP/AVP/TCP;interleaved=0-1\r\n")),
            (False, _response(3, "Transport: RTP/AVP/TCP;interleaved=0-1\r\nSession: 42\r\n")),
            (True, _request("PLAY", 4, "Session: 42\r\n")), (False, _response(4, "Session: 42\r\n")),
            (True, _request("TEARDOWN", 5, "Session: 42\r\n")), (False, _response(5))]
PAIRED = ("method", "credentials_sent")  # what an answer takes from its request, when that was read


def _keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    return Counter((o.kind, json.dumps({k: v for k, v in o.fields.items()
                                        if not (o.kind == "response" and k in PAIRED)}, sort_keys=True))
                   for o in observations if o.proto == "rtsp")


def _cseqs(observations: list[Observation], kind: str) -> set[int]:
    return {o.fields["cseq"] for o in observations if o.proto == "rtsp" and o.kind == kind}


def test_a_whole_session_reads_every_message() -> None:
    obs = session(EXCHANGE, 554, segment=SEGMENT)
    assert _cseqs(obs, "request") == _cseqs(obs, "response") == {1, 2, 3, 4, 5}


def test_a_segment_lost_in_an_sdp_body_reads_none_of_its_look_alikes_and_the_answers_after() -> None:
    whole = _keys(session(EXCHANGE, 554, segment=SEGMENT))
    for lost in segments_of(EXCHANGE, 3, SEGMENT):  # DESCRIBE's answer: its head, then its body
        obs = session(EXCHANGE, 554, (lost,), segment=SEGMENT)
        assert not _keys(obs) - whole, lost
        assert {3, 4, 5} <= _cseqs(obs, "response"), lost
        assert "fake" not in {o.fields.get("server") for o in obs if o.proto == "rtsp"}


def test_a_request_lost_costs_that_request_and_its_answer_says_nothing_of_it() -> None:
    obs = session(EXCHANGE, 554, tuple(segments_of(EXCHANGE, 4, SEGMENT)), segment=SEGMENT)  # SETUP, every segment
    assert _cseqs(obs, "request") == {1, 2, 4, 5}
    (answer,) = [o.fields for o in obs if o.kind == "response" and o.fields["cseq"] == 3]
    assert (answer["method"], answer["credentials_sent"]) == (None, None)


_SEGMENTS = segment_count(EXCHANGE, SEGMENT)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=_SEGMENTS - 1), max_size=4))
def test_fuzz_any_segments_lost_nothing_is_read_that_the_whole_session_does_not_hold(lost: set[int]) -> None:
    whole = _keys(session(EXCHANGE, 554, segment=SEGMENT))
    assert not _keys(session(EXCHANGE, 554, tuple(lost), segment=SEGMENT)) - whole


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool, bool]]) -> None:
    gaps_among_junk(RtspDissector(), chunks, 554)
