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


ROKU_OS = {"ssdp__st": ["roku:ecp"], "ssdp__server": ["Roku/9.4.0 UPnP/1.0 Roku/9.4.0"],
           "http__user_agent": ["Roku/DVP-9.40 (519.40E04111A)"],
           "http__upnp_device_type": ["urn:roku-com:device:player:1-0"], "http__upnp_manufacturer": ["Roku"]}


def test_a_roku_tv_is_a_tv_and_a_roku_player_a_media_player() -> None:
    # Roku OS answers alike on players and TVs: its ECP, server and user agent name Roku, not the kind
    found, _, _ = classify(LOCAL_MAC, **ROKU_OS, http__upnp_model_name=["TCL Roku TV 55S425"])
    assert found["vendor"] == "Roku" and found["device_type"] == "smart_tv"
    found, _, _ = classify(LOCAL_MAC, **ROKU_OS)
    assert found["vendor"] == "Roku" and "device_type" not in found
    # a player on Roku's own block (IEEE MA-L B0:A7:37): the 4200X is the Roku 3, a box with Ethernet and USB ports
    # (Roku's device chart), no stick; the block says a media player (was: streaming_stick)
    found, _, _ = classify("b0:a7:37:00:10:01", **ROKU_OS, http__upnp_model_name=["Roku Streaming Player 4200X"])
    assert found["vendor"] == "Roku" and found["device_type"] == "media_player"


def test_roku_s_own_blocks_say_media_player_and_a_stick_s_host_name_the_stick() -> None:
    # Roku's blocks hold its boxes (Roku Ultras on 8C:49:62 and 84:EA:ED, 2cld/sl docs/devices.md) and its sticks
    for mac in ("8c:49:62:0b:69:8d", "84:ea:ed:a8:64:91", "b0:a7:37:00:10:01"):
        found, _, rules = classify(mac)
        assert "mac.vendor.roku" in rules
        assert found["vendor"] == "Roku" and found["device_type"] == "media_player", mac
        found, _, _ = classify(mac, dhcp__hostname=["RokuUltra"])  # the box's own name adds no kind
        assert found["device_type"] == "media_player", mac
    # a stick's host name makes it the finer kind, drawing on the block's media_player too
    found, confidence, _ = classify("b0:a7:37:00:10:01", dhcp__hostname=["RokuStreamingStick"])
    assert found["device_type"] == "streaming_stick"
    _, alone, _ = classify(LOCAL_MAC, dhcp__hostname=["RokuStreamingStick"])
    assert confidence["device_type"] > alone["device_type"]
    # a Roku TV model's name still outweighs the block
    found, _, _ = classify("b0:a7:37:00:10:01", **ROKU_OS, http__upnp_model_name=["TCL Roku TV 55S425"])
    assert found["device_type"] == "smart_tv"


def test_a_roku_host_name_names_the_vendor_and_only_a_stick_s_the_kind() -> None:
    # Roku OS sends the model's friendly name as host name: Roku's boxes and soundbars start with "Roku" too
    for name in ("RokuUltra", "RokuExpress", "RokuStreambar", "Roku-Ultra"):
        found, _, rules = classify(LOCAL_MAC, dhcp__hostname=[name])
        assert "dhcp.hostname.roku" in rules
        assert found["vendor"] == "Roku" and "device_type" not in found, name
    found, _, rules = classify(LOCAL_MAC, dhcp__hostname=["RokuStreamingStick"])
    assert "dhcp.hostname.roku_stick" in rules
    assert found["vendor"] == "Roku" and found["device_type"] == "streaming_stick"
    # a Roku TV another maker builds names its size and maker first: neither Roku player rule types it a stick
    found, _, rules = classify(LOCAL_MAC, dhcp__hostname=["55TCLRokuTV"])
    assert not {"dhcp.hostname.roku", "dhcp.hostname.roku_stick"} & rules
    assert found.get("device_type") != "streaming_stick"


