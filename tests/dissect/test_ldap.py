"""LDAP dissector: spec-built messages (lab/proto_ldap.py, checked against tshark's decoder) over TCP and CLDAP,
binds of every kind and their results, searches, StartTLS handing the stream to TLS, messages split over segments
and sharing one, limits, and the contract on hostile input."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import ldapmsg
from iotwarden.dissect.base import Packet
from iotwarden.dissect.ldap import MAX_ENTRIES, MAX_MESSAGE, MAX_OBSERVATIONS, MAX_PENDING, LdapDissector
from iotwarden.errors import ParseError
from iotwarden.lab import proto_ldap as L
from iotwarden.lab.proto_net import ber
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, contract_call, feed_capture_any_port, feed_chunks, mutate
from tests.risk.harness import T0, client_hello, host, tcp, udp, write_pcap

DN = "CN=svc-scan,OU=Service Accounts,DC=corp,DC=example"
GUID = uuid.UUID("6a2f3c1e-8b4d-4e0f-9a1b-2c3d4e5f6a7b")
RESPONSE = L.logon_response_ex(forest="corp.example", domain="corp.example", host="DC01.corp.example",
                               netbios_domain="CORP", netbios_name="DC01", site="Default-First-Site-Name",
                               client_site="Branch-2", domain_guid=GUID)
SESSION = [(True, L.bind_simple(1, DN, "Scan2Folder!")), (False, L.bind_response(1, 49, "80090308: LdapErr")),
           (True, L.bind_simple(2, DN, "Scan2Folder!!")), (False, L.bind_response(2, 0)),
           (True, L.search(3, "DC=corp,DC=example", L.equality("sAMAccountName", "bob"), ("mail", "cn"))),
           (False, L.entry(3, "CN=bob,DC=corp,DC=example", {"mail": [b"bob@corp.example"]}) + L.search_done(3)),
           (True, L.unbind(4))]


def _kinds(obs: list[Any]) -> list[str]:
    return [o.kind for o in obs]


def _datagram(payload: bytes, to_server: bool) -> Packet:
    client, server = ("10.0.0.30", 50000), ("10.0.0.5", 389)
    (sip, sport), (dip, dport) = (client, server) if to_server else (server, client)
    return Packet(ts=1.0, payload=payload, src_ip=sip, dst_ip=dip, ip_proto=17, src_port=sport, dst_port=dport,
                  to_server=to_server)


def test_a_service_account_session_binds_fails_retries_and_searches() -> None:
    obs = feed_chunks(LdapDissector(), SESSION)
    assert _kinds(obs) == ["bind_request", "bind_response", "login_attempt", "bind_request", "bind_response",
                           "login_attempt", "search_request", "search_result_entry", "search_result_done",
                           "unbind_request"]
    request, refused, failed = (o.fields for o in obs[:3])
    assert request == {"message_id": 1, "version": 3, "name": DN, "auth": "simple", "bind_kind": "simple",
                       "password_present": True, "password_length": 12}
    assert "Scan2Folder" not in str([o.fields for o in obs])  # the password itself is never kept
    assert (refused["result_code"], refused["result"], refused["diagnostic"]) == (49, "invalidCredentials",
                                                                                    "80090308: LdapErr")
    assert failed == {"username": DN, "bind_kind": "simple", "mechanism": None, "result": "failure", "code": 49}
    assert obs[2].src_ip == "10.0.0.1" and obs[2].subject == "dst"  # the client logs into the server
    assert obs[5].fields["result"] == "success" and obs[1].src_ip == "10.0.0.2"
    search = obs[6].fields
    assert (search["base"], search["scope"], search["filter"]) == ("DC=corp,DC=example", "sub", "(sAMAccountName=bob)")
    assert search["attributes"] == ["mail", "cn"] and "netlogon" not in search
    assert obs[7].fields["object_name"] == "CN=bob,DC=corp,DC=example" and obs[7].fields["attributes"] == ["mail"]


def test_sasl_anonymous_and_unauthenticated_binds() -> None:
    obs = feed_chunks(LdapDissector(), [
        (True, L.bind_sasl(1, "GSS-SPNEGO", b"\x60\x05token")), (False, L.bind_response(1, 14)),
        (True, L.bind_simple(2, "", "")), (False, L.bind_response(2, 0)),
        (True, L.bind_simple(3, "cn=guest", "")), (False, L.bind_response(3, 53))])
    assert _kinds(obs) == ["bind_request", "bind_response"] * 3  # no login_attempt: none presented credentials
    sasl, anonymous, unauthenticated = (o.fields for o in obs[::2])
    assert (sasl["auth"], sasl["bind_kind"], sasl["mechanism"], sasl["sasl_credentials"]) == (
        "sasl", "sasl", "GSS-SPNEGO", True)
    assert "password_present" not in sasl
    assert (anonymous["bind_kind"], anonymous["password_present"]) == ("anonymous", False)
    assert unauthenticated["bind_kind"] == "unauthenticated"
    assert obs[1].fields["result"] == "saslBindInProgress" and obs[5].fields["result"] == "unwillingToPerform"


def test_a_successful_sasl_bind_is_a_login_and_a_wrapped_stream_ends_quietly() -> None:
    state: dict[str, Any] = {}
    d = LdapDissector()
    chunks = [(True, L.bind_sasl(1, "GSSAPI", b"\x60\x01\x00")), (False, L.bind_response(1, 0)),
              (True, b"\x00\x00\x00\x40" + bytes(64))]  # RFC 4422 §3.7: a 4-byte length, then the wrapped PDU
    made = []
    for to_server, data in chunks:
        pkt = Packet(ts=1.0, payload=data, src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=6, src_port=40000,
                     dst_port=389, to_server=to_server)
        made += d.feed(pkt, data, state)
    assert _kinds(made) == ["bind_request", "bind_response", "login_attempt"] and state["done"]
    assert made[2].fields == {"username": "", "bind_kind": "sasl", "mechanism": "GSSAPI", "result": "success",
                              "code": 0}
    sicily, state = [], dict[str, Any]()
    response = L.message(2, ber(0x8B, b"NTLMSSP\x00\x03"))  # sicilyResponse [11] (its NTLM AUTHENTICATE)
    bind = L.message(2, ber(0x60, ber(0x02, b"\x03") + ber(0x04, b"CORP\\svc") + response[5:]))
    for to_server, data in [(True, bind), (False, L.bind_response(2, 0)), (True, b"\x00\x00\x00\x30" + bytes(48))]:
        pkt = Packet(ts=1.0, payload=data, src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=6, src_port=40001,
                     dst_port=389, to_server=to_server)
        sicily += d.feed(pkt, data, state)
    assert [o.fields.get("bind_kind") for o in sicily] == ["sicily_response", "sicily_response", "sicily_response"]
    assert state["done"]


def test_filters_read_as_rfc4515_text() -> None:
    flt = ber(0xA0, ber(0xA1, L.equality("objectClass", "user") + L.equality("objectClass", "person"))
              + ber(0xA2, ber(0x87, b"userAccountControl"))
              + ber(0xA4, ber(0x04, b"cn") + ber(0x30, ber(0x80, b"jo") + ber(0x81, b"h") + ber(0x82, b"n")))
              + ber(0xA5, ber(0x04, b"pwdLastSet") + ber(0x04, b"1(0)")))
    (obs,) = feed_chunks(LdapDissector(), [(True, L.search(5, "", flt))])
    assert obs.fields["filter"] == ("(&(|(objectClass=user)(objectClass=person))(!(userAccountControl=*))"
                                    "(cn=jo*h*n)(pwdLastSet>=1\\280\\29))")


def test_start_tls_hands_both_directions_to_tls() -> None:
    d, state = LdapDissector(), dict[str, Any]()
    hello = client_hello([0xC02F, 0x009C])
    made = []
    for to_server, data in [(True, L.start_tls(1)), (False, L.start_tls_response(1)), (True, hello)]:
        pkt = Packet(ts=1.0, payload=data, src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=6, src_port=40000,
                     dst_port=389, to_server=to_server)
        made += d.feed(pkt, data, state)
    assert [(o.proto, o.kind) for o in made] == [("ldap", "extended_request"), ("ldap", "extended_response"),
                                                 ("tls", "client_hello")]
    assert made[0].fields["operation"] == "StartTLS" and made[1].fields["start_tls"] is True
    assert state["phase"] == "tls"


def test_a_refused_start_tls_keeps_reading_ldap() -> None:
    obs = feed_chunks(LdapDissector(), [(True, L.start_tls(1)), (False, L.start_tls_response(1, 52)),
                                        (True, L.bind_simple(2, DN, "pw"))])
    assert _kinds(obs) == ["extended_request", "extended_response", "bind_request"]
    assert obs[1].fields["start_tls"] is True and obs[1].fields["result"] == "unavailable"


def test_messages_split_over_segments_and_several_in_one() -> None:
    whole = b"".join(data for to_server, data in SESSION if to_server)
    one_by_one = feed_chunks(LdapDissector(), [(True, whole[i : i + 3]) for i in range(0, len(whole), 3)])
    together = feed_chunks(LdapDissector(), [(True, whole)])
    assert _kinds(one_by_one) == _kinds(together) == ["bind_request", "bind_request", "search_request",
                                                       "unbind_request"]
    assert [o.fields for o in one_by_one] == [o.fields for o in together]


def test_cldap_netlogon_ping_and_a_dcs_answer() -> None:
    d = LdapDissector()
    (ping,) = d.dissect(_datagram(L.netlogon_ping(7, "corp.example", "MFP-2F-01"), True), {})
    assert ping.kind == "search_request" and ping.fields["netlogon"] is True
    assert (ping.fields["dns_domain"], ping.fields["host"], ping.fields["nt_version"]) == (
        "corp.example", "MFP-2F-01", L.NT_VERSION_5EX)
    answer = d.dissect(_datagram(L.netlogon_answer(7, RESPONSE), False), {})
    assert _kinds(answer) == ["search_result_entry", "netlogon_response", "search_result_done"]
    dc = answer[1]
    assert dc.src_ip == "10.0.0.5" and dc.subject == "src"
    assert dc.fields["dns_host_name"] == "DC01.corp.example" and dc.fields["dns_domain_name"] == "corp.example"
    assert (dc.fields["netbios_domain_name"], dc.fields["netbios_computer_name"]) == ("CORP", "DC01")
    assert (dc.fields["dc_site_name"], dc.fields["client_site_name"]) == ("Default-First-Site-Name", "Branch-2")
    assert {"DS_DS_FLAG", "DS_KDC_FLAG", "DS_GC_FLAG"} <= set(dc.fields["flags"])
    assert dc.fields["domain_guid"] == str(GUID)


def test_a_datagram_cut_inside_a_message_keeps_what_came_before() -> None:
    whole = L.netlogon_answer(7, RESPONSE)
    with pytest.raises(ParseError) as caught:
        LdapDissector().dissect(_datagram(whole[:-3], False), {})
    assert [o.kind for o in getattr(caught.value, "made", [])] == ["search_result_entry", "netlogon_response"]


def test_tshark_reads_the_same_messages(tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed (apt-get install tshark)")
    frames = tcp(host(30), host(5), 389, SESSION)
    frames += udp(host(30), host(5), 50000, 389, L.netlogon_ping(9, "corp.example", "MFP01"), t=T0 + 60)
    frames += udp(host(5), host(30), 389, 50000, L.netlogon_answer(9, RESPONSE), t=T0 + 60.01)
    path = write_pcap(tmp_path / "ldap.pcap", frames)
    proc = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "ldap || cldap", "-T", "fields", "-e",
                           "ldap.protocolOp", "-e", "ldap.resultCode", "-e", "mscldap.hostname", "-e",
                           "mscldap.nb_hostname", "-e", "mscldap.clientsitename"],
                          capture_output=True, text=True, timeout=120, check=True)
    theirs = [line.split("\t") for line in proc.stdout.splitlines()]
    ops = [int(op) for t in theirs for op in t[0].split(",")]
    assert ops == [0, 1, 0, 1, 3, 4, 5, 2, 3, 4, 5]  # bind, bind, search, entry, done, unbind; the CLDAP ping
    assert [t[1] for t in theirs][:2] == ["", "49"]
    assert theirs[-1][2:] == ["DC01.corp.example", "DC01", "Branch-2"]


def test_what_is_not_ldap_is_refused() -> None:
    with pytest.raises(ParseError, match="not a SEQUENCE"):
        LdapDissector().feed(Packet(ts=0.0, payload=b"", ip_proto=6), b"GET / HTTP/1.1\r\n\r\n", {})
    with pytest.raises(ParseError, match="unknown protocolOp"):
        ldapmsg.parse_message(b"\x30\x05\x02\x01\x01\x7e\x00")
    with pytest.raises(ParseError, match="bind version"):
        ldapmsg.parse_message(L.bind_simple(1, DN, "x", version=0))
    with pytest.raises(ParseError, match="authentication choice"):
        ldapmsg.parse_message(L.bind_simple(1, DN, "x").replace(b"\x80\x01x", b"\x81\x01x"))
    with pytest.raises(ParseError, match="messageID"):
        ldapmsg.parse_message(L.unbind(-1))


def test_a_message_over_the_limit_is_skipped_and_the_next_read() -> None:
    big = ber(0x30, ber(0x02, b"\x09") + ber(0x64, bytes(MAX_MESSAGE)))
    obs = feed_chunks(LdapDissector(), [(False, big[i : i + 60_000]) for i in range(0, len(big), 60_000)]
                      + [(False, L.search_done(9))])
    assert _kinds(obs) == ["search_result_done"]


def test_entries_and_observations_per_flow_are_bounded() -> None:
    entries = b"".join(L.entry(3, f"CN=u{i},DC=corp", {"cn": [b"u"]}) for i in range(MAX_ENTRIES + 5))
    obs = feed_chunks(LdapDissector(), [(False, entries + L.search_done(3))])
    assert _kinds(obs) == ["search_result_entry"] * MAX_ENTRIES + ["search_result_done"]
    state: dict[str, Any] = {}
    binds = b"".join(L.bind_simple(i, DN, "guess") for i in range(MAX_OBSERVATIONS + 10))
    made = contract_call(LdapDissector(), Packet(ts=0.0, payload=binds, ip_proto=6, src_ip="10.0.0.1",
                                                  dst_ip="10.0.0.2", src_port=1, dst_port=389), state)
    assert len(made) == MAX_OBSERVATIONS and state["done"]


def test_pending_binds_are_bounded() -> None:
    state: dict[str, Any] = {}
    binds = b"".join(L.bind_simple(i, DN, "guess") for i in range(MAX_PENDING + 5))
    LdapDissector().feed(Packet(ts=0.0, payload=binds, ip_proto=6, to_server=True), binds, state)
    assert len(state["pending"]) == MAX_PENDING


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(LdapDissector(), shared("pcaps", "tcpdump_tests", name))
    feed_capture_any_port(LdapDissector(), shared("pcaps", "tcpdump_tests", name), ip_proto=17)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(LdapDissector(), chunks)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 2000),
       st.sampled_from([data for _, data in SESSION] + [L.netlogon_ping(7, "corp.example", "H"),
                                                        L.netlogon_answer(7, RESPONSE)]))
def test_fuzz_mutated_messages(edits: list[tuple[int, int]], cut: int, message: bytes) -> None:
    bad = mutate(message, edits, cut)
    feed_chunks(LdapDissector(), [(True, bad), (False, bad)])
    with contextlib.suppress(ParseError):
        LdapDissector().dissect(_datagram(bad, False), {})


def _tcp(payload: bytes, to_server: bool) -> Packet:
    return dataclasses.replace(_datagram(payload, to_server), ip_proto=6)


def test_a_gap_in_the_servers_direction_reports_the_pending_binds_answers_as_cut() -> None:
    """The engine tells of lost bytes (a snap length's cut): the binds still awaiting their answer are reported
    ``bind_response_cut``, with the result code when the captured head holds it (then the login too); a gap in
    the client's direction, or with nothing pending, reports nothing; either way the direction then looks for its
    next message (tests/dissect/test_ldap_loss.py), the flow goes on."""
    refusal = L.bind_response(1, 49, "80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error")
    for head, result in [(refusal[:20], 49), (refusal[:6], None), (b"", None)]:
        d, state = LdapDissector(), dict[str, Any]()
        d.feed(_tcp(L.bind_simple(1, DN, "pw"), True), L.bind_simple(1, DN, "pw"), state)
        d.feed(_tcp(L.start_tls(2), True), L.start_tls(2), state)  # a StartTLS pending: no bind, not reported
        assert d.feed(_tcp(head, False), head, state) == []
        cut = d.gap(state, False) or []
        assert _kinds(cut) == ["bind_response_cut"] + (["login_attempt"] if result is not None else [])
        assert (cut[0].src_ip, cut[0].dst_port, cut[0].fields.get("result_code")) == ("10.0.0.5", 50000, result)
        assert cut[0].fields["name"] == DN and cut[0].fields["bind_kind"] == "simple"
        assert state["resync_s2c"] and not state.get("done") and not state.get("s2c")
        assert d.gap(state, False) == []  # reported once
    d, state = LdapDissector(), dict[str, Any]()
    d.feed(_tcp(L.bind_simple(1, DN, "pw"), True), L.bind_simple(1, DN, "pw"), state)
    assert d.gap(state, True) is None and state["resync_c2s"] and not state.get("done")


def _ad(data: str) -> str:
    """Active Directory's invalidCredentials diagnostic (the Win32 error in hex after "data", [MS-ERREF] §2.2)."""
    return f"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {data}, v4563"


@pytest.mark.parametrize(("code", "diagnostic", "ad", "result"), [
    (49, _ad("52e"), {"ad_error": "52e", "ad_reason": "wrong_password", "password_valid": False}, "failure"),
    (49, _ad("525"), {"ad_error": "525", "ad_reason": "no_such_user"}, "failure"),
    (49, _ad("775"), {"ad_error": "775", "ad_reason": "locked_out"}, "failure"),
    (49, _ad("532"), {"ad_error": "532", "ad_reason": "password_expired", "password_valid": True}, "refused"),
    (49, _ad("773"), {"ad_error": "773", "ad_reason": "must_change_password", "password_valid": True}, "refused"),
    (49, _ad("531"), {"ad_error": "531", "ad_reason": "workstation", "password_valid": True}, "refused"),
    (49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 5", {}, "failure"),
    (49, "", {}, "failure"),
    (0, _ad("532"), {}, "success"),  # only an invalidCredentials answer carries AD's reason
])
def test_active_directorys_refusal_reason_tells_a_right_password_from_a_wrong_guess(
        code: int, diagnostic: str, ad: dict[str, Any], result: str) -> None:
    """data 530/531/532/701/773: AD refused a password it found right (the logon is refused, the guess was not
    wrong); 52e a wrong one; 525, 775 say nothing of the password; a diagnostic cut before its code claims nothing."""
    obs = feed_chunks(LdapDissector(), [(True, L.bind_simple(1, DN, "Scan2Folder!")),
                                        (False, L.bind_response(1, code, diagnostic))])
    response, login = obs[1].fields, obs[2].fields
    assert {k: response[k] for k in ("ad_error", "ad_reason", "password_valid") if k in response} == ad
    assert login == {"username": DN, "bind_kind": "simple", "mechanism": None, "result": result, "code": code, **ad}
