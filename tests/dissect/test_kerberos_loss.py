"""Kerberos over TCP past a lost segment (issues #3/#4): the hole costs its direction's record, not the flow; the
next record is taken only where a segment begins and only when dissect/kerberos.record accepts it, and an answer
read after a hole in the client's direction is paired with no older request. Built connections go through the
default engine with segments left out (tests/engine/losscheck.session)."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.kerberos import ANSWERS, REQUESTS, KerberosDissector, record
from iotwarden.lab import proto_dir
from iotwarden.model import Observation
from tests.engine.losscheck import gaps_among_junk, segment_count, segments_of, session

RNG = random.Random(7)
REALM = "CORP.EXAMPLE"
ALICE = proto_dir.as_req(RNG, REALM, "alice", "WS-01", preauth=True)
ALICE_FAILED = proto_dir.krb_error(RNG, REALM, "alice", 24, 1.7e9)
BOB = proto_dir.as_req(RNG, REALM, "bob", "WS-01", preauth=True)
BOB_GRANTED = proto_dir.kdc_rep(RNG, 11, REALM, "bob", "krbtgt", REALM)
TGS_REQ = proto_dir.tgs_req(RNG, REALM, "bob", "cifs", "FS01.corp.example")
TGS_REP = proto_dir.kdc_rep(RNG, 13, REALM, "bob", "cifs", "FS01.corp.example")
EXCHANGE = [(to_server, proto_dir.tcp_record(m)) for to_server, m in (
    (True, ALICE), (False, ALICE_FAILED), (True, BOB), (False, BOB_GRANTED), (True, TGS_REQ), (False, TGS_REP))]
SEGMENT = 100


def _keys(observations: list[Observation], kinds: tuple[str, ...] | None = None) -> Counter[tuple[Any, ...]]:
    return Counter((o.kind, json.dumps(o.fields, sort_keys=True, default=repr)) for o in observations
                   if o.proto == "kerberos" and (kinds is None or o.kind in kinds))


def _kinds(lost: tuple[int, ...]) -> list[str]:
    return [o.kind for o in session(EXCHANGE, 88, lost, segment=SEGMENT) if o.proto == "kerberos"]


def test_a_whole_connection_reads_every_exchange() -> None:
    assert _kinds(()) == ["as_req", "error", "login_attempt", "as_req", "as_rep", "login_attempt", "tgs_req",
                          "tgs_rep"]


def test_a_request_lost_mid_record_costs_that_request_and_the_answers_still_come() -> None:
    whole = _keys(session(EXCHANGE, 88, (), segment=SEGMENT))
    seg = segments_of(EXCHANGE, 2, SEGMENT)  # bob's AS-REQ: lost in its middle
    lossy_obs = session(EXCHANGE, 88, (seg[1],), segment=SEGMENT)
    assert not _keys(lossy_obs) - whole
    kinds = [o.kind for o in lossy_obs if o.proto == "kerberos"]
    assert kinds.count("as_rep") == 1 and "tgs_req" in kinds and "tgs_rep" in kinds
    # bob's AS-REP answers a request the hole took: paired with none, not with alice's, so no logon is made up
    logins = [o.fields for o in lossy_obs if o.kind == "login_attempt"]
    assert [(f["username"], f["result"]) for f in logins] == [("alice", "failure")]


def test_an_answer_lost_mid_record_reads_no_record_out_of_its_rest() -> None:
    whole = _keys(session(EXCHANGE, 88, (), segment=SEGMENT))
    for index in (3, 5):  # the AS-REP and the TGS-REP, each several segments with a ticket's cipher text
        for lost in segments_of(EXCHANGE, index, SEGMENT)[:-1]:
            lossy = _keys(session(EXCHANGE, 88, (lost,), segment=SEGMENT))
            assert not lossy - whole, (index, lost)


def test_record_wants_a_direction_s_message_filling_its_length_exactly() -> None:
    rec = proto_dir.tcp_record(TGS_REQ)
    assert record(rec, 0, REQUESTS) is True
    assert record(rec, 0, ANSWERS) is False  # a request where answers travel
    assert record(rec[:40], 0, REQUESTS) is None  # not whole yet
    assert record(rec[:4] + b"\x30" + rec[5:], 0, REQUESTS) is False  # no KDC message tag
    longer = (len(TGS_REQ) + 2).to_bytes(4, "big") + TGS_REQ + b"\x00\x00"
    assert record(longer, 0, REQUESTS) is False  # the DER encoding does not fill the record
    assert record(b"\x80" + rec[1:], 0, REQUESTS) is False  # the reserved bit (RFC 4120 §7.2.2)


def test_a_gap_drops_the_partial_record_and_the_request_to_pair() -> None:
    d: KerberosDissector = KerberosDissector()
    state: dict[str, Any] = {}
    pkt = Packet(ts=1.0, payload=b"", src_ip="10.0.0.5", dst_ip="10.0.0.1", ip_proto=6, src_port=50000,
                 dst_port=88, to_server=True)
    rec = proto_dir.tcp_record(ALICE)
    d.feed(pkt, rec, state)
    d.feed(pkt, proto_dir.tcp_record(BOB)[:30], state)
    assert state.get("as_req") and state.get("c2s")
    d.gap(state, True)
    assert not state.get("as_req") and not state.get("c2s")
    assert d.feed(pkt, b"\x01" * 50, state) == []  # the rest of bob's request: no record begins there
    assert [o.kind for o in d.feed(pkt, proto_dir.tcp_record(TGS_REQ), state)] == ["tgs_req"]


_SEGMENTS = segment_count(EXCHANGE, SEGMENT)
_MESSAGES = ("as_req", "as_rep", "tgs_req", "tgs_rep", "error")


@settings(max_examples=50, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=_SEGMENTS - 1), max_size=3))
def test_fuzz_any_segments_lost_no_message_is_read_that_the_whole_connection_does_not_hold(lost: set[int]) -> None:
    whole = _keys(session(EXCHANGE, 88, (), segment=SEGMENT), _MESSAGES)
    lossy = _keys(session(EXCHANGE, 88, tuple(lost), segment=SEGMENT), _MESSAGES)
    assert not lossy - whole


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool, bool]]) -> None:
    gaps_among_junk(KerberosDissector(), chunks, 88)
