"""Which handle's WRITEs count for an open whose answer was lost (dissect/smbstage.py): a CLOSE unties a handle, so a
FID the server gives again to a later such open writes that open's file, not the closed one's; a handle written on an
administrative share before any answer was lost is known, never such an open's. Where nothing ties a WRITE to the file
a service names, nothing is said written."""

from __future__ import annotations

import struct
from typing import Any

from iotwarden.detect.remote_exec import REMOTE_EXEC
from iotwarden.dissect import smbstage
from iotwarden.lab import smb1wire as m
from iotwarden.lab import smbwire as w
from tests.dissect import smbbuild as b
from tests.dissect import test_smb1files as s1
from tests.dissect import test_smb2files as s
from tests.dissect.gapfeed import Chunk, lose, segments
from tests.dissect.test_smbresync import alerts, converse
from tests.dissect.test_smbstage import _svcctl, _writes

FID, OTHER_FID = 0x4001, 0x4002
C_DRIVE = 0x0804  # a TID of C$ seen connected
PSEXESVC = [("ADMIN$", "PSEXESVC.exe", None)]


def _open1(mid: int, name: str, fid: int, tid: int = s1.ADMIN) -> list[tuple[bool, bytes]]:
    """An NT_CREATE_ANDX of ``name`` for writing and its answer giving ``fid``."""
    return s1.opened(mid, "\\" + name, tid, fid, m.FILE_CREATED, access=m.GENERIC_WRITE,
                     disposition=m.FILE_OVERWRITE_IF, pipe=False)


def _write1(mid: int, fid: int, tid: int = s1.ADMIN) -> tuple[bool, bytes]:
    return True, b.direct(m.message(m.write_andx(fid, b"\x90" * 4000, mode=0), mid=mid, tid=tid))


def _close1(mid: int, fid: int, tid: int = s1.ADMIN) -> list[tuple[bool, bytes]]:
    return [(True, b.direct(m.message(m.close(fid), mid=mid, tid=tid))),
            (False, b.direct(m.message(m.empty(0x04), mid=mid, tid=tid, response=True)))]


def _smb1(chunks: list[tuple[bool, bytes]], path: str, *lost: tuple[bool, bytes]) -> list[Chunk]:
    """SMB1 logon, ``chunks``, then svcctl creating a service running ``path``; one message a segment, those in
    ``lost`` lost."""
    pdus = _svcctl(path)
    cut = segments(s1.logon() + chunks + s1.svcctl_session(s1.over_transact(pdus))[4:])
    for chunk in lost:
        cut = lose(cut, cut.index(chunk))
    return cut


def _reused_fid(second_written: bool) -> tuple[list[tuple[bool, bytes]], list[tuple[bool, bytes]]]:
    """On ADMIN$: a.exe opened, its answer lost (FID 0x4001), written and closed; PSEXESVC.exe opened, its answer lost
    too, the server giving it the same FID, written when ``second_written``. The chunks and the two lost answers."""
    first, second = _open1(5, "a.exe", FID), _open1(8, "PSEXESVC.exe", FID)
    chunks = s1.tree(4, "\\\\SRV\\ADMIN$", s1.ADMIN, "A:") + first + [_write1(6, FID)] + _close1(7, FID) + second
    if second_written:
        chunks += [_write1(9, FID), _write1(10, FID)]
    return chunks, [first[1], second[1]]


def test_smb1_a_fid_closed_and_given_again_to_a_lost_answer_s_open_writes_that_open_s_file() -> None:
    """Both NT_CREATE_ANDX answers lost, the second open given the FID the first closed: its WRITEs are its own, and
    the service running %SystemRoot%\\PSEXESVC.exe has its file_write (before: counted for a.exe, nothing said)."""
    chunks, answers = _reused_fid(second_written=True)
    obs = converse(_smb1(chunks, s.PSEXESVC_PATH, *answers))
    assert _writes(obs) == PSEXESVC
    assert [o.fields["created"] for o in obs if o.kind == "file_write"] == [None]
    # the closed open keeps what it wrote: a service running a.exe has a.exe's file_write
    assert _writes(converse(_smb1(chunks, "%SystemRoot%\\a.exe", *answers))) == [("ADMIN$", "a.exe", None)]


