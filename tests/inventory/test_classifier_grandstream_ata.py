"""Grandstream's HandyTone analogue telephone adapters (HT801, HT802, HT812, HT814, HT818) fetch their provisioning
with the User-Agent its phones use ('Grandstream Model HW <model> ...', rules/http.yaml): an HT model is typed
voip_gateway (the taxonomy's analogue telephone adapter, rule http.ua.grandstream_ata), the phones still voip_phone
(http.ua.grandstream)."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

GRANDSTREAM_MAC = "c0:74:ad:27:3a:10"  # Grandstream's IEEE block, as the adapter's DevId c074ad273a10 names it


@pytest.mark.parametrize(("user_agent", "model"), [
    ("Grandstream Model HW HT801 V1.1A SW 1.0.17.5 DevId c074ad273a10", "HT801"),  # wazo-provd-plugins' example
    ("Grandstream Model HW HT802 V2.0A SW 1.0.43.11 DevId c074ad112233", "HT802"),
    ("Grandstream Model HW HT812 SW 1.0.29.8 DevId c074ad445566", "HT812"),
    ("Grandstream Model HW HT814 V1.2A SW 1.0.29.8 DevId c074ad778899", "HT814"),
    ("Grandstream Model HW HT818 SW 1.0.51.5 DevId ec74d7aabbcc", "HT818"),
])
def test_an_ht_adapter_is_a_voip_gateway_by_its_provisioning_user_agent(user_agent: str, model: str) -> None:
    for dev in (stating(http__user_agent=user_agent), stating(GRANDSTREAM_MAC, http__user_agent=user_agent)):
        found = concluded(dev)
        assert (found["vendor"], found["device_type"], found["model"]) == ("Grandstream", "voip_gateway", model)
        assert "http.ua.grandstream_ata" in rules_for(dev, "device_type")
        assert "http.ua.grandstream" not in rules_for(dev, "model")


@pytest.mark.parametrize(("user_agent", "model"), [
    ("Grandstream Model HW GXP2170 SW 1.0.9.135 DevId 000b82aabbcc", "GXP2170"),
    ("Grandstream Model HW GRP2614 SW 1.0.5.15 DevId c074ad0b63ee", "GRP2614"),
])
def test_the_phones_are_still_voip_phones(user_agent: str, model: str) -> None:
    dev = stating(http__user_agent=user_agent)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Grandstream", "voip_phone", model)
    assert "http.ua.grandstream" in rules_for(dev, "device_type")


@pytest.mark.parametrize(("user_agent", "model"), [
    # wazo-provd-plugins' wazo-grandstream 1.0.9.4 provisions the GXW42XX through this User-Agent
    ("Grandstream Model HW GXW4216 V1.0A SW 1.0.9.4 DevId 000b82aabbcc", "GXW4216"),
    ("Grandstream Model HW GXW4248 SW 1.0.9.4 DevId 000b82ddeeff", "GXW4248"),
    ("Grandstream Model HW GXW4104 SW 1.4.1.5 DevId 000b82112233", "GXW4104"),  # an FXO gateway
])
def test_a_gxw_gateway_is_a_voip_gateway_not_a_phone(user_agent: str, model: str) -> None:
    # review R2 of 9faf54b: the phones' rule took every model but HT, and typed the gateways voip_phone
    for dev in (stating(http__user_agent=user_agent), stating(GRANDSTREAM_MAC, http__user_agent=user_agent)):
        found = concluded(dev)
        assert (found["vendor"], found["device_type"], found["model"]) == ("Grandstream", "voip_gateway", model)
        assert "http.ua.grandstream_gateway" in rules_for(dev, "device_type")
        assert "http.ua.grandstream" not in rules_for(dev, "model")
