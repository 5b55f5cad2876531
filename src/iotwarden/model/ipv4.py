"""Fast IPv4 address tests for the per-flow hot paths.

``ipaddress.ip_address`` costs ~10 µs a call; a Zeek conn.log of a bot's horizontal scan has a new
destination on every line and each is asked "internal? external?" by several analyzers. For the
dotted-quad text every source produces, :func:`ipv4_int` parses with ``inet_pton`` (strict: exactly
four decimal octets, the form RFC 4001 / ``inet_ntop`` write) in well under a microsecond; callers
fall back to :mod:`ipaddress` for IPv6 and anything else. Range membership goes through a table
by first octet (:func:`octet_table`): most octets are wholly in or wholly out of a site's ranges, so
a scan's random targets are answered by one index.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

Ranges = tuple[tuple[int, int], ...]  # (network address, mask) pairs
# per first octet: True (all of its /8 is in the ranges), False (none of it), or the ranges to test
OctetTable = tuple[bool | Ranges, ...]

LOOPBACK4 = (0x7F000000, 0xFF000000)  # 127.0.0.0/8, RFC 1122 §3.2.1.3
MULTICAST4 = (0xE0000000, 0xF0000000)  # 224.0.0.0/4, RFC 5771
LIMITED_BROADCAST4 = 0xFFFFFFFF  # RFC 919 §7
UNSPECIFIED4 = 0


def ipv4_int(text: str) -> int | None:
    """The IPv4 address in ``text`` as an integer, or None when it is not a dotted quad."""
    if text.count(".") != 3:
        return None
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        return None


def ranges4(networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> Ranges:
    """The IPv4 networks of ``networks`` as (address, mask) pairs for :func:`in_ranges`."""
    return tuple((int(n.network_address), int(n.netmask)) for n in networks if n.version == 4)


def in_ranges(value: int, ranges: Ranges) -> bool:
    """Whether the IPv4 address ``value`` lies in one of ``ranges``."""
    return any(value & mask == net for net, mask in ranges)


def octet_table(ranges: Ranges) -> OctetTable:
    """``ranges`` compiled for :func:`in_table`: what each first octet says about membership."""
    out: list[bool | Ranges] = []
    for octet in range(256):
        low = octet << 24
        whole = any(mask & 0xFFFFFF == 0 and low & mask == net for net, mask in ranges)
        partial = tuple((net, mask) for net, mask in ranges if mask & 0xFFFFFF and net >> 24 == octet)
        out.append(True if whole else partial or False)
    return tuple(out)


def in_table(value: int, table: OctetTable) -> bool:
    """Whether the IPv4 address ``value`` lies in the ranges ``table`` was compiled from
    (:func:`in_ranges`'s answer, by one index for most addresses)."""
    entry = table[value >> 24]
    if entry is True or entry is False:
        return entry
    return any(value & mask == net for net, mask in entry)
