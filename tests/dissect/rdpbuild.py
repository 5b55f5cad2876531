"""RDP PDUs built field by field from [MS-RDPBCGR] for the dissector, risk, detector and engine tests."""

from __future__ import annotations

import struct

PROTOCOL_RDP, PROTOCOL_SSL, PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX = 0x0, 0x1, 0x2, 0x8  # §2.2.1.1.1
EXTENDED_CLIENT_DATA_SUPPORTED = 0x01  # §2.2.1.2.1


def tpkt(x224: bytes) -> bytes:
    """RFC 1006 §6: version 3, reserved, length of the whole packet."""
    return struct.pack("!BBH", 3, 0, 4 + len(x224)) + x224


def connection_request(cookie: str | None = "administrator", protocols: int | None = PROTOCOL_SSL | PROTOCOL_HYBRID,
                       *, routing_token: str | None = None, flags: int = 0) -> bytes:
    """X.224 Connection Request (§2.2.1.1): cookie or routing token, then RDP_NEG_REQ (§2.2.1.1.1)."""
    body = b""
    if routing_token is not None:
        body += f"Cookie: msts={routing_token}\r\n".encode()
    elif cookie is not None:
        body += f"Cookie: mstshash={cookie}\r\n".encode()
    if protocols is not None:
        body += struct.pack("<BBHI", 1, flags, 8, protocols)
    x224 = bytes([6 + len(body), 0xE0, 0, 0, 0, 0, 0]) + body
    return tpkt(x224)


def _confirm(neg: bytes) -> bytes:
    return tpkt(bytes([6 + len(neg), 0xD0, 0, 0, 0x12, 0x34, 0]) + neg)


def connection_confirm(selected: int | None = PROTOCOL_HYBRID, flags: int = 0x1F) -> bytes:
    """X.224 Connection Confirm (§2.2.1.2) with RDP_NEG_RSP (§2.2.1.2.1); ``None``: no negotiation data."""
    return _confirm(b"" if selected is None else struct.pack("<BBHI", 2, flags, 8, selected))


def negotiation_failure(code: int) -> bytes:
    """X.224 Connection Confirm with RDP_NEG_FAILURE (§2.2.1.2.2)."""
    return _confirm(struct.pack("<BBHI", 3, 0, 8, code))


def _ber_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def ber(tag: bytes, value: bytes) -> bytes:
    return tag + _ber_len(len(value)) + value


def _per_len(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else struct.pack("!H", 0x8000 | n)


def _data_tpkt(user: bytes) -> bytes:
    return tpkt(b"\x02\xf0\x80" + user)  # X.224 Data TPDU (§2.2.1.3: LI 2, DT, EOT)


def client_core(name: str = "HMI-07", build: int = 2600, layout: int = 0x409, width: int = 1280,
                height: int = 1024) -> bytes:
    """TS_UD_CS_CORE (§2.2.1.3.2) with its header, mandatory fields only (128-byte body)."""
    raw_name = name.encode("utf-16-le")[:30].ljust(32, b"\0")
    body = (struct.pack("<IHHHHII", 0x00080004, width, height, 0xCA01, 0xAA03, layout, build) + raw_name
            + struct.pack("<III", 4, 0, 12) + b"\0" * 64)
    return struct.pack("<HH", 0xC001, 4 + len(body)) + body


def mcs_connect_initial(core: bytes | None = None) -> bytes:
    """A Data TPDU with an MCS Connect-Initial (T.125 §11.1) whose GCC Conference Create Request (T.124) carries
    the Client Core Data and an empty Client Security Data block (§2.2.1.3)."""
    blocks = (client_core() if core is None else core) + struct.pack("<HHII", 0xC002, 12, 0, 0)
    ccr = b"\x00\x08\x00\x10\x00\x01\xc0\x00Duca" + _per_len(len(blocks)) + blocks
    gcc = b"\x00\x05\x00\x14\x7c\x00\x01" + _per_len(len(ccr)) + ccr
    params = ber(b"\x30", b"\x02\x01\x22\x02\x01\x02\x02\x01\x00\x02\x01\x01")
    mcs = ber(b"\x7f\x65", ber(b"\x04", b"\x01") + ber(b"\x04", b"\x01") + b"\x01\x01\xff" + params + params
              + params + ber(b"\x04", gcc))
    return _data_tpkt(mcs)


def mcs_connect_response(method: int = 0x2, level: int = 2, cert_version: int = 0x80000001) -> bytes:
    """A Data TPDU with an MCS Connect-Response (T.125 §11.2) whose GCC Conference Create Response carries the
    Server Core Data and the Server Security Data (§2.2.1.4.3) with a proprietary certificate's version word."""
    security = struct.pack("<IIII", method, level, 32, 8) + b"\x11" * 32 + struct.pack("<II", cert_version, 0)
    blocks = struct.pack("<HHII", 0x0C01, 12, 0x00080004, 0) + struct.pack("<HH", 0x0C02, 4 + len(security)) + security
    ccr = b"\x14\x76\x0a\x01\x01\x00\x01\xc0\x00McDn" + _per_len(len(blocks)) + blocks
    gcc = b"\x00\x05\x00\x14\x7c\x00\x01" + _per_len(len(ccr)) + ccr
    params = ber(b"\x30", b"\x02\x01\x22\x02\x01\x03\x02\x01\x00\x02\x01\x01")
    mcs = ber(b"\x7f\x66", b"\x0a\x01\x00\x02\x01\x00" + params + ber(b"\x04", gcc))
    return _data_tpkt(mcs)
