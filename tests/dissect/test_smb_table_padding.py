"""An SMB session's bounded tables (dissect/smb2files.py MAX_TREES, MAX_PIPES; SMB1's in dissect/smb1files.py) drop
their oldest entry: a client that first fills them (shares connected, pipes left open, pipe CREATEs whose answers
are never seen) cannot keep its later IPC$ tree and svcctl pipe from being followed. Before, a full table refused
the newest entry, and 64 idle pipes in front of PsExec's calls hid them all."""

from __future__ import annotations

import tracemalloc
from typing import Any

from iotwarden.dissect import smb1trans, smb2files
from iotwarden.lab import smb1wire as m
from iotwarden.lab import smbwire as w
from tests.dissect import smbbuild as b
from tests.dissect import test_smb1files as s1
from tests.dissect import test_smb2files as s2
from tests.dissect.gapfeed import segments
from tests.dissect.test_smb2files import SVCCTL_CALLS, Chunks, converse, rpc_of, svcctl_pdus
from tests.dissect.test_smbresync import converse as converse_segments
from tests.dissect.test_smbstage import _svcctl, _writes


def _smb2_psexec(padding: Chunks) -> Chunks:
    return (s2.logon() + s2.tree(4, "\\\\SRV\\IPC$", s2.IPC, w.SHARE_PIPE) + padding
            + s2.opened(5, "svcctl", s2.IPC, s2.PIPE_ID) + s2.over_write_read(svcctl_pdus()))


def test_smb2_pipes_left_open_before_psexec_do_not_hide_its_calls() -> None:
    padding: Chunks = []
    for i in range(smb2files.MAX_PIPES):
        padding += s2.opened(300 + i, "srvsvc", s2.IPC, bytes([i + 1]) + b"\x77" * 15)
    assert rpc_of(converse(_smb2_psexec(padding))) == SVCCTL_CALLS


def test_smb2_pipe_creates_never_answered_do_not_hide_the_calls_after_them() -> None:
    padding: Chunks = [(True, w.direct(w.create(300 + i, "srvsvc", s2.IPC, s2.SID)))
                       for i in range(smb2files.MAX_PIPES)]
    assert rpc_of(converse(_smb2_psexec(padding))) == SVCCTL_CALLS


def test_smb2_shares_connected_before_ipc_do_not_keep_it_from_being_followed() -> None:
    padding: Chunks = []
    for i in range(smb2files.MAX_TREES):
        padding += s2.tree(100 + i, f"\\\\SRV\\share{i}", 1000 + i, w.SHARE_DISK)
    chunks = (s2.logon() + padding + s2.tree(4, "\\\\SRV\\IPC$", s2.IPC, w.SHARE_PIPE)
              + s2.opened(5, "svcctl", s2.IPC, s2.PIPE_ID) + s2.over_write_read(svcctl_pdus()))
    assert rpc_of(converse(chunks)) == SVCCTL_CALLS


def test_a_pipe_in_use_is_kept_while_newer_idle_ones_come_and_go() -> None:
    """The pipe used last is kept longest: svcctl bound, then as many other pipes opened, then its calls."""
    pdus = svcctl_pdus()
    padding: Chunks = []
    for i in range(smb2files.MAX_PIPES - 1):
        padding += s2.opened(300 + i, "srvsvc", s2.IPC, bytes([i + 1]) + b"\x77" * 15)
    chunks = (s2.logon() + s2.tree(4, "\\\\SRV\\IPC$", s2.IPC, w.SHARE_PIPE)
              + s2.opened(5, "svcctl", s2.IPC, s2.PIPE_ID) + s2.over_write_read(pdus[:1]) + padding
              + s2.over_write_read(pdus[1:], mid=40))
    assert rpc_of(converse(chunks)) == SVCCTL_CALLS


