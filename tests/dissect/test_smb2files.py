"""An SMB2 session's trees, opens and named pipes ([MS-SMB2] §2.2.9-§2.2.32) as dissect/smb.py follows them: DCE/RPC
over \\PIPE\\svcctl through WRITE/READ and through IOCTL FSCTL_PIPE_TRANSCEIVE, a service binary written to ADMIN$,
what a share listing or a file read says (no file_write, no remote call), SMB3 encryption, the limits and the
contract on hostile input."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import smb, smb2files
from iotwarden.dissect.base import Packet
from iotwarden.dissect.smb import IDENTITY_BYTES, SmbDissector
from iotwarden.errors import ParseError
from iotwarden.lab import smbwire as w
from iotwarden.model import Observation
from tests.dissect import dcerpc_pdus as rpc
from tests.dissect import smbbuild as b
from tests.dissect.hostile import mutate

SID, IPC, ADMIN, DOCS = 0x4400000000001, 1, 5, 9
PIPE_ID, FILE_ID = b"\x11" * 16, b"\x22" * 16
SRVSVC = "4b324fc8-1670-01d3-1278-5a47bf6ee188"
PSEXESVC_PATH = "%SystemRoot%\\PSEXESVC.exe"  # the binary path PsExec's CreateServiceW gives its service
Chunks = list[tuple[bool, bytes]]


def converse(chunks: Iterable[tuple[bool, bytes]], state: dict[str, Any] | None = None) -> list[Observation]:
    """Feed (to_server, bytes) of one flow 10.0.0.1:50000 -> 10.0.0.2:445 as the engine would; the dissector's
    contract (tests/dissect/hostile.py), with its pipes' ``dcerpc`` Observations besides its own."""
    d, state = SmbDissector(), {} if state is None else state
    out: list[Observation] = []
    for to_server, data in chunks:
        if state.get("done"):
            break
        src, dst = (("10.0.0.1", 50000), ("10.0.0.2", 445))[:: 1 if to_server else -1]
        pkt = Packet(ts=1.0, payload=data, src_ip=src[0], src_port=src[1], dst_ip=dst[0], dst_port=dst[1],
                     ip_proto=6, to_server=to_server)
        try:
            got = d.feed(pkt, data, state)
        except ParseError as exc:
            got = list(getattr(exc, "made", []))
        assert all(isinstance(o, Observation) and o.proto in ("smb", "dcerpc") for o in got)
        out += got
    return out


def logon() -> Chunks:
    """NEGOTIATE and an NTLM SESSION_SETUP, message ids 0-3 (tests/dissect/smbbuild.py)."""
    return [(True, b.direct(b.negotiate_request())), (False, b.direct(b.negotiate_response())),
            (True, b.direct(b.session_setup_request(b.spnego_init(b.ntlm_negotiate())))),
            (False, b.direct(b.session_setup_response(b.spnego_resp(b.ntlm_challenge()))))]


def tree(mid: int, path: str, tree_id: int, share_type: int) -> Chunks:
    return [(True, w.direct(w.tree_connect(mid, path, SID))),
            (False, w.direct(w.tree_connect_response(mid, tree_id, SID, share_type)))]


def opened(mid: int, name: str, tree_id: int, file_id: bytes, **create: Any) -> Chunks:
    action = create.pop("action", w.FILE_OPENED)
    return [(True, w.direct(w.create(mid, name, tree_id, SID, **create))),
            (False, w.direct(w.create_response(mid, file_id, tree_id, SID, action=action)))]


def svcctl_pdus() -> list[tuple[bytes, bytes]]:
    """(client PDU, server PDU) of a bind and psexec's three calls on svcctl ([MS-SCMR] §3.1.4 opnums)."""
    return [(rpc.bind([(0, rpc.SVCCTL, 2)], call_id=1), rpc.bind_ack("\\PIPE\\svcctl", [0], call_id=1)),
            (rpc.request(0, 15, call_id=2), rpc.response(0, call_id=2)),
            (rpc.request(0, 12, rpc.create_service("PSEXESVC", PSEXESVC_PATH), call_id=3), rpc.response(0, call_id=3)),
            (rpc.request(0, 19, call_id=4), rpc.response(0, call_id=4))]


def over_write_read(pdus: list[tuple[bytes, bytes]], mid: int = 20) -> Chunks:
    out: Chunks = []
    for client, server in pdus:
        out += [(True, w.direct(w.write(mid, PIPE_ID, client, IPC, SID))),
                (False, w.direct(w.write_response(mid, len(client), IPC, SID))),
                (True, w.direct(w.read(mid + 1, PIPE_ID, 4280, IPC, SID))),
                (False, w.direct(w.read_response(mid + 1, server, IPC, SID)))]
        mid += 2
    return out


