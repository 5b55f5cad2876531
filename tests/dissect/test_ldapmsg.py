"""LDAPMessage reading (RFC 4511 §4): framing lengths, result names, filter text and its bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import ldapmsg
from iotwarden.errors import ParseError
from iotwarden.lab import proto_ldap as L
from iotwarden.lab.proto_net import ber


def test_message_length_needs_the_whole_header() -> None:
    message = L.search_done(3)
    assert ldapmsg.message_length(message) == len(message)
    assert ldapmsg.message_length(b"") is None and ldapmsg.message_length(b"\x30") is None
    assert ldapmsg.message_length(b"\x30\x82\x01") is None
    assert ldapmsg.message_length(b"\x30\x82\x01\x00") == 4 + 256
    with pytest.raises(ParseError, match="indefinite"):
        ldapmsg.message_length(b"\x30\x80")
    with pytest.raises(ParseError, match="not a SEQUENCE"):
        ldapmsg.message_length(b"\x16\x03\x01")


def test_result_codes_are_named_and_unknown_ones_kept_as_numbers() -> None:
    assert ldapmsg.parse_message(L.bind_response(1, 49))[2]["result"] == "invalidCredentials"
    assert ldapmsg.parse_message(L.bind_response(1, 8))[2]["result"] == "strongerAuthRequired"
    assert ldapmsg.parse_message(L.bind_response(1, 118))[2]["result"] == "118"


def test_binary_assertion_values_are_escaped_and_gathered() -> None:
    _, op, fields = ldapmsg.parse_message(L.netlogon_ping(1, "corp.example", "h"))
    assert op == "search_request" and "(NtVer=\\16\\00\\00\\00)" in fields["filter"]
    assert fields["assertions"] == {"dnsdomain": b"corp.example", "host": b"h", "ntver": b"\x16\x00\x00\x00"}


def test_deep_filters_and_long_attribute_lists_are_bounded() -> None:
    flt = ber(0x87, b"cn")
    for _ in range(ldapmsg.MAX_FILTER_DEPTH + 4):
        flt = ber(0xA2, flt)
    attributes = tuple(f"a{i}" for i in range(ldapmsg.MAX_ATTRIBUTES + 4))
    fields = ldapmsg.parse_message(L.search(1, "", flt, attributes))[2]
    assert fields["filter"] == "(!" * ldapmsg.MAX_FILTER_DEPTH + "(...)" + ")" * ldapmsg.MAX_FILTER_DEPTH
    assert len(fields["attributes"]) == ldapmsg.MAX_ATTRIBUTES


def test_entry_requests_name_their_entry() -> None:
    _, op, fields = ldapmsg.parse_message(L.message(4, ber(0x4A, b"CN=old,DC=corp")))
    assert (op, fields) == ("del_request", {"operation": "delete", "object": "CN=old,DC=corp"})


def test_wide_filters_long_text_and_many_assertions_are_bounded() -> None:
    items = b"".join(L.equality(f"a{i}", "v" * 40) for i in range(ldapmsg.MAX_FILTER_ITEMS + 8))
    fields = ldapmsg.parse_message(L.search(1, "", ber(0xA0, items)))[2]
    assert fields["filter"].count("(a") <= ldapmsg.MAX_FILTER_ITEMS
    assert len(fields["filter"]) == ldapmsg.MAX_FILTER
    assert len(fields["assertions"]) == ldapmsg.MAX_ASSERTIONS


def test_a_cut_bind_responses_head_names_its_message_and_result_when_they_came() -> None:
    """Every prefix of a BindResponse (short or AD's 4-byte long lengths): the messageID once it and the
    BindResponse header are whole, the resultCode once it is; never an exception, nothing from other messages."""
    diagnostic = b"80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 52e, v4563"
    result = b"\x0a\x01\x31\x04\x00\x04\x84" + len(diagnostic).to_bytes(4, "big") + diagnostic
    long_form = b"\x02\x01\x07\x61\x84" + len(result).to_bytes(4, "big") + result
    for whole, (id_end, code_end) in [(L.bind_response(7, 49, "data 52e"), (7, 10)),
                                      (b"\x30\x84" + len(long_form).to_bytes(4, "big") + long_form, (15, 18))]:
        for n in range(len(whole) + 1):
            expected = None if n < id_end else (7, 49 if n >= code_end else None)
            assert ldapmsg.bind_response_head(whole[:n]) == expected, n
    assert ldapmsg.bind_response_head(L.bind_simple(7, "cn=x", "pw")) is None
    assert ldapmsg.bind_response_head(L.unbind(3)) is None
    assert ldapmsg.bind_response_head(b"\x30\x85\x00\x00\x00\x00\x01") is None  # a 5-byte length: not LDAP's


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=24))
def test_fuzz_a_cut_head_never_raises(head: bytes) -> None:
    got = ldapmsg.bind_response_head(b"\x30" + head)
    assert got is None or (got[0] >= 0 and (got[1] is None or isinstance(got[1], int)))
