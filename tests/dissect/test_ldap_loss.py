"""LDAP past a lost segment (issues #3/#4): a pooled connection of binds and searches is read on after the capture
lost bytes of it, from the next message found where a segment begins that dissect/ldap.plausible accepts; bytes
inside a message (an entry's values holding LDAP look-alikes) are never read as one, and a bind whose answer the
hole held is still reported cut; after StartTLS a hole is the TLS dissector's, which reads on from the next record
(dissect/tls.plausible). Built connections go through the default engine with segments left out
(tests/engine/losscheck.session) or straight to the dissector (tests/dissect/gapfeed.converse)."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.ldap import LdapDissector, plausible
from iotwarden.lab import proto_ldap as L
from iotwarden.lab import proto_tls
from iotwarden.model import Observation
from tests.dissect.gapfeed import converse, lose, segments
from tests.engine.losscheck import gaps_among_junk, segment_count, segments_of, session

DN = "CN=svc-mfp,OU=Service Accounts,DC=corp,DC=example"
# values that are LDAP messages themselves (a stored answer, a bind), so a segment beginning inside an entry may
# begin with one
DECOY = {"description": [L.bind_response(7, 0), L.search_done(9)], "info": [L.bind_simple(8, DN, "x") * 3]}
SEGMENT = 80


def _answer(i: int) -> bytes:
    """Search ``i``'s entry and done, its mail value padded so that the first look-alike begins a segment."""
    for pad in range(SEGMENT):
        mail = f"user{i}@corp.example".encode() + b" " * pad
        answer = L.entry(i, f"CN=user{i},DC=corp,DC=example", {"mail": [mail], **DECOY}) + L.search_done(i)
        if answer.index(DECOY["description"][0]) % SEGMENT == 0:
            return answer
    raise AssertionError("no padding puts the look-alike at a segment start")


SEARCHES = [m for i in range(2, 7) for m in (
    (True, L.search(i, "DC=corp,DC=example", L.equality("sAMAccountName", f"user{i}"), ("mail", "info"))),
    (False, _answer(i)))]
EXCHANGE = [(True, L.bind_simple(1, DN, "Scan2Folder!")), (False, L.bind_response(1, 0)), *SEARCHES,
            (True, L.unbind(7))]
REPORTED = ("bind_response_cut", "login_attempt")  # what a hole in a bind's answer adds: compared apart


PAIRED = ("bind_kind", "name", "mechanism")  # what an answer takes from its request, when that was read


def _keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    """Each message as read from its own bytes (an answer without what its request, maybe lost, added)."""
    return Counter((o.kind, json.dumps({k: v for k, v in o.fields.items()
                                        if not (o.kind == "bind_response" and k in PAIRED)},
                                       sort_keys=True, default=repr))
                   for o in observations if o.proto == "ldap" and o.kind not in REPORTED)


def _ldap(lost: tuple[int, ...], segment: int = SEGMENT) -> list[Observation]:
    return [o for o in session(EXCHANGE, 389, lost, segment=segment) if o.proto == "ldap"]


def _searched(observations: list[Observation]) -> set[int]:
    return {o.fields["message_id"] for o in observations if o.kind in ("search_request", "search_result_done")}


def test_a_whole_connection_reads_every_search() -> None:
    obs = _ldap(())
    assert _searched(obs) == set(range(2, 7)) and [o.kind for o in obs].count("search_result_entry") == 5


def test_a_search_lost_mid_request_costs_that_request_only() -> None:
    whole = _keys(_ldap(()))
    seg = segments_of(EXCHANGE, 4, SEGMENT)  # the search with message id 3
    lossy = _ldap((seg[0],))
    assert not _keys(lossy) - whole
    assert {2, 4, 5, 6} <= {o.fields["message_id"] for o in lossy if o.kind == "search_request"}
    assert "unbind_request" in [o.kind for o in lossy]


def test_a_segment_lost_inside_an_entry_reads_none_of_its_look_alikes_and_the_answers_after() -> None:
    whole = _keys(_ldap(()))
    # the answer to search 3: an entry holding LDAP messages, then its done
    for lost in segments_of(EXCHANGE, 5, SEGMENT)[:-1]:
        lossy = _ldap((lost,))
        assert not _keys(lossy) - whole, lost
        assert {4, 5, 6} <= {o.fields["message_id"] for o in lossy if o.kind == "search_result_done"}, lost


