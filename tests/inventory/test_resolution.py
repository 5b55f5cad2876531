"""Endpoint resolution: gateways, address owners and routed sightings decide which device an endpoint is."""

from __future__ import annotations

import pytest

from iotwarden.hooks import Context
from iotwarden.inventory import resolution as r
from iotwarden.inventory.builder import InventoryBuilder
from tests.inventory.test_builder import GW, HOST, flow, obs, run


def test_many_addresses_behind_one_mac_make_it_a_gateway_and_stay_separate_devices() -> None:
    remote = [f"198.18.0.{i}" for i in range(1, r.GATEWAY_MIN_IPS + 2)]  # benchmark range: not global
    ctx, inv = run(
        obs("arp", "reply", {"sender_mac": GW, "sender_ip": "10.0.0.1"}, src_mac=GW, src_ip=None, dst_ip=None),
        *(flow("10.0.0.5", ip) for ip in remote),
    )
    assert GW in inv.gateways
    assert ctx.devices[f"mac:{GW}"].ips == {"10.0.0.1"}  # its own (ARP-proved) address stays
    for ip in remote:  # remote endpoints, not devices: kept as the builder's peers
        assert f"ip:{ip}" not in ctx.devices
        assert inv.peers[f"ip:{ip}"].ips == {ip}
        assert inv.peers[f"ip:{ip}"].mac is None
    assert ctx.devices[f"mac:{HOST}"].ips == {"10.0.0.5"}


def test_a_global_address_on_a_private_segment_is_routed_at_once() -> None:
    ctx, inv = run(flow("10.0.0.5", "93.184.216.34"))
    assert GW in inv.gateways
    assert set(ctx.devices) == {f"mac:{HOST}", f"mac:{GW}"}  # a cloud server is no device of the site
    assert set(inv.peers) == {"ip:93.184.216.34"}


def test_routed_site_addresses_are_devices_and_site_networks_are_configurable() -> None:
    for ip in ("10.1.2.3", "172.20.0.1", "192.168.9.9", "100.64.1.1", "169.254.7.7", "fd00::5"):
        ctx, _ = run(flow("10.0.0.5", "93.184.216.34"), flow("10.0.0.5", ip))
        assert f"ip:{ip}" in ctx.devices
    ctx, inv = Context(), InventoryBuilder(site_networks=("203.0.113.0/24",))
    inv.on_flow(ctx, flow("10.0.0.5", "93.184.216.34"))
    inv.on_flow(ctx, flow("10.0.0.5", "203.0.113.7"))
    assert "ip:203.0.113.7" in ctx.devices and "ip:93.184.216.34" not in ctx.devices
    with pytest.raises(ValueError):
        InventoryBuilder(site_networks=("not-a-network",))


def test_facts_seen_before_the_gateway_was_detected_move_to_the_remote_device() -> None:
    hello = obs("tls", "certificate", {"certs": [{"subject": "CN=cloud.example"}]},
                src_mac=GW, src_ip="198.18.0.1", dst_ip="10.0.0.5")
    ctx, inv = run(hello, *(flow("10.0.0.5", f"198.18.0.{i}") for i in range(2, r.GATEWAY_MIN_IPS + 2)))
    assert inv.peers["ip:198.18.0.1"].attributes == {"tls.subject": {"CN=cloud.example"}}
    assert "tls.subject" not in ctx.devices[f"mac:{GW}"].attributes


def test_without_macs_addresses_are_keys_until_dhcp_proves_the_owner() -> None:
    ctx, _ = run(obs("http", "request", {"user_agent": "curl/8"}, src_mac=None, dst_mac=None))
    assert ctx.devices["ip:10.0.0.5"].attributes == {"http.user_agent": {"curl/8"}}
    ctx2, _ = run(obs("http", "request", {"user_agent": "curl/8"}, src_mac=None, dst_mac=None),
                  obs("dhcp", "ack", {"client_mac": HOST, "yiaddr": "10.0.0.5"}, src_mac=None, src_ip="10.0.0.1",
                      dst_mac=None))
    assert "ip:10.0.0.5" not in ctx2.devices
    assert ctx2.devices[f"mac:{HOST}"].attributes == {"http.user_agent": {"curl/8"}}


def test_endpoint_table_is_bounded_and_overflow_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(r, "MAX_ENDPOINTS", 5)
    ctx, inv = run(*(flow(f"10.0.1.{i}", f"10.0.2.{i}", a_mac=None, b_mac=None) for i in range(10)))
    assert len(inv.endpoints) == 5
    assert len(ctx.devices) == 5
    assert inv.dropped == 15


