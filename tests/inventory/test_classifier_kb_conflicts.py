"""The classifier on evidence several makers' devices send (bench/kb_audit.py, issue #3): a device of
another vendor is not named after the maker a shared service type or stated name seemed to point to,
and the original vendor's device still is named, by its own evidence."""

from __future__ import annotations

from typing import Any

from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device

CLASSIFIER = Classifier()
LOCAL_MAC = "02:00:00:00:00:01"  # locally administered: no registry block to name a maker


def classify(mac: str, **attributes: list[str]) -> tuple[dict[str, Any], dict[str, float], set[str]]:
    """Values, confidences and the rules that matched, for a device with ``attributes`` (``a__b`` is ``a.b``)."""
    dev = Device(key=f"mac:{mac}", first_seen=0.0, last_seen=0.0, mac=mac)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(values)
    found = CLASSIFIER.classify(dev)
    return ({k: c.value for k, c in found.items()}, {k: c.confidence for k, c in found.items()},
            {m.rule_id for m in CLASSIFIER.matches(dev)})


def test_an_overkiz_gateway_of_another_brand_is_not_named_somfy() -> None:
    # an Atlantic Cozytouch bridge: the KizBox platform's service and instance name, on Overkiz's block
    found, _, rules = classify("f8:81:1a:00:11:22", mdns__services=["_kizbox._tcp.local"],
                               mdns__instances=["gateway-1234-5678-9012._kizbox._tcp.local"])
    assert "mdns.service.somfy_kizbox" in rules and "homeassistant.overkiz.zeroconf.1" in rules
    assert found["vendor"] == "Overkiz" and found["device_type"] == "smart_hub"
    # the service alone says the kind, never a brand
    found, _, _ = classify(LOCAL_MAC, mdns__services=["_kizbox._tcp.local"])
    assert found.get("device_type") == "smart_hub" and "vendor" not in found


def test_a_yeelight_lamp_speaking_miio_is_yeelight_and_a_xiaomi_device_stays_xiaomi() -> None:
    found, _, rules = classify(LOCAL_MAC, mdns__services=["_miio._udp.local"],
                               mdns__instances=["yeelink-light-color1_miio12345678._miio._udp.local"])
    assert "mdns.service.miio" in rules
    assert found["vendor"] == "Yeelight" and found["device_type"] == "smart_bulb"
    found, _, _ = classify("a4:45:19:00:11:22", mdns__services=["_miio._udp.local"])  # a Xiaomi block
    assert found["vendor"] == "Xiaomi"
    found, _, _ = classify(LOCAL_MAC, mdns__services=["_miio._udp.local"])  # the service alone: no maker
    assert "vendor" not in found and found.get("category") == "iot"


def test_a_stated_maker_spelled_otherwise_is_the_same_vendor() -> None:
    # Home Assistant's denonavr matcher and the stated manufacturer agree once spelled alike
    found, confidence, _ = classify(LOCAL_MAC, http__upnp_manufacturer=["DENON PROFESSIONAL"],
                                    http__upnp_device_type=["urn:schemas-upnp-org:device:MediaRenderer:1"])
    assert found["vendor"] == "Denon" and found["device_type"] == "media_player"
    found, confidence, _ = classify(LOCAL_MAC, modbus__vendor_name=["Telemecanique"])
    assert found["vendor"] == "Schneider Electric"
    assert confidence["vendor"] >= 0.9  # two sources agreeing, not one weakened by a conflict


def test_software_stating_its_own_name_is_not_the_vendor() -> None:
    # OctoPrint on a Raspberry Pi: the UPnP manufacturer is the software project's
    found, _, rules = classify("dc:a6:32:00:11:22", http__upnp_manufacturer=["The OctoPrint Project"],
                               http__upnp_device_type=["urn:schemas-upnp-org:device:Basic:1"])
    assert "upnp.manufacturer.stated" not in rules
    assert found["vendor"] == "Raspberry Pi"
    found, _, rules = classify(LOCAL_MAC, http__upnp_manufacturer=["Hyperion Open Source Ambient Lighting"])
    assert "vendor" not in found and "upnp.manufacturer.stated" not in rules
    # a device's own maker is still read
    found, _, _ = classify(LOCAL_MAC, http__upnp_manufacturer=["Yamaha Corporation"])
    assert found["vendor"] == "Yamaha"
