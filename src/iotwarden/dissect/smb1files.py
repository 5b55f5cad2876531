"""What an SMB1 session opens ([MS-CIFS] §2.2.4, [MS-SMB] §2.2.4): its trees (TID -> share), the named pipes it opens
on IPC$, whose WRITE_ANDX, READ_ANDX and TRANSACTION TransactNmPipe payloads carry DCE/RPC (ncacn_np, [MS-RPCE]
§2.1.1.2) read by dissect/dcerpc.py per pipe and direction, and the files it creates for writing on an administrative
share: dissect/smb2files.py's reading for the SMB1 of older Windows (XP, 2003, 7 HMIs) and of SMB1-mode tools.

:class:`Session` keeps one connection's state and follows each message's AndX chain (§2.2.3.4, at most
smb1.MAX_ANDX commands). A request is matched to its response by PID, MID (§3.2.5.1) and command. Observations are
smb2files.py's, with ``smb1`` True on ``file_write``:

* ``dcerpc`` PDUs of a pipe with ``named_pipe`` (NT_CREATE_ANDX's name, e.g. ``svcctl``): the client's WRITE_ANDX
  data (§2.2.4.43.1) and TransactNmPipe WriteData (§2.2.5.6.1), the server's READ_ANDX data (§2.2.4.42.2) and
  TransactNmPipe ReadData (§2.2.5.6.2);
* ``smb`` ``file_write`` (the client's, on the server's successful NT_CREATE_ANDX response, §2.2.4.64.2): a file
  created or opened for writing on an administrative share.

Not read: a TransactNmPipe whose data does not fit one message (TRANSACTION_SECONDARY, §2.2.4.34: the pipe is let
go), a create chained after the TREE_CONNECT_ANDX of the same message (its TID is not known yet), the older OPEN_ANDX
and WRITE commands, file data. Limits: smb2files.MAX_TREES, MAX_PIPES, MAX_PENDING, MAX_NAME.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from iotwarden.dissect import dcerpc, smb1, smb2files, streambuf
from iotwarden.dissect.base import Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

HEADER = smb1.HEADER
# §2.2.2.1 command codes
CLOSE, TRANSACTION, READ_ANDX, WRITE_ANDX, NT_CREATE_ANDX = 0x04, 0x25, 0x2E, 0x2F, 0xA2
SESSION_SETUP_ANDX, TREE_CONNECT_ANDX = smb1.SESSION_SETUP_ANDX, smb1.TREE_CONNECT_ANDX
ANDX = frozenset({SESSION_SETUP_ANDX, TREE_CONNECT_ANDX, NT_CREATE_ANDX, READ_ANDX, WRITE_ANDX})
TRANS_TRANSACT_NMPIPE = 0x0026  # §2.2.5.6 Setup[0]
WRITE_RAW_MODE, WRITE_MSG_START = 0x0004, 0x0008  # §2.2.4.43.1 WriteMode: a raw pipe message begins with its length
PIPE_SERVICE = "IPC"  # §2.2.4.55.2 Service of a named pipe tree
STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW = smb2files.STATUS_SUCCESS, smb2files.STATUS_BUFFER_OVERFLOW
ADMIN = smb2files.ADMIN

Key = tuple[int, int, int]  # PID (high and low), MID, command


@dataclass
class Session:
    """One SMB1 connection's trees, open pipes and waiting requests."""

    trees: dict[int, tuple[str | None, str, bool]] = field(default_factory=dict)  # TID -> share, class, pipe
    pipes: dict[int, smb2files.Pipe] = field(default_factory=dict)  # FID -> pipe
    pending: dict[Key, tuple[Any, ...]] = field(default_factory=dict)  # request -> what it was

    def skippable(self, head: bytes | bytearray) -> bool:
        """Whether a message beginning with ``head`` carries only a file's data: a WRITE_ANDX request to no followed
        pipe, or a READ_ANDX response to no pipe read, each alone in its message."""
        if len(head) < HEADER + 7 or head[:4] != smb1.MAGIC or head[HEADER + 1] != smb1.NO_ANDX:
            return False
        command, reply = head[4], bool(head[9] & smb1.FLAGS_REPLY)
        if command == WRITE_ANDX and not reply:
            return struct.unpack_from("<H", head, HEADER + 5)[0] not in self.pipes
        if command == READ_ANDX and reply:
            return _key(bytes(head), READ_ANDX) not in self.pending
        return False

    def following(self) -> bool:
        """smb2files.Session.following's question for SMB1."""
        return bool(self.pipes) or any(tree[1] == ADMIN for tree in self.trees.values()) or any(
            what[0] in (TREE_CONNECT_ANDX, NT_CREATE_ANDX) for what in self.pending.values())

    def message(self, pkt: Packet, msg: bytes, out: list[Observation]) -> None:
        """Follow every command of one message's AndX chain."""
        if len(msg) < HEADER + 3 or not msg.startswith(smb1.MAGIC):
            raise ParseError("smb1: truncated or no SMB header")
        command, status = msg[4], struct.unpack_from("<I", msg, 5)[0]
        reply = bool(msg[9] & smb1.FLAGS_REPLY)
        unicode = bool(struct.unpack_from("<H", msg, 10)[0] & smb1.FLAGS2_UNICODE)
        tid = struct.unpack_from("<H", msg, 24)[0]
        at = HEADER
        for _ in range(smb1.MAX_ANDX):
            words, data, data_at = smb1.block(msg, at)
            if reply:
                waiting = self.pending.pop(_key(msg, command), None)
                if waiting is not None and status in (STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW) and words:
                    self._response(pkt, msg, words, data, waiting, tid=tid, out=out)
            else:
                self._request(pkt, msg, words, data_at, len(data), command=command, tid=tid, unicode=unicode,
                              out=out)
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
                 unicode: bool, out: list[Observation]) -> None:
        key = _key(msg, command)
        if command == TREE_CONNECT_ANDX:
            share = smb1.tree_connect(msg, words, data_at, size, unicode)
            self._wait(key, (TREE_CONNECT_ANDX, share.get("share"), share.get("share_class", "user")))
        elif command == NT_CREATE_ANDX:
            self._create_request(msg, words, data_at, size, key=key, tid=tid, unicode=unicode)
        elif command == CLOSE and len(words) >= 2:
            self.pipes.pop(struct.unpack_from("<H", words)[0], None)  # §2.2.4.5.1 FID
        elif command == WRITE_ANDX:
            if len(words) < 24:
                raise ParseError("smb1: truncated WRITE_ANDX request")
            fid, mode = struct.unpack_from("<H", words, 4)[0], struct.unpack_from("<H", words, 14)[0]
            pipe = self.pipes.get(fid)
            if pipe is not None:
                length, offset = struct.unpack_from("<HH", words, 20)
                data = _buffer(msg, offset, length)
                if mode & WRITE_MSG_START and mode & WRITE_RAW_MODE:
                    data = data[2:]  # the pipe message's length, then the message
                self._feed(pkt, fid, pipe, data, out)
        elif command == READ_ANDX:
            if len(words) >= 6 and struct.unpack_from("<H", words, 4)[0] in self.pipes:
                self._wait(key, (READ_ANDX, struct.unpack_from("<H", words, 4)[0]))
        elif command == TRANSACTION:
            self._transact_request(pkt, msg, words, key, out)

    def _create_request(self, msg: bytes, words: bytes, data_at: int, size: int, *, key: Key, tid: int,
                        unicode: bool) -> None:
        """§2.2.4.64.1: DesiredAccess, CreateDisposition, CreateOptions, then FileName in the data."""
        tree = self.trees.get(tid)
        if tree is None:
            return
        if len(words) < 48:
            raise ParseError("smb1: truncated NT_CREATE_ANDX request")
        access = struct.unpack_from("<I", words, 15)[0]
        disposition, options = struct.unpack_from("<II", words, 35)
        name = smb1.string(msg, data_at, data_at + size, unicode)[0].lstrip("\\")[: smb2files.MAX_NAME]
        share, share_class, pipe = tree
        if pipe:
            self._wait(key, (NT_CREATE_ANDX, "pipe", name))
        elif share_class == ADMIN and not options & smb2files.FILE_DIRECTORY_FILE and (
                access & smb2files.WRITE_ACCESS or disposition in smb2files.WRITING_DISPOSITIONS):
            names = smb2files.DISPOSITIONS  # §2.2.4.64.1 CreateDisposition: the same values as SMB2's
            what = names[disposition] if disposition < len(names) else str(disposition)
            self._wait(key, (NT_CREATE_ANDX, "file", share, name, what))

    def _transact_request(self, pkt: Packet, msg: bytes, words: bytes, key: Key, out: list[Observation]) -> None:
        """§2.2.4.33.1 with Setup TransactNmPipe and the pipe's FID (§2.2.5.6.1): WriteData is a DCE/RPC PDU."""
        if len(words) < 32 or words[26] != 2 or struct.unpack_from("<H", words, 28)[0] != TRANS_TRANSACT_NMPIPE:
            return
        fid = struct.unpack_from("<H", words, 30)[0]
        pipe = self.pipes.get(fid)
        if pipe is None:
            return
        total, count, offset = struct.unpack_from("<H", words, 2)[0], *struct.unpack_from("<HH", words, 22)
        if count != total:
            del self.pipes[fid]  # continued in TRANSACTION_SECONDARY requests: not read, nor what follows
            return
        self._wait(key, (TRANSACTION, fid))
        self._feed(pkt, fid, pipe, _buffer(msg, offset, count), out)

    def _response(self, pkt: Packet, msg: bytes, words: bytes, data: bytes, waiting: tuple[Any, ...], *, tid: int,
                  out: list[Observation]) -> None:
        command = waiting[0]
        if command == TREE_CONNECT_ANDX:
            service = data.split(b"\0", 1)[0].decode("latin-1")  # §2.2.4.55.2 Service, always OEM
            if tid in self.trees or len(self.trees) < smb2files.MAX_TREES:
                self.trees[tid] = (waiting[1], waiting[2], service == PIPE_SERVICE)
        elif command == NT_CREATE_ANDX:
            if len(words) < 11:
                raise ParseError("smb1: truncated NT_CREATE_ANDX response")
            fid, action = struct.unpack_from("<HI", words, 5)
            if waiting[1] == "pipe":
                if fid in self.pipes or len(self.pipes) < smb2files.MAX_PIPES:
                    self.pipes[fid] = smb2files.Pipe(waiting[2])
            else:
                _, _, share, name, disposition = waiting
                fields = {"smb1": True, "share": share, "share_class": ADMIN, "file": name,
                          "disposition": disposition, "created": action in smb2files.CREATED_ACTIONS}
                out.append(streambuf.oriented(pkt, True).observation("smb", "file_write", fields))
        elif command in (READ_ANDX, TRANSACTION):
            pipe = self.pipes.get(waiting[1])
            if pipe is None:
                return
            if command == READ_ANDX:  # §2.2.4.42.2 DataLength, DataOffset
                if len(words) < 14:
                    raise ParseError("smb1: truncated READ_ANDX response")
                length, offset = struct.unpack_from("<HH", words, 10)
            else:  # §2.2.4.33.2 DataCount, DataOffset
                if len(words) < 16:
                    raise ParseError("smb1: truncated TRANSACTION response")
                length, offset = struct.unpack_from("<HH", words, 12)
            self._feed(pkt, waiting[1], pipe, _buffer(msg, offset, length), out)

    def _feed(self, pkt: Packet, fid: int, pipe: smb2files.Pipe, data: bytes, out: list[Observation]) -> None:
        """A pipe's bytes to its DCE/RPC reader (smb2files.feed_pipe); a pipe that is no DCE/RPC is let go."""
        try:
            smb2files.feed_pipe(pkt, pipe, data, out)
        except ParseError:
            del self.pipes[fid]
            raise


def _key(msg: bytes, command: int) -> Key:
    """PIDHigh and PIDLow, MID (§2.2.3.1) and the command: what a response shares with its request."""
    pid = struct.unpack_from("<H", msg, 12)[0] << 16 | struct.unpack_from("<H", msg, 26)[0]
    return pid, struct.unpack_from("<H", msg, 30)[0], command


def _buffer(msg: bytes, offset: int, length: int) -> bytes:
    """Bytes at an offset from the header's start (how SMB1 places data); ParseError past the end."""
    if length and (offset < HEADER or offset + length > len(msg)):
        raise ParseError("smb1: data outside the message")
    return msg[offset : offset + length]
