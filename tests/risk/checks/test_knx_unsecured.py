"""risk.knx.unsecured: a KNX IP router carrying cleartext tunnelling and routing, or answering without the security
service family, is a finding; the same site on KNX IP Secure (security advertised, SECURE_WRAPPER frames) is not.
Cleartext frames routed to the multicast group are a finding on the router that announced the routing family, never
on a host that only sent them."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.lab.wire import Host
from iotwarden.model.finding import Finding
from iotwarden.risk.checks.knx_unsecured import KnxUnsecured
from iotwarden.risk.subjects import SubjectIndex
from tests.dissect import knxbuild as k
from tests.risk.harness import analyse, found
from tests.risk.test_subjects import tagged

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
    assert finding.evidence["routed_by"] == [k.ROUTER.ip]  # its own group telegrams, forwarded from the bus
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


def _routed_by_intruder(tmp_path: Path, *, announced: bool) -> dict[str, Finding]:
    """The intruder routing a memory write to 1.1.5 through the multicast group, after the site's search and
    description (the router announces the routing family) or with nothing announced."""
    site = k.site(group_writes=0) if announced else []
    frame = k.l_data(0x283, b"\x40\x00\x01\x02\x03", code=k.L_DATA_IND)
    routed = [k.datagram(k.T0 + 30 + i, k.INTRUDER, None, k.routing(frame)) for i in range(3)]
    ctx, _ = analyse(k.write_frames(tmp_path / "routed.pcap", site + routed))
    return found(ctx, ID)


def test_routed_cleartext_frames_are_a_finding_on_the_router_that_accepts_them_not_on_their_sender(
        tmp_path: Path) -> None:
    findings = _routed_by_intruder(tmp_path, announced=True)
    assert set(findings) == {f"mac:{k.ROUTER.mac}"}
    finding = findings[f"mac:{k.ROUTER.mac}"]
    assert finding.severity == "high" and "routing" in finding.evidence["cleartext"]
    assert finding.evidence["routed_by"] == [k.INTRUDER.ip]


def test_routed_frames_no_routing_device_announced_make_no_finding_on_the_sender(tmp_path: Path) -> None:
    assert _routed_by_intruder(tmp_path, announced=False) == {}


def test_the_findings_pass_is_pure(tmp_path: Path) -> None:
    ctx, risk = analyse(k.write_site(tmp_path / "knx.pcap"))
    check = next(c for c in risk.checks if c.id == ID)
    again = check.findings(ctx, SubjectIndex(ctx.devices))
    assert [(f.subject, f.evidence) for f in again] == [(f.subject, f.evidence) for f in found(ctx, ID).values()]


def test_two_vlans_identical_sites_keep_their_routed_frames_apart(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A trunk mirror of two VLANs' copies of the site (their routers at one IP, other MACs), an intruder routing a
    memory write on VLAN 20 only: each router's finding names only its own VLAN's senders (routing multicast stays in
    its VLAN), never the other router's routed frames."""
    first = k.ROUTER
    vlan10 = tagged(k.site(group_writes=2), 10)
    second = Host("00:24:6d:01:02:04", first.ip)
    monkeypatch.setattr(k, "ROUTER", second)  # site() builds its frames from knxbuild.ROUTER
    frame = k.l_data(0x283, b"\x40\x00\x01\x02\x03", code=k.L_DATA_IND)
    later = [(t + 100, f) for t, f in [*k.site(group_writes=2), k.datagram(k.T0 + 30, k.INTRUDER, None,
                                                                           k.routing(frame))]]
    ctx, _ = analyse(k.write_frames(tmp_path / "trunk.pcap", vlan10 + tagged(later, 20)))
    findings = found(ctx, ID)
    assert set(findings) == {f"mac:{first.mac}", f"mac:{second.mac}"}
    assert findings[f"mac:{first.mac}"].evidence["routed_by"] == [f"{first.ip}%vlan10"]
    assert set(findings[f"mac:{second.mac}"].evidence["routed_by"]) == {f"{second.ip}%vlan20",
                                                                         f"{k.INTRUDER.ip}%vlan20"}
    assert all(f.severity == "high" for f in findings.values())
