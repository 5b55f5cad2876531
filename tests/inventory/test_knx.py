"""inventory/knx.py: which IP device holds a KNX individual address and which take part in a routing group, from what
KNX IP devices announce in their SEARCH/DESCRIPTION answers (KNX 03.08.02 §7.5.4.2-3), bounded."""

from __future__ import annotations

from iotwarden.inventory.knx import (
    DEFAULT_ADDRESS,
    MAX_ANNOUNCERS,
    ROUTING_GROUP,
    UNSET_GROUP,
    KnxDevices,
    KnxTarget,
)
from iotwarden.model import Observation

MULTICAST = "224.0.23.12"


def _announce(ip: str, address: str, **fields: object) -> Observation:
    return Observation(ts=1.0, proto="knxip", kind="search_response", src_ip=ip,
                       fields={"individual_address": address, **fields})


def test_knx_devices_are_bounded_and_announced_by_their_dibs() -> None:
    devices = KnxDevices(limit=3)
    for i in range(5):
        devices.see(_announce(f"10.0.0.{i}", f"1.{i}.0"))
    devices.see(Observation(ts=1.0, proto="knxip", kind="search_request", src_ip="10.0.0.9",
                            fields={"individual_address": "9.9.9"}))  # a request announces nothing
    assert len(devices) == 3
    frame = {"destination": "1.4.7", "destination_type": "individual"}
    routed = Observation(ts=2.0, proto="knxip", kind="routing_indication", src_ip="10.0.0.66",
                         dst_ip=MULTICAST, fields=frame)
    assert devices.target(routed) == KnxTarget("1.4.7", "10.0.0.4", None, "coupler")
    assert devices.target(Observation(ts=2.0, proto="knxip", kind="routing_indication", dst_ip=MULTICAST,
                                      fields={**frame, "destination": "1.0.7"})).found == "none"  # 1.0.0 dropped


def test_routing_members_are_the_devices_announcing_the_routing_family_for_that_group() -> None:
    devices = KnxDevices()
    devices.see(_announce("10.0.0.1", "1.1.0", service_families=["core", "tunnelling", "routing"],
                          multicast_address=MULTICAST))
    devices.see(_announce("10.0.0.2", "1.2.0", service_families=["core", "routing"],
                          multicast_address=UNSET_GROUP))  # unset: the default group
    devices.see(_announce("10.0.0.3", "1.3.0", service_families=["core", "routing"],
                          multicast_address="239.1.2.3"))  # another group
    devices.see(_announce("10.0.0.4", "1.1.1", service_families=["core", "tunnelling"]))  # an interface only
    assert ROUTING_GROUP == MULTICAST
    assert devices.routing_members(MULTICAST) == [("10.0.0.1", None), ("10.0.0.2", None)]
    assert devices.routing_members("239.1.2.3") == [("10.0.0.3", None)]
    assert devices.routing_members(None) == []


def test_routing_members_are_bounded() -> None:
    devices = KnxDevices(limit=2)
    for i in range(4):
        devices.see(_announce(f"10.0.0.{i}", f"1.{i}.0", service_families=["routing"]))
    assert devices.routing_members(MULTICAST) == [("10.0.0.2", None), ("10.0.0.3", None)]


def _frame(destination: str, dst_ip: str | None = MULTICAST) -> Observation:
    return Observation(ts=2.0, proto="knxip", kind="routing_indication", src_ip="10.0.0.66", dst_ip=dst_ip,
                       fields={"destination": destination, "destination_type": "individual"})