def test_smb1_a_lost_answer_s_open_is_not_written_by_the_fid_another_open_closed() -> None:
    """The same, PSEXESVC.exe never written after its open: nothing said of it (the WRITE before the CLOSE was
    a.exe's); a.exe opened and closed without a WRITE is not said written either."""
    chunks, answers = _reused_fid(second_written=False)
    obs = converse(_smb1(chunks, s.PSEXESVC_PATH, *answers))
    assert _writes(obs) == [] and alerts(obs) == [(REMOTE_EXEC, "CreateServiceW")]
    first = _open1(5, "a.exe", FID)
    unwritten = s1.tree(4, "\\\\SRV\\ADMIN$", s1.ADMIN, "A:") + first + _close1(7, FID) + [_write1(9, OTHER_FID)]
    assert _writes(converse(_smb1(unwritten, "%SystemRoot%\\a.exe", first[1]))) == []


def _unseen(a_written: bool) -> tuple[list[tuple[bool, bytes]], tuple[bool, bytes]]:
    """ADMIN$ connected, its TREE_CONNECT_ANDX lost: a.exe opened there (FID 0x4001, answered), written when
    ``a_written``, closed; then C$ seen connected and x.txt opened there for writing, given the same FID, and
    written. The chunks and the lost TREE_CONNECT_ANDX request."""
    admin = s1.tree(4, "\\\\SRV\\ADMIN$", s1.ADMIN, "A:")
    chunks = admin + _open1(5, "a.exe", FID) + ([_write1(6, FID)] if a_written else []) + _close1(7, FID)
    chunks += s1.tree(8, "\\\\SRV\\C$", C_DRIVE, "A:") + _open1(9, "x.txt", FID, C_DRIVE) + [
        _write1(10, FID, C_DRIVE)]
    return chunks, admin[0]


def test_smb1_a_file_on_a_tree_not_seen_is_not_written_by_its_fid_given_again() -> None:
    """a.exe, created on a tree not seen connected and closed unwritten, is not said written when its FID, given
    again to a file on C$, is written (before: file_write of a.exe, share_inferred); written before its CLOSE, it is
    still said written, share_inferred (C$'s x.txt has its own file_write, from its answer)."""
    chunks, tree = _unseen(a_written=False)
    assert _writes(converse(_smb1(chunks, "%SystemRoot%\\a.exe", tree))) == [("C$", "x.txt", None)]
    chunks, tree = _unseen(a_written=True)
    assert _writes(converse(_smb1(chunks, "%SystemRoot%\\a.exe", tree))) == [
        ("C$", "x.txt", None), ("ADMIN$", "a.exe", True)]


OTHER_ID, BINARY_ID = b"\x44" * 16, b"\x33" * 16


def _written_before(binary_written: bool) -> tuple[list[Chunk], list[int]]:
    """SMB2 on ADMIN$ (TreeId 7): other.exe's CREATE and its answer lost, other.exe written (OTHER_ID); then
    PSEXESVC.exe's CREATE, its answer lost, written on BINARY_ID when ``binary_written``; other.exe written again;
    then svcctl running %SystemRoot%\\PSEXESVC.exe. The segments and the indexes to lose."""
    create = {"disposition": w.FILE_OVERWRITE_IF, "action": w.FILE_CREATED}
    other, binary = s.opened(5, "other.exe", 7, OTHER_ID, **create), s.opened(7, "PSEXESVC.exe", 7, BINARY_ID,
                                                                             **dict(create))
    chunks = s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", 7, w.SHARE_DISK) + other + [
        (True, w.direct(w.write(6, OTHER_ID, b"\x90" * 4000, 7, s.SID)))] + binary
    if binary_written:
        chunks += [(True, w.direct(w.write(8, BINARY_ID, b"\x90" * 4000, 7, s.SID)))]
    chunks += [(True, w.direct(w.write(9, OTHER_ID, b"\x90" * 4000, 7, s.SID, offset=4000)))]
    cut = segments(chunks + s.svcctl_session(s.over_transceive(_svcctl(s.PSEXESVC_PATH)))[4:])
    return cut, [cut.index(other[0]), cut.index(other[1]), cut.index(binary[1])]


def _lose_all(cut: list[Chunk], where: list[int]) -> list[Chunk]:
    for at in sorted(where, reverse=True):
        cut = lose(cut, at)
    return cut


def test_a_handle_written_before_an_answer_was_lost_is_not_that_open_s() -> None:
    """other.exe's handle, written before PSEXESVC.exe's CREATE, whose answer was lost, is known: its later WRITE is
    not the binary's (before: the binary said written by it). The binary's own WRITE, on a handle not known, is."""
    cut, where = _written_before(binary_written=False)
    obs = converse(_lose_all(cut, where))
    assert _writes(obs) == [] and alerts(obs) == [(REMOTE_EXEC, "CreateServiceW")]
    cut, where = _written_before(binary_written=True)
    assert _writes(converse(_lose_all(cut, where))) == PSEXESVC


