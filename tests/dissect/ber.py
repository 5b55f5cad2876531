"""Test helper: build BER encodings (X.690 definite lengths) and the ISO-TSAP wrappings around them, for
synthetic MMS, ACSE and S7 inputs."""

from __future__ import annotations


def tlv(tag: int | bytes, *parts: bytes) -> bytes:
    """One TLV: ``tag`` as an identifier octet or the identifier's bytes, the parts concatenated."""
    body = b"".join(parts)
    head = bytes([tag]) if isinstance(tag, int) else tag
    n = len(body)
    if n < 0x80:
        return head + bytes([n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return head + bytes([0x80 | len(size)]) + size + body


def ctx(number: int, *parts: bytes, constructed: bool = True) -> bytes:
    """A context-specific TLV [number], in the high-tag form from 31 on (X.690 §8.1.2.4)."""
    first = 0x80 | (0x20 if constructed else 0)
    if number < 31:
        return tlv(first | number, *parts)
    return tlv(bytes([first | 0x1F, number]) if number < 128 else bytes([first | 0x1F, 0x80 | number >> 7,
                                                                         number & 0x7F]), *parts)


def integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def visible(text: str, tag: int = 0x1A) -> bytes:
    return tlv(tag, text.encode())


def presentation_data(pdu: bytes, context_id: int = 3) -> bytes:
    """A session Give Tokens + Data Transfer pair around fully-encoded presentation data (X.225, X.226)."""
    return b"\x01\x00\x01\x00" + tlv(0x61, tlv(0x30, integer(context_id), tlv(0xA0, pdu)))


def cotp_dt(tsdu: bytes, eot: bool = True) -> bytes:
    """A TPKT (RFC 1006) holding one COTP DT TPDU (X.224 §13.7)."""
    body = bytes([2, 0xF0, 0x80 if eot else 0x00]) + tsdu
    return bytes([3, 0]) + (4 + len(body)).to_bytes(2, "big") + body


def cotp_cr(calling: bytes = b"\x00\x01", called: bytes = b"\x00\x01") -> bytes:
    """A TPKT holding a COTP CR TPDU with calling/called TSAPs and TPDU size 1024 (X.224 §13.3)."""
    params = b"\xc0\x01\x0a" + b"\xc1" + bytes([len(calling)]) + calling + b"\xc2" + bytes([len(called)]) + called
    cotp = bytes([6 + len(params), 0xE0, 0, 0, 0, 1, 0]) + params
    return bytes([3, 0]) + (4 + len(cotp)).to_bytes(2, "big") + cotp
