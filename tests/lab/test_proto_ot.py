"""Modbus/TCP and BACnet/IP payloads as the Modbus specification and ASHRAE 135 lay them out."""

from __future__ import annotations

import struct

from iotwarden.lab import proto_ot


def test_mbap_length_counts_unit_and_pdu() -> None:
    adu = proto_ot.mbap(5, 1, proto_ot.modbus_read_request(3, 0, 10))
    assert struct.unpack("!HHHB", adu[:7]) == (5, 0, 6, 1) and adu[7] == 3


def test_read_responses_pack_registers_and_coils() -> None:
    assert proto_ot.modbus_read_response(3, 2, [1, 258]) == b"\x03\x04\x00\x01\x01\x02"
    assert proto_ot.modbus_read_response(1, 10, [1, 0, 1, 0, 0, 0, 0, 0, 1, 1]) == b"\x01\x02\x05\x03"


def test_device_identification_answer_lists_three_objects() -> None:
    pdu = proto_ot.modbus_device_id_response("Schneider Electric", "TM221CE16R", "V1.6")
    assert pdu[:2] == b"\x2b\x0e" and pdu[6] == 3
    assert pdu[7:9] == bytes([0, 18]) and pdu[9:27] == b"Schneider Electric"


def test_bacnet_who_is_and_i_am() -> None:
    assert proto_ot.bacnet_who_is() == bytes.fromhex("810b000801001008")
    iam = proto_ot.bacnet_i_am(260001, 5)
    assert iam[:2] == b"\x81\x0b" and struct.unpack("!H", iam[2:4])[0] == len(iam)
    obj = struct.unpack("!I", iam[9:13])[0]
    assert (obj >> 22, obj & 0x3FFFFF) == (8, 260001) and iam.endswith(b"\x21\x05")


def test_read_property_ack_wraps_a_character_string() -> None:
    ack = proto_ot.bacnet_read_property_ack(3, 1, proto_ot.PROP_OBJECT_NAME, "AHU-1")
    assert ack[6] == 0x30 and b"\x3e\x75\x06\x00AHU-1\x3f" in ack


def test_fox_hello_frame_layout() -> None:
    frame = proto_ot.fox_hello(1, {"fox.version": "1.0", "id": "1", "app.name": "Workbench"})
    assert frame == b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\napp.name=s:Workbench\n};;\n"


def test_s7_connection_request_carries_the_connection_type_in_the_called_tsap() -> None:
    cr = proto_ot.cotp_connection_request(b"\x01\x00", proto_ot.s7_tsap(2, 0, 1))
    assert cr[:4] == b"\x03\x00" + len(cr).to_bytes(2, "big") and cr[5] == 0xE0
    assert cr.endswith(b"\xc2\x02\x02\x01")  # OP (2), rack 0 slot 1


def test_s7_read_var_job_and_its_answer() -> None:
    job = proto_ot.s7_job(7, proto_ot.s7_read_var([(1, 2, 3)]))
    assert job[7:10] == b"\x32\x01\x00"  # protocol id, ROSCTR job
    # read_var, one item: S7ANY, BYTE, 3 bytes of DB 1 from byte 2 (bit address 16)
    assert job.endswith(b"\x04\x01\x12\x0a\x10\x02\x00\x03\x00\x01\x84\x00\x00\x10")
    data = proto_ot.s7_read_var_data([b"abc", b"de"])
    assert data == b"\xff\x04\x00\x18abc\x00\xff\x04\x00\x10de"
