"""TwinCAT system-service messages on udp/48899 (dissect/adsroute.py): the bytes of the ics_iti beckoff captures."""

from __future__ import annotations

import struct

import pytest

from iotwarden.dissect.adsroute import MAX_TAGS, parse
from iotwarden.errors import ParseError

# ics_iti beckoff/addroute.pcapng frames 127 and 187 (192.168.1.99 -> the CX at 192.168.1.8), 188 (its answer)
DISCOVERY = bytes.fromhex("036614710000000001000000c0a801c70101102700000000")
ADD_ROUTE = bytes.fromhex(
    "036614710000000006000000c0a801c701011027050000000c000d005348454e4855414a362d50430007000600c0a801c7"
    "01010d000e0041646d696e6973747261746f720002000200310005000d003139322e3136382e312e393900")
ROUTE_ANSWER = bytes.fromhex("036614710000000006000080050d756001011027010000000100040000000000")


def test_discovery_request_of_the_capture() -> None:
    kind, fields = parse(DISCOVERY)
    assert kind == "discovery_request"
    assert fields == {"service": 1, "service_name": "discovery", "net_id": "192.168.1.199.1.1", "ams_port": 10000,
                      "is_request": True}


def test_add_route_request_of_the_capture_without_its_password() -> None:
    kind, fields = parse(ADD_ROUTE)
    assert kind == "add_route_request"
    assert fields["route_name"] == "SHENHUAJ6-PC" and fields["route_net_id"] == "192.168.1.199.1.1"
    assert fields["user_name"] == "Administrator" and fields["route_host"] == "192.168.1.99"
    assert "password" not in repr(fields) and "'1'" not in repr(fields)  # the capture's password is "1"


def test_add_route_answer_status() -> None:
    kind, fields = parse(ROUTE_ANSWER)
    assert kind == "add_route_answer" and fields["status"] == 0 and fields["net_id"] == "5.13.117.96.1.1"


def test_malformed_messages() -> None:
    with pytest.raises(ParseError):
        parse(b"\x03\x66\x14\x72" + DISCOVERY[4:])  # not the magic
    with pytest.raises(ParseError):
        parse(DISCOVERY[:20])
    cut = DISCOVERY[:20] + struct.pack("<I", 1) + struct.pack("<HH", 0x0C, 50) + b"abc"
    with pytest.raises(ParseError):
        parse(cut)


def test_tags_read_are_bounded() -> None:
    many = b"".join(struct.pack("<HH", 0x40 + i, 1) + b"x" for i in range(MAX_TAGS + 10))
    last = struct.pack("<HH", 0x0D, 4) + b"bob\0"
    msg = DISCOVERY[:20] + struct.pack("<I", MAX_TAGS + 11) + many + last
    assert "user_name" not in parse(msg)[1]  # the tag after MAX_TAGS is never read