def test_handles_written_on_other_shares_are_not_kept() -> None:
    """While nothing is staged, a WRITE on ADMIN$ (TreeId 7) makes its handle known; one on a user's share or a tree
    not known does not, so that they never push ADMIN$'s out."""
    staged: dict[Any, smbstage.Staged] = {}
    known = smbstage.Known()
    trees: dict[Any, Any] = {7: ("ADMIN$", "admin", False), 9: (None, "user", False)}
    smbstage.written(staged, known, trees, "h1", 7)
    smbstage.written(staged, known, trees, "h2", 9)
    smbstage.written(staged, known, trees, "h3", 11)
    smbstage.written(staged, known, trees, "h4", ("C$", "admin", False))  # a compound's TREE_CONNECT asks C$
    assert list(known) == ["h1", "h4"]


def test_a_close_unties_its_handle_and_keeps_the_staged_files_order() -> None:
    staged: dict[Any, smbstage.Staged] = {}
    known = smbstage.Known({"h1": None, "h9": None})
    smbstage.stage(staged, "k", smbstage.Staged("a.exe", 7, "create", created=None, share="ADMIN$"), known)
    smbstage.stage(staged, "h1", smbstage.Staged("u.exe", 3, "create", created=True), known)  # on a tree not seen
    smbstage.stage(staged, "k2", smbstage.Staged("b.exe", 7, "create", created=None, share="ADMIN$"), known)
    smbstage.wrote(staged, "h2", 7, known)  # a.exe and b.exe wait: neither's
    assert "h2" in known and not staged["k"].written
    staged["k"].handle = "h5"
    smbstage.closed(staged, known, "h5", 7)
    smbstage.closed(staged, known, "h1", 3)
    assert [file.name for file in staged.values()] == ["a.exe", "u.exe", "b.exe"]  # oldest first, as before
    assert "h1" not in staged and "h1" not in known and "h9" in known
    assert staged["k"].handle is smbstage.CLOSED
    smbstage.wrote(staged, "h5", 7, known)  # h5 given again: b.exe's, the one open waiting unbound
    smbstage.wrote(staged, "h1", 3, known)
    assert staged["k2"].handle == "h5" and staged["k2"].written and not staged["k"].written
    assert not next(file for file in staged.values() if file.name == "u.exe").written


def _bound_channel(binding: bool) -> list[Chunk]:
    """A connection whose SESSION_SETUP binds (``binding``: SMB2_SESSION_FLAG_BINDING, [MS-SMB2] §2.2.5) the session
    to it, or sets one up; then on ADMIN$ (TreeId 7) PSEXESVC.exe's CREATE, its answer lost, two WRITEs on a handle
    no answer on this connection gave, and svcctl running %SystemRoot%\\PSEXESVC.exe."""
    blob = b.spnego_init(b.ntlm_negotiate())
    setup = b.smb2(1, struct.pack("<HBBIIHHQ", 25, 0x01 if binding else 0, 0x01, 1, 0, 88, len(blob), 0) + blob)
    logon = [(True, b.direct(b.negotiate_request())), (False, b.direct(b.negotiate_response())),
             (True, b.direct(setup)), (False, b.direct(b.session_setup_response(b.spnego_resp(b.ntlm_challenge()))))]
    binary = s.opened(5, "PSEXESVC.exe", 7, BINARY_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED)
    chunks = logon + s.tree(4, "\\\\SRV\\ADMIN$", 7, w.SHARE_DISK) + binary + [
        (True, w.direct(w.write(6 + i, OTHER_ID, b"\x90" * 4000, 7, s.SID, offset=4000 * i))) for i in range(2)]
    cut = segments(chunks + s.svcctl_session(s.over_transceive(_svcctl(s.PSEXESVC_PATH)))[4:])
    return lose(cut, cut.index(binary[1]))


def test_on_a_channel_bound_to_a_session_a_handle_not_known_is_no_lost_answer_s() -> None:
    """SMB 3.x multichannel: a channel bound to a session set up on another connection uses the session's opens
    ([MS-SMB2] §3.3.5.5), so a handle no answer here gave may be one an answer on another channel gave: the binary,
    whose CREATE answer was lost here, is not said written by it (before: it was, by another file's WRITEs). On the
    connection that set the session up, as before: the one open whose answer was lost."""
    obs = converse(_bound_channel(binding=True))
    assert _writes(obs) == [] and alerts(obs) == [(REMOTE_EXEC, "CreateServiceW")]
    assert _writes(converse(_bound_channel(binding=False))) == PSEXESVC
    known = smbstage.Known()
    assert known.binds
    known.shared = True
    assert not known.binds