def over_transceive(pdus: list[tuple[bytes, bytes]], mid: int = 20) -> Chunks:
    out: Chunks = []
    for client, server in pdus:
        out += [(True, w.direct(w.transceive(mid, PIPE_ID, client, IPC, SID))),
                (False, w.direct(w.transceive_response(mid, PIPE_ID, server, IPC, SID)))]
        mid += 1
    return out


def svcctl_session(calls: Chunks) -> Chunks:
    return logon() + tree(4, "\\\\SRV\\IPC$", IPC, w.SHARE_PIPE) + opened(5, "svcctl", IPC, PIPE_ID) + calls


def rpc_of(obs: list[Observation]) -> list[tuple[Any, ...]]:
    return [(o.kind, o.src_ip, o.fields.get("named_pipe"), o.fields.get("interface"), o.fields.get("operation"),
             tuple(o.fields.get("requested_interfaces") or o.fields.get("accepted_interfaces") or ()))
            for o in obs if o.proto == "dcerpc"]


SVCCTL_CALLS = [
    ("bind", "10.0.0.1", "svcctl", None, None, ("svcctl",)),
    ("bind_ack", "10.0.0.2", "svcctl", None, None, ("svcctl",)),
    ("request", "10.0.0.1", "svcctl", "svcctl", "OpenSCManagerW", ()),
    ("response", "10.0.0.2", "svcctl", "svcctl", "OpenSCManagerW", ()),
    ("request", "10.0.0.1", "svcctl", "svcctl", "CreateServiceW", ()),
    ("response", "10.0.0.2", "svcctl", "svcctl", "CreateServiceW", ()),
    ("request", "10.0.0.1", "svcctl", "svcctl", "StartServiceW", ()),
    ("response", "10.0.0.2", "svcctl", "svcctl", "StartServiceW", ()),
]


def test_svcctl_over_write_and_read_is_read_as_on_tcp_with_the_pipe_named() -> None:
    assert rpc_of(converse(svcctl_session(over_write_read(svcctl_pdus())))) == SVCCTL_CALLS


def test_svcctl_over_ioctl_transceive_is_read_the_same() -> None:
    assert rpc_of(converse(svcctl_session(over_transceive(svcctl_pdus())))) == SVCCTL_CALLS


def test_a_pipe_read_answered_pending_first_is_read_from_its_final_response() -> None:
    client, server = svcctl_pdus()[0]
    pending = w.header(w.READ, 21, response=True, status=smb2files.STATUS_PENDING) + struct.pack("<HBBI", 9, 0, 0, 0)
    calls = [(True, w.direct(w.write(20, PIPE_ID, client, IPC, SID))),
             (True, w.direct(w.read(21, PIPE_ID, 4280, IPC, SID))), (False, w.direct(pending + b"\0")),
             (False, w.direct(w.read_response(21, server, IPC, SID)))]
    assert [o.kind for o in converse(svcctl_session(calls)) if o.proto == "dcerpc"] == ["bind", "bind_ack"]


def test_a_closed_pipe_is_no_longer_read() -> None:
    client, _ = svcctl_pdus()[1]
    calls = [*over_write_read(svcctl_pdus()[:1]), (True, w.direct(w.close(30, PIPE_ID, IPC, SID))),
             (True, w.direct(w.write(31, PIPE_ID, client, IPC, SID)))]
    assert [o.kind for o in converse(svcctl_session(calls)) if o.proto == "dcerpc"] == ["bind", "bind_ack"]


def test_listing_shares_over_srvsvc_is_read_and_names_no_remote_call() -> None:
    pdus = [(rpc.bind([(0, SRVSVC, 3)], call_id=1), rpc.bind_ack("\\PIPE\\srvsvc", [0], call_id=1)),
            (rpc.request(0, 15, call_id=2), rpc.response(0, call_id=2))]  # NetrShareEnum ([MS-SRVS] §3.1.4.8)
    chunks = logon() + tree(4, "\\\\SRV\\IPC$", IPC, w.SHARE_PIPE) + opened(5, "srvsvc", IPC, PIPE_ID)
    obs = converse(chunks + over_transceive(pdus))
    assert [(o.kind, o.fields["named_pipe"], o.fields.get("operation")) for o in obs if o.proto == "dcerpc"] == [
        ("bind", "srvsvc", None), ("bind_ack", "srvsvc", None), ("request", "srvsvc", "NetrShareEnum"),
        ("response", "srvsvc", "NetrShareEnum")]
    assert not [o for o in obs if o.kind == "file_write"]


def test_a_service_binary_written_to_admin_share_is_a_file_write_of_the_client() -> None:
    chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, w.SHARE_DISK) + opened(
        5, "PSEXESVC.exe", ADMIN, FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED)
    chunks += [(True, w.direct(w.write(6, FILE_ID, b"MZ" + b"\x90" * 4000, ADMIN, SID))),
               (False, w.direct(w.write_response(6, 4002, ADMIN, SID)))]
    writes = [o for o in converse(chunks) if o.kind == "file_write"]
    assert [(o.src_ip, o.dst_ip, o.fields) for o in writes] == [
        ("10.0.0.1", "10.0.0.2", {"smb1": False, "share": "ADMIN$", "share_class": "admin", "file": "PSEXESVC.exe",
                                  "disposition": "overwrite_if", "created": True})]


