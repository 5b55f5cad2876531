"""SMB1 messages ([MS-CIFS] §2.2, [MS-SMB] §2.2): NEGOTIATE, SESSION_SETUP_ANDX and TREE_CONNECT_ANDX, the
commands that say who the two ends are; every other command is recognised and passed over.

:func:`parse` turns one message (from its ``0xFF 'SMB'`` header, [MS-CIFS] §2.2.3.1) into (kind, fields)
pairs, following an AndX chain (§2.2.3.4) of the commands read here. Fields common to every kind:
``smb1`` True, ``status`` (the NTSTATUS of a response, "0x%08x"). Strings are Unicode (UTF-16LE,
aligned on an even offset from the header) when Flags2 SMB_FLAGS2_UNICODE is set, else OEM.

* ``negotiate_request`` (§2.2.4.52.1): ``dialects`` (the dialect strings offered, in order) and
  ``smb1_offered`` (a dialect other than the "SMB 2.xxx" of a multi-protocol negotiate, [MS-SMB2] §3.3.5.3.1).
* ``negotiate_response`` (§2.2.4.52.2, [MS-SMB] §2.2.4.5.2): ``dialect_index``, ``dialect`` (the request's
  string at that index when the request was seen; without it, "NT LM 0.12" when the response has the NT LAN Manager
  form, else None: a LAN Manager response does not say which of its dialects), ``dialect_level`` (the response's form,
  its WordCount: ``core``, ``lanman`` or ``nt_lm``; None when no dialect was chosen), ``smb1_selected`` (an index
  other than 0xFFFF),
  ``signing_required`` / ``signing_enabled`` (SecurityMode), ``extended_security``, ``server_guid`` (with
  extended security), ``auth_mechs`` (its SPNEGO hint), else ``primary_domain`` and ``server_name``.
* ``session_setup_request`` / ``session_setup_response`` (§2.2.4.53, [MS-SMB] §2.2.4.6): ``native_os``,
  ``native_lanman``, a response's ``primary_domain`` and ``guest`` (Action bit 0), a request's
  ``account_present`` (an account name was sent, never the name, nor any password), and the fields of
  the NTLMSSP/SPNEGO security blob (dissect/ntlmssp.py).
* ``tree_connect`` (§2.2.4.55.1): ``share`` and ``share_class`` (dissect/smbshare.py) and ``service``.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any

from iotwarden.dissect import ntlmssp, smbshare
from iotwarden.errors import ParseError

MAGIC = b"\xffSMB"
HEADER = 32
MAX_DIALECTS = 16  # dialect strings kept of one NEGOTIATE request
MAX_TEXT = 256  # characters kept of one string
MAX_ANDX = 4  # commands read of one AndX chain
NO_ANDX = 0xFF

NEGOTIATE, SESSION_SETUP_ANDX, TREE_CONNECT_ANDX = 0x72, 0x73, 0x75
FLAGS_REPLY = 0x80  # SMB_FLAGS_REPLY, §2.2.3.1
FLAGS2_UNICODE = 0x8000  # SMB_FLAGS2_UNICODE
CAP_EXTENDED_SECURITY = 0x80000000  # [MS-SMB] §2.2.4.5.2.1
SECURITY_SIGNATURES_ENABLED, SECURITY_SIGNATURES_REQUIRED = 0x04, 0x08  # SecurityMode, §2.2.4.52.2
NO_DIALECT = 0xFFFF
# §2.2.4.52.2: a NEGOTIATE response's WordCount is its dialect's: 1 the Core Protocol, 13 LAN Manager 1.0 to 2.1,
# 17 NT LAN Manager, whose one dialect string is "NT LM 0.12" ([MS-CIFS] §1.7)
CORE, LANMAN, NT_LM = "core", "lanman", "nt_lm"
DIALECT_LEVELS = {1: CORE, 13: LANMAN, 17: NT_LM}
NT_LM_DIALECT = "NT LM 0.12"


def is_smb2_dialect(name: str) -> bool:
    """An SMB1 NEGOTIATE dialect string that asks for SMB2 ("SMB 2.002", "SMB 2.???", [MS-SMB2] §3.3.5.3.1)."""
    return name.startswith("SMB 2.")


def parse(msg: bytes, offered: list[str] | None) -> list[tuple[str, dict[str, Any]]]:
    """(kind, fields) of each command read in ``msg``; ``offered``: the dialects of the flow's NEGOTIATE
    request, to name a response's choice. ParseError when the header or a read command is malformed."""
    if len(msg) < HEADER + 3 or not msg.startswith(MAGIC):
        raise ParseError("smb1: truncated or no SMB header")
    command = msg[4]
    status = struct.unpack_from("<I", msg, 5)[0]
    reply = bool(msg[9] & FLAGS_REPLY)
    unicode = bool(struct.unpack_from("<H", msg, 10)[0] & FLAGS2_UNICODE)
    base: dict[str, Any] = {"smb1": True, "status": f"0x{status:08x}" if reply else None}
    out: list[tuple[str, dict[str, Any]]] = []
    at = HEADER
    for _ in range(MAX_ANDX):
        words, data, data_at = block(msg, at)
        fields: dict[str, Any] | None = None
        kind = ""
        if command == NEGOTIATE:
            kind = "negotiate_response" if reply else "negotiate_request"
            fields = _negotiate_response(words, data, unicode, offered) if reply else _negotiate_request(data)
        elif command == SESSION_SETUP_ANDX:
            kind = "session_setup_response" if reply else "session_setup_request"
            fields = _session_setup(msg, words, data_at, len(data), unicode, reply=reply)
        elif command == TREE_CONNECT_ANDX and not reply:
            kind = "tree_connect"
            fields = tree_connect(msg, words, data_at, len(data), unicode)
        if fields is not None:
            out.append((kind, {**base, **fields}))
        # AndX commands begin with AndXCommand, AndXReserved, AndXOffset (§2.2.3.4)
        if command not in (SESSION_SETUP_ANDX, TREE_CONNECT_ANDX) or len(words) < 4 or words[0] == NO_ANDX:
            break
        command, next_at = words[0], struct.unpack_from("<H", words, 2)[0]
        if next_at <= at or next_at >= len(msg):
            break  # the chain must go forward inside the message
        at = next_at
    if not out:
        out.append(("other", base))  # another command: the flow still speaks SMB1
    return out


