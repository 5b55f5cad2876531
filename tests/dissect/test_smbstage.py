"""A service binary staged on a tree whose TREE_CONNECT the capture missed (dissect/smbstage.py): PsExec's
PSEXESVC.exe written on a tree never seen connected is placed on ADMIN$ by the binary path of the service the same
session then creates; its ``file_write`` says ``share_inferred`` and both ids are raised as for the whole session. A
file of a share known as a user's or as IPC$, one not written, one the path does not name, or one of another
connection, is never said written."""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.detect.remote_exec import REMOTE_EXEC, STAGING, RemoteExecDetector
from iotwarden.dissect import dcerpc, smbstage
from iotwarden.dissect.base import Packet
from iotwarden.hooks import Context
from iotwarden.lab import smb1wire as m
from iotwarden.lab import smbwire as w
from iotwarden.model import Observation
from tests.dissect import dcerpc_pdus as rpc
from tests.dissect import smbbuild as b
from tests.dissect import test_smb1files as s1
from tests.dissect import test_smb2files as s
from tests.dissect.gapfeed import Chunk, lose, segments
from tests.dissect.test_smbresync import PSEXEC_ALERTS, alerts, converse, copy_then_psexec

INFERRED_PSEXESVC = [("ADMIN$", "PSEXESVC.exe", True)]


def _writes(obs: list[Observation]) -> list[tuple[Any, ...]]:
    return [(o.fields["share"], o.fields["file"], o.fields.get("share_inferred")) for o in obs
            if o.proto == "smb" and o.kind == "file_write"]


def _svcctl(path: str, *, wide: bool = True) -> list[tuple[bytes, bytes]]:
    """tests/dissect/test_smb2files.svcctl_pdus, its CreateServiceW (or CreateServiceA) running ``path``."""
    pdus = s.svcctl_pdus()
    stub = rpc.create_service("svc", path, wide=wide)
    pdus[2] = (rpc.request(0, 12 if wide else 24, stub, call_id=3), pdus[2][1])
    return pdus


def staged(share: str, name: str, path: str, *, share_type: int = w.SHARE_DISK, writes: int = 2) -> list[Chunk]:
    """A file ``name`` created on ``share`` (TreeId 7, TREE_CONNECT message 4) and written ``writes`` times, then
    svcctl on IPC$ creating a service that runs ``path``; one message a segment or more."""
    chunks = s.logon() + s.tree(4, f"\\\\SRV\\{share}", 7, share_type) + s.opened(
        5, name, 7, s.FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED)
    for i in range(writes):
        chunks += [(True, w.direct(w.write(6 + i, s.FILE_ID, b"\x90" * 4000, 7, s.SID, offset=4000 * i))),
                   (False, w.direct(w.write_response(6 + i, 4000, 7, s.SID)))]
    return segments(chunks + s.svcctl_session(s.over_transceive(_svcctl(path)))[4:])


@pytest.mark.parametrize("where", [4, 5])  # the ADMIN$ TREE_CONNECT request, or its answer
def test_smb2_psexec_whose_admin_tree_connect_was_lost_raises_both_ids_its_share_inferred(where: int) -> None:
    """4 x 64 KiB of PSEXESVC.exe (each WRITE skipped on its header) on a tree not seen connected, then
    CreateServiceW running %SystemRoot%\\PSEXESVC.exe: the file is ADMIN$'s, as for the whole session."""
    chunks = copy_then_psexec(4, 65536)
    assert chunks[where] == s.tree(4, "\\\\SRV\\ADMIN$", s.ADMIN, w.SHARE_DISK)[where - 4]
    obs = converse(lose(chunks, where))
    assert _writes(obs) == INFERRED_PSEXESVC
    assert alerts(obs) == PSEXEC_ALERTS
    det, ctx = RemoteExecDetector(), Context()
    for o in obs:
        det.on_observation(ctx, o)
    assert [a.evidence.get("share_inferred") for a in ctx.alerts] == [True, None]  # the write's, then svcctl's


