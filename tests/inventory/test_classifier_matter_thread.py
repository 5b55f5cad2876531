"""The classifier on Thread border routers and Matter nodes, from their DNS-SD TXT records (issue #3,
kb/data/rules/matter_thread.yaml): MeshCoP vn/mn name the maker and model, a border router is a role and
no kind, Matter DT names the kind for the ids our taxonomy has, VP the maker for the ids connectedhomeip
names; each TXT key is read only on a device announcing the service that defines it.

TXT strings are written as the dissector keeps them (keys lower-cased, dissect/mdns.py); the MeshCoP ones
are Home Assistant's thread test fixtures (home-assistant/core tests/components/thread/__init__.py), the
Matter ones follow connectedhomeip's TXT writer (decimal DT and VP, src/lib/dnssd/TxtFields.cpp)."""

from __future__ import annotations

import pytest

from iotwarden.dissect.mdns import MdnsDissector
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from tests.dissect.discovery import dns_msg, dns_name, dns_rr, mdns_announcement, txt_rdata, udp
from tests.inventory.stated import CLASSIFIER, classify

MESHCOP = "_meshcop._udp.local"
MATTERC = "_matterc._udp.local"
# ROUTER_DISCOVERY_GOOGLE_1's printable TXT entries (the binary xp/xa/sb/at/pt ones left out)
NEST_HUB_TXT = ["rv=1", "vn=Google Inc.", "mn=Google Nest Hub", "nn=NEST-PAN-E1AF", "tv=1.3.0", "dn=DefaultDomain"]
HASS_OTBR_TXT = ["rv=1", "vn=HomeAssistant", "mn=OpenThreadBorderRouter", "nn=OpenThread HC", "tv=1.3.0"]


def test_a_border_router_is_named_by_its_meshcop_vendor_and_model() -> None:
    found, rules = classify(mdns__services=[MESHCOP], mdns__txt=NEST_HUB_TXT)
    assert {"meshcop.txt.vendor_name", "meshcop.txt.model_name"} <= rules
    assert found["vendor"] == "Google" and found["model"] == "Google Nest Hub"  # "Google Inc." as the alias spells it


def test_a_homepod_routing_thread_is_apple_and_no_hub() -> None:
    # a HomePod announces AirPlay and RAOP beside MeshCoP; RAOP's own vn is its version, never a maker
    found, rules = classify(mdns__services=[MESHCOP, "_airplay._tcp.local", "_raop._tcp.local"],
                            mdns__txt=["vn=Apple Inc.", "mn=HomePod", "tv=1.3.0", "model=AudioAccessory5,1"])
    assert "mdns.service.thread_border_router" in rules
    assert found["vendor"] == "Apple" and found["model"] == "HomePod"
    assert found["device_type"] == "smart_speaker"  # its own model identifier, not the border router role
    # the role alone says no kind at all
    found, rules = classify(mdns__services=[MESHCOP], mdns__txt=["vn=Apple Inc.", "mn=HomePod"])
    assert "mdns.service.thread_border_router" in rules
    assert "device_type" not in found and found["vendor"] == "Apple"


def test_an_openthread_software_build_names_no_maker_or_model() -> None:
    found, rules = classify(mdns__services=[MESHCOP], mdns__txt=HASS_OTBR_TXT)
    assert not {"meshcop.txt.vendor_name", "meshcop.txt.model_name"} & rules
    assert "vendor" not in found and "model" not in found and "device_type" not in found
    found, _ = classify(mdns__services=[MESHCOP], mdns__txt=["vn=OpenThread", "mn=BorderRouter"])
    assert "vendor" not in found and "model" not in found


def test_meshcop_keys_without_the_meshcop_service_say_nothing() -> None:
    # an AirPlay receiver's RAOP TXT has its own vn (a version number); mn/vn of any other service are not MeshCoP's
    found, rules = classify(mdns__services=["_raop._tcp.local"], mdns__txt=["vn=65537", "mn=Google Nest Hub"])
    assert not {"meshcop.txt.vendor_name", "meshcop.txt.model_name"} & rules
    assert "vendor" not in found and "model" not in found
    found, rules = classify(mdns__services=[MESHCOP, "_raop._tcp.local"], mdns__txt=["vn=65537"])
    assert "meshcop.txt.vendor_name" not in rules and "vendor" not in found


def test_a_matter_plug_and_lamp_are_typed_by_their_device_type_id() -> None:
    found, rules = classify(mdns__services=[MATTERC],
                            mdns__txt=["d=3840", "cm=1", "dt=266", "dn=Plug", "vp=65521+32769"])
    assert "matter.txt.dt_plug" in rules
    assert found["device_type"] == "smart_plug" and "vendor" not in found  # a test vendor id names no maker
    found, rules = classify(mdns__services=[MATTERC], mdns__txt=["d=840", "cm=1", "dt=269"])
    assert "matter.txt.dt_light" in rules and found["device_type"] == "smart_bulb"
    # a commissioner says DT too; a casting video player is often a TV, so the id only supports a kind
    found, rules = classify(mdns__services=["_matterd._udp.local"], mdns__txt=["dt=35"])
    assert "matter.txt.dt_video_player" in rules and "device_type" not in found
    found, _ = classify(mdns__services=["_matterd._udp.local", "_airplay._tcp.local"], mdns__txt=["dt=35"])
    assert found["device_type"] == "media_player"


