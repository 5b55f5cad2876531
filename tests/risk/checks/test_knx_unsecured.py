"""risk.knx.unsecured: a KNX IP router carrying cleartext tunnelling and routing, or answering without the security
service family, is a finding; the same site on KNX IP Secure (security advertised, SECURE_WRAPPER frames) is not."""

from __future__ import annotations

from pathlib import Path

from iotwarden.risk.checks.knx_unsecured import KnxUnsecured
from tests.dissect import knxbuild as k
from tests.risk.harness import analyse, found

ID = "risk.knx.unsecured"


def test_cleartext_tunnelling_and_routing_make_a_finding_on_the_router(tmp_path: Path) -> None:
    ctx, _ = analyse(k.write_site(tmp_path / "knx.pcap"))
    findings = found(ctx, ID)
    assert set(findings) == {f"mac:{k.ROUTER.mac}"}  # never the ETS station or the visualisation
    finding = findings[f"mac:{k.ROUTER.mac}"]
    assert finding.severity == "high"
    assert finding.evidence["cleartext"] == ["routing", "tunnelling"]
    assert finding.evidence["advertised"] == ["no security service family"]
    assert finding.evidence["name"] == ["KNX IP Router 752"]
    assert k.VISU.ip in finding.evidence["peers"]
    assert "CWE-319 (Cleartext Transmission of Sensitive Information)" in finding.references


def test_a_secure_wrapped_site_makes_no_finding(tmp_path: Path) -> None:
    ctx, _ = analyse(k.write_site(tmp_path / "knx.pcap", secure=True))
    assert found(ctx, ID) == {}


def test_an_answer_without_the_security_family_alone_is_medium(tmp_path: Path) -> None:
    frame = k.datagram(k.T0, k.ROUTER, k.ETS, k.search_response(), dport=50000)
    ctx, _ = analyse(k.write_frames(tmp_path / "search.pcap", [frame]))
    (finding,) = found(ctx, ID).values()
    assert finding.severity == "medium" and "cleartext" not in finding.evidence


def test_the_check_reads_knxip_only() -> None:
    assert KnxUnsecured.protos == frozenset({"knxip"}) and KnxUnsecured.id == ID
