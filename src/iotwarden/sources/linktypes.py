"""The link-layer types the engine decodes, and their names for error messages.

Numbers are LINKTYPE_* values from https://www.tcpdump.org/linktypes.html.
"""

from __future__ import annotations

from iotwarden.engine.batch import (
    LINKTYPE_C_HDLC,
    LINKTYPE_ETHERNET,
    LINKTYPE_IEEE802_11,
    LINKTYPE_IEEE802_11_RADIOTAP,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_PPP,
    LINKTYPE_PPP_HDLC,
    LINKTYPE_RAW,
)

SUPPORTED_LINKTYPES: frozenset[int] = frozenset(
    {
        LINKTYPE_NULL,
        LINKTYPE_ETHERNET,
        LINKTYPE_RAW,
        LINKTYPE_LOOP,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
        LINKTYPE_LINUX_SLL2,
        LINKTYPE_IEEE802_11,
        LINKTYPE_IEEE802_11_RADIOTAP,
        LINKTYPE_PPP,
        LINKTYPE_PPP_HDLC,
        LINKTYPE_C_HDLC,
    }
)

# DLT_RAW leaked into some savefiles as 12 (most systems) or 14 (OpenBSD) instead of 101
_RAW_ALIASES = {12: LINKTYPE_RAW, 14: LINKTYPE_RAW}

_NAMES = {
    0: "NULL",
    1: "ETHERNET",
    6: "IEEE802_5",
    9: "PPP",
    50: "PPP_HDLC",
    101: "RAW",
    104: "C_HDLC",
    105: "IEEE802_11",
    108: "LOOP",
    113: "LINUX_SLL",
    127: "IEEE802_11_RADIOTAP",
    129: "ARCNET_LINUX",
    195: "IEEE802_15_4_WITHFCS",
    220: "USB_LINUX_MMAPPED",
    228: "IPV4",
    229: "IPV6",
    276: "LINUX_SLL2",
}


def normalise_linktype(value: int) -> int:
    """The LINKTYPE number of a header field: low 16 bits (the rest carries FCS info), raw aliases."""
    lt = value & 0xFFFF
    return _RAW_ALIASES.get(lt, lt)


def linktype_name(linktype: int) -> str:
    """``"104 (C_HDLC)"``: the number and, when known, its tcpdump.org name."""
    name = _NAMES.get(linktype)
    return f"{linktype} ({name})" if name else str(linktype)


def supported_names() -> str:
    return ", ".join(linktype_name(lt) for lt in sorted(SUPPORTED_LINKTYPES))
