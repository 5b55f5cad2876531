"""BACnet APDUs (ASHRAE 135 §20.1): each PDU type's header read, services named by their choice, the parameters of
those worth describing, and a cut or reserved APDU refused."""

from __future__ import annotations

import pytest

from iotwarden.dissect.bacnetapdu import APDU_TYPES, CONFIRMED, UNCONFIRMED, name_of, parse_apdu
from iotwarden.errors import ParseError


def test_service_tables_follow_the_standards_choices() -> None:
    assert (CONFIRMED[12], CONFIRMED[15], CONFIRMED[17], CONFIRMED[20]) == (
        "read_property", "write_property", "device_communication_control", "reinitialize_device")
    assert (UNCONFIRMED[0], UNCONFIRMED[8]) == ("i_am", "who_is") and len(APDU_TYPES) == 8
    assert name_of(UNCONFIRMED, 200) == "unknown"


def test_who_is_with_and_without_a_range() -> None:
    assert parse_apdu(bytes([0x10, 0x08])) == ("who_is", {
        "apdu_type": "unconfirmed_request", "service_choice": 8, "service": "who_is"})
    kind, fields = parse_apdu(bytes([0x10, 0x08, 0x09, 0x05, 0x1A, 0x01, 0x00]))  # [0] 5, [1] 256
    assert kind == "who_is" and (fields["low_limit"], fields["high_limit"]) == (5, 256)


def test_i_am_names_the_device_and_its_segmentation() -> None:
    # §16.1.2: object id (device 1234), max APDU 1476, segmentation both (0), vendor 260
    i_am = bytes([0x10, 0x00, 0xC4, 0x02, 0x00, 0x04, 0xD2, 0x22, 0x05, 0xC4, 0x91, 0x00, 0x22, 0x01, 0x04])
    kind, fields = parse_apdu(i_am)
    assert kind == "i_am"
    assert (fields["device_instance"], fields["max_apdu"], fields["segmentation"], fields["vendor_id"]) == (
        1234, 1476, "both", 260)


def test_acks_errors_and_rejects_carry_their_invoke_id() -> None:
    assert parse_apdu(bytes([0x20, 0x07, 0x0F])) == ("simple_ack", {
        "apdu_type": "simple_ack", "invoke_id": 7, "service_choice": 15, "service": "write_property"})
    kind, fields = parse_apdu(bytes([0x50, 0x09, 0x0C, 0x91, 0x01, 0x91, 0x1F]))  # error class 1, code 31
    assert kind == "error" and (fields["error_class"], fields["error_code"]) == (1, 31)
    assert parse_apdu(bytes([0x60, 0x03, 0x04]))[1]["reason"] == 4  # reject reason
    kind, fields = parse_apdu(bytes([0x30, 0x02, 0x06, 0x0E]))  # an AtomicReadFile ACK: named, not read
    assert kind == "complex_ack" and fields["service"] == "atomic_read_file" and fields["segmented"] is False


# cut, a reserved type, a confirmed request without its choice, an ACK without it, a ReadProperty ACK without its object
@pytest.mark.parametrize("apdu", [b"\x10", b"\x80\x00", b"\x00\x05\x01", b"\x20\x07", b"\x30\x02\x0c"])
def test_cut_or_reserved_apdus_are_parse_errors(apdu: bytes) -> None:
    with pytest.raises(ParseError):
        parse_apdu(apdu)
