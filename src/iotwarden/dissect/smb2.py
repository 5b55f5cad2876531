"""SMB2/3 messages ([MS-SMB2] §2.2): NEGOTIATE, SESSION_SETUP and TREE_CONNECT, the commands that say who
the two ends are; every other command is recognised and passed over.

:func:`parse` reads one transport message: the 64-byte ``0xFE 'SMB'`` headers (§2.2.1) of its compounded
requests or responses, each found by NextCommand (§3.2.4.1.4), at most :data:`MAX_COMPOUND`. Fields common
to every kind: ``smb1`` False, ``status`` (a response's NTSTATUS, "0x%08x").

* ``negotiate_request`` (§2.2.3): ``dialects`` ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"), ``smb1_offered``
  False, ``client_guid``, ``signing_required``, ``capabilities``, and from SMB 3.1.1 negotiate contexts
  (§2.2.3.1) ``ciphers`` and ``signing_algorithms``.
* ``negotiate_response`` (§2.2.4): ``dialect`` (DialectRevision; "2.???" is the wildcard answer to an SMB1
  multi-protocol negotiate, §3.3.5.3.1), ``server_guid`` (a stable identifier of the server), ``signing_enabled``,
  ``signing_required``, ``capabilities``, ``cipher`` / ``signing_algorithm`` (3.1.1 contexts), ``auth_mechs``.
* ``session_setup_request`` / ``session_setup_response`` (§2.2.5, §2.2.6): the security buffer's fields
  (dissect/ntlmssp.py); a response's ``guest``, ``null_session`` and ``encrypt_data`` (SessionFlags).
* ``tree_connect`` (§2.2.9): ``share`` and ``share_class`` (dissect/smbshare.py).
"""

from __future__ import annotations

import struct
import uuid
from typing import Any

from iotwarden.dissect import ntlmssp, smbshare
from iotwarden.errors import ParseError

MAGIC = b"\xfeSMB"
HEADER = 64
MAX_COMPOUND = 16  # compounded messages read of one transport message
MAX_DIALECTS = 16  # dialects kept of one NEGOTIATE request
MAX_CONTEXTS = 16  # negotiate contexts read
MAX_TEXT = 256
NEGOTIATE, SESSION_SETUP, TREE_CONNECT = 0x0000, 0x0001, 0x0003
FLAGS_SERVER_TO_REDIR = 0x00000001  # §2.2.1.2
STATUS_SUCCESS, STATUS_MORE_PROCESSING_REQUIRED = 0x00000000, 0xC0000016  # [MS-ERREF] §2.3.1
SMB2_DIALECT_WILDCARD = 0x02FF
SMB2_DIALECT_311 = 0x0311
SIGNING_ENABLED, SIGNING_REQUIRED = 0x01, 0x02  # SecurityMode, §2.2.3 / §2.2.4
CAPABILITIES = ((0x01, "dfs"), (0x02, "leasing"), (0x04, "large_mtu"), (0x08, "multi_channel"),
                (0x10, "persistent_handles"), (0x20, "directory_leasing"), (0x40, "encryption"),
                (0x80, "notifications"))  # §2.2.3 Capabilities
CIPHERS = {1: "AES-128-CCM", 2: "AES-128-GCM", 3: "AES-256-CCM", 4: "AES-256-GCM"}  # §2.2.3.1.2
SIGNING_ALGORITHMS = {0: "HMAC-SHA256", 1: "AES-CMAC", 2: "AES-GMAC"}  # §2.2.3.1.7
CONTEXT_ENCRYPTION, CONTEXT_SIGNING = 0x0002, 0x0008  # §2.2.3.1 ContextType
SESSION_GUEST, SESSION_NULL, SESSION_ENCRYPT = 0x0001, 0x0002, 0x0004  # §2.2.6 SessionFlags


def dialect_name(revision: int) -> str:
    """A DialectRevision as the specification writes it: 0x0202 "2.0.2", 0x0210 "2.1", 0x0311 "3.1.1"."""
    if revision == SMB2_DIALECT_WILDCARD:
        return "2.???"
    major, minor, patch = revision >> 8, (revision >> 4) & 0xF, revision & 0xF
    return f"{major}.{minor}.{patch}" if patch else f"{major}.{minor}"


