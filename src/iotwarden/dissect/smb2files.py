"""What an SMB2 session opens ([MS-SMB2] §2.2.9-§2.2.32): its trees (TreeId -> share), the named pipes it opens on
IPC$, whose WRITE, READ and IOCTL FSCTL_PIPE_TRANSCEIVE payloads carry DCE/RPC (ncacn_np, [MS-RPCE] §2.1.1.2) read
by dissect/dcerpc.py per pipe and direction, and the files it creates for writing on an administrative share.

:class:`Session` keeps one connection's state between messages and reads one SMB2 header at a time (of a
compounded message too). A request is matched to its response by MessageId (§3.2.4.1.3); an interim STATUS_PENDING
response (§3.3.4.2) keeps the request waiting. In a compound of related operations (§3.2.4.1.4:
SMB2_FLAGS_RELATED_OPERATIONS) a FileId 0xFFFFFFFFFFFFFFFF or TreeId 0xFFFFFFFF is the one the previous operation
used or created (§3.3.5.2.7.2); a pipe is followed from its CREATE request under a provisional key, so that a WRITE,
READ, IOCTL or CLOSE compounded after the CREATE reaches it, and its successful CREATE response gives it its FileId.
A CREATE related to a TREE_CONNECT of the same compound opens its file in the tree that TREE_CONNECT asks for (its
TreeId is known only from the response): the share its request names, a pipe tree when it is IPC$.
Observations:

* ``dcerpc`` PDUs of a pipe as dissect/dcerpc.py reports them on TCP, with ``named_pipe`` (the CREATE's name,
  e.g. ``svcctl``; None when it was not seen) and ``pipe_inferred`` (True on an adopted pipe's): the client's WRITE
  data and IOCTL input, the server's READ data and IOCTL output;
* ``smb`` ``file_write`` (subject the client, on the server's successful CREATE response): a file created or opened
  for writing on an administrative share (dissect/smbshare.py class ``admin``: ADMIN$, C$..Z$), with ``share``,
  ``file`` (its path in the share), ``disposition`` and ``created``; when its tree was not seen connected, or its
  CREATE's answer was lost (``created`` None), said once a service's binary path names it (dissect/smbstage.py), with
  ``share_inferred`` in the first case. A user share's file names are never kept.

Not read: file data (SMB1's trees and pipes are dissect/smb1files.py's). Limits: smbpipes.MAX_TREES and MAX_PIPES,
:data:`MAX_PENDING` (each dropping its oldest entry, a pipe's age counted from its last use), smbstage.MAX_STAGED and
MAX_KNOWN; a
pipe's unconsumed bytes are one DCE/RPC fragment at most (dcerpcpdu.MAX_FRAGMENT). After a lost TCP segment
(dissect/smb.py ``gap``) each pipe's reader of that direction drops its partial PDU and reads again from the next pipe
message that begins a PDU.

A pipe whose TREE_CONNECT or CREATE was not captured (a hole, a capture begun late) is still found
(dissect/smbpipes.py, shared with SMB1): a TREE_CONNECT response alone still says whether its tree holds pipes
(``lone_tree``), a CREATE on a tree not seen keeps its name for its FileId (``Session.unseen``), a handle not followed
on a tree that may hold pipes is adopted as one when the client's WRITE or FSCTL_PIPE_TRANSCEIVE on it proves it
(``adopt``, dcerpc.opens_pipe), and a handle of no known name, in a session that lost a segment, is the pipe of a
CREATE whose answer was lost when all such CREATEs on its tree name one pipe (``orphan``, ``Session.orphans``); such a
pipe's ``dcerpc`` Observations say ``pipe_inferred``. A handle of a tree known to hold no pipes is never one. After a
hole, a session using a tree it never saw connected is followed (``Session.following``): the lost TREE_CONNECT may
have been ADMIN$'s, and a file created for writing and written there is ``file_write`` with ``share_inferred`` once a
service the session creates runs it (dissect/smbstage.py, ``Session.staged``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from iotwarden.dissect import dcerpc, dcerpcpdu, smb2, smbstage, streambuf
from iotwarden.dissect.base import Packet
from iotwarden.dissect.smbpipes import (
    IPC,
    MAX_PIPES,
    MAX_TREES,  # noqa: F401  (smb2files.MAX_TREES: its limits' names, as the module docstring gives them)
    UNSEEN,
    Pipe,
    Tree,
    Trees,
    adopt,
    feed_pipe,
    keep,
    keep_tree,
    lone_tree,
    may_be_pipe,
    unseen,
)
from iotwarden.errors import ParseError
from iotwarden.model import Observation

HEADER = smb2.HEADER  # §2.2.1.2 SYNC header
TREE_CONNECT, CREATE, CLOSE, READ, WRITE, IOCTL = 0x0003, 0x0005, 0x0006, 0x0008, 0x0009, 0x000B  # §2.2.1.2 Command
FLAGS_SERVER_TO_REDIR, FLAGS_ASYNC_COMMAND, FLAGS_RELATED_OPERATIONS = 0x00000001, 0x00000002, 0x00000004  # §2.2.1.2
RELATED_FILE_ID = b"\xff" * 16  # §3.2.4.1.4: in a related operation, the FileId of the previous one in the compound
RELATED_TREE_ID = 0xFFFFFFFF  # and its TreeId (§3.3.5.2.7.2)
PROVISIONAL = b"\xff" * 8  # a pipe's key until its CREATE is answered: these 8 bytes, then the CREATE's MessageId
SHARE_TYPE_PIPE = 0x02  # §2.2.10 ShareType
FSCTL_PIPE_TRANSCEIVE = 0x0011C017  # §2.2.31 CtlCode ([MS-FSCC] §2.3.49)
SESSION_SETUP = 0x0001  # §2.2.5
SESSION_FLAG_BINDING = 0x01  # §2.2.5 Flags: bind an existing session to this connection (SMB 3.x multichannel)
STATUS_SUCCESS, STATUS_PENDING, STATUS_BUFFER_OVERFLOW = 0x00000000, 0x00000103, 0x80000005  # [MS-ERREF] §2.3.1
# DesiredAccess bits that write ([MS-SMB2] §2.2.13.1.1): FILE_WRITE_DATA, FILE_APPEND_DATA, GENERIC_ALL, GENERIC_WRITE
WRITE_ACCESS = 0x00000002 | 0x00000004 | 0x10000000 | 0x40000000
DISPOSITIONS = ("supersede", "open", "create", "open_if", "overwrite", "overwrite_if")  # §2.2.13 CreateDisposition
WRITING_DISPOSITIONS = frozenset({0, 2, 4, 5})  # every one but FILE_OPEN and FILE_OPEN_IF creates or truncates
FILE_DIRECTORY_FILE = 0x00000001  # §2.2.13 CreateOptions
CREATED_ACTIONS = frozenset({0, 2, 3})  # §2.2.14 CreateAction: FILE_SUPERSEDED, FILE_CREATED, FILE_OVERWRITTEN
ADMIN = "admin"  # dissect/smbshare.py's class of ADMIN$ and C$..Z$
MAX_PENDING = 128  # requests awaiting their response (tree connects, creates, pipe reads)
MAX_NAME = 260  # characters of a file or pipe name kept (MAX_PATH)


# what 0xFF..FF names in a related operation: the file's key, and the TreeId, or the tree a TREE_CONNECT before it in
# the compound asks for (its TreeId is known only from its response)
Related = tuple[bytes | None, int | Tree | None]
NOTHING_RELATED: Related = (None, None)  # before a compound's first operation


@dataclass
class Session:
    """One connection's trees, open pipes and waiting requests."""

    trees: Trees = field(default_factory=Trees)  # TreeId -> share, class, pipe
    pipes: dict[bytes, Pipe] = field(default_factory=dict)  # FileId -> pipe
    pending: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # MessageId -> what the request was
    unseen: dict[bytes, str] = field(default_factory=dict)  # FileId -> name, of a CREATE on a tree not seen connected
    # handles that carried no DCE/RPC (a pipe let go, a handle whose write began no PDU): never adopted, their WRITEs
    # skipped on their headers
    let_go: dict[bytes, None] = field(default_factory=dict)
    # FileId (a CREATE's provisional key till answered; a closed one's none) -> a file created for writing on a tree
    # not seen connected, or on an administrative share by a CREATE whose answer was lost, till a service names it
    staged: dict[Any, smbstage.Staged] = field(default_factory=dict)
    # FileIds that are no lost answer's, never bound to a staged open (smbstage.given, MAX_KNOWN)
    known: smbstage.Known = field(default_factory=smbstage.Known)
    lost: bool = False  # a TCP segment of the session was lost (dissect/smb.py gap)
    blind: bool = False  # a request used a tree whose TREE_CONNECT was not seen, or a lone response connected one

    def skippable(self, head: bytes | bytearray) -> bool:
        """Whether a lone SMB2 message beginning with ``head`` (its first 64 + 32 bytes, or all of a shorter one)
        serves only a file's data: a WRITE or READ request on no followed pipe, a READ response to no pipe read, or
        any WRITE response (§2.2.22: the count written). Its bytes need not be kept, nor counted as a message read,
        so that a long copy's thousands of them do not use up MAX_MESSAGES before the calls that follow."""
        if len(head) < HEADER or head[:4] != b"\xfeSMB" or head[20:24] != b"\0\0\0\0":
            return False
        command, flags = struct.unpack_from("<H", head, 12)[0], struct.unpack_from("<I", head, 16)[0]
        if command not in (WRITE, READ):
            return False
        if flags & FLAGS_SERVER_TO_REDIR:
            return command == WRITE or struct.unpack_from("<Q", head, 24)[0] not in self.pending
        # §2.2.19, §2.2.21: a READ's and a WRITE's FileId at the same place
        if len(head) < HEADER + 32 or (file_id := bytes(head[HEADER + 16 : HEADER + 32])) in self.pipes:
            return False
        # a WRITE that may be a pipe's whose CREATE was lost (one DCE/RPC fragment at most): read, for adopt to judge
        return command == READ or file_id in self.let_go or not may_be_pipe(
            self.trees, struct.unpack_from("<I", head, 36)[0]) or struct.unpack_from(
            "<I", head, HEADER + 4)[0] > dcerpcpdu.MAX_FRAGMENT

    def wrote(self, head: bytes | bytearray) -> None:
        """A message skipped on its header (``head``, dissect/smb.py) that is a WRITE request: a file staged on its
        handle and tree was written, or its handle is known (dissect/smbstage.written)."""
        if len(head) < HEADER + 32 or head[:4] != b"\xfeSMB":
            return
        if struct.unpack_from("<H", head, 12)[0] == WRITE and not struct.unpack_from("<I", head, 16)[0] & (
                FLAGS_SERVER_TO_REDIR):  # §2.2.21 FileId; §2.2.1.2 TreeId
            smbstage.written(self.staged, self.known, self.trees, bytes(head[HEADER + 16 : HEADER + 32]),
                             struct.unpack_from("<I", head, 36)[0])

    def following(self) -> bool:
        """Whether the session has something to follow: a named pipe open, a tree on an administrative share, or
        a tree connect or CREATE awaiting its answer."""
        return bool(self.pipes) or any(tree[1] == ADMIN for tree in self.trees.values()) or any(
            what[0] in (TREE_CONNECT, CREATE) for what in self.pending.values()) or (self.lost and self.blind)

    def message(self, pkt: Packet, msg: bytes, out: list[Observation], *, cut: bool = False) -> None:
        """Follow every header of one transport message (NextCommand chains, §3.2.4.1.4); ``cut``: ``msg`` is the
        head of a longer message, its last command cut short."""
        at, related = 0, NOTHING_RELATED
        while len(msg) - at >= HEADER and msg[at : at + 4] == b"\xfeSMB":
            next_command = struct.unpack_from("<I", msg, at + 20)[0]
            end = at + next_command if next_command else len(msg)
            if next_command and (next_command < HEADER or end > len(msg)):
                if cut and next_command >= HEADER:
                    end = len(msg)  # the command the head was cut in: what it has is read
                else:
                    raise ParseError("smb2: NextCommand outside the message")
            related = self._command(pkt, msg[at:end], related, out)
            if not next_command or end == len(msg):
                return
            at = end

    def _command(self, pkt: Packet, msg: bytes, related: Related, out: list[Observation]) -> Related:
        """Follow one header; what a related operation after it names by 0xFF..FF: the file (a CREATE's provisional
        key, else the FileId the request used, else as before) and the TreeId this one used, or the tree a
        TREE_CONNECT asks for."""
        status, command, _, flags = struct.unpack_from("<IHHI", msg, 8)
        message_id = struct.unpack_from("<Q", msg, 24)[0]
        tree_id = None if flags & FLAGS_ASYNC_COMMAND else struct.unpack_from("<I", msg, 36)[0]
        body = msg[HEADER:]
        if not flags & FLAGS_SERVER_TO_REDIR:
            is_related = bool(flags & FLAGS_RELATED_OPERATIONS)
            tree: int | Tree | None = tree_id
            if is_related and tree_id == RELATED_TREE_ID:
                tree = related[1]
            if command == TREE_CONNECT:
                return related[0], self._tree_connect(msg, message_id)
            if isinstance(tree, int) and tree and tree not in self.trees:
                self.blind = True  # its TREE_CONNECT lost, or before the capture
            if command == CREATE:
                return self._create_request(msg, body, message_id, tree), tree
            used = self._request(pkt, msg, body, command=command, message_id=message_id, tree=tree,
                                 related=related[0] if is_related else None, out=out)
            return (related[0] if used is None else used), tree
        if status != STATUS_PENDING:  # an interim response: the final one follows (§3.3.4.2)
            waiting = self.pending.pop(message_id, None)
            if waiting is not None and waiting[0] == command:
                self._response(pkt, msg, body, waiting, status=status, tree_id=tree_id, out=out)
            elif waiting is None and command == TREE_CONNECT and status == STATUS_SUCCESS and tree_id is not None \
                    and len(body) >= 4 and tree_id not in self.trees:
                self.blind = True  # §2.2.10 ShareType: a pipe tree (IPC$), or a disk or print share of unknown name
                lone_tree(self.trees, tree_id, body[2] == SHARE_TYPE_PIPE)
        return related

    def _wait(self, message_id: int, what: tuple[Any, ...]) -> None:
        self.pending[message_id] = what
        dcerpc.del_oldest(self.pending, MAX_PENDING)

    def _request(self, pkt: Packet, msg: bytes, body: bytes, *, command: int, message_id: int,
                 tree: int | Tree | None, related: bytes | None, out: list[Observation]) -> bytes | None:
        """One request other than CREATE; ``related``: the key its FileId names if it is 0xFF..FF (§3.2.4.1.4). The
        key of the file it used, None for a command whose FileId is not read here."""
        if command == CLOSE and len(body) >= 24:
            file_id = _file_id(body[8:24], related)  # §2.2.15: the FileId closed
            self.unseen.pop(file_id, None)
            self.let_go.pop(file_id, None)
            smbstage.closed(self.staged, self.known, file_id, tree)
            if any(what[0] in (READ, IOCTL) and what[1] == file_id for what in self.pending.values()):
                self._wait(message_id, (CLOSE, file_id))  # a call on it awaits its answer: let go once closed
            else:
                self.pipes.pop(file_id, None)
            return file_id
        elif command == WRITE:
            if len(body) < 32:
                raise ParseError("smb2: truncated WRITE request")
            file_id = _file_id(body[16:32], related)
            pipe = self.pipes.get(file_id)
            offset, length = struct.unpack_from("<HI", body, 2)
            smbstage.written(self.staged, self.known, self.trees, file_id, tree)
            if pipe is None and length <= dcerpcpdu.MAX_FRAGMENT:
                pipe = adopt(self, file_id, tree, smb2.buffer_at(msg, offset, length))
            if pipe is not None:
                self._feed(pkt, file_id, pipe, smb2.buffer_at(msg, offset, length), out)
            return file_id
        elif command == READ and len(body) >= 32:
            file_id = _file_id(body[16:32], related)
            if file_id in self.pipes:
                self._wait(message_id, (READ, file_id))
            return file_id
        elif command == IOCTL:
            if len(body) < 32:
                raise ParseError("smb2: truncated IOCTL request")
            code, file_id = struct.unpack_from("<I", body, 4)[0], _file_id(body[8:24], related)
            pipe = self.pipes.get(file_id)
            if code != FSCTL_PIPE_TRANSCEIVE:
                return file_id
            offset, length = struct.unpack_from("<II", body, 24)
            if pipe is None:
                pipe = adopt(self, file_id, tree, smb2.buffer_at(msg, offset, length))
            if pipe is not None:
                self._wait(message_id, (IOCTL, file_id))
                self._feed(pkt, file_id, pipe, smb2.buffer_at(msg, offset, length), out)
            return file_id
        elif command == SESSION_SETUP and len(body) >= 3 and body[2] & SESSION_FLAG_BINDING:
            self.known.shared = True  # a channel of a session set up elsewhere: its handles may be given there
        return None

    def _tree_connect(self, msg: bytes, message_id: int) -> Tree:
        """A TREE_CONNECT request awaits its response, which names its TreeId (§2.2.10); the tree it asks for, which
        a CREATE compounded after it as a related operation (TreeId 0xFFFFFFFF, §3.2.4.1.4) opens its file in: a pipe
        tree when the share is IPC$ (a server gives IPC$, STYPE_IPC in [MS-SRVS] §2.2.2.4, ShareType PIPE:
        [MS-SMB2] §3.3.5.7)."""
        share = smb2.tree_connect_share(msg)
        asked: Tree = (share.get("share"), share.get("share_class", "user"), share.get("share_class") == IPC)
        self._wait(message_id, (TREE_CONNECT, asked[0], asked[1]))
        return asked

    def _create_request(self, msg: bytes, body: bytes, message_id: int, tree_id: int | Tree | None) -> bytes | None:
        """A CREATE of a pipe (followed at once: its provisional key, which it returns) or of a file for writing on
        an administrative share awaits its response; ``tree_id`` may be the tree a TREE_CONNECT of the same compound
        asks for. If that TREE_CONNECT fails, so does the CREATE (§3.3.5.2.7.2), and its pipe is let go."""
        tree = tree_id if isinstance(tree_id, tuple) else self.trees.get(tree_id) if tree_id is not None else None
        if tree is None and not isinstance(tree_id, int):
            return None
        if len(body) < 56:
            raise ParseError("smb2: truncated CREATE request")
        access, disposition, options, offset, length = struct.unpack_from("<I8xIIHH", body, 24)
        name = smb2.buffer_at(msg, offset, length).decode("utf-16-le", "replace")[:MAX_NAME]
        what = writing(access, disposition, options)
        if tree is None and not unseen(self.trees, tree_id):
            return None  # a tree dropped for room may be this one (a user's share, IPC$): nothing inferred of it
        if tree is None or tree[1] == UNSEEN:  # its tree's TREE_CONNECT not seen: the name waits for what the handle
            # carries (adopt; a disk share's file is no pipe) and, if it writes, for a service naming it (smbstage)
            staged = None if what is None else smbstage.Staged(name, tree_id, what, created=False)
            if tree is None or staged is not None:
                self._wait(message_id, (CREATE, UNSEEN, None if tree else name, tree_id, staged))
            return None
        share, share_class, pipe = tree
        if pipe:
            key = PROVISIONAL + struct.pack("<Q", message_id)
            self._wait(message_id, (CREATE, "pipe", key, tree_id))
            keep(self.pipes, key, Pipe(name), MAX_PIPES)
            return key
        if share_class == ADMIN and what is not None:  # staged till answered, in case its answer is lost (smbstage)
            key = PROVISIONAL + struct.pack("<Q", message_id)
            smbstage.stage(self.staged, key, smbstage.Staged(name, tree_id, what, created=None, share=share),
                           self.known)
            self._wait(message_id, (CREATE, "file", share, name, what, key))
        return None

    def _response(self, pkt: Packet, msg: bytes, body: bytes, waiting: tuple[Any, ...], *, status: int,
                  tree_id: int | None, out: list[Observation]) -> None:
        command = waiting[0]
        ok = status in (STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW)  # a pipe message longer than the read: OVERFLOW
        if command == CREATE and waiting[1] == "pipe":
            if ok and len(body) < 80:
                raise ParseError("smb2: truncated CREATE response")
            self._pipe_opened(waiting[2], body[64:80] if ok else None)
            return
        if command == CREATE and waiting[1] == "file":
            self.staged.pop(waiting[5], None)  # answered: its file_write is said (or it was refused)
        if not ok:
            return  # refused
        if command == CREATE and waiting[1] == UNSEEN:
            if len(body) < 80:
                raise ParseError("smb2: truncated CREATE response")
            _, _, name, _, staged = waiting
            if name is not None:
                keep(self.unseen, body[64:80], name, MAX_PIPES)
            if staged is not None:
                staged.created = struct.unpack_from("<I", body, 4)[0] in CREATED_ACTIONS
                smbstage.stage(self.staged, body[64:80], staged, self.known)
            return
        if command == TREE_CONNECT and tree_id is not None and len(body) >= 4:
            keep_tree(self.trees, tree_id, (waiting[1], waiting[2], body[2] == SHARE_TYPE_PIPE))
        elif command == CREATE:
            if len(body) < 80:
                raise ParseError("smb2: truncated CREATE response")
            _, _, share, name, disposition, _ = waiting
            smbstage.given(self.known, body[64:80])  # §2.2.14 FileId: its WRITEs are no lost answer's
            fields = {"smb1": False, "share": share, "share_class": ADMIN, "file": name,
                      "disposition": disposition, "created": struct.unpack_from("<I", body, 4)[0] in CREATED_ACTIONS}
            out.append(streambuf.oriented(pkt, True).observation("smb", "file_write", fields))
        elif command == CLOSE:
            self.pipes.pop(waiting[1], None)
        elif command in (READ, IOCTL):
            pipe = self.pipes.get(waiting[1])
            if pipe is None:
                return
            if command == READ:
                if len(body) < 8:
                    raise ParseError("smb2: truncated READ response")
                offset, length = body[2], struct.unpack_from("<I", body, 4)[0]
            else:
                if len(body) < 40:
                    raise ParseError("smb2: truncated IOCTL response")
                offset, length = struct.unpack_from("<II", body, 32)
            self._feed(pkt, waiting[1], pipe, smb2.buffer_at(msg, offset, length), out)

    def _pipe_opened(self, key: bytes, file_id: bytes | None) -> Pipe | None:
        """A pipe's CREATE answered with ``file_id`` (§2.2.14) or refused (None): the pipe followed under ``key`` takes
        the FileId the server gave it, and so do the requests on it that await their answers, or is let go."""
        pipe = self.pipes.pop(key, None)
        if pipe is None or file_id is None:
            return None
        keep(self.pipes, file_id, pipe, MAX_PIPES)
        for message_id, what in self.pending.items():
            if what[0] in (READ, IOCTL, CLOSE) and what[1] == key:
                self.pending[message_id] = (what[0], file_id)
        return pipe

    def orphans(self) -> list[tuple[int, str, int | Tree | None]]:
        """(MessageId, name, tree) of each CREATE of a pipe, or of a name on a tree not seen connected, whose answer
        has not come (:func:`adopt`)."""
        return [(message_id, self.pipes[what[2]].name or "" if what[1] == "pipe" else what[2], what[3])
                for message_id, what in self.pending.items() if what[0] == CREATE and (
                    (what[1] == "pipe" and what[2] in self.pipes) or (what[1] == UNSEEN and what[2] is not None))]

    def take_orphan(self, message_id: int, file_id: bytes) -> Pipe:
        """The pipe a CREATE whose answer was lost opened, followed from now on as ``file_id``'s (:func:`adopt`)."""
        what = self.pending.pop(message_id)
        pipe = self._pipe_opened(what[2], file_id) if what[1] == "pipe" else None
        if pipe is None:
            pipe = Pipe(what[2])
            keep(self.pipes, file_id, pipe, MAX_PIPES)
        return pipe

    def _feed(self, pkt: Packet, file_id: bytes, pipe: Pipe, data: bytes, out: list[Observation]) -> None:
        """A pipe's bytes to its DCE/RPC reader (:func:`feed_pipe`); a pipe that is no DCE/RPC is let go. A service
        its calls create names a file staged on a tree not seen connected: that file's ``file_write`` comes before
        them (dissect/smbstage.py)."""
        keep(self.pipes, file_id, pipe, MAX_PIPES)  # used last: kept longest
        try:
            made = len(out)
            for path in feed_pipe(pkt, pipe, data, out):
                out[made:made] = smbstage.infer(self.staged, self.trees, path, pkt, smb1=False)
        except ParseError:
            keep(self.let_go, file_id, None, MAX_PIPES)
            del self.pipes[file_id]
            raise


def writing(access: int, disposition: int, options: int) -> str | None:
    """The CreateDisposition's name (§2.2.13; SMB1's NT_CREATE_ANDX has the same values) of an open that creates or
    opens a file for writing (write access, or a disposition that creates or truncates; no directory), else None."""
    if options & FILE_DIRECTORY_FILE or not (access & WRITE_ACCESS or disposition in WRITING_DISPOSITIONS):
        return None
    return DISPOSITIONS[disposition] if disposition < len(DISPOSITIONS) else str(disposition)


def _file_id(file_id: bytes, related: bytes | None) -> bytes:
    """The key of the file a request names: ``related`` (the previous operation's in its compound) for 0xFF..FF in
    a related operation (§3.3.5.2.7.2), else its FileId."""
    return related if related is not None and file_id == RELATED_FILE_ID else file_id
