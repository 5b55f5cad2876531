"""RDP past a lost segment (issues #3/#4): a hole before the confirm is read ends the flow; after it, under TLS the
TLS dissector's own resynchronisation (dissect/tls.plausible) keeps the server's certificate, and so the computer's
name, past a hole in either hello, and CredSSP's encrypted turns are counted on where the sequence numbers and ACKs
say where the hole lies (tests/dissect/test_rdpturns.py; fed without them, as here, no more); under standard security a
direction reads on from the next TPKT carrying an X.224 Data TPDU at a segment start (dissect/rdp.data_tpkt_at). Built
connections go through the default engine with segments left out or captured late (tests/engine/losscheck.session)
or straight to the dissector (tests/dissect/gapfeed.converse)."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.rdp import RdpDissector, data_tpkt_at
from iotwarden.lab import proto_tls
from iotwarden.model import Observation
from tests.dissect import rdpbuild as b
from tests.dissect.gapfeed import GAP, Chunk, converse, lose, segments
from tests.engine.losscheck import assert_loss_adds_nothing, gaps_among_junk, segment_count, segments_of, session

PORT = 3389
RNG = random.Random(3389)
CN = "HMI-LINE2"
_FLIGHT = proto_tls.server_flight(RNG, proto_tls.certificate_chain(CN, "Plant", None, 1.7e9, 5), CN, 5)[5:]
_HELLO_SIZE = 4 + int.from_bytes(_FLIGHT[1:4], "big")
# the server's hello in a record of its own, then its Certificate and the rest of its flight
SERVER_HELLO = proto_tls.record(proto_tls.HANDSHAKE, _FLIGHT[:_HELLO_SIZE])
CERTIFICATE = proto_tls.record(proto_tls.HANDSHAKE, _FLIGHT[_HELLO_SIZE:])
# NLA (HYBRID): X.224, TLS, then CredSSP's NEGOTIATE, CHALLENGE and AUTHENTICATE in application data ([MS-CSSP] §3.1.5)
NLA = [(True, b.connection_request()), (False, b.connection_confirm(b.PROTOCOL_HYBRID)),
       (True, proto_tls.client_hello(RNG, CN)), (False, SERVER_HELLO), (False, CERTIFICATE),
       (True, proto_tls.client_finish(RNG)), (False, proto_tls.server_finish(RNG)),
       (True, proto_tls.application_data(RNG, 120)), (False, proto_tls.application_data(RNG, 310)),
       (True, proto_tls.application_data(RNG, 600)), (False, proto_tls.application_data(RNG, 60))]
CORE = b.client_core("ENG-WS-3", build=7601, layout=0x407, width=1920, height=1080)
# standard RDP security: X.224, then the MCS connect exchange in Data TPDUs ([MS-RDPBCGR] §2.2.1.3-2.2.1.4)
STANDARD = [(True, b.connection_request("op", b.PROTOCOL_RDP)), (False, b.connection_confirm(b.PROTOCOL_RDP)),
            (True, b.mcs_connect_initial(CORE)), (False, b.mcs_connect_response(method=0x1, level=1))]
SEGMENT = 100


def _keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    return Counter((o.proto, o.kind, json.dumps(o.fields, sort_keys=True, default=repr)) for o in observations
                   if o.proto in ("rdp", "tls"))


def _kinds(observations: list[Observation]) -> list[str]:
    return [o.kind for o in observations if o.proto in ("rdp", "tls")]


WHOLE_NLA = ["connection_request", "connection_confirm", "client_hello", "server_hello", "certificate",
             "server_certificate", "encrypted_turns", "encrypted_turns"]


def _lossy(messages: list[tuple[bool, bytes]], lost: int) -> list[Observation]:
    """``messages`` cut into SEGMENT-byte segments, segment ``lost`` lost, its hole told in its place."""
    return converse(RdpDissector(), lose(segments(messages, SEGMENT), lost), None, PORT)


def test_a_whole_connection_reads_the_negotiation_the_certificate_and_the_turns() -> None:
    assert _kinds(session(NLA, PORT, segment=SEGMENT)) == WHOLE_NLA
    assert _kinds(session(STANDARD, PORT, segment=SEGMENT)) == ["connection_request", "connection_confirm",
                                                                "client_core", "server_security"]


def test_a_hole_in_either_hello_keeps_the_certificate_and_the_computer_s_name() -> None:
    whole = _keys(session(NLA, PORT, segment=SEGMENT))
    for index, hello in ((2, "client_hello"), (3, "server_hello")):
        for lost in segments_of(NLA, index, SEGMENT):
            lossy = _lossy(NLA, lost)
            assert not _keys(lossy) - whole, lost
            assert _kinds(lossy) == [k for k in WHOLE_NLA[:6] if k != hello], lost  # the turns no longer counted
            assert [o.fields["computer_name"] for o in lossy if o.kind == "server_certificate"] == [CN], lost


def test_a_hole_in_the_certificate_or_the_credssp_turns_reads_nothing_made_up() -> None:
    whole = _keys(session(NLA, PORT, segment=SEGMENT))
    for lost in segments_of(NLA, 4, SEGMENT):
        lossy = _lossy(NLA, lost)
        assert not _keys(lossy) - whole, lost
        assert _kinds(lossy) == WHOLE_NLA[:4], lost
    for index in range(7, 11):
        for lost in segments_of(NLA, index, SEGMENT):
            lossy = _lossy(NLA, lost)
            assert not _keys(lossy) - whole, lost
            assert _kinds(lossy)[:6] == WHOLE_NLA[:6], lost


def test_a_hole_before_the_confirm_is_read_ends_the_flow() -> None:
    for lost in (0, segment_count(NLA[:1], SEGMENT)):  # the request, the confirm
        assert _kinds(_lossy(NLA, lost)) == ["connection_request"][: lost and 1]


def test_under_standard_security_a_hole_costs_its_direction_what_it_was_in() -> None:
    whole = _keys(session(STANDARD, PORT, segment=SEGMENT))
    assert len(segments_of(STANDARD, 2, SEGMENT)) > 1
    for index, kept in ((2, "server_security"), (3, "client_core")):
        for lost in segments_of(STANDARD, index, SEGMENT):
            lossy = _lossy(STANDARD, lost)
            assert not _keys(lossy) - whole, lost
            assert _kinds(lossy) == ["connection_request", "connection_confirm", kept], lost
    # the next Data TPDU found at a segment start is read
    chunks: list[Chunk] = [*STANDARD[:2], (True, STANDARD[2][1][:30]), (True, GAP), (True, b"\x00" * 10),
                           STANDARD[2], STANDARD[3]]
    assert _kinds(converse(RdpDissector(), chunks, None, PORT))[2:] == ["client_core", "server_security"]


def test_data_tpkt_at_validates_harder_than_in_sync() -> None:
    tpkt = bytearray(b.mcs_connect_initial(CORE))
    assert data_tpkt_at(tpkt, 0) is True
    assert data_tpkt_at(tpkt[:5], 0) is None and data_tpkt_at(tpkt[:40], 0) is None  # not whole yet
    assert data_tpkt_at(tpkt, 1) is False
    assert data_tpkt_at(bytearray(b.connection_request()), 0) is False  # a Connection Request TPDU
    assert data_tpkt_at(bytearray(b"\x03\x01" + tpkt[2:]), 0) is False  # reserved byte set
    assert data_tpkt_at(bytearray(b"\x03\x00\x00\x07\x02\xf0\x80"), 0) is False  # no user data


def test_every_single_lost_segment_reads_nothing_the_whole_connection_lacks() -> None:
    for messages in (NLA, STANDARD):
        assert_loss_adds_nothing(_keys, messages, PORT, segment=SEGMENT,
                                 in_place=lambda lost, m=messages: _lossy(m, lost))


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=segment_count(NLA, SEGMENT) - 1), max_size=3))
def test_fuzz_any_segments_lost_no_message_is_read_that_the_whole_connection_does_not_hold(lost: set[int]) -> None:
    assert_loss_adds_nothing(_keys, NLA, PORT, [tuple(lost)], segment=SEGMENT)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool, bool]]) -> None:
    gaps_among_junk(RdpDissector(), [(b.connection_request(), False, True), *chunks], PORT)
