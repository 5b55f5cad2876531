"""Meeting-room video systems beyond Cisco's by their SIP User-Agent (issue #3, rules/enterprise.yaml): Yealink's VC
room systems, which speak as Yealink's desk phones do but with a VC model, and Polycom's HDX and RealPresence
Group systems with their model and software; and the phones and soft clients each rule must leave alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating
from tests.inventory.test_classifier_sip import _register
from tests.risk.harness import T0, classified_by_ip, host, write_pcap

YEALINK_MAC = "80:5e:c0:00:00:01"  # an IEEE block of Yealink's, whose rule leans to a phone


@pytest.mark.parametrize(("ua", "model", "firmware"), [
    ("Yealink VC800 63.345.0.40", "VC800", "63.345.0.40"),  # Greenbone's Yealink SIP detection
    ("Yealink VC400 30.10.0.27", "VC400", "30.10.0.27"),
])
def test_a_yealink_vc_room_system_is_video_conferencing(ua: str, model: str, firmware: str) -> None:
    for dev in (stating(sip__user_agent=ua), stating(YEALINK_MAC, sip__user_agent=ua)):
        found = concluded(dev)
        assert (found["vendor"], found["device_type"], found["model"], found["firmware"]) == (
            "Yealink", "video_conferencing", model, firmware)
        assert "sip.ua.yealink_vc" in rules_for(dev, "device_type")
        assert "sip.ua.yealink" not in rules_for(dev, "vendor")  # the phone reading leaves a VC model alone


@pytest.mark.parametrize(("ua", "model"), [
    ("Yealink SIP-T46S 66.86.0.15", "T46S"),
    ("Yealink SIP-T21P_E2 52.83.0.35", "T21P_E2"),
    ("Yealink W60B 77.83.0.85", "W60B"),  # the DECT base
])
def test_a_yealink_desk_phone_stays_a_phone(ua: str, model: str) -> None:
    found = concluded(stating(YEALINK_MAC, sip__user_agent=ua))
    assert (found["vendor"], found["device_type"], found["model"]) == ("Yealink", "voip_phone", model)


def test_yealink_s_pc_soft_client_is_no_room_system() -> None:
    # 'Yealink VCDesktop' names no VC model: a PC's soft client
    assert concluded(stating(sip__user_agent="Yealink VCDesktop 1.28.0.11")).get("device_type") != "video_conferencing"


@pytest.mark.parametrize(("ua", "model", "firmware"), [
    ("Polycom HDX 9006 (Release - 3.0.6-37004)", "HDX 9006", "3.0.6-37004"),
    ("PolycomHDX4000/3.1.0", "HDX 4000", "3.1.0"),
    ("PolycomHDX8000HD/3.1.7", "HDX 8000", "3.1.7"),
    ("PolycomRealPresenceGroup700/6.2.0", "RealPresence Group 700", "6.2.0"),
])
def test_a_polycom_room_system_states_its_model(ua: str, model: str, firmware: str) -> None:
    found = concluded(stating(sip__user_agent=ua))
    assert (found["vendor"], found["device_type"], found["model"], found["firmware"]) == (
        "Polycom", "video_conferencing", model, firmware)


@pytest.mark.parametrize("ua", [
    "PolycomVVX-VVX_410-UA/5.9.0.9373", "PolycomRealPresenceTrio-Trio_8800-UA/5.4.0.12197",
])
def test_polycom_phones_stay_phones(ua: str) -> None:
    assert concluded(stating(sip__user_agent=ua))["device_type"] == "voip_phone"


def test_a_registering_yealink_vc_end_to_end(tmp_path: Path) -> None:
    room, pbx = host(32), host(2)
    frames = _register(room, pbx, "Yealink VC800 63.345.0.40", t=T0)
    dev = classified_by_ip(write_pcap(tmp_path / "vc.pcap", frames))[room.ip]
    assert (dev.vendor, dev.device_type, dev.conclusion("model")) == ("Yealink", "video_conferencing", "VC800")
