"""The world of a run: stable leases, off-subnet peers behind the router, periodic sessions in order."""

from __future__ import annotations

import json
from pathlib import Path

from iotwarden.lab.generator import generate, load_scenario
from iotwarden.lab.scenario import Scenario
from iotwarden.lab.world import DHCP_POOL_FIRST_HOST, World, periodic, stable_int
from tests.lab.conftest import SCENARIOS


def test_leases_start_at_the_pool_and_skip_static_addresses(small_scenario: Scenario) -> None:
    world = World(small_scenario, 1)
    leased = [world.ips[d.id] for d in small_scenario.devices if d.ip is None]
    assert leased[0] == f"10.20.0.{DHCP_POOL_FIRST_HOST}"
    assert len(set(world.ips.values())) == len(small_scenario.devices)
    assert World(small_scenario, 2).ips == world.ips  # addresses do not depend on the seed


def test_peers_off_subnet_appear_behind_the_router() -> None:
    scenario = load_scenario(SCENARIOS / "enterprise.yaml")
    world = World(scenario, 1)
    same = world.peer_device("ws-01", "srv-dc")
    assert (same.mac, same.ip) == ("98:e7:43:10:00:0a", "10.10.10.10")
    routed = world.peer_device("plug-01", "mqtt-broker")
    assert (routed.mac, routed.ip, routed.ttl) == (scenario.network.router_mac, "10.10.10.30", 63)
    cloud = world.cloud_ip("dispatcher.axis.com")
    assert cloud.startswith(("198.51.100.", "203.0.113.")) and cloud == world.cloud_ip("dispatcher.axis.com")


def test_stable_int_is_stable() -> None:
    assert stable_int(1, "a") == stable_int(1, "a") != stable_int(1, "b")
    assert stable_int("x") == 0x2D711642B726B044  # sha256("x")[:8], fixed across runs and platforms


def test_periodic_sessions_are_ordered_and_stop_at_the_end(small_scenario: Scenario) -> None:
    world = World(small_scenario, 1)
    frames = list(periodic(world, world.rng("t"), 7.0, lambda t: [(t + 0.5, b"b"), (t, b"a")]))
    times = [t for t, _ in frames]
    assert times == sorted(times) and frames[0][1] == b"a"
    assert world.start <= times[0] and times[-2] < world.end
    assert 6 <= len(frames) // 2 <= 11


def test_the_router_holds_every_subnet_s_gateway_address(tmp_path: Path) -> None:
    # core-rtr carries the network's router MAC: it is the gateway of each subnet (ARP, DHCP relay, the next hop),
    # so the truth lists those addresses too; every other device holds one
    world = World(load_scenario(SCENARIOS / "enterprise.yaml"), 1)
    assert world.addresses("core-rtr") == ["10.10.10.1", "10.10.20.1", "10.10.30.1", "10.10.40.1", "10.10.50.1"]
    assert world.addresses("srv-dc") == ["10.10.10.10"]
    generate(world.scenario, tmp_path / "e.pcap", tmp_path / "e.json", duration=10.0)
    truth = json.loads((tmp_path / "e.json").read_text())
    held = {d.id: world.addresses(d.id) for d in world.scenario.devices}
    assert {d["id"]: d["ips"] for d in truth["devices"]} == held