def test_reading_or_writing_a_user_share_and_reading_admin_share_say_no_file() -> None:
    chunks = logon() + tree(4, "\\\\SRV\\Finance", DOCS, w.SHARE_DISK) + opened(
        5, "Q3\\report.docx", DOCS, FILE_ID, disposition=w.FILE_CREATE, action=w.FILE_CREATED)
    chunks += [(True, w.direct(w.write(6, FILE_ID, b"PK" * 3000, DOCS, SID))),
               (True, w.direct(w.read(7, FILE_ID, 6000, DOCS, SID))),
               (False, w.direct(w.read_response(7, b"PK" * 3000, DOCS, SID)))]
    chunks += tree(8, "\\\\SRV\\C$", ADMIN, w.SHARE_DISK) + opened(
        9, "Windows\\notepad.exe", ADMIN, b"\x33" * 16, access=w.FILE_READ_DATA)
    obs = converse(chunks)
    assert [o.kind for o in obs if o.kind == "file_write" or o.proto == "dcerpc"] == []
    assert [o.fields["share_class"] for o in obs if o.kind == "tree_connect"] == ["user", "admin"]


def test_a_refused_create_says_nothing() -> None:
    chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, w.SHARE_DISK) + [
        (True, w.direct(w.create(5, "PSEXESVC.exe", ADMIN, SID, disposition=w.FILE_OVERWRITE_IF))),
        (False, b.direct(b.error_response(w.CREATE, 0xC0000022)))]  # STATUS_ACCESS_DENIED
    assert not [o for o in converse(chunks) if o.kind == "file_write"]


def test_an_smb3_encrypted_session_is_not_read_and_raises_nothing() -> None:
    transform = b"\xfdSMB" + b"\x5a" * 48  # [MS-SMB2] §2.2.41 TRANSFORM_HEADER, then ciphertext
    chunks = [*logon(), (True, w.direct(transform + w.tree_connect(4, "\\\\SRV\\IPC$", SID))),
              (False, w.direct(transform + b"\x99" * 80))]
    chunks += svcctl_session(over_transceive(svcctl_pdus()))[4:]  # had it been readable: the whole psexec call
    state: dict[str, Any] = {}
    obs = converse(chunks, state=state)  # no exception but ParseError
    assert [o.proto for o in obs] == ["smb"] * 4 and not [o for o in obs if o.kind == "tree_connect"]
    assert state.get("done")


def test_limits_on_trees_pipes_and_waiting_requests() -> None:
    session = smb2files.Session()
    chunks: Chunks = []
    for i in range(smb2files.MAX_TREES + 5):
        chunks += tree(100 + i, f"\\\\SRV\\share{i}", 1000 + i, w.SHARE_DISK)
    for i in range(smb2files.MAX_PIPES + 5):
        chunks += opened(300 + i, "svcctl", IPC, bytes([i]) * 16)
    for i in range(smb2files.MAX_PENDING + 5):
        chunks.append((True, w.direct(w.read(500 + i, bytes([68]) * 16, 10, IPC, SID))))  # the newest pipe
    state: dict[str, Any] = {"smb2": session}
    converse(logon() + chunks[: 2 * (smb2files.MAX_TREES + 5)] + tree(4, "\\\\SRV\\IPC$", IPC, w.SHARE_PIPE)
             + chunks[2 * (smb2files.MAX_TREES + 5) :], state=state)
    assert len(session.trees) == smb2files.MAX_TREES and next(iter(session.trees)) == 1006  # the oldest dropped
    assert IPC in session.trees and len(session.pipes) == smb2files.MAX_PIPES and bytes([4]) * 16 not in session.pipes
    assert len(session.pending) == smb2files.MAX_PENDING and min(session.pending) == 505  # oldest dropped


