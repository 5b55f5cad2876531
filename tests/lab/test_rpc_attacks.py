"""Lab DCE/RPC attacks as the DCE/RPC dissector and the remote-execution detector read them: the lobby camera's
smbexec-style service creation on the file server (an endpoint-mapper lookup on tcp/135, then svcctl on the
dynamic port it names) and a workstation's DCSync from the domain controller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iotwarden.detect.remote_exec import DCSYNC, REMOTE_EXEC
from iotwarden.model import Observation
from tests.detect.runner import detect
from tests.lab.conftest import observations_of

Attack = tuple[list[Observation], dict[str, Any], Path]


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> Attack:
    out = tmp_path_factory.mktemp("rpc-attack")
    obs, truth = observations_of("enterprise-rpc.yaml", out, "dcerpc")
    return obs, truth, out / "lab.pcap"


def test_each_attack_is_an_epm_lookup_then_its_interface_bound_and_called(attack: Attack) -> None:
    obs, truth, _ = attack
    service, dcsync = truth["attacks"]
    calls = [(o.src_ip, o.dst_ip, o.dst_port, o.fields["interface"], o.fields["operation"])
             for o in obs if o.kind == "request"]
    cam, files = service["attacker"]["ip"], service["targets"][0]
    ws, dc = dcsync["attacker"]["ip"], dcsync["targets"][0]
    assert [c for c in calls if c[2] == 135] == [(cam, files, 135, "epmapper", None), (ws, dc, 135, "epmapper", None)]
    assert [(c[0], c[1], c[3], c[4]) for c in calls if c[2] != 135] == [
        (cam, files, "svcctl", "OpenSCManagerW"), (cam, files, "svcctl", "CreateServiceW"),
        (cam, files, "svcctl", "StartServiceW"), (ws, dc, "drsuapi", "DRSBind"), (ws, dc, "drsuapi", "DRSGetNCChanges")]
    acks = {(o.src_ip, o.fields["secondary_address"], tuple(o.fields["accepted_interfaces"]))
            for o in obs if o.kind == "bind_ack" and o.src_port != 135}
    assert {(ip, names) for ip, _, names in acks} == {(files, ("svcctl",)), (dc, ("drsuapi",))}
    assert all(49664 <= int(port) < 49700 for _, port, _ in acks)  # the port the mapper named
    assert service["technique"].startswith("T1569.002") and dcsync["technique"].startswith("T1003.006")


def test_both_are_detected_and_nothing_else_of_theirs(attack: Attack) -> None:
    _, truth, pcap = attack
    service, dcsync = truth["attacks"]
    alerts = [a for a in detect([pcap]).alerts if a.id in (REMOTE_EXEC, DCSYNC)]
    assert sorted((a.id, a.subject, a.dst_ip) for a in alerts) == [
        (DCSYNC, f"mac:{dcsync['attacker']['mac']}", dcsync["targets"][0]),
        (REMOTE_EXEC, f"mac:{service['attacker']['mac']}", service["targets"][0])]
