"""DNP3 object headers: ranges, counts, prefixes and the sizes used to step over values."""

from __future__ import annotations

import pytest

from iotwarden.dissect.dnp3objects import parse_objects
from iotwarden.errors import ParseError


def test_class_reads_carry_no_data() -> None:
    objects: list = []
    assert parse_objects(bytes([60, 2, 6, 60, 3, 6]), objects, with_data=False, limit=8)
    assert [(o["group"], o["variation"], o["range_code"]) for o in objects] == [(60, 2, 6), (60, 3, 6)]


def test_fixed_size_values_are_skipped() -> None:
    # g30v1 (32-bit analog input with flag, 5 octets) indexes 0..1, then g1v1 packed bits 0..9
    body = bytes([30, 1, 0x00, 0, 1]) + bytes(10) + bytes([1, 1, 0x00, 0, 9]) + bytes(2)
    objects: list = []
    assert parse_objects(body, objects, with_data=True, limit=8)
    assert [(o["group"], o["start"], o["stop"]) for o in objects] == [(30, 0, 1), (1, 0, 9)]


def test_free_format_objects_use_their_size_prefix() -> None:
    body = bytes([70, 3, 0x5B, 1, 4, 0]) + b"abcd" + bytes([60, 1, 6])
    objects: list = []
    assert parse_objects(body, objects, with_data=False, limit=8)
    assert [o["group"] for o in objects] == [70, 60]


def test_unknown_sizes_and_limits_stop_the_walk() -> None:
    objects: list = []
    assert not parse_objects(bytes([99, 1, 0x07, 1, 0]), objects, with_data=True, limit=8)
    assert len(objects) == 1
    objects = []
    assert not parse_objects(bytes([60, 1, 6]) * 3, objects, with_data=False, limit=2)
    assert len(objects) == 2


@pytest.mark.parametrize("body", [bytes([1, 2]), bytes([1, 2, 0x00, 5, 1]), bytes([1, 2, 0x0C]),
                                  bytes([1, 2, 0x70]), bytes([30, 1, 0x07, 3]) + bytes(4)])
def test_malformed_headers_raise(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_objects(body, [], with_data=True, limit=8)
