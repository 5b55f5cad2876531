"""SMB pieces a SPAN port lost (dissect/smb2files.py ``adopt``, ``lone_tree``; dissect/smb1files.py):
a named pipe whose TREE_CONNECT or CREATE was not captured is still read when what the client writes on its handle
proves it a pipe (one whole DCE/RPC PDU: a bind of a known interface, or a call the name its CREATE gave it implies),
marked ``pipe_inferred``; a file of a share known to hold no pipes is never one, whatever its bytes; a session that
lost a segment and uses a tree it never saw connected is followed past its identity; an SMB2 NEGOTIATE answer alone
says the dialect (SMB1's: tests/dissect/test_smb1.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from iotwarden.detect.remote_exec import REMOTE_EXEC, STAGING
from iotwarden.dissect import dcerpc, smb, smb2files
from iotwarden.lab import smb1wire as m
from iotwarden.lab import smbwire as w
from iotwarden.model import Observation
from tests.dissect import dcerpc_pdus as rpc
from tests.dissect import smbbuild as b
from tests.dissect import test_smb1files as s1
from tests.dissect import test_smb2files as s
from tests.dissect.gapfeed import GAP, Chunk, lose, segments
from tests.dissect.test_smbresync import alerts, converse, copy_then_psexec

SVCCTL_OPS = ["OpenSCManagerW", "CreateServiceW", "StartServiceW"]
SVCCTL_UUID = uuid.UUID(rpc.SVCCTL).bytes_le  # as a little-endian bind carries it (C706 Appendix A)


def _lost(chunks: list[Chunk], *messages: bytes) -> list[Chunk]:
    """``chunks`` with the segment of each of ``messages`` (each one segment) lost."""
    for message in messages:
        chunks = lose(chunks, next(i for i, (_, seg) in enumerate(chunks) if seg == message))
    return chunks


def _pipe_calls(obs: list[Observation]) -> list[tuple[Any, ...]]:
    return [(o.kind, o.fields.get("named_pipe"), o.fields.get("interface"), o.fields.get("operation"),
             o.fields.get("pipe_inferred"), o.fields.get("interface_inferred")) for o in obs
            if o.proto == "dcerpc" and o.kind in ("request", "response")]


def _svcctl(pipe: str | None, inferred: bool | None, interface_inferred: bool | None = None) -> list[tuple[Any, ...]]:
    return [(kind, pipe, "svcctl", op, inferred, interface_inferred) for op in SVCCTL_OPS
            for kind in ("request", "response")]


# PsExec over SMB2 (tests/dissect/test_smb2files.psexec): the IPC$ TREE_CONNECT is message 91, svcctl's CREATE 92
IPC_TREE = w.direct(w.tree_connect(91, "\\\\SRV\\IPC$", s.SID))
IPC_TREE_ANSWER = w.direct(w.tree_connect_response(91, s.IPC, s.SID, w.SHARE_PIPE))
PIPE_CREATE = w.direct(w.create(92, "svcctl", s.IPC, s.SID))
PIPE_CREATE_ANSWER = w.direct(w.create_response(92, s.PIPE_ID, s.IPC, s.SID, action=w.FILE_OPENED))


@pytest.mark.parametrize(("lost", "pipe", "inferred"), [
    ((IPC_TREE,), "svcctl", None),  # the answer alone says ShareType PIPE: IPC$, its CREATE followed as ever
    ((IPC_TREE_ANSWER,), "svcctl", True),  # the CREATE on a tree not seen names the handle the bind adopts
    ((IPC_TREE, IPC_TREE_ANSWER), "svcctl", True),
    ((PIPE_CREATE,), None, True),  # the bind of svcctl's UUID adopts the FileId, its name unknown
    ((PIPE_CREATE_ANSWER,), "svcctl", True),  # the handle the bind adopts is the CREATE's whose answer was lost
    ((IPC_TREE_ANSWER, PIPE_CREATE), None, True),
])
def test_svcctl_on_a_pipe_whose_tree_connect_or_create_was_lost_is_read_and_raises_remote_exec(
        lost: tuple[bytes, ...], pipe: str | None, inferred: bool | None) -> None:
    obs = converse(_lost(segments(s.psexec()), *lost))
    assert _pipe_calls(obs) == _svcctl(pipe, inferred)
    binds = [o for o in obs if o.proto == "dcerpc" and o.kind == "bind"]
    assert [(o.fields["requested_interfaces"], o.fields.get("pipe_inferred")) for o in binds] == [
        (["svcctl"], inferred)]
    assert alerts(obs) == sorted([(STAGING, "PSEXESVC.exe"), (REMOTE_EXEC, "CreateServiceW")])


def test_a_call_without_its_bind_on_a_handle_named_by_its_create_is_read_inferred() -> None:
    """The IPC$ TREE_CONNECT answer and the bind both lost: the CREATE named the handle svcctl on a tree not seen, and
    a whole first fragment of an operation \\PIPE\\svcctl implies ([MS-SCMR] §2.1) adopts it, interface inferred."""
    chunks = segments(s.psexec())
    bind = next(seg for up, seg in chunks if up and seg and SVCCTL_UUID in seg)
    obs = converse(_lost(chunks, IPC_TREE_ANSWER, bind))
    assert _pipe_calls(obs) == _svcctl("svcctl", True, True)
    assert (REMOTE_EXEC, "CreateServiceW") in alerts(obs)


@pytest.mark.parametrize("smb1", [False, True])
def test_a_call_without_its_bind_on_a_pipe_whose_create_answer_was_lost_is_read_by_the_creates_name(
        smb1: bool) -> None:
    """svcctl's CREATE (NT_CREATE_ANDX) answer and the bind both lost: the FileId the calls use is the one that
    answer gave, the CREATE's request named the pipe, so the first call \\PIPE\\svcctl implies adopts the handle as
    that pipe (pipe and interface inferred) and CreateServiceW raises remote_exec (left unread before)."""
    chunks = segments(s1.psexec_session(blocks=4) if smb1 else s.psexec())
    bind = next(seg for up, seg in chunks if up and seg and SVCCTL_UUID in seg)
    obs = converse(_lost(chunks, SMB1_CREATE_ANSWER if smb1 else PIPE_CREATE_ANSWER, bind))
    assert _pipe_calls(obs) == _svcctl("svcctl", True, True)
    assert alerts(obs) == sorted([(STAGING, "PSEXESVC.exe"), (REMOTE_EXEC, "CreateServiceW")])


def test_a_call_two_creates_whose_answers_were_lost_could_be_is_not_read() -> None:
    """srvsvc's and svcctl's CREATEs both unanswered (lost), the bind lost: opnums 15 and 12 name calls of both
    (NetrShareEnum or OpenSCManagerW, NetrSessionEnum or CreateServiceW), and StartServiceW's 19 is some call of
    srvsvc's too, so the handle is neither's: nothing read."""
    srvsvc = [(True, w.direct(w.create(89, "srvsvc", s.IPC, s.SID))),
              (False, w.direct(w.create_response(89, b"\x66" * 16, s.IPC, s.SID)))]
    chunks = segments(s.svcctl_session(srvsvc + s.over_transceive(s.svcctl_pdus())))
    bind = next(seg for up, seg in chunks if up and seg and SVCCTL_UUID in seg)
    svcctl_answer = w.direct(w.create_response(5, s.PIPE_ID, s.IPC, s.SID))
    obs = converse(_lost(chunks, svcctl_answer, srvsvc[1][1], bind))
    assert _pipe_calls(obs) == [] and alerts(obs) == []


def test_a_call_without_its_bind_on_a_handle_of_no_known_name_is_not_read() -> None:
    """The CREATE and the bind both lost: an opnum names nothing without its interface, so no call is taken for
    one (a request header is 10 fixed bits and a length): nothing read, nothing raised."""
    chunks = segments(s.psexec())
    bind = next(seg for up, seg in chunks if up and seg and SVCCTL_UUID in seg)
    obs = converse(_lost(chunks, PIPE_CREATE, bind))
    assert [o for o in obs if o.proto == "dcerpc"] == []
    assert alerts(obs) == [(STAGING, "PSEXESVC.exe")]


def _disk_file_of_rpc(tree: list[tuple[bool, bytes]], lost: tuple[bytes, ...] = ()) -> list[Observation]:
    """A clerk writes a file to Finance whose content is svcctl's bind, then CreateServiceW (each a whole PDU in its
    own WRITE, and in an IOCTL transceive), the file's CREATE lost."""
    create = w.direct(w.create(31, "notes.bin", s.DOCS, s.SID, disposition=w.FILE_OVERWRITE_IF))
    chunks = [*s.logon(), *tree, (True, create),
              (False, w.direct(w.create_response(31, s.FILE_ID, s.DOCS, s.SID, action=w.FILE_CREATED)))]
    for mid, (client, _) in enumerate(s.svcctl_pdus()[:3], start=32):
        chunks += [(True, w.direct(w.write(mid, s.FILE_ID, client, s.DOCS, s.SID))),
                   (False, w.direct(w.write_response(mid, len(client), s.DOCS, s.SID))),
                   (True, w.direct(w.transceive(mid + 10, s.FILE_ID, client, s.DOCS, s.SID)))]
    return converse(_lost(segments(chunks), create, *lost))