@pytest.mark.parametrize("where", [4, 5])
def test_smb1_psexec_whose_admin_tree_connect_was_lost_raises_both_ids_its_share_inferred(where: int) -> None:
    """PsExec over SMB1 (20 WRITE_ANDX of 4000 bytes), its ADMIN$ TREE_CONNECT_ANDX or its answer lost."""
    chunks = segments(s1.psexec_session(blocks=20, size=4000))
    assert chunks[where] == s1.tree(4, "\\\\SRV\\ADMIN$", s1.ADMIN, "A:")[where - 4]
    obs = converse(lose(chunks, where))
    assert [(o.fields["smb1"], *write) for o, write in zip(
        [o for o in obs if o.kind == "file_write"], _writes(obs), strict=True)] == [(True, *INFERRED_PSEXESVC[0])]
    assert alerts(obs) == PSEXEC_ALERTS


def _create_answer(chunks: list[Chunk]) -> int:
    """The index of the segment of the binary's CREATE answer (message 5, the first CREATE answered)."""
    return next(i for i, (up, seg) in enumerate(chunks) if not up and seg and seg[4:8] == b"\xfeSMB"
                and seg[16] == 0x05)


@pytest.mark.parametrize("smb1", [False, True])
def test_psexec_whose_binarys_create_answer_was_lost_says_its_write_on_the_share_it_asked(smb1: bool) -> None:
    """The CREATE (NT_CREATE_ANDX) of PSEXESVC.exe on ADMIN$ seen, its answer lost: its handle is unknown, but a WRITE
    on ADMIN$ with a handle not known follows and the service runs %SystemRoot%\\PSEXESVC.exe: its file_write on
    ADMIN$ (the share known, not inferred; ``created`` unknown), both ids as for the whole session."""
    if smb1:
        chunks = segments(s1.psexec_session(blocks=20, size=4000))
        answer = s1.opened(5, "\\PSEXESVC.exe", s1.ADMIN, s1.FILE_FID, m.FILE_CREATED, access=m.GENERIC_WRITE,
                           disposition=m.FILE_OVERWRITE_IF, pipe=False)[1]
        where = chunks.index(answer)
    else:
        chunks = copy_then_psexec(4, 65536)
        where = _create_answer(chunks)
        assert where == 7
    obs = converse(lose(chunks, where))
    assert [(o.fields["share"], o.fields["file"], o.fields.get("share_inferred"), o.fields["created"]) for o in obs
            if o.kind == "file_write"] == [("ADMIN$", "PSEXESVC.exe", None, None)]
    assert alerts(obs) == PSEXEC_ALERTS


def test_a_create_whose_answer_was_lost_is_not_said_written_without_a_write_or_elsewhere() -> None:
    """The binary's CREATE answer lost: with no WRITE on ADMIN$ after it, or a service running C:\\PSEXESVC.exe (C$'s
    root, not ADMIN$), or a CREATE refused (its answer an error), nothing is said written."""
    def session(path: str, writes: int, status: int = 0) -> list[Chunk]:
        chunks = s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", 7, w.SHARE_DISK) + [
            (True, w.direct(w.create(5, "PSEXESVC.exe", 7, s.SID, disposition=w.FILE_OVERWRITE_IF))),
            (False, w.direct(w.header(0x05, 5, response=True, status=status, tree_id=7, session_id=s.SID)
                             + struct.pack("<HHI", 9, 0, 0) + b"\0"))]
        chunks += [(True, w.direct(w.write(6 + i, b"\x33" * 16, b"\x90" * 4000, 7, s.SID))) for i in range(writes)]
        return segments(chunks + s.svcctl_session(s.over_transceive(_svcctl(path)))[4:])
    answer = 7  # the CREATE's answer, lost in the first two
    assert session("", 0)[answer][1][16] == 0x05 and not session("", 0)[answer][0]
    for chunks in (lose(session("%SystemRoot%\\PSEXESVC.exe", 0), answer),
                   lose(session("C:\\PSEXESVC.exe", 2), answer),
                   session("%SystemRoot%\\PSEXESVC.exe", 2, status=0xC0000022)):  # STATUS_ACCESS_DENIED
        obs = converse(chunks)
        assert _writes(obs) == [] and alerts(obs) == [(REMOTE_EXEC, "CreateServiceW")]


