"""LDAP facts end to end (engine -> inventory -> classifier): a domain controller answering a CLDAP ping
([MS-ADTS] §6.3.3) is named by its DnsHostName and NetbiosComputerName and typed domain_controller (kb rule
ldap.netlogon.ds_flag); the member that asked, and an MFP binding in cleartext, are not; a client's bind kind and
mechanism are its own attributes."""

from __future__ import annotations

import uuid
from pathlib import Path

from iotwarden.lab import proto_ldap as L
from tests.risk.harness import T0, classified_by_ip, host, tcp, udp, write_pcap

RESPONSE = L.logon_response_ex(forest="corp.example", domain="corp.example", host="DC01.corp.example",
                               netbios_domain="CORP", netbios_name="DC01", site="HQ", client_site="HQ",
                               domain_guid=uuid.UUID(int=7))


def test_a_dc_answering_the_ldap_ping_is_named_and_typed(tmp_path: Path) -> None:
    mfp, dc = host(61), host(62)
    frames = udp(mfp, dc, 51000, 389, L.netlogon_ping(1, "corp.example", "MFP-2F"), t=T0)
    frames += udp(dc, mfp, 389, 51000, L.netlogon_answer(1, RESPONSE), t=T0 + 0.002)
    frames += tcp(mfp, dc, 389, [(True, L.bind_simple(1, "CN=svc-scan,DC=corp,DC=example", "pw")),
                                 (False, L.bind_response(1, 0))], t=T0 + 1)
    devices = classified_by_ip(write_pcap(tmp_path / "cldap.pcap", frames))
    server, client = devices[dc.ip], devices[mfp.ip]
    assert {"DC01.corp.example", "DC01"} <= set(server.hostnames)
    assert server.attributes["ldap.dns_domain_name"] == {"corp.example"}
    assert server.attributes["ldap.dc_site_name"] == {"HQ"}
    assert "DS_DS_FLAG" in server.attributes["ldap.flags"]
    assert server.classification["device_type"].value == "domain_controller"
    assert server.classification["category"].value == "it"
    assert client.attributes["ldap.bind_kind"] == {"simple"}
    assert "device_type" not in client.classification or client.classification["device_type"].value != (
        "domain_controller")
    assert not client.hostnames
