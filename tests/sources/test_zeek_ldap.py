"""Zeek's ldap.log and ldap_search.log read as dissect/ldap.py describes packets: each line's Observations beside the
dissector's of the same exchange, and a sensor's logs (TSV and JSON) raising the packet path's cleartext-bind
finding on the MFP and its brute force alert on the attacker, nothing on the MFP's normal lookups."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from iotwarden.dissect.ldap import LdapDissector
from iotwarden.errors import ParseError
from iotwarden.lab import proto_ldap as L
from iotwarden.services.analyze import analyze
from iotwarden.sources.zeek_ldap import map_ldap, map_ldap_search
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow
from tests.dissect.hostile import feed_chunks
from tests.sources.zeeklog import CONN_COLUMNS, FORMATS, ID_COLUMNS, conn_row, write_log

T0 = 1_700_000_000.0
MFP, DC, ATTACKER = ("10.0.4.30", 50123, "00:1b:21:00:04:30"), ("10.0.4.5", 389, "00:1b:21:00:04:05"), (
    "10.0.4.66", 40000, "00:1b:21:00:04:66")
DN = "CN=svc-scan,OU=Service Accounts,DC=corp,DC=example"
# LDAP::MessageInfo and LDAP::SearchInfo (base/protocols/ldap/main.zeek), in their column order
LDAP_COLUMNS = [*ID_COLUMNS, ("message_id", "int"), ("version", "int"), ("opcode", "string"), ("result", "string"),
                ("diagnostic_message", "string"), ("object", "string"), ("argument", "string")]
SEARCH_COLUMNS = [*ID_COLUMNS, ("message_id", "int"), ("scope", "string"), ("deref_aliases", "string"),
                  ("base_object", "string"), ("result_count", "count"), ("result", "string"),
                  ("diagnostic_message", "string"), ("filter", "string"), ("attributes", "vector[string]")]


def _rec(**kw: object) -> dict[str, object]:
    return {"ts": T0, "uid": "Cldap1", "id.orig_h": MFP[0], "id.orig_p": MFP[1], "id.resp_h": DC[0],
            "id.resp_p": 389, **kw}


def _packets(exchanges: list[tuple[bool, bytes]]) -> dict[str, dict[str, Any]]:
    return {o.kind: o.fields for o in feed_chunks(LdapDissector(), exchanges)}


def test_a_refused_simple_bind_reads_as_the_dissectors() -> None:
    request, response, login = map_ldap(_rec(message_id=1, version=3, opcode="bind simple",
                                             result="invalid credentials", diagnostic_message="80090308: LdapErr",
                                             object=DN, argument="REDACTED"))
    ours = _packets([(True, L.bind_simple(1, DN, "pw")), (False, L.bind_response(1, 49, "80090308: LdapErr"))])
    assert (request.kind, request.src_ip, request.dst_port) == ("bind_request", MFP[0], 389)
    assert request.fields == {k: v for k, v in ours["bind_request"].items() if k != "password_length"}
    assert (response.kind, response.src_ip) == ("bind_response", DC[0])
    assert response.fields == {k: v for k, v in ours["bind_response"].items() if v is not None}
    assert (login.kind, login.subject, login.src_ip) == ("login_attempt", "dst", MFP[0])
    assert login.fields == {k: v for k, v in ours["login_attempt"].items() if v is not None}


def test_a_captured_password_is_never_kept() -> None:
    (request, *_) = map_ldap(_rec(message_id=1, opcode="bind simple", object=DN, argument="Scan2Folder!",
                                  result="success"))
    assert request.fields["password_present"] is True and "Scan2Folder" not in str(request.fields)


def test_sasl_anonymous_start_tls_and_set_valued_columns() -> None:
    request, response, login = map_ldap(_rec(message_id=1, opcode="bind SASL", argument="GSS-SPNEGO",
                                             result="success"))
    assert (request.fields["bind_kind"], request.fields["mechanism"]) == ("sasl", "GSS-SPNEGO")
    assert login.fields["result"] == "success" and response.fields["result"] == "success"
    (anonymous, _) = map_ldap(_rec(message_id=2, opcode=["bind simple"], result=["success"]))  # spicy-ldap's sets
    assert anonymous.fields["bind_kind"] == "anonymous" and anonymous.fields["password_present"] is False
    ext, ext_response = map_ldap(_rec(message_id=3, opcode="extended", object=f"{L.START_TLS} (StartTLS)",
                                      result="success"))
    assert ext.fields == _packets([(True, L.start_tls(3))])["extended_request"]
    assert ext_response.fields["start_tls"] is True and ext_response.fields["result_code"] == 0
    (unbind,) = map_ldap(_rec(message_id=4, opcode="unbind"))
    assert unbind.kind == "unbind_request"
    delete, answer = map_ldap(_rec(message_id=5, opcode="delete", object="CN=old,DC=corp", result="no such object"))
    assert delete.fields["operation"] == "delete" and answer.fields["result"] == "noSuchObject"


def test_a_search_line() -> None:
    request, done = map_ldap_search(_rec(message_id=2, scope="tree", deref_aliases="never",
                                         base_object="DC=corp,DC=example", result_count=1, result="success",
                                         filter="(sAMAccountName=bob)", attributes=["mail", "cn"]))
    ours = _packets([(True, L.search(2, "DC=corp,DC=example", L.equality("sAMAccountName", "bob"), ("mail", "cn")))])
    assert request.fields == {k: v for k, v in ours["search_request"].items() if k != "size_limit"}
    assert (done.kind, done.src_ip, done.fields["entries"], done.fields["result_code"]) == (
        "search_result_done", DC[0], 1, 0)


def test_a_record_without_addresses_is_refused() -> None:
    with pytest.raises(ParseError):
        map_ldap({"ts": T0, "opcode": "bind simple"})


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from([c for c, _ in LDAP_COLUMNS + SEARCH_COLUMNS]),
                       st.one_of(st.none(), st.text(max_size=20), st.integers(-5, 70000), st.booleans(),
                                 st.lists(st.text(max_size=8), max_size=3))))
def test_fuzz_any_record_maps_or_raises_parse_error(rec: dict[str, object]) -> None:
    for mapper in (map_ldap, map_ldap_search):
        with contextlib.suppress(ParseError):
            mapper({**_rec(), **rec})
    with contextlib.suppress(ParseError):
        map_ldap({**_rec(), **rec, "opcode": "bind simple"})


def _ldap(ts: float, uid: str, client: tuple[str, int, str], **cols: str) -> list[str]:
    row = {"ts": f"{ts:.6f}", "uid": uid, "id.orig_h": client[0], "id.orig_p": str(client[1]), "id.resp_h": DC[0],
           "id.resp_p": "389", **cols}
    return [row.get(name, "-") for name, _ in LDAP_COLUMNS]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_zeek_sensors_logs_raise_the_packet_paths_finding_and_alert(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "zeek"
    conns = [conn_row(T0, "Cmfp", MFP, DC, proto="tcp", service="ldap_tcp")]
    ldaps = [_ldap(T0, "Cmfp", MFP, message_id="1", version="3", opcode="bind simple", result="success",
                   object=DN, argument="REDACTED"),
             _ldap(T0 + 0.1, "Cmfp", MFP, message_id="3", opcode="unbind")]
    searches = [[f"{T0 + 0.05:.6f}", "Cmfp", MFP[0], str(MFP[1]), DC[0], "389", "2", "tree", "never",
                 "DC=corp,DC=example", "1", "success", "-", "(sAMAccountName=bob)", "-"]]
    for i in range(10):  # ten guessed passwords for the administrator, one connection each
        ts, uid, client = T0 + 60 + 2 * i, f"Cg{i}", (ATTACKER[0], ATTACKER[1] + i, ATTACKER[2])
        conns.append(conn_row(ts, uid, client, DC, proto="tcp", service="ldap_tcp"))
        ldaps.append(_ldap(ts, uid, client, message_id="1", version="3", opcode="bind simple",
                           result="invalid credentials", object="CN=Administrator,CN=Users,DC=corp,DC=example",
                           argument="REDACTED"))
    write_log(folder, "conn", CONN_COLUMNS, sorted(conns), fmt)
    write_log(folder, "ldap", LDAP_COLUMNS, sorted(ldaps), fmt)
    write_log(folder, "ldap_search", SEARCH_COLUMNS, searches, fmt)
    with Store(f"sqlite:///{tmp_path / 'iotwarden.db'}") as store:
        report = analyze([folder], store)
        assert [f.status for f in report.files] == ["complete"]
        with store.session() as s:
            findings = {(f.check_id, f.device_key) for f in s.scalars(select(FindingRow))}
            alerts = {(a.detector_id, a.device_key) for a in s.scalars(select(AlertRow))}
    ldap_findings = {k for k in findings if k[0] == "risk.cleartext.ldap"}
    # the MFP's working service-account password crossed in cleartext; the attacker's refused guesses are the alert's
    assert ldap_findings == {("risk.cleartext.ldap", f"mac:{MFP[2]}")}
    assert alerts == {("detect.bruteforce.ldap", f"mac:{ATTACKER[2]}")}


def test_active_directorys_refusal_reason_reads_as_the_dissectors() -> None:
    """A bind refused "data 532" (password expired: the password was right) maps to the dissector's fields: the login
    is ``refused``, no failed guess."""
    diagnostic = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 532, v4563"
    _request, response, login = map_ldap(_rec(message_id=1, version=3, opcode="bind simple",
                                              result="invalid credentials", diagnostic_message=diagnostic,
                                              object=DN, argument="REDACTED"))
    ours = _packets([(True, L.bind_simple(1, DN, "pw")), (False, L.bind_response(1, 49, diagnostic))])
    assert response.fields == {k: v for k, v in ours["bind_response"].items() if v is not None}
    assert login.fields == {k: v for k, v in ours["login_attempt"].items() if v is not None}
    assert (login.fields["result"], login.fields["password_valid"]) == ("refused", True)
