"""CIP requests, replies, EPATHs and Identity object attributes (ODVA CIP Vol 1)."""

from __future__ import annotations

import pytest

from iotwarden.dissect.cip import (
    MAX_EMBEDDED,
    embedded_requests,
    identity_attributes,
    parse_epath,
    parse_reply,
    parse_request,
)
from iotwarden.errors import ParseError


def test_epath_logical_and_symbolic_segments() -> None:
    assert parse_epath(bytes([0x20, 0x01, 0x24, 0x01, 0x30, 0x05])) == {"class": 1, "instance": 1, "attribute": 5}
    assert parse_epath(bytes([0x21, 0, 0x6B, 0x02, 0x25, 0, 0x34, 0x12])) == {"class": 0x26B, "instance": 0x1234}
    assert parse_epath(bytes([0x91, 3]) + b"Abc\x00" + bytes([0x91, 1]) + b"X\x00") == {"symbol": "Abc.X"}
    with pytest.raises(ParseError):
        parse_epath(bytes([0x21, 0]))


def test_services_are_named_by_class() -> None:
    assert parse_request(bytes([0x54, 2, 0x20, 6, 0x24, 1]))[0]["service_name"] == "forward_open"
    assert parse_request(bytes([0x05, 2, 0x20, 1, 0x24, 1]))[0]["service_name"] == "reset"
    assert parse_request(bytes([0x4B, 2, 0x20, 0x67, 0x24, 1]))[0]["service_name"] == "execute_pccc"
    assert parse_request(bytes([0x4B, 2, 0x20, 0x8E, 0x24, 1]))[0]["service_name"] == "object_specific"


def test_multiple_service_packet_is_unwrapped_and_bounded() -> None:
    inner = bytes([0x0E, 3, 0x20, 1, 0x24, 1, 0x30, 7])
    count = MAX_EMBEDDED + 4
    offsets = b"".join((2 + 2 * count + i * len(inner)).to_bytes(2, "little") for i in range(count))
    fields, data = parse_request(bytes([0x0A, 2, 0x20, 2, 0x24, 1]) + count.to_bytes(2, "little") + offsets
                                 + inner * count)
    out = embedded_requests(fields, data)
    assert 0 < len(out) <= MAX_EMBEDDED and all(f["attribute"] == 7 for f, _ in out)


def test_reply_status_and_identity() -> None:
    fields, data = parse_reply(bytes([0x81, 0, 0, 0]) + b"\x01\x00")
    assert fields["status"] == "success" and data == b"\x01\x00"
    ident = identity_attributes(bytes.fromhex("01000c003a000403300008c35100") + b"\x0b1756-ENBT/A\x03")
    assert ident["product_name"] == "1756-ENBT/A" and ident["revision"] == "4.3" and ident["state"] == 3
    with pytest.raises(ParseError):
        identity_attributes(b"\x01\x00")
    with pytest.raises(ParseError):
        parse_reply(bytes([0x01, 0, 0, 0]))