@pytest.mark.parametrize("lost", ["nothing", "tree_connect_request"])
def test_a_disk_shares_file_holding_dcerpc_is_never_a_pipe(lost: str) -> None:
    """The tree known as a disk share (its TREE_CONNECT seen, or its answer alone: ShareType DISK): bytes that would
    prove a pipe elsewhere are a file's; no DCE/RPC, no remote_exec."""
    tree = s.tree(30, "\\\\SRV\\Finance", s.DOCS, w.SHARE_DISK)
    obs = _disk_file_of_rpc(tree, (tree[0][1],) if lost == "tree_connect_request" else ())
    assert [o for o in obs if o.proto == "dcerpc"] == [] and alerts(obs) == []


def test_on_a_tree_of_which_nothing_was_seen_such_a_file_is_taken_marked_pipe_inferred() -> None:
    """The residual case: the file's tree connect and open both lost, its first WRITE one whole bind of a known
    interface; taken for a pipe (what a lost IPC$ tree connect looks like), every Observation marked pipe_inferred."""
    tree = s.tree(30, "\\\\SRV\\Finance", s.DOCS, w.SHARE_DISK)
    obs = [o for o in _disk_file_of_rpc(tree, (tree[0][1], tree[1][1])) if o.proto == "dcerpc"]
    assert obs and all(o.fields["pipe_inferred"] is True and o.fields["named_pipe"] is None for o in obs)


