"""A router's test: enough foreign IPv4 addresses or IPv6 /48s behind one MAC, or a global IPv4 address on a private
segment, make it a gateway; link-local IPv6 addresses and a few hosts' addresses do not."""

from __future__ import annotations

from iotwarden.inventory.gateways import GATEWAY_MIN_IPS, carries_many


def test_enough_ipv4_addresses_make_a_gateway() -> None:
    few = [f"198.18.0.{i}" for i in range(1, GATEWAY_MIN_IPS)]
    assert not carries_many(few, private_segment=False)
    assert carries_many([*few, "198.18.0.200"], private_segment=False)
    assert not carries_many([*few, few[0]], private_segment=False)  # the same address twice is one


def test_ipv6_addresses_count_by_48_and_link_local_ones_not_at_all() -> None:
    one_site = [f"2001:db8:1:{i}::1" for i in range(GATEWAY_MIN_IPS + 3)]  # one /48
    assert not carries_many(one_site, private_segment=False)
    sites = [f"2001:db8:{i}::1" for i in range(GATEWAY_MIN_IPS)]
    assert carries_many(sites, private_segment=False)
    assert not carries_many([f"fe80::{i}" for i in range(1, GATEWAY_MIN_IPS + 3)], private_segment=False)


def test_one_global_address_on_a_private_segment_is_routed_traffic() -> None:
    assert carries_many(["8.8.8.8"], private_segment=True)
    assert not carries_many(["8.8.8.8"], private_segment=False)
    assert not carries_many(["10.0.0.9"], private_segment=True)
