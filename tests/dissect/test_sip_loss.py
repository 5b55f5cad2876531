"""SIP over TCP past a lost segment (issues #3/#4): a phone's connection to its PBX is read on after the capture
lost bytes of it, from the next head streambuf.resync_head finds and SipDissector.resync_valid accepts (a whole
start line, well-formed field lines, To, From, CSeq, Call-ID and Via), never from a look-alike inside a body.
Built sessions go through the default engine with segments left out (tests/engine/losscheck.session)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.sip import SipDissector
from iotwarden.model import Observation
from tests.engine.losscheck import gaps_among_junk, segment_count, segments_of, session

SEGMENT = 64
# an SDP body whose later segments begin with SIP look-alikes: a status line and a request line without the
# headers every SIP message carries
_SDP = b"v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=call\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n".ljust(SEGMENT, b" ")
SDP = _SDP + b"SIP/2.0 200 OK\r\nServer: fake\r\n\r\n".ljust(SEGMENT, b" ") + b"BYE sip:x@y SIP/2.0\r\nX: y\r\n\r\n"


def _message(start: str, cseq: int, method: str, body: bytes = b"") -> bytes:
    headers = (f"{start}\r\nVia: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK{cseq}\r\nFrom: <sip:100@pbx>;tag=1\r\n"
               f"To: <sip:200@pbx>\r\nCall-ID: c{cseq}@10.0.0.5\r\nCSeq: {cseq} {method}\r\n"
               f"User-Agent: phone\r\nContent-Length: {len(body)}\r\n")
    kind = "Content-Type: application/sdp\r\n" if body else ""
    return (headers + kind + "\r\n").encode() + body


EXCHANGE = [(to_server, _message(start, cseq, method, body)) for to_server, start, cseq, method, body in (
    (True, "REGISTER sip:pbx SIP/2.0", 1, "REGISTER", b""), (False, "SIP/2.0 200 OK", 1, "REGISTER", b""),
    (True, "INVITE sip:200@pbx SIP/2.0", 2, "INVITE", SDP), (False, "SIP/2.0 200 OK", 2, "INVITE", SDP),
    (True, "ACK sip:200@pbx SIP/2.0", 2, "ACK", b""), (True, "BYE sip:200@pbx SIP/2.0", 3, "BYE", b""),
    (False, "SIP/2.0 200 OK", 3, "BYE", b""))]
PAIRED = ("credentials_sent",)  # what an answer takes from its request, when that was read


def _keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    return Counter((o.kind, json.dumps({k: v for k, v in o.fields.items()
                                        if not (o.kind == "response" and k in PAIRED)}, sort_keys=True))
                   for o in observations if o.proto == "sip")


def _seen(observations: list[Observation]) -> set[tuple[str, int]]:
    return {(o.kind, o.fields["cseq"]) for o in observations if o.proto == "sip"}


def test_a_whole_connection_reads_every_message() -> None:
    obs = session(EXCHANGE, 5060, segment=SEGMENT)
    assert _seen(obs) == {(kind, n) for kind in ("request", "response") for n in (1, 2, 3)}
    assert len([o for o in obs if o.proto == "sip"]) == 7  # ACK shares INVITE's CSeq number


def test_a_segment_lost_in_an_sdp_body_reads_none_of_its_look_alikes_and_the_messages_after() -> None:
    whole = _keys(session(EXCHANGE, 5060, segment=SEGMENT))
    for index in (2, 3):  # the INVITE and its answer, head or body
        for lost in segments_of(EXCHANGE, index, SEGMENT):
            obs = session(EXCHANGE, 5060, (lost,), segment=SEGMENT)
            assert not _keys(obs) - whole, (index, lost)
            assert ("response", 3) in _seen(obs) and ("request", 3) in _seen(obs), (index, lost)
            assert "fake" not in {o.fields.get("server") for o in obs if o.proto == "sip"}


_SEGMENTS = segment_count(EXCHANGE, SEGMENT)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=_SEGMENTS - 1), max_size=4))
def test_fuzz_any_segments_lost_nothing_is_read_that_the_whole_connection_does_not_hold(lost: set[int]) -> None:
    whole = _keys(session(EXCHANGE, 5060, segment=SEGMENT))
    assert not _keys(session(EXCHANGE, 5060, tuple(lost), segment=SEGMENT)) - whole


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool, bool]]) -> None:
    gaps_among_junk(SipDissector(), chunks, 5060)
