"""Link-type numbers: normalisation of header fields and names for messages."""

from __future__ import annotations

from iotwarden.sources.linktypes import SUPPORTED_LINKTYPES, linktype_name, normalise_linktype


def test_fcs_bits_are_masked_and_dlt_raw_aliases_map_to_linktype_raw() -> None:
    assert normalise_linktype(0x1000_0001) == 1  # FCS length in the upper bits (pcap §4)
    assert normalise_linktype(12) == 101
    assert normalise_linktype(14) == 101


def test_names() -> None:
    assert linktype_name(276) == "276 (LINUX_SLL2)"
    assert linktype_name(60000) == "60000"
    assert linktype_name(127) == "127 (IEEE802_11_RADIOTAP)"
    assert {0, 1, 9, 50, 101, 104, 105, 108, 113, 127, 228, 229, 276} == SUPPORTED_LINKTYPES
