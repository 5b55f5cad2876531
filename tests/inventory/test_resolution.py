"""Endpoint resolution: gateways, address owners and routed sightings decide which device an endpoint is."""

from __future__ import annotations

import pytest

from iotwarden.hooks import Context
from iotwarden.inventory import resolution as r
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.priors import PriorOwners, Tenure
from iotwarden.model import Flow, Observation
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


# --- prior owners: the store's address history (inventory/priors.py) --------------------------------

ROUTER_FIRST = tuple(flow("10.0.0.5", f"198.18.0.{i}") for i in range(1, r.GATEWAY_MIN_IPS + 1))  # GW routes


def run_with(priors: PriorOwners, *items: Observation | Flow) -> tuple[Context, InventoryBuilder]:
    return run(*items, priors=priors)


def test_an_address_seen_only_through_the_router_is_the_mac_that_held_it_then() -> None:
    server = "98:e7:43:10:00:0a"
    held = PriorOwners([Tenure(server, "10.0.2.10", 0.0, 50.0)])
    for items in ((*ROUTER_FIRST, flow("10.0.0.5", "10.0.2.10")),  # the router known first
                  (flow("10.0.0.5", "10.0.2.10"), *ROUTER_FIRST)):  # or found to be one afterwards
        ctx, inv = run_with(held, *items)
        assert GW in inv.gateways
        assert "ip:10.0.2.10" not in ctx.devices
        assert ctx.devices[f"mac:{server}"].ips == {"10.0.2.10"}
        assert ctx.devices[f"mac:{server}"].packets == 4
        assert inv.ip_history()[f"mac:{server}"] == {"10.0.2.10": (100.0, 101.0)}  # the store's tenure grows


def test_a_routed_device_no_mac_held_stays_an_address_device() -> None:
    held = PriorOwners([Tenure("98:e7:43:10:00:0a", "10.0.2.10", 0.0, 50.0)])
    ctx, _ = run_with(held, *ROUTER_FIRST, flow("10.0.0.5", "10.0.2.11"))
    assert "ip:10.0.2.11" in ctx.devices
    assert "mac:98:e7:43:10:00:0a" not in ctx.devices


def test_a_holder_of_long_ago_or_an_address_outside_the_site_is_not_recalled() -> None:
    server = "98:e7:43:10:00:0a"
    held = PriorOwners([Tenure(server, "10.0.2.10", 0.0, 50.0), Tenure(server, "93.184.216.34", 0.0, 200.0)])
    week = 7 * 86_400.0
    ctx, _ = run_with(held, *ROUTER_FIRST, flow("10.0.0.5", "10.0.2.10", ts=week))  # DHCP may have reused it
    assert "ip:10.0.2.10" in ctx.devices and f"mac:{server}" not in ctx.devices
    ctx, inv = run_with(held, *ROUTER_FIRST, flow("10.0.0.5", "93.184.216.34"))  # a cloud server is a peer
    assert "ip:93.184.216.34" in inv.peers and f"mac:{server}" not in ctx.devices


def test_what_the_run_proves_wins_over_the_history() -> None:
    server, other = "98:e7:43:10:00:0a", "98:e7:43:10:00:0b"
    held = PriorOwners([Tenure(server, "10.0.2.10", 0.0, 50.0)])
    arp = obs("arp", "reply", {"sender_mac": other, "sender_ip": "10.0.2.10"}, src_mac=other, src_ip=None,
              dst_ip=None)
    routed = flow("10.0.0.5", "10.0.2.10")
    for items in ((*ROUTER_FIRST, routed, arp), (arp, *ROUTER_FIRST, routed)):
        ctx, _ = run_with(held, *items)
        assert ctx.devices[f"mac:{other}"].ips == {"10.0.2.10"}
        assert f"mac:{server}" not in ctx.devices and "ip:10.0.2.10" not in ctx.devices


def test_the_routers_own_address_by_history_is_the_router_and_not_a_routed_one() -> None:
    # the router answered DHCP in an earlier capture; here a host's DNS queries to it get no answer
    held = PriorOwners([Tenure(GW, "10.0.0.1", 0.0, 50.0)])
    query = flow("10.0.0.5", "10.0.0.1", pkts=0, app="dns")
    assert "ip:10.0.0.1" in run(*ROUTER_FIRST, query)[0].devices  # nothing in the run says whose it is
    ctx, inv = run_with(held, *ROUTER_FIRST, query)
    assert "ip:10.0.0.1" not in ctx.devices
    assert ctx.devices[f"mac:{GW}"].ips == {"10.0.0.1"}
    # three outside addresses and its own: not yet a gateway (four foreign ones make it one)
    _, inv = run_with(held, flow("10.0.0.5", "10.0.0.1"), *ROUTER_FIRST[1:])
    assert GW not in inv.gateways
    _, inv = run(flow("10.0.0.5", "10.0.0.1"), *ROUTER_FIRST[1:])
    assert GW in inv.gateways  # without the history its address is as foreign as the others


def test_recalled_addresses_are_bounded_by_the_endpoint_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(r, "MAX_ENDPOINTS", 5)
    held = PriorOwners([Tenure("98:e7:43:10:00:0a", "10.0.2.1", 0.0, 200.0)])
    _, inv = run_with(held, *(flow(f"10.0.1.{i}", f"10.0.2.{i}", a_mac=None, b_mac=None) for i in range(10)))
    assert len(inv.recalled) == 5 and inv.dropped == 15
    assert inv.recalled["10.0.2.1"] == "98:e7:43:10:00:0a"


def test_an_empty_history_is_never_asked() -> None:
    _, inv = run_with(PriorOwners(), *ROUTER_FIRST, flow("10.0.0.5", "10.0.2.10"))
    assert inv.priors is None and inv.recalled == {}
