"""Registrants named after one company whose business went to another (issue #3, vendor right): each block is named
for the business that holds it (kb/data/vendor_aliases.yaml aliases), a product's evidence naming the company that
took the line over agrees with the block (its ``parents``), and only Siemens AG's own blocks lean OT (rules/mac.yaml).

Blocks as the IEEE registry names them (kb/data/oui/oui.csv.gz): 00:13:A3 'Siemens Home & Office Comm. Devices'
(Dallas: the SpeedStream line of Efficient Networks), 7C:2F:80 'Gigaset Communications GmbH', 70:B3:D5:3FE 'Siemens
Industry Software Inc.', 00:18:65 'Siemens Healthcare Diagnostics Manufacturing Ltd', 88:4B:39 'Siemens AG, Healthcare
Sector', EC:1C:5D 'Siemens AG' (Amberg, the SIMATIC plant), 08:00:06 'SIEMENS AG' (SIMATIC NET devices), 00:01:E3
'Siemens AG' (Bocholt: telephones), 00:1A:E8 'Unify Software and Solutions GmbH & Co. KG', 00:1F:46 'Nortel Networks',
00:90:CF 'NORTEL', 00:50:C2:05C 'Nortel Networks PLC (UK)', 00:90:8E 'Nortel Networks Broadband Access', 00:09:18
'SAMSUNG TECHWIN CO.,LTD', E4:30:22 'Hanwha Techwin Security Vietnam'."""

from __future__ import annotations

import pytest

from iotwarden.model import Device
from iotwarden.model.device import Conclusion
from tests.inventory.stated import CLASSIFIER, classify

SPEEDSTREAM = ["00:0b:23:00:00:01", "00:13:a3:00:00:01", "00:18:d1:00:00:01"]  # Siemens Home & Office, Dallas
GIGASET = "7c:2f:80:00:00:01"
SIEMENS_INDUSTRY_SOFTWARE = "70:b3:d5:3f:e0:01"
SIEMENS_SIMATIC_NET = "08:00:06:93:cf:32"  # ics_iti ChangeIPUsingDCP.pcap's SCALANCE X208
HEALTHINEERS = ["00:18:65:00:00:01", "88:4b:39:00:00:01"]
SIEMENS_AMBERG = "ec:1c:5d:00:00:01"
SIEMENS_AG = "00:01:e3:00:00:01"
UNIFY = "00:1a:e8:00:00:01"
NORTEL = "00:1f:46:00:00:01"
NORTEL_SPELLED_ALONE = ["00:90:cf:00:00:01", "00:50:c2:05:c0:01"]  # 'NORTEL', IAB 'Nortel Networks PLC (UK)'
NORTEL_BROADBAND_ACCESS = "00:90:8e:00:00:01"  # 'Nortel Networks Broadband Access'
SAMSUNG_TECHWIN = "00:09:18:00:00:01"
HANWHA_PATH = ["/profile2/media.smp"]  # rtsp.path.hanwha: a Wisenet camera's stream path


def vendor_evidence(mac: str, **attributes: list[str]) -> Conclusion:
    dev = Device(key=f"mac:{mac}", first_seen=0.0, last_seen=0.0, mac=mac)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(values)
    return CLASSIFIER.classify(dev)["vendor"]


@pytest.mark.parametrize("mac,vendor", [
    (GIGASET, "Gigaset"), *((m, "Siemens Healthineers") for m in HEALTHINEERS),
    *((m, "Efficient Networks") for m in SPEEDSTREAM), (SIEMENS_INDUSTRY_SOFTWARE, "Siemens Industry Software")],
    ids=["gigaset", "healthcare-diagnostics", "healthcare-sector", "speedstream-000b23", "speedstream-0013a3",
         "speedstream-0018d1", "industry-software"])
def test_a_block_of_siemens_past_or_medical_business_is_named_so_and_leans_no_ot(mac: str, vendor: str) -> None:
    found, rules = classify(mac)
    assert found.get("vendor") == vendor and "mac.vendor.siemens" not in rules
    assert found.get("category") != "ot"


def test_the_dallas_blocks_are_siemens_speedstream_line_not_gigasets() -> None:
    names = CLASSIFIER.kb.vendor_names
    assert names.canonical("Siemens Home & Office Comm. Devices") == names.canonical("EFFICIENT NETWORKS, INC.")
    assert names.related("Efficient Networks", "Siemens") and not names.related("Efficient Networks", "Gigaset")


def test_siemens_ags_bocholt_block_of_telephones_is_siemens_and_leans_no_ot() -> None:
    found, rules = classify(SIEMENS_AG)
    assert found.get("vendor") == "Siemens" and "mac.vendor.siemens" not in rules
    assert found.get("category") != "ot"


@pytest.mark.parametrize("mac", [SIEMENS_AMBERG, SIEMENS_SIMATIC_NET], ids=["amberg", "simatic-net-080006"])
def test_a_siemens_ag_industry_block_still_leans_ot(mac: str) -> None:
    _, rules = classify(mac)
    assert "mac.vendor.siemens" in rules


