"""Grandstream's provisioning User-Agent and DHCP option 60 type a phone only from a phone family's model (review R3
of 32ed353 and dhcp.vendor_class.grandstream, issue #3): the firmware writes 'Grandstream Model HW <model> ...' and
'Grandstream <model> dslforum.org' from every product, so a GVC room system, a GDS door system, a GSC35xx intercom,
a UCM PBX or a camera's option 60 names the maker and model and no phone, and an HT ATA's option 60 a voip_gateway
(DentonGentry/gfiber-platform cmds/test-dhcpvendortax.sh: 'Grandstream HT702 dslforum.org' a VoIP adapter)."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

GRANDSTREAM_MAC = "00:0b:82:00:00:01"  # Grandstream's IEEE block (its rule leans to a phone, 0.3)


def _agent(model: str) -> str:
    return f"Grandstream Model HW {model} SW 1.0.3.80 DevId 000b82aabbcc"


@pytest.mark.parametrize("model", ["GVC3210", "GVC3220", "GDS3710", "GSC3510", "GSC3570", "UCM6202"])
def test_a_grandstream_product_of_no_phone_family_names_its_maker_and_model_and_no_phone(model: str) -> None:
    dev = stating(http__user_agent=_agent(model))
    found = concluded(dev)
    assert (found.get("vendor"), found.get("model")) == ("Grandstream", model)
    assert found.get("device_type") != "voip_phone", model
    assert "http.ua.grandstream_device" in rules_for(dev, "vendor")


@pytest.mark.parametrize("model", ["GXP2170", "GRP2614", "GXV3480", "WP820", "DP750", "GHP621W", "GAC2500"])
def test_a_grandstream_phone_family_s_user_agent_is_still_a_phone(model: str) -> None:
    dev = stating(http__user_agent=_agent(model))
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Grandstream", "voip_phone", model)
    assert "http.ua.grandstream" in rules_for(dev, "device_type")


@pytest.mark.parametrize(("value", "kind", "model", "rule"), [
    ("Grandstream GXP1405 dslforum.org", "voip_phone", "GXP1405", "dhcp.vendor_class.grandstream_phone"),
    ("Grandstream GRP2614 dslforum.org", "voip_phone", "GRP2614", "dhcp.vendor_class.grandstream_phone"),
    ("Grandstream HT702 dslforum.org", "voip_gateway", "HT702", "dhcp.vendor_class.grandstream_gateway"),
    ("Grandstream HT801 dslforum.org", "voip_gateway", "HT801", "dhcp.vendor_class.grandstream_gateway"),
    ("Grandstream GXW4216 dslforum.org", "voip_gateway", "GXW4216", "dhcp.vendor_class.grandstream_gateway"),
])
def test_grandstream_s_option_60_types_by_the_model_s_family(value: str, kind: str, model: str, rule: str) -> None:
    for dev in (stating(dhcp__vendor_class=value), stating(GRANDSTREAM_MAC, dhcp__vendor_class=value)):
        found = concluded(dev)
        assert (found["vendor"], found["device_type"], found["model"]) == ("Grandstream", kind, model), value
        assert rule in rules_for(dev, "device_type")


@pytest.mark.parametrize("value", [
    "Grandstream GVC3210 dslforum.org",  # video conferencing
    "Grandstream GXV3610_HD dslforum.org",  # a camera
    "Grandstream GDS3710 dslforum.org",  # a door system
    "Grandstream",
])
def test_grandstream_s_option_60_of_no_phone_family_names_the_maker_only(value: str) -> None:
    found = concluded(stating(dhcp__vendor_class=value))
    assert found["vendor"] == "Grandstream"
    assert "device_type" not in found, value


# ---- the block: a lean, not a phone (brief B 4) -------------------------------------------------------------------

def test_grandstreams_block_alone_names_the_maker_and_no_kind() -> None:
    # its blocks hold cameras, ATAs, access points, door systems and PBXs as well as phones
    found = concluded(stating(GRANDSTREAM_MAC))
    assert found["vendor"] == "Grandstream" and "device_type" not in found


def test_a_grandstream_access_point_saying_so_weakly_is_no_phone() -> None:
    # a GWN access point's LLDP capability (0.45, no more than a lean) against the block's phone lean
    found = concluded(stating(GRANDSTREAM_MAC, lldp__enabled_capabilities="wlan_access_point"))
    assert found.get("device_type") != "voip_phone"


def test_a_phones_own_weak_channel_on_grandstreams_block_is_a_phone() -> None:
    # LLDP-MED's telephone capability (0.6) decides by itself, the block agrees
    dev = stating(GRANDSTREAM_MAC, lldp__enabled_capabilities="telephone")
    assert concluded(dev)["device_type"] == "voip_phone"
    assert {"lldp.cap.telephone", "mac.vendor.grandstream"} <= rules_for(dev, "device_type")


def test_a_single_phone_maker_s_block_still_types_a_phone() -> None:
    assert concluded(stating("80:5e:c0:00:00:01"))["device_type"] == "voip_phone"  # Yealink's block (0.7)