def test_a_roku_tv_s_host_name_names_the_tv_and_its_maker() -> None:
    # '<size>" <maker> Roku TV', the device name Roku OS gives a TV another maker builds, spaces dropped
    for name, maker in (("55TCLRokuTV", "TCL"), ("32HisenseRokuTV", "Hisense"), ("58OnnRokuTV", "onn."),
                        ("43onnRokuTV", "onn."), ("43tclrokutv", "TCL"), ("65TCLRokuTV-2", "TCL")):
        found, _, rules = classify(LOCAL_MAC, dhcp__hostname=[name])
        assert "dhcp.hostname.roku_tv" in rules, name
        assert found["vendor"] == maker and found["device_type"] == "smart_tv", name
    # with Roku OS's own answers (ECP, server, user agent) the vendor stays Roku's, the kind is the TV's
    found, _, _ = classify("40:8b:f6:00:00:01", **ROKU_OS, dhcp__hostname=["43TCLRokuTV"])  # a TCL block
    assert found["vendor"] == "Roku" and found["device_type"] == "smart_tv"
    # Roku's own players and sticks, and names with no size or no maker, are no Roku TV of another maker
    for name in ("RokuUltra", "RokuStreamingStick", "RokuTV", "32RokuTV", "TCLRokuTV", "Living-Room-TV"):
        _, _, rules = classify(LOCAL_MAC, dhcp__hostname=[name])
        assert "dhcp.hostname.roku_tv" not in rules, name


def test_a_roku_tv_s_maker_is_spelled_one_way_and_its_host_name_outweighs_roku_s_block() -> None:
    # Walmart's onn.: device-info vendor-name 'Onn' ('58OnnRokuTV'), '43onnRokuTV' in router lists (were 'Onn', 'onn')
    makers = {classify(LOCAL_MAC, dhcp__hostname=[name])[0]["vendor"] for name in ("58OnnRokuTV", "43onnRokuTV")}
    assert makers == {"onn."}
    # a Roku TV on Roku's own block of players, answering DIAL as TVs and players do: the TV's name says a TV
    # (was: media_player, the block's kind and DIAL's lean outweighing it)
    dial = {"ssdp__st": ["roku:ecp", "urn:dial-multiscreen-org:service:dial:1"],
            "http__upnp_device_type": ["urn:roku-com:device:player:1-0", "urn:dial-multiscreen-org:device:dial:1"]}
    found, _, rules = classify("b0:a7:37:00:10:01", **dial, dhcp__hostname=["55TCLRokuTV"])
    assert {"mac.vendor.roku", "dhcp.hostname.roku_tv", "ssdp.type.dial_usn", "upnp.type.dial"} <= rules
    assert found["device_type"] == "smart_tv"
    # the same answers with a player's name, or none, stay a media player
    for hostname in (["RokuUltra"], []):
        found, _, _ = classify("b0:a7:37:00:10:01", **dial, dhcp__hostname=hostname)
        assert found["device_type"] == "media_player", hostname


def test_a_pc_running_itunes_is_not_an_apple_media_player() -> None:
    # iTunes advertises the DACP service the Remote app controls, on Windows PCs too
    found, _, rules = classify(LOCAL_MAC, mdns__services=["_touch-able._tcp.local"])
    assert found.get("vendor") != "Apple" and found.get("device_type") != "media_player"
    assert not any(r.startswith(("mdns.service.appletv", "homeassistant.apple_tv")) for r in rules)
    # an Apple TV's own remote-control service still names it
    found, _, _ = classify(LOCAL_MAC, mdns__services=["_mediaremotetv._tcp.local"])
    assert found["vendor"] == "Apple" and found["device_type"] == "media_player"


def test_rokus_cloud_names_the_vendor_and_no_kind() -> None:
    # Roku's sticks and boxes and the Roku TVs TCL, Hisense or Sharp build run one Roku OS and reach the same *.roku.com
    # names: a TV there, with a first screen's DIAL service (a TV's or a player's), is no streaming stick (was: 0.64)
    clouds = {"dns__qname": ["api.roku.com", "scribe.logs.roku.com"],
              "ssdp__st": ["roku:ecp", "urn:dial-multiscreen-org:service:dial:1"]}
    found, _, rules = classify("40:8b:f6:00:00:01", **clouds)  # IEEE MA-L 40:8B:F6 Shenzhen TCL New Technology
    assert {"tls.sni.roku", "ssdp.type.dial_usn"} <= rules
    assert found["vendor"] == "Roku" and found.get("device_type") != "streaming_stick"
    found, _, _ = classify("40:8b:f6:00:00:01", **clouds, http__upnp_model_name=["TCL Roku TV 55S425"])
    assert found["device_type"] == "smart_tv"
    # a player on Roku's own block is a media player (its sticks and boxes share the blocks; was: streaming_stick)
    found, _, _ = classify("b0:a7:37:00:10:01", **clouds)
    assert found["vendor"] == "Roku" and found["device_type"] == "media_player"