@pytest.mark.parametrize("mac", [UNIFY, SIEMENS_AG], ids=["unify-block", "siemens-ag-block"])
def test_an_openstage_phone_is_unifys_and_its_block_agrees(mac: str) -> None:
    found, _ = classify(mac, dhcp__vendor_class=["OptiIpPhone"])
    assert found["vendor"] == "Unify" and found["device_type"] == "voip_phone"
    vendor = vendor_evidence(mac, dhcp__vendor_class=["OptiIpPhone"])
    assert vendor.evidence and all(e["agrees"] for e in vendor.evidence)


def test_a_nortel_built_avaya_1200_phone_agrees_with_nortels_block() -> None:
    found, _ = classify(NORTEL, dhcp__vendor_class=["Nortel-SIP-Phone-A"])
    assert found["vendor"] == "Avaya" and found["device_type"] == "voip_phone"
    vendor = vendor_evidence(NORTEL, dhcp__vendor_class=["Nortel-SIP-Phone-A"])
    assert len(vendor.evidence) == 2 and all(e["agrees"] for e in vendor.evidence)


@pytest.mark.parametrize("mac", NORTEL_SPELLED_ALONE, ids=["nortel-0090cf", "nortel-plc-uk-iab"])
def test_nortels_other_spellings_are_nortel_networks_and_an_avaya_phone_agrees(mac: str) -> None:
    assert classify(mac)[0].get("vendor") == "Nortel Networks"
    found, _ = classify(mac, dhcp__vendor_class=["Nortel-SIP-Phone-A"])
    assert found["vendor"] == "Avaya"
    vendor = vendor_evidence(mac, dhcp__vendor_class=["Nortel-SIP-Phone-A"])
    assert len(vendor.evidence) == 2 and all(e["agrees"] for e in vendor.evidence)


def test_nortels_carrier_broadband_access_block_is_no_avaya_block() -> None:
    assert classify(NORTEL_BROADBAND_ACCESS)[0].get("vendor") == "Nortel Networks Broadband Access"
    assert not CLASSIFIER.kb.vendor_names.related("Nortel Networks Broadband Access", "Avaya")


def test_a_hanwha_camera_on_samsung_techwins_block_agrees_with_it() -> None:
    found, _ = classify(SAMSUNG_TECHWIN, rtsp__path=HANWHA_PATH)
    assert found["vendor"] == "Hanwha Vision" and found["device_type"] == "camera"
    vendor = vendor_evidence(SAMSUNG_TECHWIN, rtsp__path=HANWHA_PATH)
    assert len(vendor.evidence) == 2 and all(e["agrees"] for e in vendor.evidence)


def test_samsung_techwins_block_alone_names_its_registrant_and_leans_camera() -> None:
    # neither brand alone: its cameras were sold as Samsung's (SmartCam, Samsung Wisenet), then as Hanwha's; the block
    # leans camera as the other camera makers' blocks do (rules/mac.yaml mac.vendor.samsung_techwin)
    found, rules = classify(SAMSUNG_TECHWIN)
    assert (found.get("vendor"), found.get("device_type")) == ("Samsung Techwin", "camera")
    assert "mac.vendor.samsung_techwin" in rules


def test_a_recorder_on_samsung_techwins_block_is_a_recorder_and_samsungs_own_block_no_camera() -> None:
    # the block leans; a product stating a finer kind keeps it (an nvr is a camera in the taxonomy)
    assert classify(SAMSUNG_TECHWIN, rtsp__server=["H264DVR 1.0"])[0].get("device_type") == "nvr"
    # Samsung Electronics' blocks (phones, TVs, appliances) are not Samsung Techwin's
    found, rules = classify("00:12:fb:00:00:01")
    assert found.get("device_type") is None and "mac.vendor.samsung_techwin" not in rules


HONEYWELL_FIRE = "d8:06:d1:00:00:01"  # 'Honeywell Fire System (Shanghai) Co,. Ltd.'
HONEYWELL = "00:80:a7:00:00:01"  # 'Honeywell International Inc'


@pytest.mark.parametrize("mac,vendor_id,brand", [
    (HONEYWELL_FIRE, "34", "Notifier"), (HONEYWELL, "36", "Tridium"), (HONEYWELL, "18", "Alerton"),
    (HONEYWELL, "91", "Trend Control Systems"), (HONEYWELL, "328", "Xtralis")])
def test_a_honeywell_brands_bacnet_id_agrees_with_honeywells_block(mac: str, vendor_id: str, brand: str) -> None:
    """Notifier's fire panel gateways (e7c0923 types them by BACnet id 34), Tridium's JACEs, Alerton's and Trend's
    controllers and Xtralis' detectors are Honeywell's brands: on a Honeywell block the two names agree."""
    vendor = vendor_evidence(mac, bacnet__vendor_id=[vendor_id])
    assert vendor.value == brand
    assert len(vendor.evidence) == 2 and all(e["agrees"] for e in vendor.evidence)