def test_a_bind_answer_lost_is_reported_cut_and_the_searches_after_are_read() -> None:
    (lost,) = segments_of(EXCHANGE, 1, SEGMENT)
    lossy = _ldap((lost,))
    cut = [o for o in lossy if o.kind == "bind_response_cut"]
    assert [(o.fields["message_id"], o.fields["name"]) for o in cut] == [(1, DN)]
    assert not _keys(lossy) - _keys(_ldap(()))
    assert _searched(lossy) == set(range(2, 7))


def test_plausible_wants_a_message_its_direction_sends_and_nothing_after_it() -> None:
    request, answer = L.search(3, "DC=corp", L.equality("cn", "a")), L.search_done(3)
    assert plausible(request, 0, True) is True and plausible(answer, 0, False) is True
    assert plausible(request, 0, False) is False and plausible(answer, 0, True) is False  # the wrong direction
    assert plausible(request[:10], 0, True) is None  # not whole yet
    assert plausible(b"\x04" + request[1:], 0, True) is False  # no SEQUENCE
    longer = bytes([0x30, request[1] + 2]) + request[2:] + b"\x04\x00"  # an OCTET STRING after the protocolOp
    assert plausible(longer, 0, True) is False
    assert plausible(b"\x30\x84\x7f\xff\xff\xff", 0, True) is False  # over MAX_MESSAGE


def test_under_a_sasl_layer_a_hole_still_ends_the_flow() -> None:
    d, state = LdapDissector(), dict[str, Any]()
    state["sasl_bound"] = True
    d.gap(state, True)
    assert state["done"]


_RNG = random.Random(636)
_CN = "dc01.corp.example"
# StartTLS (RFC 4511 §4.14), then the TLS handshake: the server's flight in one record
START_TLS = [(True, L.start_tls(1)), (False, L.start_tls_response(1)), (True, proto_tls.client_hello(_RNG, _CN)),
             (False, proto_tls.server_flight(_RNG, proto_tls.certificate_chain(_CN, "Corp", "Corp CA", 1.7e9, 2),
                                             _CN, 2)),
             (True, proto_tls.client_finish(_RNG)), (False, proto_tls.server_finish(_RNG)),
             (True, proto_tls.application_data(_RNG, 300)), (False, proto_tls.application_data(_RNG, 500))]
_TLS_SEGMENT = 160


def _tls_keys(observations: list[Observation]) -> Counter[tuple[Any, ...]]:
    return Counter((o.proto, o.kind, json.dumps(o.fields, sort_keys=True, default=repr)) for o in observations
                   if o.proto in ("ldap", "tls"))


def test_under_start_tls_a_hole_in_the_client_hello_keeps_the_server_s_certificate() -> None:
    whole = session(START_TLS, 389, segment=_TLS_SEGMENT)
    assert [o.kind for o in whole if o.proto == "tls"] == ["client_hello", "server_hello", "certificate"]
    for lost in segments_of(START_TLS, 2, _TLS_SEGMENT):
        # told in its place (gapfeed), as the engine tells a hole the server acknowledged past
        lossy = converse(LdapDissector(), lose(segments(START_TLS, _TLS_SEGMENT), lost), None, 389)
        assert not _tls_keys(lossy) - _tls_keys(whole), lost
        assert [o.kind for o in lossy if o.proto == "tls"] == ["server_hello", "certificate"], lost


def test_under_start_tls_every_single_lost_segment_reads_nothing_the_whole_connection_lacks() -> None:
    whole = _tls_keys(session(START_TLS, 389, segment=_TLS_SEGMENT))
    cut = segments(START_TLS, _TLS_SEGMENT)
    for lost in range(segment_count(START_TLS, _TLS_SEGMENT)):
        assert not _tls_keys(session(START_TLS, 389, (lost,), segment=_TLS_SEGMENT)) - whole, lost
        assert not _tls_keys(converse(LdapDissector(), lose(cut, lost), None, 389)) - whole, lost


_SEGMENTS = segment_count(EXCHANGE, SEGMENT)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=_SEGMENTS - 1), max_size=4), st.sampled_from([SEGMENT, 33]))
def test_fuzz_any_segments_lost_nothing_is_read_that_the_whole_connection_does_not_hold(
        lost: set[int], segment: int) -> None:
    assert not _keys(_ldap(tuple(lost), segment)) - _keys(_ldap((), segment))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), st.booleans(), st.booleans()), max_size=12))
def test_fuzz_gaps_among_arbitrary_bytes_raise_only_parse_errors_and_stay_bounded(
        chunks: list[tuple[bytes, bool, bool]]) -> None:
    gaps_among_junk(LdapDissector(), chunks, 389)
