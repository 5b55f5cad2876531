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


def _pre_nt_session() -> list[tuple[bool, bytes]]:
    """OPEN_ANDX of a file and of a pipe, core WRITE and READ, a TransactNmPipe continued in TRANSACTION_SECONDARY
    (after the interim response) and answered in two responses."""
    data = b"\x05" * 3000
    messages = [
        (True, m.message(m.open_andx("\\PSEXESVC.exe", access_mode=0x0041, open_mode=0x0012), mid=4, tid=TID)),
        (False, m.message(m.open_andx_response(0x4000, 2), mid=4, tid=TID, response=True)),
        (True, m.message(m.write(0x4000, b"MZ" * 100, offset=512), mid=5, tid=TID)),
        (False, m.message(m.write_response(200), mid=5, tid=TID, response=True)),
        (True, m.message(m.open_andx("\\PIPE\\svcctl", access_mode=0x0042, open_mode=0x0001), mid=6, tid=TID)),
        (False, m.message(m.open_andx_response(FID, 1, pipe=True), mid=6, tid=TID, response=True)),
        (True, m.message(m.read(FID, 1024), mid=7, tid=TID)),
        (False, m.message(m.read_response(b"\x05" * 60), mid=7, tid=TID, response=True)),
        (True, m.message(m.transact_nmpipe(FID, data[:1000], total=3000), mid=8, tid=TID)),
        (False, m.message(m.empty(0x25), mid=8, tid=TID, response=True)),
        (True, m.message(m.transact_secondary(data[1000:], total=3000, displacement=1000), mid=8, tid=TID)),
        (False, m.message(m.transact_response(data[:2000], total=2500), mid=8, tid=TID, response=True)),
        (False, m.message(m.transact_response(data[:500], total=2500, displacement=2000), mid=8, tid=TID,
                          response=True)),
    ]
    return _session()[:6] + [(to_server, smbwire.direct(message)) for to_server, message in messages]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_reads_the_pre_nt_and_secondary_transaction_builders_as_built(tmp_path: Path) -> None:
    path = tmp_path / "smb1_pre_nt.pcap"
    write_sessions(str(path), [("10.0.0.1", "10.0.0.2", 1031, 445, _pre_nt_session())])
    fields = ("smb.cmd", "smb.flags.response", "smb.mid", "smb.fid", "smb.file", "smb.access.mode",
              "smb.open.function.create", "smb.open.function.open", "smb.open.action.open", "smb.count", "smb.dc",
              "smb.data_disp", "smb.tdc")
    cmd = ["tshark", "-r", str(path), "-Y", "smb.mid >= 4", "-T", "fields", "-E", "separator=|"]
    run = subprocess.run([*cmd, *(a for f in fields for a in ("-e", f))], capture_output=True, text=True, check=True)
    rows = [line.split("|") for line in run.stdout.splitlines()]
    assert [row[:2] for row in rows] == [["0x2d,0xff", "0"], ["0x2d,0xff", "1"], ["0x0b", "0"], ["0x0b", "1"],
                                         ["0x2d,0xff", "0"], ["0x2d,0xff", "1"], ["0x0a", "0"], ["0x0a", "1"],
                                         ["0x25", "0"], ["0x25", "1"], ["0x26", "0"], ["0x25", "1"], ["0x25", "1"]]
    assert rows[0][4:8] == ["\\PSEXESVC.exe", "1", "1", "2"]  # write; create if absent, truncate if present
    assert rows[1][3] == "0x4000" and rows[1][8] == "2"  # created
    assert rows[2][9] == "200" and rows[4][4:8] == ["\\PIPE\\svcctl", "2", "0", "1"] and rows[7][9] == "60"
    assert rows[8][10:13] == ["1000", "", "3000"] and rows[10][10:13] == ["2000", "1000", "3000"]
    assert rows[11][10:13] == ["2000", "0", "2500"] and rows[12][10:13] == ["500", "2000", "2500"]
    warned = subprocess.run(["tshark", "-r", str(path), "-Y", "_ws.malformed || _ws.expert.severity >= 6291456"],
                            capture_output=True, text=True, check=True)
    assert warned.stdout == ""