@pytest.mark.parametrize(("share", "name", "path", "placed"), [
    ("ADMIN$", "PSEXESVC.exe", "%SystemRoot%\\PSEXESVC.exe", ("ADMIN$", "PSEXESVC.exe")),
    ("ADMIN$", "xKfQ.exe", "C:\\Windows\\xKfQ.exe", ("ADMIN$", "xKfQ.exe")),  # impacket psexec: the share's path
    ("ADMIN$", "m.exe", '"%windir%\\m.exe" -k', ("ADMIN$", "m.exe")),
    ("C$", "Windows\\aB3d.exe", "C:\\Windows\\aB3d.exe", ("C$", "Windows\\aB3d.exe")),
    ("ADMIN$", "p.exe", "\\\\10.0.0.2\\ADMIN$\\p.exe", ("ADMIN$", "p.exe")),
])
def test_the_binary_path_places_the_file_on_its_share(share: str, name: str, path: str,
                                                      placed: tuple[str, str]) -> None:
    obs = converse(lose(staged(share, name, path), 4))
    assert _writes(obs) == [(*placed, True)]
    assert [a[0] for a in alerts(obs)] == [STAGING, REMOTE_EXEC]


def test_create_service_a_names_its_binary_too() -> None:
    chunks = segments(s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", 7, w.SHARE_DISK) + s.opened(
        5, "a.exe", 7, s.FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED) + [
        (True, w.direct(w.write(6, s.FILE_ID, b"\x90" * 100, 7, s.SID)))]
        + s.svcctl_session(s.over_transceive(_svcctl("%SystemRoot%\\a.exe", wide=False)))[4:])
    assert _writes(converse(lose(chunks, 5))) == [("ADMIN$", "a.exe", True)]


def test_a_file_of_a_share_known_as_a_users_is_never_said_written() -> None:
    """setup.exe written on \\\\SRV\\Software (its TREE_CONNECT seen), then a service running %SystemRoot%\\setup.exe
    on the same server, and one on another host: no file_write, no admin_share_exec; each service creation is its
    own remote_exec, none carries the file."""
    obs = converse(staged("Software", "setup.exe", "%SystemRoot%\\setup.exe"))
    other = [dataclasses.replace(o, dst_ip="10.0.0.3") if o.dst_ip == "10.0.0.2" else
             dataclasses.replace(o, src_ip="10.0.0.3") for o in converse(
                 segments(s.svcctl_session(s.over_transceive(_svcctl("%SystemRoot%\\setup.exe")))))]
    assert _writes(obs) == [] and _writes(other) == []
    det, ctx = RemoteExecDetector(), Context()
    for o in [*obs, *other]:
        det.on_observation(ctx, o)
    assert [(a.id, a.dst_ip, a.evidence.get("file")) for a in ctx.alerts] == [
        (REMOTE_EXEC, "10.0.0.2", None), (REMOTE_EXEC, "10.0.0.3", None)]


@pytest.mark.parametrize("where", [None, 4])  # IPC$ seen connected; its TREE_CONNECT lost, the answer says PIPE
def test_ipc_never_gets_a_file_write(where: int | None) -> None:
    """An .exe CREATEd for writing on IPC$ is a pipe open (let go once its bytes are no DCE/RPC), never a file,
    whatever the service's binary path names."""
    chunks = staged("IPC$", "PSEXESVC.exe", "%SystemRoot%\\PSEXESVC.exe", share_type=w.SHARE_PIPE)
    obs = converse(chunks if where is None else lose(chunks, where))
    assert _writes(obs) == []
    assert alerts(obs) == [(REMOTE_EXEC, "CreateServiceW")]


@pytest.mark.parametrize(("path", "writes"), [
    ("%SystemRoot%\\other.exe", 2),  # another file
    ("%SystemRoot%\\Tools\\PSEXESVC.exe", 2),  # the same name in another folder
    ("%SystemRoot%\\PSEXESVC.exe", 0),  # created, never written
    ("%COMSPEC% /Q /c PSEXESVC.exe", 2),  # smbexec's command: no place for it
])
def test_a_file_not_written_or_not_named_by_the_service_is_not_said_written(path: str, writes: int) -> None:
    obs = converse(lose(staged("ADMIN$", "PSEXESVC.exe", path, writes=writes), 4))
    assert _writes(obs) == []
    assert alerts(obs) == [(REMOTE_EXEC, "CreateServiceW")]


