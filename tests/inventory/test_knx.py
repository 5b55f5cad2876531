"""inventory/knx.py: which IP device holds a KNX individual address and which take part in a routing group, from what
KNX IP devices announce in their SEARCH/DESCRIPTION answers (KNX 03.08.02 §7.5.4.2-3), bounded."""

from __future__ import annotations

from iotwarden.inventory.knx import ROUTING_GROUP, UNSET_GROUP, KnxDevices, KnxTarget
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
