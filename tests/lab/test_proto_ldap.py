"""The lab's LDAP builders make what the dissector (and tshark, tests/dissect/test_ldap.py) reads back."""

from __future__ import annotations

import uuid

from iotwarden.dissect import ldapmsg, netlogon
from iotwarden.lab import proto_ldap as L


def test_binds_and_their_answers_round_trip() -> None:
    assert ldapmsg.parse_message(L.bind_simple(3, "cn=a", "secret")) == (3, "bind_request", {
        "version": 3, "name": "cn=a", "auth": "simple", "bind_kind": "simple", "password_present": True,
        "password_length": 6})
    assert ldapmsg.parse_message(L.bind_response(3, L.INVALID_CREDENTIALS))[2]["result_code"] == 49
    assert ldapmsg.parse_message(L.start_tls_response(4))[2]["oid"] == L.START_TLS


def test_a_dc_answer_holds_its_netlogon_response() -> None:
    response = L.logon_response_ex(forest="corp.example", domain="corp.example", host="DC01.corp.example",
                                   netbios_domain="CORP", netbios_name="DC01", site="HQ", client_site="HQ",
                                   domain_guid=uuid.UUID(int=1))
    answer = L.netlogon_answer(2, response)
    length = ldapmsg.message_length(answer)
    assert length is not None
    _, op, fields = ldapmsg.parse_message(answer[:length])
    assert op == "search_result_entry" and fields["values"]["netlogon"] == response
    assert ldapmsg.parse_message(answer[length:])[1] == "search_result_done"
    assert netlogon.parse_response(response)["dns_forest_name"] == "corp.example"
