"""BACnet/IP dissector: BVLC, NPDU and the services that identify or change a device (ASHRAE 135)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.bacnet import BacnetDissector, parse_apdu
from iotwarden.dissect.base import Packet
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.ot_captures import contract, run, sweep_captures, sweep_id
from tests.engine.losscheck import datagrams


def bvlc(npdu_apdu: bytes, function: int = 0x0A) -> bytes:
    return bytes([0x81, function]) + (4 + len(npdu_apdu)).to_bytes(2, "big") + npdu_apdu


def test_read_property_acks_identify_the_device() -> None:
    obs, errors = run(BacnetDissector(), shared("pcaps", "ics_iti", "pcaps", "BACnet", "bacnet_test.pcap"))
    assert not errors  # the four empty UDP datagrams to 47808 say nothing and are not errors
    acks = {o.fields["property"]: o.fields.get("value") for o in obs if o.fields.get("apdu_type") == "complex_ack"}
    assert acks == {"object-identifier": {"object_type": 8, "object_type_name": "device", "object_instance": 500},
                    "vendor-identifier": 5, "vendor-name": "JCI", "firmware-revision": "5.1.0.4400",
                    "application-software-version": "", "object-name": "KBRNAE", "model-name": "MS-NAE4510-2",
                    "description": "", "location": ""}
    assert all(o.src_ip == "10.1.1.165" for o in obs if o.fields.get("apdu_type") == "complex_ack")
    request = next(o for o in obs if o.kind == "read_property")
    assert request.fields["object_instance"] == 4194303 and request.fields["invoke_id"] == 1
    assert [o.fields["bvlc_function"] for o in obs if o.kind == "bvlc"] == [
        "read_bdt", "result", "register_foreign_device", "result"]


def test_who_is_and_i_am() -> None:
    who_is = BacnetDissector().dissect(_pkt(bvlc(bytes([1, 0x20, 0xFF, 0xFF, 0, 0xFF, 0x10, 0x08]), 0x0B)), {})
    assert who_is[0].kind == "who_is" and who_is[0].fields["dnet"] == 0xFFFF
    # I-Am: device 1234, max APDU 1476, segmentation both, vendor 5 (§16.1.2 example encoding)
    i_am = bytes([1, 0, 0x10, 0x00, 0xC4, 0x02, 0x00, 0x04, 0xD2, 0x22, 0x05, 0xC4, 0x91, 0x00, 0x21, 0x05])
    obs = BacnetDissector().dissect(_pkt(bvlc(i_am, 0x0B)), {})
    assert obs[0].kind == "i_am"
    assert {k: obs[0].fields[k] for k in ("device_instance", "max_apdu", "segmentation", "vendor_id")} == {
        "device_instance": 1234, "max_apdu": 1476, "segmentation": "both", "vendor_id": 5}


def test_writes_and_device_control_are_named() -> None:
    # WriteProperty analog-value 1 present-value = 72.0 real, priority 8
    write = bytes([0x00, 0x05, 7, 15, 0x0C, 0x00, 0x80, 0x00, 0x01, 0x19, 85, 0x3E, 0x44, 0x42, 0x90, 0, 0,
                   0x3F, 0x49, 8])
    kind, fields = parse_apdu(write)
    assert kind == "write_property" and fields["value"] == 72.0 and fields["priority"] == 8
    assert fields["object_type_name"] == "analog-value" and fields["property"] == "present-value"
    kind, fields = parse_apdu(bytes([0x00, 0x05, 8, 17, 0x19, 1, 0x2D, 3, 0, ord("a"), ord("b")]))
    assert kind == "device_communication_control"
    assert fields["enable_disable"] == "disable" and fields["password_present"]
    kind, fields = parse_apdu(bytes([0x00, 0x05, 9, 20, 0x09, 0]))
    assert kind == "reinitialize_device" and fields["reinitialized_state"] == "coldstart"
    assert not fields["password_present"]
    kind, fields = parse_apdu(bytes([0x00, 0x05, 10, 7, 0xC4, 0x02, 0x80, 0, 1, 0x0E, 0x31, 0, 0x65, 3, 1, 2, 3,
                                     0x0F]))
    assert kind == "atomic_write_file"
    assert fields["file_instance"] == 1 and fields["access"] == "stream" and fields["data_length"] == 3


def test_read_property_multiple_ack_gathers_identity_values() -> None:
    name = bytes([0x75, 5, 0]) + b"AHU1"
    ack = bytes([0x30, 3, 14, 0x0C, 0x02, 0, 0, 1, 0x1E, 0x29, 77, 0x4E]) + name + bytes([0x4F, 0x1F])
    kind, fields = parse_apdu(ack)
    assert kind == "read_property_multiple" and fields["properties"] == {"object-name": "AHU1"}
    assert fields["object_instance"] == 1


def test_forwarded_npdu_names_the_original_sender() -> None:
    payload = bytes([10, 0, 0, 9, 0xBA, 0xC0]) + bytes([1, 0, 0x10, 0x08])
    obs = BacnetDissector().dissect(_pkt(bvlc(payload, 0x04)), {})
    assert obs[0].fields["forwarded_from"] == "10.0.0.9:47808" and obs[0].kind == "who_is"


def test_malformed_datagrams_raise_parse_error() -> None:
    with pytest.raises(ParseError):
        BacnetDissector().dissect(_pkt(bytes([0x81, 0x0A, 0, 40, 1, 0])), {})
    with pytest.raises(ParseError):
        parse_apdu(bytes([0x00, 0x05, 1, 12, 0x0C, 0x02]))


def test_probe() -> None:
    assert BacnetDissector().probe(bvlc(bytes([1, 0, 0x10, 0x08])), False)
    assert not BacnetDissector().probe(b"\x81\x0a\x00\x10", False)


def _pkt(payload: bytes) -> Packet:
    return Packet(ts=0.0, payload=payload, src_ip="10.0.0.1", dst_ip="10.0.0.255", ip_proto=17,
                  src_port=47808, dst_port=47808)


@pytest.mark.parametrize("path", sweep_captures(), ids=sweep_id)
def test_every_capture_yields_observations_or_counted_errors(path: Path) -> None:
    obs, _ = run(BacnetDissector(), path)
    assert all(o.proto == "bacnet" for o in obs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_contract(data: bytes) -> None:
    contract(BacnetDissector(), data, ip_proto=17, port=47808)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0x0C), st.binary(max_size=200))
def test_fuzz_behind_a_valid_bvlc(function: int, body: bytes) -> None:
    contract(BacnetDissector(), bvlc(bytes([1, 0]) + body, function), ip_proto=17, port=47808)


# an answer seen before (or without) its request: the first datagram's sender is not the client (module doc)
_ACK = bvlc(bytes([1, 0]) + bytes([0x20, 0x01, 0x0F]), 0x0A)  # SimpleACK to WriteProperty (§20.1.4), unicast
_READ = bvlc(bytes([1, 0]) + bytes([0x00, 0x05, 0x01, 0x0C, 0x0C, 0x02, 0x00, 0x00, 0x01, 0x19, 0x4D]), 0x0A)


def test_an_answer_seen_first_makes_its_receiver_the_client_not_the_server() -> None:
    ws, ctl = "10.10.40.10", "10.10.40.20"
    flows = datagrams([(ctl, ws, 47808, 47808, _ACK), (ws, ctl, 47808, 47808, _READ)])
    assert [(f.a_ip, f.b_ip, f.app, f.extra.get("flipped")) for f in flows] == [(ws, ctl, "bacnet", "answer")]
    # the request seen first: the roles the engine gave stand
    flows = datagrams([(ws, ctl, 47808, 47808, _READ), (ctl, ws, 47808, 47808, _ACK)])
    assert [(f.a_ip, f.b_ip, "flipped" in f.extra) for f in flows] == [(ws, ctl, False)]


def test_unicast_answers_are_read_with_their_direction_each_time_broadcasts_are_memoised() -> None:
    d = BacnetDissector()
    assert d.memo_key(_ACK) is None and d.memo_key(_READ) is None
    who_is = bvlc(bytes([1, 0x20, 0xFF, 0xFF, 0x00, 0xFF, 0x10, 0x08]), 0x0B)
    assert d.memo_key(who_is) == who_is
    # the same answer on two flows flips both (a memoised replay would not call dissect)
    a, b, ctl = "10.10.40.10", "10.10.40.11", "10.10.40.20"
    flows = datagrams([(ctl, a, 47808, 47808, _ACK), (ctl, b, 47808, 47808, _ACK)])
    assert sorted((f.a_ip, f.extra.get("flipped")) for f in flows) == [(a, "answer"), (b, "answer")]
