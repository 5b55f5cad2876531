"""SMB2 messages as a Windows client and server send them ([MS-SMB2] §2.2), for the lab's SMB attacks: the logon
(SESSION_SETUP; NEGOTIATE is lab/proto_app.py's), trees (TREE_CONNECT), opens (CREATE, CLOSE) and their data
(WRITE, READ, IOCTL FSCTL_PIPE_TRANSCEIVE, QUERY_INFO); :func:`direct` puts Direct TCP's 4-byte header (§2.1) before
one, :func:`compound` chains several into one compounded message (§3.2.4.1.4). Every offset below is the
specification's."""

from __future__ import annotations

import struct

NEGOTIATE, SESSION_SETUP, TREE_CONNECT, CREATE, CLOSE, READ, WRITE, IOCTL = 0, 1, 3, 5, 6, 8, 9, 11  # §2.2.1.2
QUERY_INFO = 16
FLAGS_RELATED_OPERATIONS = 0x00000004  # §2.2.1.2 Flags
RELATED_FILE_ID = b"\xff" * 16  # §3.2.4.1.4: a related operation's FileId, "the FileId of the previous operation"
FILE_STANDARD_INFORMATION = 5  # [MS-FSCC] §2.4.41, asked by SMB2_0_INFO_FILE (§2.2.37 InfoType 1)
FSCTL_PIPE_TRANSCEIVE = 0x0011C017  # §2.2.31
SHARE_DISK, SHARE_PIPE = 0x01, 0x02  # §2.2.10 ShareType
FILE_OPEN, FILE_CREATE, FILE_OVERWRITE_IF = 1, 2, 5  # §2.2.13 CreateDisposition
FILE_CREATED, FILE_OPENED = 2, 1  # §2.2.14 CreateAction
GENERIC_READ_WRITE = 0xC0000000  # GENERIC_READ | GENERIC_WRITE (§2.2.13.1.1)
FILE_READ_DATA = 0x00000001
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016  # [MS-ERREF] §2.3.1


def header(command: int, message_id: int, *, response: bool = False, status: int = 0, tree_id: int = 0,
           session_id: int = 0, next_command: int = 0) -> bytes:
    """The 64-byte SYNC header (§2.2.1.2): ProtocolId, StructureSize, CreditCharge, Status, Command, Credits, Flags,
    NextCommand, MessageId, Reserved, TreeId, SessionId, Signature."""
    return b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 1, status, command, 1, 1 if response else 0,
                                    next_command, message_id, 0, tree_id, session_id, b"\0" * 16)


def direct(message: bytes) -> bytes:
    """Direct TCP transport (§2.1): a zero byte and the message's 24-bit length before it."""
    return b"\0" + len(message).to_bytes(3, "big") + message


def compound(*messages: bytes, related: bool = True) -> bytes:
    """Messages chained into one (§3.2.4.1.4): each but the last padded to 8 bytes with NextCommand its length, and
    with ``related`` every one after the first flagged SMB2_FLAGS_RELATED_OPERATIONS."""
    out = b""
    for i, message in enumerate(messages):
        raw = bytearray(message)
        if related and i:
            struct.pack_into("<I", raw, 16, struct.unpack_from("<I", raw, 16)[0] | FLAGS_RELATED_OPERATIONS)
        if i + 1 < len(messages):
            raw += b"\0" * (-len(raw) % 8)
            struct.pack_into("<I", raw, 20, len(raw))
        out += raw
    return out


def session_setup_request(message_id: int, blob: bytes, session_id: int = 0) -> bytes:
    """§2.2.5: the security buffer at offset 88."""
    body = struct.pack("<HBBIIHHQ", 25, 0, 0x01, 1, 0, 88, len(blob), 0)
    return header(SESSION_SETUP, message_id, session_id=session_id) + body + blob


def session_setup_response(message_id: int, blob: bytes, session_id: int, *, done: bool) -> bytes:
    """§2.2.6: the security buffer at offset 72; MORE_PROCESSING_REQUIRED until the last leg."""
    body = struct.pack("<HHHH", 9, 0, 72 if blob else 0, len(blob))
    return header(SESSION_SETUP, message_id, response=True, session_id=session_id,
                  status=0 if done else STATUS_MORE_PROCESSING_REQUIRED) + body + blob


def tree_connect(message_id: int, path: str, session_id: int) -> bytes:
    """§2.2.9: the UTF-16LE ``\\\\server\\share`` path at offset 72."""
    raw = path.encode("utf-16-le")
    return header(TREE_CONNECT, message_id, session_id=session_id) + struct.pack("<HHHH", 9, 0, 72, len(raw)) + raw


def tree_connect_response(message_id: int, tree_id: int, session_id: int, share_type: int) -> bytes:
    """§2.2.10: ShareType, flags, capabilities, MaximalAccess."""
    body = struct.pack("<HBBIII", 16, share_type, 0, 0x30 if share_type == SHARE_PIPE else 0, 0, 0x001F01FF)
    return header(TREE_CONNECT, message_id, response=True, tree_id=tree_id, session_id=session_id) + body


