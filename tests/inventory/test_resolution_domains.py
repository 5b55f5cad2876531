"""Endpoint resolution per broadcast domain: a site address names a host within its VLAN or VXLAN/Geneve VNI.
Two tenants' routed 10.0.0.5 are two devices and neither is put on the other's MAC; a router joining two VLANs
still carries its hosts to their owners; a MAC is global (one device on any number of VLANs)."""

from __future__ import annotations

import dataclasses

import pytest

from iotwarden.inventory import resolution as r
from iotwarden.model import Flow, Observation
from iotwarden.model.device import DOMAINS_ATTRIBUTE, UNTAGGED
from tests.inventory.test_builder import flow as _flow
from tests.inventory.test_builder import obs, run

A, B = "00:11:22:33:44:01", "00:11:22:33:44:02"  # a host of each tenant
GW1, GW2 = "00:00:5e:00:01:01", "00:00:5e:00:01:02"  # each tenant's router
CLOUD = "93.184.216.34"  # a global address on a private segment: its carrier is a router at once


def flow(a_ip: str, b_ip: str, *, a_mac: str | None, b_mac: str | None, vlan: int = 0,
         vni: list[int] | None = None) -> Flow:
    f = _flow(a_ip, b_ip, a_mac=a_mac, b_mac=b_mac)
    return dataclasses.replace(f, vlan=vlan, extra={"vni": vni} if vni else {})


def arp(mac: str, ip: str, *, vlan: int | None = None, vni: tuple[int, ...] | None = None) -> Observation:
    o = obs("arp", "reply", {"sender_mac": mac, "sender_ip": ip}, src_mac=mac, src_ip=None, dst_ip=None)
    o.vlan, o.vni = vlan, vni
    return o


def test_two_vpcs_routed_hosts_with_one_address_are_two_devices() -> None:
    """A cloud mirror of two VPCs (one VNI each) whose plans overlap; each routes 10.0.0.5 (no MAC of its own)."""
    ctx, inv = run(flow("10.1.0.7", CLOUD, a_mac=A, b_mac=GW1, vni=[4001]),
                   flow("10.1.0.7", CLOUD, a_mac=B, b_mac=GW2, vni=[4002]),
                   flow("10.1.0.7", "10.0.0.5", a_mac=A, b_mac=GW1, vni=[4001]),
                   flow("10.1.0.7", "10.0.0.5", a_mac=B, b_mac=GW2, vni=[4002]))
    assert {GW1, GW2} <= inv.gateways
    assert {"ip:10.0.0.5%vni4001", "ip:10.0.0.5%vni4002"} <= set(ctx.devices)
    assert "ip:10.0.0.5" not in ctx.devices
    assert ctx.devices["ip:10.0.0.5%vni4001"].ips == {"10.0.0.5"}  # the address itself, not its zoned key
    assert ctx.devices[f"mac:{A}"].ips == ctx.devices[f"mac:{B}"].ips == {"10.1.0.7"}


def test_a_routed_address_is_not_put_on_another_tenants_owner() -> None:
    """Tenant 1's host owns 10.0.0.5 (ARP) in VNI 4001; tenant 2's router carries its own 10.0.0.5."""
    ctx, _ = run(arp(A, "10.0.0.5", vni=(4001,)),
                 flow("10.1.0.7", CLOUD, a_mac=B, b_mac=GW2, vni=[4002]),
                 flow("10.1.0.7", "10.0.0.5", a_mac=B, b_mac=GW2, vni=[4002]))
    assert "ip:10.0.0.5%vni4002" in ctx.devices
    assert ctx.devices[f"mac:{A}"].ips == {"10.0.0.5"}


def test_a_router_joining_two_vlans_carries_the_owners_host() -> None:
    """A router-on-a-stick: the host ARP proves on VLAN 10 answers a client on VLAN 20 through the router."""
    ctx, inv = run(arp(A, "10.0.10.5", vlan=10),
                   flow("10.0.20.9", CLOUD, a_mac=B, b_mac=GW1, vlan=20),
                   flow("10.0.10.5", CLOUD, a_mac=A, b_mac=GW1, vlan=10),
                   flow("10.0.20.9", "10.0.10.5", a_mac=B, b_mac=GW1, vlan=20))
    assert GW1 in inv.gateways
    assert not any(k.startswith("ip:10.0.10.5") for k in ctx.devices)
    assert ctx.devices[f"mac:{A}"].ips == {"10.0.10.5"}
    assert list(inv.mac_domains[GW1]) == ["vlan20", "vlan10"]


