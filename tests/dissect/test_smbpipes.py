"""The named pipes an SMB session follows (dissect/smbpipes.py), at their own level: tables keep their newest
entries, a lone TREE_CONNECT answer tells a pipe tree, a handle is adopted only on proof, a CREATE whose answer was lost
names the handle only when it is the one name waiting on that tree, and a pipe's calls give the binary path of a
service they create. Through the SMB dissector: tests/dissect/test_smb_unseen.py and test_smbstage.py."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect import smb2files, smbpipes
from iotwarden.dissect.base import Packet
from tests.dissect import dcerpc_pdus as rpc
from tests.dissect import test_smb2files as s

OPEN_SCM = rpc.request(0, 15, call_id=2)  # OpenSCManagerW: an opnum \PIPE\svcctl's interface names ([MS-SCMR] §3.1.4)
CLIENT = Packet(ts=1.0, payload=b"", src_ip="10.0.0.1", src_port=50000, dst_ip="10.0.0.2", dst_port=445, ip_proto=6,
                to_server=True)


def test_keep_holds_the_newest_entries_the_oldest_dropped() -> None:
    table: dict[Any, Any] = {}
    for key in range(smbpipes.MAX_PIPES + 1):
        smbpipes.keep(table, key, None, smbpipes.MAX_PIPES)
    smbpipes.keep(table, 1, None, smbpipes.MAX_PIPES)  # used again: the newest
    assert len(table) == smbpipes.MAX_PIPES and 0 not in table and list(table)[-1] == 1


@pytest.mark.parametrize(("pipe", "tree"), [(True, smbpipes.PIPE_TREE), (False, (None, smbpipes.UNSEEN, False))])
def test_a_lone_tree_connect_answer_tells_a_pipe_tree_from_a_disk_share(pipe: bool, tree: smbpipes.Tree) -> None:
    trees = smbpipes.Trees()
    smbpipes.lone_tree(trees, 7, pipe)
    assert trees == {7: tree} and smbpipes.may_be_pipe(trees, 7) is pipe and smbpipes.may_be_pipe(trees, 8)


def _waiting(*names: str) -> smb2files.Session:
    """A session that lost a segment, with svcctl's (and each other name's) pipe CREATE on IPC$ unanswered."""
    session = smb2files.Session(trees=smbpipes.Trees({s.IPC: smbpipes.PIPE_TREE}), lost=True)
    for message_id, name in enumerate(names, start=40):
        key = smb2files.PROVISIONAL + message_id.to_bytes(8, "little")
        session.pending[message_id] = (smb2files.CREATE, "pipe", key, s.IPC)
        session.pipes[key] = smbpipes.Pipe(name)
    return session


def test_a_call_on_a_handle_of_no_name_takes_the_one_create_whose_answer_was_lost() -> None:
    session = _waiting("svcctl")
    pipe = smbpipes.adopt(session, s.PIPE_ID, s.IPC, OPEN_SCM)
    assert pipe is not None and (pipe.name, pipe.inferred) == ("svcctl", True)
    assert session.pipes == {s.PIPE_ID: pipe} and session.pending == {}  # the provisional pipe taken over


@pytest.mark.parametrize(("names", "tree", "lost"), [
    (("svcctl", "srvsvc"), s.IPC, True),  # two names: OpenSCManagerW's opnum 15 is srvsvc's NetrShareEnum too
    (("svcctl",), 9, True),  # a CREATE on another tree
    (("svcctl",), s.IPC, False),  # no segment lost: the answer may still come, or the handle predates the capture
    (("netlogon",), s.IPC, True),  # no operation of \\PIPE\\netlogon's interface listed as opnum 15
])
def test_a_handle_is_not_taken_for_a_create_it_may_not_be(names: tuple[str, ...], tree: int, lost: bool) -> None:
    session = _waiting(*names)
    session.lost = lost
    session.trees[9] = smbpipes.PIPE_TREE
    assert smbpipes.adopt(session, s.PIPE_ID, tree, OPEN_SCM) is None and len(session.pending) == len(names)


def test_a_bind_on_a_handle_of_no_name_takes_the_create_name_too() -> None:
    session = _waiting("svcctl")
    pipe = smbpipes.adopt(session, s.PIPE_ID, s.IPC, s.svcctl_pdus()[0][0])
    assert pipe is not None and pipe.name == "svcctl"


def test_feed_pipe_gives_the_binary_path_of_a_service_created_and_nothing_else() -> None:
    pipe = smbpipes.Pipe("svcctl")
    out: list[Any] = []
    paths = [smbpipes.feed_pipe(CLIENT, pipe, client, out) for client, _ in s.svcctl_pdus()]
    assert paths == [[], [], [s.PSEXESVC_PATH], []]
    assert all("binary_path" not in o.fields and s.PSEXESVC_PATH not in str(o.fields) for o in out)
