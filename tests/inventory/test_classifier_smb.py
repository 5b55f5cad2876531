"""SMB evidence end to end (engine -> inventory -> classifier): NTLMSSP versions and SMB1 NativeOS strings name
Windows releases, a Windows Server build makes a server, Samba says Linux weakly; names and GUIDs are kept
for linking, never a user's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.kb import KnowledgeBase
from tests.conftest import shared
from tests.dissect import smbbuild as b
from tests.risk.harness import classified_by_ip, host, tcp, write_pcap


def test_a_windows_11_client_and_a_windows_server_2022(tmp_path: Path) -> None:
    pc, srv = host(31), host(32)  # locally administered MACs: no registry vendor
    frames = tcp(pc, srv, 445, [
        (True, b.direct(b.negotiate_request())), (False, b.direct(b.negotiate_response())),
        (True, b.direct(b.session_setup_request(b.spnego_init(b.ntlm_negotiate((10, 0, 22631)))))),
        (False, b.direct(b.session_setup_response(b.spnego_resp(b.ntlm_challenge())))),
        (True, b.direct(b.session_setup_request(b.spnego_resp(b.ntlm_authenticate(user="alice.smith"))))),
    ])
    devices = classified_by_ip(write_pcap(tmp_path / "logon.pcap", frames))
    server, client = devices[srv.ip], devices[pc.ip]
    got = server.classification
    assert (got["os"].value, got["os_version"].value, got["device_type"].value) == ("Windows", "Server 2022", "server")
    assert server.attributes["smb.nb_computer"] == {"FILESRV"}
    assert server.attributes["smb.server_guid"] == {str(b.SERVER_GUID)}
    assert "FILESRV" in server.hostnames
    mine = client.classification
    assert (mine["os"].value, mine["os_version"].value) == ("Windows", "11 23H2")
    assert "device_type" not in mine or mine["device_type"].value != "server"
    assert client.attributes["smb.workstation"] == {"PC-0042"} and "PC-0042" in client.hostnames
    assert client.attributes["smb.client_guid"] == {str(b.CLIENT_GUID)}
    assert "alice" not in repr(client.to_dict()).lower()


def test_a_samba_nas_answering_smb1(tmp_path: Path) -> None:
    hmi, nas = host(41), host(42)
    frames = tcp(hmi, nas, 445, [
        (True, b.direct(b.smb1_negotiate_request(("NT LM 0.12",)))),
        (False, b.direct(b.smb1_negotiate_response(0, b.spnego_init(b"", (b.NTLM_OID,))))),
        (True, b.direct(b.smb1_session_setup_request(b.spnego_init(b.ntlm_negotiate((5, 1, 2600)))))),
        (False, b.direct(b.smb1_session_setup_response(b.spnego_resp(b.ntlm_challenge(ver=(6, 1, 0)))))),
    ])
    devices = classified_by_ip(write_pcap(tmp_path / "nas.pcap", frames))
    assert devices[nas.ip].classification["os"].value == "Linux"
    assert devices[nas.ip].attributes["smb.native_lanman"] == {"Samba 3.6.25"}
    assert "os_version" not in devices[nas.ip].classification  # Samba's 6.1.0 is no Windows build
    xp = devices[hmi.ip].classification
    assert (xp["os"].value, xp["os_version"].value) == ("Windows", "XP")


def test_the_real_panel_pc_and_its_windows_server_2008() -> None:
    devices = classified_by_ip(shared("pcaps", "ics_iti", "pcaps", "ModbusTCP", "mb2.pcap"))
    server, panel = devices["141.81.0.10"].classification, devices["141.81.0.182"].classification
    assert (server["os"].value, server["os_version"].value) == ("Windows", "Server 2008")
    # IAS01 polls S7comm, Modbus and CIP and never sends from tcp/102 or 502 (tshark); it looked like it
    # answered S7comm (a PLC) only while the engine took the first packet of a session the capture joined
    # mid-stream, a PLC's answer, for the client's (engine/orient.py). A Windows Server 2008 SMB server polling PLCs:
    # an OT station (SCADA servers and historians run Windows Server), so the type its edition says
    # (smb.server.windows_server_native_os, it_system) yields and its category is what it polls, never an IT server
    # of category ot (brief A 1: a type and its category agree)
    assert "device_type" not in server
    assert server["category"].value == "ot"  # what it polls
    assert (panel["os"].value, panel["os_version"].value) == ("Windows", "XP")


@pytest.mark.parametrize(("attribute", "value", "rule", "expected"), [
    ("smb.native_os", "Windows 5.0", "smb.native_os.windows_2000", {"os": "Windows", "os_version": "2000"}),
    ("smb.native_os", "Windows 5.1", "smb.native_os.windows_xp", {"os_version": "XP"}),
    ("smb.native_os", "Windows Server 2003 3790 Service Pack 2", "smb.native_os.windows_server_2003",
     {"os_version": "Server 2003"}),
    ("smb.native_os", "Windows Vista (TM) Ultimate 6000", "smb.native_os.windows_vista", {"os_version": "Vista"}),
    ("smb.native_os", "Windows Server (R) 2008 Standard 6001 Service Pack 1", "smb.native_os.windows_server_2008",
     {"os_version": "Server 2008"}),
    ("smb.server_native_os", "Windows Server 2003 3790 Service Pack 2", "smb.server.windows_server_native_os",
     {"device_type": "server"}),
    ("smb.server_ntlm_version", "10.0.20348", "smb.server.windows_server_build", {"device_type": "server"}),
    ("smb.native_os", "Windows 7 Professional 7601 Service Pack 1", "smb.native_os.windows_7", {"os_version": "7"}),
    ("smb.native_lanman", "Samba 3.6.25", "smb.native_lanman.samba", {"os": "Linux"}),
    ("smb.ntlm_version", "10.0.19045", "smb.ntlm.windows_19045", {"os_version": "10 22H2"}),
    ("smb.ntlm_version", "10.0.17763", "smb.ntlm.windows_17763", {"os_version": "10 1809 / Server 2019"}),
    ("smb.ntlm_version", "10.0.20348", "smb.ntlm.windows_server_2022", {"os_version": "Server 2022"}),
    ("smb.ntlm_version", "6.1.7601", "smb.ntlm.windows_6_1", {"os_version": "7 / Server 2008 R2"}),
])
def test_each_rule_reads_its_references_example(attribute: str, value: str, rule: str,
                                                expected: dict[str, str]) -> None:
    found = KnowledgeBase.load().match(attribute, value)
    assert found and found[0].rule_id == rule, [m.rule_id for m in found]
    assert expected.items() <= dict(found[0].conclusions).items()


def test_a_windows_server_2003_acting_only_as_a_client_is_not_typed_a_server() -> None:
    # the IEC 61850 sample: DEMO (172.16.0.101, MicroSCADA on Windows Server 2003 R2) logs on to SAS1 over SMB
    devices = classified_by_ip(shared("pcaps", "ics_iti", "pcaps", "IEC61850", "Sample_File_MMS_and_GOOSE.pcap"))
    station = devices["172.16.0.101"]
    assert station.attributes["smb.native_os"] == {"Windows Server 2003 R2 3790 Service Pack 2"}
    assert "smb.server_native_os" not in station.attributes
    got = station.classification
    assert (got["os"].value, got["os_version"].value) == ("Windows", "Server 2003")
    # an MMS client (it only ever sends to tcp/102: tshark), no IED: typed by nothing (before engine/orient.py,
    # the IEDs' answers that began sessions the capture joined mid-stream made it look like their server)
    assert "device_type" not in got
    assert got["category"].value == "ot"


@pytest.mark.parametrize(("attribute", "value"), [
    ("smb.ntlm_version", "6.1.0"), ("smb.ntlm_version", "10.0.99999"), ("smb.native_os", "Windows 10 Pro 19045"),
])
def test_unknown_builds_and_samba_versions_name_no_windows(attribute: str, value: str) -> None:
    assert KnowledgeBase.load().match(attribute, value) == []