def test_an_address_announced_by_several_devices_is_attributed_to_none_of_them() -> None:
    """Two unprogrammed KNX IP devices at the factory default 15.15.255: a routed frame for it is ambiguous, naming
    both, not the last announcer's; a tunnelled one is still its interface's. Once ETS programs one of them (it
    announces 1.1.7), the other alone holds 15.15.255 again."""
    devices = KnxDevices()
    devices.see(_announce("10.0.0.1", DEFAULT_ADDRESS))
    devices.see(_announce("10.0.0.2", DEFAULT_ADDRESS))
    devices.see(_announce("10.0.0.2", DEFAULT_ADDRESS))  # announced again: still two
    target = devices.target(_frame(DEFAULT_ADDRESS))
    assert (target.ip, target.mac, target.found) == (None, None, "ambiguous")
    assert target.names() == ["10.0.0.1", "10.0.0.2"]
    assert "announced by 2 KNX IP devices, the factory default" in target.describe()
    assert devices.target(_frame(DEFAULT_ADDRESS, "10.0.0.20")) == KnxTarget(DEFAULT_ADDRESS, "10.0.0.20", None,
                                                                              "interface")
    devices.see(_announce("10.0.0.2", "1.1.7"))
    assert devices.announcers(DEFAULT_ADDRESS) == [("10.0.0.1", None)]
    assert devices.target(_frame(DEFAULT_ADDRESS)) == KnxTarget(DEFAULT_ADDRESS, "10.0.0.1", None, "own")
    assert devices.target(_frame("1.1.7")).ip == "10.0.0.2"


def test_a_line_coupled_by_two_routers_announcing_one_address_is_ambiguous_too() -> None:
    devices = KnxDevices()
    for ip in ("10.0.0.1", "10.0.0.2"):  # a router copied into the project twice: both 1.1.0
        devices.see(_announce(ip, "1.1.0", service_families=["routing"]))
    target = devices.target(_frame("1.1.5"))
    assert (target.found, target.names(), target.ip) == ("ambiguous", ["10.0.0.1", "10.0.0.2"], None)
    assert devices.target(_frame("1.2.5")).found == "none"


def test_announcers_per_address_are_bounded() -> None:
    devices = KnxDevices(limit=4, announcers=3)
    for i in range(MAX_ANNOUNCERS + 5):
        devices.see(_announce(f"10.0.1.{i}", DEFAULT_ADDRESS))
    assert devices.announcers(DEFAULT_ADDRESS) == [(f"10.0.1.{i}", None) for i in range(MAX_ANNOUNCERS + 2,
                                                                                         MAX_ANNOUNCERS + 5)]
    assert len(devices._addresses) == 4 and len(devices) == 1
    wide = KnxDevices()
    for i in range(MAX_ANNOUNCERS + 1):
        wide.see(_announce(f"10.0.2.{i}", DEFAULT_ADDRESS))
    assert len(wide.announcers(DEFAULT_ADDRESS)) == MAX_ANNOUNCERS


def test_two_vlans_identical_installations_are_kept_apart() -> None:
    """A trunk carries two VLANs' copies of one site (the same KNX IP address, individual address and routing group,
    other MACs): each frame's target and each group's routing members are its own VLAN's; untagged sees neither."""
    devices = KnxDevices()
    for vid, mac in ((10, "00:24:6d:00:00:0a"), (20, "00:24:6d:00:00:14")):
        announce = _announce("10.0.0.1", "1.1.0", service_families=["routing"])
        announce.src_mac, announce.vlan = mac, vid
        devices.see(announce)
    assert devices.announcers("1.1.0", "vlan10") == [("10.0.0.1", "00:24:6d:00:00:0a")]
    assert devices.announcers("1.1.0", "vlan20") == [("10.0.0.1", "00:24:6d:00:00:14")]
    assert devices.announcers("1.1.0") == [] and len(devices) == 2
    for vid, mac in ((10, "00:24:6d:00:00:0a"), (20, "00:24:6d:00:00:14")):
        frame = _frame("1.1.0")
        frame.vlan = vid
        assert devices.target(frame) == KnxTarget("1.1.0", "10.0.0.1", mac, "own")  # not ambiguous
        frame = _frame("1.1.5")
        frame.vlan = vid
        assert devices.target(frame) == KnxTarget("1.1.5", "10.0.0.1", mac, "coupler")
        assert devices.routing_members(MULTICAST, f"vlan{vid}") == [("10.0.0.1", mac)]
    assert devices.target(_frame("1.1.0")).found == "none" and devices.routing_members(MULTICAST) == []
