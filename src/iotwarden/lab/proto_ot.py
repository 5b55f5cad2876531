"""Payload builders for the OT and building protocols of the lab: Modbus/TCP, BACnet/IP, Niagara Fox and
Siemens S7 (S7comm over ISO-on-TCP, and the S7comm-plus frame of TIA Portal).

Modbus per "MODBUS Application Protocol Specification V1.1b3" and "MODBUS Messaging on TCP/IP
Implementation Guide V1.0b"; BACnet per ASHRAE 135-2020 (Annex J for BACnet/IP); S7 as the
Wireshark s7comm / s7comm_plus dissectors and the Snap7 documentation lay it out (RFC 1006 TPKT,
ISO 8073 COTP).
"""

from __future__ import annotations

import struct


# ---------------------------------------------------------------- Modbus/TCP
def mbap(transaction: int, unit: int, pdu: bytes) -> bytes:
    """MBAP header (TCP guide §3.1.3): transaction id, protocol 0, length (unit id + PDU), unit id."""
    return struct.pack("!HHHB", transaction & 0xFFFF, 0, len(pdu) + 1, unit) + pdu


def modbus_read_request(function: int, address: int, quantity: int) -> bytes:
    """Read Coils (0x01) / Read Holding Registers (0x03) request PDU (§6.1, §6.3)."""
    return struct.pack("!BHH", function, address, quantity)


