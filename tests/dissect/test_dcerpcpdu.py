"""DCE/RPC connection-oriented PDUs (C706 §12.6): the common header's checks in either byte order, the contexts a bind
proposes (bounded) and the secondary address and results of a bind_ack, malformed bodies refused."""

from __future__ import annotations

import struct

import pytest

from iotwarden.dissect.dcerpcpdu import (
    BIND,
    BIND_ACK,
    CANDIDATE,
    HEADER,
    MAX_PROPOSED,
    REQUEST,
    header,
    ndr_uuid,
    parse_bind,
    parse_bind_ack,
)
from iotwarden.errors import ParseError
from tests.dissect.dcerpc_pdus import DRSUAPI, EPM, SVCCTL, bind, bind_ack, request


@pytest.mark.parametrize("order", ["<", ">"])
def test_the_common_header_in_either_byte_order(order: str) -> None:
    pdu = bind([(0, SVCCTL, 2)], call_id=9, order=order)
    assert header(pdu) == (BIND, 0x03, order, len(pdu), 0, 9)
    assert CANDIDATE.match(pdu) is not None
    req = request(1, 15, call_id=4)
    assert header(req) == (REQUEST, 0x03, "<", len(req), 0, 4)


def test_a_header_is_refused_when_its_version_ptype_drep_or_length_is_wrong() -> None:
    good = bind([(0, SVCCTL, 2)])
    assert header(good[:HEADER - 1]) is None
    assert header(bytes([5, 2]) + good[2:]) is None  # rpc_vers_minor 2
    assert header(good[:2] + bytes([1]) + good[3:]) is None  # ping: connectionless only
    assert header(good[:7] + b"\x01" + good[8:]) is None  # a reserved drep byte set
    assert header(good[:8] + struct.pack("<H", HEADER + 11) + good[10:]) is None  # below a bind's 12 body bytes


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_bind_proposes_its_contexts_in_order(order: str) -> None:
    pdu = bind([(0, SVCCTL, 2), (1, DRSUAPI, 4)], order=order)
    assert parse_bind(pdu[HEADER:], order) == [(0, SVCCTL, 2, 0), (1, DRSUAPI, 4, 0)]


def test_contexts_read_of_one_bind_are_bounded_and_one_past_the_pdu_refused() -> None:
    pdu = bind([(i, EPM, 3) for i in range(MAX_PROPOSED + 3)])
    assert len(parse_bind(pdu[HEADER:], "<")) == MAX_PROPOSED
    with pytest.raises(ParseError):
        parse_bind(pdu[HEADER:-30], "<")


def test_a_bind_ack_gives_its_secondary_address_and_each_result() -> None:
    pdu = bind_ack("\\PIPE\\svcctl", [0, 2])
    assert header(pdu) is not None and pdu[2] == BIND_ACK
    assert parse_bind_ack(pdu[HEADER:], "<") == ("\\PIPE\\svcctl", [0, 2])
    with pytest.raises(ParseError):
        parse_bind_ack(pdu[HEADER:-10], "<")


def test_an_ndr_uuid_follows_the_data_representation() -> None:
    raw = bytes(range(16))
    assert ndr_uuid(raw, ">") == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert ndr_uuid(raw, "<") == "03020100-0504-0706-0809-0a0b0c0d0e0f"
