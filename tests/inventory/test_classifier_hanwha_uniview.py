"""Hanwha Vision (Wisenet) and Uniview cameras by what their streams and ONVIF scopes say (issue #3, rules/rtsp.yaml,
rules/wsd.yaml): Hanwha's '/profile<n>/media.smp' stream path names a Hanwha camera (with a channel before it, the
maker only), Hanwha's model numbering in the ONVIF hardware scope a Hanwha camera or recorder, Uniview's
'/unicast/c<ch>/s<n>/live' path a camera, and Uniview only with a second word for the maker (its firmware runs in
OEM products); other makers' paths and models are left to their own rules."""

from __future__ import annotations

import pytest

from iotwarden.kb import KnowledgeBase
from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

UNIVIEW_MAC = "6c:f1:7e:00:00:01"  # Zhejiang Uniview's IEEE block
HANWHA_RULES = {"rtsp.path.hanwha", "rtsp.path.hanwha_channel", "wsd.onvif.hardware.hanwha_camera",
                "wsd.onvif.hardware.hanwha_recorder"}


@pytest.mark.parametrize("path", ["/profile2/media.smp", "/profile1/media.smp", "/onvif/profile2/media.smp"])
def test_hanwha_s_stream_path_names_a_hanwha_camera(path: str) -> None:
    dev = stating(rtsp__path=path)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"]) == ("Hanwha Vision", "camera")
    assert "rtsp.path.hanwha" in rules_for(dev, "vendor")


def test_a_channel_before_the_profile_names_the_maker_only() -> None:
    found = concluded(stating(rtsp__path="/0/onvif/profile2/media.smp"))
    assert found["vendor"] == "Hanwha Vision"
    assert "device_type" not in found  # a recorder's channel or a multi-sensor camera's alike


@pytest.mark.parametrize(("hardware", "kind"), [
    ("XNV-8080R", "camera"), ("QNV-C8011R", "camera"), ("PNM-9000VQ", "camera"), ("XNO-C6083R", "camera"),
    ("SNB-6004", "camera"),  # Samsung Techwin's numbering, kept by Hanwha
    ("XRN-1610", "nvr"), ("QRN-810S", "nvr"), ("HRX-1621", "nvr"),
])
def test_hanwha_s_model_in_the_onvif_hardware_scope(hardware: str, kind: str) -> None:
    dev = stating(wsd__onvif_hardware=hardware)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Hanwha Vision", kind, hardware)


@pytest.mark.parametrize("path", ["/unicast/c1/s0/live", "/unicast/c16/s1/live"])
def test_uniview_s_stream_path_is_a_camera_and_its_block_names_the_maker(path: str) -> None:
    alone = concluded(stating(rtsp__path=path))
    assert alone["device_type"] == "camera"
    assert "vendor" not in alone  # OEM products run Uniview's firmware
    dev = stating(UNIVIEW_MAC, rtsp__path=path)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"]) == ("Uniview", "camera")
    assert "rtsp.path.uniview.vendor" in rules_for(dev, "vendor")


@pytest.mark.parametrize(("attribute", "value"), [
    ("rtsp__path", "/axis-media/media.amp"),  # Axis
    ("rtsp__path", "/Streaming/Channels/101"),  # Hikvision
    ("rtsp__path", "/cam/realmonitor"),  # Dahua
    ("rtsp__path", "/profile2/media.smpx"),
    ("rtsp__path", "/media/video1"),  # a path several makers use: not read
    ("wsd__onvif_hardware", "NDE-5503-AL"),  # a Bosch dome
    ("wsd__onvif_hardware", "XNV8080R"),  # no dash: not Hanwha's form
    ("wsd__onvif_hardware", "NVR301-04-P4"),  # a Uniview recorder: a recorder, no Hanwha
])
def test_look_alikes_name_no_hanwha_or_uniview(attribute: str, value: str) -> None:
    found = concluded(stating(**{attribute: value}))
    assert found.get("vendor") not in {"Hanwha Vision", "Uniview"}
    ids = {m.rule_id for m in KnowledgeBase.load().match(attribute.replace("__", "."), value)}
    assert not ids & (HANWHA_RULES | {"rtsp.path.uniview.type", "rtsp.path.uniview.vendor"})