def modbus_read_response(function: int, quantity: int, values: list[int]) -> bytes:
    if function == 0x01:  # coil status packed 8 per byte, LSB first (§6.1)
        raw = bytearray((quantity + 7) // 8)
        for i, bit in enumerate(values[:quantity]):
            raw[i // 8] |= (bit & 1) << (i % 8)
        return struct.pack("!BB", function, len(raw)) + bytes(raw)
    regs = b"".join(struct.pack("!H", v & 0xFFFF) for v in values[:quantity])
    return struct.pack("!BB", function, len(regs)) + regs


def modbus_write_single(address: int, value: int) -> bytes:
    """Write Single Register (0x06, §6.6); the normal response echoes the request."""
    return struct.pack("!BHH", 0x06, address, value & 0xFFFF)


def modbus_write_multiple_request(address: int, values: list[int]) -> bytes:
    """Write Multiple Registers (0x10, §6.12)."""
    regs = b"".join(struct.pack("!H", v & 0xFFFF) for v in values)
    return struct.pack("!BHHB", 0x10, address, len(values), len(regs)) + regs


def modbus_write_multiple_response(address: int, count: int) -> bytes:
    return struct.pack("!BHH", 0x10, address, count)


MODBUS_READ_DEVICE_ID = b"\x2b\x0e\x01\x00"  # MEI 0x0E, basic device identification, from object 0 (§6.21)


def modbus_device_id_response(vendor: str, product_code: str, revision: str) -> bytes:
    """Read Device Identification answer: VendorName (0), ProductCode (1), MajorMinorRevision (2)."""
    objects = b""
    for oid, text in enumerate((vendor, product_code, revision)):
        raw = text.encode()
        objects += struct.pack("!BB", oid, len(raw)) + raw
    return struct.pack("!BBBBBBB", 0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 3) + objects


# ---------------------------------------------------------------- BACnet/IP
BVLC_UNICAST, BVLC_BROADCAST = 0x0A, 0x0B  # Original-Unicast/Broadcast-NPDU (Annex J.2)
OBJECT_DEVICE = 8
PROP_FIRMWARE_REVISION, PROP_MODEL_NAME, PROP_OBJECT_NAME, PROP_VENDOR_NAME = 44, 70, 77, 121


def bvlc(function: int, npdu: bytes) -> bytes:
    return struct.pack("!BBH", 0x81, function, 4 + len(npdu)) + npdu


def _npdu(apdu: bytes, *, expecting_reply: bool) -> bytes:
    return bytes([0x01, 0x04 if expecting_reply else 0x00]) + apdu  # version 1, control (§6.2.2)


def _object_id(obj_type: int, instance: int) -> bytes:
    return struct.pack("!I", (obj_type << 22) | (instance & 0x3FFFFF))


def _unsigned(value: int) -> bytes:
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return bytes([0x20 | len(raw)]) + raw  # application tag 2, Unsigned (§20.2.4)


def bacnet_who_is() -> bytes:
    """Unconfirmed Who-Is without a range (§16.10), broadcast."""
    return bvlc(BVLC_BROADCAST, _npdu(b"\x10\x08", expecting_reply=False))


def bacnet_i_am(instance: int, vendor_id: int) -> bytes:
    """Unconfirmed I-Am (§16.10.2): device object id, max APDU 1476, segmented-both (0), vendor id."""
    apdu = b"\x10\x00" + b"\xc4" + _object_id(OBJECT_DEVICE, instance) + _unsigned(1476) + b"\x91\x00"
    return bvlc(BVLC_BROADCAST, _npdu(apdu + _unsigned(vendor_id), expecting_reply=False))


def bacnet_read_property(invoke_id: int, instance: int, prop: int) -> bytes:
    """Confirmed ReadProperty request (§15.5) on the device object."""
    apdu = bytes([0x00, 0x05, invoke_id & 0xFF, 0x0C]) + b"\x0c" + _object_id(OBJECT_DEVICE, instance)
    return bvlc(BVLC_UNICAST, _npdu(apdu + bytes([0x19, prop]), expecting_reply=True))


def bacnet_read_property_ack(invoke_id: int, instance: int, prop: int, value: str) -> bytes:
    """ReadProperty-ACK (§15.5.1.3) carrying a CharacterString (ANSI X3.4, §20.2.9)."""
    raw = b"\x00" + value.encode()
    string = (bytes([0x70 | len(raw)]) if len(raw) <= 4 else bytes([0x75, len(raw)])) + raw
    apdu = bytes([0x30, invoke_id & 0xFF, 0x0C]) + b"\x0c" + _object_id(OBJECT_DEVICE, instance)
    return bvlc(BVLC_UNICAST, _npdu(apdu + bytes([0x19, prop]) + b"\x3e" + string + b"\x3f", expecting_reply=False))


# ---------------------------------------------------------------- Niagara Fox (Tridium FoxFrame)
def fox_hello(seq: int, values: dict[str, str]) -> bytes:
    """A ``fox hello`` frame: header line, ``key=s:value`` body in braces, ``;;`` footer (the frame
    Nmap's fox-info sends and parses; ``fox a 1 -1`` from the client, ``fox a 0 -1`` from the station)."""
    body = "".join(f"{key}={'i' if key == 'id' else 's'}:{value}\n" for key, value in values.items())
    return f"fox a {seq} -1 fox hello\n{{\n{body}}};;\n".encode()


# ---------------------------------------------------------------- S7 over ISO-on-TCP (RFC 1006, ISO 8073)
def tpkt(payload: bytes) -> bytes:
    return struct.pack("!BBH", 3, 0, 4 + len(payload)) + payload  # RFC 1006 §6: version 3, reserved, length


def _cotp_connect(code: int, src_ref: int, calling: bytes, called: bytes) -> bytes:
    """COTP CR (0xE0) or CC (0xD0), class 0, with TPDU size 1024 and both TSAPs (X.224 §13.3.4)."""
    params = b"\xc0\x01\x0a" + bytes([0xC1, len(calling)]) + calling + bytes([0xC2, len(called)]) + called
    body = bytes([code]) + struct.pack("!HHB", 0 if code == 0xE0 else 1, src_ref, 0) + params
    return tpkt(bytes([len(body)]) + body)


def cotp_connection_request(calling: bytes, called: bytes) -> bytes:
    return _cotp_connect(0xE0, 1, calling, called)


def cotp_connection_confirm(calling: bytes, called: bytes) -> bytes:
    return _cotp_connect(0xD0, 2, calling, called)


def s7_tsap(connection_type: int, rack: int, slot: int) -> bytes:
    """A classic S7 TSAP: connection resource type (1 PG, 2 OP, 3 S7 basic), then rack * 32 + slot (Snap7)."""
    return bytes([connection_type, rack * 32 + slot])


def _cotp_data(pdu: bytes) -> bytes:
    return tpkt(b"\x02\xf0\x80" + pdu)  # COTP DT, last data unit (X.224 §13.7)


def s7_job(pdu_ref: int, params: bytes) -> bytes:
    """S7 job PDU (ROSCTR 1): protocol id 0x32, reference, parameter and data lengths."""
    return _cotp_data(struct.pack("!BBHHHH", 0x32, 1, 0, pdu_ref, len(params), 0) + params)


def s7_ack_data(pdu_ref: int, params: bytes, data: bytes = b"") -> bytes:
    """S7 ack_data PDU (ROSCTR 3): the job's answer, error class and code 0."""
    return _cotp_data(struct.pack("!BBHHHHBB", 0x32, 3, 0, pdu_ref, len(params), len(data), 0, 0) + params + data)


S7_SETUP_COMMUNICATION = b"\xf0\x00\x00\x01\x00\x01\x01\xe0"  # max AmQ 1/1, PDU length 480


def s7_read_var(items: list[tuple[int, int, int]]) -> bytes:
    """read_var (0x04) parameters: S7ANY items (syntax 0x10, BYTE) for (db, first byte, length)."""
    out = bytes([0x04, len(items)])
    for db, start, length in items:
        out += b"\x12\x0a\x10\x02" + struct.pack("!HHB", length, db, 0x84) + (start * 8).to_bytes(3, "big")
    return out


def s7_read_var_data(values: list[bytes]) -> bytes:
    """read_var answer data: per item return code 0xFF (success), transport size 4 (bits), length, bytes."""
    out = b""
    for i, value in enumerate(values):
        out += b"\xff\x04" + struct.pack("!H", len(value) * 8) + value
        if len(value) % 2 and i < len(values) - 1:
            out += b"\x00"  # items are padded to even length, except the last
    return out


def s7plus_frame(opcode: int, function: int, seq: int, body: bytes) -> bytes:
    """An S7comm-plus V1 PDU in a COTP data unit: 0x72, version, length, opcode, function, sequence,
    the body (opaque here), trailer 0x72 0x01 0x0000 (Wireshark s7comm_plus)."""
    data = struct.pack("!BHHHH", opcode, 0, function, 0, seq) + body
    return _cotp_data(struct.pack("!BBH", 0x72, 1, len(data)) + data + b"\x72\x01\x00\x00")
