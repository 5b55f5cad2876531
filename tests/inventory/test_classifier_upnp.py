"""The classifier on devices that served their UPnP description over HTTP (dissect/http.py kind
upnp_description, kb/data/rules/upnp.yaml): the server gets its vendor, type and model from what it states;
the control point that fetched the document gets nothing from it."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect.base import Packet
from iotwarden.dissect.http import HttpDissector
from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device, Observation
from tests.dissect.hostile import contract_call
from tests.dissect.upnpdocs import HUE_BRIDGE, IGD_ROUTER, ROKU_4200X, SONOS_ONE, WEMO_INSIGHT, http_get, http_reply
from tests.inventory.test_builder import run

CLASSIFIER = Classifier()
CLIENT_MAC, CLIENT_IP = "3c:7c:3f:10:20:30", "192.168.1.20"  # a PC on an ASUSTek block (IEEE MA-L 3C:7C:3F)
SERVER_IP = "192.168.1.50"


def exchange(request: bytes, reply: bytes, server_mac: str | None, server_ip: str, port: int) -> list[Observation]:
    """A client's HTTP request to ``server_mac``'s device and the device's reply, through the HTTP dissector."""
    state: dict[str, Any] = {}
    out: list[Observation] = []
    for to_server, data in ((True, request), (False, reply)):
        src, dst = ((CLIENT_MAC, CLIENT_IP, 50123), (server_mac, server_ip, port))[:: 1 if to_server else -1]
        pkt = Packet(ts=100.0, payload=data, src_mac=src[0], src_ip=src[1], src_port=src[2], dst_mac=dst[0],
                     dst_ip=dst[1], dst_port=dst[2], ip_proto=6, to_server=to_server)
        out.extend(contract_call(HttpDissector(), pkt, state))
    return out


def fetch(document: bytes, server_mac: str | None, port: int = 80, **reply: Any) -> list[Observation]:
    """A control point's GET of the LOCATION of ``server_mac``'s device and the device's answer."""
    return exchange(http_get(), http_reply(document, **reply), server_mac, SERVER_IP, port)


def inventory(observations: list[Observation]) -> dict[str, Device]:
    return run(*observations)[0].devices


def classified(device: Device) -> dict[str, str | None]:
    found = CLASSIFIER.classify(device)
    return {prop: found[prop].value if prop in found else None for prop in ("vendor", "device_type", "model")}