def test_a_service_of_another_connection_names_nothing_staged_here() -> None:
    """What a connection staged is its own: svcctl over another TCP connection (a state of its own) infers nothing."""
    whole = staged("ADMIN$", "PSEXESVC.exe", "%SystemRoot%\\PSEXESVC.exe")
    split = next(i for i, (_, seg) in enumerate(whole) if seg and b"\\\x00S\x00R\x00V\x00\\\x00I\x00P\x00C" in seg)
    first = converse(lose(whole[:split], 4))
    second = converse(s.logon() + whole[split:])
    assert _writes(first + second) == []


@pytest.mark.parametrize(("path", "places"), [
    ("%SystemRoot%\\x.exe", [("ADMIN$", "x.exe"), ("C$", "Windows\\x.exe")]),
    ("%WINDIR%\\sub\\x.exe arg", [("ADMIN$", "sub\\x.exe"), ("C$", "Windows\\sub\\x.exe")]),
    ('"C:\\Windows\\x.exe" /run', [("ADMIN$", "x.exe"), ("C$", "Windows\\x.exe")]),
    ("d:/tools/x.exe", [("D$", "tools\\x.exe")]),
    ("\\\\srv\\c$\\x.exe", [("C$", "x.exe")]),
    ("\\\\srv\\Software\\x.exe", []),  # a user's share is no place a service binary is said staged
    ("%COMSPEC% /c x.exe", []),
    ("", []),
])
def test_placements(path: str, places: list[tuple[str, str]]) -> None:
    assert smbstage.placements(path) == places


@pytest.mark.parametrize(("order", "wide", "display"), [("<", True, True), ("<", False, True), ("<", True, False),
                                                          (">", True, True)])
def test_binary_path_of_rcreateservice(order: str, wide: bool, display: bool) -> None:
    """[MS-SCMR] §3.1.4.12 / §3.1.4.33 NDR in either byte order, a display name or a null one."""
    stub = rpc.create_service("PSEXESVC", "%SystemRoot%\\PSEXESVC.exe", wide=wide, order=order, display=display)
    pdu = rpc.request(0, 12, stub, call_id=3, order=order)
    head = dcerpc.header(pdu)
    assert head is not None
    operation = "CreateServiceW" if wide else "CreateServiceA"
    assert smbstage.binary_path(pdu, head, operation) == "%SystemRoot%\\PSEXESVC.exe"
    assert smbstage.binary_path(pdu, head, "StartServiceW") is None


def test_binary_path_of_a_stub_that_does_not_parse_or_a_fragment_is_none() -> None:
    stub = rpc.create_service("PSEXESVC", "%SystemRoot%\\PSEXESVC.exe")
    for pdu in (rpc.request(0, 12, stub[:60], call_id=3), rpc.request(0, 12, stub, call_id=3, flags=0x01),
                rpc.request(0, 12, stub[:20] + struct.pack("<III", 3, 1, 3) + stub[32:], call_id=3),  # Offset 1
                rpc.request(0, 12, stub[:20] + struct.pack("<III", 2, 0, 9) + stub[32:], call_id=3)):  # over Max
        head = dcerpc.header(pdu)
        assert head is not None and smbstage.binary_path(pdu, head, "CreateServiceW") is None


@settings(max_examples=300, deadline=None)
@given(stub=st.binary(max_size=200), order=st.sampled_from("<>"), operation=st.sampled_from(
    ["CreateServiceW", "CreateServiceA"]), cut=st.integers(0, 120))