def block(msg: bytes, at: int) -> tuple[bytes, bytes, int]:
    """(parameter words, data bytes, data offset) of the command block at ``at`` (§2.2.3.2, §2.2.3.3)."""
    if at >= len(msg):
        raise ParseError("smb1: no WordCount")
    count = msg[at]
    words_end = at + 1 + 2 * count
    if words_end + 2 > len(msg):
        raise ParseError("smb1: parameter block overruns the message")
    byte_count = struct.unpack_from("<H", msg, words_end)[0]
    data_at = words_end + 2
    return msg[at + 1 : words_end], msg[data_at : data_at + byte_count], data_at


def string(msg: bytes, pos: int, end: int, unicode: bool) -> tuple[str, int]:
    """The null-terminated string at ``pos`` (before ``end``) and the offset after it; an unterminated
    last string runs to ``end`` (stacks that leave out its terminator)."""
    if unicode:
        pos += pos % 2  # Unicode strings are aligned on 16 bits from the header's start (§2.2.3.3)
        stop = pos
        while stop + 1 < end and msg[stop : stop + 2] != b"\x00\x00":
            stop += 2
        return msg[pos:min(stop, end)].decode("utf-16-le", "replace")[:MAX_TEXT], stop + 2
    stop = msg.find(b"\x00", pos, end)
    stop = end if stop < 0 else stop
    return msg[pos:stop].decode("latin-1")[:MAX_TEXT], stop + 1


