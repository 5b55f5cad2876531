"""The common MMS productions of ISO 9506-2 (module MMS, "common MMS types" and "support definitions")
read from BER into field values: ObjectName, VariableAccessSpecification, Data, FileName, ServiceError.

Every list is cut at a named bound and every text at :data:`MAX_TEXT` characters; a value whose
encoding breaks BER raises ParseError (dissect/base.py contract).
"""

from __future__ import annotations

import math
import struct
from typing import Any

from iotwarden.dissect import asn1
from iotwarden.dissect.otstream import text
from iotwarden.errors import ParseError

MAX_NAMES = 32  # variable names, identifiers or files listed per PDU
MAX_VALUES = 16  # Data values listed per write
MAX_DATA_DEPTH = 4  # nesting of array/structure Data values read
MAX_TEXT = 129  # characters of one identifier or string (IEC 61850-8-1 object references: 129)

DATA_ACCESS_ERRORS = ("object_invalidated", "hardware_fault", "temporarily_unavailable", "object_access_denied",
                      "object_undefined", "invalid_address", "type_unsupported", "type_inconsistent",
                      "object_attribute_inconsistent", "object_access_unsupported", "object_non_existent",
                      "object_value_invalid")
ERROR_CLASSES = ("vmd_state", "application_reference", "definition", "resource", "service", "service_preempt",
                 "time_resolution", "access", "initiate", "conclude", "cancel", "file", "others")
OBJECT_CLASSES = ("named_variable", "scattered_access", "named_variable_list", "named_type", "semaphore",
                  "event_condition", "event_action", "event_enrollment", "journal", "domain",
                  "program_invocation", "operator_station")
DOMAIN_STATES = {0: "non_existent", 1: "loading", 2: "ready", 3: "in_use", 4: "complete", 5: "incomplete"}
PROGRAM_STATES = ("non_existent", "unrunable", "idle", "running", "stopped", "starting", "stopping", "resuming",
                  "resetting")


def members(value: bytes) -> dict[int, asn1.Tlv]:
    """Members of a SEQUENCE with context tags, by tag number (the first of each)."""
    out: dict[int, asn1.Tlv] = {}
    for tlv in asn1.children(value):
        out.setdefault(asn1.tag_parts(tlv.tag)[2], tlv)
    return out


def named(table: tuple[str, ...] | dict[int, str], code: int) -> str | int:
    """The name of ``code`` in an ASN.1 INTEGER's named-number list, else the number itself."""
    if isinstance(table, dict):
        return table.get(code, code)
    return table[code] if 0 <= code < len(table) else code


def identifier(value: bytes) -> str:
    """Identifier / VisibleString / GraphicString as text."""
    return text(value, MAX_TEXT)


def unsigned(value: bytes) -> int:
    """Unsigned8..32 are INTEGERs (ISO 9506-2 common types)."""
    return asn1.integer(value)


def boolean(value: bytes) -> bool:
    if len(value) != 1:
        raise ParseError(f"MMS: BOOLEAN of {len(value)} bytes")
    return value != b"\x00"


def object_name(tlv: asn1.Tlv) -> str:
    """ObjectName CHOICE: vmd-specific [0], domain-specific [1] { domainId, itemId } as "domain/item"
    (the IEC 61850-8-1 object reference form), aa-specific [2]."""
    if tlv.tag in (0x80, 0x82):
        return identifier(tlv.value)
    if tlv.tag == 0xA1:
        parts = asn1.children(tlv.value)
        if len(parts) != 2:
            raise ParseError("MMS: domain-specific name without domain and item")
        return f"{identifier(parts[0].value)}/{identifier(parts[1].value)}"
    raise ParseError(f"MMS: ObjectName tag 0x{tlv.tag:02x}")


def explicit_object_name(value: bytes) -> str:
    """An ObjectName behind an EXPLICIT tag (a CHOICE cannot be IMPLICIT, X.680 §31.2.7)."""
    return object_name(asn1.read_tlv(value))


def address(tlv: asn1.Tlv) -> str:
    """Address CHOICE: numeric [0], symbolic [1], unconstrained [2] (hex)."""
    if tlv.tag == 0x80:
        return str(unsigned(tlv.value))
    if tlv.tag == 0x81:
        return identifier(tlv.value)
    return tlv.value[:32].hex()


