"""Common MMS productions (ISO 9506-2): object names, variable access, Data values, service errors."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from iotwarden.dissect import asn1
from iotwarden.dissect.mmstypes import (
    MAX_DATA_DEPTH,
    MAX_NAMES,
    data,
    file_name,
    named,
    object_name,
    service_error,
    variable_access,
)
from iotwarden.errors import ParseError
from tests.dissect.ber import tlv, visible


def _tlv(encoded: bytes) -> asn1.Tlv:
    return asn1.read_tlv(encoded)


def test_object_names_in_their_three_scopes() -> None:
    assert object_name(_tlv(tlv(0x80, b"TASE2_Version"))) == "TASE2_Version"
    assert object_name(_tlv(tlv(0xA1, visible("IED1LD0"), visible("LLN0$BR$rcb_B02")))) == "IED1LD0/LLN0$BR$rcb_B02"
    assert object_name(_tlv(tlv(0x82, b"assoc"))) == "assoc"
    with pytest.raises(ParseError):
        object_name(_tlv(tlv(0xA1, visible("only-domain"))))
    with pytest.raises(ParseError):
        object_name(_tlv(tlv(0x04, b"x")))


def test_variable_access_lists_names_and_counts_past_the_bound() -> None:
    entry = tlv(0x30, tlv(0xA0, tlv(0x80, b"v")))
    address = tlv(0x30, tlv(0xA1, tlv(0x80, b"\x10")))
    fields: dict[str, Any] = {}
    variable_access(_tlv(tlv(0xA0, *[entry] * (MAX_NAMES + 3), address)), fields)
    assert fields["variable_count"] == MAX_NAMES + 4 and len(fields["variables"]) == MAX_NAMES
    fields = {}
    variable_access(_tlv(tlv(0xA0, address)), fields)
    assert fields == {"variable_count": 1, "addresses": ["16"]}
    fields = {}
    variable_access(_tlv(tlv(0xA1, tlv(0x80, b"RPT"))), fields)
    assert fields == {"variable_list": "RPT"}


@pytest.mark.parametrize(("encoded", "value"), [
    (tlv(0x83, b"\x01"), True),
    (tlv(0x85, b"\xff\x38"), -200),
    (tlv(0x86, b"\xff"), 255),
    (tlv(0x87, b"\x08" + struct.pack(">f", 1.5)), 1.5),
    (tlv(0x87, b"\x0b" + struct.pack(">d", -0.25)), -0.25),
    (tlv(0x87, b"\x08" + struct.pack(">f", float("nan"))), "nan"),  # JSON has no NaN
    (tlv(0x8A, b"KIRKLAND"), "KIRKLAND"),
    (tlv(0x84, b"\x03\x80"), "0380"),
    (tlv(0xA2, tlv(0x85, b"\x01"), tlv(0x83, b"\x00")), [1, False]),
])
def test_data_values(encoded: bytes, value: object) -> None:
    assert data(_tlv(encoded)) == value


def test_data_nesting_is_bounded() -> None:
    encoded = tlv(0x85, b"\x07")
    for _ in range(MAX_DATA_DEPTH + 3):
        encoded = tlv(0xA1, encoded)
    value: Any = data(_tlv(encoded))
    for _ in range(MAX_DATA_DEPTH):
        value = value[0]
    assert value == "..."


@pytest.mark.parametrize("encoded", [tlv(0x87, b"\x08\x00"), tlv(0x83, b""), tlv(0x30, b""), tlv(0x85, b"")])
def test_malformed_data_is_a_parse_error(encoded: bytes) -> None:
    with pytest.raises(ParseError):
        data(_tlv(encoded))


def test_service_error_and_file_names() -> None:
    fields: dict[str, Any] = {}
    service_error(tlv(0xA0, tlv(0x87, b"\x02")) + tlv(0x82, b"no such object"), fields)
    assert fields == {"error_class": "access", "error_code": 2, "additional_description": "no such object"}
    assert file_name(visible("COMTRADE", 0x19) + visible("fault1.cfg", 0x19)) == "COMTRADE/fault1.cfg"
    assert named(("a", "b"), 1) == "b" and named(("a",), 7) == 7 and named({3: "ready"}, 3) == "ready"
