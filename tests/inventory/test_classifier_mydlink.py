"""The classifier on D-Link mydlink devices from their HNAP DNS-SD announcement (issue #3,
kb/data/rules/mydlink.yaml): _dhnap._tcp's TXT model_number names D-Link and the model, and the product line's
prefix the kind (DSP-W plugs, DCH-S1xx sensors, DCS cameras, DIR routers), the DCH-S220 its own (a siren); a hub
gets no kind; the key is read only on a device announcing _dhnap._tcp.

TXT entries follow what openHAB's dlinksmarthome binding and ioBroker.mydlink read from the announcement
(model_number, mac, mydlink=true) and the DIR-868L's own announcement (hw_version, version, mydlink=true)."""

from __future__ import annotations

import pytest

from iotwarden.dissect.mdns import MdnsDissector
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from tests.dissect.discovery import mdns_announcement
from tests.inventory.stated import CLASSIFIER, classify

HNAP = "_dhnap._tcp.local"


@pytest.mark.parametrize(("model", "kind"), [
    ("DSP-W215", "smart_plug"), ("DSP-W115", "smart_plug"), ("DCH-S150", "sensor"), ("DCH-S160", "sensor"),
    ("DCS-930L", "camera"), ("DIR-868L", "router"), ("DCH-S220", "siren"),
])
def test_the_model_number_names_d_link_the_model_and_the_product_lines_kind(model: str, kind: str) -> None:
    found, rules = classify(mdns__services=[HNAP], mdns__txt=[f"model_number={model}", "mydlink=true"])
    assert "mydlink.hnap.model" in rules
    assert found["vendor"] == "D-Link" and found["model"] == model
    assert found["device_type"] == kind


def test_a_hub_is_d_link_and_its_model_but_no_kind() -> None:
    # the DCH-G hubs are no product line a rule types: the model only
    found, rules = classify(mdns__services=[HNAP], mdns__txt=["model_number=DCH-G020", "mydlink=true"])
    assert "mydlink.hnap.model" in rules
    assert found["vendor"] == "D-Link" and found["model"] == "DCH-G020"
    assert "device_type" not in found


def test_model_number_without_the_hnap_service_says_nothing() -> None:
    # another maker's service may carry a key of that name: only _dhnap._tcp's is D-Link's
    found, rules = classify(mdns__services=["_http._tcp.local"], mdns__txt=["model_number=DSP-W215"])
    assert not {r for r in rules if r.startswith("mydlink.")}
    assert "vendor" not in found and "device_type" not in found


def test_a_water_sensors_announcement_on_the_wire_names_it() -> None:
    instance = "DCH-S160-3C4D._dhnap._tcp.local"
    txt = {b"model_number": b"DCH-S160", b"mac": b"B0:C5:54:11:3C:4D", b"mydlink": b"true", b"hw_version": b"A1"}
    packet = mdns_announcement(HNAP, instance, b"\x00\x00\x00\x00\x00\x50", "DCH-S160-3C4D.local", txt)
    ctx, builder = Context(), InventoryBuilder()
    for observation in MdnsDissector().dissect(packet, {}):
        builder.on_observation(ctx, observation)
    device = ctx.devices[f"mac:{packet.src_mac}"]
    assert HNAP in device.attributes["mdns.services"]
    assert "model_number=DCH-S160" in device.attributes["mdns.txt"]
    found = CLASSIFIER.classify(device)
    assert found["vendor"].value == "D-Link" and found["model"].value == "DCH-S160"
    assert found["device_type"].value == "sensor"
