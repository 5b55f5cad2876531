"""CIP messages (ODVA CIP Volume 1): Message Router requests and replies, EPATHs, the Identity object.

Shared by the EtherNet/IP dissector for explicit messages. Embedded requests (Multiple Service
Packet §A-4.10, Unconnected Send §3-5.6.2) are unwrapped so every operation is reported on its own.
"""

from __future__ import annotations

import itertools
from typing import Any

from iotwarden.errors import ParseError

MAX_EMBEDDED = 16  # requests read from one Multiple Service Packet, attribute ids from one list
MAX_SYMBOL = 128  # characters of a symbolic (tag name) segment kept

SERVICES: dict[int, str] = {  # CIP Vol 1 Appendix common services
    0x01: "get_attributes_all", 0x02: "set_attributes_all", 0x03: "get_attribute_list",
    0x04: "set_attribute_list", 0x05: "reset", 0x06: "start", 0x07: "stop", 0x08: "create", 0x09: "delete",
    0x0A: "multiple_service_packet", 0x0D: "apply_attributes", 0x0E: "get_attribute_single",
    0x10: "set_attribute_single", 0x11: "find_next_object_instance", 0x14: "error_response",
    0x15: "restore", 0x16: "save", 0x17: "nop", 0x18: "get_member", 0x19: "set_member",
    0x1A: "insert_member", 0x1B: "remove_member", 0x1C: "group_sync",
}
# object-specific services (0x4B-0x63) are named per class: CIP Vol 1 §3-5.5 (Connection Manager),
# Rockwell Logix tag services (publication 1756-PM020) on symbolic paths and the Symbol object, PCCC
CLASS_SERVICES: dict[int, dict[int, str]] = {
    0x06: {0x4E: "forward_close", 0x52: "unconnected_send", 0x54: "forward_open", 0x56: "get_connection_data",
           0x57: "search_connection_data", 0x5A: "get_connection_owner", 0x5B: "large_forward_open"},
    0x67: {0x4B: "execute_pccc"},
}
TAG_SERVICES = {0x4C: "read_tag", 0x4D: "write_tag", 0x4E: "read_modify_write_tag", 0x52: "read_tag_fragmented",
                0x53: "write_tag_fragmented", 0x55: "get_instance_attribute_list"}
CLASSES: dict[int, str] = {  # CIP Vol 1 §5 object class codes, Vol 2 §5 (TCP/IP, Ethernet Link)
    0x01: "identity", 0x02: "message_router", 0x03: "devicenet", 0x04: "assembly", 0x05: "connection",
    0x06: "connection_manager", 0x07: "register", 0x37: "file", 0x48: "qos", 0x67: "pccc",
    0x6B: "symbol", 0x6C: "template", 0xA1: "non_volatile_storage", 0xF4: "port",
    0xF5: "tcp_ip_interface", 0xF6: "ethernet_link",
}
GENERAL_STATUS = {0x00: "success", 0x01: "connection_failure", 0x02: "resource_unavailable",
                  0x04: "path_segment_error", 0x05: "path_destination_unknown", 0x08: "service_not_supported",
                  0x09: "invalid_attribute_value", 0x0C: "object_state_conflict", 0x0E: "attribute_not_settable",
                  0x0F: "privilege_violation", 0x10: "device_state_conflict", 0x13: "not_enough_data",
                  0x14: "attribute_not_supported", 0x15: "too_much_data", 0x16: "object_does_not_exist",
                  0x1E: "embedded_service_error", 0x1F: "vendor_specific_error", 0x20: "invalid_parameter"}


def service_name(code: int, path: dict[str, Any]) -> str:
    if code in SERVICES:
        return SERVICES[code]
    cls = path.get("class")
    if cls in CLASS_SERVICES and code in CLASS_SERVICES[cls]:
        return CLASS_SERVICES[cls][code]
    if (cls in (0x6B, None) or "symbol" in path) and code in TAG_SERVICES:
        return TAG_SERVICES[code]
    return "object_specific" if 0x4B <= code <= 0x63 else "unknown"


def parse_epath(raw: bytes) -> dict[str, Any]:
    """Class, instance, attribute, member and symbol of a padded EPATH (CIP Vol 1 Appendix C-1)."""
    out: dict[str, Any] = {}
    off = 0
    keys = {0: "class", 1: "instance", 2: "member", 3: "connection_point", 4: "attribute"}
    while off < len(raw):
        seg = raw[off]
        if seg >> 5 == 1:  # logical segment: type (bits 4-2), format (bits 1-0)
            kind, fmt = (seg >> 2) & 0x07, seg & 0x03
            if kind == 5:  # special (electronic key, §C-1.4.2): format byte + 8 octets of key data
                off += 10
                continue
            if fmt == 0:
                if off + 2 > len(raw):
                    raise ParseError("CIP 8-bit logical segment cut short")
                value, off = raw[off + 1], off + 2
            elif fmt == 1:
                if off + 4 > len(raw):
                    raise ParseError("CIP 16-bit logical segment cut short")
                value, off = int.from_bytes(raw[off + 2 : off + 4], "little"), off + 4
            elif fmt == 2:
                if off + 6 > len(raw):
                    raise ParseError("CIP 32-bit logical segment cut short")
                value, off = int.from_bytes(raw[off + 2 : off + 6], "little"), off + 6
            else:
                raise ParseError("CIP reserved logical format")
            if kind in keys:
                out.setdefault(keys[kind], value)
        elif seg == 0x91:  # ANSI extended symbolic segment (§C-1.4.5): length, name, pad
            if off + 2 > len(raw):
                raise ParseError("CIP symbolic segment cut short")
            size = raw[off + 1]
            name = raw[off + 2 : off + 2 + size].decode("latin-1")[:MAX_SYMBOL]
            out["symbol"] = f"{out['symbol']}.{name}" if "symbol" in out else name
            off += 2 + size + (size & 1)
        elif seg >> 5 == 0:  # port segment (§C-1.4.1): port, link address (route paths)
            if seg & 0x10:  # extended link address: size, address, pad
                if off + 2 > len(raw):
                    raise ParseError("CIP port segment cut short")
                size = raw[off + 1]
                off += 2 + size + (size & 1)
            else:
                off += 2
            if seg & 0x0F == 0x0F:
                off += 2
        elif seg >> 5 == 4:  # data segment (§C-1.4.4): simple data, word count
            if off + 2 > len(raw):
                raise ParseError("CIP data segment cut short")
            off += 2 + 2 * raw[off + 1]
        else:
            raise ParseError(f"CIP unsupported path segment 0x{seg:02x}")
    if off > len(raw):
        raise ParseError("CIP path segment past the end of the path")
    return out


