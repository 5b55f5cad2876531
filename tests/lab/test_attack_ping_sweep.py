"""The ping sweep: an echo request to every address of another subnet through the router, answered by
the hosts that exist there, with valid ICMP checksums; its ground truth names T1018 and the subnet."""

from __future__ import annotations

import dpkt
import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.attacks import ATTACKS
from iotwarden.lab.generator import load_scenario
from iotwarden.lab.scenario import Activity
from iotwarden.lab.world import World
from tests.lab.conftest import SCENARIOS

SCENARIO = load_scenario(SCENARIOS / "enterprise-recon.yaml")


def sweep(**override: object) -> tuple[World, list[dpkt.ethernet.Ethernet], dict]:  # type: ignore[type-arg]
    world = World(SCENARIO, 3)
    act = next(a for a in SCENARIO.attacks if a.kind == "ping_sweep")
    fn, _ = ATTACKS["ping_sweep"]
    stream, event = fn(world, Activity(act.kind, {**act.params, **override}, act.path, act.key))
    return world, [dpkt.ethernet.Ethernet(f) for _, f in stream], event


def test_every_address_of_the_subnet_is_asked_and_the_existing_hosts_answer() -> None:
    world, frames, event = sweep()
    ot = SCENARIO.network.subnets["ot"]
    attacker = world.ips["cam-parking"]
    icmp = [(f, f.data, f.data.data) for f in frames]
    assert all(isinstance(m, dpkt.icmp.ICMP) for _, _, m in icmp)
    requests = [ip for _, ip, m in icmp if m.type == 8]
    replies = [ip for _, ip, m in icmp if m.type == 0]
    assert len(requests) == ot.network.num_addresses - 3  # not the network, broadcast or gateway address
    assert {dpkt.utils.inet_to_str(ip.src) for ip in requests} == {attacker}
    live = {ip for ip, dev in world.by_ip.items() if world.devices[dev].subnet == "ot"}
    assert {dpkt.utils.inet_to_str(ip.src) for ip in replies} == live
    assert all(dpkt.utils.inet_to_str(ip.dst) == attacker for ip in replies)
    assert {f.src for f, _, m in icmp if m.type == 0} == {bytes.fromhex(SCENARIO.network.router_mac.replace(":", ""))}
    for _, ip, m in icmp:  # the checksum over the ICMP message is right (RFC 792)
        raw = bytes(m)
        assert dpkt.in_cksum(raw) == 0, ip
    assert event["technique"].startswith("T1018") and event["targets"] == [str(ot.network)]


def test_the_attackers_own_or_an_unknown_subnet_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"subnet: 'iot' is not another subnet"):
        sweep(subnet="iot")
    with pytest.raises(ConfigError, match=r"subnet: 'dmz' is not another subnet of the scenario "
                                          r"\(known: building, iot, it, medical, ot; the attacker is on iot\)"):
        sweep(subnet="dmz")
