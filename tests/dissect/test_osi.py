"""Session (X.225), presentation (X.226) and ACSE (X.227) unwrapping down to the MMS PDU."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.osi import unwrap
from iotwarden.errors import ParseError
from tests.dissect.ber import ctx, integer, presentation_data, tlv

# the CONNECT and ACCEPT TSDUs of ../shared/data/pcaps/ics_iti/pcaps/IEC61850/piccolo.pcap (frames 1, 2)
PICCOLO_CN = bytes.fromhex(
    "0db60506130100160102140200023302000134020001c1a031819da003800101a28195810400000001820400000001a423300f"
    "0201010604520100013004060251013010020103060528ca22020130040602510161623060020101a05b6059a107060528ca22"
    "0203a20706052901876701a30302010ca606060429018767a70302010cbe33283106025101020103a028a826800300ff008101"
    "0a82010a830105a416800101810305f100820c03ee1c000004000000010118")
PICCOLO_AC = bytes.fromhex(
    "0e95050613010016010214020002c187318184a003800101a27d830400000001a5123007800100810251013007800100810251"
    "016161305f020101a05a6158a107060528ca220203a203020100a305a103020100a40706052901876701a50302010cbe332831"
    "06025101020103a028a926800300c000810101820101830105a416800101810305e100820c03ee1c000004000000010010")


def test_connect_carries_aarq_with_ap_titles_and_the_mms_initiate() -> None:
    out = unwrap(PICCOLO_CN)
    assert (out.spdu, out.acse) == ("connect", "aarq")
    assert out.fields == {
        "calling_session_selector": "0001", "called_session_selector": "0001",
        "calling_presentation_selector": "00000001", "called_presentation_selector": "00000001",
        "application_context": "1.0.9506.2.3", "called_ap_title": "1.1.1.999.1", "called_ae_qualifier": 12,
        "calling_ap_title": "1.1.1.999", "calling_ae_qualifier": 12}
    assert len(out.pdus) == 1 and out.pdus[0][:1] == b"\xa8"  # initiate-RequestPDU


def test_accept_carries_aare_with_result_and_responding_title() -> None:
    out = unwrap(PICCOLO_AC)
    assert (out.spdu, out.acse) == ("accept", "aare")
    assert out.fields == {"responding_presentation_selector": "00000001", "application_context": "1.0.9506.2.3",
                          "acse_result": "accepted", "responding_ap_title": "1.1.1.999.1",
                          "responding_ae_qualifier": 12}
    assert out.pdus[0][:1] == b"\xa9"


def test_data_transfer_yields_the_pdu() -> None:
    out = unwrap(presentation_data(b"\x8b\x00"))
    assert (out.spdu, out.acse, out.pdus, out.fields) == ("data", None, [b"\x8b\x00"], {})


def _finish(apdu: bytes, si: int = 9) -> bytes:
    user = tlv(0x61, tlv(0x30, integer(1), tlv(0xA0, apdu)))
    params = b"\xc1" + bytes([len(user)]) + user
    return bytes([si, len(params)]) + params


def test_release_and_abort_apdus() -> None:
    rlrq = unwrap(_finish(tlv(0x62, tlv(0x80, b"\x00"))))
    assert (rlrq.spdu, rlrq.acse, rlrq.fields) == ("finish", "rlrq", {"reason": "normal"})
    rlre = unwrap(_finish(tlv(0x63, tlv(0x80, b"\x01")), si=10))
    assert (rlre.spdu, rlre.acse, rlre.fields) == ("disconnect", "rlre", {"reason": "not_finished"})
    abrt = unwrap(bytes([25, 0]))
    assert (abrt.spdu, abrt.acse) == ("abort", None)


def test_a_password_is_never_copied_only_its_mechanism() -> None:
    aarq = tlv(0x60, ctx(1, tlv(0x06, bytes.fromhex("28ca220203"))),
               tlv(0x8B, bytes.fromhex("520301")),  # mechanism-name password-1 {2 2 3 1} (ISO 8650-1)
               ctx(12, tlv(0x80, b"s3cret-pw")),
               tlv(0x9D, b"vendor stack 1.2"))
    user = tlv(0x31, tlv(0xA0, tlv(0x80, b"\x01")), tlv(0xA2, tlv(0x61, tlv(0x30, integer(1), tlv(0xA0, aarq)))))
    params = b"\xc1" + bytes([len(user)]) + user
    out = unwrap(bytes([13, len(params)]) + params)
    assert out.fields == {"application_context": "1.0.9506.2.3", "authentication_mechanism": "2.2.3.1",
                          "authentication_value_sent": True, "implementation_information": "vendor stack 1.2"}
    assert b"s3cret" not in repr(out).encode()


def test_extended_length_indicator() -> None:
    body = presentation_data(b"\x8b\x00")
    assert unwrap(b"\x01\xff\x00\x00" + body[2:]).pdus == [b"\x8b\x00"]


@pytest.mark.parametrize("tsdu", [
    b"\x0d",  # header cut
    b"\x0d\x10\x05",  # parameters past the end
    b"\x33\x00",  # not an SPDU osi.py reads
    b"\x01\x00\x01\x00\x30\x00",  # data that is not presentation user data
    b"\x01\x00\x01\x00" + tlv(0x61, tlv(0x02, b"\x01")),  # PDV-list not a SEQUENCE
    bytes([13, 4, 0xC1, 2, 0x05, 0x00]),  # CP-type that is not a SET
])
def test_malformed_tsdus_are_parse_errors(tsdu: bytes) -> None:
    with pytest.raises(ParseError):
        unwrap(tsdu)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_only_parse_errors(data: bytes) -> None:
    for tsdu in (data, PICCOLO_CN[: len(data)] + data, b"\x01\x00\x01\x00" + data):
        with contextlib.suppress(ParseError):
            unwrap(tsdu)