def parse(msg: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(kind, fields) of each read command of one transport message; ParseError when malformed."""
    out: list[tuple[str, dict[str, Any]]] = []
    at = 0
    for _ in range(MAX_COMPOUND):
        if len(msg) - at < HEADER or msg[at : at + 4] != MAGIC:
            raise ParseError("smb2: truncated or no SMB2 header")
        if struct.unpack_from("<H", msg, at + 4)[0] != HEADER:
            raise ParseError("smb2: header StructureSize is not 64")
        status, command, _, flags, next_command = struct.unpack_from("<IHHII", msg, at + 8)
        end = at + next_command if next_command else len(msg)
        if next_command and (next_command < HEADER or next_command % 8 or end > len(msg)):
            raise ParseError("smb2: NextCommand outside the message")  # §2.2.1.2: 8-byte aligned
        one = msg[at:end]
        reply = bool(flags & FLAGS_SERVER_TO_REDIR)
        base: dict[str, Any] = {"smb1": False, "status": f"0x{status:08x}" if reply else None}
        fields = _command(one, command, reply, status)
        if fields is not None:
            suffix = "response" if reply else "request"
            kind = "tree_connect" if command == TREE_CONNECT else f"{_NAMES[command]}_{suffix}"
            out.append((kind, {**base, **fields}))
        elif not out and not next_command:
            out.append(("other", base))  # another command: the flow still speaks SMB2
        if not next_command:
            break
        at = end
    return out


_NAMES = {NEGOTIATE: "negotiate", SESSION_SETUP: "session_setup"}


def _command(msg: bytes, command: int, reply: bool, status: int) -> dict[str, Any] | None:
    body = msg[HEADER:]
    if reply and status not in (STATUS_SUCCESS, STATUS_MORE_PROCESSING_REQUIRED):
        # an ERROR Response (§2.2.2): only the status is said, and only of the commands read here
        return {} if command in (NEGOTIATE, SESSION_SETUP) else None
    if command == NEGOTIATE:
        return _negotiate_response(msg, body) if reply else _negotiate_request(msg, body)
    if command == SESSION_SETUP:
        return _session_setup(msg, body, reply)
    if command == TREE_CONNECT and not reply:
        return tree_connect_share(msg)
    return None


def tree_connect_share(msg: bytes) -> dict[str, Any]:
    """dissect/smbshare.py's ``share`` and ``share_class`` of a TREE_CONNECT request's path (§2.2.9)."""
    body = msg[HEADER:]
    if len(body) < 8:
        raise ParseError("smb2: truncated TREE_CONNECT request")
    offset, length = struct.unpack_from("<HH", body, 4)
    return smbshare.describe(buffer_at(msg, offset, length).decode("utf-16-le", "replace")[:MAX_TEXT])


def buffer_at(msg: bytes, offset: int, length: int) -> bytes:
    """Bytes at an offset from the header's start (how SMB2 buffers are placed); ParseError past the end."""
    if length and (offset < HEADER or offset + length > len(msg)):
        raise ParseError("smb2: buffer outside the message")
    return msg[offset : offset + length]


def _capabilities(value: int) -> list[str]:
    return [name for bit, name in CAPABILITIES if value & bit]


def _negotiate_request(msg: bytes, body: bytes) -> dict[str, Any]:
    if len(body) < 36:
        raise ParseError("smb2: truncated NEGOTIATE request")
    count, mode, _, capabilities = struct.unpack_from("<HHHI", body, 2)
    if len(body) < 36 + 2 * count:
        raise ParseError("smb2: NEGOTIATE dialects overrun the message")
    revisions = struct.unpack_from(f"<{count}H", body, 36)
    fields: dict[str, Any] = {
        "dialects": [dialect_name(r) for r in revisions[:MAX_DIALECTS]],
        "smb1_offered": False,
        "client_guid": str(uuid.UUID(bytes_le=body[12:28])),
        "signing_required": bool(mode & SIGNING_REQUIRED),
        "capabilities": _capabilities(capabilities),
    }
    if SMB2_DIALECT_311 in revisions:  # NegotiateContextOffset / Count replace ClientStartTime (§2.2.3)
        offset, contexts = struct.unpack_from("<IH", body, 28)
        for ctype, data in _contexts(msg, offset, contexts):
            if ctype == CONTEXT_ENCRYPTION and len(data) >= 2:
                fields["ciphers"] = [CIPHERS.get(c, str(c)) for c in _ids(data)]
            elif ctype == CONTEXT_SIGNING and len(data) >= 2:
                fields["signing_algorithms"] = [SIGNING_ALGORITHMS.get(a, str(a)) for a in _ids(data)]
    return fields


def _ids(data: bytes) -> tuple[int, ...]:
    """A context's Count (2 bytes) and that many 16-bit ids (§2.2.3.1.2, §2.2.3.1.7)."""
    count = min(struct.unpack_from("<H", data)[0], (len(data) - 2) // 2, MAX_DIALECTS)
    return struct.unpack_from(f"<{count}H", data, 2)


def _contexts(msg: bytes, offset: int, count: int) -> list[tuple[int, bytes]]:
    """NEGOTIATE_CONTEXTs (§2.2.3.1): ContextType, DataLength, 4 reserved bytes, Data; 8-byte aligned."""
    out: list[tuple[int, bytes]] = []
    at = offset
    for _ in range(min(count, MAX_CONTEXTS)):
        at += -at % 8
        if at + 8 > len(msg):
            raise ParseError("smb2: negotiate context outside the message")
        ctype, length = struct.unpack_from("<HH", msg, at)
        if at + 8 + length > len(msg):
            raise ParseError("smb2: negotiate context data overruns the message")
        out.append((ctype, msg[at + 8 : at + 8 + length]))
        at += 8 + length
    return out


def _negotiate_response(msg: bytes, body: bytes) -> dict[str, Any]:
    if len(body) < 64:
        raise ParseError("smb2: truncated NEGOTIATE response")
    mode, revision, contexts = struct.unpack_from("<HHH", body, 2)
    capabilities = struct.unpack_from("<I", body, 24)[0]
    blob_offset, blob_length, context_offset = struct.unpack_from("<HHI", body, 56)
    fields: dict[str, Any] = {
        "dialect": dialect_name(revision),
        "server_guid": str(uuid.UUID(bytes_le=body[8:24])),
        "signing_enabled": bool(mode & SIGNING_ENABLED),
        "signing_required": bool(mode & SIGNING_REQUIRED),
        "capabilities": _capabilities(capabilities),
    }
    if revision == SMB2_DIALECT_311:
        for ctype, data in _contexts(msg, context_offset, contexts):  # the server's one choice of each
            chosen = _ids(data)[:1] if len(data) >= 2 else ()
            if ctype == CONTEXT_ENCRYPTION and chosen:
                fields["cipher"] = CIPHERS.get(chosen[0], str(chosen[0]))
            elif ctype == CONTEXT_SIGNING and chosen:
                fields["signing_algorithm"] = SIGNING_ALGORITHMS.get(chosen[0], str(chosen[0]))
    fields.update(ntlmssp.security_blob(buffer_at(msg, blob_offset, blob_length)))
    return fields


def _session_setup(msg: bytes, body: bytes, reply: bool) -> dict[str, Any]:
    if reply:
        if len(body) < 8:
            raise ParseError("smb2: truncated SESSION_SETUP response")
        session_flags, offset, length = struct.unpack_from("<HHH", body, 2)
        fields: dict[str, Any] = {"guest": bool(session_flags & SESSION_GUEST),
                                  "null_session": bool(session_flags & SESSION_NULL),
                                  "encrypt_data": bool(session_flags & SESSION_ENCRYPT)}
    else:
        if len(body) < 24:
            raise ParseError("smb2: truncated SESSION_SETUP request")
        offset, length = struct.unpack_from("<HH", body, 12)
        fields = {}
    fields.update(ntlmssp.security_blob(buffer_at(msg, offset, length)))
    return fields
