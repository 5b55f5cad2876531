"""Connectionless DCE/RPC v4 (C706 §12.5): the header in both byte orders, each PDU type, fragment reassembly and its
limits, the udp/135 dissector, and the ParseError contract under fuzzing."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import dcerpc_cl
from iotwarden.dissect.base import CONFIRMED_STATE_KEY, FLIP_STATE_KEY
from iotwarden.dissect.dcerpc_cl import MAX_CALL_BYTES, MAX_CALLS, MAX_FRAGMENTS, MAX_PARTIAL, DcerpcClDissector
from iotwarden.errors import ParseError
from tests.dissect import pniobuild as b
from tests.dissect.discovery import CUTS, EDITS, contract_call, mutate, udp

D = DcerpcClDissector()
SVCCTL = "367abb81-9844-35f1-ad32-98f038001003"


@pytest.mark.parametrize("order", ["<", ">"])
def test_the_header_reads_alike_in_both_byte_orders(order: str) -> None:
    raw = b.cl(b.REQUEST, b"abcd", interface=b.PNIO_DEVICE, obj=b.pnio_object(0x2A, 0x101), opnum=5, seqnum=7,
               order=order)
    pdu = dcerpc_cl.parse(raw)
    assert (pdu.ptype, pdu.interface, pdu.object, pdu.activity) == (0, b.PNIO_DEVICE, b.pnio_object(0x2A, 0x101),
                                                                   b.ACTIVITY)
    assert (pdu.opnum, pdu.seqnum, pdu.if_version, pdu.order, pdu.body) == (5, 7, 1, order, b"abcd")


@pytest.mark.parametrize(("ptype", "kind"), [(b.REQUEST, "request"), (b.RESPONSE, "response"), (b.FAULT, "fault"),
                                             (b.REJECT, "reject")])
def test_each_reported_pdu_type(ptype: int, kind: str) -> None:
    body = struct.pack("<I", 0x1C010003) if ptype in (b.FAULT, b.REJECT) else b"\x00" * 8
    state: dict[str, object] = {}
    (obs,) = D.dissect(udp(b.cl(ptype, body, interface=SVCCTL, opnum=12), 50000, 135), state)
    f = obs.fields
    assert (obs.kind, f["ptype"], f["interface"], f["opnum"], f["operation"]) == \
        (kind, kind, "svcctl", 12, "CreateServiceW")
    assert f.get("status") == (0x1C010003 if ptype in (b.FAULT, b.REJECT) else None)
    assert state[CONFIRMED_STATE_KEY] is True
    assert (FLIP_STATE_KEY in state) == (ptype != b.REQUEST)  # a server's PDU towards the responder flips the flow


def test_housekeeping_pdus_confirm_and_report_nothing() -> None:
    state: dict[str, object] = {}
    assert D.dissect(udp(b.cl(b.PING, b""), 50000, 135), state) == []
    assert state[CONFIRMED_STATE_KEY] is True


def test_fragments_join_in_any_order() -> None:
    state: dict[str, object] = {}
    first = b.cl(b.REQUEST, b"AAAA", flags1=b.FRAG, fragnum=0, interface=SVCCTL, opnum=12)
    last = b.cl(b.REQUEST, b"BB", flags1=b.FRAG | b.LASTFRAG, fragnum=1, interface=SVCCTL, opnum=12)
    assert D.dissect(udp(last, 50000, 135), state) == []
    (obs,) = D.dissect(udp(first, 50000, 135), state)
    assert obs.fields["fragments"] == 2
    assert dcerpc_cl.reassemble({}, dcerpc_cl.parse(first)) is None
    assert state["partial"] == {}


def test_fragment_limits() -> None:
    with pytest.raises(ParseError, match="MAX_FRAGMENTS"):
        dcerpc_cl.reassemble({}, dcerpc_cl.parse(b.cl(b.REQUEST, b"x", flags1=b.FRAG, fragnum=MAX_FRAGMENTS)))
    state: dict[str, object] = {}
    big = b"x" * 60_000
    dcerpc_cl.reassemble(state, dcerpc_cl.parse(b.cl(b.REQUEST, big, flags1=b.FRAG, fragnum=0)))
    with pytest.raises(ParseError, match="MAX_CALL_BYTES"):
        dcerpc_cl.reassemble(state, dcerpc_cl.parse(b.cl(b.REQUEST, big[:MAX_CALL_BYTES - 59_000], flags1=b.FRAG,
                                                         fragnum=1)))
    held: dict[str, object] = {}
    for seq in range(MAX_PARTIAL + 5):  # calls never completed: the oldest go first
        dcerpc_cl.reassemble(held, dcerpc_cl.parse(b.cl(b.REQUEST, b"x", flags1=b.FRAG, seqnum=seq)))
    partial = held["partial"]
    assert isinstance(partial, dict) and len(partial) == MAX_PARTIAL
    assert min(seq for _, seq, _ in partial) == 5


def test_calls_per_flow_are_bounded() -> None:
    state: dict[str, object] = {}
    raw = udp(b.cl(b.REQUEST, b"", interface=SVCCTL, opnum=1), 50000, 135)
    got = sum(len(D.dissect(raw, state)) for _ in range(MAX_CALLS + 3))
    assert got == MAX_CALLS


@pytest.mark.parametrize("data", [
    b"\x04\x00" + bytes(70),  # shorter than the header
    b"\x05" + b.cl(b.REQUEST, b"")[1:],  # version 5 is connection-oriented
    b.cl(b.REQUEST, b"")[:1] + b"\x0b" + b.cl(b.REQUEST, b"")[2:],  # PTYPE 11 is no CL PDU
    b.cl(b.REQUEST, b"")[:4] + b"\x20\x00\x00" + b.cl(b.REQUEST, b"")[7:],  # integer representation 2
    b.cl(b.REQUEST, b"abcdef")[:-2],  # body length past the datagram
    b.cl(b.FAULT, b"\x01\x00"),  # a fault without its status
])
def test_malformed_pdus_are_parse_errors(data: bytes) -> None:
    with pytest.raises(ParseError):
        D.dissect(udp(data, 50000, 135), {})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 50000, 135), {})
    contract_call(D, udp(b.cl(b.REQUEST, b"")[:8] + data, 50000, 135), {})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b.cl(b.REQUEST, b"abcd", interface=SVCCTL), b.cl(b.FAULT, b"\x00" * 4, order=">"),
                        b.cl(b.REQUEST, b"x", flags1=b.FRAG | b.LASTFRAG, fragnum=1)]), EDITS, CUTS)
def test_mutated_pdus_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 50000, 135), {})
