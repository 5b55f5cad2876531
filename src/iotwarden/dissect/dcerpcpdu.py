"""DCE/RPC connection-oriented PDUs (C706 §12.6): the common header checked, the PTYPEs and flags, the fixed body
each PTYPE needs, the presentation contexts a bind proposes and the results a bind_ack gives them.
"""

from __future__ import annotations

import re
import struct
import uuid

from iotwarden.dissect import streambuf
from iotwarden.errors import ParseError

HEADER = 16  # common header (C706 §12.6.3.1)
REQUEST, RESPONSE, FAULT, BIND, BIND_ACK, BIND_NAK = 0, 2, 3, 11, 12, 13
ALTER_CONTEXT, ALTER_CONTEXT_RESP, AUTH3, SHUTDOWN, CO_CANCEL, ORPHANED = 14, 15, 16, 17, 18, 19
PTYPES = {REQUEST: "request", RESPONSE: "response", FAULT: "fault", BIND: "bind", BIND_ACK: "bind_ack",
          BIND_NAK: "bind_nak", ALTER_CONTEXT: "alter_context", ALTER_CONTEXT_RESP: "alter_context_resp",
          AUTH3: "auth3", SHUTDOWN: "shutdown", CO_CANCEL: "co_cancel", ORPHANED: "orphaned"}  # C706 §12.6.4
CLIENT_PTYPES = frozenset({REQUEST, BIND, ALTER_CONTEXT, AUTH3, CO_CANCEL, ORPHANED})
# body bytes before any stub or auth data, per PTYPE (C706 §12.6.4): a shorter fragment is malformed
MIN_BODY = {REQUEST: 8, RESPONSE: 8, FAULT: 16, BIND: 12, ALTER_CONTEXT: 12, BIND_ACK: 10,
            ALTER_CONTEXT_RESP: 10, BIND_NAK: 2, AUTH3: 4, SHUTDOWN: 0, CO_CANCEL: 0, ORPHANED: 0}
PFC_FIRST_FRAG, PFC_LAST_FRAG, PFC_OBJECT_UUID = 0x01, 0x02, 0x80
AUTH_VERIFIER = 8  # sec_trailer before the auth_value (C706 §13.2.6.1)
ACK_RESULTS = {0: "acceptance", 1: "user_rejection", 2: "provider_rejection", 3: "negotiate_ack"}  # §12.6.3.1
MAX_PROPOSED = 32  # contexts read from one bind (Windows proposes 1-3; n_context_elem is one byte)
MAX_ADDRESS = 128  # characters of a secondary address kept
MAX_FRAGMENT = 0xFFFF  # bytes of one fragment at most (frag_length is 16 bits): a reader's unconsumed bytes
# the fixed bytes of a common header that :func:`header` checks (rpc_vers 5, rpc_vers_minor 0/1, a known PTYPE, any
# pfc_flags, the data representation's integer/character and floating-point formats and its two zero bytes, C706
# §14.1), searched in C for where a PDU may begin inside data
CANDIDATE = re.compile(rb"\x05[\x00\x01][\x00\x02\x03\x0b-\x13][\x00-\xff][\x00\x01\x10\x11][\x00-\x03]\x00\x00")


def header(data: bytes | bytearray) -> tuple[int, int, str, int, int, int] | None:
    """(PTYPE, flags, byte order, frag_length, auth_length, call_id) of a valid common header at the head of
    ``data``, else None: version 5.0/5.1, a known connection-oriented PTYPE, an NDR data representation
    (ASCII or EBCDIC, IEEE/VAX/Cray/IBM floats, reserved bytes zero: C706 §14.1) and a frag_length that holds
    the header, the PTYPE's fixed body and the auth trailer."""
    if len(data) < HEADER or data[0] != 5 or data[1] > 1 or data[2] not in MIN_BODY:
        return None
    drep = data[4:8]
    if drep[0] >> 4 > 1 or drep[0] & 0x0F > 1 or drep[1] > 3 or drep[2] or drep[3]:
        return None
    order = "<" if drep[0] >> 4 else ">"
    frag, auth, call_id = struct.unpack_from(order + "HHI", data, 8)
    if frag < HEADER + MIN_BODY[data[2]] + (auth + AUTH_VERIFIER if auth else 0):
        return None
    return data[2], data[3], order, frag, auth, call_id


def ndr_uuid(raw: bytes, order: str) -> str:
    """An NDR UUID: time_low, time_mid, time_hi_and_version in the data representation's byte order
    (C706 Appendix A)."""
    return str(uuid.UUID(bytes_le=raw) if order == "<" else uuid.UUID(bytes=raw))


def parse_bind(body: bytes, order: str) -> list[tuple[int, str, int, int]]:
    """(context id, interface UUID, major, minor version) of each presentation context a bind or alter_context
    proposes (C706 §12.6.4.3: p_cont_list_t of p_cont_elem_t)."""
    count = body[8]
    out: list[tuple[int, str, int, int]] = []
    pos = 12
    for _ in range(count):
        if pos + 24 > len(body):
            raise ParseError("dcerpc: presentation context past its PDU")
        cont_id, n_transfer = struct.unpack_from(order + "HB", body, pos)
        major, minor = struct.unpack_from(order + "HH", body, pos + 20)
        if len(out) < MAX_PROPOSED:
            out.append((cont_id, ndr_uuid(body[pos + 4:pos + 20], order), major, minor))
        pos += 24 + 20 * n_transfer
    if pos > len(body):
        raise ParseError("dcerpc: transfer syntaxes past their PDU")
    return out


def parse_bind_ack(body: bytes, order: str) -> tuple[str, list[int]]:
    """The secondary address and the result of each context, in the order proposed (C706 §12.6.4.4)."""
    length = struct.unpack_from(order + "H", body, 8)[0]
    end = 10 + length
    if end > len(body):
        raise ParseError("dcerpc: secondary address past its PDU")
    address = streambuf.text(body[10:end].rstrip(b"\x00"), MAX_ADDRESS)
    pos = end + (-(HEADER + end) % 4)  # the result list is 4-byte aligned from the PDU's start
    if pos + 4 > len(body):
        raise ParseError("dcerpc: result list past its PDU")
    count = body[pos]
    if pos + 4 + 24 * count > len(body):
        raise ParseError("dcerpc: results past their PDU")
    results = [struct.unpack_from(order + "H", body, pos + 4 + 24 * i)[0] for i in range(count)]
    return address, results
