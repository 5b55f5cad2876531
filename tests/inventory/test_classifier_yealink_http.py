"""Yealink by its HTTP provisioning User-Agent (issue #3, rules/http.yaml) reads devices as its SIP rules do
(rules/sip.yaml, rules/enterprise.yaml): a VC<nnn> room system is video conferencing, not a desk phone, and the
VCDesktop PC soft client is neither; the desk and DECT phones stay phones."""

from __future__ import annotations

import pytest

from iotwarden.kb import KnowledgeBase
from tests.inventory.test_classifier_enterprise import concluded, stating

YEALINK_MAC = "80:5e:c0:00:00:01"  # an IEEE block of Yealink's, whose rule leans to a phone


@pytest.mark.parametrize(("ua", "model"), [
    ("Yealink VC800 63.345.0.40 80:5e:c0:00:00:01", "VC800"),
    ("Yealink VC400 30.10.0.27", "VC400"),
    ("Yealink VC880", "VC880"),
])
@pytest.mark.parametrize("mac", ["", YEALINK_MAC])
def test_a_vc_room_system_is_video_conferencing_over_http(ua: str, model: str, mac: str) -> None:
    kb = KnowledgeBase.load()
    assert [m.rule_id for m in kb.match("http.user_agent", ua)] == ["http.ua.yealink_vc"]
    found = concluded(stating(mac, http__user_agent=ua))
    assert (found["vendor"], found["device_type"], found["model"]) == ("Yealink", "video_conferencing", model)


@pytest.mark.parametrize("ua", ["Yealink VCDesktop 1.28.0.11", "Yealink VCDesktop 1.23.0.47"])
def test_no_http_rule_reads_yealink_s_soft_client(ua: str) -> None:
    assert KnowledgeBase.load().match("http.user_agent", ua) == []
    found = concluded(stating(http__user_agent=ua))
    assert "device_type" not in found and "model" not in found and "vendor" not in found, found


@pytest.mark.parametrize(("ua", "model"), [
    ("Yealink SIP-T46S 66.86.0.15 80:5e:c0:00:00:01", "T46S"),  # Yealink auto-provisioning guide
    ("Yealink SIP-T21P_E2 52.83.0.35", "T21P_E2"),
    ("Yealink W60B 77.83.0.85", "W60B"),
])
def test_yealink_phones_stay_phones_over_http(ua: str, model: str) -> None:
    kb = KnowledgeBase.load()
    assert [m.rule_id for m in kb.match("http.user_agent", ua)] == ["http.ua.yealink"]
    found = concluded(stating(YEALINK_MAC, http__user_agent=ua))
    assert (found["vendor"], found["device_type"], found["model"]) == ("Yealink", "voip_phone", model)


# Yealink's desktop programs name themselves 'Yealink <app>' with their version: PC programs (USB Connect manages
# Yealink headsets and USB cameras, Meeting and RoomConnect are meeting clients), no phone and not the PC's maker
YEALINK_APP_UAS = ["Yealink USB Connect 4.36.13.0", "Yealink Meeting 3.5.0.12", "Yealink RoomConnect 1.0.2.8",
                   "Yealink MVC800 2.1.0.5"]


@pytest.mark.parametrize("ua", YEALINK_APP_UAS)
def test_yealink_s_desktop_apps_type_no_phone(ua: str) -> None:
    assert KnowledgeBase.load().match("http.user_agent", ua) == []
    found = concluded(stating(http__user_agent=ua))
    assert "device_type" not in found and "model" not in found and "vendor" not in found, found


@pytest.mark.parametrize("ua", ["Yealink Meeting 3.5.0.12", "Yealink RoomConnect 1.0.2.8"])
def test_yealink_s_desktop_apps_are_no_phone_over_sip_either(ua: str) -> None:
    assert KnowledgeBase.load().match("sip.user_agent", ua) == []


@pytest.mark.parametrize(("ua", "model"), [
    ("Yealink W60B", "W60B"),  # the DECT base's model alone
    ("Yealink CP960 73.86.0.5", "CP960"),
    ("Yealink MP58 122.15.0.46", "MP58"),
    ("yealink SIP-T18 18.0.0.80 00:15:65:27:3e:05", "T18"),
])
def test_the_phone_firmware_s_forms_still_name_the_phone(ua: str, model: str) -> None:
    assert [m.rule_id for m in KnowledgeBase.load().match("http.user_agent", ua)] == ["http.ua.yealink"]
    found = concluded(stating(http__user_agent=ua))
    assert (found["vendor"], found["device_type"], found["model"]) == ("Yealink", "voip_phone", model)