def test_a_pipe_let_go_as_no_dcerpc_is_not_adopted_again() -> None:
    session = smb2files.Session()
    session.let_go[s.PIPE_ID] = None
    assert smb2files.adopt(session, s.PIPE_ID, s.IPC, s.svcctl_pdus()[0][0]) is None
    assert smb2files.adopt(session, b"\x44" * 16, s.IPC, s.svcctl_pdus()[0][0]) is not None


@pytest.mark.parametrize(("pdu", "name", "ok"), [
    (rpc.bind([(0, rpc.SVCCTL, 2)], call_id=1), None, True),
    (rpc.bind([(0, "01234567-89ab-cdef-0123-456789abcdef", 1)], call_id=1), None, False),  # an interface not known
    (rpc.bind([(0, rpc.SVCCTL, 2)], call_id=1) + b"\0", None, False),  # frag_length not the message's length
    (rpc.bind([(0, rpc.SVCCTL, 2)], call_id=1)[:-4], None, False),
    (rpc.bind_ack("\\PIPE\\svcctl", [0], call_id=1), None, False),  # a server's PDU
    (rpc.request(0, 12, call_id=3), None, False),  # a call on a handle of no known name
    (rpc.request(0, 12, call_id=3), "svcctl", True),
    (rpc.request(0, 12, call_id=3), "notes.bin", False),
    (rpc.request(0, 200, call_id=3), "svcctl", False),  # an operation the pipe's interface does not name
    (rpc.request(0, 12, call_id=3, flags=0x02), "svcctl", False),  # not a call's first fragment
    (b"\x90" * 72, None, False),
], ids=["bind", "unknown_interface", "longer", "shorter", "bind_ack", "call_no_name", "call_svcctl", "call_file_name",
        "call_unnamed_opnum", "last_fragment", "file_data"])
