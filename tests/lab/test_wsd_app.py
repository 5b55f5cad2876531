"""WS-Discovery in the lab: Hellos at start-up and ProbeMatches to searches, read back by the dissector."""

from __future__ import annotations

import dataclasses

import dpkt
import pytest

from iotwarden.dissect.wsd import parse_wsd
from iotwarden.errors import ConfigError
from iotwarden.lab.scenario import Scenario
from iotwarden.lab.world import World
from iotwarden.lab.wsd_app import APP_MAX_DELAY, BEHAVIOURS, MULTICAST_TTL, NAMESPACES, WSD_GROUP, WSD_PORT

PUB, PRINT = NAMESPACES["pub"], NAMESPACES["wprt"]


def _run(scenario: Scenario, device_id: str, kind: str, seed: int = 3) -> list[tuple[float, dpkt.ethernet.Ethernet]]:
    world = World(scenario, seed)
    dev = world.devices[device_id]
    act = next(b for b in dev.behaviours if b.kind == kind)
    fn, _ = BEHAVIOURS[kind]
    return [(t, dpkt.ethernet.Ethernet(f)) for t, f in fn(world, dev, act)]


def _ip(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def test_a_windows_pc_says_hello_once_to_the_group(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "ws-01", "wsd")
    assert len(frames) == 1  # every: 0, a Hello at start-up only
    t, eth = frames[0]
    ip, udp = eth.data, eth.data.data
    assert (_ip(ip.dst), udp.sport, udp.dport, ip.ttl) == (WSD_GROUP, WSD_PORT, WSD_PORT, MULTICAST_TTL)
    assert eth.dst == bytes.fromhex("01005e7ffffa")
    kind, f = parse_wsd(bytes(udp.data))
    assert kind == "hello" and t == small_scenario.start + 2.5
    assert f["types"] == [f"{{{NAMESPACES['wsdp']}}}Device", f"{{{PUB}}}Computer"]
    [address] = f["endpoints"]
    assert f["xaddrs"] == [f"http://{_ip(ip.src)}:5357/{address.removeprefix('urn:uuid:')}/"]
    assert (f["metadata_version"], f["message_number"]) == (332, 1)


def test_an_onvif_camera_states_its_model_in_its_hello(small_scenario: Scenario) -> None:
    [(_, eth)] = _run(small_scenario, "cam-01", "wsd")
    _, f = parse_wsd(bytes(eth.data.data.data))
    assert f["onvif_hardware"] == ["M3045-V"] and f["onvif_names"] == ["AXIS M3045-V"]
    assert f["xaddrs"] == [f"http://{_ip(eth.data.src)}:80/onvif/device_service"]


def test_a_probe_is_answered_by_the_devices_of_the_types_searched_only(small_scenario: Scenario) -> None:
    for searcher, answering in (("ws-01", {"prn-01"}), ("dvr-01", {"cam-01"})):
        frames = _run(small_scenario, searcher, "wsd_probe")
        (t0, probe), *answers = frames
        kind, asked = parse_wsd(bytes(probe.data.data.data))
        assert kind == "probe" and _ip(probe.data.dst) == WSD_GROUP
        world = World(small_scenario, 3)
        by_ip = {world.ips[d]: d for d in world.devices}
        assert {by_ip[_ip(e.data.src)] for _, e in answers} == answering
        for t, e in answers:
            kind, f = parse_wsd(bytes(e.data.data.data))
            assert kind == "probe_matches" and f["relates_to"] == asked["message_id"]
            assert set(asked["types"]) <= set(f["types"])
            assert 0 < t - t0 <= APP_MAX_DELAY
            assert (e.data.data.sport, e.data.data.dport) == (WSD_PORT, probe.data.data.sport)
            assert e.data.dst == probe.data.src
    [(_, printer_answer)] = _run(small_scenario, "ws-01", "wsd_probe")[1:2]
    assert f"{{{PRINT}}}PrintDeviceType" in parse_wsd(bytes(printer_answer.data.data.data))[1]["types"]


def test_the_same_seed_gives_the_same_messages(small_scenario: Scenario) -> None:
    first = [(t, bytes(e)) for t, e in _run(small_scenario, "dvr-01", "wsd_probe")]
    assert first == [(t, bytes(e)) for t, e in _run(small_scenario, "dvr-01", "wsd_probe")]
    assert first != [(t, bytes(e)) for t, e in _run(small_scenario, "dvr-01", "wsd_probe", seed=4)]


def test_a_type_with_a_prefix_the_lab_does_not_know_is_refused(small_scenario: Scenario) -> None:
    world = World(small_scenario, 3)
    dev = world.devices["cam-01"]
    act = next(b for b in dev.behaviours if b.kind == "wsd")
    bad = dataclasses.replace(act, params={**act.params, "types": ["acme:Camera"]})
    fn, _ = BEHAVIOURS["wsd"]
    with pytest.raises(ConfigError, match="acme:Camera"):
        list(fn(world, dev, bad))


def test_the_pc_fetches_the_printers_dpws_metadata_from_its_xaddrs(small_scenario: Scenario) -> None:
    from iotwarden.dissect.dpwsmeta import parse_metadata

    frames = _run(small_scenario, "prn-01", "wsd_metadata")
    world = World(small_scenario, 3)
    segments = [eth.data for _, eth in frames if isinstance(eth.data.data, dpkt.tcp.TCP) and eth.data.data.data]
    request = b"".join(bytes(ip.data.data) for ip in segments if _ip(ip.src) == world.ips["ws-01"])
    reply = b"".join(bytes(ip.data.data) for ip in segments if _ip(ip.src) == world.ips["prn-01"])
    assert {ip.data.dport for ip in segments if _ip(ip.src) == world.ips["ws-01"]} == {3911}  # the wsd XAddrs port
    assert request.startswith(b"POST / HTTP/1.1\r\n") and b"Content-Type: application/soap+xml\r\n" in request
    assert b"<wsa:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</wsa:Action>" in request
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Type: application/soap+xml" in head
    f = parse_metadata(body)
    assert f is not None
    assert (f["dpws_manufacturer"], f["dpws_model_name"], f["dpws_model_number"]) == (
        "HP", "HP LaserJet Pro M404dn", "W1A52A")
    assert (f["dpws_serial_number"], f["dpws_firmware_version"]) == ("PHBQB12345", "002_2310A")
    assert f["dpws_types"] == [f"{{{PRINT}}}PrinterServiceType"] and f["dpws_computer"] is None


def test_metadata_needs_the_devices_wsd_behaviour(small_scenario: Scenario) -> None:
    world = World(small_scenario, 3)
    dev = world.devices["prn-01"]
    act = next(b for b in dev.behaviours if b.kind == "wsd_metadata")
    bare = dataclasses.replace(dev, behaviours=[b for b in dev.behaviours if b.kind != "wsd"])
    fn, _ = BEHAVIOURS["wsd_metadata"]
    with pytest.raises(ConfigError, match="wsd behaviour"):
        list(fn(world, bare, act))
