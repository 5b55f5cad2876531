"""The lab's SMB1 messages as Wireshark reads them: every builder of lab/smb1wire.py in one session, dissected by
tshark (command, MID, TID, path, service, file name, FID, action, data lengths, the pipe function), so their offsets
are [MS-CIFS]'s and not only this project's reading of it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from iotwarden.lab import smb1wire as m
from iotwarden.lab import smbwire
from tests.dissect.dcerpc_pdus import write_sessions

TID, FID = 0x0805, 0x4001
FIELDS = ("smb.cmd", "smb.flags.response", "smb.mid", "smb.tid", "smb.path", "smb.service", "smb.file", "smb.fid",
          "smb.create.action", "smb.data_len_low", "smb_pipe.function", "smb.native_os")


def _session() -> list[tuple[bool, bytes]]:
    messages = [
        (True, m.negotiate_request()), (False, m.negotiate_response(b"\x11" * 16, 133_540_164_000_000_000)),
        (True, m.session_setup_request(1, b"")), (False, m.session_setup_response(1, b"", 0x0801, done=True)),
        (True, m.message(m.tree_connect("\\\\SRV\\IPC$"), mid=2)),
        (False, m.message(m.tree_connect_response("IPC"), mid=2, tid=TID, response=True)),
        (True, m.message(m.nt_create("\\svcctl"), mid=3, tid=TID)),
        (False, m.message(m.nt_create_response(FID), mid=3, tid=TID, response=True)),
        (True, m.message(m.write_andx(FID, b"\x05" * 72), m.read_andx(FID, 1024), mid=4, tid=TID)),
        (False, m.message(m.write_andx_response(72), m.read_andx_response(b"\x05" * 60), mid=4, tid=TID,
                          response=True)),
        (True, m.message(m.transact_nmpipe(FID, b"\x05" * 100), mid=5, tid=TID)),
        (False, m.message(m.transact_response(b"\x05" * 80), mid=5, tid=TID, response=True)),
        (True, m.message(m.close(FID), mid=6, tid=TID)), (False, m.message(m.empty(0x04), mid=6, tid=TID,
                                                                           response=True)),
    ]
    return [(to_server, smbwire.direct(message)) for to_server, message in messages]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_reads_every_builder_as_built(tmp_path: Path) -> None:
    path = tmp_path / "smb1.pcap"
    write_sessions(str(path), [("10.0.0.1", "10.0.0.2", 1031, 445, _session())])
    cmd = ["tshark", "-r", str(path), "-Y", "smb", "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
           "-E", "aggregator=,"]
    run = subprocess.run([*cmd, *(a for f in FIELDS for a in ("-e", f))], capture_output=True, text=True, check=True)
    rows = [dict(zip(FIELDS, line.split("|"), strict=True)) for line in run.stdout.splitlines()]
    # smb.cmd: the header's command, then each AndX block's AndXCommand (0xff: the chain ends)
    assert [(r["smb.cmd"], r["smb.flags.response"]) for r in rows] == [
        (c, flag) for c in ("0x72", "0x73,0xff", "0x75,0xff", "0xa2,0xff", "0x2f,0x2e,0xff", "0x25", "0x04")
        for flag in ("0", "1")]
    by = {(r["smb.cmd"], r["smb.flags.response"]): r for r in rows}
    assert by["0x75,0xff", "0"]["smb.path"] == "\\\\SRV\\IPC$" and by["0x75,0xff", "1"]["smb.service"] == "IPC"
    assert by["0x75,0xff", "1"]["smb.tid"] == str(TID) and by["0xa2,0xff", "0"]["smb.file"] == "\\svcctl"
    assert by["0xa2,0xff", "1"]["smb.fid"].startswith("0x4001") and by["0xa2,0xff", "1"]["smb.create.action"] == "1"
    chained = "0x2f,0x2e,0xff"  # WRITE_ANDX, then READ_ANDX, then no further command
    assert by[chained, "0"]["smb.data_len_low"] == "72" and by[chained, "1"]["smb.data_len_low"] == "60"
    assert by["0x25", "0"]["smb_pipe.function"] == "0x0026"
    assert by["0x73,0xff", "0"]["smb.native_os"] == "Windows 2002 Service Pack 3 2600"
    warned = subprocess.run(["tshark", "-r", str(path), "-Y", "_ws.malformed || _ws.expert.severity >= 6291456"],
                            capture_output=True, text=True, check=True)
    assert warned.stdout == ""  # nothing malformed, no expert warning