def _strings(msg: bytes, pos: int, end: int, unicode: bool, names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        if pos >= end:
            break
        text, pos = string(msg, pos, end, unicode)
        if text and name:
            out[name] = text
    return out


def _negotiate_request(data: bytes) -> dict[str, Any]:
    """§2.2.4.52.1: Dialects, each a 0x02 buffer-format byte and an OEM string."""
    dialects: list[str] = []
    pos = 0
    while pos < len(data) and len(dialects) < MAX_DIALECTS:
        if data[pos] != 0x02:
            raise ParseError("smb1: dialect without its buffer format 0x02")
        stop = data.find(b"\x00", pos + 1)
        stop = len(data) if stop < 0 else stop
        dialects.append(data[pos + 1 : stop].decode("latin-1")[:MAX_TEXT])
        pos = stop + 1
    return {"dialects": dialects, "smb1_offered": any(not is_smb2_dialect(d) for d in dialects)}


def _negotiate_response(words: bytes, data: bytes, unicode: bool, offered: list[str] | None) -> dict[str, Any]:
    if len(words) < 2:
        raise ParseError("smb1: NEGOTIATE response without DialectIndex")
    index = struct.unpack_from("<H", words)[0]
    level = DIALECT_LEVELS.get(len(words) // 2) if index != NO_DIALECT else None
    dialect = offered[index] if offered and index < len(offered) else None
    if offered is None and level == NT_LM:  # the request not seen: the response's form names the one NT LM dialect
        dialect = NT_LM_DIALECT
    fields: dict[str, Any] = {"dialect_index": index, "dialect": dialect, "smb1_selected": index != NO_DIALECT,
                              "dialect_level": level}
    if len(words) < 34:  # core protocol (1 word) or LANMAN (13): the NT LM fields are absent
        return fields
    mode = words[2]
    capabilities, challenge_length = struct.unpack_from("<I", words, 19)[0], words[33]
    fields.update({"signing_enabled": bool(mode & SECURITY_SIGNATURES_ENABLED),
                   "signing_required": bool(mode & SECURITY_SIGNATURES_REQUIRED),
                   "extended_security": bool(capabilities & CAP_EXTENDED_SECURITY)})
    if capabilities & CAP_EXTENDED_SECURITY:  # [MS-SMB] §2.2.4.5.2.1: ServerGUID, SecurityBlob
        if len(data) >= 16:
            fields["server_guid"] = str(uuid.UUID(bytes_le=data[:16]))
            fields.update(ntlmssp.security_blob(data[16:]))
    else:  # §2.2.4.52.2: Challenge, DomainName, ServerName (no alignment pad)
        pos = challenge_length
        for name in ("primary_domain", "server_name"):
            if pos >= len(data):
                break
            if unicode:
                stop = next((i for i in range(pos, len(data) - 1, 2) if data[i : i + 2] == b"\x00\x00"), len(data))
                text, pos = data[pos:stop].decode("utf-16-le", "replace"), stop + 2
            else:
                stop = data.find(b"\x00", pos)
                stop = len(data) if stop < 0 else stop
                text, pos = data[pos:stop].decode("latin-1"), stop + 1
            if text:
                fields[name] = text[:MAX_TEXT]
    return fields


def _session_setup(msg: bytes, words: bytes, data_at: int, size: int, unicode: bool, *,
                   reply: bool) -> dict[str, Any] | None:
    end = data_at + size
    count = len(words) // 2
    if reply:
        if count == 0:
            return {}  # an error response: the status says it
        if count not in (3, 4):
            raise ParseError(f"smb1: SESSION_SETUP_ANDX response of {count} words")
        fields: dict[str, Any] = {"guest": bool(struct.unpack_from("<H", words, 4)[0] & 0x0001)}
        pos = data_at
        if count == 4:  # [MS-SMB] §2.2.4.6.2: SecurityBlobLength
            blob_length = struct.unpack_from("<H", words, 6)[0]
            fields.update(ntlmssp.security_blob(msg[pos : min(pos + blob_length, end)]))
            pos += blob_length
        fields.update(_strings(msg, pos, end, unicode, ("native_os", "native_lanman", "primary_domain")))
        return fields
    if count == 12:  # [MS-SMB] §2.2.4.6.1: extended security
        blob_length = struct.unpack_from("<H", words, 14)[0]
        fields = ntlmssp.security_blob(msg[data_at : min(data_at + blob_length, end)])
        fields.update(_strings(msg, data_at + blob_length, end, unicode, ("native_os", "native_lanman")))
        return fields
    if count in (10, 13):  # LANMAN 2.x (§2.2.4.53.1 pre-NT) and NT LM 0.12 without extended security
        oem, uni = struct.unpack_from("<HH", words, 14) if count == 13 else (struct.unpack_from("<H", words, 14)[0], 0)
        pos = data_at + oem + uni
        account, pos = string(msg, pos, end, unicode) if pos < end else ("", pos)
        fields = {"account_present": bool(account), "anonymous": not account and oem + uni <= 1}
        fields.update(_strings(msg, pos, end, unicode, ("", "native_os", "native_lanman")))  # PrimaryDomain first
        return fields
    raise ParseError(f"smb1: SESSION_SETUP_ANDX request of {count} words")


def tree_connect(msg: bytes, words: bytes, data_at: int, size: int, unicode: bool) -> dict[str, Any]:
    """§2.2.4.55.1: Password, Path (\\\\server\\share), Service (always OEM)."""
    if len(words) < 8:
        raise ParseError("smb1: TREE_CONNECT_ANDX request of too few words")
    end = data_at + size
    password_length = struct.unpack_from("<H", words, 6)[0]
    path, pos = string(msg, data_at + password_length, end, unicode)
    service, _ = string(msg, pos, end, False) if pos < end else ("", pos)
    return {**smbshare.describe(path), "service": service or None}
