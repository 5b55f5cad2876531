"""Finding the next SMB message in a direction that lost a TCP segment (dissect/smb.py's ``gap``): the bytes after
a hole may begin anywhere in a message, often inside a WRITE's file data.

A message is the transport's 4-byte header (Direct TCP: a zero byte, a 24-bit length, [MS-SMB2] §2.1; NetBIOS:
type 0x00 SESSION MESSAGE, a flags byte holding the length's 17th bit, RFC 1002 §4.3.1) then an SMB header:
``\\xfeSMB`` (SMB2, [MS-SMB2] §2.2.1), ``\\xffSMB`` (SMB1, [MS-CIFS] §2.2.3.1), ``\\xfdSMB`` (TRANSFORM_HEADER,
§2.2.41) or ``\\xfcSMB`` (COMPRESSION_TRANSFORM_HEADER, §2.2.42). :func:`seek` looks for one at each segment's
first byte with :func:`message_at` (the usual case: the first segment after a hole begins a message), and anywhere
else, or at the start of a segment shorter than :data:`MIN_SEGMENT` (so that tiny segments do not make every position
a segment start), only with ``strict`` checks. Why a false resynchronisation is unlikely: inside file data a strict
match needs 8 specific bytes (the 4-byte protocol id, SMB2's StructureSize 64 in the header and the command's own
StructureSize in its body, §2.2.3-§2.2.37), a header direction flag that matches the direction, reserved bits zero, a
command that exists and a transport length the session allows that holds the header and body; SMB1 likewise its reply
flag, command and WordCount/ByteCount within the length. Random data matches at a position with odds below 2^-64; a
match that still proves false is undone (dissect/smb.py ``RESYNC_CONFIRM``).
"""

from __future__ import annotations

import re
import struct

from iotwarden.dissect import smb1, smb2

ENCRYPTED, COMPRESSED = b"\xfdSMB", b"\xfcSMB"  # [MS-SMB2] §2.2.41, §2.2.42
DIRECT_MAX, NBSS_MAX = 0xFFFFFF, 0x1FFFF  # the longest message each transport's length can say
# where a message may begin inside data: a zero byte (Direct TCP's, NBSS's SESSION MESSAGE type) then, after the rest
# of the 4-byte transport header, one of the four protocol ids; searched in C (~1.3 ms per MiB of file data)
CANDIDATE = re.compile(rb"\x00[\x00-\xff]{3}[\xfc-\xff]SMB")
# [MS-SMB2] §2.2.3-§2.2.37: each command's body StructureSize (request, response); 9 is also any error response
# (§2.2.2) and OPLOCK_BREAK's notification, acknowledgment and response are 24 (oplock) or 44/36/44 (lease, §2.2.23.2)
SMB2_SIZES: dict[int, tuple[frozenset[int], frozenset[int]]] = {
    command: (frozenset(req), frozenset(resp)) for command, req, resp in (
        (0x00, {36}, {65}), (0x01, {25}, {9}), (0x02, {4}, {4}), (0x03, {9}, {16}), (0x04, {4}, {4}),
        (0x05, {57}, {89}), (0x06, {24}, {60}), (0x07, {24}, {4}), (0x08, {49}, {17}), (0x09, {49}, {17}),
        (0x0A, {48}, {4}), (0x0B, {57}, {49}), (0x0C, {4}, set()), (0x0D, {4}, {4}), (0x0E, {33}, {9}),
        (0x0F, {32}, {9}), (0x10, {41}, {9}), (0x11, {33}, {2}), (0x12, {24, 36}, {24, 44}))}
ERROR_SIZE = 9  # §2.2.2 SMB2 ERROR Response
# §2.2.1.2 Flags: SERVER_TO_REDIR, ASYNC_COMMAND, RELATED_OPERATIONS, SIGNED, PRIORITY_MASK, DFS_OPERATIONS,
# REPLAY_OPERATION; any other bit is reserved
SMB2_FLAGS = 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000070 | 0x10000000 | 0x20000000
# [MS-CIFS] §2.2.2.1 command codes (obsolete ones included: an old client may send them)
SMB1_COMMANDS = frozenset([*range(0x00, 0x30), 0x32, 0x33, 0x34, 0x35, *range(0x70, 0x76), 0x80, 0x81,
                           0xA0, 0xA2, 0xA4, 0xA5, 0xC0, 0xC1, 0xC2, 0xC3, 0xD8, 0xD9, 0xDA, 0xFE])
