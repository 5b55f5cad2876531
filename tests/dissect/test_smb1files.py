"""An SMB1 session's trees, opens and named pipes ([MS-CIFS] §2.2.4) as dissect/smb.py follows them: DCE/RPC over
\\PIPE\\svcctl through TRANSACTION TransactNmPipe and through WRITE_ANDX/READ_ANDX (alone and AndX-chained), a service
binary written to ADMIN$, a TransactNmPipe continued in TRANSACTION_SECONDARY requests and answered in several
responses, the OPEN_ANDX and core WRITE/READ of pre-NT clients, what a user share or a read-only open says (nothing),
the limits and the contract on hostile input. Messages are built by lab/smb1wire.py (tshark reads them without a
malformed warning)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import smb1trans, smb2files
from iotwarden.dissect.smb import IDENTITY_BYTES, MAX_MESSAGES
from iotwarden.lab import smb1wire as m
from tests.dissect import smbbuild as b
from tests.dissect.hostile import mutate
from tests.dissect.test_smb2files import SVCCTL_CALLS, Chunks, converse, rpc_of, svcctl_pdus

IPC, ADMIN, DOCS = 0x0801, 0x0802, 0x0803
PIPE_FID, FILE_FID = 0x4000, 0x4001
Transport = Callable[[list[tuple[bytes, bytes]]], Chunks]  # a pipe's (client, server) PDUs as SMB1 messages


def logon() -> Chunks:
    """An NT LM 0.12 NEGOTIATE and an NTLM SESSION_SETUP_ANDX (tests/dissect/smbbuild.py), as Windows XP sends them."""
    return [(True, b.direct(b.smb1_negotiate_request(("PC NETWORK PROGRAM 1.0", "LANMAN1.0", "NT LM 0.12")))),
            (False, b.direct(b.smb1_negotiate_response(2, b.spnego_init(b"")))),
            (True, b.direct(b.smb1_session_setup_request(b.spnego_init(b.ntlm_negotiate((5, 1, 2600)))))),
            (False, b.direct(b.smb1_session_setup_response(b.spnego_resp(b.ntlm_challenge()))))]


def tree(mid: int, path: str, tid: int, service: str) -> Chunks:
    return [(True, b.direct(m.message(m.tree_connect(path), mid=mid))),
            (False, b.direct(m.message(m.tree_connect_response(service), mid=mid, tid=tid, response=True)))]


def opened(mid: int, name: str, tid: int, fid: int, action: int = m.FILE_OPENED, **create: Any) -> Chunks:
    pipe = create.pop("pipe", True)
    return [(True, b.direct(m.message(m.nt_create(name, **create), mid=mid, tid=tid))),
            (False, b.direct(m.message(m.nt_create_response(fid, action, pipe=pipe), mid=mid, tid=tid,
                                       response=True)))]


def over_transact(pdus: list[tuple[bytes, bytes]], mid: int = 20) -> Chunks:
    out: Chunks = []
    for client, server in pdus:
        out += [(True, b.direct(m.message(m.transact_nmpipe(PIPE_FID, client), mid=mid, tid=IPC))),
                (False, b.direct(m.message(m.transact_response(server), mid=mid, tid=IPC, response=True)))]
        mid += 1
    return out


def over_write_read(pdus: list[tuple[bytes, bytes]], mid: int = 20, *, mode: int = 0x0008) -> Chunks:
    out: Chunks = []
    for client, server in pdus:
        raw = len(client).to_bytes(2, "little") + client if mode & 0x0004 else client
        out += [(True, b.direct(m.message(m.write_andx(PIPE_FID, raw, mode=mode), mid=mid, tid=IPC))),
                (False, b.direct(m.message(m.write_andx_response(len(raw)), mid=mid, tid=IPC, response=True))),
                (True, b.direct(m.message(m.read_andx(PIPE_FID), mid=mid + 1, tid=IPC))),
                (False, b.direct(m.message(m.read_andx_response(server), mid=mid + 1, tid=IPC, response=True)))]
        mid += 2
    return out


def over_chained(pdus: list[tuple[bytes, bytes]], mid: int = 20) -> Chunks:
    """WRITE_ANDX chained to READ_ANDX in one request, their two responses in one answer (§2.2.3.4)."""
    out: Chunks = []
    for client, server in pdus:
        out += [(True, b.direct(m.message(m.write_andx(PIPE_FID, client), m.read_andx(PIPE_FID), mid=mid, tid=IPC))),
                (False, b.direct(m.message(m.write_andx_response(len(client)), m.read_andx_response(server), mid=mid,
                                           tid=IPC, response=True)))]
        mid += 1
    return out


def over_secondary(pdus: list[tuple[bytes, bytes]], mid: int = 20, *, piece: int = 24) -> Chunks:
    """Each request's WriteData in pieces of ``piece`` bytes: the first in the TRANSACTION (TotalDataCount the whole),
    the server's interim response, the rest in TRANSACTION_SECONDARY requests (the last piece first, so that
    DataDisplacement places them); the ReadData in two responses (§2.2.4.33.2, §2.2.4.34)."""
    out: Chunks = []
    for client, server in pdus:
        total, half = len(client), len(server) // 2
        out += [(True, b.direct(m.message(m.transact_nmpipe(PIPE_FID, client[:piece], total=total), mid=mid,
                                          tid=IPC))),
                (False, b.direct(m.message(m.empty(0x25), mid=mid, tid=IPC, response=True)))]  # interim: go on
        pieces = list(range(piece, total, piece))
        for at in pieces[-1:] + pieces[:-1]:
            out.append((True, b.direct(m.message(m.transact_secondary(client[at : at + piece], total=total,
                                                                      displacement=at), mid=mid, tid=IPC))))
        for at, part in ((0, server[:half]), (half, server[half:])):
            out.append((False, b.direct(m.message(m.transact_response(part, total=len(server), displacement=at),
                                                  mid=mid, tid=IPC, response=True))))
        mid += 1
    return out


def over_core(pdus: list[tuple[bytes, bytes]], mid: int = 20) -> Chunks:
    """The core WRITE and READ of pre-NT clients (§2.2.4.12, §2.2.4.11)."""
    out: Chunks = []
    for client, server in pdus:
        out += [(True, b.direct(m.message(m.write(PIPE_FID, client), mid=mid, tid=IPC))),
                (False, b.direct(m.message(m.write_response(len(client)), mid=mid, tid=IPC, response=True))),
                (True, b.direct(m.message(m.read(PIPE_FID), mid=mid + 1, tid=IPC))),
                (False, b.direct(m.message(m.read_response(server), mid=mid + 1, tid=IPC, response=True)))]
        mid += 2
    return out


def open_andx(mid: int, name: str, tid: int, fid: int, result: int, *, access_mode: int, open_mode: int,
              pipe: bool = False) -> Chunks:
    """OPEN_ANDX and its answer (§2.2.4.41): OpenResults 1 opened, 2 created, 3 truncated."""
    return [(True, b.direct(m.message(m.open_andx(name, access_mode=access_mode, open_mode=open_mode), mid=mid,
                                      tid=tid))),
            (False, b.direct(m.message(m.open_andx_response(fid, result, pipe=pipe), mid=mid, tid=tid,
                                       response=True)))]


def pre_nt_psexec_session(blocks: int = 3, size: int = 4000) -> Chunks:
    """PsExec as against a pre-NT-style client: PSEXESVC.exe opened on ADMIN$ by OPEN_ANDX (write, create or
    truncate) and written by core WRITE, then \\PIPE\\svcctl opened by OPEN_ANDX, bound by core WRITE/READ, called
    by TransactNmPipe continued in TRANSACTION_SECONDARY."""
    chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, "A:") + open_andx(
        5, "\\PSEXESVC.exe", ADMIN, FILE_FID, 2, access_mode=0x0041, open_mode=0x0012)
    for i in range(blocks):
        chunks += [(True, b.direct(m.message(m.write(FILE_FID, b"\x90" * size, offset=size * i), mid=6 + i,
                                             tid=ADMIN))),
                   (False, b.direct(m.message(m.write_response(size), mid=6 + i, tid=ADMIN, response=True)))]
    chunks += tree(91, "\\\\SRV\\IPC$", IPC, "IPC") + open_andx(
        92, "\\PIPE\\svcctl", IPC, PIPE_FID, 1, access_mode=0x0042, open_mode=0x0001, pipe=True)
    return chunks + over_core(svcctl_pdus()[:1], mid=93) + over_secondary(svcctl_pdus()[1:], mid=95)


def svcctl_session(calls: Chunks) -> Chunks:
    return logon() + tree(4, "\\\\SRV\\IPC$", IPC, "IPC") + opened(5, "\\svcctl", IPC, PIPE_FID) + calls


def psexec_session(blocks: int = 3, size: int = 4000) -> Chunks:
    """PsExec over SMB1: PSEXESVC.exe to ADMIN$ in ``blocks`` WRITE_ANDX of ``size`` bytes, then svcctl on IPC$."""
    chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, "A:") + opened(
        5, "\\PSEXESVC.exe", ADMIN, FILE_FID, m.FILE_CREATED, access=m.GENERIC_WRITE,
        disposition=m.FILE_OVERWRITE_IF, pipe=False)
    for i in range(blocks):
        chunks += [(True, b.direct(m.message(m.write_andx(FILE_FID, b"\x90" * size, mode=0), mid=6 + i, tid=ADMIN))),
                   (False, b.direct(m.message(m.write_andx_response(size), mid=6 + i, tid=ADMIN, response=True)))]
    chunks += [(True, b.direct(m.message(m.close(FILE_FID), mid=90, tid=ADMIN))),
               (False, b.direct(m.message(m.empty(0x04), mid=90, tid=ADMIN, response=True)))]
    return chunks + tree(91, "\\\\SRV\\IPC$", IPC, "IPC") + opened(92, "\\svcctl", IPC, PIPE_FID) \
        + over_write_read(svcctl_pdus()[:1], mid=93) + over_transact(svcctl_pdus()[1:], mid=95)


def test_svcctl_over_transact_nmpipe_is_read_as_on_tcp_with_the_pipe_named() -> None:
    assert rpc_of(converse(svcctl_session(over_transact(svcctl_pdus())))) == SVCCTL_CALLS


def test_svcctl_over_write_andx_and_read_andx_is_read_the_same() -> None:
    assert rpc_of(converse(svcctl_session(over_write_read(svcctl_pdus())))) == SVCCTL_CALLS


def test_a_write_andx_chained_to_a_read_andx_is_read_the_same() -> None:
    assert rpc_of(converse(svcctl_session(over_chained(svcctl_pdus())))) == SVCCTL_CALLS


def test_a_raw_mode_pipe_write_begins_with_its_length() -> None:
    assert rpc_of(converse(svcctl_session(over_write_read(svcctl_pdus(), mode=0x000C)))) == SVCCTL_CALLS


def test_psexec_writes_its_service_binary_to_admin_share_as_the_clients_file_write() -> None:
    obs = converse(psexec_session())
    assert [(o.src_ip, o.dst_ip, o.fields) for o in obs if o.kind == "file_write"] == [
        ("10.0.0.1", "10.0.0.2", {"smb1": True, "share": "ADMIN$", "share_class": "admin", "file": "PSEXESVC.exe",
                                  "disposition": "overwrite_if", "created": True})]
    assert rpc_of(obs) == SVCCTL_CALLS


def test_an_open_chained_after_a_tree_connect_opens_its_file_in_that_tree() -> None:
    """TREE_CONNECT_ANDX chained to NT_CREATE_ANDX in one request (§2.2.3.4), header TID 0: the create's tree is the
    one the tree connect asks for (IPC$: a pipe tree; ADMIN$), its TID known only from the chained response."""
    chained = [(True, b.direct(m.message(m.tree_connect("\\\\SRV\\IPC$"), m.nt_create("\\svcctl"), mid=4))),
               (False, b.direct(m.message(m.tree_connect_response("IPC"), m.nt_create_response(PIPE_FID), mid=4,
                                          tid=IPC, response=True)))]
    state: dict[str, Any] = {}
    assert rpc_of(converse(logon() + chained + over_transact(svcctl_pdus()), state=state)) == SVCCTL_CALLS
    assert state["smb1"].trees[IPC] == ("IPC$", "ipc", True)
    copy = [(True, b.direct(m.message(m.tree_connect("\\\\SRV\\ADMIN$"),
                                      m.nt_create("\\PSEXESVC.exe", access=m.GENERIC_WRITE,
                                                  disposition=m.FILE_OVERWRITE_IF), mid=4))),
            (False, b.direct(m.message(m.tree_connect_response("A:"), m.nt_create_response(FILE_FID, m.FILE_CREATED,
                                                                                           pipe=False),
                                       mid=4, tid=ADMIN, response=True)))]
    assert [(o.fields["share"], o.fields["file"]) for o in converse(logon() + copy) if o.kind == "file_write"] == [
        ("ADMIN$", "PSEXESVC.exe")]


def test_a_user_share_document_and_a_read_only_open_of_c_say_no_file() -> None:
    chunks = logon() + tree(4, "\\\\SRV\\Finance", DOCS, "A:") + opened(
        5, "\\Q3\\report.doc", DOCS, FILE_FID, m.FILE_CREATED, access=m.GENERIC_WRITE, disposition=m.FILE_CREATE,
        pipe=False)
    chunks += [(True, b.direct(m.message(m.write_andx(FILE_FID, b"\xd0\xcf" * 900, mode=0), mid=6, tid=DOCS)))]
    chunks += tree(8, "\\\\SRV\\C$", ADMIN, "A:") + opened(
        9, "\\WINDOWS\\notepad.exe", ADMIN, 0x4002, access=m.FILE_READ_DATA | m.READ_CONTROL, pipe=False)
    obs = converse(chunks)
    assert [o for o in obs if o.kind == "file_write" or o.proto == "dcerpc"] == []
    assert [o.fields["share_class"] for o in obs if o.kind == "tree_connect"] == ["user", "admin"]


def test_a_refused_create_and_a_closed_pipe_say_nothing_more() -> None:
    chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, "A:") + [
        (True, b.direct(m.message(m.nt_create("\\PSEXESVC.exe", disposition=m.FILE_OVERWRITE_IF), mid=5, tid=ADMIN))),
        (False, b.direct(m.message(m.empty(0xA2), mid=5, tid=ADMIN, response=True, status=0xC0000022)))]
    client, _ = svcctl_pdus()[1]
    calls = [*over_transact(svcctl_pdus()[:1]), (True, b.direct(m.message(m.close(PIPE_FID), mid=30, tid=IPC))),
             (True, b.direct(m.message(m.transact_nmpipe(PIPE_FID, client), mid=31, tid=IPC)))]
    obs = converse(chunks + svcctl_session(calls)[4:])
    assert not [o for o in obs if o.kind == "file_write"]
    assert [o.kind for o in obs if o.proto == "dcerpc"] == ["bind", "bind_ack"]


def test_a_transaction_continued_in_secondary_requests_and_answered_in_parts_is_read_whole() -> None:
    state: dict[str, Any] = {}
    assert rpc_of(converse(svcctl_session(over_secondary(svcctl_pdus())), state=state)) == SVCCTL_CALLS
    assert not state["smb1"].transactions and not state["smb1"].pending


def test_a_secondary_piece_past_the_transaction_lets_it_go_and_the_pipe_goes_on() -> None:
    client, _ = svcctl_pdus()[1]
    calls = [*over_transact(svcctl_pdus()[:1]),
             (True, b.direct(m.message(m.transact_nmpipe(PIPE_FID, client[:24], total=len(client)), mid=30,
                                       tid=IPC))),
             (True, b.direct(m.message(m.transact_secondary(client[24:] + b"\0" * 8, total=len(client),
                                                            displacement=24), mid=30, tid=IPC))),
             *over_transact(svcctl_pdus()[2:], mid=31)]
    state: dict[str, Any] = {}
    obs = converse(svcctl_session(calls), state=state)
    assert [o.fields.get("operation") for o in obs if o.proto == "dcerpc"] == [
        None, None, "CreateServiceW", "CreateServiceW", "StartServiceW", "StartServiceW"]
    assert not state["smb1"].transactions


def test_transactions_awaiting_their_secondary_requests_are_bounded() -> None:
    client, _ = svcctl_pdus()[1]
    calls = [(True, b.direct(m.message(m.transact_nmpipe(PIPE_FID, client[:24], total=len(client)), mid=100 + i,
                                       tid=IPC))) for i in range(smb1trans.MAX_TRANSACTIONS + 4)]
    state: dict[str, Any] = {}
    converse(svcctl_session(calls), state=state)
    transactions = state["smb1"].transactions
    assert len(transactions) == smb1trans.MAX_TRANSACTIONS and min(key[1] for key in transactions) == 104


def test_a_pre_nt_client_open_andx_and_core_write_read_are_read_as_nt_create_and_andx() -> None:
    obs = converse(pre_nt_psexec_session())
    assert [(o.src_ip, o.fields) for o in obs if o.kind == "file_write"] == [
        ("10.0.0.1", {"smb1": True, "share": "ADMIN$", "share_class": "admin", "file": "PSEXESVC.exe",
                      "disposition": "overwrite_if", "created": True})]
    assert rpc_of(obs) == SVCCTL_CALLS
    assert rpc_of(converse(svcctl_session(over_core(svcctl_pdus())))) == SVCCTL_CALLS


def test_open_andx_reads_a_user_share_or_only_reads_admin_share_and_says_no_file() -> None:
    chunks = logon() + tree(4, "\\\\SRV\\Finance", DOCS, "A:") + open_andx(
        5, "\\Q3\\setup.exe", DOCS, FILE_FID, 2, access_mode=0x0041, open_mode=0x0012)
    chunks += [(True, b.direct(m.message(m.write(FILE_FID, b"MZ" * 900), mid=6, tid=DOCS)))]
    chunks += tree(8, "\\\\SRV\\C$", ADMIN, "A:") + open_andx(
        9, "\\WINDOWS\\notepad.exe", ADMIN, 0x4002, 1, access_mode=0x0040, open_mode=0x0001)
    chunks += [(True, b.direct(m.message(m.read(0x4002), mid=10, tid=ADMIN))),
               (False, b.direct(m.message(m.read_response(b"MZ" * 900), mid=10, tid=ADMIN, response=True)))]
    obs = converse(chunks)
    assert [o for o in obs if o.kind == "file_write" or o.proto == "dcerpc"] == []


def test_open_andx_names_its_dispositions_as_nt_create_does() -> None:
    for open_mode, result, disposition, created in ((0x0001, 1, "open", False), (0x0002, 3, "overwrite", True),
                                                    (0x0010, 2, "create", True), (0x0011, 1, "open_if", False),
                                                    (0x0012, 3, "overwrite_if", True)):
        chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, "A:") + open_andx(
            5, "\\Temp\\run.bat", ADMIN, FILE_FID, result, access_mode=0x0001, open_mode=open_mode)
        assert [(o.fields["disposition"], o.fields["created"]) for o in converse(chunks)
                if o.kind == "file_write"] == [(disposition, created)]


def test_limits_on_trees_pipes_and_waiting_requests() -> None:
    chunks: Chunks = []
    for i in range(smb2files.MAX_TREES + 5):
        chunks += tree(100 + i, f"\\\\SRV\\share{i}", 1000 + i, "A:")
    for i in range(smb2files.MAX_PIPES + 5):
        chunks += opened(300 + i, "\\svcctl", IPC, 2000 + i)
    for i in range(smb2files.MAX_PENDING + 5):
        chunks.append((True, b.direct(m.message(m.read_andx(2068), mid=500 + i, tid=IPC))))  # the newest pipe
    state: dict[str, Any] = {}
    converse(logon() + chunks[: 2 * (smb2files.MAX_TREES + 5)] + tree(4, "\\\\SRV\\IPC$", IPC, "IPC")
             + chunks[2 * (smb2files.MAX_TREES + 5) :], state=state)
    session = state["smb1"]
    assert len(session.trees) == smb2files.MAX_TREES and next(iter(session.trees)) == 1006 and IPC in session.trees
    assert len(session.pipes) == smb2files.MAX_PIPES and min(session.pipes) == 2005  # the oldest dropped
    assert len(session.pending) == smb2files.MAX_PENDING
    assert min(key[1] for key in session.pending) == 505  # the oldest dropped


def _copy(path: str, tid: int) -> Chunks:
    """A file written to ``path`` in WRITE_ANDX of 60,000 bytes past IDENTITY_BYTES, then svcctl on IPC$."""
    chunks = logon() + tree(4, path, tid, "A:") + opened(5, "\\data.bin", tid, FILE_FID, m.FILE_CREATED,
                                                          access=m.GENERIC_WRITE, pipe=False)
    for i in range(3):
        chunks += [(True, b.direct(m.message(m.write_andx(FILE_FID, b"\0" * 60_000, mode=0), mid=6 + i, tid=tid))),
                   (False, b.direct(m.message(m.write_andx_response(60_000), mid=6 + i, tid=tid, response=True)))]
    return chunks + svcctl_session(over_transact(svcctl_pdus()))[4:]


def test_past_its_identity_a_session_with_no_pipe_or_admin_share_open_is_left() -> None:
    state: dict[str, Any] = {}
    obs = converse(_copy("\\\\SRV\\Finance", DOCS), state=state)
    assert state["done"] and state["read"] >= IDENTITY_BYTES and not [o for o in obs if o.proto == "dcerpc"]


def test_a_session_with_an_admin_share_open_is_followed_past_its_identity_its_file_data_skipped() -> None:
    state: dict[str, Any] = {}
    obs = converse(_copy("\\\\SRV\\ADMIN$", ADMIN), state=state)
    assert state["read"] >= IDENTITY_BYTES and not state.get("done")
    assert [o.fields["operation"] for o in obs if o.kind == "request"] == [
        "OpenSCManagerW", "CreateServiceW", "StartServiceW"]
    assert state["messages_c2s"] < 12  # the three 60,000-byte WRITE_ANDX were skipped on their header, not read


def test_core_writes_of_file_data_past_its_identity_are_skipped_on_their_header() -> None:
    state: dict[str, Any] = {}
    obs = converse(pre_nt_psexec_session(blocks=3, size=60_000), state=state)
    assert state["read"] >= IDENTITY_BYTES and rpc_of(obs) == SVCCTL_CALLS
    without: dict[str, Any] = {}
    converse(pre_nt_psexec_session(blocks=0), state=without)
    assert state["messages_c2s"] == without["messages_c2s"]  # the three core WRITEs were skipped, not read


@pytest.mark.parametrize("op", ["write_andx", "write", "read_andx", "read"])
def test_more_file_writes_or_reads_than_max_messages_do_not_hide_the_calls_after_them(op: str) -> None:
    """A copy to (or from) ADMIN$ in more small WRITE_ANDX or core WRITEs (READ_ANDX, READs) than MAX_MESSAGES: they
    and their answers are skipped uncounted, so the IPC$ tree, the pipe and the calls after them are still read."""
    request, response = {"write_andx": (m.write_andx(FILE_FID, b"\x90" * 100, mode=0), m.write_andx_response(100)),
                         "write": (m.write(FILE_FID, b"\x90" * 100), m.write_response(100)),
                         "read_andx": (m.read_andx(FILE_FID, 100), m.read_andx_response(b"\x90" * 100)),
                         "read": (m.read(FILE_FID, 100), m.read_response(b"\x90" * 100))}[op]
    chunks = logon() + tree(4, "\\\\SRV\\ADMIN$", ADMIN, "A:") + opened(
        5, "\\data.bin", ADMIN, FILE_FID, m.FILE_CREATED, access=m.GENERIC_WRITE, pipe=False)
    for mid in range(100, 100 + MAX_MESSAGES + 50):
        chunks += [(True, b.direct(m.message(request, mid=mid, tid=ADMIN))),
                   (False, b.direct(m.message(response, mid=mid, tid=ADMIN, response=True)))]
    state: dict[str, Any] = {}
    obs = converse(chunks + svcctl_session(over_transact(svcctl_pdus()))[4:], state=state)
    assert rpc_of(obs) == SVCCTL_CALLS
    assert state["messages_c2s"] < 20 and state["messages_s2c"] < 20


def _session(which: str) -> Chunks:
    if which == "admin":
        return psexec_session()
    if which == "pre_nt":
        return pre_nt_psexec_session()
    calls = {"transact": over_transact, "rw": over_write_read, "chained": over_chained, "secondary": over_secondary,
             "core": over_core}[which](svcctl_pdus())
    return svcctl_session(calls)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["transact", "rw", "chained", "admin", "secondary", "core", "pre_nt"]),
       st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=6), st.integers(1, 97))
def test_mutated_pipe_and_file_sessions_keep_the_contract(which: str, edits: list[tuple[int, int]], cut: int) -> None:
    chunks = _session(which)
    stream = mutate(b"".join(data for _, data in chunks[4:]), edits, 1 << 20)
    converse(chunks[:4] + [(True, stream[i : i + cut]) for i in range(0, len(stream), cut)])


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["transact", "rw", "chained", "admin", "secondary", "core", "pre_nt"]),
       st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                max_size=6))
def test_messages_mutated_in_place_keep_the_contract_both_ways(which: str, edits: list[tuple[int, int, int]]) -> None:
    mutable = [(to_server, bytearray(data)) for to_server, data in _session(which)]
    for index, pos, value in edits:  # a byte of one message, server's or client's, past the logon
        data = mutable[4 + index % (len(mutable) - 4)][1]
        data[4 + pos % (len(data) - 4)] = value
    converse([(to_server, bytes(data)) for to_server, data in mutable])  # anything but ParseError fails