def compounded_svcctl(transceive: bool, *, close: bool = False) -> Chunks:
    """svcctl opened by a CREATE compounded with the bind as a related WRITE (the bind_ack then READ) or IOCTL
    transceive on FileId 0xFF..FF ([MS-SMB2] §3.2.4.1.4), and with ``close`` a related CLOSE; the server answers in
    one compound too; then the calls by IOCTL on the pipe's FileId."""
    (bind, ack), related = svcctl_pdus()[0], w.RELATED_FILE_ID
    create = w.create(5, "svcctl", IPC, SID)
    if transceive:
        requests = [create, w.transceive(6, related, bind, IPC, SID)]
        responses = [w.create_response(5, PIPE_ID, IPC, SID), w.transceive_response(6, PIPE_ID, ack, IPC, SID)]
        after: Chunks = []
    else:
        requests = [create, w.write(6, related, bind, IPC, SID)]
        responses = [w.create_response(5, PIPE_ID, IPC, SID), w.write_response(6, len(bind), IPC, SID)]
        after = [(True, w.direct(w.read(7, PIPE_ID, 4280, IPC, SID))),
                 (False, w.direct(w.read_response(7, ack, IPC, SID)))]
    if close:
        requests.append(w.close(8, related, IPC, SID))
        responses.append(w.close_response(8, IPC, SID))
    chunks = logon() + tree(4, "\\\\SRV\\IPC$", IPC, w.SHARE_PIPE) + [
        (True, w.direct(w.compound(*requests))), (False, w.direct(w.compound(*responses)))]
    return chunks + after + over_transceive(svcctl_pdus()[1:], mid=20)


def test_calls_on_a_pipe_whose_bind_was_not_captured_are_named_after_the_pipe_marked_inferred() -> None:
    """svcctl opened (its CREATE seen) but its bind not captured: each call is svcctl's ([MS-SCMR] §2.1), its
    interface_inferred True, on the request and its answer; on \\PIPE\\atsvc SchRpcRun (opnum 12) is
    ITaskSchedulerService's, SchRpcRegisterTask (1) could be ATSvc's or SASec's and names nothing; a pipe whose bind
    was seen names its calls by the bind and says nothing inferred."""
    obs = converse(svcctl_session(over_transceive(svcctl_pdus()[1:])))
    assert rpc_of(obs) == SVCCTL_CALLS[2:]
    assert all(o.fields["interface_inferred"] is True for o in obs if o.proto == "dcerpc")
    calls = [(rpc.request(0, 1, call_id=2), rpc.response(0, call_id=2)),
             (rpc.request(0, 12, call_id=3), rpc.response(0, call_id=3))]
    obs = converse(logon() + tree(4, "\\\\SRV\\IPC$", IPC, w.SHARE_PIPE) + opened(5, "atsvc", IPC, PIPE_ID)
                   + over_write_read(calls))
    assert [(o.kind, o.fields.get("interface"), o.fields.get("operation"), o.fields.get("interface_inferred"))
            for o in obs if o.proto == "dcerpc"] == [
        ("request", None, None, None),
        ("request", "ITaskSchedulerService", "SchRpcRun", True),
        ("response", "ITaskSchedulerService", "SchRpcRun", True)]
    bound = converse(svcctl_session(over_transceive(svcctl_pdus())))
    assert not [o for o in bound if "interface_inferred" in o.fields]


def test_a_pipe_opened_in_a_compound_is_read_through_its_related_write_and_ioctl() -> None:
    assert rpc_of(converse(compounded_svcctl(transceive=False))) == SVCCTL_CALLS
    assert rpc_of(converse(compounded_svcctl(transceive=True))) == SVCCTL_CALLS


def test_a_related_operation_names_the_file_and_tree_the_previous_one_used() -> None:
    """§3.3.5.2.7.2: not only a CREATE's: a WRITE on the pipe's FileId then a related READ (0xFF..FF) of its answer;
    a CREATE related to a READ of IPC$, its TreeId 0xFFFFFFFF, opens a pipe of that tree."""
    (bind, ack), related = svcctl_pdus()[0], w.RELATED_FILE_ID
    calls = [(True, w.direct(w.compound(w.write(20, PIPE_ID, bind, IPC, SID), w.read(21, related, 4280, IPC, SID)))),
             (False, w.direct(w.compound(w.write_response(20, len(bind), IPC, SID),
                                         w.read_response(21, ack, IPC, SID)))),
             *over_transceive(svcctl_pdus()[1:], mid=30)]
    assert rpc_of(converse(svcctl_session(calls))) == SVCCTL_CALLS
    other = b"\x44" * 16
    chunks = [
        *svcctl_session([]),
        (True, w.direct(w.compound(w.read(6, PIPE_ID, 16, IPC, SID), w.create(7, "lsarpc", 0xFFFFFFFF, SID)))),
        (False, w.direct(w.compound(w.read_response(6, b"", IPC, SID), w.create_response(7, other, IPC, SID))))]
    state: dict[str, Any] = {}
    converse(chunks, state=state)
    assert {pipe.name for pipe in state["smb2"].pipes.values()} == {"svcctl", "lsarpc"}
    assert other in state["smb2"].pipes


def test_a_related_close_lets_the_pipe_go_once_its_call_is_answered() -> None:
    state: dict[str, Any] = {}
    obs = converse(compounded_svcctl(transceive=True, close=True), state=state)
    assert rpc_of(obs) == SVCCTL_CALLS[:2] and not state["smb2"].pipes and not state["smb2"].pending