def test_binary_path_of_any_stub_is_a_string_or_none(stub: bytes, order: str, operation: str, cut: int) -> None:
    """The parser's contract on hostile stubs, random or a real one cut short or spliced: a string or None, never an
    exception."""
    real = rpc.create_service("svc", "%SystemRoot%\\x.exe", wide=operation.endswith("W"), order=order)
    for body in (stub, real[:cut] + stub):
        pdu = rpc.request(0, 12, body, call_id=3, order=order)
        head = dcerpc.header(pdu)
        assert head is not None
        assert isinstance(smbstage.binary_path(pdu, head, operation), str | None)
        assert isinstance(smbstage.placements(body.decode("latin-1")), list)


def test_staged_files_are_bounded_the_oldest_dropped() -> None:
    table: dict[Any, smbstage.Staged] = {}
    for i in range(smbstage.MAX_STAGED + 1):
        smbstage.stage(table, i, smbstage.Staged(f"{i}.exe", 7, "create", created=True, written=True),
                       smbstage.Known())
    assert len(table) == smbstage.MAX_STAGED and 0 not in table and smbstage.MAX_STAGED in table
    stray = s.svcctl_session([])[0][1]  # any packet of the connection
    assert smbstage.infer(table, {}, "%SystemRoot%\\0.exe", _packet(stray), smb1=False) == []
    assert [o.fields["file"] for o in smbstage.infer(table, {}, "%SystemRoot%\\1.exe", _packet(stray),
                                                     smb1=False)] == ["1.exe"]
    assert 1 not in table


def test_smb1_core_write_marks_its_file_written() -> None:
    """SMB1's core WRITE (§2.2.4.12.1) on a file opened on a tree not seen connected counts as its WRITE."""
    chunks = s1.logon() + s1.tree(4, "\\\\SRV\\ADMIN$", s1.ADMIN, "A:") + s1.opened(
        5, "\\PSEXESVC.exe", s1.ADMIN, s1.FILE_FID, m.FILE_CREATED, access=m.GENERIC_WRITE,
        disposition=m.FILE_OVERWRITE_IF, pipe=False)
    chunks += [(True, b.direct(m.message(m.write(s1.FILE_FID, b"\x90" * 300), mid=6, tid=s1.ADMIN)))]
    chunks += s1.svcctl_session(s1.over_transact(s.svcctl_pdus()))[4:]
    assert _writes(converse(lose(segments(chunks), 5))) == INFERRED_PSEXESVC


def _packet(data: bytes) -> Packet:
    return Packet(ts=1.0, payload=data, src_ip="10.0.0.1", src_port=50000, dst_ip="10.0.0.2", dst_port=445,
                  ip_proto=6, to_server=True)


OTHER_ID, UNKNOWN_ID = b"\x44" * 16, b"\x33" * 16  # another file's FileId (answer seen), one no answer seen gave


def _two_opens(write_to: bytes) -> tuple[list[Chunk], int, int]:
    """PSEXESVC.exe, then other.exe, created on ADMIN$ (TreeId 7), two WRITEs on ``write_to``, then svcctl creating a
    service running %SystemRoot%\\PSEXESVC.exe; with the indexes of the two CREATE answers."""
    create = {"disposition": w.FILE_OVERWRITE_IF, "action": w.FILE_CREATED}
    chunks = s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", 7, w.SHARE_DISK) + s.opened(
        5, "PSEXESVC.exe", 7, s.FILE_ID, **create) + s.opened(6, "other.exe", 7, OTHER_ID, **dict(create))
    chunks += [(True, w.direct(w.write(7 + i, write_to, b"\x90" * 4000, 7, s.SID, offset=4000 * i)))
               for i in range(2)]
    cut = segments(chunks + s.svcctl_session(s.over_transceive(_svcctl(s.PSEXESVC_PATH)))[4:])
    answers = [i for i, (up, seg) in enumerate(cut) if not up and seg and seg[4:8] == b"\xfeSMB" and seg[16] == 0x05]
    return cut, answers[0], answers[1]


