"""Minimal BER reader (ITU-T X.690 §8) for the SNMP, Kerberos and MMS dissectors: TLVs, integers, OIDs; no schema.

Every length is checked against the enclosing buffer; anything malformed raises ParseError.
Nesting depth and sizes are bounded by the caller's message size and :data:`MAX_SUBIDS`.
"""

from __future__ import annotations

from typing import NamedTuple

from iotwarden.errors import ParseError

MAX_SUBIDS = 128  # RFC 2578 §3.5: an OBJECT IDENTIFIER has at most 128 sub-identifiers
MAX_TAG_BYTES = 4  # base-128 bytes of a high tag number (X.690 §8.1.2.4)
MAX_INT_BYTES = 9  # largest INTEGER accepted (Counter64 may need 9 bytes with a leading zero)
# dotted texts of OIDs remembered by their encoding (SNMP varbind names, Kerberos and X.509 algorithm
# identifiers recur message after message); past this many the memo is emptied and fills again
MAX_OID_MEMO = 4096
# an encoding longer than this is decoded every time, never kept: _oid accepts sub-identifiers padded with any number
# of 0x80 bytes (X.690 §8.19.2 forbids them), so an OID may be as long as its message, and MAX_OID_MEMO such would hold
# megabytes; the OIDs that recur are tens of bytes (an SNMP table row's name with an address or string index)
MAX_OID_MEMO_BYTES = 128

# universal tags, X.690 §8 / X.680 §8.4
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
SEQUENCE = 0x30


class Tlv(NamedTuple):
    tag: int  # identifier octet (class, constructed bit, number); see read_tlv for numbers >= 31
    value: bytes
    end: int  # offset just past this TLV in the buffer it was read from


def read_tlv(data: bytes, pos: int = 0) -> Tlv:
    """The TLV at ``data[pos:]`` (definite lengths only, X.690 §8.1.3; SNMP forbids the indefinite form)."""
    if pos + 2 > len(data):
        raise ParseError("BER: truncated header")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:  # X.690 §8.1.2.4: high-tag-number form, base-128 number follows
        number = 0
        for i in range(MAX_TAG_BYTES + 1):
            if i == MAX_TAG_BYTES or pos >= len(data):
                raise ParseError("BER: truncated or oversized tag number")
            number = (number << 7) | (data[pos] & 0x7F)
            pos += 1
            if not data[pos - 1] & 0x80:
                break
        # a small number in the long form means the same tag as its short form
        tag = (tag & 0xE0) | number if number < 0x1F else ((tag & 0xE0) << 24) | number
    if pos >= len(data):
        raise ParseError("BER: truncated header")
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4:
            raise ParseError("BER: indefinite or oversized length")
        if pos + n > len(data):
            raise ParseError("BER: truncated length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ParseError(f"BER: value of {length} bytes overruns its container")
    return _tlv(Tlv, (tag, data[pos : pos + length], pos + length))


# Tlv(tag, value, end) without the named tuple's Python-level __new__ (what it calls): one per TLV read
_tlv = tuple.__new__


def tag_parts(tag: int) -> tuple[int, bool, int]:
    """(class bits 0x00/0x40/0x80/0xC0, constructed, tag number) of a tag as :func:`read_tlv` returns it
    (X.690 §8.1.2: universal, application, context-specific, private)."""
    head, number = (tag >> 24, tag & 0x0FFFFFFF) if tag > 0xFF else (tag, tag & 0x1F)
    return head & 0xC0, bool(head & 0x20), number


def expect(data: bytes, pos: int, tag: int, what: str) -> Tlv:
    tlv = read_tlv(data, pos)
    if tlv.tag != tag:
        raise ParseError(f"BER: {what}: tag 0x{tlv.tag:02x}, expected 0x{tag:02x}")
    return tlv


def children(value: bytes) -> list[Tlv]:
    """The TLVs that make up a constructed value, in order."""
    out = []
    pos = 0
    while pos < len(value):
        tlv = read_tlv(value, pos)
        out.append(tlv)
        pos = tlv.end
    return out


def integer(value: bytes) -> int:
    """X.690 §8.3: two's complement, big-endian."""
    if not value or len(value) > MAX_INT_BYTES:
        raise ParseError(f"BER: INTEGER of {len(value)} bytes")
    return int.from_bytes(value, "big", signed=True)


def unsigned(value: bytes) -> int:
    """Counter32/Gauge32/TimeTicks/Counter64 (RFC 2578 §7.1): encoded as INTEGER, read unsigned."""
    if not value or len(value) > MAX_INT_BYTES:
        raise ParseError(f"BER: unsigned of {len(value)} bytes")
    return int.from_bytes(value, "big")


def oid(value: bytes) -> str:
    """Dotted text of an OBJECT IDENTIFIER (X.690 §8.19)."""
    text = _OID_TEXT.get(value) if value.__class__ is bytes else None
    if text is None:
        text = _oid(value)
        if value.__class__ is bytes and len(value) <= MAX_OID_MEMO_BYTES:
            if len(_OID_TEXT) >= MAX_OID_MEMO:
                _OID_TEXT.clear()
            _OID_TEXT[value] = text
    return text


_OID_TEXT: dict[bytes, str] = {}  # oid's memo, MAX_OID_MEMO entries of MAX_OID_MEMO_BYTES at most: the text depends on
# the bytes alone


def _oid(value: bytes) -> str:
    if not value:
        raise ParseError("BER: empty OID")
    subids: list[int] = []
    acc = 0
    for b in value:
        acc = (acc << 7) | (b & 0x7F)
        if acc >= 1 << 64:
            raise ParseError("BER: OID sub-identifier over 64 bits")
        if not b & 0x80:
            subids.append(acc)
            acc = 0
            if len(subids) > MAX_SUBIDS:
                raise ParseError("BER: OID with too many sub-identifiers")
    if value[-1] & 0x80:
        raise ParseError("BER: OID ends inside a sub-identifier")
    first = subids[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(map(str, head + subids[1:]))
