"""Which MACs and IPs can name one host."""

from __future__ import annotations

import pytest

from iotwarden.inventory.addresses import is_group_mac, local_ip, private_v4, unzoned, usable_ip, usable_mac, zoned


@pytest.mark.parametrize(
    ("mac", "expected"),
    [("00:40:8C:12:34:56", "00:40:8c:12:34:56"), ("ff:ff:ff:ff:ff:ff", None), ("01:00:5e:00:00:fb", None),
     ("33:33:00:00:00:01", None), ("00:00:00:00:00:00", None), ("zz:00:00:00:00:00", None), ("00:40:8c", None),
     (None, None), (42, None), (["00:40:8c:12:34:56"], None)],
)
def test_usable_mac_is_one_unicast_interface(mac: object, expected: str | None) -> None:
    assert usable_mac(mac) == expected


def test_group_macs_are_broadcast_and_multicast_only() -> None:
    assert is_group_mac("ff:ff:ff:ff:ff:ff")
    assert is_group_mac("01:00:0c:cc:cc:cc")  # CDP multicast
    assert not is_group_mac("00:40:8c:12:34:56")
    assert not is_group_mac(None)
    assert not is_group_mac("garbage")


def test_group_bit_table_answers_as_the_octet_parse_does() -> None:
    """The first octet's lookup table gives int()'s answer for every two characters, hex or not
    (int() also takes ' 1', '+1' and '-1', which the table leaves to it)."""
    def parsed(mac: str) -> bool:
        try:
            return bool(int(mac[:2], 16) & 1)
        except ValueError:
            return False

    chars = [chr(c) for c in range(128)] + ["é", "٣"]  # ASCII, a letter and an Arabic-Indic digit
    for first in chars:
        for second in chars:
            mac = f"{first}{second}:00:00:00:00:00"
            assert is_group_mac(mac) is parsed(mac), mac
    assert is_group_mac("-1:00:00:00:00:00") and not is_group_mac(" 2:00:00:00:00:00")


@pytest.mark.parametrize(
    ("ip", "expected"),
    [("10.0.0.5", "10.0.0.5"), ("2001:DB8::1", "2001:db8::1"), ("224.0.0.251", None), ("ff02::fb", None),
     ("0.0.0.0", None),  # noqa: S104 - an address value, not a bind
     ("255.255.255.255", None), ("::", None), ("10.0.0.300", None), ("", None), (7, None)],
)
def test_usable_ip_can_belong_to_one_host(ip: object, expected: str | None) -> None:
    assert usable_ip(ip) == expected


def test_private_v4_excludes_loopback_and_link_local() -> None:
    assert private_v4("192.168.1.10")
    assert not private_v4("127.0.0.1")
    assert not private_v4("169.254.1.1")
    assert not private_v4("8.8.8.8")
    assert not private_v4("fd00::1")


def test_a_site_address_is_zoned_in_its_broadcast_domain_a_remote_one_is_not() -> None:
    assert zoned("10.0.0.5", "vni4001") == "10.0.0.5%vni4001" and unzoned("10.0.0.5%vni4001") == "10.0.0.5"
    assert zoned("fd00::5", "vlan10") == "fd00::5%vlan10"
    assert zoned("10.0.0.5", "") == "10.0.0.5" and zoned(None, "vlan10") is None
    assert zoned("93.184.216.34", "vlan10") == "93.184.216.34"  # one host wherever it is reached from
    assert zoned("203.0.113.7", "vlan10", ("203.0.113.0/24",)) == "203.0.113.7%vlan10"
    assert local_ip("10.0.0.5%vlan10") and not local_ip("93.184.216.34%vlan10")