def test_ip_history_spans_every_sighting() -> None:
    _, inv = run(flow("10.0.0.5", "10.0.0.9", b_mac="00:11:22:33:44:99", ts=100.0),
                 flow("10.0.0.5", "10.0.0.9", b_mac="00:11:22:33:44:99", ts=500.0))
    assert inv.ip_history()[f"mac:{HOST}"] == {"10.0.0.5": (100.0, 501.0)}


def test_a_dhcp_servers_reply_proves_its_own_address_even_on_a_gateway() -> None:
    ack = obs("dhcp", "ack", {"client_mac": HOST, "yiaddr": "10.0.0.5"}, src_mac=GW, src_ip="10.0.0.1",
              dst_mac=HOST, dst_ip="10.0.0.5")
    ctx, inv = run(ack, flow("10.0.0.5", "93.184.216.34"))
    assert GW in inv.gateways
    assert inv.owner["10.0.0.1"] == GW
    assert ctx.devices[f"mac:{GW}"].ips == {"10.0.0.1"}
    assert "ip:10.0.0.1" not in ctx.devices


def test_a_local_host_seen_through_the_router_stays_one_device() -> None:
    server = "98:e7:43:10:00:0a"
    routed = [flow("10.0.1.9", "10.0.2.10", a_mac=GW, b_mac=server)]  # a host on another subnet, via the router
    ctx, inv = run(*(flow("10.0.0.5", f"198.18.0.{i}") for i in range(1, r.GATEWAY_MIN_IPS + 1)),
                   flow("10.0.0.5", "10.0.2.10", b_mac=server), *routed)
    assert GW in inv.gateways
    assert "ip:10.0.2.10" not in ctx.devices
    assert ctx.devices[f"mac:{server}"].ips == {"10.0.2.10"}
    assert ctx.devices[f"mac:{server}"].packets == 8  # both conversations
    assert "ip:10.0.1.9" in ctx.devices  # only ever seen through the router


def test_a_routed_device_never_gets_its_gateways_mac_as_an_interface() -> None:
    server = "98:e7:43:10:00:0a"
    # the router is known first (many outside addresses), then carries a routed conversation of the server
    ctx, inv = run(*(flow("10.0.0.5", f"198.18.0.{i}") for i in range(1, r.GATEWAY_MIN_IPS + 1)),
                   flow("10.0.2.10", "10.0.0.5", a_mac=server, b_mac=HOST),
                   flow("10.0.1.9", "10.0.2.10", a_mac=GW, b_mac=server),
                   flow("10.0.2.10", "10.0.1.9", a_mac=GW, b_mac=GW))
    dev = ctx.devices[f"mac:{server}"]
    assert GW in inv.gateways and dev.ips == {"10.0.2.10"}
    assert r.INTERFACES_ATTRIBUTE not in dev.attributes
    assert r.INTERFACES_ATTRIBUTE not in ctx.devices[f"mac:{HOST}"].attributes


def test_routed_sightings_before_the_gateway_is_known_leave_no_interface_behind() -> None:
    server = "98:e7:43:10:00:0a"
    ctx, _ = run(flow("10.0.2.10", "10.0.0.5", a_mac=server, b_mac=HOST),
                 flow("10.0.2.10", "10.0.1.9", a_mac=GW, b_mac=GW),  # the router's MAC, not yet known as one
                 *(flow("10.0.0.5", f"198.18.0.{i}") for i in range(1, r.GATEWAY_MIN_IPS + 1)))
    assert ctx.devices[f"mac:{server}"].ips == {"10.0.2.10"}
    assert r.INTERFACES_ATTRIBUTE not in ctx.devices[f"mac:{server}"].attributes


def test_routed_sightings_seen_first_move_to_the_mac_that_uses_the_address() -> None:
    ctx, _ = run(*(flow("10.0.0.5", f"198.18.0.{i}") for i in range(1, r.GATEWAY_MIN_IPS + 1)),
                 flow("10.0.1.9", "10.0.2.10", a_mac=GW, b_mac=GW),
                 flow("10.0.2.10", "10.0.0.5", a_mac="98:e7:43:10:00:0a", b_mac=HOST))
    assert "ip:10.0.2.10" not in ctx.devices
    assert ctx.devices["mac:98:e7:43:10:00:0a"].packets == 8


def test_addresses_per_mac_are_bounded_and_later_facts_go_to_the_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(r, "MAX_IPS_PER_MAC", 2)
    ctx, inv = run(*(obs("http", "request", {"user_agent": f"ua/{i}"}, src_ip=f"fd00::{i}") for i in range(5)))
    assert sorted(ip or "" for _, ip in inv.by_mac[HOST]) == ["", "fd00::", "fd00::1"]  # two addresses + the MAC
    assert inv.dropped == 3
    assert ctx.devices[f"mac:{HOST}"].attributes["http.user_agent"] == {f"ua/{i}" for i in range(5)}