def variable_access(tlv: asn1.Tlv, fields: dict[str, Any]) -> None:
    """VariableAccessSpecification CHOICE: listOfVariable [0] (``variables``, ``addresses``,
    ``variable_count``) or variableListName [1] (``variable_list``)."""
    if tlv.tag == 0xA1:
        fields["variable_list"] = explicit_object_name(tlv.value)
        return
    if tlv.tag != 0xA0:
        raise ParseError(f"MMS: VariableAccessSpecification tag 0x{tlv.tag:02x}")
    variables(tlv.value, fields)


def variables(value: bytes, fields: dict[str, Any]) -> None:
    """SEQUENCE OF SEQUENCE { variableSpecification, alternateAccess [5] OPTIONAL }."""
    names: list[str] = []
    addresses: list[str] = []
    entries = asn1.children(value)
    fields["variable_count"] = len(entries)
    for entry in entries[:MAX_NAMES]:
        if entry.tag != asn1.SEQUENCE:
            raise ParseError("MMS: variable entry is not a SEQUENCE")
        spec = asn1.read_tlv(entry.value)
        if spec.tag == 0xA0:  # name [0] ObjectName
            names.append(explicit_object_name(spec.value))
        elif spec.tag == 0xA1:  # address [1] Address
            addresses.append(address(asn1.read_tlv(spec.value)))
    if names:
        fields["variables"] = names
    if addresses:
        fields["addresses"] = addresses


def identifiers(value: bytes) -> list[str]:
    """SEQUENCE OF Identifier / VisibleString, cut at :data:`MAX_NAMES`."""
    return [identifier(t.value) for t in asn1.children(value)[:MAX_NAMES]]


def file_name(value: bytes) -> str:
    """FileName ::= SEQUENCE OF GraphicString, joined with "/"."""
    return "/".join(identifier(t.value) for t in asn1.children(value)[:MAX_NAMES])


def data(tlv: asn1.Tlv, depth: int = 0) -> Any:
    """A Data value (ISO 9506-2 Data CHOICE, IEC 61850-8-1 additions mMSString [16] and utc-time [17])
    as a JSON-safe value: arrays and structures as lists (to :data:`MAX_DATA_DEPTH`), bit strings,
    octet strings and times as hex, non-finite floats as text."""
    cls, constructed, number = asn1.tag_parts(tlv.tag)
    if cls != 0x80:
        raise ParseError(f"MMS: Data tag 0x{tlv.tag:02x}")
    v = tlv.value
    if number in (1, 2) and constructed:  # array, structure
        if depth >= MAX_DATA_DEPTH:
            return "..."
        return [data(t, depth + 1) for t in asn1.children(v)[:MAX_VALUES]]
    if number == 3:
        return boolean(v)
    if number in (5, 13):  # integer, bcd
        return asn1.integer(v)
    if number == 6:
        return asn1.unsigned(v)
    if number == 7:
        return _floating_point(v)
    if number in (10, 16):
        return identifier(v)
    if number == 15:
        return asn1.oid(v)
    return v[:32].hex()  # bit-string 4, octet-string 9, binary-time 12, booleanArray 14, utc-time 17


def _floating_point(v: bytes) -> float | str:
    """FloatingPoint: exponent width octet, then IEEE 754 single (8) or double (11) (ISO 9506-2, IEC 61850-8-1)."""
    if len(v) == 5:
        value = float(struct.unpack(">f", v[1:])[0])
    elif len(v) == 9:
        value = float(struct.unpack(">d", v[1:])[0])
    else:
        raise ParseError(f"MMS: floating-point of {len(v)} bytes")
    return value if math.isfinite(value) else str(value)


def service_error(value: bytes, fields: dict[str, Any]) -> None:
    """ServiceError: errorClass [0] CHOICE { vmd-state [0] ... others [12] } INTEGER, additionalCode [1],
    additionalDescription [2] -> ``error_class``, ``error_code``, ``additional_code``, ``additional_description``."""
    for tlv in asn1.children(value):
        if tlv.tag == 0xA0:
            inner = asn1.read_tlv(tlv.value)
            fields["error_class"] = named(ERROR_CLASSES, asn1.tag_parts(inner.tag)[2])
            fields["error_code"] = asn1.integer(inner.value)
        elif tlv.tag == 0x81:
            fields["additional_code"] = asn1.integer(tlv.value)
        elif tlv.tag == 0x82:
            fields["additional_description"] = identifier(tlv.value)