SMB1_RESERVED_FLAGS = 0x02 | 0x04  # §2.2.3.1 Flags: SMB_FLAGS_BUF_AVAIL (obsolete, zero) and a reserved bit
TRANSFORM = 52  # §2.2.41: ProtocolId, Signature, Nonce, OriginalMessageSize, Reserved, Flags, SessionId
COMPRESSION = 16  # §2.2.42.1 unchained: ProtocolId, OriginalCompressedSegmentSize, Algorithm, Flags, Offset
COMPRESSION_ALGORITHMS = frozenset({0, 1, 2, 3, 4})  # §2.2.3.1.3: NONE, LZNT1, LZ77, LZ77+Huffman, Pattern_V1
# a segment that begins a message carries its transport header, SMB2 header and body StructureSize (the smallest SMB2
# message, ECHO, is 72 bytes; TCP's default MSS 536, RFC 9293 §3.7.1); a shorter one's first byte is judged strictly
MIN_SEGMENT = 4 + smb2.HEADER + 2
# slack over the negotiated sizes: the header and fixed body before a READ/WRITE buffer, a CREATE compounded before it
NEGOTIATED_SLACK = 4096


def negotiated_limit(body: bytes) -> int | None:
    """The longest message an SMB2 NEGOTIATE response ([MS-SMB2] §2.2.4) lets the session send: its largest of
    MaxTransactSize, MaxReadSize and MaxWriteSize, plus :data:`NEGOTIATED_SLACK`; None when ``body`` is no such
    response."""
    if len(body) < smb2.HEADER + 40 or body[:4] != smb2.MAGIC or body[12:14] != b"\0\0" or not body[16] & 1:
        return None
    if struct.unpack_from("<H", body, smb2.HEADER)[0] != 65:
        return None
    sizes: tuple[int, int, int] = struct.unpack_from("<III", body, smb2.HEADER + 28)
    return max(sizes) + NEGOTIATED_SLACK


def message_at(buf: bytes | bytearray, at: int, *, nbss: bool, to_server: bool, limit: int,
               strict: bool) -> bool | None:
    """Whether a message begins at ``buf[at]``: True, False, or None when more bytes are needed to tell.
    ``limit``: the longest message the session allows; ``strict``: a position inside data, where the command's body
    must agree too (module docstring)."""
    head = bytes(buf[at : at + 8])
    if len(head) < 8:
        return None if _prefix_ok(head, nbss) else False
    if nbss:
        if head[0] != 0 or head[1] & 0xFE:
            return False
        length = ((head[1] & 1) << 16) | int.from_bytes(head[2:4], "big")
    else:
        if head[0] != 0:
            return False
        length = int.from_bytes(head[1:4], "big")
    magic = head[4:8]
    if length > limit:
        return False
    if magic == smb2.MAGIC:
        return _smb2(buf, at + 4, length, to_server=to_server, strict=strict)
    if magic == smb1.MAGIC:
        return _smb1(buf, at + 4, length, to_server=to_server, strict=strict)
    if magic == ENCRYPTED:  # the session encrypted from here: Reserved zero, Flags Encrypted (0x0001), its size
        if len(buf) < at + 4 + TRANSFORM:
            return None
        size, reserved, flags = struct.unpack_from("<IHH", buf, at + 4 + 36)
        return bool(reserved == 0 and flags == 1 and length == TRANSFORM + size)
    if magic == COMPRESSED:
        if len(buf) < at + 4 + COMPRESSION:
            return None
        algorithm, flags = struct.unpack_from("<HH", buf, at + 4 + 8)
        return length >= COMPRESSION and algorithm in COMPRESSION_ALGORITHMS and flags <= 1
    return False


