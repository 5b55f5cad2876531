"""BACnet tagged encoding (ANSI/ASHRAE 135-2020 §20.2) and the names of object types and properties.

A small reader over the APDU's tag stream: application and context tags, opening/closing tags and
the primitive values that identify a device (character strings, unsigned, enumerated, object ids).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from iotwarden.errors import ParseError

MAX_VALUE_BYTES = 1024  # octets of a primitive value decoded into a field (longer ones are cut)

OBJECT_TYPES = (  # §21 BACnetObjectType 0..30
    "analog-input", "analog-output", "analog-value", "binary-input", "binary-output", "binary-value",
    "calendar", "command", "device", "event-enrollment", "file", "group", "loop", "multi-state-input",
    "multi-state-output", "notification-class", "program", "schedule", "averaging", "multi-state-value",
    "trend-log", "life-safety-point", "life-safety-zone", "accumulator", "pulse-converter", "event-log",
    "global-group", "trend-log-multiple", "load-control", "structured-view", "access-door",
)
PROPERTIES = {  # §21 BACnetPropertyIdentifier, the ones the dissector names
    12: "application-software-version", 28: "description", 44: "firmware-revision", 58: "location",
    62: "max-apdu-length-accepted", 70: "model-name", 75: "object-identifier", 76: "object-list",
    77: "object-name", 79: "object-type", 85: "present-value", 96: "protocol-services-supported",
    97: "protocol-object-types-supported", 98: "protocol-version", 107: "segmentation-supported",
    112: "system-status", 120: "vendor-identifier", 121: "vendor-name", 139: "protocol-revision",
    155: "database-revision", 168: "profile-name", 371: "property-list", 8: "all",
}
IDENTITY_PROPERTIES = frozenset({77, 121, 70, 44, 12, 28, 58})  # these values identify a device
CHARSETS = {0: "utf-8", 4: "utf-16-be", 5: "latin-1", 3: "utf-32-be"}  # §20.2.9


@dataclass(slots=True)
class Tag:
    number: int
    context: bool  # class bit: context-specific (True) or application (False)
    kind: str  # "value", "open", "close"
    data: bytes  # the value octets (empty for open/close, boolean application tags use ``lvt``)
    lvt: int


def read_tag(buf: bytes, off: int) -> tuple[Tag, int]:
    """The tag at ``off`` and the offset after it (§20.2.1: tag number, class, length/value/type)."""
    if off >= len(buf):
        raise ParseError("BACnet tag past the end of the APDU")
    first = buf[off]
    number, context, lvt = first >> 4, bool(first & 0x08), first & 0x07
    off += 1
    if number == 15:  # §20.2.1.2 extended tag number
        if off >= len(buf):
            raise ParseError("BACnet extended tag number cut short")
        number = buf[off]
        off += 1
    if context and lvt in (6, 7):
        return Tag(number, True, "open" if lvt == 6 else "close", b"", lvt), off
    if not context and number == 1:  # §20.2.3 application boolean: the value is in the LVT
        return Tag(1, False, "value", b"", lvt), off
    length = lvt
    if lvt == 5:  # §20.2.1.3.1 extended length
        if off >= len(buf):
            raise ParseError("BACnet extended length cut short")
        length, off = buf[off], off + 1
        if length == 254:
            length, off = int.from_bytes(buf[off : off + 2], "big"), off + 2
        elif length == 255:
            length, off = int.from_bytes(buf[off : off + 4], "big"), off + 4
    if off + length > len(buf):
        raise ParseError("BACnet tag value past the end of the APDU")
    return Tag(number, context, "value", buf[off : off + length], lvt), off + length


def object_id(data: bytes) -> dict[str, Any]:
    """§20.2.14 object identifier: 10-bit type, 22-bit instance."""
    if len(data) != 4:
        raise ParseError("BACnet object identifier is not 4 octets")
    raw = int.from_bytes(data, "big")
    otype, instance = raw >> 22, raw & 0x3FFFFF
    name = OBJECT_TYPES[otype] if otype < len(OBJECT_TYPES) else str(otype)
    return {"object_type": otype, "object_type_name": name, "object_instance": instance}


def unsigned(data: bytes) -> int:
    if not 1 <= len(data) <= 8:
        raise ParseError("BACnet unsigned of bad length")
    return int.from_bytes(data, "big")


def app_value(tag: Tag) -> Any:
    """The JSON-compatible value of an application-tagged primitive (§20.2.2-20.2.14)."""
    data = tag.data[:MAX_VALUE_BYTES]
    match tag.number:
        case 0:
            return None
        case 1:
            return bool(tag.lvt)
        case 2 | 9:  # unsigned, enumerated
            return unsigned(data)
        case 3:  # signed
            return int.from_bytes(data, "big", signed=True) if data else 0
        case 4:
            return struct.unpack(">f", data)[0] if len(data) == 4 else None
        case 5:
            return struct.unpack(">d", data)[0] if len(data) == 8 else None
        case 6 | 8:  # octet string, bit string
            return data.hex()
        case 7:  # character string: charset octet, then the characters
            if not data:
                return ""
            return data[1:].decode(CHARSETS.get(data[0], "latin-1"), "replace").rstrip("\x00")
        case 12:
            return object_id(data)
        case _:  # date, time and reserved tags: raw octets
            return data.hex()
