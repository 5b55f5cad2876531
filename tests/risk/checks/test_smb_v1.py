"""risk.smb.v1: SMB1 servers (high) and clients offering SMB1 (medium); SMB2/3 alone raises nothing."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import shared
from tests.dissect import smbbuild as b
from tests.risk.harness import analyse, found, host, tcp, write_pcap

ID = "risk.smb.v1"


def test_an_smb1_server_and_its_client_on_the_panel_network() -> None:
    # ics_iti mb2.pcap: PANELPC02 (Windows XP, 141.81.0.182) logs on to IAS01 (Windows Server 2008, 141.81.0.10)
    # over NT LM 0.12 on tcp/139
    ctx, _ = analyse(shared("pcaps", "ics_iti", "pcaps", "ModbusTCP", "mb2.pcap"))
    findings = {f.evidence["roles"][0]: f for f in found(ctx, ID).values()}
    assert set(findings) == {"server", "client"}
    server, client = findings["server"], findings["client"]
    assert server.severity == "high" and "NT LM 0.12" in server.evidence["dialects"]
    assert server.evidence["peers"] == ["141.81.0.182"] and server.evidence["ports"] == ["139"]
    assert client.severity == "medium" and client.evidence["peers"] == ["141.81.0.10"]
    assert "MS17-010" in " ".join(server.references)


def test_a_windows_7_client_offering_smb1_to_an_smb2_server(tmp_path: Path) -> None:
    # the multi-protocol negotiate ([MS-SMB2] §3.3.5.3.1): the client offers NT LM 0.12, the server answers SMB2
    client, server = host(10), host(20)
    frames = tcp(client, server, 445, [(True, b.direct(b.smb1_negotiate_request())),
                                       (False, b.direct(b.negotiate_response(0x02FF)))])
    ctx, _ = analyse(write_pcap(tmp_path / "multi.pcap", frames))
    (finding,) = found(ctx, ID).values()
    assert finding.subject == f"mac:{client.mac}" and finding.severity == "medium"
    assert finding.evidence["roles"] == ["client"]


def test_smb2_and_smb3_alone_are_not_flagged(tmp_path: Path) -> None:
    client, server = host(10), host(20)
    frames = tcp(client, server, 445, [
        (True, b.direct(b.negotiate_request())), (False, b.direct(b.negotiate_response())),
        (True, b.direct(b.session_setup_request(b.spnego_init(b.ntlm_negotiate())))),
        (False, b.direct(b.session_setup_response(b.spnego_resp(b.ntlm_challenge())))),
    ])
    ctx, _ = analyse(write_pcap(tmp_path / "smb3.pcap", frames))
    assert found(ctx, ID) == {}


def test_a_server_refusing_every_smb1_dialect_is_not_flagged(tmp_path: Path) -> None:
    client, server = host(10), host(20)
    refused = b.smb1(0x72, b"\xff\xff", b"", response=True)  # DialectIndex 0xFFFF, [MS-CIFS] §2.2.4.52.2
    frames = tcp(client, server, 445, [(True, b.direct(b.smb1_negotiate_request(("NT LM 0.12",)))),
                                       (False, b.direct(refused))])
    ctx, _ = analyse(write_pcap(tmp_path / "refused.pcap", frames))
    (finding,) = found(ctx, ID).values()
    assert finding.subject == f"mac:{client.mac}"  # only the client, which offered it
