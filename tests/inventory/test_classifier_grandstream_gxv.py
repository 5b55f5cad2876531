"""Grandstream's cameras and video phones apart (issue #3, rules/sip.yaml, rules/http.yaml): the GXV36xx and GSC36xx
IP cameras and GXV35xx encoders are cameras by their SIP User-Agent, provisioning User-Agent and web server header,
while the GXV31xx-34xx video phones and the GXP/GRP desk phones stay phones, also on Grandstream's IEEE block (whose
rule leans to a phone)."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

GRANDSTREAM_MAC = "00:0b:82:aa:bb:cc"  # Grandstream's first IEEE block (mac.vendor.grandstream: voip_phone 0.3)

CAMERAS = [
    ("sip__user_agent", "Grandstream GXV3610_HD 1.0.3.11", "GXV3610_HD", "sip.ua.grandstream_camera"),
    ("sip__user_agent", "Grandstream GXV3672_FHD 1.0.3.7", "GXV3672_FHD", "sip.ua.grandstream_camera"),
    ("sip__user_agent", "Grandstream GSC3610 1.0.1.20", "GSC3610", "sip.ua.grandstream_camera"),
    ("sip__server", "Grandstream GXV3500 1.0.4.11", "GXV3500", "sip.ua.grandstream_camera"),  # the encoder
    ("http__user_agent", "Grandstream Model HW GXV3672_FHD SW 1.0.3.7 DevId 000b82aabbcc", "GXV3672_FHD",
     "http.ua.grandstream_camera"),
    ("http__server", "Grandstream GXV3611IR_HD 1.0.3.11", "GXV3611IR_HD", "http.server.grandstream_camera"),
]


@pytest.mark.parametrize(("attribute", "value", "model", "rule"), CAMERAS)
@pytest.mark.parametrize("mac", ["", GRANDSTREAM_MAC])
def test_a_grandstream_camera_is_a_camera(attribute: str, value: str, model: str, rule: str, mac: str) -> None:
    dev = stating(mac, **{attribute: value})
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Grandstream", "camera", model)
    assert rule in rules_for(dev, "device_type")


@pytest.mark.parametrize(("attribute", "value", "model"), [
    ("sip__user_agent", "Grandstream GXV3370 1.0.3.39", "GXV3370"),  # video IP phones
    ("sip__user_agent", "Grandstream GXV3240 1.0.3.72", "GXV3240"),
    ("sip__user_agent", "Grandstream GXP2170 1.0.9.135", "GXP2170"),
    ("http__user_agent", "Grandstream Model HW GXV3480 SW 1.0.1.60 DevId c074ad112233", "GXV3480"),
    ("http__server", "Grandstream GXP2000 1.1.6.16", "GXP2000"),  # nmap's GXP2000 web server
    ("http__server", "Grandstream BT200 1.1.6.16", "BT200"),  # a BudgeTone
])
@pytest.mark.parametrize("mac", ["", GRANDSTREAM_MAC])
def test_grandstream_phones_stay_phones(attribute: str, value: str, model: str, mac: str) -> None:
    found = concluded(stating(mac, **{attribute: value}))
    assert (found["vendor"], found["device_type"], found["model"]) == ("Grandstream", "voip_phone", model)


@pytest.mark.parametrize(("attribute", "value"), [
    ("http__server", "Grandstream/1.10"),  # nmap's generic Grandstream web server: no model
    ("http__server", "Grandstream GXW4008 1.0.1.2"),  # an FXS gateway: no phone, no camera
    ("sip__user_agent", "Grandstream GXV3610_HD"),  # no firmware: not the form the rules read
    ("sip__user_agent", "Hikvision GXV3610 1.0.3.11"),  # another maker's text
])
def test_look_alikes_are_neither_camera_nor_phone(attribute: str, value: str) -> None:
    assert concluded(stating(**{attribute: value})).get("device_type") not in {"camera", "voip_phone"}
