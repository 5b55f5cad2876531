"""Endpoints resolve to inventory keys the way the inventory keys devices."""

from __future__ import annotations

from iotwarden.model import Device, Observation
from iotwarden.risk.subjects import SubjectIndex, endpoint_of, is_external, usable_mac

CAM = Device("mac:02:00:00:00:00:05", 0.0, 1.0, mac="02:00:00:00:00:05", ips={"10.0.0.5"})
ROUTER = Device("mac:02:00:00:00:00:01", 0.0, 1.0, mac="02:00:00:00:00:01", ips={"10.0.0.1"})
ROUTED = Device("ip:10.1.0.7", 0.0, 1.0, ips={"10.1.0.7"})
INDEX = SubjectIndex({d.key: d for d in (CAM, ROUTER, ROUTED)})


def test_mac_owning_the_address_is_the_device() -> None:
    assert INDEX.resolve("02:00:00:00:00:05", "10.0.0.5") == CAM.key
    assert INDEX.resolve("02:00:00:00:00:05", None) == CAM.key


def test_address_behind_a_router_is_its_own_device() -> None:
    assert INDEX.resolve("02:00:00:00:00:01", "10.1.0.7") == ROUTED.key


def test_a_routed_address_within_a_vlan_is_its_zoned_device() -> None:
    """A tagged capture's routed host is keyed ip:<address>%<domain> (inventory/addresses.zoned)."""
    zoned = Device("ip:10.2.0.9%vlan100", 0.0, 1.0, ips={"10.2.0.9"})
    index = SubjectIndex({d.key: d for d in (CAM, ROUTER, zoned)})
    assert index.resolve("02:00:00:00:00:01", "10.2.0.9") == zoned.key
    assert index.resolve(None, "10.2.0.9") == zoned.key
    assert index.resolve("02:00:00:00:00:05", "10.0.0.5") == CAM.key


def test_address_without_mac_belongs_to_the_mac_device_carrying_it() -> None:
    assert INDEX.resolve(None, "10.0.0.5") == CAM.key


def test_internet_addresses_are_no_device() -> None:
    assert INDEX.resolve("02:00:00:00:00:01", "93.184.216.34") == ROUTER.key  # the gateway's MAC: the router
    assert INDEX.resolve(None, "93.184.216.34") is None
    assert INDEX.device(None, "10.0.0.5") is CAM


def test_endpoint_of_follows_the_subject_and_drops_group_macs() -> None:
    obs = Observation(ts=0.0, proto="telnet", kind="login_attempt", src_mac="02:00:00:00:00:09",
                      dst_mac="01:00:5e:00:00:01", src_ip="10.0.0.9", dst_ip="10.0.0.5", subject="dst")
    assert endpoint_of(obs) == (None, "10.0.0.5")
    assert endpoint_of(obs, "src") == ("02:00:00:00:00:09", "10.0.0.9")
    assert usable_mac("AB:BB:CC:DD:EE:FF") is None  # I/G bit set (0xAB is odd)
    assert usable_mac("00:00:00:00:00:00") is None
    assert usable_mac("zz:00:00:00:00:00") is None
    assert usable_mac("0A:00:00:00:00:01") == "0a:00:00:00:00:01"


def test_external_means_outside_the_sites_local_networks() -> None:
    assert is_external("93.184.216.34")
    assert is_external("198.51.100.7")  # documentation ranges stand for the internet in the lab
    assert not is_external("10.1.2.3") and not is_external("fd00::1") and not is_external("100.64.0.1")
    assert not is_external("127.0.0.1") and not is_external("239.255.255.250") and not is_external("0.0.0.0")  # noqa: S104
    assert not is_external("not an address") and not is_external(None)
