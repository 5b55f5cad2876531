"""UPnP descriptions in the lab: the control point's GET of a device's SSDP LOCATION and the device's answer,
read back by the HTTP dissector as the description the scenario declares."""

from __future__ import annotations

from pathlib import Path

import dpkt
import pytest

from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.upnpdesc import parse_description
from iotwarden.errors import ConfigError
from iotwarden.lab.generator import load_scenario
from iotwarden.lab.scenario import Activity, Scenario
from iotwarden.lab.upnp_app import BEHAVIOURS, description
from iotwarden.lab.world import World
from tests.dissect.hostile import feed_chunks

ENTERPRISE = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios" / "enterprise.yaml"


@pytest.fixture(scope="module")
def enterprise() -> Scenario:
    return load_scenario(ENTERPRISE)


def _first_fetch(scenario: Scenario, device_id: str) -> tuple[list[dpkt.ethernet.Ethernet], World]:
    world = World(scenario, 3)
    dev = world.devices[device_id]
    act = next(b for b in dev.behaviours if b.kind == "upnp_description")
    fn, _ = BEHAVIOURS["upnp_description"]
    frames = []
    for _, frame in fn(world, dev, act):
        eth = dpkt.ethernet.Ethernet(frame)
        frames.append(eth)
        if eth.data.data.flags & dpkt.tcp.TH_FIN and len(frames) > 4:
            break
    return frames, world


# (device, LOCATION port and path of its ssdp behaviour, what its declared description states)
FETCHES = [
    ("hue-bridge", 80, b"/description.xml", "Signify", "Philips hue bridge 2015",
     "urn:schemas-upnp-org:device:basic:1"),
    ("sonos", 1400, b"/xml/device_description.xml", "Sonos, Inc.", "Sonos Era 100",
     "urn:schemas-upnp-org:device:ZonePlayer:1"),
    ("roku-conf", 8060, b"/", "Roku", "Roku Ultra", "urn:roku-com:device:player:1-0"),
]


@pytest.mark.parametrize("case", FETCHES, ids=[c[0] for c in FETCHES])
def test_the_control_point_fetches_the_location_and_reads_the_declared_description(
        enterprise: Scenario, case: tuple[str, int, bytes, str, str, str]) -> None:
    device_id, port, path, manufacturer, model_name, device_type = case
    frames, world = _first_fetch(enterprise, device_id)
    segments = [(e.data.data.dport == port, bytes(e.data.data.data)) for e in frames if e.data.data.data]
    request = b"".join(d for to_server, d in segments if to_server)
    assert request.startswith(b"GET " + path + b" HTTP/1.1\r\n")
    assert frames[0].src == bytes.fromhex(world.devices["phone-01"].mac.replace(":", ""))
    described = [o for o in feed_chunks(HttpDissector(), segments) if o.kind == "upnp_description"]
    (o,) = described
    assert (o.fields["upnp_manufacturer"], o.fields["upnp_model_name"], o.fields["upnp_device_type"]) == (
        manufacturer, model_name, device_type)
    assert o.fields["upnp_truncated"] is False and o.fields["upnp_udn"].startswith("uuid:")


def test_the_sonos_player_embeds_its_media_server_and_renderer(enterprise: Scenario) -> None:
    frames, _ = _first_fetch(enterprise, "sonos")
    reply = b"".join(bytes(e.data.data.data) for e in frames if e.data.data.sport == 1400)
    fields = parse_description(reply.partition(b"\r\n\r\n")[2])
    assert fields is not None
    assert [d["upnp_device_type"] for d in fields["upnp_embedded"]] == ["urn:schemas-upnp-org:device:MediaServer:1",
                                                              "urn:schemas-upnp-org:device:MediaRenderer:1"]
    assert fields["upnp_embedded"][0]["upnp_model_name"] == "Sonos Era 100"
    assert fields["upnp_service_types"] == ["urn:schemas-upnp-org:service:AlarmClock:1",
                                       "urn:schemas-upnp-org:service:ZoneGroupTopology:1"]
    assert reply.startswith(b"HTTP/1.1 200 OK\r\nServer: Linux UPnP/1.0 Sonos/76.2-49120 (S39)\r\n")


def test_the_document_escapes_what_it_states() -> None:
    doc = description("urn:schemas-upnp-org:device:Basic:1", [("friendlyName", "R&D <lab>"), ("modelName", "")],
                      "uuid:1", ["urn:schemas-upnp-org:service:Dimming:1"], [])
    fields = parse_description(doc)
    assert fields is not None and fields["upnp_friendly_name"] == "R&D <lab>" and fields["upnp_model_name"] is None
    assert b"<serviceId>urn:upnp-org:serviceId:Dimming</serviceId>" in doc


def test_a_description_needs_the_devices_ssdp_location(enterprise: Scenario) -> None:
    world = World(enterprise, 3)
    plug = world.devices["plug-01"]  # no ssdp behaviour
    act = Activity("upnp_description", {"client": "phone-01"}, "devices[plug-01].behaviours[9]",
                   "devices[plug-01].behaviours[9]")
    fn, _ = BEHAVIOURS["upnp_description"]
    expected = r"^devices\[plug-01\]\.behaviours\[9\]: .* ssdp behaviour, and the device has none$"
    with pytest.raises(ConfigError, match=expected):
        list(fn(world, plug, act))