def test_a_refused_pipe_create_in_a_compound_lets_its_pipe_go() -> None:
    bind, related = svcctl_pdus()[0][0], w.RELATED_FILE_ID
    refused = w.header(w.CREATE, 5, response=True, status=0xC0000034) + struct.pack("<HBBI", 9, 0, 0, 0) + b"\0"
    chunks = logon() + tree(4, "\\\\SRV\\IPC$", IPC, w.SHARE_PIPE) + [  # STATUS_OBJECT_NAME_NOT_FOUND
        (True, w.direct(w.compound(w.create(5, "svcctl", IPC, SID), w.transceive(6, related, bind, IPC, SID)))),
        (False, w.direct(refused))]
    state: dict[str, Any] = {}
    obs = converse(chunks + over_transceive(svcctl_pdus()[1:], mid=20), state=state)
    assert [o.kind for o in obs if o.proto == "dcerpc"] == ["bind"]  # what the client sent; nothing after
    assert not state["smb2"].pipes


def tree_and_pipe_in_one_compound(*, refused: bool = False) -> Chunks:
    """IPC$'s TREE_CONNECT, then svcctl's CREATE on TreeId 0xFFFFFFFF and the bind as an IOCTL transceive on FileId
    0xFF..FF, all in one compound ([MS-SMB2] §3.2.4.1.4: each header 8-byte aligned, NextCommand its length, the
    second and third flagged SMB2_FLAGS_RELATED_OPERATIONS), the responses compounded alike, then the calls on the
    pipe's FileId. ``refused``: the server refuses the TREE_CONNECT (STATUS_ACCESS_DENIED), and so the related
    operations after it (§3.3.5.2.7.2)."""
    (bind, ack), related = svcctl_pdus()[0], w.RELATED_FILE_ID
    request = w.compound(w.tree_connect(4, "\\\\SRV\\IPC$", SID), w.create(5, "svcctl", 0xFFFFFFFF, SID),
                         w.transceive(6, related, bind, 0xFFFFFFFF, SID))
    assert struct.unpack_from("<I", request, 16)[0] & w.FLAGS_RELATED_OPERATIONS == 0  # the first is not related
    if refused:
        error = [w.header(command, mid, response=True, status=0xC0000022) + struct.pack("<HBBI", 9, 0, 0, 0) + b"\0"
                 for command, mid in ((smb2files.TREE_CONNECT, 4), (smb2files.CREATE, 5), (smb2files.IOCTL, 6))]
        response = w.compound(*error, related=False)
    else:
        response = w.compound(w.tree_connect_response(4, IPC, SID, w.SHARE_PIPE),
                              w.create_response(5, PIPE_ID, IPC, SID),
                              w.transceive_response(6, PIPE_ID, ack, IPC, SID), related=False)
    return [*logon(), (True, w.direct(request)), (False, w.direct(response)), *over_transceive(svcctl_pdus()[1:])]


def test_a_create_compounded_after_a_tree_connect_opens_its_file_in_that_tree() -> None:
    """The CREATE's tree is the one the TREE_CONNECT before it asks for (its TreeId known only from the response):
    svcctl on IPC$ opened in one compound is followed as when opened on its own, and so is a binary created for
    writing on ADMIN$ in a compound with its tree connect."""
    state: dict[str, Any] = {}
    assert rpc_of(converse(tree_and_pipe_in_one_compound(), state=state)) == SVCCTL_CALLS
    assert state["smb2"].trees[IPC] == ("IPC$", "ipc", True) and PIPE_ID in state["smb2"].pipes
    segments = [(to_server, data[i : i + 7]) for to_server, data in tree_and_pipe_in_one_compound()
                for i in range(0, len(data), 7)]
    assert rpc_of(converse(segments)) == SVCCTL_CALLS
    copy = [
        *logon(),
        (True, w.direct(w.compound(w.tree_connect(4, "\\\\SRV\\ADMIN$", SID),
                                   w.create(5, "PSEXESVC.exe", 0xFFFFFFFF, SID, disposition=w.FILE_OVERWRITE_IF)))),
        (False, w.direct(w.compound(w.tree_connect_response(4, ADMIN, SID, w.SHARE_DISK),
                                    w.create_response(5, FILE_ID, ADMIN, SID, action=w.FILE_CREATED), related=False)))]
    assert [(o.fields["share"], o.fields["file"]) for o in converse(copy) if o.kind == "file_write"] == [
        ("ADMIN$", "PSEXESVC.exe")]


def test_a_refused_tree_connect_lets_the_pipe_created_after_it_go() -> None:
    state: dict[str, Any] = {}
    obs = converse(tree_and_pipe_in_one_compound(refused=True), state=state)
    assert [o.kind for o in obs if o.proto == "dcerpc"] == ["bind"]  # what the client sent; nothing after
    assert not state["smb2"].pipes and not state["smb2"].trees and not state["smb2"].pending


