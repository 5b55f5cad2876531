"""TLS over TCP past a lost segment (issues #3/#4): the hole costs its direction the record and handshake message it
was in, not the flow; the next record is taken only where a segment begins and only when dissect/tls.plausible
accepts it, so a certificate is never read out of the middle of another and a look-alike record header among
encrypted bytes is not taken. Built connections go through the default engine with segments left out
(tests/engine/losscheck.session), or straight to the dissector (tests/dissect/gapfeed.converse)."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.tls import MAX_CIPHERTEXT_13, MAX_PLAINTEXT, TlsDissector, plausible
from iotwarden.lab import proto_tls
from iotwarden.model import Observation
from tests.dissect.gapfeed import GAP, Chunk, converse
from tests.engine.losscheck import gaps_among_junk, segment_count, segments_of, session

RNG = random.Random(11)
CN = "camera-7.example"
CHAIN = proto_tls.certificate_chain(CN, "Acme Cameras", "Acme CA", 1.7e9, 3)
HELLO = proto_tls.client_hello(RNG, CN)


def _one_record_each(flight: bytes) -> list[bytes]:
    """The handshake messages of one record (server_flight's), each in a record of its own."""
    frag, out = flight[5:], []
    while frag:
        size = 4 + int.from_bytes(frag[1:4], "big")
        out.append(proto_tls.record(proto_tls.HANDSHAKE, frag[:size]))
        frag = frag[size:]
    return out


SERVER_HELLO, CERTIFICATE, KEY_EXCHANGE, HELLO_DONE = _one_record_each(proto_tls.server_flight(RNG, CHAIN, CN, 3))
EXCHANGE = [(True, HELLO), (False, SERVER_HELLO), (False, CERTIFICATE), (False, KEY_EXCHANGE), (False, HELLO_DONE),
            (True, proto_tls.client_finish(RNG)), (False, proto_tls.server_finish(RNG)),
            (True, proto_tls.application_data(RNG, 600)), (False, proto_tls.application_data(RNG, 900))]
SEGMENT = 160
PORT = 443


def _keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    return Counter((o.kind, json.dumps(o.fields, sort_keys=True, default=repr)) for o in observations
                   if o.proto == "tls")


def _kinds(lost: tuple[int, ...]) -> list[str]:
    return [o.kind for o in session(EXCHANGE, PORT, lost, segment=SEGMENT) if o.proto == "tls"]


def test_a_whole_connection_reads_both_hellos_and_the_certificate() -> None:
    assert _kinds(()) == ["client_hello", "server_hello", "certificate"]


def test_a_hole_in_the_client_hello_keeps_the_server_s_hello_and_certificate() -> None:
    whole = _keys(session(EXCHANGE, PORT, (), segment=SEGMENT))
    for lost in segments_of(EXCHANGE, 0, SEGMENT):
        lossy = session(EXCHANGE, PORT, (lost,), segment=SEGMENT)
        assert not _keys(lossy) - whole, lost
        assert [o.kind for o in lossy if o.proto == "tls"] == ["server_hello", "certificate"], lost


def test_a_hole_in_the_server_hello_before_the_certificate_keeps_the_certificate() -> None:
    whole = _keys(session(EXCHANGE, PORT, (), segment=SEGMENT))
    for lost in segments_of(EXCHANGE, 1, SEGMENT):
        lossy = session(EXCHANGE, PORT, (lost,), segment=SEGMENT)
        assert not _keys(lossy) - whole, lost
        certs = [o.fields for o in lossy if o.kind == "certificate"]
        assert len(certs) == 1 and certs[0]["cert_count"] == len(CHAIN), lost


def test_a_hole_inside_the_certificate_loses_it_and_reads_nothing_made_up() -> None:
    whole = _keys(session(EXCHANGE, PORT, (), segment=SEGMENT))
    assert len(segments_of(EXCHANGE, 2, SEGMENT)) > 3  # the chain spans several segments
    for lost in segments_of(EXCHANGE, 2, SEGMENT):
        lossy = session(EXCHANGE, PORT, (lost,), segment=SEGMENT)
        assert not _keys(lossy) - whole, lost
        assert [o.kind for o in lossy if o.proto == "tls"] == ["client_hello", "server_hello"], lost


def _server(*pieces: bytes | None) -> list[Chunk]:
    return [(True, HELLO), *((False, p) for p in pieces)]


def test_a_look_alike_application_data_header_among_lost_bytes_is_not_taken() -> None:
    # past the hole a segment begins with an application data header whose record is followed by no other
    # record: taken, it would have stopped the server's direction before its certificate
    look_alike = b"\x17\x03\x03\x00\x10" + bytes(range(16)) + b"\x99" * 40
    got = converse(TlsDissector(), _server(SERVER_HELLO, None, look_alike, CERTIFICATE), None, PORT)
    assert [o.kind for o in got] == ["client_hello", "server_hello", "certificate"]


def test_a_look_alike_handshake_header_among_encrypted_bytes_makes_up_nothing() -> None:
    d = TlsDissector()
    encrypted = proto_tls.application_data(random.Random(5), 400)
    for fake in (b"\x16\x03\x03\x00\x40" + random.Random(6).randbytes(64),  # random bytes, no handshake message
                 b"\x16\x03\x01\x00\x08" + b"\x0b\x00\x00\x10" + b"\x00" * 4):  # a certificate cut by its record
        chunks: list[Chunk] = [(True, HELLO[:100]), (True, GAP), (True, fake), (True, encrypted)]
        assert converse(d, chunks, None, PORT) == []


def test_plausible_validates_a_record_harder_than_in_sync() -> None:
    cert = bytearray(CERTIFICATE)
    assert plausible(cert, 0) is True
    assert plausible(cert[:100], 0) is None  # not whole yet
    assert plausible(cert, 9) is False  # inside the Certificate message: no record header
    middle = bytearray(proto_tls.record(proto_tls.HANDSHAKE, CERTIFICATE[60:200]))
    assert plausible(middle, 0) is False  # a record carrying the middle of a message
    assert plausible(bytearray(b"\x15\x03\x03\x00\x02\x02\x28"), 0) is True  # a fatal alert
    assert plausible(bytearray(b"\x15\x03\x03\x00\x02\x07\x28"), 0) is False  # no such alert level
    assert plausible(bytearray(b"\x14\x03\x03\x00\x01\x01"), 0) is True
    assert plausible(bytearray(b"\x16\x03\x03\x00\x04\x0e\x00\x00\x01"), 0) is False  # ServerHelloDone has no body
    app = proto_tls.record(proto_tls.APPLICATION_DATA, b"\x00" * 32)
    assert plausible(bytearray(app), 0) is None  # the next record's header not seen yet
    assert plausible(bytearray(app + app), 0) is True
    assert plausible(bytearray(app + b"\x99" * 5), 0) is False
    too_long = (MAX_CIPHERTEXT_13 + 1).to_bytes(2, "big")
    assert plausible(bytearray(b"\x17\x03\x03" + too_long), 0) is False  # over RFC 8446 §5.2's limit


def test_a_gap_drops_the_partial_record_and_handshake_message() -> None:
    d = TlsDissector()
    state: dict[str, Any] = {}
    converse(d, [(True, HELLO), (False, SERVER_HELLO[:50])], state, PORT)
    assert state.get("s2c")
    d.gap(state, False)
    assert not state.get("s2c") and not state.get("hs_s2c") and not state.get("done")
    assert [o.kind for o in converse(d, [(False, CERTIFICATE[40:]), (False, CERTIFICATE)], state, PORT)] == [
        "certificate"]


def test_a_candidate_past_a_gap_waits_within_max_buffer_and_one_over_its_limit_is_dropped() -> None:
    d = TlsDissector()
    for ctype, limit, wait in ((b"\x17", MAX_CIPHERTEXT_13, 5), (b"\x16", MAX_PLAINTEXT, 0)):
        state: dict[str, Any] = {}
        d.gap(state, False)
        longest = ctype + b"\x03\x03" + limit.to_bytes(2, "big") + b"\x00" * (limit + wait - 1)
        assert converse(d, [(False, longest)], state, PORT) == []
        assert len(state["s2c"]) == len(longest) <= d.max_buffer  # not whole yet: held
        over = ctype + b"\x03\x03" + (limit + 1).to_bytes(2, "big") + b"\x00" * 100
        state = {}
        d.gap(state, False)
        assert converse(d, [(False, over)], state, PORT) == [] and not state["s2c"]  # over its limit: dropped
        assert state["resync_s2c"]


_SEGMENTS = segment_count(EXCHANGE, SEGMENT)


@settings(max_examples=50, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=_SEGMENTS - 1), max_size=3))
def test_fuzz_any_segments_lost_no_message_is_read_that_the_whole_connection_does_not_hold(lost: set[int]) -> None:
    whole = _keys(session(EXCHANGE, PORT, (), segment=SEGMENT))
    lossy = _keys(session(EXCHANGE, PORT, tuple(lost), segment=SEGMENT))
    assert not lossy - whole


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool, bool]]) -> None:
    gaps_among_junk(TlsDissector(), chunks, PORT)
