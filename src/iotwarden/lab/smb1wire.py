"""SMB1 messages as a Windows client and server send them ([MS-CIFS] §2.2, [MS-SMB] §2.2; Unicode, NT LM 0.12), for
the lab's SMB1 attacks and the SMB1 dissector tests: NEGOTIATE and SESSION_SETUP_ANDX with extended security, trees
(TREE_CONNECT_ANDX), opens (NT_CREATE_ANDX, CLOSE) and their data (WRITE_ANDX, READ_ANDX, TRANSACTION TransactNmPipe).
TRANSACTION_SECONDARY for a transaction's rest, and the older OPEN_ANDX and core WRITE and READ of pre-NT clients.
A block builder takes the offset its block starts at (from the header) and gives (command, block); :func:`message`
chains blocks with AndX (§2.2.3.4). Every offset below is the specification's."""

from __future__ import annotations

import struct
from collections.abc import Callable

HEADER = 32
NO_ANDX = 0xFF
PID = 0xFEFF
FLAGS2 = 0xC807  # Unicode, NT status, extended security, long names, EAs, signatures allowed
Block = Callable[[int], tuple[int, bytes]]
GENERIC_WRITE, FILE_READ_DATA, FILE_WRITE_DATA, READ_CONTROL = 0x40000000, 0x00000001, 0x00000002, 0x00020000
FILE_OPEN, FILE_CREATE, FILE_OVERWRITE_IF = 1, 2, 5
FILE_OPENED, FILE_CREATED = 1, 2
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016  # [MS-ERREF] §2.3.1
# the NativeOS and NativeLanMan a client states in its SESSION_SETUP_ANDX ([MS-SMB] §2.2.4.6.1): Windows XP SP3's, and
# impacket's (smb.py sends 'Unix' and 'Samba', "fake data here, don't want to get us fingerprinted"), the tool a host
# not running Windows uses for the same steps
XP_CLIENT = ("Windows 2002 Service Pack 3 2600", "Windows 2002 5.1")
IMPACKET_CLIENT = ("Unix", "Samba")


def header(command: int, *, mid: int, tid: int = 0, response: bool = False, status: int = 0,
           uid: int = 0x0800) -> bytes:
    """§2.2.3.1: Protocol, Command, Status, Flags, Flags2, PIDHigh, SecurityFeatures, Reserved, TID, PIDLow, UID,
    MID."""
    return b"\xffSMB" + struct.pack("<BIBHH8sHHHHH", command, status, 0x98 if response else 0x18, FLAGS2, 0,
                                    b"\0" * 8, 0, tid, PID, uid, mid)