def compounded_copy(data: bytes, share: str = "\\\\SRV\\ADMIN$", tree_id: int = ADMIN) -> Chunks:
    """PSEXESVC.exe created and its first bytes written in one compound (CREATE + related WRITE)."""
    related = w.RELATED_FILE_ID
    return [
        *tree(4, share, tree_id, w.SHARE_DISK),
        (True, w.direct(w.compound(w.create(5, "PSEXESVC.exe", tree_id, SID, disposition=w.FILE_OVERWRITE_IF),
                                   w.write(6, related, data, tree_id, SID)))),
        (False, w.direct(w.compound(w.create_response(5, FILE_ID, tree_id, SID, action=w.FILE_CREATED),
                                    w.write_response(6, len(data), tree_id, SID))))]


def _head_in_pieces(to_server: bool, data: bytes) -> Chunks:
    """A message's first 128 bytes in 3-byte segments, then the rest in one."""
    return [(to_server, data[i : i + 3]) for i in range(0, 128, 3)] + [(to_server, data[129:])][: len(data) > 129]


def test_a_binary_created_and_written_in_one_compound_is_a_file_write() -> None:
    for size, cut in ((4000, 1448), (1 << 20, 1448), (1 << 20, 3)):  # a compound over MAX_MESSAGE: its head read
        chunks = logon() + compounded_copy(b"MZ" + b"\x90" * (size - 2))
        chunks += svcctl_session(over_transceive(svcctl_pdus()))[4:]
        if cut == 3:
            segments = [piece for to_server, data in chunks for piece in _head_in_pieces(to_server, data)]
        else:
            segments = [(to_server, data[i : i + cut]) for to_server, data in chunks for i in range(0, len(data), cut)]
        obs = converse(segments)
        assert [(o.fields["share"], o.fields["file"], o.fields["created"]) for o in obs if o.kind == "file_write"] == [
            ("ADMIN$", "PSEXESVC.exe", True)]
        assert rpc_of(obs) == SVCCTL_CALLS


def test_a_compounded_create_query_info_close_on_a_file_share_says_nothing() -> None:
    related = w.RELATED_FILE_ID
    chunks = logon()
    for mid, (path, tree_id) in enumerate((("\\\\SRV\\Finance", DOCS), ("\\\\SRV\\C$", ADMIN))):
        base = 10 * (mid + 1)
        chunks += [
            *tree(base, path, tree_id, w.SHARE_DISK),
            (True, w.direct(w.compound(w.create(base + 1, "Windows\\notepad.exe", tree_id, SID,
                                                access=w.FILE_READ_DATA),
                                       w.query_info(base + 2, related, tree_id, SID),
                                       w.close(base + 3, related, tree_id, SID)))),
            (False, w.direct(w.compound(w.create_response(base + 1, FILE_ID, tree_id, SID),
                                        w.query_info_response(base + 2, 4096, tree_id, SID),
                                        w.close_response(base + 3, tree_id, SID))))]
    chunks += compounded_copy(b"PK" * 30_000, "\\\\SRV\\Finance", DOCS)  # a document saved to a user share
    state: dict[str, Any] = {}
    obs = converse(chunks, state=state)
    assert not [o for o in obs if o.kind == "file_write" or o.proto == "dcerpc"]
    assert not state["smb2"].pipes and not state["smb2"].pending


def _copy_then_psexec(path: str, tree_id: int) -> Chunks:
    """A tree on ``path``, a file written to it in three 60,000-byte WRITEs (IDENTITY_BYTES passed), then svcctl."""
    chunks = logon() + tree(4, path, tree_id, w.SHARE_DISK) + opened(
        5, "data.bin", tree_id, FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED)
    for i in range(3):
        chunks += [(True, w.direct(w.write(6 + i, FILE_ID, b"\0" * 60_000, tree_id, SID, offset=60_000 * i))),
                   (False, w.direct(w.write_response(6 + i, 60_000, tree_id, SID)))]
    return chunks + svcctl_session(over_transceive(svcctl_pdus()))[4:]


def test_past_its_identity_a_session_with_no_pipe_or_admin_share_open_is_left() -> None:
    state: dict[str, Any] = {}
    obs = converse(_copy_then_psexec("\\\\SRV\\Finance", DOCS), state=state)
    assert state["done"] and state["read"] >= IDENTITY_BYTES
    assert not [o for o in obs if o.proto == "dcerpc"]


def test_a_session_with_an_admin_share_open_is_followed_past_its_identity() -> None:
    state: dict[str, Any] = {}
    obs = converse(_copy_then_psexec("\\\\SRV\\ADMIN$", ADMIN), state=state)
    assert state["read"] >= IDENTITY_BYTES and not state.get("done")
    assert [o.fields["operation"] for o in obs if o.kind == "request"] == [
        "OpenSCManagerW", "CreateServiceW", "StartServiceW"]


