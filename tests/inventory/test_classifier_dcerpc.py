"""DCE/RPC evidence end to end (engine -> inventory -> classifier): the host that accepts a DRSUAPI bind is a
domain controller; the host that asked for it (another DC, or a workstation running a DCSync tool) is not
typed by its request, nor is a host answering other interfaces."""

from __future__ import annotations

from pathlib import Path

from iotwarden.model import Device
from tests.dissect.dcerpc_pdus import DRSUAPI, SVCCTL, bind, bind_ack, request, response, write_sessions
from tests.risk.harness import classified_by_ip

DC, CLIENT, FILESERVER = "10.1.0.10", "10.1.0.50", "10.1.0.20"


def _devices(tmp_path: Path) -> dict[str, Device]:
    path = tmp_path / "rpc.pcap"
    write_sessions(str(path), [
        (CLIENT, DC, 50001, 49667, [(True, bind([(0, DRSUAPI, 4)])), (False, bind_ack("49667", [0])),
                                    (True, request(0, 3)), (False, response(0))]),
        (CLIENT, FILESERVER, 50002, 49670, [(True, bind([(0, SVCCTL, 2)])), (False, bind_ack("49670", [0]))]),
    ])
    return classified_by_ip(path)


def test_the_host_accepting_drsuapi_is_a_domain_controller(tmp_path: Path) -> None:
    dc = _devices(tmp_path)[DC]
    assert dc.attributes["dcerpc.accepted_interfaces"] == {"drsuapi"}
    kind = dc.classification["device_type"]
    assert kind.value == "domain_controller" and {e["rule_id"] for e in kind.evidence} == {"dcerpc.server.drsuapi"}
    assert dc.classification["category"].value == "it"


def test_the_client_and_a_server_of_other_interfaces_are_not_typed_by_them(tmp_path: Path) -> None:
    devices = _devices(tmp_path)
    client = devices[CLIENT]
    assert client.attributes["dcerpc.requested_interfaces"] == {"drsuapi", "svcctl"}
    assert "dcerpc.accepted_interfaces" not in client.attributes
    for host in (client, devices[FILESERVER]):
        assert host.conclusion("device_type") != "domain_controller"
