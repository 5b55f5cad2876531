"""PsExec from packets: the service binary written to ADMIN$ (detect.lateral.admin_share_exec) and the svcctl calls
over the \\PIPE\\svcctl named pipe (detect.lateral.remote_exec), from SMB2 sessions built from [MS-SMB2]; a share
listing, a user's file copy and other writes to administrative shares raise nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from iotwarden.detect.remote_exec import REMOTE_EXEC, STAGING, RemoteExecDetector
from iotwarden.dissect import smb
from iotwarden.hooks import Context
from iotwarden.lab import smbwire as w
from iotwarden.model import Observation
from tests.detect.runner import detect
from tests.dissect import test_smb2files as s
from tests.dissect.dcerpc_pdus import SVCCTL, mac_of, write_sessions

ADMIN_WS, SERVER, CLERK = "10.2.0.50", "10.2.0.20", "10.2.0.61"


def _write(ts: float, share: str, file: str) -> Observation:
    return Observation(ts=ts, proto="smb", kind="file_write", src_ip=ADMIN_WS, dst_ip=SERVER, src_mac=mac_of(ADMIN_WS),
                       dst_mac=mac_of(SERVER), src_port=50000, dst_port=445,
                       fields={"smb1": False, "share": share, "share_class": "admin", "file": file,
                               "disposition": "overwrite_if", "created": True})


@pytest.mark.parametrize(("share", "file", "staged"), [
    ("ADMIN$", "PSEXESVC.exe", True), ("ADMIN$", "Temp\\run.bat", True), ("C$", "Windows\\svc.dll", True),
    ("C$", "WINDOWS\\Temp\\x.ps1", True), ("ADMIN$", "update.vbs", True), ("C$", "Users\\Public\\a.exe", False),
    ("D$", "Windows\\a.exe", False), ("ADMIN$", "Temp\\backup.log", False), ("C$", "Windows\\report.docx", False)])
def test_an_executable_written_to_admin_or_the_windows_folder_is_staging(share: str, file: str, staged: bool) -> None:
    det, ctx = RemoteExecDetector(), Context()
    det.on_observation(ctx, _write(10.0, share, file))
    assert [(a.id, a.severity, a.mitre, a.evidence["file"]) for a in ctx.alerts] == (
        [(STAGING, "high", ["T1570", "T1021.002"], file)] if staged else [])


def test_one_staging_alert_per_source_target_and_file_within_realert_s() -> None:
    det, ctx = RemoteExecDetector(), Context()
    for i in range(3):
        det.on_observation(ctx, _write(10.0 + i, "ADMIN$", "PSEXESVC.exe"))
    det.on_observation(ctx, _write(14.0, "ADMIN$", "other.exe"))
    assert [a.evidence["file"] for a in ctx.alerts] == ["PSEXESVC.exe", "other.exe"]


def _benign() -> list[tuple[bool, bytes]]:
    """A clerk listing the server's shares (srvsvc NetrShareEnum) and copying a report to and from a user share."""
    pdus = [(s.rpc.bind([(0, s.SRVSVC, 3)], call_id=1), s.rpc.bind_ack("\\PIPE\\srvsvc", [0], call_id=1)),
            (s.rpc.request(0, 15, call_id=2), s.rpc.response(0, call_id=2))]
    chunks = s.logon() + s.tree(4, "\\\\SRV\\IPC$", s.IPC, w.SHARE_PIPE) + s.opened(5, "srvsvc", s.IPC, s.PIPE_ID)
    chunks += s.over_write_read(pdus) + s.tree(30, "\\\\SRV\\Finance", s.DOCS, w.SHARE_DISK)
    chunks += s.opened(31, "report.exe.docx", s.DOCS, s.FILE_ID, disposition=w.FILE_OVERWRITE_IF,
                       action=w.FILE_CREATED)
    chunks += [(True, w.direct(w.write(32, s.FILE_ID, b"PK" * 600, s.DOCS, s.SID))),
               (True, w.direct(w.read(33, s.FILE_ID, 1200, s.DOCS, s.SID))),
               (False, w.direct(w.read_response(33, b"PK" * 600, s.DOCS, s.SID)))]
    return chunks


def test_psexec_over_a_named_pipe_end_to_end_from_packets(tmp_path: Path) -> None:
    path = tmp_path / "psexec.pcap"
    write_sessions(str(path), [(ADMIN_WS, SERVER, 50123, 445, s.psexec()), (CLERK, SERVER, 50200, 445, _benign())])
    alerts = detect([path]).alerts
    got = sorted((a.id, a.src_ip, a.dst_ip) for a in alerts if a.id in (REMOTE_EXEC, STAGING))
    assert got == [(STAGING, ADMIN_WS, SERVER), (REMOTE_EXEC, ADMIN_WS, SERVER)]
    # the clerk's machine, unclassified, is judged by its SMB flow alone (admin_protocol), never by what it did
    assert {a.id for a in alerts if a.src_ip == CLERK} <= {"detect.lateral.admin_protocol"}
    staging: Any = next(a for a in alerts if a.id == STAGING)
    assert staging.evidence["share"] == "ADMIN$" and staging.evidence["file"] == "PSEXESVC.exe"


