"""The lab's psexec attack as the SMB and DCE/RPC dissectors and the remote-execution detector read it: the lobby
camera's service binary written to the file server's ADMIN$, then svcctl over the \\PIPE\\svcctl named pipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotwarden.detect.remote_exec import REMOTE_EXEC, STAGING
from iotwarden.dissect.smb import MAX_FOLLOWED_BYTES
from iotwarden.engine.core import Engine
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.detect.runner import detect
from tests.lab.conftest import SCENARIOS
from tests.pcaputil import iter_packets

Attack = tuple[list[Observation], dict[str, Any], Path]


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> Attack:
    out = tmp_path_factory.mktemp("psexec")
    generate(load_scenario(SCENARIOS / "enterprise-psexec.yaml"), out / "lab.pcap", out / "lab.json")
    engine, obs = Engine(), []
    for batch in read_capture(out / "lab.pcap"):
        obs += engine.process(batch).observations
    obs += engine.flush().observations
    assert engine.stats.parse_errors["smb"] == 0 and engine.stats.parse_errors["dcerpc"] == 0
    return obs, json.loads((out / "lab.json").read_text()), out / "lab.pcap"


def test_the_binary_goes_to_admin_share_then_svcctl_is_called_over_its_pipe(attack: Attack) -> None:
    obs, truth, _ = attack
    (psexec,) = truth["attacks"]
    cam, files = psexec["attacker"]["ip"], psexec["targets"][0]
    writes = [(o.src_ip, o.dst_ip, o.fields["share"], o.fields["file"], o.fields["created"])
              for o in obs if o.kind == "file_write"]
    assert writes == [(cam, files, "ADMIN$", "PSEXESVC.exe", True)]
    calls = [(o.kind, o.src_ip, o.dst_port if o.src_ip == cam else o.src_port, o.fields.get("named_pipe"),
              o.fields.get("operation")) for o in obs if o.proto == "dcerpc"]
    assert calls == [("bind", cam, 445, "svcctl", None), ("bind_ack", files, 445, "svcctl", None),
                     *((kind, cam if kind == "request" else files, 445, "svcctl", op)
                       for op in ("OpenSCManagerW", "CreateServiceW", "StartServiceW")
                       for kind in ("request", "response"))]
    ack = next(o for o in obs if o.kind == "bind_ack")
    assert ack.fields["secondary_address"] == "\\PIPE\\svcctl" and ack.fields["accepted_interfaces"] == ["svcctl"]


def test_the_calls_come_past_the_old_96_packet_cap(attack: Attack) -> None:
    _, truth, pcap = attack
    cam = truth["attacks"][0]["attacker"]["ip"]
    packets = [p for p in iter_packets(pcap) if p.ip_proto == 6 and 445 in (p.src_port, p.dst_port)
               and cam in (p.src_ip, p.dst_ip)]
    assert 96 < len(packets) < 4096  # a 380 KB binary: ~480 packets, most before the pipe


def test_psexec_is_detected_from_the_attacker_and_nothing_else_of_it(attack: Attack) -> None:
    _, truth, pcap = attack
    (psexec,) = truth["attacks"]
    alerts = [a for a in detect([pcap]).alerts if a.id in (REMOTE_EXEC, STAGING)]
    assert sorted((a.id, a.subject, a.dst_ip) for a in alerts) == [
        (STAGING, f"mac:{psexec['attacker']['mac']}", psexec["targets"][0]),
        (REMOTE_EXEC, f"mac:{psexec['attacker']['mac']}", psexec["targets"][0])]


@pytest.mark.parametrize("dialect", ["smb2", "smb1"])
def test_the_calls_after_a_binary_longer_than_the_old_4096_packet_cap_are_read(tmp_path: Path, dialect: str) -> None:
    """An 8 MB PSEXESVC.exe: ~5,800 client segments of file data, then svcctl; the flow is read by bytes
    (MAX_FOLLOWED_BYTES), the data skipped on its headers, so the calls after it still raise remote_exec."""
    (tmp_path / "enterprise.yaml").symlink_to(SCENARIOS / "enterprise.yaml")
    (tmp_path / "big.yaml").write_text(
        "extends: enterprise.yaml\nname: big-psexec\ndescription: PsExec with an 8 MB service binary\nattacks:\n"
        "  - {kind: psexec, attacker: cam-lobby, target: srv-files, start: 240, binary_kb: 8192, "
        f"dialect: {dialect}}}\n")
    generate(load_scenario(tmp_path / "big.yaml"), tmp_path / "lab.pcap", tmp_path / "lab.json")
    (psexec,) = json.loads((tmp_path / "lab.json").read_text())["attacks"]
    engine, obs = Engine(), []
    for batch in read_capture(tmp_path / "lab.pcap"):
        obs += engine.process(batch).observations
    obs += engine.flush().observations
    assert engine.stats.protocols["smb"] > 4096 and MAX_FOLLOWED_BYTES > 8 << 20  # packets handed to it
    assert [o.fields["operation"] for o in obs if o.proto == "dcerpc" and o.kind == "request"] == [
        "OpenSCManagerW", "CreateServiceW", "StartServiceW"]
    alerts = [a for a in detect([tmp_path / "lab.pcap"]).alerts if a.id in (REMOTE_EXEC, STAGING)]
    assert sorted((a.id, a.dst_ip) for a in alerts) == [(STAGING, psexec["targets"][0]),
                                                         (REMOTE_EXEC, psexec["targets"][0])]
