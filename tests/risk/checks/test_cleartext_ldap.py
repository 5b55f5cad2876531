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
from iotwarden.risk.checks.cleartext_ldap import CUT_ANSWER, CUT_SEVERITY, MAX_PENDING_BINDS, CleartextLdap
from iotwarden.risk.subjects import SubjectIndex
from tests.engine.snapcheck import snap
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


# --- answers the capture cut -----------------------------------------------------------------------------------
SHORT_DN = "cn=scan"  # a bind short enough to fit under -s 96 (54 header bytes: 42 of payload)


def _ad_refusal(message_id: int, data: str) -> bytes:
    """Active Directory's BindResponse: its lengths in the 4-byte long form, as AD writes them (X.690 §8.1.3.5)."""
    diagnostic = _diagnostic(data).encode()
    result = b"\x0a\x01\x31" + b"\x04\x00" + b"\x04" + bytes([0x84]) + len(diagnostic).to_bytes(4, "big") + diagnostic
    op = b"\x61\x84" + len(result).to_bytes(4, "big") + result
    body = b"\x02\x01" + bytes([message_id]) + op
    return b"\x30\x84" + len(body).to_bytes(4, "big") + body


def _whole_and_cut(tmp_path: Path, exchanges: list[tuple[bool, bytes]], snaplen: int = 96) -> tuple[
        dict[str, Finding], dict[str, Finding]]:
    whole = write_pcap(tmp_path / "whole.pcap", tcp(host(30), host(5), 389, exchanges))
    cut = snap(whole, tmp_path / "cut.pcap", snaplen)
    return found(analyse(whole)[0], ID), found(analyse(cut)[0], ID)


def test_a_refusal_the_snap_length_cut_is_still_a_refusal(tmp_path: Path) -> None:
    """Under -s 96 AD's invalidCredentials answer loses its diagnostic but keeps its result code (the head of the
    cut answer is read): a wrong password, as in the whole capture, not an answer never seen. An accepted bind
    fits and stays high."""
    bind = L.bind_simple(1, SHORT_DN, "Summer24")
    assert len(bind) <= 42 < len(_ad_refusal(1, "52e"))
    assert _whole_and_cut(tmp_path, [(True, bind), (False, _ad_refusal(1, "52e")), (True, L.unbind(2))]) == ({}, {})
    (tmp_path / "ok").mkdir()
    whole, cut = _whole_and_cut(tmp_path / "ok", [(True, bind), (False, L.bind_response(1, 0)), (True, L.unbind(2))])
    assert [f.severity for f in whole.values()] == [f.severity for f in cut.values()] == ["high"]
    assert "answer" not in next(iter(cut.values())).evidence


def test_a_bind_whose_answer_the_capture_lost_is_kept_medium_and_says_so(tmp_path: Path) -> None:
    """The answer's segment missing from the capture (a hole reported as a gap when the flow closes): the password
    was sent in cleartext, whether it was accepted is not known: medium, the answer named as cut."""
    bind = L.bind_simple(1, SHORT_DN, "Summer24")
    frames = tcp(host(30), host(5), 389, [(True, bind), (False, _ad_refusal(1, "52e")),
                                          (False, L.bind_response(2, 0))])
    answer = _ad_refusal(1, "52e")
    kept = [f for f in frames if not f[1].endswith(answer)]
    assert len(kept) == len(frames) - 1
    (finding,) = found(analyse(write_pcap(tmp_path / "hole.pcap", kept))[0], ID).values()
    assert finding.severity == CUT_SEVERITY == "medium" and finding.evidence["answer"] == [CUT_ANSWER]
    assert finding.evidence["bind_names"] == [SHORT_DN]


def test_a_right_password_ad_refused_is_high_and_says_why_unless_the_capture_cut_the_reason(tmp_path: Path) -> None:
    """data 532 (password expired): the password crossed and is right, high with the reason in ``answer``. Under
    -s 96 the diagnostic, and with it the reason, is cut: code 49 reads as a plain refusal, as today, and nothing is
    claimed of the password (no finding, no ``answer``)."""
    bind = L.bind_simple(1, SHORT_DN, "Summer24")
    whole, cut = _whole_and_cut(tmp_path, [(True, bind), (False, _ad_refusal(1, "532")), (True, L.unbind(2))])
    (finding,) = whole.values()
    assert finding.severity == "high"
    assert finding.evidence["answer"] == ["password right, refused: password_expired (AD data 532)"]
    assert cut == {}
