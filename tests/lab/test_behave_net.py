"""Network-service behaviours, run one at a time on the small scenario's world."""

from __future__ import annotations

import dataclasses

import dpkt
import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.behave_net import BEHAVIOURS, dns_lookup
from iotwarden.lab.scenario import Activity, Scenario
from iotwarden.lab.world import World


def _run(scenario: Scenario, device_id: str, kind: str) -> list[tuple[float, dpkt.ethernet.Ethernet]]:
    world = World(scenario, 3)
    dev = world.devices[device_id]
    act = next(b for b in dev.behaviours if b.kind == kind)
    fn, _ = BEHAVIOURS[kind]
    return [(t, dpkt.ethernet.Ethernet(f)) for t, f in fn(world, dev, act)]


def test_dhcp_is_discover_offer_request_ack_then_gratuitous_arp(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "ws-01", "dhcp")
    types = [dict(dpkt.dhcp.DHCP(bytes(e.data.data.data)).opts)[53] for _, e in frames[:4]]
    assert types == [b"\x01", b"\x02", b"\x03", b"\x05"]
    assert isinstance(frames[4][1].data, dpkt.arp.ARP) and frames[4][1].data.spa == frames[4][1].data.tpa


def test_mdns_announces_twice_one_second_apart(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "cam-01", "mdns")
    assert frames[0][1].dst == bytes.fromhex("01005e0000fb") and frames[0][1].data.ttl == 255
    first_round = [t for t, _ in frames if t < frames[0][0] + 2]
    assert len(first_round) == 4 and first_round[2] - first_round[0] == pytest.approx(1.0)


def test_ssdp_search_gets_unicast_answers_from_announcing_devices(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "ws-01", "ssdp_search")
    search, answer = frames[0][1], frames[1][1]
    assert bytes(search.data.data.data).startswith(b"M-SEARCH * HTTP/1.1")
    assert answer.data.data.dport == search.data.data.sport and b"SERVER: Linux/4.14" in bytes(answer.data.data.data)


def test_dns_answers_into_documentation_ranges(small_scenario: Scenario) -> None:
    world = World(small_scenario, 3)
    _q, r = (dpkt.ethernet.Ethernet(f) for _, f in dns_lookup(world, world.devices["ws-01"], world.rng("x"), 1.0,
                                                             "a.example"))
    answer = dpkt.dns.DNS(bytes(r.data.data.data)).an[0]
    assert answer.name == "a.example" and answer.rdata[:3] in (bytes([198, 51, 100]), bytes([203, 0, 113]))


def test_tls_needs_a_host_or_a_server(small_scenario: Scenario) -> None:
    world = World(small_scenario, 3)
    fn, spec = BEHAVIOURS["tls"]
    act = Activity("tls", {k: p.default for k, p in spec.items()}, "d.behaviours[0]")
    with pytest.raises(ConfigError, match=r"d\.behaviours\[0\]: one of host"):
        fn(world, world.devices["ws-01"], act)
    bad = dataclasses.replace(act, params={**act.params, "host": "x.example", "profile": "netscape"})
    with pytest.raises(ConfigError, match="profile: unknown 'netscape'"):
        fn(world, world.devices["ws-01"], bad)
