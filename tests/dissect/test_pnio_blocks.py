"""PNIO blocks (IEC 61158-6-10 §5.2) read on their own: record index names, the EPM annotation's fixed columns, a
Connect's expected submodules, I&M0 and I&M0FilterData blocks, and the bounds and ParseErrors of each reader; the
dissector's use of them is tests/dissect/test_pnio_cm.py's."""

from __future__ import annotations

import pytest

from iotwarden.dissect.pnio_blocks import (
    MAX_BLOCKS,
    MAX_EXPECTED,
    MAX_SUBMODULES,
    expected_submodules,
    index_name,
    parse_annotation,
    parse_filter,
    parse_im0,
    read_blocks,
)
from iotwarden.errors import ParseError
from tests.dissect import pniobuild as b


def test_index_names() -> None:
    assert [index_name(i) for i in (0xAFF0, 0xAFF4, 0xF840, 0xE040, 0x0001)] == \
        ["im0", "im4", "im0_filter_data", "write_multiple", "0x0001"]


def test_annotations_without_the_layout_keep_their_text() -> None:
    assert parse_annotation("my own device") == {"annotation": "my own device"}
    bad = b.annotation(sw=("X", 1, 2, 3)).rstrip(b"\x00").decode()
    assert parse_annotation(bad) == {"annotation": bad}
    good = b.annotation().rstrip(b"\x00").decode()
    assert parse_annotation(good)["software_revision"] == "V3.2.6"


def test_expected_submodules_cut_or_past_the_limit() -> None:
    with pytest.raises(ParseError):
        expected_submodules(b.expected_block(1, [(1, 3)])[:-2], [])  # its output DataDescription cut
    listed: list[str] = []
    expected_submodules(b.expected_block(1, [(i, 0) for i in range(MAX_EXPECTED + 5)]), listed)
    assert len(listed) == MAX_EXPECTED


def test_blocks_are_read_one_at_a_time_and_bounded() -> None:
    two = b.block(0x0101, bytes(4)) + b.block(0x0110, bytes(2))
    assert [(kind, end) for kind, _, end in read_blocks(two + b"\x00")] == [(0x0101, 10), (0x0110, 18)]
    with pytest.raises(ParseError, match="past its stub"):
        list(read_blocks(b.block(0x0101, bytes(4))[:-1]))
    assert len(list(read_blocks(b.block(0x0101, b"") * (MAX_BLOCKS + 3)))) == MAX_BLOCKS


def test_im0_and_filter_blocks() -> None:
    im0 = parse_im0(b.im0())
    assert (im0["vendor_id"], im0["order_id"], im0["software_revision"]) == (0x002A, "6ES7 315-2EH14-0AB0", "V3.2.6")
    with pytest.raises(ParseError, match="I&M0"):
        parse_im0(b.filter_block(0x0030, [(0, 1, 1)]))
    listed = parse_filter(b.filter_block(0x0030, [(0, n, n) for n in range(MAX_SUBMODULES + 9)]))
    assert len(listed) == MAX_SUBMODULES and listed[1] == {"api": 0, "slot": 0, "subslot": 1, "module_ident": 1,
                                                           "submodule_ident": 1}
