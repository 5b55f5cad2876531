"""A Roku TV by the factory name newer Roku OS gives it (issue #3, rules/dhcp.yaml dhcp.hostname.roku_tv_default_name):
'<maker>•Roku TV - <serial>' (ECP device-info default-device-name), stated as host name and UPnP friendlyName, is a
smart TV of that maker, whether the bullet arrives as UTF-8, mangled, or not at all; Roku's players, renamed devices
and other names are not read so."""

from __future__ import annotations

import pytest

from iotwarden.kb import KnowledgeBase
from tests.inventory.test_classifier_kb_conflicts import LOCAL_MAC, ROKU_OS, classify

RULE = "dhcp.hostname.roku_tv_default_name"
ROKU_BLOCK = "b0:a7:37:00:10:01"  # Roku's own IEEE block, whose rule says media_player

NAMES = [
    ("TCL•Roku TV - X000008YG08J", "TCL"),  # home-assistant/core PR #93140, a TCL 55S20's device-info
    ("Hisense•Roku TV - X01900SGN8UY", "Hisense"),
    ("Sharp•Roku TV - YN00D6808655", "Sharp"),
    ("onn•Roku TV - X029009JC6LF", "onn."),
    ("Onn Roku TV - YN00H5555555", "onn."),  # older: home-assistant/core roku fixture rokutv-device-info.xml
    ("TCLâ€¢Roku TV - X000008YG08J", "TCL"),  # UTF-8 read as cp1252
    ("TCL\\x95Roku TV - X000008YG08J", "TCL"),  # cp1252's bullet byte, escaped by a UTF-8 reading (dissect/dhcp.py)
    ("TCL?Roku TV - X000008YG08J", "TCL"),
    ("TCL\ufffdRoku TV - X000008YG08J", "TCL"),
    ("TCLRokuTV-X000008YG08J", "TCL"),  # spaces and punctuation dropped, as a host name
    ("TCLRokuTVX000008YG08J", "TCL"),
]


@pytest.mark.parametrize(("name", "maker"), NAMES)
@pytest.mark.parametrize("attribute", ["dhcp__hostname", "http__upnp_friendly_name"])
def test_a_roku_tv_s_factory_name_names_the_tv_and_its_maker(name: str, maker: str, attribute: str) -> None:
    found, _, rules = classify(LOCAL_MAC, **{attribute: [name]})
    assert RULE in rules, name
    assert (found["vendor"], found["device_type"]) == (maker, "smart_tv"), name


def test_the_factory_name_outweighs_roku_s_block_of_players_beside_roku_os() -> None:
    found, _, _ = classify(ROKU_BLOCK, **ROKU_OS, dhcp__hostname=["TCL•Roku TV - X000008YG08J"])
    assert found["vendor"] == "Roku" and found["device_type"] == "smart_tv"
    found, _, _ = classify(ROKU_BLOCK, **ROKU_OS)  # without it: the block's player
    assert found["device_type"] == "media_player"


@pytest.mark.parametrize("name", [
    "RokuUltra", "RokuStreamingStick",  # Roku's players
    "TCL Roku TV",  # friendly-model-name alone: no serial, no device name
    "Living Room", "The Hanger",  # a renamed TV's user-device-name
    "43TCLRokuTV",  # the size-first name: dhcp.hostname.roku_tv's, not this rule's
    "TCL•Roku TV - X000008YG08JZ",  # no 12-character serial
])
def test_other_names_are_not_read_as_a_roku_tv_s_factory_name(name: str) -> None:
    kb = KnowledgeBase.load()
    for attribute in ("dhcp.hostname", "http.upnp_friendly_name"):
        assert RULE not in {m.rule_id for m in kb.match(attribute, name)}, (attribute, name)
