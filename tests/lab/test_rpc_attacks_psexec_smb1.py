"""The lab's psexec attack with ``dialect: smb1`` (enterprise-psexec-smb1.yaml) as the SMB and DCE/RPC dissectors read
it: an SMB1 session from the lobby camera, PSEXESVC.exe written to the file server's ADMIN$, then svcctl over
\\PIPE\\svcctl by WRITE_ANDX/READ_ANDX and TransactNmPipe (test_lab.py checks the alerts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.engine.core import Engine
from iotwarden.errors import ConfigError
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.sources.capfile import read_capture
from tests.lab.conftest import SCENARIOS


def test_psexec_over_smb1_is_read_as_an_smb1_file_write_and_svcctl_calls(tmp_path: Path) -> None:
    generate(load_scenario(SCENARIOS / "enterprise-psexec-smb1.yaml"), tmp_path / "lab.pcap", tmp_path / "lab.json")
    engine, obs = Engine(), []
    for batch in read_capture(tmp_path / "lab.pcap"):
        obs += engine.process(batch).observations
    obs += engine.flush().observations
    assert engine.stats.parse_errors["smb"] == 0 and engine.stats.parse_errors["dcerpc"] == 0
    (psexec,) = json.loads((tmp_path / "lab.json").read_text())["attacks"]
    cam, files = psexec["attacker"]["ip"], psexec["targets"][0]
    assert [(o.src_ip, o.dst_ip, o.fields["smb1"], o.fields["share"], o.fields["file"])
            for o in obs if o.kind == "file_write"] == [(cam, files, True, "ADMIN$", "PSEXESVC.exe")]
    assert [(o.kind, o.fields.get("named_pipe"), o.fields.get("operation")) for o in obs
            if o.proto == "dcerpc" and cam in (o.src_ip, o.dst_ip)] == [
        ("bind", "svcctl", None), ("bind_ack", "svcctl", None),
        *((kind, "svcctl", op) for op in ("OpenSCManagerW", "CreateServiceW", "StartServiceW")
          for kind in ("request", "response"))]
    assert [o.fields["smb1"] for o in obs if o.kind == "negotiate_request" and o.src_ip == cam] == [True]
    # the camera (AXIS OS) states what impacket's psexec states, not Windows XP's NativeOS and NativeLanMan
    assert {(o.fields.get("native_os"), o.fields.get("native_lanman")) for o in obs
            if o.src_ip == cam and "native_os" in o.fields} == {("Unix", "Samba")}


def test_an_unknown_dialect_is_refused_with_its_path(tmp_path: Path) -> None:
    text = (SCENARIOS / "enterprise-psexec-smb1.yaml").read_text().replace("dialect: smb1", "dialect: smb3")
    (tmp_path / "s.yaml").write_text(text.replace("extends: enterprise.yaml", f"extends: {SCENARIOS}/enterprise.yaml"))
    with pytest.raises(ConfigError, match=r"dialect: one of smb2, smb1, got 'smb3'"):
        generate(load_scenario(tmp_path / "s.yaml"), tmp_path / "s.pcap")
