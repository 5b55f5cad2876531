"""The fields of SMB1 messages ([MS-CIFS] §2.2.3-2.2.4) that dissect/smb1files.py's session reads: command codes,
what a response shares with its request, whether an open creates or opens its file for writing, a pipe's name as
NT_CREATE_ANDX gives it, a core READ's or WRITE's data buffer and data placed by offset from the header.
"""

from __future__ import annotations

import struct

from iotwarden.dissect import smb1, smb2files
from iotwarden.errors import ParseError

HEADER = smb1.HEADER
# §2.2.2.1 command codes
CLOSE, READ, WRITE, TRANSACTION, TRANSACTION_SECONDARY = 0x04, 0x0A, 0x0B, 0x25, 0x26
OPEN_ANDX, READ_ANDX, WRITE_ANDX, NT_CREATE_ANDX = 0x2D, 0x2E, 0x2F, 0xA2
# §2.2.4.41.1 OpenMode: FileExistsOpts (0 fail, 1 open, 2 truncate) and CreateFile; AccessMode 1 write, 2 read/write
OPEN_EXISTS, OPEN_TRUNCATE, OPEN_CREATE, ACCESS_MODE = 0x0003, 0x0002, 0x0010, 0x0007
WRITING_MODES = frozenset({1, 2})
DATA_BUFFER = 0x01  # §2.2.4.11.2, §2.2.4.12.1 BufferFormat of a core READ's or WRITE's data

Key = tuple[int, int, int]  # PID (high and low), MID, command


def writes(words: bytes, command: int) -> str | None:
    """How an open creates or opens its file for writing, as CreateDisposition names it, else None: NT_CREATE_ANDX's
    DesiredAccess, CreateDisposition and CreateOptions (§2.2.4.64.1, smb2files.writing), OPEN_ANDX's AccessMode and
    OpenMode (§2.2.4.41.1: create if absent, then fail, open or truncate if present)."""
    if command == NT_CREATE_ANDX:
        if len(words) < 48:
            raise ParseError("smb1: truncated NT_CREATE_ANDX request")
        disposition, options = struct.unpack_from("<II", words, 35)
        return smb2files.writing(struct.unpack_from("<I", words, 15)[0], disposition, options)
    if len(words) < 30:
        raise ParseError("smb1: truncated OPEN_ANDX request")
    access, mode = struct.unpack_from("<H", words, 6)[0] & ACCESS_MODE, struct.unpack_from("<H", words, 16)[0]
    exists = mode & OPEN_EXISTS
    if not (access in WRITING_MODES or exists == OPEN_TRUNCATE or mode & OPEN_CREATE):
        return None
    return (("create", "open_if", "overwrite_if") if mode & OPEN_CREATE else ("fail", "open", "overwrite"))[
        min(exists, 2)]


def request_key(msg: bytes, command: int) -> Key:
    """PIDHigh and PIDLow, MID (§2.2.3.1) and the command: what a response shares with its request."""
    pid = struct.unpack_from("<H", msg, 12)[0] << 16 | struct.unpack_from("<H", msg, 26)[0]
    return pid, struct.unpack_from("<H", msg, 30)[0], command


def pipe_name(name: str) -> str:
    """A pipe's name without the \\PIPE\\ prefix OPEN_ANDX names it with (§3.3.5.35), as NT_CREATE_ANDX names it."""
    return name[5:] if name[:5].upper() == "PIPE\\" else name


def data_buffer(data: bytes) -> bytes:
    """A core READ's or WRITE's data (§2.2.4.11.2, §2.2.4.12.1): BufferFormat 0x01, a 16-bit length, the bytes."""
    if len(data) < 3 or data[0] != DATA_BUFFER:
        raise ParseError("smb1: no data buffer")
    length = struct.unpack_from("<H", data, 1)[0]
    if length > len(data) - 3:
        raise ParseError("smb1: data buffer past its block")
    return data[3 : 3 + length]


def buffer_at(msg: bytes, offset: int, length: int) -> bytes:
    """Bytes at an offset from the header's start (how SMB1 places data); ParseError past the end."""
    if length and (offset < HEADER or offset + length > len(msg)):
        raise ParseError("smb1: data outside the message")
    return msg[offset : offset + length]