def _prefix_ok(head: bytes, nbss: bool) -> bool:
    """Whether the few bytes at the end of what arrived may still begin a message."""
    if not head or head[0] != 0:
        return False
    if nbss and len(head) > 1 and head[1] & 0xFE:
        return False
    magic = head[4:]
    return any(m.startswith(magic) for m in (smb2.MAGIC, smb1.MAGIC, ENCRYPTED, COMPRESSED))


def _smb2(buf: bytes | bytearray, at: int, length: int, *, to_server: bool, strict: bool) -> bool | None:
    """[MS-SMB2] §2.2.1.2: StructureSize 64, a known Command, the direction's SERVER_TO_REDIR flag, no reserved flag,
    an 8-byte aligned NextCommand inside the message; ``strict``: the body's StructureSize is the command's."""
    if length < smb2.HEADER + 2:
        return False
    if len(buf) < at + smb2.HEADER + 2:
        return None
    size, _, _, command, _, flags, next_command = struct.unpack_from("<HHIHHII", buf, at + 4)
    if size != smb2.HEADER or command not in SMB2_SIZES or flags & ~SMB2_FLAGS or bool(flags & 1) == to_server:
        return False
    if next_command % 8 or (next_command and not smb2.HEADER <= next_command < length):
        return False
    if not strict:
        return True
    body = struct.unpack_from("<H", buf, at + smb2.HEADER)[0]
    request, response = SMB2_SIZES[command]
    return body in (response | {ERROR_SIZE} if flags & 1 else request)


def _smb1(buf: bytes | bytearray, at: int, length: int, *, to_server: bool, strict: bool) -> bool | None:
    """[MS-CIFS] §2.2.3.1: a known Command, the direction's SMB_FLAGS_REPLY, the reserved Flags bits zero;
    ``strict``: WordCount's words and ByteCount's bytes within the message (§2.2.3.2, §2.2.3.3)."""
    if length < smb1.HEADER + 3:
        return False
    if len(buf) < at + smb1.HEADER + 1:
        return None
    command, flags = buf[at + 4], buf[at + 9]
    if command not in SMB1_COMMANDS or flags & SMB1_RESERVED_FLAGS or bool(flags & smb1.FLAGS_REPLY) == to_server:
        return False
    if not strict:
        return True
    words = buf[at + smb1.HEADER]
    if smb1.HEADER + 3 + 2 * words > length:
        return False
    count_at = at + smb1.HEADER + 1 + 2 * words
    if len(buf) < count_at + 2:
        return None
    count: int = struct.unpack_from("<H", buf, count_at)[0]
    return smb1.HEADER + 3 + 2 * words + count <= length


def seek(buf: bytes | bytearray, starts: list[int], *, nbss: bool, to_server: bool,
         limit: int) -> tuple[int | None, int, int]:
    """(offset of the first message found in ``buf``, or None; how many bytes at its head can begin none and may be
    dropped; how many positions were judged, for the caller's budget). ``starts``: the offsets in ``buf`` where a
    segment began, where a message is looked for first (not strict); elsewhere only strict matches count, at the
    positions :data:`CANDIDATE` finds (in C). Bytes that cannot tell yet (a candidate cut short) are kept."""
    first, keep, at_start, judged = len(buf), max(0, len(buf) - 7), False, 0  # a magic may complete after the last 7
    ordered = sorted(starts)
    for at, end in zip(ordered, [*ordered[1:], len(buf)], strict=True):
        judged += 1
        verdict = message_at(buf, at, nbss=nbss, to_server=to_server, limit=limit,
                             strict=end - at < MIN_SEGMENT) if 0 <= at < len(buf) else False
        if verdict is not False:  # found, or to be decided once more bytes come
            first, at_start = at, bool(verdict)
            break
    keep = min(keep, first)
    match = CANDIDATE.search(buf, 0, first + 7)  # strict matches before it
    while match is not None and match.start() < first:
        at = match.start()
        match = CANDIDATE.search(buf, at + 1, first + 7)  # candidates may overlap
        judged += 1
        verdict = message_at(buf, at, nbss=nbss, to_server=to_server, limit=limit, strict=True)
        if verdict:
            return at, at, judged
        if verdict is None:
            return None, min(keep, at), judged
    return (first, first, judged) if at_start else (None, keep, judged)
