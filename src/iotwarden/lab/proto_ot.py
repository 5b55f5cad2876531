"""Payload builders for the OT and building protocols of the lab: Modbus/TCP, BACnet/IP, Niagara Fox.

Modbus per "MODBUS Application Protocol Specification V1.1b3" and "MODBUS Messaging on TCP/IP
Implementation Guide V1.0b"; BACnet per ASHRAE 135-2020 (Annex J for BACnet/IP).
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
