"""BACnet tagged encoding (ASHRAE 135 §20.2): tags, lengths and primitive values."""

from __future__ import annotations

import pytest

from iotwarden.dissect.bacnettags import app_value, object_id, read_tag
from iotwarden.errors import ParseError


def test_application_and_context_tags() -> None:
    tag, end = read_tag(bytes([0x21, 0x05]), 0)
    assert (tag.number, tag.context, app_value(tag), end) == (2, False, 5, 2)
    tag, _ = read_tag(bytes([0x3E]), 0)
    assert tag.kind == "open" and tag.number == 3
    tag, _ = read_tag(bytes([0x11]), 0)
    assert app_value(tag) is True  # boolean carried in the LVT


def test_extended_lengths_and_character_strings() -> None:
    name = b"\x00" + b"x" * 300
    tag, end = read_tag(bytes([0x75, 254]) + len(name).to_bytes(2, "big") + name, 0)
    assert app_value(tag) == "x" * 300 and end == 4 + len(name)


def test_object_identifier() -> None:
    assert object_id(bytes.fromhex("020001f4")) == {"object_type": 8, "object_type_name": "device",
                                                    "object_instance": 500}
    with pytest.raises(ParseError):
        object_id(b"\x02")


@pytest.mark.parametrize("raw", [b"", bytes([0xF1]), bytes([0x25]), bytes([0x24, 1, 2])])
def test_truncated_tags_raise(raw: bytes) -> None:
    with pytest.raises(ParseError):
        read_tag(raw, 0)
