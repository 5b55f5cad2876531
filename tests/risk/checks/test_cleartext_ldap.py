"""risk.cleartext.ldap: an MFP's simple bind with its service account's password on tcp/389 is a high finding on the
MFP naming the DC; the same bind after StartTLS, a SASL GSSAPI bind or an anonymous bind raise nothing."""

from __future__ import annotations

from pathlib import Path

from iotwarden.lab import proto_ldap as L
from iotwarden.model.finding import Finding
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


def test_a_refused_bind_still_exposed_the_password(tmp_path: Path) -> None:
    findings = _run(tmp_path, [(True, L.bind_simple(1, DN, "wrong")), (False, L.bind_response(1, 49))], port=3268)
    assert [f.severity for f in findings.values()] == ["high"]


def test_start_tls_first_raises_nothing(tmp_path: Path) -> None:
    # after the StartTLS response the stream is TLS: the bind inside it is never read as LDAP
    tls_bytes = bytes([0x16, 0x03, 0x01, 0x00, 0x05]) + b"\x01\x00\x00\x01\x00"
    assert _run(tmp_path, [(True, L.start_tls(1)), (False, L.start_tls_response(1)), (True, tls_bytes)]) == {}


def test_sasl_gssapi_and_anonymous_binds_raise_nothing(tmp_path: Path) -> None:
    assert _run(tmp_path, [(True, L.bind_sasl(1, "GSSAPI", b"\x60\x82token")), (False, L.bind_response(1, 0)),
                           (True, L.bind_simple(2, "", "")), (False, L.bind_response(2, 0))]) == {}
