"""S7comm userdata: function groups, SZL requests and the PLC identity in SZL responses."""

from __future__ import annotations

import pytest

from iotwarden.dissect.s7userdata import MAX_SZL_BYTES, parse_userdata
from iotwarden.errors import ParseError

REQUEST = bytes.fromhex("000112 04 11 44 01 00".replace(" ", ""))


def szl_param(more: bool, unit: int = 1) -> bytes:
    return bytes.fromhex("000112 08 12 84 01 01".replace(" ", "")) + bytes([unit, 1 if more else 0, 0, 0])


def data(payload: bytes) -> bytes:
    return bytes([0xFF, 0x09]) + len(payload).to_bytes(2, "big") + payload


def module_identification() -> bytes:
    order = b"6ES7 315-2EH14-0AB0 "
    entries = (b"\x00\x01" + order + b"\x00\x00\x00\x03\x00\x01"
               + b"\x00\x07" + b" " * 20 + b"\x00\x00" + b"V\x03" + b"\x02\x07")
    return b"\x00\x11\x00\x00\x00\x1c\x00\x02" + entries


def test_szl_request_names_the_list() -> None:
    fields = parse_userdata(REQUEST, data(b"\x00\x11\x00\x00"), {})
    assert fields["subfunction_name"] == "read_szl" and fields["ud_type"] == "request"
    assert (fields["szl_id"], fields["szl_index"]) == (0x0011, 0)


def test_module_identification_gives_order_number_and_firmware() -> None:
    fields = parse_userdata(szl_param(False), data(module_identification()), {})
    assert fields["order_number"] == "6ES7 315-2EH14-0AB0" and fields["firmware_version"] == "V3.2.7"


def test_multi_pdu_responses_are_reassembled() -> None:
    state: dict = {}
    payload = module_identification()
    first = parse_userdata(szl_param(True), data(payload[:20]), state)
    assert first["szl_partial"] and "order_number" not in first
    second = parse_userdata(szl_param(False), data(payload[20:]), state)
    assert second["order_number"] == "6ES7 315-2EH14-0AB0"
    with pytest.raises(ParseError):
        state = {"partial": (1, bytes(MAX_SZL_BYTES))}
        parse_userdata(szl_param(False), data(b"\x00" * 10), state)


def test_bad_parameter_head_is_malformed() -> None:
    with pytest.raises(ParseError):
        parse_userdata(b"\x00\x00\x00\x04\x11\x44\x01\x00", b"", {})
