"""PsExec over SMB1 from packets (an XP/2003-era HMI or engineering station, or a tool in SMB1 mode): PSEXESVC.exe
written to ADMIN$ raises detect.lateral.admin_share_exec and the svcctl calls over \\PIPE\\svcctl (WRITE_ANDX/READ_ANDX
and TransactNmPipe, continued in TRANSACTION_SECONDARY too) raise detect.lateral.remote_exec, also as a pre-NT client
sends them (OPEN_ANDX, core WRITE/READ); a clerk's document written to a user share raises neither.
Sessions are tests/dissect/test_smb1files.py's, built from [MS-CIFS]."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.detect.remote_exec import REMOTE_EXEC, STAGING
from iotwarden.lab import smb1wire as m
from tests.detect.runner import detect
from tests.dissect import smbbuild as b
from tests.dissect import test_smb1files as s
from tests.dissect.dcerpc_pdus import write_sessions
from tests.dissect.test_smb2files import svcctl_pdus

ENG_WS, HMI, CLERK = "10.3.0.15", "10.3.0.40", "10.3.0.61"


def _document() -> list[tuple[bool, bytes]]:
    """A report created on the server's Projects share and written in one WRITE_ANDX."""
    chunks = s.logon() + s.tree(4, "\\\\HMI\\Projects", s.DOCS, "A:") + s.opened(
        5, "\\Line2\\setup.exe.doc", s.DOCS, s.FILE_FID, m.FILE_CREATED, access=m.GENERIC_WRITE,
        disposition=m.FILE_OVERWRITE_IF, pipe=False)
    write = m.message(m.write_andx(s.FILE_FID, b"\xd0\xcf" * 700, mode=0), mid=6, tid=s.DOCS)
    return [*chunks, (True, b.direct(write)),
            (False, b.direct(m.message(m.write_andx_response(1400), mid=6, tid=s.DOCS, response=True)))]


def test_psexec_over_smb1_end_to_end_from_packets(tmp_path: Path) -> None:
    path = tmp_path / "psexec_smb1.pcap"
    write_sessions(str(path), [(ENG_WS, HMI, 1031, 445, s.psexec_session(blocks=20, size=4000)),
                               (CLERK, HMI, 1040, 445, _document())])
    alerts = detect([path]).alerts
    assert sorted((a.id, a.src_ip, a.dst_ip) for a in alerts if a.id in (REMOTE_EXEC, STAGING)) == [
        (STAGING, ENG_WS, HMI), (REMOTE_EXEC, ENG_WS, HMI)]
    staging = next(a for a in alerts if a.id == STAGING)
    assert staging.evidence["share"] == "ADMIN$" and staging.evidence["file"] == "PSEXESVC.exe"


@pytest.mark.parametrize("transport", [s.over_write_read, s.over_chained, s.over_transact, s.over_secondary,
                                       s.over_core])
def test_svcctl_calls_over_each_smb1_pipe_transport_raise_remote_exec(tmp_path: Path, transport: s.Transport) -> None:
    path = tmp_path / "svcctl_smb1.pcap"
    write_sessions(str(path), [(ENG_WS, HMI, 1031, 445, s.svcctl_session(transport(svcctl_pdus())))])
    assert [(a.id, a.src_ip, a.dst_ip) for a in detect([path]).alerts if a.id in (REMOTE_EXEC, STAGING)] == [
        (REMOTE_EXEC, ENG_WS, HMI)]


def _pre_nt_document() -> list[tuple[bool, bytes]]:
    """A pre-NT client saving a 200 KB report to the Projects share by OPEN_ANDX and core WRITEs."""
    chunks = s.logon() + s.tree(4, "\\\\HMI\\Projects", s.DOCS, "A:") + s.open_andx(
        5, "\\Line2\\setup.exe", s.DOCS, s.FILE_FID, 2, access_mode=0x0041, open_mode=0x0012)
    for i in range(50):
        chunks += [(True, b.direct(m.message(m.write(s.FILE_FID, b"\xd0\xcf" * 2000, offset=4000 * i), mid=6 + i,
                                             tid=s.DOCS))),
                   (False, b.direct(m.message(m.write_response(4000), mid=6 + i, tid=s.DOCS, response=True)))]
    return chunks


def test_psexec_from_a_pre_nt_client_with_secondary_transactions_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "psexec_pre_nt.pcap"
    write_sessions(str(path), [(ENG_WS, HMI, 1031, 445, s.pre_nt_psexec_session(blocks=20, size=4000)),
                               (CLERK, HMI, 1040, 445, _pre_nt_document())])
    alerts = detect([path]).alerts
    assert sorted((a.id, a.src_ip, a.dst_ip) for a in alerts if a.id in (REMOTE_EXEC, STAGING)) == [
        (STAGING, ENG_WS, HMI), (REMOTE_EXEC, ENG_WS, HMI)]
    assert next(a for a in alerts if a.id == STAGING).evidence["file"] == "PSEXESVC.exe"
