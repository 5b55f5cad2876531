"""ISO transport over TCP (RFC 1006 TPKT, X.224 COTP class 0): framing, connection requests held until the
first TSDU names the application, TSDU reassembly under its bound, gaps."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect.base import Packet
from iotwarden.dissect.cotp import cr_has_tsaps, cr_parameters, first_tsdu, frame_length, parse_cr
from iotwarden.dissect.mms import MmsDissector
from iotwarden.dissect.s7comm import S7commDissector
from iotwarden.errors import ParseError
from tests.dissect.ber import cotp_cr, cotp_dt, presentation_data

CONCLUDE = b"\x8b\x00"  # conclude-RequestPDU, a whole MMS PDU in two bytes
S7_SETUP = bytes.fromhex("32010000000000080000f0000001000101e0")


def _state() -> dict[str, Any]:
    return {}


def _pkt(ts: float = 1.0, to_server: bool = True) -> Packet:
    client, server = ("10.0.40.5", 40000), ("10.0.40.20", 102)
    (sip, sport), (dip, dport) = (client, server) if to_server else (server, client)
    return Packet(ts=ts, payload=b"", src_ip=sip, dst_ip=dip, src_port=sport, dst_port=dport, ip_proto=6,
                  to_server=to_server)


def test_tpkt_length_and_bad_headers() -> None:
    assert frame_length(b"\x03\x00") is None
    assert frame_length(b"\x03\x00\x00\x16") == 22
    with pytest.raises(ParseError):
        frame_length(b"\x03\x00\x00\x05")  # shorter than its own header and a COTP LI
    with pytest.raises(ParseError):
        frame_length(b"\x16\x03\x01\x00")  # TLS, not TPKT


def test_connection_request_parameters() -> None:
    cotp = cotp_cr(b"\x00\x02", b"\x02\x00")[4:]
    assert parse_cr(cotp) == {"tpdu_size": 1024, "src_tsap": "0002", "dst_tsap": "0200"}
    assert cr_has_tsaps(cotp_cr())
    rdp = bytes.fromhex("030000130ee000000000000100080003000000")  # MS-RDPBCGR §2.2.1.1 negotiation request
    assert not cr_has_tsaps(rdp)
    with pytest.raises(ParseError, match="past the end"):
        list(cr_parameters(bytes([17, 0xE0, 0, 0, 0, 1, 0, 0xC2, 9, 1])))


def test_first_tsdu_is_the_user_data_of_an_opening_dt() -> None:
    assert first_tsdu(cotp_dt(CONCLUDE)) == CONCLUDE
    assert first_tsdu(cotp_cr()) is None
    assert first_tsdu(b"GET / HTTP/1.1\r\n") is None


def test_the_connection_request_is_told_with_the_application_its_first_tsdu_shows() -> None:
    d, state = S7commDissector(), _state()
    assert d.feed(_pkt(1.0), cotp_cr(), state) == []  # held: S7 and MMS requests look alike
    out = d.feed(_pkt(2.0), cotp_dt(CONCLUDE), state)
    assert [(o.proto, o.kind, o.ts, o.subject) for o in out] == [
        ("mms", "cotp_connect", 1.0, "dst"), ("mms", "conclude_request", 2.0, "src")]
    assert out[0].fields == {"tpdu_size": 1024, "src_tsap": "0001", "dst_tsap": "0001"}
    state = _state()
    d.feed(_pkt(1.0), cotp_cr(b"\x01\x00", b"\x01\x02"), state)
    out = d.feed(_pkt(2.0), cotp_dt(S7_SETUP), state)
    assert [(o.proto, o.kind) for o in out] == [("s7comm", "cotp_connect"), ("s7comm", "setup")]
    assert out[0].fields["connection_type"] == "pg" and out[0].fields["slot"] == 2


def test_a_second_request_before_any_data_tells_the_first_as_it_is() -> None:
    d, state = MmsDissector(), _state()
    d.feed(_pkt(1.0), cotp_cr(), state)
    out = d.feed(_pkt(2.0), cotp_cr(b"\x00\x03"), state)
    assert [(o.kind, o.ts, o.fields["src_tsap"]) for o in out] == [("cotp_connect", 1.0, "0001")]


def test_a_malformed_request_is_counted_when_it_comes() -> None:
    bad = bytes([3, 0, 0, 14, 9, 0xE0, 0, 0, 0, 1, 0, 0xC2, 9, 1])
    d, state = MmsDissector(), _state()
    with pytest.raises(ParseError):
        d.feed(_pkt(), bad, state)
    assert "cr" not in state


def test_tsdus_are_reassembled_across_dt_tpdus_and_bounded() -> None:
    d, state = MmsDissector(), _state()
    tsdu = presentation_data(CONCLUDE)
    assert d.feed(_pkt(), cotp_dt(tsdu[:5], eot=False), state) == []
    assert [o.kind for o in d.feed(_pkt(), cotp_dt(tsdu[5:]), state)] == ["conclude_request"]
    state = _state()
    with pytest.raises(ParseError, match="TSDU over"):
        for _ in range(MmsDissector.max_tsdu // 1000 + 2):
            d.feed(_pkt(), cotp_dt(b"\x01" + bytes(999), eot=False), state)
    assert "cotp_c2s" not in state


def test_a_gap_drops_the_partial_tsdu_and_the_framing_of_that_direction_only() -> None:
    d, state = MmsDissector(), _state()
    d.feed(_pkt(), cotp_dt(b"\x01\x00", eot=False), state)
    d.feed(_pkt(to_server=False), cotp_dt(b"\x01\x00", eot=False), state)
    d.feed(_pkt(), cotp_dt(CONCLUDE)[:5], state)  # half a TPKT buffered
    d.gap(state, True)
    assert "cotp_c2s" not in state and not state.get("buf_c2s") and state["cotp_s2c"] == b"\x01\x00"
    assert not state.get("done")  # an OT session outlives a hole in the capture
    assert [o.kind for o in d.feed(_pkt(), cotp_dt(CONCLUDE), state)] == ["conclude_request"]


def test_only_data_tpdus_carry_user_data() -> None:
    cc = bytes.fromhex("0300001611d00001000100c0010ac1020001c2020001")
    state: dict[str, Any] = {}
    assert MmsDissector().feed(_pkt(to_server=False), cc, state) == []
    with pytest.raises(ParseError, match="COTP header"):
        MmsDissector().feed(_pkt(), b"\x03\x00\x00\x07\x09\xf0\x80", {})