def test_file_data_cut_into_segments_is_skipped_and_the_calls_after_it_are_read_the_same() -> None:
    chunks = _copy_then_psexec("\\\\SRV\\ADMIN$", ADMIN)
    segments = [(to_server, data[i : i + 1448]) for to_server, data in chunks for i in range(0, len(data), 1448)]
    state: dict[str, Any] = {}
    assert rpc_of(converse(segments, state=state)) == rpc_of(converse(chunks)) == SVCCTL_CALLS
    assert state["read"] == sum(len(data) for _, data in chunks)


@pytest.mark.parametrize("op", ["write", "read"])
def test_more_file_writes_or_reads_than_max_messages_do_not_hide_the_calls_after_them(op: str) -> None:
    """A copy to (or from) ADMIN$ in more small WRITEs (READs) than MAX_MESSAGES: their requests and responses are
    skipped uncounted, so the IPC$ tree, the pipe and the calls after them are still read."""
    chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, w.SHARE_DISK) + opened(5, "data.bin", ADMIN, FILE_ID)
    for mid in range(100, 100 + smb.MAX_MESSAGES + 50):
        if op == "write":
            chunks += [(True, w.direct(w.write(mid, FILE_ID, b"\x90" * 100, ADMIN, SID, offset=100 * mid))),
                       (False, w.direct(w.write_response(mid, 100, ADMIN, SID)))]
        else:
            chunks += [(True, w.direct(w.read(mid, FILE_ID, 100, ADMIN, SID))),
                       (False, w.direct(w.read_response(mid, b"\x90" * 100, ADMIN, SID)))]
    state: dict[str, Any] = {}
    obs = converse(chunks + svcctl_session(over_transceive(svcctl_pdus(), mid=5000))[4:], state=state)
    assert rpc_of(obs) == SVCCTL_CALLS
    assert state["messages_c2s"] < 20 and state["messages_s2c"] < 20


def test_a_followed_session_is_left_once_its_parsed_bytes_reach_max_followed_bytes() -> None:
    """Endless compounds (CREATE + a related 70 KiB WRITE) on ADMIN$: each one's head (MAX_MESSAGE bytes) is parsed and
    not counted among MAX_MESSAGES, so MAX_FOLLOWED_BYTES is what ends the session, at the compound that reaches it."""
    head = smb.MAX_MESSAGE + 4
    compound = logon() + compounded_copy(b"MZ" + b"\x90" * (70 * 1024))
    chunks = compound[:6] + [compound[6]] * (smb.MAX_FOLLOWED_BYTES // head + 50) + svcctl_session(
        over_transceive(svcctl_pdus()))[4:]
    state: dict[str, Any] = {}
    obs = converse(chunks, state=state)
    assert state["done"] and smb.MAX_FOLLOWED_BYTES <= state["parsed"] < smb.MAX_FOLLOWED_BYTES + head
    assert state["read"] < (smb.MAX_FOLLOWED_BYTES // head + 2) * len(compound[6][1])  # it stopped there
    assert not rpc_of(obs)


def _copy(op: str, size: int, tree_id: int = ADMIN) -> Iterator[tuple[bool, bytes]]:
    """``size`` bytes of a file written to (``write``) or read from (``read``) ``tree_id`` in 1 MiB WRITEs or READs,
    cut into 1448-byte segments, as one lazily made stream (the same message each time: nothing is kept)."""
    data = b"\x90" * (1 << 20)
    if op == "write":
        messages = [(True, w.direct(w.write(6, FILE_ID, data, tree_id, SID))),
                    (False, w.direct(w.write_response(6, len(data), tree_id, SID)))]
    else:
        messages = [(True, w.direct(w.read(6, FILE_ID, len(data), tree_id, SID))),
                    (False, w.direct(w.read_response(6, data, tree_id, SID)))]
    for _ in range(size // len(data)):
        for to_server, message in messages:
            view = memoryview(message)
            for i in range(0, len(message), 1448):
                yield to_server, bytes(view[i : i + 1448])


def psexec(binary: int = 80) -> Chunks:
    """PsExec over SMB2: PSEXESVC.exe written to ADMIN$ in ``binary`` 1400-byte WRITEs, one segment each (80: the
    svcctl calls come past packet 96), then svcctl on IPC$ over IOCTL transceive."""
    chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, w.SHARE_DISK) + opened(
        5, "PSEXESVC.exe", ADMIN, FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED)
    for i in range(binary):
        chunks += [(True, w.direct(w.write(6 + i, FILE_ID, b"\x90" * 1400, ADMIN, SID, offset=1400 * i))),
                   (False, w.direct(w.write_response(6 + i, 1400, ADMIN, SID)))]
    chunks += [(True, w.direct(w.close(90, FILE_ID, ADMIN, SID))), (False, w.direct(w.close_response(90, ADMIN, SID)))]
    return chunks + tree(91, "\\\\SRV\\IPC$", IPC, w.SHARE_PIPE) + opened(92, "svcctl", IPC, PIPE_ID) \
        + over_transceive(svcctl_pdus(), mid=93)


def big_copy_then_psexec(op: str, size: int) -> Iterator[tuple[bool, bytes]]:
    """PsExec's session: ``size`` bytes of PSEXESVC.exe written to ADMIN$ (or a file pulled from it), then svcctl."""
    yield from logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, w.SHARE_DISK) + opened(
        5, "PSEXESVC.exe", ADMIN, FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED)
    yield from _copy(op, size)
    yield from svcctl_session(over_transceive(svcctl_pdus()))[4:]