# (name, description served, server MAC, port, vendor, device type, model); MAC blocks are the vendors' IEEE ones
CASES = [
    ("WeMo Insight (pywemo recording) on a Belkin block", WEMO_INSIGHT, "94:10:3e:00:00:01", 49153,
     "Belkin", "smart_plug", "Insight"),
    ("WeMo Insight behind an address that names no maker", WEMO_INSIGHT, "02:00:00:00:00:01", 49153,
     "Belkin", "smart_plug", "Insight"),
    ("Hue Bridge v2 (Home Assistant's recording) on a Philips Lighting block", HUE_BRIDGE, "00:17:88:a3:6a:bf", 80,
     "Philips Hue", "smart_hub", "Hue Bridge v2"),
    ("Hue Bridge v2 without its MAC", HUE_BRIDGE, None, 80, "Philips Hue", "smart_hub", "Hue Bridge v2"),
    ("Sonos One with its embedded media server and renderer", SONOS_ONE, "48:a6:b8:8c:94:8e", 1400,
     "Sonos", "smart_speaker", "Sonos One"),
    # the 4200X is the Roku 3, a box (Roku's device chart): a media player, no stick
    ("Roku 4200X", ROKU_4200X, "b0:a7:37:00:00:01", 8060, "Roku", "media_player", "Roku Streaming Player 4200X"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_device_that_serves_its_description_is_typed_vendored_and_modelled(case: tuple[Any, ...]) -> None:
    name, document, mac, port, vendor, device_type, model = case
    devices = inventory(fetch(document, mac, port))
    server = devices[f"mac:{mac}" if mac else f"ip:{SERVER_IP}"]
    assert classified(server) == {"vendor": vendor, "device_type": device_type, "model": model}, name


def test_an_internet_gateway_device_is_a_router() -> None:
    devices = inventory(fetch(IGD_ROUTER, "00:00:5e:00:01:99"))
    assert classified(devices["mac:00:00:5e:00:01:99"])["device_type"] == "router"


def test_the_control_point_that_fetched_the_description_is_not_described_by_it() -> None:
    devices = inventory(fetch(WEMO_INSIGHT, "94:10:3e:00:00:01", 49153))
    client = devices[f"mac:{CLIENT_MAC}"]
    assert not [a for a in client.attributes if a.startswith("http.upnp_")]
    assert classified(client) == {"vendor": "ASUS", "device_type": None, "model": None}  # its MAC block only
    server = devices["mac:94:10:3e:00:00:01"]
    assert server.attributes["http.upnp_model_name"] == {"Insight"}
    assert server.attributes["http.upnp_device_type"] == {"urn:Belkin:device:insight:1"}


def test_every_conclusion_cites_the_rule_and_its_reference() -> None:
    devices = inventory(fetch(HUE_BRIDGE, "00:17:88:a3:6a:bf"))
    found = CLASSIFIER.classify(devices["mac:00:17:88:a3:6a:bf"])
    rules = {e["rule_id"] for e in found["device_type"].evidence}
    assert {"upnp.model.hue_bridge", "upnp.model.hue_bridge_v2"} <= rules
    assert all(e["reference"] for e in found["device_type"].evidence)


def test_media_software_defaults_name_no_vendor_and_no_model() -> None:
    # MiniDLNA's description strings (upnpdescstrings.h): manufacturer 'Justin Maggard', model name
    # 'Windows Media Connect compatible (MiniDLNA)': the software, not the box it runs on
    doc = (b'<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
           b"<deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>"
           b"<friendlyName>nas: minidlna</friendlyName>"
           b"<manufacturer>Justin Maggard</manufacturer><modelName>Windows Media Connect compatible (MiniDLNA)"
           b"</modelName><modelNumber>1.3.0</modelNumber></device></root>")
    devices = inventory(fetch(doc, "02:11:22:33:44:55", 8200))
    assert classified(devices["mac:02:11:22:33:44:55"]) == {"vendor": None, "device_type": None, "model": None}


def described(mac: str | None, **attributes: list[str]) -> Device:
    """A device with the ``http.upnp_*`` facts of a description it served (keyword ``model_name`` ->
    attribute ``http.upnp_model_name``)."""
    dev = Device(key=f"mac:{mac}" if mac else "ip:10.0.0.9", first_seen=0.0, last_seen=0.0, mac=mac)
    for name, values in attributes.items():
        dev.attributes[f"http.upnp_{name}"] = set(values)
    return dev


# (name, MAC, description facts, vendor, device type): what the renderers of TVs and players state, as the
# rules' references record it; MACs on locally administered addresses, so the description alone decides
TELEVISIONS = [
    ("Samsung TV renderer", "02:00:00:00:10:01",
     {"device_type": ["urn:schemas-upnp-org:device:MediaRenderer:1"], "manufacturer": ["Samsung Electronics"],
      "model_description": ["Samsung TV DMR"], "model_name": ["UE46D6500"], "friendly_name": ["[TV]UE46D6500"]},
     "Samsung", "smart_tv"),
    ("LG webOS TV renderer", "02:00:00:00:10:02",
     {"device_type": ["urn:schemas-upnp-org:device:MediaRenderer:1"], "manufacturer": ["LG Electronics"],
      "model_description": ["LG WebOSTV DMRplus"], "model_name": ["LG TV"],
      "friendly_name": ["[LG] webOS TV UH770V"]}, "LG", "smart_tv"),
    ("Sony BRAVIA renderer", "02:00:00:00:10:03",
     {"device_type": ["urn:schemas-upnp-org:device:MediaRenderer:1"], "manufacturer": ["Sony Corporation"],
      "model_name": ["KDL-48W600B"], "friendly_name": ["BRAVIA KDL-48W600B"],
      "service_types": ["urn:schemas-sony-com:service:IRCC:1"]}, "Sony", "smart_tv"),
    ("Chromecast DIAL description", "02:00:00:00:10:04",
     {"device_type": ["urn:dial-multiscreen-org:device:dial:1"], "manufacturer": ["Google Inc."],
      "model_name": ["Eureka Dongle"]}, "Google", "streaming_stick"),
    ("Fire TV DIAL description", "02:00:00:00:10:05",
     {"device_type": ["urn:dial-multiscreen-org:device:dial:1"], "manufacturer": ["Amazon"],
      "model_name": ["AFTMM"]}, "Amazon", "media_player"),
    ("Samsung soundbar renderer, as soundbars spell it (UMS RendererConfigurationTest)", "02:00:00:00:10:07",
     {"device_type": ["urn:schemas-upnp-org:device:MediaRenderer:1"], "manufacturer": ["Samsung Electronics"],
      "model_description": ["Samsung SOUNDBAR DMR"], "friendly_name": ["[AV] Samsung Soundbar Q90R"]},
     "Samsung", "media_player"),
    ("Axis camera", "02:00:00:00:10:06",
     {"device_type": ["urn:axis-com:device:Basic:1"], "manufacturer": ["AXIS"], "model_name": ["AXIS M3045-V"]},
     "Axis", "camera"),
]


@pytest.mark.parametrize("case", TELEVISIONS, ids=[c[0] for c in TELEVISIONS])
def test_what_renderers_and_cameras_state_names_their_maker_and_kind(case: tuple[Any, ...]) -> None:
    name, mac, facts, vendor, device_type = case
    found = classified(described(mac, **facts))
    assert (found["vendor"], found["device_type"]) == (vendor, device_type), name


def test_a_renderer_alone_is_no_conclusive_kind() -> None:
    # BubbleUPnP on a phone, Kodi on a PC: a MediaRenderer or a DIAL server says too little on its own
    for device_type in ("urn:schemas-upnp-org:device:MediaRenderer:1", "urn:dial-multiscreen-org:device:dial:1",
                        "urn:schemas-upnp-org:device:MediaServer:1"):
        assert classified(described("02:00:00:00:10:09", device_type=[device_type]))["device_type"] is None