def parse_request(msg: bytes) -> tuple[dict[str, Any], bytes]:
    """Service, path fields and request data of one Message Router request (Vol 1 §2-4.1)."""
    if len(msg) < 2:
        raise ParseError("CIP request cut short")
    service, words = msg[0] & 0x7F, msg[1]
    end = 2 + 2 * words
    if end > len(msg):
        raise ParseError("CIP request path past the end of the message")
    path = parse_epath(msg[2:end])
    fields: dict[str, Any] = {"service": service, "service_name": service_name(service, path), **path}
    if "class" in path:
        fields["class_name"] = CLASSES.get(path["class"], "unknown")
    data = msg[end:]
    if service in (0x03, 0x04) and len(data) >= 2:  # attribute list services (§ ): count, ids
        count = min(int.from_bytes(data[:2], "little"), MAX_EMBEDDED)
        fields["attributes"] = [int.from_bytes(data[2 + 2 * i : 4 + 2 * i], "little")
                                for i in range(count) if 4 + 2 * i <= len(data)]
    return fields, data


def embedded_requests(fields: dict[str, Any], data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """Requests carried by a Multiple Service Packet or an Unconnected Send, else []."""
    name = fields["service_name"]
    if name == "multiple_service_packet":  # count, offsets from the count field, requests
        if len(data) < 2:
            raise ParseError("Multiple Service Packet without count")
        count = int.from_bytes(data[:2], "little")
        offsets = [int.from_bytes(data[2 + 2 * i : 4 + 2 * i], "little") for i in range(min(count, MAX_EMBEDDED))]
        bounds = [*offsets, len(data)] if count <= MAX_EMBEDDED else offsets
        out = []
        for start, stop in itertools.pairwise(bounds):
            if not 2 + 2 * count <= start <= stop <= len(data):
                raise ParseError("Multiple Service Packet offset outside the packet")
            out.append(parse_request(data[start:stop]))
        return out
    if name == "unconnected_send":  # priority/tick, timeout ticks, size, embedded request
        if len(data) < 4:
            raise ParseError("Unconnected Send cut short")
        size = int.from_bytes(data[2:4], "little")
        if 4 + size > len(data):
            raise ParseError("Unconnected Send request past the end of the message")
        return [parse_request(data[4 : 4 + size])]
    return []


def parse_reply(msg: bytes) -> tuple[dict[str, Any], bytes]:
    """Service, status and reply data of one Message Router reply (Vol 1 §2-4.2)."""
    if len(msg) < 4 or not msg[0] & 0x80:
        raise ParseError("CIP reply cut short or without the reply bit")
    service, status, extra_words = msg[0] & 0x7F, msg[2], msg[3]
    end = 4 + 2 * extra_words
    if end > len(msg):
        raise ParseError("CIP additional status past the end of the reply")
    fields: dict[str, Any] = {"service": service, "general_status": status,
                              "status": GENERAL_STATUS.get(status, "unknown")}
    if extra_words:
        fields["extended_status"] = int.from_bytes(msg[4:6], "little")
    return fields, msg[end:]


def identity_attributes(data: bytes) -> dict[str, Any]:
    """Identity object instance attributes 1-7 (+8 state), as in Get_Attributes_All and ListIdentity.

    Vol 1 §5-2.2: vendor id, device type, product code, revision (major, minor), status,
    serial number, product name (SHORT_STRING), [state].
    """
    if len(data) < 15:
        raise ParseError("CIP identity attributes cut short")
    name_len = data[14]
    if 15 + name_len > len(data):
        raise ParseError("CIP identity product name past the end")
    out: dict[str, Any] = {
        "vendor_id": int.from_bytes(data[0:2], "little"),
        "device_type": int.from_bytes(data[2:4], "little"),
        "product_code": int.from_bytes(data[4:6], "little"),
        "revision": f"{data[6]}.{data[7]}",
        "status": int.from_bytes(data[8:10], "little"),
        "serial": f"0x{int.from_bytes(data[10:14], 'little'):08x}",
        "product_name": data[15 : 15 + name_len].decode("latin-1").rstrip("\x00"),
    }
    if len(data) > 15 + name_len:
        out["state"] = data[15 + name_len]
    return out
