"""The fast IPv4 tests agree with :mod:`ipaddress` on every form they accept and decline the rest."""

from __future__ import annotations

import ipaddress
import random

import pytest

from iotwarden.detect.base import INTERNAL_NETWORKS, external, is_internal
from iotwarden.inventory.addresses import LOCAL_NETWORKS
from iotwarden.model.ipv4 import LOOPBACK4, MULTICAST4, in_ranges, in_table, ipv4_int, octet_table, ranges4
from iotwarden.risk.subjects import is_external


@pytest.mark.parametrize("text", ["0.0.0.0", "10.1.2.3", "192.168.100.103", "255.255.255.255", "8.8.8.8"])  # noqa: S104 - an address to parse, not to bind
def test_dotted_quads_parse_to_their_integer(text: str) -> None:
    assert ipv4_int(text) == int(ipaddress.IPv4Address(text))


@pytest.mark.parametrize("text", ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", " 1.2.3.4", "1.2.3.4 ",
                                  "::1", "fe80::1%eth0", "::ffff:1.2.3.4", "a.b.c.d", "1..2.3"])
def test_anything_else_is_declined(text: str) -> None:
    assert ipv4_int(text) is None


def test_ranges_agree_with_ipaddress_networks() -> None:
    ranges = ranges4(INTERNAL_NETWORKS)
    rng = random.Random(5)
    samples = [rng.getrandbits(32) for _ in range(20000)] + [int(n.network_address) + d for n in INTERNAL_NETWORKS
                                                              if n.version == 4 for d in (0, 1, -1)]
    for value in samples:
        addr = ipaddress.IPv4Address(value % 2**32)
        assert in_ranges(int(addr), ranges) == any(addr in n for n in INTERNAL_NETWORKS if n.version == 4)


@pytest.mark.parametrize("ranges", [ranges4(INTERNAL_NETWORKS), (*ranges4(INTERNAL_NETWORKS), MULTICAST4),
                                    (*ranges4(LOCAL_NETWORKS), LOOPBACK4, MULTICAST4), (), ((0, 0),),
                                    ranges4([ipaddress.ip_network("8.0.0.0/7"), ipaddress.ip_network("9.9.9.9/32")])])
def test_the_octet_table_answers_as_the_ranges_do(ranges: tuple[tuple[int, int], ...]) -> None:
    table = octet_table(ranges)
    rng = random.Random(23)
    ends = [end for net, mask in ranges for end in (net, net | (~mask & 0xFFFFFFFF))]
    edges = [(end + d) % 2**32 for end in ends for d in (-1, 0, 1)]
    samples = edges + [o << 24 | rng.getrandbits(24) for o in range(256) for _ in range(40)] + [0, 2**32 - 1]
    for value in samples:
        assert in_table(value, table) == in_ranges(value, ranges), hex(value)


def _slow_external(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return not (addr.is_multicast or addr.is_unspecified or ip == "255.255.255.255"
                or any(addr in n for n in INTERNAL_NETWORKS if n.version == addr.version))


def test_detector_and_risk_address_tests_agree_with_the_slow_path() -> None:
    rng = random.Random(11)
    special = ["0.0.0.0", "255.255.255.255", "224.0.0.251", "239.255.255.250", "127.0.0.1", "100.64.0.1",  # noqa: S104
               "169.254.1.1", "172.31.255.255", "172.32.0.0", "192.168.0.0", "11.0.0.0"]
    for ip in special + [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(5000)]:
        addr = ipaddress.IPv4Address(ip)
        assert is_internal(ip) == any(addr in n for n in INTERNAL_NETWORKS if n.version == 4), ip
        assert external(ip) == _slow_external(ip), ip
        assert is_external(ip) == (external(ip) and not addr.is_loopback), ip
    for ip in ("fe80::1", "2001:db8::1", "fd00::5", "ff02::fb", "::1"):  # IPv6 takes the ipaddress path
        assert external(ip) == _slow_external(ip), ip