def create(message_id: int, name: str, tree_id: int, session_id: int, *, access: int = GENERIC_READ_WRITE,
           disposition: int = FILE_OPEN, options: int = 0x40) -> bytes:
    """§2.2.13: the UTF-16LE name (no leading backslash) at offset 120, no create contexts. ``options`` 0x40 is
    FILE_NON_DIRECTORY_FILE."""
    raw = name.encode("utf-16-le")
    body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, access, 0x80, 0x07, disposition, options, 120,
                       len(raw), 0, 0)
    return header(CREATE, message_id, tree_id=tree_id, session_id=session_id) + body + (raw or b"\0")


def create_response(message_id: int, file_id: bytes, tree_id: int, session_id: int, *, action: int = FILE_OPENED,
                    filetime: int = 0) -> bytes:
    """§2.2.14: oplock, flags, CreateAction, four times, sizes, attributes, the 16-byte FileId, no contexts."""
    body = struct.pack("<HBBIQQQQQQII16sII", 89, 0, 0, action, filetime, filetime, filetime, filetime, 0, 0, 0x80,
                       0, file_id, 0, 0)
    return header(CREATE, message_id, response=True, tree_id=tree_id, session_id=session_id) + body + b"\0"


def close(message_id: int, file_id: bytes, tree_id: int, session_id: int) -> bytes:
    """§2.2.15: flags, reserved, the FileId."""
    return header(CLOSE, message_id, tree_id=tree_id, session_id=session_id) + struct.pack(
        "<HHI16s", 24, 0, 0, file_id)


def close_response(message_id: int, tree_id: int, session_id: int) -> bytes:
    """§2.2.16: no attributes returned."""
    return header(CLOSE, message_id, response=True, tree_id=tree_id, session_id=session_id) + struct.pack(
        "<HHIQQQQQQI", 60, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def write(message_id: int, file_id: bytes, data: bytes, tree_id: int, session_id: int, *,
          offset: int = 0) -> bytes:
    """§2.2.21: the data at offset 112 (header and the 48 fixed bytes)."""
    body = struct.pack("<HHIQ16sIIHHI", 49, 112, len(data), offset, file_id, 0, 0, 0, 0, 0)
    return header(WRITE, message_id, tree_id=tree_id, session_id=session_id) + body + data


def write_response(message_id: int, count: int, tree_id: int, session_id: int) -> bytes:
    """§2.2.22: the bytes written."""
    return header(WRITE, message_id, response=True, tree_id=tree_id, session_id=session_id) + struct.pack(
        "<HHIIHH", 17, 0, count, 0, 0, 0)


def read(message_id: int, file_id: bytes, length: int, tree_id: int, session_id: int) -> bytes:
    """§2.2.19: Length, Offset 0, the FileId, one padding byte as the empty Buffer."""
    body = struct.pack("<HBBIQ16sIIIHH", 49, 0x50, 0, length, 0, file_id, 0, 0, 0, 0, 0)
    return header(READ, message_id, tree_id=tree_id, session_id=session_id) + body + b"\0"


def read_response(message_id: int, data: bytes, tree_id: int, session_id: int) -> bytes:
    """§2.2.20: the data at offset 80 (DataOffset is one byte)."""
    body = struct.pack("<HBBIII", 17, 80, 0, len(data), 0, 0)
    return header(READ, message_id, response=True, tree_id=tree_id, session_id=session_id) + body + data


def transceive(message_id: int, file_id: bytes, data: bytes, tree_id: int, session_id: int) -> bytes:
    """§2.2.31 IOCTL FSCTL_PIPE_TRANSCEIVE: the input at offset 120, up to 4280 bytes of output asked."""
    body = struct.pack("<HHI16sIIIIIIII", 57, 0, FSCTL_PIPE_TRANSCEIVE, file_id, 120, len(data), 0, 120, 0, 4280,
                       1, 0)
    return header(IOCTL, message_id, tree_id=tree_id, session_id=session_id) + body + data


def transceive_response(message_id: int, file_id: bytes, data: bytes, tree_id: int, session_id: int) -> bytes:
    """§2.2.32: no input echoed, the output at offset 112."""
    body = struct.pack("<HHI16sIIIIII", 49, 0, FSCTL_PIPE_TRANSCEIVE, file_id, 112, 0, 112, len(data), 0, 0)
    return header(IOCTL, message_id, response=True, tree_id=tree_id, session_id=session_id) + body + data


def query_info(message_id: int, file_id: bytes, tree_id: int, session_id: int) -> bytes:
    """§2.2.37: SMB2_0_INFO_FILE FileStandardInformation, no input buffer (one padding byte)."""
    body = struct.pack("<HBBIHHIII16s", 41, 1, FILE_STANDARD_INFORMATION, 24, 0, 0, 0, 0, 0, file_id)
    return header(QUERY_INFO, message_id, tree_id=tree_id, session_id=session_id) + body + b"\0"


def query_info_response(message_id: int, size: int, tree_id: int, session_id: int) -> bytes:
    """§2.2.38: FileStandardInformation ([MS-FSCC] §2.4.41) of a file of ``size`` bytes at offset 72."""
    info = struct.pack("<QQIBBH", size, size, 1, 0, 0, 0)
    return header(QUERY_INFO, message_id, response=True, tree_id=tree_id, session_id=session_id) + struct.pack(
        "<HHI", 9, 72, len(info)) + info
