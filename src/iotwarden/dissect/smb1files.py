"""What an SMB1 session opens ([MS-CIFS] §2.2.4, [MS-SMB] §2.2.4): its trees (TID -> share), the named pipes it opens
on IPC$, whose WRITE_ANDX, READ_ANDX and TRANSACTION TransactNmPipe payloads carry DCE/RPC (ncacn_np, [MS-RPCE]
§2.1.1.2) read by dissect/dcerpc.py per pipe and direction, and the files it creates for writing on an administrative
share: dissect/smb2files.py's reading for the SMB1 of older Windows (XP, 2003, 7 HMIs) and of SMB1-mode tools.

:class:`Session` keeps one connection's state and follows each message's AndX chain (§2.2.3.4, at most
smb1.MAX_ANDX commands). A request is matched to its response by PID, MID (§3.2.5.1) and command. Observations are
smb2files.py's, with ``smb1`` True on ``file_write``:

* ``dcerpc`` PDUs of a pipe with ``named_pipe`` (NT_CREATE_ANDX's or OPEN_ANDX's name, e.g. ``svcctl``): the
  client's WRITE_ANDX data (§2.2.4.43.1), core WRITE data (§2.2.4.12.1) and TransactNmPipe WriteData (§2.2.5.6.1,
  continued in TRANSACTION_SECONDARY requests, §2.2.4.34.1, when larger than one message), the server's READ_ANDX
  data (§2.2.4.42.2), core READ data (§2.2.4.11.2) and TransactNmPipe ReadData (§2.2.5.6.2, in as many responses as
  it takes);
* ``smb`` ``file_write`` (the client's, on the server's successful NT_CREATE_ANDX response, §2.2.4.64.2, or
  OPEN_ANDX response, §2.2.4.41.2, the open of pre-NT clients): a file created or opened for writing on an
  administrative share.

A transaction's pieces are matched by PID, MID (and the same TID and UID, §2.2.4.34.1) and put at their
DataDisplacement (dissect/smb1trans.py); the pipe's DCE/RPC reader gets the whole WriteData once it is complete. An
NT_CREATE_ANDX or OPEN_ANDX chained after a TREE_CONNECT_ANDX (§2.2.3.4; its TID is known only from the response)
opens its file in the tree the TREE_CONNECT_ANDX asks for: the share its Path names, a pipe tree when it is IPC$. A
pipe whose TREE_CONNECT_ANDX or open was not captured is found as SMB2's is (dissect/smbpipes.py: ``lone_tree`` by
the Service, an open's name on a tree not seen, ``adopt`` on the FID by its WRITE_ANDX, core WRITE or whole
TransactNmPipe data, an open whose answer was lost by ``orphan``), and so is a file staged on a tree not seen
(dissect/smbstage.py). Not read: file data. Limits: smbpipes.MAX_TREES and MAX_PIPES, smb2files.MAX_PENDING and
MAX_NAME, smbstage.MAX_STAGED and MAX_KNOWN, and smb1trans.MAX_TRANSACTIONS being completed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from iotwarden.dissect import dcerpc, smb1, smb1fields, smb1trans, smb2files, smbpipes, smbstage, streambuf
from iotwarden.dissect.base import Packet
from iotwarden.dissect.smb1fields import (
    CLOSE,
    HEADER,
    NT_CREATE_ANDX,
    OPEN_ANDX,
    READ,
    READ_ANDX,
    TRANSACTION,
    TRANSACTION_SECONDARY,
    WRITE,
    WRITE_ANDX,
    Key,
)
from iotwarden.errors import ParseError
from iotwarden.model import Observation

SESSION_SETUP_ANDX, TREE_CONNECT_ANDX = smb1.SESSION_SETUP_ANDX, smb1.TREE_CONNECT_ANDX
ANDX = frozenset({SESSION_SETUP_ANDX, TREE_CONNECT_ANDX, OPEN_ANDX, NT_CREATE_ANDX, READ_ANDX, WRITE_ANDX})
OPENS = (NT_CREATE_ANDX, OPEN_ANDX)
# commands that name their tree by TID: one whose TREE_CONNECT_ANDX was not seen makes the session blind
TREE_COMMANDS = frozenset({*OPENS, CLOSE, READ, WRITE, READ_ANDX, WRITE_ANDX, TRANSACTION})
OPEN_RESULT = 0x0003  # §2.2.4.41.2 OpenResults: 1 opened, 2 created, 3 truncated
CREATED_RESULTS = frozenset({2, 3})
WRITE_RAW_MODE, WRITE_MSG_START = 0x0004, 0x0008  # §2.2.4.43.1 WriteMode: a raw pipe message begins with its length
PIPE_SERVICE = "IPC"  # §2.2.4.55.2 Service of a named pipe tree
STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW = smb2files.STATUS_SUCCESS, smb2files.STATUS_BUFFER_OVERFLOW
ADMIN, UNSEEN = smb2files.ADMIN, smbpipes.UNSEEN


@dataclass
class Session:
    """One SMB1 connection's trees, open pipes and waiting requests."""

    trees: smbpipes.Trees = field(default_factory=smbpipes.Trees)  # TID -> share, class, pipe
    pipes: dict[int, smbpipes.Pipe] = field(default_factory=dict)  # FID -> pipe
    pending: dict[Key, tuple[Any, ...]] = field(default_factory=dict)  # request -> what it was
    transactions: dict[Key, smb1trans.Transaction] = field(default_factory=dict)  # primary request -> its pieces
    unseen: dict[int, str] = field(default_factory=dict)  # FID -> name, of an open on a tree not seen connected
    let_go: dict[int, None] = field(default_factory=dict)  # smb2files.Session's
    # FID (or an open's request, till answered) -> smb2files.Session's
    staged: dict[Any, smbstage.Staged] = field(default_factory=dict)
    known: smbstage.Known = field(default_factory=smbstage.Known)  # FIDs no lost answer's (smbstage.given)
    lost: bool = False  # smb2files.Session's
    blind: bool = False  # smb2files.Session's

    def skippable(self, head: bytes | bytearray) -> bool:
        """smb2files.Session.skippable's question for SMB1: a WRITE_ANDX, core WRITE, READ_ANDX or core READ request
        on no followed pipe, a READ_ANDX or core READ response to no pipe read, or a WRITE_ANDX or core WRITE
        response (the count written), each alone in its message."""
        if len(head) < HEADER + 3 or head[:4] != smb1.MAGIC:
            return False
        command, reply = head[4], bool(head[9] & smb1.FLAGS_REPLY)
        if command in (WRITE_ANDX, READ_ANDX):  # the FID after the AndX fields; nothing chained after it
            if head[HEADER + 1] != smb1.NO_ANDX:
                return False
            at = HEADER + 5
        elif command in (WRITE, READ):  # core commands: no AndX, the FID first (§2.2.4.11.1, §2.2.4.12.1)
            at = HEADER + 1
        else:
            return False
        if reply:
            return command in (WRITE_ANDX, WRITE) or smb1fields.request_key(bytes(head), command) not in self.pending
        if len(head) < at + 2 or (fid := struct.unpack_from("<H", head, at)[0]) in self.pipes:
            return False
        # a write that may be a pipe's whose open was lost (no DataLengthHigh, [MS-SMB] §2.2.4.3.1: one DCE/RPC fragment
        # at most): read, for smbpipes.adopt to judge
        return command in (READ_ANDX, READ) or fid in self.let_go or not smbpipes.may_be_pipe(
            self.trees, struct.unpack_from("<H", head, 24)[0]) or (command == WRITE_ANDX and (
                len(head) < HEADER + 21 or struct.unpack_from("<H", head, HEADER + 19)[0] != 0))

    def wrote(self, head: bytes | bytearray) -> None:
        """smb2files.Session.wrote for SMB1: a WRITE_ANDX or core WRITE request skipped on its header."""
        if len(head) < HEADER + 7 or head[:4] != smb1.MAGIC or head[9] & smb1.FLAGS_REPLY:
            return
        at = {WRITE_ANDX: HEADER + 5, WRITE: HEADER + 1}.get(head[4])  # the FID; the TID in the header
        if at is not None:
            smbstage.written(self.staged, self.known, self.trees, struct.unpack_from("<H", head, at)[0],
                             struct.unpack_from("<H", head, 24)[0])

    def orphans(self) -> list[tuple[Key, str, int | smbpipes.Tree]]:
        """smb2files.Session.orphans for SMB1: (request, name, tree) of each open of a pipe, or of a name on a tree not
        seen connected, whose answer has not come."""
        return [(key, what[2], what[3]) for key, what in self.pending.items()
                if what[0] in OPENS and (what[1] == "pipe" or (what[1] == UNSEEN and what[2] is not None))]

    def take_orphan(self, key: Key, fid: int) -> smbpipes.Pipe:
        """The pipe an open whose answer was lost opened, followed from now on as ``fid``'s (smbpipes.adopt)."""
        pipe = smbpipes.Pipe(self.pending.pop(key)[2])
        smbpipes.keep(self.pipes, fid, pipe, smbpipes.MAX_PIPES)
        return pipe

    def following(self) -> bool:
        """smb2files.Session.following's question for SMB1."""
        return bool(self.pipes) or any(tree[1] == ADMIN for tree in self.trees.values()) or any(
            what[0] in (TREE_CONNECT_ANDX, *OPENS) for what in self.pending.values()) or (self.lost and self.blind)

    def message(self, pkt: Packet, msg: bytes, out: list[Observation]) -> None:
        """Follow every command of one message's AndX chain."""
        if len(msg) < HEADER + 3 or not msg.startswith(smb1.MAGIC):
            raise ParseError("smb1: truncated or no SMB header")
        command, status = msg[4], struct.unpack_from("<I", msg, 5)[0]
        reply = bool(msg[9] & smb1.FLAGS_REPLY)
        unicode = bool(struct.unpack_from("<H", msg, 10)[0] & smb1.FLAGS2_UNICODE)
        tid = struct.unpack_from("<H", msg, 24)[0]
        at = HEADER
        asked: smbpipes.Tree | None = None  # the tree a TREE_CONNECT_ANDX earlier in the chain asks for
        for _ in range(smb1.MAX_ANDX):
            words, data, data_at = smb1.block(msg, at)
            if reply:
                waiting = self.pending.pop(smb1fields.request_key(msg, command), None)
                if waiting is not None and waiting[0] in OPENS and waiting[1] == "file":
                    self.staged.pop(waiting[5], None)  # answered: its file_write is said (or it was refused)
                if waiting is not None and status in (STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW) and words:
                    self._response(pkt, msg, words, data, waiting, tid=tid, out=out)
                elif waiting is None and command == TREE_CONNECT_ANDX and status == STATUS_SUCCESS and words \
                        and tid not in self.trees:
                    self.blind = True  # its request not seen: the Service says whether it is IPC$
                    smbpipes.lone_tree(self.trees, tid, data.split(b"\0", 1)[0] == PIPE_SERVICE.encode())
            else:
                asked = self._request(pkt, msg, words, data_at, len(data), command=command, tid=tid, unicode=unicode,
                                      asked=asked, out=out)
            if command not in ANDX or len(words) < 4 or words[0] == smb1.NO_ANDX:
                return
            command, next_at = words[0], struct.unpack_from("<H", words, 2)[0]
            if next_at <= at or next_at >= len(msg):
                return  # the chain must go forward inside the message
            at = next_at

    def _wait(self, key: Key, what: tuple[Any, ...]) -> None:
        self.pending[key] = what
        dcerpc.del_oldest(self.pending, smb2files.MAX_PENDING)

    def _request(self, pkt: Packet, msg: bytes, words: bytes, data_at: int, size: int, *, command: int, tid: int,
                 unicode: bool, asked: smbpipes.Tree | None, out: list[Observation]) -> smbpipes.Tree | None:
        """One request of a chain; ``asked``: the tree a TREE_CONNECT_ANDX before it in the chain asks for, which a
        chained open uses (its TID is the new tree's, known only from the response). What the next command takes."""
        key = smb1fields.request_key(msg, command)
        tree = asked if asked is not None else self.trees.get(tid)
        if tree is None and command in TREE_COMMANDS:
            self.blind = True  # its TREE_CONNECT_ANDX lost, or before the capture
        handle_tree = asked if asked is not None else tid  # for smbpipes.adopt
        if command == TREE_CONNECT_ANDX:
            share = smb1.tree_connect(msg, words, data_at, size, unicode)
            self._wait(key, (TREE_CONNECT_ANDX, share.get("share"), share.get("share_class", "user")))
            # IPC$ is the pipe tree (STYPE_IPC, [MS-SRVS] §2.2.2.4; its Service "IPC", §2.2.4.55.2)
            return share.get("share"), share.get("share_class", "user"), share.get("share_class") == smbpipes.IPC
        if command in OPENS and (tree is None or tree[1] == UNSEEN):  # the name waits for what the handle carries
            self._unseen_open(msg, words, data_at, size, key=key, command=command, unicode=unicode, tree=tree,
                              tid=handle_tree)
        elif command == NT_CREATE_ANDX:
            self._create_request(msg, words, data_at, size, key=key, tree=tree, tid=handle_tree, unicode=unicode)
        elif command == OPEN_ANDX:
            self._open_request(msg, words, data_at, size, key=key, tree=tree, tid=handle_tree, unicode=unicode)
        elif command == CLOSE and len(words) >= 2:
            fid = struct.unpack_from("<H", words)[0]  # §2.2.4.5.1 FID, which a later open may be given again
            for table in (self.pipes, self.unseen, self.let_go):
                table.pop(fid, None)
            smbstage.closed(self.staged, self.known, fid, tid)  # its staged file, or lost answer's open, untied
        elif command == WRITE_ANDX:
            if len(words) < 24:
                raise ParseError("smb1: truncated WRITE_ANDX request")
            fid, mode = struct.unpack_from("<H", words, 4)[0], struct.unpack_from("<H", words, 14)[0]
            pipe = self.pipes.get(fid)
            smbstage.written(self.staged, self.known, self.trees, fid, tid)
            length, offset = struct.unpack_from("<HH", words, 20)
            if pipe is not None or struct.unpack_from("<H", words, 18)[0] == 0:  # DataLengthHigh: a file's bulk
                data = smb1fields.buffer_at(msg, offset, length)
                if mode & WRITE_MSG_START and mode & WRITE_RAW_MODE:
                    data = data[2:]  # the pipe message's length, then the message
                pipe = pipe or smbpipes.adopt(self, fid, handle_tree, data)
                if pipe is not None:
                    self._feed(pkt, fid, pipe, data, out)
        elif command == WRITE:  # §2.2.4.12.1: FID, count, offset, estimate; BufferFormat, DataLength, the data
            if len(words) < 10:
                raise ParseError("smb1: truncated WRITE request")
            fid = struct.unpack_from("<H", words)[0]
            smbstage.written(self.staged, self.known, self.trees, fid, tid)
            data = smb1fields.data_buffer(msg[data_at : data_at + size])
            pipe = self.pipes.get(fid) or smbpipes.adopt(self, fid, handle_tree, data)
            if pipe is not None:
                self._feed(pkt, fid, pipe, data, out)
        elif command in (READ_ANDX, READ):  # the FID: READ_ANDX's after its AndX fields, core READ's first
            at = 4 if command == READ_ANDX else 0
            if len(words) >= at + 2 and struct.unpack_from("<H", words, at)[0] in self.pipes:
                self._wait(key, (command, struct.unpack_from("<H", words, at)[0]))
        elif command == TRANSACTION:
            self._transact_request(pkt, msg, words, key, tree=handle_tree, out=out)
        elif command == TRANSACTION_SECONDARY:
            self._transact_secondary(pkt, msg, words, out)
        return asked

    def _create_request(self, msg: bytes, words: bytes, data_at: int, size: int, *, key: Key,
                        tree: smbpipes.Tree | None, tid: int | smbpipes.Tree, unicode: bool) -> None:
        """§2.2.4.64.1: DesiredAccess, CreateDisposition, CreateOptions, then FileName in the data."""
        if tree is None:
            return
        name = smb1.string(msg, data_at, data_at + size, unicode)[0].lstrip("\\")[: smb2files.MAX_NAME]
        share, share_class, pipe = tree
        what = smb1fields.writes(words, NT_CREATE_ANDX)
        if pipe:
            self._wait(key, (NT_CREATE_ANDX, "pipe", smb1fields.pipe_name(name), tid))
        elif share_class == ADMIN and what is not None:
            self._stage(key, (NT_CREATE_ANDX, "file", share, name, what), tid)

    def _stage(self, key: Key, what: tuple[Any, ...], tid: int | smbpipes.Tree) -> None:
        """An open of a file for writing on an administrative share awaits its answer, its file staged under its
        request till then in case the answer is lost (dissect/smbstage.py)."""
        smbstage.stage(self.staged, key, smbstage.Staged(what[3], tid, what[4], created=None, share=what[2]),
                       self.known)
        self._wait(key, (*what, key))

    def _unseen_open(self, msg: bytes, words: bytes, data_at: int, size: int, *, key: Key, command: int,
                     unicode: bool, tree: smbpipes.Tree | None, tid: int | smbpipes.Tree) -> None:
        """An NT_CREATE_ANDX or OPEN_ANDX on a tree not seen connected (``tree`` None), or known from its answer alone
        as a disk share: its name awaits its response's FID, for what the handle carries (smbpipes.adopt; a disk
        share's file is no pipe) and, if it writes, for a service naming it (dissect/smbstage.py)."""
        if tree is None and not smbpipes.unseen(self.trees, tid):
            return  # a tree dropped for room may be this one (a user's share, IPC$): nothing inferred of it
        what = smb1fields.writes(words, command)
        name = smb1.string(msg, data_at, data_at + size, unicode)[0].lstrip("\\")[: smb2files.MAX_NAME]
        staged = None if what is None or not isinstance(tid, int) else smbstage.Staged(name, tid, what, created=False)
        if tree is None or staged is not None:
            self._wait(key, (command, UNSEEN, None if tree else smb1fields.pipe_name(name), tid, staged))

    def _open_request(self, msg: bytes, words: bytes, data_at: int, size: int, *, key: Key,
                      tree: smbpipes.Tree | None, tid: int | smbpipes.Tree, unicode: bool) -> None:
        """§2.2.4.41.1: AccessMode, OpenMode, then FileName in the data (a pipe's with its \\PIPE\\ prefix)."""
        if tree is None:
            return
        name = smb1.string(msg, data_at, data_at + size, unicode)[0].lstrip("\\")[: smb2files.MAX_NAME]
        share, share_class, pipe = tree
        what = smb1fields.writes(words, OPEN_ANDX)
        if pipe:
            self._wait(key, (OPEN_ANDX, "pipe", smb1fields.pipe_name(name), tid))
        elif share_class == ADMIN and what is not None:
            self._stage(key, (OPEN_ANDX, "file", share, name, what), tid)

    def _transact_request(self, pkt: Packet, msg: bytes, words: bytes, key: Key, *, tree: int | smbpipes.Tree,
                          out: list[Observation]) -> None:
        """§2.2.4.33.1 with Setup TransactNmPipe and the pipe's FID (§2.2.5.6.1): WriteData is a DCE/RPC PDU, whole
        or, when larger than the message, its first DataCount bytes (the rest in TRANSACTION_SECONDARY). On a FID
        whose open was not seen, a whole WriteData may adopt it (smbpipes.adopt)."""
        fields = smb1trans.nmpipe(words)
        if fields is None:
            return
        fid, total, count, offset = fields
        pipe = self.pipes.get(fid)
        if pipe is None and count == total:
            pipe = smbpipes.adopt(self, fid, tree, smb1fields.buffer_at(msg, offset, count))
        if pipe is None:
            return
        if count > total:
            raise ParseError("smb1: TRANSACTION DataCount over TotalDataCount")
        if count < total:  # the server's interim response, then the client's secondary requests (§2.2.4.34)
            smb1trans.begin(self.transactions, key, fid, total)
            self._piece(pkt, key, smb1fields.buffer_at(msg, offset, count), 0, out)
            return
        self._wait(key, (TRANSACTION, fid))
        self._feed(pkt, fid, pipe, smb1fields.buffer_at(msg, offset, count), out)

    def _transact_secondary(self, pkt: Packet, msg: bytes, words: bytes, out: list[Observation]) -> None:
        """§2.2.4.34.1: DataCount bytes at DataOffset, the transaction's bytes from DataDisplacement on."""
        count, offset, displacement = smb1trans.secondary(words)
        key = smb1fields.request_key(msg, TRANSACTION)
        if key in self.transactions:
            self._piece(pkt, key, smb1fields.buffer_at(msg, offset, count), displacement, out)

    def _piece(self, pkt: Packet, key: Key, data: bytes, displacement: int, out: list[Observation]) -> None:
        """One piece of a transaction's WriteData (smb1trans.piece); the whole to the pipe once every byte came."""
        done = smb1trans.piece(self.transactions, key, data, displacement)
        pipe = None if done is None else self.pipes.get(done[0])
        if done is not None and pipe is not None:
            self._wait(key, (TRANSACTION, done[0]))
            self._feed(pkt, done[0], pipe, done[1], out)

    def _response(self, pkt: Packet, msg: bytes, words: bytes, data: bytes, waiting: tuple[Any, ...], *, tid: int,
                  out: list[Observation]) -> None:
        command = waiting[0]
        if command == TREE_CONNECT_ANDX:
            service = data.split(b"\0", 1)[0].decode("latin-1")  # §2.2.4.55.2 Service, always OEM
            smbpipes.keep_tree(self.trees, tid, (waiting[1], waiting[2], service == PIPE_SERVICE))
        elif command in OPENS:
            if command == NT_CREATE_ANDX:  # §2.2.4.64.2 FID, CreateDisposition (the action taken)
                if len(words) < 11:
                    raise ParseError("smb1: truncated NT_CREATE_ANDX response")
                fid, action = struct.unpack_from("<HI", words, 5)
                created = action in smb2files.CREATED_ACTIONS
            else:  # §2.2.4.41.2 FID, OpenResults
                if len(words) < 24:
                    raise ParseError("smb1: truncated OPEN_ANDX response")
                fid, result = struct.unpack_from("<H", words, 4)[0], struct.unpack_from("<H", words, 22)[0]
                created = result & OPEN_RESULT in CREATED_RESULTS
            self.let_go.pop(fid, None)  # a FID given again (its CLOSE not seen)
            if waiting[1] == "pipe":
                smbpipes.keep(self.pipes, fid, smbpipes.Pipe(waiting[2]), smbpipes.MAX_PIPES)
            elif waiting[1] == UNSEEN:
                _, _, name, _, staged = waiting
                if name is not None:
                    smbpipes.keep(self.unseen, fid, name, smbpipes.MAX_PIPES)
                if staged is not None:
                    staged.created = created
                    smbstage.stage(self.staged, fid, staged, self.known)
            else:
                _, _, share, name, disposition, _ = waiting
                smbstage.given(self.known, fid)  # its WRITEs are no lost answer's
                fields = {"smb1": True, "share": share, "share_class": ADMIN, "file": name,
                          "disposition": disposition, "created": created}
                out.append(streambuf.oriented(pkt, True).observation("smb", "file_write", fields))
        elif command in (READ_ANDX, READ, TRANSACTION):
            pipe = self.pipes.get(waiting[1])
            if pipe is None:
                return
            if command == READ:  # §2.2.4.11.2: the data after BufferFormat and CountOfBytesRead
                self._feed(pkt, waiting[1], pipe, smb1fields.data_buffer(data), out)
                return
            if command == READ_ANDX:  # §2.2.4.42.2 DataLength, DataOffset
                if len(words) < 14:
                    raise ParseError("smb1: truncated READ_ANDX response")
                length, offset = struct.unpack_from("<HH", words, 10)
            else:
                length, offset, more = smb1trans.response(words)
                if more:  # more of the ReadData in the next response (§2.2.4.33.2)
                    self._wait(smb1fields.request_key(msg, TRANSACTION), waiting)
            self._feed(pkt, waiting[1], pipe, smb1fields.buffer_at(msg, offset, length), out)

    def _feed(self, pkt: Packet, fid: int, pipe: smbpipes.Pipe, data: bytes, out: list[Observation]) -> None:
        """A pipe's bytes to its DCE/RPC reader (smbpipes.feed_pipe); a pipe that is no DCE/RPC is let go."""
        smbpipes.keep(self.pipes, fid, pipe, smbpipes.MAX_PIPES)  # used last: kept longest
        try:
            made = len(out)
            for path in smbpipes.feed_pipe(pkt, pipe, data, out):
                out[made:made] = smbstage.infer(self.staged, self.trees, path, pkt, smb1=True)
        except ParseError:
            smbpipes.keep(self.let_go, fid, None, smbpipes.MAX_PIPES)
            del self.pipes[fid]
            raise