def test_a_matter_id_with_no_kind_says_no_kind() -> None:
    for dt in ("dt=22", "dt=259", "dt=514", "dt=999999"):  # Root Node, a light switch, a window covering, unknown
        found, rules = classify(mdns__services=[MATTERC], mdns__txt=[dt, "cm=1"])
        assert "device_type" not in found, dt
        assert not any(r.startswith("matter.txt.dt_") for r in rules), dt
        assert found.get("category") == "iot"  # the Matter service still says this much


def test_a_device_type_key_without_a_matter_service_says_nothing() -> None:
    found, rules = classify(mdns__services=["_http._tcp.local"], mdns__txt=["dt=266", "vp=4937+1"])
    assert not any(r.startswith("matter.") for r in rules)
    assert "device_type" not in found and "vendor" not in found


def test_a_matter_vendor_id_names_only_the_makers_connectedhomeip_lists() -> None:
    found, rules = classify(mdns__services=[MATTERC], mdns__txt=["vp=4937+4", "dt=257"])
    assert "matter.txt.vp_apple" in rules and found["vendor"] == "Apple"
    found, _ = classify(mdns__services=[MATTERC], mdns__txt=["vp=24582", "dt=266"])  # product id is optional
    assert found["vendor"] == "Google"
    found, _ = classify(mdns__services=[MATTERC], mdns__txt=["vp=49370+4"])  # not 4937: no match by prefix
    assert "vendor" not in found


def test_a_meshcop_announcement_on_the_wire_names_the_nest_hub() -> None:
    # ROUTER_DISCOVERY_GOOGLE_1 as an announcement: PTR, SRV and its TXT with the binary xp/xa/sb values
    instance = "Google-Nest-Hub-#ABED._meshcop._udp.local"
    txt = {b"rv": b"1", b"vn": b"Google Inc.", b"mn": b"Google Nest Hub", b"nn": b"NEST-PAN-E1AF",
           b"xp": b"\x9eu\xe2V\xf6\x14\t\xa3", b"tv": b"1.3.0", b"xa": b"\xf6\xa9\x9bBZg\xab\xed",
           b"sb": b"\x00\x00\x01\xb1"}
    packet = mdns_announcement("_meshcop._udp.local", instance, b"\x00\x00\x00\x00\xc0\x27",
                               "2d99f293-cd8e-2770-8dd2-6675de9fa000.local", txt)
    ctx, builder = Context(), InventoryBuilder()
    for observation in MdnsDissector().dissect(packet, {}):
        builder.on_observation(ctx, observation)
    device = ctx.devices[f"mac:{packet.src_mac}"]
    assert "_meshcop._udp.local" in device.attributes["mdns.services"]
    assert {"vn=Google Inc.", "mn=Google Nest Hub"} <= device.attributes["mdns.txt"]
    found = CLASSIFIER.classify(device)
    assert found["vendor"].value == "Google" and found["model"].value == "Google Nest Hub"
    assert "device_type" not in found


# A HomePod's RAOP and MeshCoP TXT records both carry "vn": RAOP's is the AirPlay version, MeshCoP's the
# maker. RAOP entries as the Thread rules' comment quotes them (matter_thread.yaml), its "am" model left out
# so that only MeshCoP's vn and mn can name the maker and model.
HOMEPOD_RAOP = ("AABBCCDDEEFF@Living Room._raop._tcp.local", {b"tp": b"UDP", b"vn": b"65537", b"vs": b"770.8.1"})
HOMEPOD_MESHCOP = ("HomePod._meshcop._udp.local", {b"rv": b"1", b"vn": b"Apple Inc.", b"mn": b"HomePod",
                                                   b"nn": b"MyHome", b"tv": b"1.3.0"})


@pytest.mark.parametrize("order", [(HOMEPOD_RAOP, HOMEPOD_MESHCOP), (HOMEPOD_MESHCOP, HOMEPOD_RAOP)],
                         ids=["raop_first", "meshcop_first"])
def test_a_homepod_announcing_raop_and_meshcop_in_one_message_is_apple(
        order: tuple[tuple[str, dict[bytes, bytes]], ...]) -> None:
    records = []
    for instance, txt in order:
        service = instance.split(".", 1)[1]
        records += [dns_rr(service, 12, dns_name(instance)), dns_rr(instance, 16, txt_rdata(txt))]
    packet = udp(dns_msg(0, 0x8400, answers=records), 5353, 5353, dst_ip="224.0.0.251")
    ctx, builder = Context(), InventoryBuilder()
    for observation in MdnsDissector().dissect(packet, {}):
        builder.on_observation(ctx, observation)
    device = ctx.devices[f"mac:{packet.src_mac}"]
    assert {"vn=65537", "vn=Apple Inc.", "mn=HomePod"} <= device.attributes["mdns.txt"]
    assert {"meshcop.txt.vendor_name", "meshcop.txt.model_name"} <= {m.rule_id for m in CLASSIFIER.matches(device)}
    found = CLASSIFIER.classify(device)
    assert found["vendor"].value == "Apple" and found["model"].value == "HomePod"
