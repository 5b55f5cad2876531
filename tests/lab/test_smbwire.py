"""The lab's SMB2 messages as Wireshark reads them: every builder of lab/smbwire.py in one session (after
lab/proto_app.py's NEGOTIATE), dissected by
tshark (command, tree, file name, FileId, FSCTL code, data lengths), so their offsets are the specification's and not
only this project's reading of it."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from iotwarden.lab import proto_app
from iotwarden.lab import smbwire as w
from tests.dissect.dcerpc_pdus import write_sessions

SID, FID = 0x4400000000001, bytes(range(16))
FIELDS = ("smb2.cmd", "smb2.flags.response", "smb2.tid", "smb2.filename", "smb2.tree", "smb2.ioctl.function",
          "smb2.write_length", "smb2.read_length", "smb2.share_type", "smb2.create.action")


def _session() -> list[tuple[bool, bytes]]:
    rng = random.Random(4)
    negotiate = [(True, proto_app.smb2_negotiate_request(rng)), (False, proto_app.smb2_negotiate_response(rng, 0.0))]
    messages = [
        (True, w.session_setup_request(1, b"")), (False, w.session_setup_response(1, b"", SID, done=True)),
        (True, w.tree_connect(2, "\\\\SRV\\ADMIN$", SID)), (False, w.tree_connect_response(2, 5, SID, w.SHARE_DISK)),
        (True, w.create(3, "PSEXESVC.exe", 5, SID, disposition=w.FILE_OVERWRITE_IF)),
        (False, w.create_response(3, FID, 5, SID, action=w.FILE_CREATED)),
        (True, w.write(4, FID, b"MZ" * 50, 5, SID)), (False, w.write_response(4, 100, 5, SID)),
        (True, w.read(5, FID, 64, 5, SID)), (False, w.read_response(5, b"\x05" * 64, 5, SID)),
        (True, w.transceive(6, FID, b"\x05" * 72, 5, SID)),
        (False, w.transceive_response(6, FID, b"\x05" * 60, 5, SID)),
        (True, w.close(7, FID, 5, SID)), (False, w.close_response(7, 5, SID)),
    ]
    return negotiate + [(to_server, w.direct(m)) for to_server, m in messages]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_reads_every_builder_as_built(tmp_path: Path) -> None:
    path = tmp_path / "smb2.pcap"
    write_sessions(str(path), [("10.0.0.1", "10.0.0.2", 50000, 445, _session())])
    cmd = ["tshark", "-r", str(path), "-Y", "smb2", "-T", "fields", "-E", "separator=|"]
    run = subprocess.run([*cmd, *(a for f in FIELDS for a in ("-e", f))], capture_output=True, text=True, check=True)
    rows = [dict(zip(FIELDS, line.split("|"), strict=True)) for line in run.stdout.splitlines()]
    assert [(r["smb2.cmd"], r["smb2.flags.response"]) for r in rows] == [
        (str(c), flag) for c in (0, 1, 3, 5, 9, 8, 11, 6) for flag in ("0", "1")]
    by = {(r["smb2.cmd"], r["smb2.flags.response"]): r for r in rows}
    assert by["3", "0"]["smb2.tree"] == "\\\\SRV\\ADMIN$" and by["3", "1"]["smb2.share_type"] == "0x01"
    assert by["3", "1"]["smb2.tid"] == "0x00000005"
    assert by["5", "0"]["smb2.filename"] == "PSEXESVC.exe" and by["5", "1"]["smb2.create.action"] == "2"
    assert by["9", "0"]["smb2.write_length"] == "100" and by["8", "0"]["smb2.read_length"] == "64"
    assert by["11", "0"]["smb2.ioctl.function"] == "0x0011c017"
    warned = subprocess.run(["tshark", "-r", str(path), "-Y", "_ws.malformed || _ws.expert.severity >= 6291456"],
                            capture_output=True, text=True, check=True)
    assert warned.stdout == ""  # nothing malformed, no expert warning


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_reads_compounded_messages_as_chained_and_related(tmp_path: Path) -> None:
    """CREATE+QUERY_INFO+CLOSE and CREATE+WRITE compounded (§3.2.4.1.4), requests and responses: tshark finds each
    command at its NextCommand, the ones after the first flagged related with the FileId 0xFF..FF."""
    rng, related = random.Random(4), w.RELATED_FILE_ID
    messages = [
        (True, w.session_setup_request(1, b"")), (False, w.session_setup_response(1, b"", SID, done=True)),
        (True, w.compound(w.create(3, "a.txt", 5, SID), w.query_info(4, related, 5, SID), w.close(5, related, 5, SID))),
        (False, w.compound(w.create_response(3, FID, 5, SID), w.query_info_response(4, 100, 5, SID),
                           w.close_response(5, 5, SID))),
        (True, w.compound(w.create(6, "b.exe", 5, SID, disposition=w.FILE_OVERWRITE_IF),
                          w.write(7, related, b"MZ" * 50, 5, SID))),
        (False, w.compound(w.create_response(6, FID, 5, SID, action=w.FILE_CREATED), w.write_response(7, 100, 5, SID)))]
    session = [(True, proto_app.smb2_negotiate_request(rng)), (False, proto_app.smb2_negotiate_response(rng, 0.0))]
    path = tmp_path / "compound.pcap"
    write_sessions(str(path), [("10.0.0.1", "10.0.0.2", 50000, 445,
                                session + [(to_server, w.direct(m)) for to_server, m in messages])])
    fields = ("smb2.cmd", "smb2.flags.chained", "smb2.fid", "smb2.filename", "smb2.write_length")
    cmd = ["tshark", "-r", str(path), "-Y", "smb2.cmd == 5", "-T", "fields", "-E", "separator=|"]
    run = subprocess.run([*cmd, *(a for f in fields for a in ("-e", f))], capture_output=True, text=True, check=True)
    ff = "ffffffff-ffff-ffff-ffff-ffffffffffff"
    assert [line.split("|") for line in run.stdout.splitlines()] == [
        ["5,16,6", "0,1,1", f"{ff},{ff}", "a.txt", ""], ["5,16,6", "0,1,1", "03020100-0504-0706-0809-0a0b0c0d0e0f",
                                                          "", ""],
        ["5,9", "0,1", ff, "b.exe", "100"], ["5,9", "0,1", "03020100-0504-0706-0809-0a0b0c0d0e0f", "", ""]]
    warned = subprocess.run(["tshark", "-r", str(path), "-Y", "_ws.malformed || _ws.expert.severity >= 6291456"],
                            capture_output=True, text=True, check=True)
    assert warned.stdout == ""
