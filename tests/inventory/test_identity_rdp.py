"""RDP names end to end (engine -> inventory): the CN of the certificate a server presents in the TLS that follows
the X.224 confirm ([MS-RDPBCGR] §5.4.5.1) and, under standard security, the client's computer name
(§2.2.1.3.2) become the hosts' names; the cookie's user name names no device."""

from __future__ import annotations

from pathlib import Path

from tests.dissect import rdpbuild as b
from tests.risk.harness import T0, certificate, classified_by_ip, client_hello, host, server_flight, tcp, write_pcap


def test_the_rdp_certificate_names_the_server(tmp_path: Path) -> None:
    pc, hmi = host(51), host(52)
    der = certificate("HMI-PRESS-04", not_before=T0 - 86_400, days=180, self_signed=True)
    frames = tcp(pc, hmi, 3389, [(True, b.connection_request("operator")), (False, b.connection_confirm()),
                                 (True, client_hello([0xC02F])), (False, server_flight(0x0303, 0xC02F, [der]))])
    devices = classified_by_ip(write_pcap(tmp_path / "rdp.pcap", frames))
    server = devices[hmi.ip]
    assert "HMI-PRESS-04" in server.hostnames
    assert server.attributes["rdp.computer_name"] == {"HMI-PRESS-04"}
    assert server.attributes["tls.subject"] == {"CN=HMI-PRESS-04"}  # the TLS dissector read the handshake
    assert "operator" not in repr(devices[pc.ip].to_dict())


def test_standard_security_names_the_client(tmp_path: Path) -> None:
    pc, hmi = host(53), host(54)
    frames = tcp(pc, hmi, 3389, [(True, b.connection_request("op", b.PROTOCOL_RDP)),
                                 (False, b.connection_confirm(b.PROTOCOL_RDP)),
                                 (True, b.mcs_connect_initial(b.client_core("ENG-WS-9", build=7601))),
                                 (False, b.mcs_connect_response())])
    devices = classified_by_ip(write_pcap(tmp_path / "std.pcap", frames))
    client = devices[pc.ip]
    assert "ENG-WS-9" in client.hostnames
    assert client.attributes["rdp.client_build"] == {"7601"}