def test_what_proves_a_handle_a_pipe(pdu: bytes, name: str | None, ok: bool) -> None:
    assert dcerpc.opens_pipe(pdu, name) is ok


def test_names_of_creates_on_trees_not_seen_are_bounded() -> None:
    chunks: list[Chunk] = [*s.logon(), (True, GAP)]
    for i in range(smb2files.MAX_PIPES + 5):
        chunks += [(True, w.direct(w.create(100 + i, f"f{i}", 77, s.SID))),
                   (False, w.direct(w.create_response(100 + i, i.to_bytes(16, "little"), 77, s.SID)))]
    state: dict[str, Any] = {}
    converse(chunks, state)
    session: smb2files.Session = state["smb2"]
    assert len(session.unseen) == smb2files.MAX_PIPES and session.blind and session.lost
    assert session.unseen[(smb2files.MAX_PIPES + 4).to_bytes(16, "little")] == f"f{smb2files.MAX_PIPES + 4}"


@pytest.mark.parametrize("where", [4, 5])
def test_a_lost_admin_tree_connect_leaves_the_session_followed_past_its_identity(where: int) -> None:
    """ADMIN$'s TREE_CONNECT request (or its answer) lost before a 256 KiB copy: a tree not seen connected may be
    ADMIN$, so the session is followed past IDENTITY_BYTES and svcctl after the copy is read (left before); the
    binary's share is told by the service's binary path (tests/dissect/test_smbstage.py)."""
    chunks = copy_then_psexec(4, 65536)
    assert chunks[where] == s.tree(4, "\\\\SRV\\ADMIN$", s.ADMIN, w.SHARE_DISK)[where - 4]
    obs = converse(lose(chunks, where))
    assert alerts(obs) == sorted([(STAGING, "PSEXESVC.exe"), (REMOTE_EXEC, "CreateServiceW")])


def test_a_copy_in_small_writes_on_a_tree_not_seen_costs_one_read_write_per_file(monkeypatch: Any) -> None:
    """ADMIN$'s TREE_CONNECT lost, then 300 WRITEs of 4000 bytes: only the file's first WRITE is read (its data begins
    no PDU: the handle is let go), the rest are skipped on their headers, so they do not use up MAX_MESSAGES (lowered
    to 40 here) and svcctl after them is read."""
    monkeypatch.setattr(smb, "MAX_MESSAGES", 40)
    chunks = list(s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", s.ADMIN, w.SHARE_DISK) + s.opened(
        5, "PSEXESVC.exe", s.ADMIN, s.FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED))
    for i in range(300):
        chunks += [(True, w.direct(w.write(6 + i, s.FILE_ID, b"\x90" * 4000, s.ADMIN, s.SID, offset=4000 * i))),
                   (False, w.direct(w.write_response(6 + i, 4000, s.ADMIN, s.SID)))]
    chunks += s.svcctl_session(s.over_transceive(s.svcctl_pdus()))[4:]
    state: dict[str, Any] = {}
    obs = converse(lose(segments(chunks), 5), state)  # the TREE_CONNECT answer
    assert alerts(obs) == sorted([(STAGING, "PSEXESVC.exe"), (REMOTE_EXEC, "CreateServiceW")])
    assert state["smb2"].let_go == {s.FILE_ID: None} and state["messages_c2s"] < 20


def test_without_a_loss_a_tree_not_seen_does_not_keep_a_session_followed() -> None:
    """A capture begun after the TREE_CONNECT (no hole): past its identity the session is left as before."""
    session = smb2files.Session(blind=True)
    assert not session.following()
    session.lost = True
    assert session.following()


