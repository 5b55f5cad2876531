"""risk.cleartext.ldap: an MFP's simple bind with its service account's password on tcp/389 is a high finding on the
MFP naming the DC; the same bind after StartTLS, a SASL GSSAPI bind or an anonymous bind raise nothing, nor does a
bind refused for a wrong password (a guessing tool's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.hooks import Context
from iotwarden.lab import proto_ldap as L
from iotwarden.model import Observation
from iotwarden.model.finding import Finding
from iotwarden.risk.checks.cleartext_ldap import MAX_PENDING_BINDS, CleartextLdap
from iotwarden.risk.subjects import SubjectIndex
from tests.risk.harness import analyse, found, host, tcp, write_pcap

ID = "risk.cleartext.ldap"
DN = "CN=svc-scan,OU=Service Accounts,DC=corp,DC=example"


def _run(tmp_path: Path, exchanges: list[tuple[bool, bytes]], port: int = 389) -> dict[str, Finding]:
    ctx, _ = analyse(write_pcap(tmp_path / "ldap.pcap", tcp(host(30), host(5), port, exchanges)))
    return found(ctx, ID)


def test_a_cleartext_simple_bind_is_high_on_the_client(tmp_path: Path) -> None:
    findings = _run(tmp_path, [(True, L.bind_simple(1, DN, "Scan2Folder!")), (False, L.bind_response(1, 0)),
                               (True, L.unbind(2))])
    (finding,) = findings.values()
    assert finding.subject == f"mac:{host(30).mac}" and finding.severity == "high"
    assert finding.evidence["servers"] == [host(5).ip] and finding.evidence["bind_names"] == [DN]
    assert "CWE-523 (Unprotected Transport of Credentials)" in finding.references
    assert any("5.5-1" in r for r in finding.references) and "Scan2Folder!" not in str(finding.evidence)


def _diagnostic(data: str) -> str:
    """A Windows DC's invalidCredentials diagnostic, the Win32 error in hex after "data"."""
    return f"80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data {data}, v4563"


def test_a_bind_refused_for_a_wrong_password_exposed_no_working_credential(tmp_path: Path) -> None:
    """A guessing tool's (or a stale) password, refused invalidCredentials: no finding (detect.bruteforce.ldap's)."""
    for i, refusal in enumerate([L.bind_response(1, 49, _diagnostic("52e")), L.bind_response(1, 49),
                                 L.bind_response(1, 49, _diagnostic("525"))]):
        (tmp_path / str(i)).mkdir()
        assert _run(tmp_path / str(i), [(True, L.bind_simple(1, DN, "Summer2024!")), (False, refusal)]) == {}


@pytest.mark.parametrize(("code", "diagnostic"), [(49, "532"), (49, "773"), (49, "530"), (8, "")])
def test_a_bind_refused_after_its_password_was_checked_right_exposed_it(tmp_path: Path, code: int,
                                                                       diagnostic: str) -> None:
    """Expired password, must change it, outside logon hours (AD answers these only past a valid password), or
    strongerAuthRequired from a DC requiring LDAP signing: the password crossed and works."""
    answer = L.bind_response(1, code, _diagnostic(diagnostic) if diagnostic else "")
    findings = _run(tmp_path, [(True, L.bind_simple(1, DN, "Scan2Folder!")), (False, answer)], port=3268)
    assert [f.severity for f in findings.values()] == ["high"]


def test_a_bind_whose_answer_is_not_seen_counts_until_answered(tmp_path: Path) -> None:
    assert [f.subject for f in _run(tmp_path, [(True, L.bind_simple(1, DN, "Scan2Folder!"))]).values()] == [
        f"mac:{host(30).mac}"]


def test_the_unanswered_binds_a_repeated_risk_pass_counts_are_not_kept() -> None:
    """A monitor runs the risk pass again and again: a bind pending at one pass and refused later raises nothing."""
    check = CleartextLdap()
    ctx = Context()
    bind = Observation(ts=1.0, proto="ldap", kind="bind_request", src_ip="10.9.0.30", dst_ip="10.9.0.5",
                       src_port=50000, dst_port=389, subject="src",
                       fields={"message_id": 1, "auth": "simple", "password_present": True, "name": DN})
    check.on_observation(ctx, bind)
    assert len(check.findings(ctx, SubjectIndex({}))) == 0 and len(check.hits) == 0  # no device: unresolved
    refused = Observation(ts=1.1, proto="ldap", kind="bind_response", src_ip="10.9.0.5", dst_ip="10.9.0.30",
                          src_port=389, dst_port=50000, fields={"message_id": 1, "result_code": 49})
    check.on_observation(ctx, refused)
    assert check.hits == {} and not check._pending
    for i in range(MAX_PENDING_BINDS + 1):  # answers lost: the oldest is judged unanswered
        check.on_observation(ctx, Observation(ts=2.0, proto="ldap", kind="bind_request", src_ip="10.9.0.30",
                                              dst_ip="10.9.0.5", src_port=50000, dst_port=389, subject="src",
                                              fields={**bind.fields, "message_id": 10 + i}))
    assert len(check._pending) == MAX_PENDING_BINDS and check.hits[(None, "10.9.0.30")].count == 1


def test_start_tls_first_raises_nothing(tmp_path: Path) -> None:
    # after the StartTLS response the stream is TLS: the bind inside it is never read as LDAP
    tls_bytes = bytes([0x16, 0x03, 0x01, 0x00, 0x05]) + b"\x01\x00\x00\x01\x00"
    assert _run(tmp_path, [(True, L.start_tls(1)), (False, L.start_tls_response(1)), (True, tls_bytes)]) == {}


def test_sasl_gssapi_and_anonymous_binds_raise_nothing(tmp_path: Path) -> None:
    assert _run(tmp_path, [(True, L.bind_sasl(1, "GSSAPI", b"\x60\x82token")), (False, L.bind_response(1, 0)),
                           (True, L.bind_simple(2, "", "")), (False, L.bind_response(2, 0))]) == {}