def block(words: bytes, data: bytes) -> bytes:
    """WordCount, the words, ByteCount, the bytes (§2.2.3.2, §2.2.3.3)."""
    return bytes([len(words) // 2]) + words + struct.pack("<H", len(data)) + data


def message(*blocks: Block, mid: int, tid: int = 0, response: bool = False, status: int = 0) -> bytes:
    """A header and its chained blocks; the first block's command is the header's, the AndX fields point on."""
    parts: list[tuple[int, bytes]] = []
    at = HEADER
    for build in blocks:
        command, raw = build(at)
        parts.append((command, raw))
        at += len(raw)
    out = b""
    at = HEADER
    for i, (_, raw) in enumerate(parts):
        if i + 1 < len(parts):  # AndXCommand, AndXReserved, AndXOffset open every AndX block's words
            raw = raw[:1] + struct.pack("<BBH", parts[i + 1][0], 0, at + len(raw)) + raw[5:]
        out += raw
        at += len(raw)
    return header(parts[0][0], mid=mid, tid=tid, response=response, status=status) + out


def andx() -> bytes:
    return struct.pack("<BBH", NO_ANDX, 0, 0)


def _pad(at: int, align: int) -> bytes:
    return b"\0" * (-at % align)


def tree_connect(path: str) -> Block:
    """§2.2.4.55.1: Flags, PasswordLength 1, then the password byte, the Unicode Path and the OEM Service "?????"."""
    def build(at: int) -> tuple[int, bytes]:
        words = andx() + struct.pack("<HH", 0, 1)
        data_at = at + 1 + len(words) + 2
        data = b"\0" + _pad(data_at + 1, 2) + path.encode("utf-16-le") + b"\0\0" + b"?????\0"
        return 0x75, block(words, data)
    return build


def tree_connect_response(service: str) -> Block:
    """§2.2.4.55.2: OptionalSupport, then Service (OEM: "IPC" a pipe tree, "A:" a disk) and NativeFileSystem."""
    def build(at: int) -> tuple[int, bytes]:
        words = andx() + struct.pack("<H", 0x0001)
        data_at = at + 1 + len(words) + 2
        data = service.encode() + b"\0"
        data += _pad(data_at + len(data), 2) + ("NTFS" if service == "A:" else "").encode("utf-16-le") + b"\0\0"
        return 0x75, block(words, data)
    return build


def nt_create(name: str, *, access: int = 0x0002019F, disposition: int = FILE_OPEN, options: int = 0) -> Block:
    """§2.2.4.64.1: 24 words, then the Unicode FileName (aligned)."""
    raw = name.encode("utf-16-le")

    def build(at: int) -> tuple[int, bytes]:
        words = andx() + struct.pack("<BHIIIQIIIIIB", 0, len(raw), 0, 0, access, 0, 0x80, 0x07, disposition,
                                     options, 2, 0)
        data_at = at + 1 + len(words) + 2
        return 0xA2, block(words, _pad(data_at, 2) + raw + b"\0\0")
    return build


def nt_create_response(fid: int, action: int = FILE_OPENED, *, pipe: bool = True) -> Block:
    """§2.2.4.64.2: 34 words: OplockLevel, FID, CreateDisposition (the action), times, attributes, sizes,
    ResourceType (2: a message-mode pipe), NMPipeStatus, Directory."""
    def build(at: int) -> tuple[int, bytes]:
        words = andx() + struct.pack("<BHIQQQQIQQHHB", 0, fid, action, 0, 0, 0, 0, 0x80, 4096 if not pipe else 0,
                                     0, 2 if pipe else 0, 0x05FF if pipe else 0, 0)
        return 0xA2, block(words, b"")
    return build


def write_andx(fid: int, payload: bytes, *, mode: int = 0x0008, offset: int = 0) -> Block:
    """§2.2.4.43.1: 14 words, a pad byte, the data at DataOffset; WriteMode MSG_START (a pipe message begins), 0 for
    a file's data written at ``offset``."""
    def build(at: int) -> tuple[int, bytes]:
        data_at = at + 1 + 28 + 2
        pad = _pad(data_at, 2) or b""
        words = andx() + struct.pack("<HIIHHHHHI", fid, offset & 0xFFFFFFFF, 0xFFFFFFFF, mode, len(payload), 0,
                                     len(payload), data_at + len(pad), offset >> 32)
        return 0x2F, block(words, pad + payload)
    return build


def write_andx_response(count: int) -> Block:
    """§2.2.4.43.2: Count, Available, Reserved."""
    def build(at: int) -> tuple[int, bytes]:
        return 0x2F, block(andx() + struct.pack("<HHI", count, 0xFFFF, 0), b"")
    return build


def read_andx(fid: int, count: int = 4280) -> Block:
    """§2.2.4.42.1: 12 words: FID, Offset, MaxCountOfBytesToReturn, MinCount, Timeout, Remaining, OffsetHigh."""
    def build(at: int) -> tuple[int, bytes]:
        return 0x2E, block(andx() + struct.pack("<HIHHIHI", fid, 0, count, count, 0xFFFFFFFF, count, 0), b"")
    return build


def read_andx_response(payload: bytes) -> Block:
    """§2.2.4.42.2: 12 words: Available, DataCompactionMode, Reserved1, DataLength, DataOffset, Reserved2; pad, data."""
    def build(at: int) -> tuple[int, bytes]:
        data_at = at + 1 + 24 + 2
        pad = _pad(data_at, 2)
        words = andx() + struct.pack("<HHHHH10s", 0xFFFF, 0, 0, len(payload), data_at + len(pad), b"\0" * 10)
        return 0x2E, block(words, pad + payload)
    return build


def transact_nmpipe(fid: int, payload: bytes, *, total: int | None = None) -> Block:
    """§2.2.4.33.1 with §2.2.5.6.1 TransactNmPipe: Setup 0x0026 and the FID, Name "\\PIPE\\", WriteData 4-aligned."""
    def build(at: int) -> tuple[int, bytes]:
        data_at = at + 1 + 32 + 2
        name = _pad(data_at, 2) + "\\PIPE\\".encode("utf-16-le") + b"\0\0"
        offset = data_at + len(name)
        pad = _pad(offset, 4)
        offset += len(pad)
        words = struct.pack("<HHHHBBHIHHHHHBBHH", 0, len(payload) if total is None else total, 0, 1024, 0, 0, 0, 0,
                            0, 0, offset, len(payload), offset, 2, 0, 0x0026, fid)
        return 0x25, block(words, name + pad + payload)
    return build


def transact_secondary(payload: bytes, *, total: int, displacement: int) -> Block:
    """§2.2.4.34.1: 8 words, no parameters, Trans_Data 4-aligned at DataOffset, its place in the transaction's data
    at DataDisplacement (PID, MID, TID and UID the primary request's)."""
    def build(at: int) -> tuple[int, bytes]:
        data_at = at + 1 + 16 + 2
        pad = _pad(data_at, 4)
        offset = data_at + len(pad)
        words = struct.pack("<HHHHHHHH", 0, total, 0, offset, 0, len(payload), offset, displacement)
        return 0x26, block(words, pad + payload)
    return build


def transact_response(payload: bytes, *, total: int | None = None, displacement: int = 0) -> Block:
    """§2.2.4.33.2 (§2.2.5.6.2): 10 words, no parameters, ReadData 4-aligned; with ``total`` one part of a response
    sent in several, this one at ``displacement``."""
    def build(at: int) -> tuple[int, bytes]:
        data_at = at + 1 + 20 + 2
        pad = _pad(data_at, 4)
        offset = data_at + len(pad)
        words = struct.pack("<HHHHHHHHHBB", 0, len(payload) if total is None else total, 0, 0, offset, 0,
                            len(payload), offset, displacement, 0, 0)
        return 0x25, block(words, pad + payload)
    return build


def open_andx(name: str, *, access_mode: int, open_mode: int) -> Block:
    """§2.2.4.41.1: 15 words (Flags, AccessMode, SearchAttrs, FileAttrs, CreationTime, OpenMode, AllocationSize,
    Timeout, Reserved), then the Unicode FileName (aligned)."""
    def build(at: int) -> tuple[int, bytes]:
        words = andx() + struct.pack("<HHHHIHII4s", 0x0001, access_mode, 0x0016, 0x0020, 0, open_mode, 0, 0,
                                     b"\0" * 4)
        data_at = at + 1 + len(words) + 2
        return 0x2D, block(words, _pad(data_at, 2) + name.encode("utf-16-le") + b"\0\0")
    return build


def open_andx_response(fid: int, result: int, *, pipe: bool = False) -> Block:
    """§2.2.4.41.2: 15 words: FID, FileAttrs, LastWriteTime, FileDataSize, AccessRights, ResourceType (2: a
    message-mode pipe), NMPipeStatus, OpenResults (1 opened, 2 created, 3 truncated), Reserved."""
    def build(at: int) -> tuple[int, bytes]:
        words = andx() + struct.pack("<HHIIHHHH6s", fid, 0 if pipe else 0x0020, 0, 0, 2, 2 if pipe else 0,
                                     0x05FF if pipe else 0, result, b"\0" * 6)
        return 0x2D, block(words, b"")
    return build


def write(fid: int, payload: bytes, *, offset: int = 0) -> Block:
    """§2.2.4.12.1 core SMB_COM_WRITE: FID, CountOfBytesToWrite, WriteOffsetInBytes, Estimate; BufferFormat 0x01,
    DataLength, the data."""
    def build(at: int) -> tuple[int, bytes]:
        words = struct.pack("<HHIH", fid, len(payload), offset, 0)
        return 0x0B, block(words, b"\x01" + struct.pack("<H", len(payload)) + payload)
    return build


def write_response(count: int) -> Block:
    """§2.2.4.12.2: CountOfBytesWritten."""
    def build(at: int) -> tuple[int, bytes]:
        return 0x0B, block(struct.pack("<H", count), b"")
    return build


def read(fid: int, count: int = 4280) -> Block:
    """§2.2.4.11.1 core SMB_COM_READ: FID, CountOfBytesToRead, ReadOffsetInBytes, Estimate."""
    def build(at: int) -> tuple[int, bytes]:
        return 0x0A, block(struct.pack("<HHIH", fid, count, 0, count), b"")
    return build


def read_response(payload: bytes) -> Block:
    """§2.2.4.11.2: CountOfBytesReturned, Reserved; BufferFormat 0x01, CountOfBytesRead, the bytes."""
    def build(at: int) -> tuple[int, bytes]:
        words = struct.pack("<H8s", len(payload), b"\0" * 8)
        return 0x0A, block(words, b"\x01" + struct.pack("<H", len(payload)) + payload)
    return build


def close(fid: int) -> Block:
    """§2.2.4.5.1: FID, LastTimeModified."""
    def build(at: int) -> tuple[int, bytes]:
        return 0x04, block(struct.pack("<HI", fid, 0xFFFFFFFF), b"")
    return build


def empty(command: int) -> Block:
    """A response with no words and no bytes (CLOSE's, or any error's)."""
    def build(at: int) -> tuple[int, bytes]:
        return command, block(b"", b"")
    return build


def negotiate_request() -> bytes:
    """§2.2.4.52.1 as Windows XP sends it: the dialect strings, each after buffer format 0x02."""
    dialects = ("PC NETWORK PROGRAM 1.0", "LANMAN1.0", "Windows for Workgroups 3.1a", "LM1.2X002", "LANMAN2.1",
                "NT LM 0.12")
    return header(0x72, mid=0) + block(b"", b"".join(b"\x02" + d.encode() + b"\0" for d in dialects))


def negotiate_response(server_guid: bytes, now_filetime: int) -> bytes:
    """[MS-SMB] §2.2.4.5.2.1: NT LM 0.12 (index 5), user security with signatures enabled, extended security:
    ServerGUID and no security blob (raw NTLMSSP follows)."""
    words = struct.pack("<HBHHIIIIQhB", 5, 0x03, 50, 1, 16644, 65536, 0, 0x8000F3FD, now_filetime, 0, 0)
    return header(0x72, mid=0, response=True) + block(words, server_guid)


def session_setup_request(mid: int, blob: bytes, uid: int = 0, *, native: tuple[str, str] = XP_CLIENT) -> bytes:
    """[MS-SMB] §2.2.4.6.1: 12 words, the security blob, NativeOS and NativeLanMan (``native``)."""
    words = andx() + struct.pack("<HHHIHII", 16644, 50, 0, 0, len(blob), 0, 0x800000D4)
    data_at = HEADER + 1 + len(words) + 2 + len(blob)
    strings = _pad(data_at, 2) + f"{native[0]}\0{native[1]}\0".encode("utf-16-le")
    return header(0x73, mid=mid, uid=uid) + block(words, blob + strings)


def session_setup_response(mid: int, blob: bytes, uid: int, *, done: bool) -> bytes:
    """[MS-SMB] §2.2.4.6.2: Action, SecurityBlobLength, the blob, NativeOS, NativeLanMan, PrimaryDomain;
    STATUS_MORE_PROCESSING_REQUIRED until the last leg."""
    words = andx() + struct.pack("<HH", 0, len(blob))
    data_at = HEADER + 1 + len(words) + 2 + len(blob)
    strings = _pad(data_at, 2) + "Windows Server 2003 3790 Service Pack 2\0Windows Server 2003 5.2\0CORP\0".encode(
        "utf-16-le")
    status = 0 if done else STATUS_MORE_PROCESSING_REQUIRED
    return header(0x73, mid=mid, uid=uid, response=True, status=status) + block(words, blob + strings)
