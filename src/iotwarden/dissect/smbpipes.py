"""The named pipes an SMB session follows, SMB2's (dissect/smb2files.py) and SMB1's (dissect/smb1files.py) alike: a
pipe (:class:`Pipe`) and the DCE/RPC its messages carry (:func:`feed_pipe`, ncacn_np, [MS-RPCE] §2.1.1.2, read by
dissect/dcerpc.py per pipe and direction), and how a pipe whose TREE_CONNECT or CREATE the capture missed (a hole, a
capture begun late) is still found: a TREE_CONNECT answer alone tells a pipe tree (:func:`lone_tree`), a handle not
followed is adopted as a pipe when what the client writes on it proves one (:func:`adopt`), and a handle of no known
name, in a session that lost a segment, is the pipe of a CREATE whose answer was lost when all such CREATEs name one
pipe (:func:`orphan`). Limits: :data:`MAX_TREES`, :data:`MAX_PIPES` (each dropping its oldest entry, :func:`keep`);
once a tree was dropped (:attr:`Trees.forgot`) a TreeId not known may be one seen connected, so no tree is taken for
one not seen any more: nothing is adopted on it, and no file staged on it (dissect/smbstage.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from iotwarden.dissect import dcerpc, dcerpcpdu, smbstage, streambuf
from iotwarden.dissect.base import Packet
from iotwarden.model import Observation

MAX_TREES = 64  # trees remembered per connection (TreeId -> share)
MAX_PIPES = 64  # open named pipes followed per connection
Tree = tuple[str | None, str, bool]  # a tree's share, its class (dissect/smbshare.py) and whether it is a pipe tree
IPC = "ipc"  # dissect/smbshare.py's class of IPC$, the share of named pipes
UNSEEN = smbstage.UNSEEN  # the class of a tree known from its TREE_CONNECT response alone: a disk share, its name not
# seen
# a tree whose TREE_CONNECT was not seen, shown to hold named pipes (ShareType PIPE, or a pipe adopted on it): IPC$, the
# only share of type STYPE_IPC ([MS-SRVS] §2.2.2.4)
PIPE_TREE: Tree = ("IPC$", IPC, True)


class Trees(dict[int, Tree]):
    """A connection's trees (TreeId or TID -> :data:`Tree`), oldest first, at most :data:`MAX_TREES`
    (:func:`keep_tree`). ``forgot``: one was dropped for room, so a TreeId not here may be that one (a user's share,
    IPC$) rather than a tree whose TREE_CONNECT was not seen (:func:`unseen`)."""

    forgot: bool = False


def keep_tree(trees: Trees, tree_id: int, tree: Tree) -> None:
    """:func:`keep` for :class:`Trees`: the oldest dropped past :data:`MAX_TREES`, ``trees`` forgot one."""
    if tree_id not in trees and len(trees) >= MAX_TREES:
        trees.forgot = True
    keep(trees, tree_id, tree, MAX_TREES)


def unseen(trees: Trees, tree_id: int | Tree | None) -> bool:
    """Whether ``tree_id`` (a TreeId or TID, or the tree a TREE_CONNECT of its compound or AndX chain asks for) is a
    tree whose TREE_CONNECT was not seen: not known, and no tree dropped for room (``forgot``) it may be."""
    return tree_id is None or (isinstance(tree_id, int) and tree_id not in trees and not trees.forgot)


@dataclass
class Pipe:
    """An open named pipe: its name (None when its CREATE was not seen), the DCE/RPC state of its calls, one byte
    buffer per direction; ``inferred``: taken for a pipe from what it carried (:func:`adopt`), not from its CREATE on
    IPC$."""

    name: str | None
    rpc: dict[str, Any] = field(default_factory=dict)
    inferred: bool = False


def keep(table: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """``table[key] = value`` as its newest entry, the oldest dropped past ``limit``: a session that opened more trees
    or pipes than are remembered (left open, refused creates never answered, padding) cannot keep a later one (IPC$,
    svcctl) from being followed, as refusing the newest did."""
    table.pop(key, None)
    table[key] = value
    dcerpc.del_oldest(table, limit)


class Handles(Protocol):
    """What :func:`adopt` needs of an SMB2 or SMB1 session (dissect/smb2files.py's Session, dissect/smb1files.py's)."""

    trees: Trees
    pipes: dict[Any, Pipe]
    unseen: dict[Any, str]
    let_go: dict[Any, None]
    lost: bool

    def orphans(self) -> list[tuple[Any, str, Any]]: ...

    def take_orphan(self, request: Any, key: Any, /) -> Pipe: ...


def may_be_pipe(trees: Trees, tree_id: int | Tree | None) -> bool:
    """Whether a handle of ``tree_id`` (a TreeId or TID, or the tree a TREE_CONNECT of its compound or AndX chain asks
    for) may be a named pipe: its tree holds pipes or was not seen connected (:func:`unseen`)."""
    tree = tree_id if isinstance(tree_id, tuple) else trees.get(tree_id) if tree_id is not None else None
    return tree[2] if tree is not None else unseen(trees, tree_id)


def lone_tree(trees: Trees, tree_id: int, pipe: bool) -> None:
    """A tree connect's response whose request was not seen: what it says of the share (SMB2 ShareType, §2.2.10; SMB1
    Service, [MS-CIFS] §2.2.4.55.2) still tells a pipe tree (:data:`PIPE_TREE`) from a disk or print share, whose name
    stays unknown (:data:`UNSEEN`)."""
    keep_tree(trees, tree_id, PIPE_TREE if pipe else (None, UNSEEN, False))


def adopt(session: Handles, key: Any, tree: int | Tree | None, data: bytes) -> Pipe | None:
    """A handle (FileId, FID) whose pipe CREATE was not seen (lost, or before the capture), written to or transacted on
    by the client with ``data``: followed as a named pipe when ``data`` proves it one (dcerpc.opens_pipe: one whole
    PDU, a bind of a known interface, or a call the name its CREATE gave it on a tree not seen implies), never on a
    tree known to hold no pipes (a disk share's file is no pipe, whatever its bytes), nor once let go as no DCE/RPC
    (Session.let_go, where a handle whose ``data`` begins no PDU goes: a file's); its Observations say
    ``pipe_inferred``. A tree not seen connected that holds one is IPC$ (:data:`PIPE_TREE`). A handle of no known name
    in a session that lost a segment takes the name of a CREATE whose answer was lost (:func:`orphan`), and that
    CREATE's pipe."""
    if key in session.let_go or not may_be_pipe(session.trees, tree):
        return None
    name = session.unseen.get(key)
    lost = orphan(session, tree, data) if name is None and session.lost else None
    if lost is not None:
        name = lost[1]
    if not dcerpc.opens_pipe(data, name):
        if dcerpcpdu.header(data) is None:  # a file's data: its later writes are skipped on their headers (skippable)
            keep(session.let_go, key, None, MAX_PIPES)
        return None
    session.unseen.pop(key, None)
    if isinstance(tree, int) and tree not in session.trees:
        keep_tree(session.trees, tree, PIPE_TREE)
    if lost is not None:
        pipe = session.take_orphan(lost[0], key)
        pipe.inferred = True
        return pipe
    pipe = Pipe(name, inferred=True)
    keep(session.pipes, key, pipe, MAX_PIPES)
    return pipe


def orphan(session: Handles, tree: int | Tree | None, data: bytes) -> tuple[Any, str] | None:
    """(the request, the name) of the open whose answer was lost that a handle of no known name on ``tree``, written
    ``data``, is: the session's pipe CREATEs, and CREATEs on trees not seen connected, still awaiting their answers on
    the same tree (the client knows a FileId only from an answer: a handle it uses while one never came is that one's,
    or one opened before the capture), when they all name one pipe and ``data`` fits it (dcerpc.opens_pipe: a call
    its interface names, or a bind); the oldest is taken. Opens of two names leave the handle unnamed: an opnum that
    one's interface names may be another call of the other's."""
    waiting = [(request, name) for request, name, where in session.orphans()
               if where == tree or not isinstance(where, int) or not isinstance(tree, int)]
    if len({name for _, name in waiting}) != 1 or not dcerpc.opens_pipe(data, waiting[0][1]):
        return None
    return waiting[0]


def feed_pipe(pkt: Packet, pipe: Pipe, data: bytes, out: list[Observation]) -> list[str]:
    """A pipe's bytes of ``pkt``'s direction to dissect/dcerpc.py's PDU reader, its Observations with ``named_pipe``;
    the binary path of each service its calls create (dissect/smbstage.py: never an Observation's field). ParseError
    when they are no DCE/RPC (SMB2 here and SMB1 in dissect/smb1files.py share it)."""
    paths: list[str] = []
    if not data:
        return paths
    pipe.rpc.setdefault("client", True)  # the SMB client calls: its direction's PDUs are requests (dcerpc.lose)
    lost = "lost_" + streambuf.direction_key(pkt.to_server)
    if lost in pipe.rpc:  # after a hole in the SMB stream (dcerpc.lose): read again from a pipe message that begins
        if not dcerpc.resync_at(data, 0, pipe.rpc, pkt.to_server, strict=False):  # a PDU; the rest of one is dropped
            pipe.rpc[lost] += len(data)
            return paths
        del pipe.rpc[lost]
    buf = streambuf.append(pipe.rpc, pkt.to_server, data, dcerpcpdu.MAX_FRAGMENT)
    extra: dict[str, Any] = {"named_pipe": pipe.name, **({"pipe_inferred": True} if pipe.inferred else {})}
    for pdu, head in dcerpc.take_pdus(buf):
        made = len(out)
        dcerpc.observe(pkt, pdu, head, pipe.rpc, out, extra=extra)
        if len(out) > made and out[-1].kind == "request" and out[-1].fields.get("interface") == "svcctl":
            path = smbstage.binary_path(pdu, head, out[-1].fields.get("operation"))
            if path:
                paths.append(path)
    streambuf.bound(pipe.rpc, buf, dcerpcpdu.MAX_FRAGMENT)
    return paths