def _segments(chunks: list[tuple[bool, bytes]]) -> list[tuple[bool, bytes]]:
    """Each message cut into 1448-byte TCP segments, as on an Ethernet link."""
    return [(to_server, data[i : i + 1448]) for to_server, data in chunks for i in range(0, len(data), 1448)]


def test_psexec_in_compounded_requests_end_to_end_from_packets(tmp_path: Path) -> None:
    """The binary created and its first 1 MiB written in one compound (CREATE + related WRITE, over MAX_MESSAGE),
    svcctl opened with the bind as a related IOCTL; a clerk's compounded CREATE/QUERY_INFO/CLOSE and a 4 MiB write
    to a user share compounded the same way raise neither alert."""
    psexec = s.logon() + s.compounded_copy(b"MZ" + b"\x90" * ((1 << 20) - 2))
    psexec += s.compounded_svcctl(transceive=True)[4:]
    related = w.RELATED_FILE_ID
    benign = [*s.logon(), *s.tree(8, "\\\\SRV\\Finance", s.DOCS, w.SHARE_DISK),
              (True, w.direct(w.compound(w.create(10, "report.docx", s.DOCS, s.SID, access=w.FILE_READ_DATA),
                                         w.query_info(11, related, s.DOCS, s.SID),
                                         w.close(12, related, s.DOCS, s.SID)))),
              (False, w.direct(w.compound(w.create_response(10, s.FILE_ID, s.DOCS, s.SID),
                                          w.query_info_response(11, 4096, s.DOCS, s.SID),
                                          w.close_response(12, s.DOCS, s.SID))))]
    benign += s.compounded_copy(b"PK" * (2 << 20), "\\\\SRV\\Finance", s.DOCS)
    path = tmp_path / "compound.pcap"
    write_sessions(str(path), [(ADMIN_WS, SERVER, 50123, 445, _segments(psexec)),
                               (CLERK, SERVER, 50200, 445, _segments(benign))])
    alerts = detect([path]).alerts
    assert sorted((a.id, a.src_ip) for a in alerts if a.id in (REMOTE_EXEC, STAGING)) == [
        (STAGING, ADMIN_WS), (REMOTE_EXEC, ADMIN_WS)]
    assert {a.id for a in alerts if a.src_ip == CLERK} <= {"detect.lateral.admin_protocol"}


@pytest.mark.parametrize("op", ["write", "read"])
def test_psexec_after_a_300_mib_copy_raises_remote_exec(op: str) -> None:
    """A 300 MiB PSEXESVC.exe written to ADMIN$ (or 300 MiB pulled from it) in 1448-byte segments, then svcctl: file
    data is skipped on its WRITE's (READ response's) header and charged nothing against the session's budget, so the
    calls after it are read and raise remote_exec (the dissector fed directly: no 300 MiB capture is written)."""
    det, ctx = RemoteExecDetector(), Context()
    for obs in s.converse(s.big_copy_then_psexec(op, 300 << 20)):
        det.on_observation(ctx, obs)
    assert sorted({a.id for a in ctx.alerts}) == [STAGING, REMOTE_EXEC]
    assert {a.evidence["operation"] for a in ctx.alerts if a.id == REMOTE_EXEC} == {"CreateServiceW"}


def test_segments_of_skipped_file_data_do_not_count_among_max_packets_from_packets(tmp_path: Path,
                                                                                 monkeypatch: Any) -> None:
    """Through the engine: a 3 MiB binary in ~2,200 segments, MAX_PACKETS lowered to 300: the engine hands the SMB flow
    every packet (no per-flow packet cap) and the dissector counts only those it parses, so svcctl is still read."""
    monkeypatch.setattr(smb, "MAX_PACKETS", 300)
    path = tmp_path / "big.pcap"
    write_sessions(str(path), [(ADMIN_WS, SERVER, 50123, 445, list(s.big_copy_then_psexec("write", 3 << 20)))])
    assert sorted(a.id for a in detect([path]).alerts if a.id in (REMOTE_EXEC, STAGING)) == [STAGING, REMOTE_EXEC]


