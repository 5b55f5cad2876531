"""A session that holds many files open on an administrative share (dissect/smbstage.py, issue #4): a WRITE on a handle
an answer seen gave long before is never counted for an open whose answer was lost, however many handles came since;
past what the tables keep (MAX_KNOWN handles, MAX_STAGED files), no WRITE is bound to such an open any more, so its
file is not said written rather than said written by another file's WRITEs."""

from __future__ import annotations

from typing import Any

from iotwarden.dissect import smbstage
from iotwarden.lab import smb1wire as m
from tests.dissect import smbbuild as b
from tests.dissect import test_smb1files as s1
from tests.dissect import test_smb2files as s
from tests.dissect.gapfeed import lose, segments
from tests.dissect.test_smbresync import converse
from tests.dissect.test_smbstage import _svcctl, _writes

BINARY_FID, FIRST_FID = 0x4001, 0x1000
PSEXESVC = ("ADMIN$", "PSEXESVC.exe", None)


def _open1(mid: int, name: str, fid: int) -> list[tuple[bool, bytes]]:
    """An NT_CREATE_ANDX on ADMIN$ of ``name`` for writing and its answer giving ``fid``."""
    return s1.opened(mid, "\\" + name, s1.ADMIN, fid, m.FILE_CREATED, access=m.GENERIC_WRITE,
                     disposition=m.FILE_OVERWRITE_IF, pipe=False)


def _write1(mid: int, fid: int) -> tuple[bool, bytes]:
    return True, b.direct(m.message(m.write_andx(fid, b"\x90" * 400, mode=0), mid=mid, tid=s1.ADMIN))


def _binary_writes(held: int, *, binary_written: bool) -> list[tuple[Any, ...]]:
    """SMB1 on ADMIN$: ``held`` files opened for writing, answered, none closed; PSEXESVC.exe opened, its answer lost;
    the first file written again (its FID given before any of the others); PSEXESVC.exe written on its own FID when
    ``binary_written``; then svcctl running %SystemRoot%\\PSEXESVC.exe. The file_writes said of PSEXESVC.exe."""
    chunks = s1.tree(4, "\\\\SRV\\ADMIN$", s1.ADMIN, "A:")
    for i in range(held):
        chunks += _open1(5 + i, f"data{i}.bin", FIRST_FID + i)
    mid = 5 + held
    binary = _open1(mid, "PSEXESVC.exe", BINARY_FID)
    chunks += [*binary, _write1(mid + 1, FIRST_FID)]
    if binary_written:
        chunks += [_write1(mid + 2, BINARY_FID)]
    cut = segments(s1.logon() + chunks + s1.svcctl_session(s1.over_transact(_svcctl(s.PSEXESVC_PATH)))[4:])
    return [w for w in _writes(converse(lose(cut, cut.index(binary[1])))) if w[1] == "PSEXESVC.exe"]


def test_a_handle_given_hundreds_of_opens_before_is_never_a_lost_answer_s() -> None:
    # 100 and 300 files held open (before: past 64 the first one's FID was forgotten, and its WRITE said the binary
    # written); the binary's own WRITE, on a FID no answer seen gave, is its
    for held in (100, 300):
        assert _binary_writes(held, binary_written=False) == [], held
        assert _binary_writes(held, binary_written=True) == [PSEXESVC], held


def test_past_max_known_handles_no_write_is_bound_to_a_lost_answer_s_open() -> None:
    # one handle more than the table keeps: the first one's is dropped, and a FID not known may be it
    assert _binary_writes(smbstage.MAX_KNOWN + 1, binary_written=False) == []
    assert _binary_writes(smbstage.MAX_KNOWN + 1, binary_written=True) == []


def _lost(name: str) -> smbstage.Staged:
    return smbstage.Staged(name, 7, "create", created=None, share="ADMIN$")


def test_an_open_dropped_from_the_staged_files_leaves_its_handle_bound_to_no_other() -> None:
    # a.exe's answer lost, then MAX_STAGED files on a tree not seen connected push it out unbound: its FID, written
    # later, may be any, so b.exe (waiting alone) takes no WRITE (before: bound to b.exe)
    staged: dict[Any, smbstage.Staged] = {}
    known = smbstage.Known()
    smbstage.stage(staged, "ka", _lost("a.exe"), known)
    for i in range(smbstage.MAX_STAGED):
        smbstage.stage(staged, f"u{i}", smbstage.Staged(f"u{i}.exe", 3, "create", created=True), known)
    assert "ka" not in staged and known.forgot
    smbstage.stage(staged, "kb", _lost("b.exe"), known)
    smbstage.wrote(staged, "ha", 7, known)
    assert not staged["kb"].written and staged["kb"].handle is None
    # a.exe bound to its FID before it is pushed out: that FID is known, b.exe's own is still bound to it
    staged, known = {}, smbstage.Known()
    smbstage.stage(staged, "ka", _lost("a.exe"), known)
    smbstage.wrote(staged, "ha", 7, known)
    for i in range(smbstage.MAX_STAGED):
        smbstage.stage(staged, f"u{i}", smbstage.Staged(f"u{i}.exe", 3, "create", created=True), known)
    assert list(known) == ["ha"] and not known.forgot
    smbstage.stage(staged, "kb", _lost("b.exe"), known)
    smbstage.wrote(staged, "ha", 7, known)
    assert not staged["kb"].written
    smbstage.wrote(staged, "hb", 7, known)
    assert staged["kb"].handle == "hb" and staged["kb"].written
    # and stays so: with c.exe's answer lost too, b.exe's FID is still b.exe's, and c.exe takes a FID of its own
    smbstage.stage(staged, "kc", _lost("c.exe"), known)
    staged["kb"].written = False
    smbstage.wrote(staged, "hb", 7, known)
    assert staged["kb"].handle == "hb" and staged["kb"].written
    assert staged["kc"].handle is None and not staged["kc"].written
    smbstage.wrote(staged, "hc", 7, known)
    assert staged["kc"].handle == "hc" and staged["kc"].written and staged["kb"].handle == "hb"