@pytest.mark.parametrize("op", ["write", "read"])
def test_file_data_of_any_size_skipped_on_its_header_costs_nothing_against_the_budget(op: str) -> None:
    """300 MiB written to (read from) ADMIN$ in 1448-byte segments, more than MAX_FOLLOWED_BYTES and MAX_PACKETS
    (which the engine no longer counts: max_packets_per_flow None): the svcctl calls after it are read, and what was
    parsed is the messages' headers."""
    state: dict[str, Any] = {}
    assert SmbDissector.max_packets_per_flow is None
    assert rpc_of(converse(big_copy_then_psexec(op, 300 << 20), state=state)) == SVCCTL_CALLS
    assert state["read"] > 300 << 20 > smb.MAX_FOLLOWED_BYTES and not state.get("done")
    assert state["parsed"] < 100_000 and state["packets"] < 1000


def test_past_max_packets_parsed_a_session_is_left_but_segments_of_skipped_data_do_not_count(monkeypatch: Any) -> None:
    monkeypatch.setattr(smb, "MAX_PACKETS", 300)
    state: dict[str, Any] = {}
    assert rpc_of(converse(big_copy_then_psexec("write", 4 << 20), state=state)) == SVCCTL_CALLS  # 2,900 segments
    assert state["packets"] < 300
    tiny = [(to_server, data[i : i + 1]) for to_server, data in svcctl_session(over_transceive(svcctl_pdus()))
            for i in range(len(data))]  # the same calls in 1-byte segments: far more packets parsed
    state = {}
    obs = converse(tiny, state=state)
    assert state["done"] and state["packets"] == 300 and len(tiny) > 300 and rpc_of(obs) != SVCCTL_CALLS


def test_a_pipe_that_carries_no_dcerpc_is_let_go() -> None:
    calls = [(True, w.direct(w.write(20, PIPE_ID, b"\x01" * 40, IPC, SID))),
             *over_write_read(svcctl_pdus()[:1], mid=30)]
    state: dict[str, Any] = {}
    obs = converse(svcctl_session(calls), state=state)
    assert not [o for o in obs if o.proto == "dcerpc"] and not state["smb2"].pipes


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["rw", "ioctl", "admin", "compound", "compound_copy"]),
       st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=6), st.integers(1, 97))
def test_mutated_pipe_and_file_sessions_keep_the_contract(which: str, edits: list[tuple[int, int]], cut: int) -> None:
    if which == "admin":
        chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, w.SHARE_DISK) + opened(
            5, "PSEXESVC.exe", ADMIN, FILE_ID, disposition=w.FILE_OVERWRITE_IF)
    elif which == "compound":
        chunks = compounded_svcctl(transceive=True, close=True)
    elif which == "compound_copy":
        chunks = logon() + compounded_copy(b"MZ" * 2000)
    else:
        calls = over_write_read(svcctl_pdus()) if which == "rw" else over_transceive(svcctl_pdus())
        chunks = svcctl_session(calls)
    stream = mutate(b"".join(data for _, data in chunks[4:]), edits, 1 << 20)
    pieces = [(True, stream[i : i + cut]) for i in range(0, len(stream), cut)]
    converse(chunks[:4] + pieces)  # anything but ParseError fails the test


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["rw", "ioctl", "admin", "compound"]),
       st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                max_size=6))
def test_messages_mutated_in_place_keep_the_contract_both_ways(which: str, edits: list[tuple[int, int, int]]) -> None:
    calls = over_write_read(svcctl_pdus()) if which == "rw" else over_transceive(svcctl_pdus())
    chunks = _copy_then_psexec("\\\\SRV\\ADMIN$", ADMIN) if which == "admin" else svcctl_session(calls)
    if which == "compound":
        chunks = compounded_svcctl(transceive=False, close=True) + logon()[2:] + compounded_copy(b"MZ" * 40_000)
    mutable = [(to_server, bytearray(data)) for to_server, data in chunks]
    for index, pos, value in edits:  # a byte of one message, server's or client's, past the logon
        data = mutable[4 + index % (len(mutable) - 4)][1]
        data[pos % len(data)] = value
    converse([(to_server, bytes(data)) for to_server, data in mutable])  # anything but ParseError fails