def test_a_write_on_a_handle_an_answer_seen_gave_is_not_the_lost_answer_s_open() -> None:
    """The binary's CREATE answer lost, another file's CREATE answered on ADMIN$ and only that file written: its
    handle is known, so the binary is not said written (each write on that tree counted for it before)."""
    chunks, binary, _ = _two_opens(OTHER_ID)
    assert _writes(converse(lose(chunks, binary))) == [("ADMIN$", "other.exe", None)]
    # the same writes on a handle no answer seen gave: the binary's (the one open whose answer was lost)
    chunks, binary, _ = _two_opens(UNKNOWN_ID)
    assert _writes(converse(lose(chunks, binary))) == [("ADMIN$", "other.exe", None), ("ADMIN$", "PSEXESVC.exe", None)]


def test_a_write_two_lost_answers_may_have_given_its_handle_is_neither_s() -> None:
    """Both CREATE answers lost: a WRITE on a handle not known may be either file's, so the binary is not said
    written (before, each open on the tree was)."""
    chunks, binary, other = _two_opens(UNKNOWN_ID)
    obs = converse(lose(lose(chunks, other), binary))
    assert _writes(obs) == [] and alerts(obs) == [(REMOTE_EXEC, "CreateServiceW")]


def test_smb1_a_write_on_a_fid_an_answer_seen_gave_is_not_the_lost_answer_s_open() -> None:
    """SMB1: PSEXESVC.exe's NT_CREATE_ANDX answer lost, setup.exe's answered and written: nothing said of the
    binary (a FID given again by a later answer is the later open's)."""
    other = 0x4002
    answer = s1.opened(5, "\\PSEXESVC.exe", s1.ADMIN, s1.FILE_FID, m.FILE_CREATED, access=m.GENERIC_WRITE,
                       disposition=m.FILE_OVERWRITE_IF, pipe=False)[1]
    chunks = s1.logon() + s1.tree(4, "\\\\SRV\\ADMIN$", s1.ADMIN, "A:") + s1.opened(
        5, "\\PSEXESVC.exe", s1.ADMIN, s1.FILE_FID, m.FILE_CREATED, access=m.GENERIC_WRITE,
        disposition=m.FILE_OVERWRITE_IF, pipe=False) + s1.opened(
        6, "\\setup.exe", s1.ADMIN, other, m.FILE_CREATED, access=m.GENERIC_WRITE, disposition=m.FILE_OVERWRITE_IF,
        pipe=False)
    chunks += [(True, b.direct(m.message(m.write_andx(other, b"\x90" * 4000, mode=0), mid=7, tid=s1.ADMIN)))]
    chunks += s1.svcctl_session(s1.over_transact(s.svcctl_pdus()))[4:]
    cut = segments(chunks)
    assert _writes(converse(lose(cut, cut.index(answer)))) == [("ADMIN$", "setup.exe", None)]


def test_a_handle_is_bound_to_one_lost_answer_s_open_and_known_handles_are_bounded() -> None:
    table: dict[Any, smbstage.Staged] = {}
    known = smbstage.Known()
    smbstage.stage(table, "a", smbstage.Staged("a.exe", 7, "create", created=None, share="ADMIN$"), known)
    smbstage.wrote(table, "h1", 7, known)  # the one open waiting on tree 7: h1 is its handle
    smbstage.stage(table, "b", smbstage.Staged("b.exe", 7, "create", created=None, share="ADMIN$"), known)
    smbstage.wrote(table, "h2", 7, known)  # a.exe has h1: h2 is b.exe's
    assert (table["a"].handle, table["b"].handle) == ("h1", "h2") and table["b"].written
    table["a"].written = False
    smbstage.wrote(table, "h2", 7, known)
    smbstage.wrote(table, "h3", 8, known)  # another tree: no open waiting there, h3 nobody's
    assert not table["a"].written and "h3" in known
    smbstage.stage(table, "c", smbstage.Staged("c.exe", 7, "create", created=None, share="ADMIN$"), known)
    smbstage.stage(table, "d", smbstage.Staged("d.exe", 7, "create", created=None, share="ADMIN$"), known)
    smbstage.wrote(table, "h4", 7, known)  # c.exe's or d.exe's: neither
    assert not table["c"].written and not table["d"].written and "h4" in known
    for i in range(smbstage.MAX_KNOWN + 1):
        smbstage.given(known, i)
    assert len(known) == smbstage.MAX_KNOWN and "h4" not in known and smbstage.MAX_KNOWN in known and known.forgot