def test_a_routed_host_seen_untagged_and_tagged_through_one_router_is_its_owner() -> None:
    """The native (untagged) VLAN and a tagged one joined by one router."""
    ctx, _ = run(arp(A, "10.0.0.5"), flow("10.0.0.5", CLOUD, a_mac=A, b_mac=GW1),
                 flow("10.0.20.9", "10.0.0.5", a_mac=B, b_mac=GW1, vlan=20))
    assert not any(k.startswith("ip:10.0.0.5") for k in ctx.devices)


def test_a_routers_own_address_seen_tagged_one_way_and_untagged_the_other_is_the_router() -> None:
    """A mirror that tags one direction of a link only (labeled_locks_cams: VLAN 100 from the router, untagged from
    the camera): the router proves 192.168.1.1 on VLAN 100 and carries the cloud; the camera's DNS to 192.168.1.1
    untagged through the router's MAC is the router, not an ip: device of the untagged domain."""
    ctx, inv = run(arp(GW1, "192.168.1.1", vlan=100),
                   flow(CLOUD, "192.168.1.129", a_mac=GW1, b_mac=A, vlan=100),
                   flow("192.168.1.129", CLOUD, a_mac=A, b_mac=GW1),
                   flow("192.168.1.129", "192.168.1.1", a_mac=A, b_mac=GW1))
    assert GW1 in inv.gateways
    assert not any(k.startswith("ip:192.168.1.1") for k in ctx.devices)
    assert "192.168.1.1" in ctx.devices[f"mac:{GW1}"].ips
    ctx, _ = run(arp(GW1, "192.168.1.1", vlan=100), flow(CLOUD, "192.168.1.129", a_mac=GW1, b_mac=A, vlan=100),
                 flow("192.168.1.129", CLOUD, a_mac=B, b_mac=GW2), flow("192.168.1.129", "192.168.1.1", a_mac=B,
                                                                           b_mac=GW2))
    assert "ip:192.168.1.1" in ctx.devices  # another router's 192.168.1.1 untagged: not GW1's


def test_one_mac_on_two_vlans_is_one_device() -> None:
    """A trunked server (or a router-on-a-stick) is one device whatever VLANs it speaks on: MACs are global."""
    ctx, _ = run(arp(A, "10.0.10.5", vlan=10), arp(A, "10.0.20.5", vlan=20),
                 flow("10.0.10.5", "10.0.10.9", a_mac=A, b_mac=B, vlan=10))
    assert ctx.devices[f"mac:{A}"].ips == {"10.0.10.5", "10.0.20.5"}
    assert sorted(k for k in ctx.devices if k.startswith("mac:")) == [f"mac:{A}", f"mac:{B}"]


def test_the_lead_capture_shape_two_vlans_one_address_two_devices() -> None:
    ctx, _ = run(arp(A, "192.168.1.10", vlan=10), arp(B, "192.168.1.10", vlan=20),
                 flow("192.168.1.10", "192.168.1.1", a_mac=A, b_mac=None, vlan=10),
                 flow("192.168.1.10", "192.168.1.1", a_mac=B, b_mac=None, vlan=20))
    assert ctx.devices[f"mac:{A}"].ips == ctx.devices[f"mac:{B}"].ips == {"192.168.1.10"}


def test_the_domains_of_a_mac_are_bounded() -> None:
    items = [arp(GW1, f"10.{i // 256}.{i % 256}.1", vlan=i + 1) for i in range(r.MAX_DOMAINS_PER_MAC + 6)]
    _, inv = run(*items)
    assert len(inv.mac_domains[GW1]) == r.MAX_DOMAINS_PER_MAC
    assert list(inv.mac_domains[GW1])[-1] == f"vlan{r.MAX_DOMAINS_PER_MAC}"


def test_untagged_traffic_keeps_no_domain_table() -> None:
    _, inv = run(arp(A, "10.0.0.5"), flow("10.0.0.5", CLOUD, a_mac=A, b_mac=GW1))
    assert inv.mac_domains == {}


