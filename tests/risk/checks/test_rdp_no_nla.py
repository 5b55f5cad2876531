"""risk.rdp.no_nla: a server selecting TLS alone (medium) or standard RDP security (high) has no NLA; HYBRID
selected, or a server refusing with HYBRID_REQUIRED_BY_SERVER, raises nothing."""

from __future__ import annotations

from pathlib import Path

from iotwarden.model.finding import Finding
from tests.dissect import rdpbuild as b
from tests.risk.harness import analyse, found, host, tcp, write_pcap

ID = "risk.rdp.no_nla"


def _run(tmp_path: Path, exchanges: list[tuple[bool, bytes]]) -> dict[str, Finding]:
    ctx, _ = analyse(write_pcap(tmp_path / "rdp.pcap", tcp(host(10), host(20), 3389, exchanges)))
    return found(ctx, ID)


def test_ssl_selected_although_the_client_offered_hybrid(tmp_path: Path) -> None:
    findings = _run(tmp_path, [(True, b.connection_request("op", b.PROTOCOL_SSL | b.PROTOCOL_HYBRID)),
                               (False, b.connection_confirm(b.PROTOCOL_SSL))])
    (finding,) = findings.values()
    assert finding.subject == f"mac:{host(20).mac}" and finding.severity == "medium"
    evidence = finding.evidence
    assert evidence["selected_protocols"] == ["SSL"] and evidence["client_offered_nla"] == ["true"]
    assert evidence["clients"] == [host(10).ip] and evidence["ports"] == ["3389"]
    assert "CWE-287 (Improper Authentication)" in finding.references
    assert "CVE-2019-0708 (BlueKeep)" in finding.references


def test_standard_rdp_security_is_high(tmp_path: Path) -> None:
    findings = _run(tmp_path, [(True, b.connection_request("op", b.PROTOCOL_RDP)),
                               (False, b.connection_confirm(b.PROTOCOL_RDP))])
    (finding,) = findings.values()
    assert finding.severity == "high"
    assert finding.evidence["client_offered_nla"] == ["false"]


def test_a_legacy_server_without_negotiation_is_standard_security(tmp_path: Path) -> None:
    findings = _run(tmp_path, [(True, b.connection_request("op", None)), (False, b.connection_confirm(None))])
    assert [f.severity for f in findings.values()] == ["high"]


def test_hybrid_selected_raises_nothing(tmp_path: Path) -> None:
    assert _run(tmp_path, [(True, b.connection_request()), (False, b.connection_confirm(b.PROTOCOL_HYBRID))]) == {}
    assert _run(tmp_path, [(True, b.connection_request("a", b.PROTOCOL_HYBRID_EX | b.PROTOCOL_HYBRID)),
                           (False, b.connection_confirm(b.PROTOCOL_HYBRID_EX))]) == {}


def test_a_server_requiring_nla_raises_nothing(tmp_path: Path) -> None:
    assert _run(tmp_path, [(True, b.connection_request("op", b.PROTOCOL_SSL)), (False, b.negotiation_failure(5))]) == {}


def test_rdstls_and_rds_aad_authenticate_before_the_connection_goes_on(tmp_path: Path) -> None:
    # [MS-RDPBCGR] §5.4.5.3-5.4.5.4: the user authenticates right after TLS, as with CredSSP
    for selected in (0x4, 0x10):  # PROTOCOL_RDSTLS, PROTOCOL_RDSAAD
        assert _run(tmp_path, [(True, b.connection_request("op", selected | b.PROTOCOL_SSL)),
                               (False, b.connection_confirm(selected))]) == {}
