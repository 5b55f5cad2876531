"""Network-service behaviours, run one at a time on the small scenario's world."""

from __future__ import annotations

import dataclasses

import dpkt
import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.behave_net import BEHAVIOURS, answered_target, dns_lookup
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


@pytest.mark.parametrize("txt", [5, "model=x", ["model=x"]])
def test_mdns_txt_that_is_no_mapping_names_its_service(small_scenario: Scenario, txt: object) -> None:
    # found by fuzzing: an internal error (AttributeError: 'int' object has no attribute 'items')
    world = World(small_scenario, 3)
    dev = world.devices["cam-01"]
    act = next(b for b in dev.behaviours if b.kind == "mdns")
    services = [dict(act.params["services"][0], txt=txt)]
    act = dataclasses.replace(act, params={**act.params, "services": services})
    fn, _ = BEHAVIOURS["mdns"]
    with pytest.raises(ConfigError, match=r"\.services\[0\]\.txt: expected a mapping"):
        list(fn(world, dev, act))


def _search(scenario: Scenario, st: str) -> list[tuple[float, dpkt.ethernet.Ethernet]]:
    world = World(scenario, 3)
    dev = world.devices["ws-01"]
    act = next(b for b in dev.behaviours if b.kind == "ssdp_search")
    act = dataclasses.replace(act, params={**act.params, "st": st})
    fn, _ = BEHAVIOURS["ssdp_search"]
    frames = [(t, dpkt.ethernet.Ethernet(f)) for t, f in fn(world, dev, act)]
    return [(t, e) for t, e in frames if t < frames[0][0] + 1.0]  # the first search and its answers


def test_ssdp_search_gets_unicast_answers_from_devices_of_the_target(small_scenario: Scenario) -> None:
    search, answer = (e for _, e in _search(small_scenario, "ssdp:all"))  # one device announces on SSDP
    assert bytes(search.data.data.data).startswith(b"M-SEARCH * HTTP/1.1")
    body = bytes(answer.data.data.data)
    assert answer.data.data.dport == search.data.data.sport and b"SERVER: Linux/4.14" in body
    assert b"ST: urn:axis-com:device:Basic:1" in body  # ssdp:all is answered with the device's own type


def test_a_search_for_another_kind_of_device_goes_unanswered(small_scenario: Scenario) -> None:
    # ws-01 looks for DIAL receivers (smart TVs, Chromecasts): the Axis camera is none, so it keeps quiet
    frames = _search(small_scenario, "urn:dial-multiscreen-org:service:dial:1")
    assert [bytes(e.data.data.data)[:8] for _, e in frames] == [b"M-SEARCH"]
    assert bytes(_search(small_scenario, "upnp:rootdevice")[1][1].data.data.data).count(b"ST: upnp:rootdevice") == 1


@pytest.mark.parametrize(("st", "upnp", "answer"), [
    ("ssdp:all", True, "urn:x:device:Basic:1"),
    ("upnp:rootdevice", True, "upnp:rootdevice"),
    ("upnp:rootdevice", False, None),  # a vendor protocol on SSDP (Roku ECP) is no UPnP root device
    ("roku:ecp", False, None),
    ("urn:x:device:Basic:1", True, "urn:x:device:Basic:1"),
    ("uuid:1", True, "uuid:1"),
])
def test_answered_targets(st: str, upnp: bool, answer: str | None) -> None:
    assert answered_target(st, {"device_type": "urn:x:device:Basic:1", "upnp": upnp}, "uuid:1") == answer


def test_ntp_resolves_the_configured_vendor_zone_then_polls_it(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "rpi-01", "ntp")
    query = dpkt.dns.DNS(bytes(frames[0][1].data.data.data))
    assert query.qd[0].name == "0.debian.pool.ntp.org"
    ntp = [e for _, e in frames if isinstance(e.data.data, dpkt.udp.UDP) and 123 in (e.data.data.sport,
                                                                                      e.data.data.dport)]
    assert ntp and ntp[0].data.dst[:3] in (bytes([198, 51, 100]), bytes([203, 0, 113]))
    lookups = [e for _, e in frames if e.data.data.dport == 53]
    assert len(lookups) < len(ntp) // 2  # resolved once per resolve_every polls, not per poll


def test_an_axis_camera_names_its_model_in_dhcp_option_60(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "cam-01", "dhcp")
    opts = dict(dpkt.dhcp.DHCP(bytes(frames[0][1].data.data.data)).opts)
    assert opts[60] == b"AXIS,Network Camera,M3045-V"


def test_dns_answers_into_documentation_ranges(small_scenario: Scenario) -> None:
    world = World(small_scenario, 3)
    _q, r = (dpkt.ethernet.Ethernet(f) for _, f in dns_lookup(world, world.devices["ws-01"], world.rng("x"), 1.0,
                                                             "a.example"))
    answer = dpkt.dns.DNS(bytes(r.data.data.data)).an[0]
    assert answer.name == "a.example" and answer.rdata[:3] in (bytes([198, 51, 100]), bytes([203, 0, 113]))


def test_tls_needs_a_host_or_a_server(small_scenario: Scenario) -> None:
    world = World(small_scenario, 3)
    fn, spec = BEHAVIOURS["tls"]
    act = Activity("tls", {k: p.default for k, p in spec.items()}, "d.behaviours[0]", "d.behaviours[0]")
    with pytest.raises(ConfigError, match=r"d\.behaviours\[0\]: one of host"):
        fn(world, world.devices["ws-01"], act)
    bad = dataclasses.replace(act, params={**act.params, "host": "x.example", "profile": "netscape"})
    with pytest.raises(ConfigError, match="profile: unknown 'netscape'"):
        fn(world, world.devices["ws-01"], bad)