# PsExec over SMB1 (tests/dissect/test_smb1files.psexec_session): IPC$ TREE_CONNECT_ANDX is MID 91, svcctl's open 92
SMB1_TREE = b.direct(m.message(m.tree_connect("\\\\SRV\\IPC$"), mid=91))
SMB1_TREE_ANSWER = b.direct(m.message(m.tree_connect_response("IPC"), mid=91, tid=s1.IPC, response=True))
SMB1_CREATE = b.direct(m.message(m.nt_create("\\svcctl"), mid=92, tid=s1.IPC))
SMB1_CREATE_ANSWER = b.direct(m.message(m.nt_create_response(s1.PIPE_FID, m.FILE_OPENED, pipe=True), mid=92,
                                        tid=s1.IPC, response=True))


@pytest.mark.parametrize(("lost", "pipe", "inferred"), [
    ((SMB1_TREE,), "svcctl", None), ((SMB1_TREE_ANSWER,), "svcctl", True), ((SMB1_CREATE,), None, True),
    ((SMB1_CREATE_ANSWER,), "svcctl", True), ((SMB1_TREE, SMB1_TREE_ANSWER), "svcctl", True)])
def test_smb1_svcctl_on_a_pipe_whose_tree_connect_or_open_was_lost_raises_remote_exec(
        lost: tuple[bytes, ...], pipe: str | None, inferred: bool | None) -> None:
    obs = converse(_lost(segments(s1.psexec_session(blocks=4)), *lost))
    assert _pipe_calls(obs) == _svcctl(pipe, inferred)
    assert alerts(obs) == sorted([(STAGING, "PSEXESVC.exe"), (REMOTE_EXEC, "CreateServiceW")])


def test_smb1_a_disk_shares_file_holding_dcerpc_is_never_a_pipe() -> None:
    """WRITE_ANDX and TransactNmPipe of svcctl's bind and calls on a FID of a disk share ("A:") whose open was lost."""
    create = b.direct(m.message(m.nt_create("\\notes.bin"), mid=31, tid=s1.DOCS))
    chunks = [*s1.logon(), *s1.tree(30, "\\\\SRV\\Finance", s1.DOCS, "A:"), (True, create)]
    for mid, (client, _) in enumerate(s.svcctl_pdus()[:3], start=32):
        chunks += [(True, b.direct(m.message(m.write_andx(s1.FILE_FID, client, mode=0x0008), mid=mid, tid=s1.DOCS))),
                   (True, b.direct(m.message(m.transact_nmpipe(s1.FILE_FID, client), mid=mid + 10, tid=s1.DOCS)))]
    obs = converse(_lost(segments(chunks), create))
    assert [o for o in obs if o.proto == "dcerpc"] == [] and alerts(obs) == []


def test_smb1_a_fid_let_go_as_a_files_then_closed_may_be_a_pipe_when_given_again() -> None:
    """SMB1 FIDs are 16 bits and given again after a CLOSE: a FID whose first WRITE_ANDX (on a tree not seen) was a
    file's is let go, its later writes skipped; once closed, the same FID carrying svcctl's bind is adopted."""
    fid, bind = 0x4100, s.svcctl_pdus()[0][0]
    chunks: list[Chunk] = [*s1.logon(), (True, GAP)]
    chunks += [(True, b.direct(m.message(m.write_andx(fid, b"\x90" * 200, mode=0), mid=40 + i, tid=0x0900)))
               for i in range(2)]
    state: dict[str, Any] = {}
    converse(chunks, state)
    assert state["smb1"].let_go == {fid: None}
    obs = converse([(True, b.direct(m.message(m.close(fid), mid=50, tid=0x0900))),
                    (True, b.direct(m.message(m.write_andx(fid, bind, mode=0x0008), mid=51, tid=0x0900)))], state)
    assert [(o.kind, o.fields["pipe_inferred"]) for o in obs if o.proto == "dcerpc"] == [("bind", True)]


def test_smb2_negotiate_answer_alone_says_the_dialect() -> None:
    """[MS-SMB2] §2.2.4 DialectRevision: the request lost, the answer names 3.1.1 (and 2.1) by itself."""
    for revision, name in ((0x0311, "3.1.1"), (0x0210, "2.1")):
        chunks = [(True, GAP), (False, b.direct(b.negotiate_response(revision)))]
        (answer,) = converse(chunks)
        assert (answer.kind, answer.fields["dialect"]) == ("negotiate_response", name)
