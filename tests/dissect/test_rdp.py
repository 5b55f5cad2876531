"""RDP dissector: X.224 negotiation ([MS-RDPBCGR] §2.2.1.1-2.2.1.2), standard security's client core and server
security data, the TLS that follows the confirm, with PDUs built from the spec (tests/dissect/rdpbuild.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.rdp import MAX_MCS_TPKTS, RdpDissector, common_name, parse_confirm, parse_request
from iotwarden.errors import ParseError
from iotwarden.lab import proto_app
from iotwarden.model import Observation
from tests.dissect import rdpbuild as b
from tests.dissect.hostile import mutate
from tests.risk.harness import T0, certificate, client_hello, server_flight, tls_record

CLIENT, SERVER = ("10.0.0.1", 50000), ("10.0.0.2", 3389)


def _pkt(to_server: bool, data: bytes) -> Packet:
    (sip, sport), (dip, dport) = (CLIENT, SERVER) if to_server else (SERVER, CLIENT)
    return Packet(ts=1.0, payload=data, src_ip=sip, dst_ip=dip, ip_proto=6, src_port=sport, dst_port=dport,
                  to_server=to_server)


def _run(chunks: list[tuple[bool, bytes]], d: RdpDissector | None = None) -> tuple[list[Observation], dict[str, Any]]:
    """Feed one synthetic flow; ParseErrors counted as the engine does (their partial Observations kept)."""
    d = d or RdpDissector()
    state: dict[str, Any] = {}
    out: list[Observation] = []
    for to_server, data in chunks:
        if state.get("done"):
            break
        try:
            made = d.feed(_pkt(to_server, data), data, state)
        except ParseError as exc:
            made = list(getattr(exc, "made", []))
        assert all(o.proto in ("rdp", "tls") and o.subject == "src" for o in made)
        out += made
    return out, state


def _kind(obs: list[Observation], kind: str) -> Observation:
    (found,) = [o for o in obs if o.proto == "rdp" and o.kind == kind]
    return found


def test_request_with_cookie_and_neg_req_then_confirm_selecting_hybrid() -> None:
    obs, state = _run([(True, b.connection_request("jsmith", b.PROTOCOL_SSL | b.PROTOCOL_HYBRID)),
                       (False, b.connection_confirm(b.PROTOCOL_HYBRID))])
    req = _kind(obs, "connection_request")
    assert req.src_ip == CLIENT[0]
    assert req.fields == {"username": "jsmith", "negotiation": True, "requested_protocols": ["SSL", "HYBRID"],
                          "requested_protocols_mask": 3, "restricted_admin": False}
    cc = _kind(obs, "connection_confirm")
    assert cc.src_ip == SERVER[0]
    assert cc.fields["selected_protocol"] == "HYBRID" and cc.fields["nla"] is True
    assert "nla_required" not in cc.fields  # HYBRID chosen: whether SSL alone would be taken is not known
    assert cc.fields["requested_protocols"] == ["SSL", "HYBRID"]
    assert "EXTENDED_CLIENT_DATA_SUPPORTED" in cc.fields["server_flags"]
    assert state["phase"] == "tls"


def test_confirm_selecting_ssl_says_nla_is_not_required() -> None:
    obs, _ = _run([(True, b.connection_request()), (False, b.connection_confirm(b.PROTOCOL_SSL))])
    cc = _kind(obs, "connection_confirm").fields
    assert (cc["selected_protocol"], cc["nla"], cc["nla_required"]) == ("SSL", False, False)


def test_routing_token_and_no_negotiation() -> None:
    fields = parse_request(b.connection_request(None, None, routing_token="3640205228.15629.0000")[11:])
    assert fields == {"routing_token": True, "negotiation": False, "requested_protocols": ["RDP"],
                      "requested_protocols_mask": 0}


def test_restricted_admin_flag_and_hybrid_ex() -> None:
    fields = parse_request(b.connection_request("a", b.PROTOCOL_HYBRID_EX | b.PROTOCOL_HYBRID, flags=1)[11:])
    assert fields["requested_protocols"] == ["HYBRID", "HYBRID_EX"] and fields["restricted_admin"] is True


@pytest.mark.parametrize(("code", "name", "nla_required"), [
    (5, "HYBRID_REQUIRED_BY_SERVER", True), (2, "SSL_NOT_ALLOWED_BY_SERVER", None), (99, "99", None)])
def test_negotiation_failure(code: int, name: str, nla_required: bool | None) -> None:
    obs, state = _run([(True, b.connection_request()), (False, b.negotiation_failure(code))])
    fail = _kind(obs, "negotiation_failure")
    assert fail.src_ip == SERVER[0]
    assert (fail.fields["failure_code"], fail.fields["failure"]) == (code, name)
    assert fail.fields.get("nla_required") == nla_required
    assert state["done"]


def test_standard_security_client_core_and_server_security() -> None:
    core = b.client_core("ENG-WS-3", build=7601, layout=0x407, width=1920, height=1080)
    obs, state = _run([(True, b.connection_request("op", b.PROTOCOL_RDP)),
                       (False, b.connection_confirm(b.PROTOCOL_RDP)),
                       (True, b.mcs_connect_initial(core)),
                       (False, b.mcs_connect_response(method=0x1, level=1, cert_version=0x80000001))])
    cc = _kind(obs, "connection_confirm").fields
    assert (cc["selected_protocol"], cc["nla_required"]) == ("RDP", False)
    client = _kind(obs, "client_core")
    assert client.src_ip == CLIENT[0]
    assert client.fields == {"rdp_version": "0x00080004", "desktop_width": 1920, "desktop_height": 1080,
                             "keyboard_layout": 0x407, "client_build": 7601, "client_name": "ENG-WS-3"}
    security = _kind(obs, "server_security")
    assert security.src_ip == SERVER[0]
    assert security.fields == {"encryption_method": "40bit", "encryption_level": "low", "cert_type": "proprietary",
                               "cert_permanent": False}
    assert state["done"]


def test_a_legacy_server_without_negotiation_data_is_standard_security() -> None:
    kind, fields = parse_confirm(b.connection_confirm(None)[11:])
    assert kind == "connection_confirm"
    assert (fields["negotiated"], fields["selected_protocol"], fields["nla_required"]) == (False, "RDP", False)


def test_tls_after_the_confirm_is_dissected_and_names_the_server() -> None:
    der = certificate("HMI-LINE2", not_before=T0, days=180, self_signed=True)
    cr, cc = b.connection_request(), b.connection_confirm(b.PROTOCOL_HYBRID)
    hello, flight = client_hello([0xC02F]), server_flight(0x0303, 0xC02F, [der])
    # the client's hello in the request's delivery would be a protocol error; the server's flight may share a
    # segment with the confirm (one TCP write): both cuts must give the same Observations
    for chunks in ([(True, cr), (False, cc), (True, hello), (False, flight)],
                   [(True, cr), (False, cc + flight[:7]), (True, hello), (False, flight[7:])]):
        obs, state = _run(chunks)
        kinds = [(o.proto, o.kind) for o in obs]
        assert kinds == [("rdp", "connection_request"), ("rdp", "connection_confirm"), ("tls", "client_hello"),
                         ("tls", "server_hello"), ("tls", "certificate"), ("rdp", "server_certificate")]
        named = _kind(obs, "server_certificate")
        assert named.src_ip == SERVER[0] and named.fields["computer_name"] == "HMI-LINE2"
        assert named.fields["subject"] == "CN=HMI-LINE2"
        assert not state.get("done")  # HYBRID: CredSSP's encrypted turns are still to count


def test_common_name_of_rfc4514_strings() -> None:
    assert common_name("CN=hmi01.plant.local") == "hmi01.plant.local"
    assert common_name("O=Acme\\, Inc.,CN=srv") == "srv"
    assert common_name("O=Acme") is None and common_name("") is None


def test_standard_security_gives_up_after_its_limit_of_tpkts() -> None:
    chunks = [(True, b.connection_request("x", 0)), (False, b.connection_confirm(b.PROTOCOL_RDP))]
    chunks += [(True, b.tpkt(b"\x02\xf0\x80" + b"\x00" * 8))] * (MAX_MCS_TPKTS + 1)
    obs, state = _run(chunks)
    assert state["done"] and [o.kind for o in obs] == ["connection_request", "connection_confirm"]


def test_what_is_not_rdp() -> None:
    d = RdpDissector()
    with pytest.raises(ParseError):
        d.feed(_pkt(True, b"GET / HTTP/1.1\r\n\r\n"), b"GET / HTTP/1.1\r\n\r\n", {})
    with pytest.raises(ParseError):  # a TPKT whose TPDU is no connection request
        d.feed(_pkt(True, b.connection_confirm()), b.connection_confirm(), {})
    with pytest.raises(ParseError):
        parse_request(b"Cookie: mstshash=" + b"a" * 200)  # no CR LF within the cookie's limit
    with pytest.raises(ParseError):
        parse_confirm(b"\x02\x00\x09\x00\x02\x00\x00\x00")  # RDP_NEG_RSP whose length is not 8


def test_probe() -> None:
    d = RdpDissector()
    assert d.probe(b.connection_request(), True)
    assert d.probe(b.connection_request(None), True)  # RDP_NEG_REQ alone
    assert not d.probe(b.connection_request(), False)
    # an ISO-TSAP connection request (S7comm, MMS) carries TSAPs
    s7 = b.tpkt(bytes([17, 0xE0, 0, 0, 0, 1, 0, 0xC1, 2, 1, 0, 0xC2, 2, 1, 2, 0xC0, 1, 10]))
    assert not d.probe(s7, True)
    assert not d.probe(b"\x16\x03\x01\x00\x10" + bytes(20), True)


def _session() -> list[tuple[bool, bytes]]:
    der = certificate("RDP-SRV", not_before=T0, days=30, self_signed=True)
    return [(True, b.connection_request()), (False, b.connection_confirm(b.PROTOCOL_SSL)),
            (True, client_hello([0xC02F])), (False, server_flight(0x0303, 0xC02F, [der]))]


@settings(max_examples=150, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 255)), max_size=8),
       cut=st.integers(1, 64), standard=st.booleans())
def test_fuzz_mutated_sessions_never_raise_anything_but_parse_error(
        edits: list[tuple[int, int]], cut: int, standard: bool) -> None:
    chunks = ([(True, b.connection_request("u", 0)), (False, b.connection_confirm(b.PROTOCOL_RDP)),
               (True, b.mcs_connect_initial()), (False, b.mcs_connect_response())] if standard else _session())
    for to_server in (True, False):
        stream = mutate(b"".join(d for s, d in chunks if s == to_server), edits, len(edits) * 97 + 4000)
        pieces = [(to_server, stream[i : i + cut]) for i in range(0, len(stream), cut)]
        chunks = [c for c in chunks if c[0] != to_server] + pieces
    _run(chunks)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=8))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    _run([(True, b.connection_request()), *chunks])


def test_the_labs_rdp_opening_is_read_as_a_client_offering_nla_and_a_server_choosing_it() -> None:
    obs, _ = _run([(True, proto_app.rdp_connection_request("administrator")),
                    (False, proto_app.rdp_connection_confirm())])
    assert _kind(obs, "connection_request").fields["username"] == "administrator"
    assert _kind(obs, "connection_request").fields["requested_protocols"] == ["SSL", "HYBRID"]
    assert _kind(obs, "connection_confirm").fields["selected_protocol"] == "HYBRID"


def _app(size: int) -> bytes:
    return tls_record(23, bytes(size))  # an application_data record (RFC 5246 §6.2.1), its body opaque here


def _nla_session(*, authenticate: bool, tls13_server_records: int = 0) -> list[tuple[bool, bytes]]:
    """A HYBRID connection: X.224, the TLS handshake (with TLS 1.3's encrypted server handshake records, if any,
    as application data before the client's first), then CredSSP ([MS-CSSP] §3.1.5): NEGOTIATE, CHALLENGE and,
    for a guess, AUTHENTICATE and the server's error."""
    der = certificate("HMI-LINE2", not_before=T0, days=180, self_signed=True)
    chunks = [(True, b.connection_request()), (False, b.connection_confirm(b.PROTOCOL_HYBRID)),
              (True, client_hello([0xC02F])),
              (False, server_flight(0x0303, 0xC02F, [der]) + b"".join(_app(90) for _ in range(tls13_server_records))),
              (True, _app(120)), (False, _app(310))]  # NEGOTIATE, CHALLENGE
    if authenticate:
        chunks += [(True, _app(40) + _app(600)[:20]), (True, _app(600)[20:]), (False, _app(60))]
    return chunks


def test_credssp_turns_tell_a_password_sent_from_a_probe() -> None:
    obs, state = _run(_nla_session(authenticate=True))
    turns = [(o.fields["turns"], o.src_ip) for o in obs if o.kind == "encrypted_turns"]
    assert turns == [(2, SERVER[0]), (3, CLIENT[0])] and state["done"]
    probe, _ = _run(_nla_session(authenticate=False))  # rdp-ntlm-info: the CHALLENGE read, nothing sent after it
    assert [o.fields["turns"] for o in probe if o.kind == "encrypted_turns"] == [2]
    tls13, _ = _run(_nla_session(authenticate=True, tls13_server_records=3))
    assert [o.fields["turns"] for o in tls13 if o.kind == "encrypted_turns"] == [2, 3]


def test_no_turns_are_counted_without_nla() -> None:
    chunks = [(True, b.connection_request()), (False, b.connection_confirm(b.PROTOCOL_SSL)),
              (True, client_hello([0xC02F])), (False, server_flight(0x0303, 0xC02F, [certificate(
                  "X", not_before=T0, days=1, self_signed=True)])), (True, _app(120)), (False, _app(300)),
              (True, _app(400))]
    obs, state = _run(chunks)
    assert not [o for o in obs if o.kind == "encrypted_turns"] and state["done"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=8))
def test_fuzz_bytes_after_an_nla_handshake(chunks: list[tuple[bool, bytes]]) -> None:
    _run(_nla_session(authenticate=False)[:4] + chunks)  # the turn walker reads whatever follows the handshake