def test_a_later_proof_in_one_vlan_moves_the_routed_sighting_in_another() -> None:
    """The routed sighting on VLAN 20 comes before ARP proves the host on VLAN 10: it moves to the owner."""
    ctx, _ = run(flow("10.0.20.9", CLOUD, a_mac=B, b_mac=GW1, vlan=20),
                 flow("10.0.10.7", CLOUD, a_mac="00:11:22:33:44:07", b_mac=GW1, vlan=10),
                 flow("10.0.20.9", "10.0.10.5", a_mac=B, b_mac=GW1, vlan=20))
    assert "ip:10.0.10.5%vlan20" in ctx.devices
    inv_ctx, _ = run(flow("10.0.20.9", CLOUD, a_mac=B, b_mac=GW1, vlan=20),
                     flow("10.0.10.7", CLOUD, a_mac="00:11:22:33:44:07", b_mac=GW1, vlan=10),
                     flow("10.0.20.9", "10.0.10.5", a_mac=B, b_mac=GW1, vlan=20), arp(A, "10.0.10.5", vlan=10))
    assert not any(k.startswith("ip:10.0.10.5") for k in inv_ctx.devices)
    assert inv_ctx.devices[f"mac:{A}"].ips == {"10.0.10.5"} and inv_ctx.devices[f"mac:{A}"].packets == 4


def test_the_macs_with_domains_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(r, "MAX_ENDPOINTS", 20)
    _, inv = run(*(arp(f"00:11:22:33:55:{i:02x}", f"10.0.{i}.5", vlan=10) for i in range(30)))
    assert len(inv.mac_domains) == 20 and inv.dropped >= 10


def _domains(ctx: object, mac: str) -> set[str] | None:
    return ctx.devices[f"mac:{mac}"].attributes.get(DOMAINS_ATTRIBUTE)  # type: ignore[attr-defined]


def test_a_mac_device_records_the_domains_its_frames_were_seen_in() -> None:
    """Once the run shows tagged traffic each MAC device records its domains (link.domain): the MACs seen before the
    first tagged frame were seen untagged; a MAC seen only tagged records its tags; an untagged run records none."""
    ctx, _ = run(arp(A, "10.0.0.5"), arp(B, "10.0.0.5", vlan=20), arp(GW1, "10.0.20.1", vni=(4001,)),
                 flow("10.0.0.5", CLOUD, a_mac=A, b_mac=GW2, vlan=10))
    assert {m: _domains(ctx, m) for m in (A, B, GW1, GW2)} == {
        A: {UNTAGGED, "vlan10"}, B: {"vlan20"}, GW1: {"vni4001"}, GW2: {"vlan10"}}
    ctx, _ = run(arp(A, "10.0.0.5"), flow("10.0.0.5", CLOUD, a_mac=A, b_mac=GW1))
    assert all(DOMAINS_ATTRIBUTE not in d.attributes for d in ctx.devices.values())


def test_a_host_a_router_joining_two_vlans_carries_is_recorded_in_both() -> None:
    """The routed sighting on VLAN 20 moved to VLAN 10's owner (a later ARP proof): the owner's device records VLAN
    20 too, where the inventory places it, and keeps it when rebuilt; the router records its own two."""
    ctx, _ = run(flow("10.0.20.9", CLOUD, a_mac=B, b_mac=GW1, vlan=20),
                 flow("10.0.10.7", CLOUD, a_mac="00:11:22:33:44:07", b_mac=GW1, vlan=10),
                 flow("10.0.20.9", "10.0.10.5", a_mac=B, b_mac=GW1, vlan=20), arp(A, "10.0.10.5", vlan=10))
    assert _domains(ctx, A) == {"vlan10", "vlan20"}
    assert _domains(ctx, GW1) == {"vlan10", "vlan20"} and _domains(ctx, B) == {"vlan20"}


def test_a_mirror_tagging_one_direction_records_both() -> None:
    """labeled_locks_cams' shape: the router's frames to the camera on VLAN 100, the camera's untagged."""
    ctx, _ = run(arp(GW1, "192.168.1.1", vlan=100), flow(CLOUD, "192.168.1.129", a_mac=GW1, b_mac=A, vlan=100),
                 flow("192.168.1.129", CLOUD, a_mac=A, b_mac=GW1))
    assert _domains(ctx, A) == _domains(ctx, GW1) == {"vlan100", UNTAGGED}


def test_the_domains_a_device_records_are_bounded() -> None:
    items = [arp(GW1, f"10.{i // 256}.{i % 256}.1", vlan=i + 1) for i in range(r.MAX_DOMAINS_PER_MAC + 6)]
    ctx, _ = run(*items)
    assert _domains(ctx, GW1) == {f"vlan{i + 1}" for i in range(r.MAX_DOMAINS_PER_MAC)}
