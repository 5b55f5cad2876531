"""DIAL (DIscovery And Launch, dial-multiscreen.org) through the knowledge base: its first screens are TVs, set-top
boxes, Blu-ray players and consoles (smart_tv, media_player, game_console: none a kind of another in the taxonomy),
so however a device says it serves DIAL (SSDP NOTIFY NT, a search answer's ST or USN, its UPnP description) the three
rules conclude one thing alike: the category, never a kind."""

from __future__ import annotations

from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device

CLASSIFIER = Classifier()
DIAL_RULES = {"ssdp.type.dial", "ssdp.type.dial_usn", "upnp.type.dial"}
# every way a DIAL server states it (DIAL 2nd Screen Protocol 2.2.1: NOTIFY NT, M-SEARCH response ST and USN,
# the device description's deviceType)
DIAL = {"ssdp.nt": {"urn:dial-multiscreen-org:service:dial:1"},
        "ssdp.st": {"urn:dial-multiscreen-org:service:dial:1"},
        "ssdp.usn": {"uuid:5e3b7f2a-0000-1000-8000-00000000aa01::urn:dial-multiscreen-org:service:dial:1"},
        "http.upnp_device_type": {"urn:dial-multiscreen-org:device:dial:1"}}


def device(attributes: dict[str, set[str]], mac: str = "02:00:00:00:20:01") -> Device:
    dev = Device(key=f"mac:{mac}", first_seen=0.0, last_seen=0.0, mac=mac)
    dev.attributes.update(attributes)
    return dev


def test_the_three_dial_rules_conclude_the_same_category_and_no_kind() -> None:
    matches = [m for m in CLASSIFIER.matches(device(DIAL)) if m.rule_id in DIAL_RULES]
    assert {m.rule_id for m in matches} == DIAL_RULES
    assert {tuple(sorted(m.conclusions.items())) for m in matches} == {(("category", "iot"),)}
    assert {m.weight for m in matches} == {0.4}


def test_each_way_of_stating_dial_alone_names_no_kind_and_all_together_the_category() -> None:
    for name, values in DIAL.items():
        assert "device_type" not in CLASSIFIER.classify(device({name: values})), name  # a lean under the threshold
    found = CLASSIFIER.classify(device(DIAL))
    assert "device_type" not in found and found["category"].value == "iot"
    assert {e["rule_id"] for e in found["category"].evidence if e["agrees"]} == DIAL_RULES


def test_dial_leans_toward_no_kind_beside_a_tv_s_or_a_player_s_own_evidence() -> None:
    # an LG webOS TV announcing DIAL (was: DIAL's NOTIFY leaning smart_tv and its answers media_player, at once)
    found = CLASSIFIER.classify(device({**DIAL, "ssdp.server": {"WebOS/4.1.0 UPnP/1.0 webOSTV/1.0"}}))
    assert found["device_type"].value == "smart_tv"
    assert not {e["rule_id"] for e in found["device_type"].evidence} & DIAL_RULES
    # a Roku player on Roku's block stays a media player by its own evidence
    found = CLASSIFIER.classify(device({**DIAL, "ssdp.st": {"roku:ecp", *DIAL["ssdp.st"]}}, "b0:a7:37:00:10:01"))
    assert found["device_type"].value == "media_player"
    assert not {e["rule_id"] for e in found["device_type"].evidence} & DIAL_RULES