def test_smb1_pipes_and_trees_filled_before_psexec_do_not_hide_its_calls() -> None:
    padding: Chunks = []
    for i in range(smb2files.MAX_TREES):
        padding += s1.tree(100 + i, f"\\\\SRV\\share{i}", 0x1000 + i, "A:")
    padding += s1.tree(4, "\\\\SRV\\IPC$", s1.IPC, "IPC")
    for i in range(smb2files.MAX_PIPES):
        padding += s1.opened(300 + i, "\\srvsvc", s1.IPC, 0x2000 + i)
    chunks = s1.logon() + padding + s1.opened(5, "\\svcctl", s1.IPC, s1.PIPE_FID) + s1.over_transact(svcctl_pdus())
    assert rpc_of(converse(chunks)) == SVCCTL_CALLS


def test_smb1_transactions_awaiting_their_pieces_hold_what_came_not_what_they_announce() -> None:
    """A TransactNmPipe announcing TotalDataCount 65535 and sending 24 bytes (§2.2.4.33.1): the session keeps the 24
    bytes until its TRANSACTION_SECONDARY pieces come, not 64 KiB. Before, each of MAX_TRANSACTIONS such requests (a
    few hundred bytes on the wire) held 64 KiB: 1 MiB per connection, a thousand connections a gigabyte."""
    client, _ = svcctl_pdus()[1]
    calls: Chunks = [(True, b.direct(m.message(m.transact_nmpipe(s1.PIPE_FID, client[:24], total=0xFFFF),
                                               mid=100 + i, tid=s1.IPC))) for i in range(smb1trans.MAX_TRANSACTIONS)]
    state: dict[str, Any] = {}
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        converse(s1.svcctl_session(calls), state=state)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(state["smb1"].transactions) == smb1trans.MAX_TRANSACTIONS
    assert held < 128 * 1024, held


def _smb2_setup_on_software(trees: int) -> list[Any]:
    """setup.exe created and written on \\\\SRV\\Software (TreeId 7, its TREE_CONNECT seen), ``trees`` other shares
    connected between, then a service running %SystemRoot%\\setup.exe: what is said written."""
    padding: Chunks = []
    for i in range(trees):
        padding += s2.tree(100 + i, f"\\\\SRV\\share{i}", 1000 + i, w.SHARE_DISK)
    chunks = s2.logon() + s2.tree(4, "\\\\SRV\\Software", 7, w.SHARE_DISK) + padding + s2.opened(
        5, "setup.exe", 7, s2.FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED) + [
        (True, w.direct(w.write(6, s2.FILE_ID, b"\x90" * 4000, 7, s2.SID)))]
    cut = segments(chunks + s2.svcctl_session(s2.over_transceive(_svcctl("%SystemRoot%\\setup.exe")))[4:])
    return _writes(converse_segments(cut))


def _smb1_setup_on_software(trees: int) -> list[Any]:
    """The same over SMB1 (TID 0x0900)."""
    padding: Chunks = []
    for i in range(trees):
        padding += s1.tree(100 + i, f"\\\\SRV\\share{i}", 0x1000 + i, "A:")
    chunks = s1.tree(4, "\\\\SRV\\Software", 0x0900, "A:") + padding + s1.opened(
        5, "\\setup.exe", 0x0900, 0x4001, m.FILE_CREATED, access=m.GENERIC_WRITE, disposition=m.FILE_OVERWRITE_IF,
        pipe=False) + [(True, b.direct(m.message(m.write_andx(0x4001, b"\x90" * 4000, mode=0), mid=6, tid=0x0900)))]
    pdus = s1.over_transact(_svcctl("%SystemRoot%\\setup.exe"))
    return _writes(converse_segments(segments(s1.logon() + chunks + s1.svcctl_session(pdus)[4:])))


def test_a_user_share_pushed_out_of_the_trees_is_never_taken_for_one_not_seen() -> None:
    # Software, seen connected, then MAX_TREES other shares: its TreeId is dropped for room, and a file written
    # there is no file of a tree whose TREE_CONNECT was not seen (before: said written on ADMIN$, share_inferred,
    # once a service named it); one share fewer, it is still known as a user's: nothing said either way
    for trees in (smb2files.MAX_TREES - 1, smb2files.MAX_TREES):
        assert _smb2_setup_on_software(trees) == [], trees
        assert _smb1_setup_on_software(trees) == [], trees