def test_psexec_whose_bind_the_capture_missed_raises_remote_exec_named_after_its_pipe(tmp_path: Path) -> None:
    """The svcctl pipe's CREATE captured, its bind and bind_ack not: the calls are named after \\PIPE\\svcctl
    ([MS-SCMR] §2.1) and raise remote_exec, the alert saying the interface was inferred."""
    chunks = s.svcctl_session(s.over_transceive(s.svcctl_pdus()[1:]))
    path = tmp_path / "nobind.pcap"
    write_sessions(str(path), [(ADMIN_WS, SERVER, 50123, 445, chunks)])
    alerts = [a for a in detect([path]).alerts if a.id == REMOTE_EXEC]
    assert [(a.src_ip, a.evidence["interface"], a.evidence["interface_inferred"]) for a in alerts] == [
        (ADMIN_WS, "svcctl", True)]



@pytest.mark.parametrize("lost", ["create", "tree_connect_answer"])
def test_psexec_whose_pipe_create_or_tree_connect_was_lost_raises_remote_exec_from_packets(tmp_path: Path,
                                                                                          lost: str) -> None:
    """A capture missing svcctl's CREATE (or IPC$'s TREE_CONNECT answer): a hole the engine tells the SMB dissector,
    the bind of svcctl's UUID on the unknown FileId adopts it as a pipe (dissect/smb2files.py adopt), and the alert
    says pipe_inferred."""
    from tests.dissect.gapfeed import segments
    from tests.dissect.test_dcerpc_resync import _lossy_pcap

    chunks = segments(s.psexec())
    message = w.direct(w.create(92, "svcctl", s.IPC, s.SID)) if lost == "create" else w.direct(
        w.tree_connect_response(91, s.IPC, s.SID, w.SHARE_PIPE))
    path = tmp_path / "lost_open.pcap"
    _lossy_pcap(path, ADMIN_WS, SERVER, sport=445, chunks=list(chunks),
                lost=next(i for i, (_, seg) in enumerate(chunks) if seg == message))
    alerts = [a for a in detect([path]).alerts if a.id == REMOTE_EXEC]
    assert [(a.src_ip, a.evidence["operation"], a.evidence["pipe_inferred"]) for a in alerts] == [
        (ADMIN_WS, "CreateServiceW", True)]


@pytest.mark.parametrize("lost", [4, 5])  # ADMIN$'s TREE_CONNECT request, or its answer
def test_psexec_whose_admin_tree_connect_was_lost_raises_both_ids_from_packets(tmp_path: Path, lost: int) -> None:
    """The binary written on a tree the capture never saw connected is placed on ADMIN$ by CreateServiceW's binary
    path (dissect/smbstage.py): both ids as for the whole session, the staging alert saying share_inferred."""
    from tests.dissect.test_dcerpc_resync import _lossy_pcap
    from tests.dissect.test_smbresync import copy_then_psexec

    path = tmp_path / "lost_admin_tree.pcap"
    _lossy_pcap(path, ADMIN_WS, SERVER, sport=445, chunks=copy_then_psexec(4, 65536), lost=lost)
    alerts = [a for a in detect([path]).alerts if a.id in (REMOTE_EXEC, STAGING)]
    assert sorted((a.id, a.src_ip, a.evidence.get("file"), a.evidence.get("share_inferred")) for a in alerts) == [
        (STAGING, ADMIN_WS, "PSEXESVC.exe", True), (REMOTE_EXEC, ADMIN_WS, None, None)]


def test_psexec_whose_pipe_create_answer_and_bind_were_lost_raises_remote_exec_from_packets(tmp_path: Path) -> None:
    """svcctl's CREATE answer and bind both missing from the capture: the first call on the FileId that answer gave
    takes the CREATE's name (dissect/smb2files.py orphan), CreateServiceW is read, pipe and interface inferred."""
    from tests.dissect.gapfeed import segments
    from tests.dissect.test_dcerpc_resync import _lossy_pcap

    chunks = segments(s.psexec())
    answer = w.direct(w.create_response(92, s.PIPE_ID, s.IPC, s.SID, action=w.FILE_OPENED))
    svcctl = uuid.UUID(SVCCTL).bytes_le
    lost = frozenset(i for i, (up, seg) in enumerate(chunks) if seg == answer or (up and seg and svcctl in seg))
    path = tmp_path / "lost_answer_bind.pcap"
    _lossy_pcap(path, ADMIN_WS, SERVER, sport=445, chunks=list(chunks), lost=lost)
    alerts = [a for a in detect([path]).alerts if a.id == REMOTE_EXEC]
    assert len(lost) == 2 and [(a.evidence["operation"], a.evidence["pipe_inferred"], a.evidence["interface_inferred"])
                               for a in alerts] == [("CreateServiceW", True, True)]
