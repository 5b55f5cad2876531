"""The classifier on controllers of other brands' goods (issue #3): a phone, tablet or computer running
brands' apps, a hub or a Home Assistant server running their integrations, reaches the same clouds as
the goods do (rules marked ``behaviour: app_reachable``), and is named after none of those brands.

Blocks: IEEE MA-L 3C:22:FB and F0:18:98 Apple, Inc.; F0:25:B7 Samsung Electro-Mechanics (Samsung's
phones and tablets); B8:27:EB Raspberry Pi Foundation; 24:0A:C4 Espressif Inc.; 8C:8C:AA Intel (a NIC)."""

from __future__ import annotations

import pytest

from iotwarden.inventory.classifier import APP_REACHABLE, MIN_CONTROLLER_BRANDS
from iotwarden.kb.index import KnowledgeBase
from iotwarden.model import Device
from iotwarden.model.device import Conclusion
from tests.inventory.stated import CLASSIFIER, LOCAL_MAC, classify

APPLE = "3c:22:fb:00:00:01"
SAMSUNG = "f0:25:b7:00:00:01"
RASPBERRY_PI = "b8:27:eb:00:00:01"
ESPRESSIF = "24:0a:c4:00:00:01"
ANDROID = {"dhcp__vendor_class": ["android-dhcp-13"]}  # AOSP DhcpClient's vendor class

# a brand's cloud as its app reaches it (the rules' references name the clients that do)
CLOUDS: dict[str, list[str]] = {
    "Meross": ["iot.meross.com"],
    "Tuya": ["a1.tuyaus.com"],
    "Govee": ["app2.govee.com"],
    "Ring": ["api.ring.com"],
    "EZVIZ": ["apiieu.ezvizlife.com"],
    "Ecovacs": ["portal-ww.ecouser.net"],
    "Roborock": ["euiot.roborock.com"],
    "TP-Link": ["wap.tplinkcloud.com"],
}


def names(*brands: str) -> list[str]:
    return [name for brand in brands for name in CLOUDS[brand]]


@pytest.mark.parametrize("mac,maker", [(APPLE, "Apple"), (SAMSUNG, "Samsung")], ids=["apple", "samsung"])
@pytest.mark.parametrize("brand", ["Meross", "Tuya", "EZVIZ"])
def test_a_phone_makers_block_reaching_one_brands_cloud_is_the_phone_makers(mac: str, maker: str, brand: str) -> None:
    # an iPhone or a Galaxy running the brand's app: the block is not an ODM's, so the block's owner stands
    found, _ = classify(mac, dns__qname=CLOUDS[brand], tls__sni=CLOUDS[brand])
    assert found["vendor"] == maker
    assert "category" not in found and "device_type" not in found  # not Tuya's 'iot', not EZVIZ's camera


def test_the_brands_cloud_is_kept_to_explain_the_phone_makers_vendor() -> None:
    dev = Device(key="mac:" + APPLE, first_seen=0.0, last_seen=0.0, mac=APPLE)
    dev.attributes["dns.qname"] = {"iot.meross.com"}
    vendor = CLASSIFIER.classify(dev)["vendor"]
    assert vendor.value == "Apple" and vendor.confidence == pytest.approx(0.5)
    (meross,) = [e for e in vendor.evidence if e["rule_id"] == "brand.cloud.meross"]
    assert meross["agrees"] is False and meross["behaviour"] == APP_REACHABLE


@pytest.mark.parametrize("brand", ["Meross", "Tuya"])
def test_an_android_phone_on_a_private_address_is_named_after_no_brand(brand: str) -> None:
    found, rules = classify(LOCAL_MAC, dns__qname=CLOUDS[brand], **ANDROID)
    assert {"dhcp.vendor_class.android"} <= rules
    assert "vendor" not in found and found["os"] == "Android"
    assert found.get("category") != "iot"


@pytest.mark.parametrize("evidence", [
    {"dhcp__vendor_class": ["MSFT 5.0"]},  # [MS-DHCPE] §1.8: a Windows PC
    {"dhcp__hostname": ["Annas-iPad"]},  # iPadOS names the tablet after its owner
    {"mdns__services": ["_companion-link._tcp.local"]},  # Apple's Continuity service: iPhone, iPad, Mac
], ids=["windows", "ipad", "apple-mdns"])
def test_a_computer_or_tablet_reaching_a_brands_cloud_is_not_that_brand(evidence: dict[str, list[str]]) -> None:
    found, _ = classify(LOCAL_MAC, dns__qname=names("Tuya"), **evidence)
    assert found.get("vendor") != "Tuya" and found.get("category") != "iot"


def test_a_laptop_on_its_nic_makers_block_is_not_named_after_the_cloud() -> None:
    # Intel, a part maker, would yield to a brand's cloud on an IoT product; a Windows PC is a controller
    found, _ = classify("8c:8c:aa:00:00:01", dns__qname=names("Meross"), dhcp__vendor_class=["MSFT 5.0"])
    assert found.get("vendor") != "Meross" and found["os"] == "Windows"


def test_a_phone_reaching_five_brands_clouds_is_none_of_them() -> None:
    five = names("Meross", "Tuya", "Govee", "Ring", "EZVIZ")
    found, _ = classify(LOCAL_MAC, dns__qname=five, tls__sni=five)
    assert "vendor" not in found and "category" not in found and "device_type" not in found
    found, _ = classify(APPLE, dns__qname=five, tls__sni=five)
    assert found == {"vendor": "Apple"}


def test_a_home_assistant_server_reaching_several_clouds_is_none_of_them() -> None:
    # Home Assistant OS on a Raspberry Pi: its meross_lan, tuya, ecovacs, roborock and tplink integrations
    # each keep a session with the brand's cloud; Raspberry Pi OS keeps its clock with Debian's NTP zone
    clouds = names("Meross", "Tuya", "Ecovacs", "Roborock", "TP-Link")
    found, _ = classify(RASPBERRY_PI, dns__qname=[*clouds, "2.debian.pool.ntp.org"], tls__sni=clouds)
    assert found["vendor"] == "Raspberry Pi" and found["os"] == "Linux"
    assert "category" not in found and "device_type" not in found
    found, _ = classify(LOCAL_MAC, dns__qname=clouds)
    assert "vendor" not in found and "category" not in found


def test_the_controller_threshold_counts_unrelated_brands() -> None:
    assert MIN_CONTROLLER_BRANDS == 3
    two = names("Tuya", "Ring")  # a white-label product may reach its platform's cloud and its brand's
    found, _ = classify(LOCAL_MAC, dns__qname=two)
    assert found["category"] == "iot"  # Tuya's cloud still tells an IoT product
    found, _ = classify(LOCAL_MAC, dns__qname=[*two, *CLOUDS["Meross"]])
    assert "category" not in found and "vendor" not in found
    found, _ = classify(ESPRESSIF, dns__qname=[*two, *CLOUDS["Meross"]])
    assert found["vendor"] == "Espressif"  # no brand's cloud is the device's: the registry names the module


def test_brands_of_one_owner_count_as_one() -> None:
    # an Echo Show shows Ring's and Blink's cameras and speaks Alexa: all Amazon's, so no controller
    found, _ = classify(ESPRESSIF, dns__qname=["api.ring.com", "rest-prod.immedia-semi.com", "api.amazonalexa.com"])
    assert found["device_type"] == "camera"  # Blink's cloud's kind still counts


@pytest.mark.parametrize("brand", ["Meross", "Tuya", "EZVIZ"])
def test_an_iot_product_behind_a_module_makers_block_keeps_its_brand(brand: str) -> None:
    found, _ = classify(ESPRESSIF, dns__qname=CLOUDS[brand])
    assert found["vendor"] == brand


def test_app_reachable_rules_are_brand_cloud_names() -> None:
    kb = KnowledgeBase.load()
    marked = [r for r in kb.rules if r.behaviour == APP_REACHABLE]
    assert len(marked) >= 60
    for rule in marked:
        assert set(rule.attributes) <= {"tls.sni", "dns.qname"}, rule.id
        assert {"vendor", "device_type", "category"} & set(rule.conclusions), rule.id
    # an operating system's own services and a device's firmware endpoints are the device's, never an app's
    ids = {r.id for r in marked}
    assert not ids & {"tls.sni.apple_captive", "tls.sni.apple_push", "tls.sni.windows_ncsi", "tls.sni.android_time",
                      "tls.sni.amazon_devices", "tls.sni.spotify_esdk", "tls.sni.aws_iot", "dns.ntp_pool.invoxia"}


# ---- a brand's cloud on its owner's block, and on devices that run apps yet are their maker's goods ----

SMARTTHINGS = ["api.smartthings.com"]
SMARTTHINGS_HUB = "d0:52:a8:00:00:01"  # IEEE MA-L D0:52:A8 Physical Graph Corporation (SmartThings)
GOOGLE = "54:60:09:00:00:01"  # IEEE MA-L 54:60:09 Google, Inc.
NEST_LABS = "18:b4:30:00:00:01"  # IEEE MA-L 18:B4:30 Nest Labs Inc.
AMAZON = "68:db:f5:00:00:01"  # IEEE MA-L 68:DB:F5 Amazon Technologies Inc.
XIAOMI = "a4:45:19:00:00:01"  # IEEE MA-L A4:45:19 Xiaomi Communications Co Ltd
SONY = "54:53:ed:00:00:01"  # IEEE MA-L 54:53:ED Sony Corporation
REALTEK = "00:e0:4c:00:00:01"  # IEEE MA-L 00:E0:4C Realtek Semiconductor (a NIC maker: a part maker)
ANDROID_TV = {"mdns__services": ["_androidtvremote2._tcp.local"], **ANDROID}  # Android TV Remote Service
BRAVIA = {"http__upnp_model_name": ["KD-65AG9"]}  # a BRAVIA model number in the renderer's description


def conclusion(mac: str, prop: str, **attributes: list[str]) -> Conclusion:
    dev = Device(key="mac:" + mac, first_seen=0.0, last_seen=0.0, mac=mac)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(values)
    return CLASSIFIER.classify(dev)[prop]


def test_controller_makers_are_read_from_the_knowledge_base() -> None:
    # makers a rule types a phone, tablet, computer or server of: Apple (iPhone host names), Samsung (Galaxy),
    # Google (Pixel host names)
    makers = CLASSIFIER._controller_makers
    assert {"Apple", "Samsung", "Google"} <= makers
    assert not makers & {"Google Nest", "Amazon", "Netgear", "Samsung SmartThings", "Sony"}


def test_a_phone_makers_block_reaching_its_own_brands_hub_cloud_is_the_maker() -> None:
    # a Galaxy running the SmartThings app: SmartThings is Samsung's, so the cloud names Samsung, and no hub
    found, _ = classify(SAMSUNG, dns__qname=SMARTTHINGS, tls__sni=SMARTTHINGS)
    assert found == {"vendor": "Samsung"}
    vendor = conclusion(SAMSUNG, "vendor", dns__qname=SMARTTHINGS)
    (cloud,) = [e for e in vendor.evidence if e["rule_id"] == "tls.sni.smartthings"]
    assert cloud["concludes"] == "Samsung" and cloud["agrees"] is True
    assert vendor.confidence == pytest.approx(0.7)  # the block (0.5) and the cloud (0.4) agree


def test_the_brands_own_block_and_a_makers_own_cloud_still_name_the_product() -> None:
    found, _ = classify(SMARTTHINGS_HUB, dns__qname=SMARTTHINGS)  # a SmartThings hub on SmartThings' block
    assert found["vendor"] == "Samsung SmartThings" and found["device_type"] == "smart_hub"
    found, _ = classify(SAMSUNG, dns__qname=["xmpp.samsungsmartcam.com"])  # Samsung's own camera cloud
    assert found["vendor"] == "Samsung" and found["device_type"] == "camera"
    found, _ = classify(NEST_LABS, dns__qname=["frontdoor.nest.com"])  # a Nest product on Nest Labs' own block
    assert found["vendor"] == "Google Nest"


def test_an_echo_showing_ring_and_blink_cameras_is_amazons_speaker() -> None:
    # Ring and Blink are Amazon's: on an Echo their clouds name Amazon, not Ring, and Blink's camera kind is not its
    clouds = ["api.ring.com", "rest-prod.immedia-semi.com"]
    vendor = conclusion(AMAZON, "vendor", dns__qname=["avs-alexa-na.amazon.com", *clouds])
    assert vendor.value == "Amazon" and vendor.confidence > 0.9  # was 0.5: Ring and Blink its rivals
    assert {e["concludes"] for e in vendor.evidence if e.get("behaviour") == APP_REACHABLE} == {"Amazon"}
    found, _ = classify(AMAZON, dns__qname=["avs-alexa-na.amazon.com", *clouds])
    assert found["device_type"] == "smart_speaker"


def test_a_smart_display_on_its_makers_block_is_the_maker() -> None:
    # a Nest Hub (Cast, md=Google Nest Hub) showing Nest cameras is Google's (was Google Nest, Nest's cloud's brand)
    cast = {"mdns__services": ["_googlecast._tcp.local"], "mdns__txt": ["md=Google Nest Hub"]}
    vendor = conclusion(GOOGLE, "vendor", dns__qname=["home.nest.com"], **cast)
    assert vendor.value == "Google" and vendor.confidence == pytest.approx(0.7)  # the block and the cloud agree
    (cloud,) = [e for e in vendor.evidence if e["rule_id"] == "tls.sni.nest"]
    assert cloud["concludes"] == "Google" and cloud["agrees"] is True


def test_an_android_tvs_own_makers_cloud_still_names_it() -> None:
    # Android makes a phone or tablet a controller; a TV running it is still its maker's, and Xiaomi's cloud its own
    vendor = conclusion(XIAOMI, "vendor", dns__qname=["ot.io.mi.com"], **ANDROID_TV)
    assert vendor.value == "Xiaomi" and vendor.confidence == pytest.approx(0.75)
    (cloud,) = [e for e in vendor.evidence if e["rule_id"] == "tls.sni.xiaomi_miot"]
    assert cloud["agrees"] is True  # before: yielded to Android, the block alone (0.5)


@pytest.mark.parametrize("android", [False, True], ids=["bravia", "android-tv"])
def test_a_tv_reaching_another_brands_cloud_is_not_that_brand(android: bool) -> None:
    evidence = {**BRAVIA, **(ANDROID if android else {})}
    alone = conclusion(SONY, "vendor", **evidence)
    vendor = conclusion(SONY, "vendor", dns__qname=["api.ring.com", "iot.meross.com"], **evidence)
    assert vendor.value == "Sony" and vendor.confidence == pytest.approx(alone.confidence)  # was 0.75 for 0.9
    assert not [e for e in vendor.evidence if e.get("behaviour") == APP_REACHABLE and e["agrees"]]
    found, _ = classify("a8:23:fe:00:00:01", dhcp__hostname=["LGwebOSTV"], dns__qname=names("Tuya", "Ring"))
    assert found["vendor"] == "LG" and found["device_type"] == "smart_tv"


@pytest.mark.parametrize("brand", ["Meross", "Tuya"])
def test_an_android_tv_behind_a_module_makers_block_is_named_after_no_cloud(brand: str) -> None:
    # no maker of its own to tell its cloud from its apps': Android says it runs apps, so they yield
    found, _ = classify(REALTEK, dns__qname=CLOUDS[brand], **ANDROID_TV)
    assert found["vendor"] == "Realtek" and found["device_type"] == "smart_tv"


# ---- a phone maker's phone reaching a cloud of the same maker's IoT goods (issue #3) ----

SAMSUNG_ELECTRONICS = "00:16:6c:00:00:01"  # IEEE MA-L 00:16:6C Samsung Electronics Co.,Ltd (UNSW's SmartCam shows it)
SAMSUNG_TECHWIN = "00:09:18:00:00:01"  # IEEE MA-L 00:09:18 SAMSUNG TECHWIN CO.,LTD, the SmartCam line's maker
HANWHA_TECHWIN = "e4:30:22:00:00:01"  # IEEE MA-L E4:30:22 Hanwha Techwin Security Vietnam (Techwin since 2015)
SMARTCAM = ["xmpp.samsungsmartcam.com", "www.samsungsmartcam.com"]  # the UNSW SmartCam's MUD names
NEST_CLOUDS = ["home.nest.com", "nexus.dropcam.com"]  # the Nest app's and the Nest cameras' clouds
PIXEL = {"dhcp__hostname": ["Pixel-8-Pro"]}  # AOSP DhcpClient sends the device name, 'Pixel 8 Pro' by default


@pytest.mark.parametrize("mac", [SAMSUNG_ELECTRONICS, SAMSUNG], ids=["electronics", "electro-mechanics"])
@pytest.mark.parametrize("phone,confidence", [({"dhcp__hostname": ["Galaxy-S23"]}, 0.9), (ANDROID, 0.75)],
                         ids=["galaxy", "android"])
def test_a_samsung_phone_running_the_smartcam_app_is_samsungs_and_no_camera(
        mac: str, phone: dict[str, list[str]], confidence: float) -> None:
    # the SmartCam cloud is the app's, and names its maker only: it counts for Samsung (was yielded: 0.8 and 0.5)
    found, _ = classify(mac, dns__qname=SMARTCAM, **phone)
    assert found["vendor"] == "Samsung" and found["os"] == "Android"
    assert found.get("device_type") in (None, "mobile_phone") and found.get("category") != "iot"
    vendor = conclusion(mac, "vendor", dns__qname=SMARTCAM, **phone)
    assert vendor.confidence == pytest.approx(confidence)  # the block (0.5), the phone's evidence, the cloud (0.5)
    clouds = [e for e in vendor.evidence if e["rule_id"] == "tls.sni.samsung_smartcam"]
    assert clouds and all(e["concludes"] == "Samsung" and e["agrees"] for e in clouds)


@pytest.mark.parametrize("mac,maker", [(SAMSUNG_ELECTRONICS, "Samsung"), (SAMSUNG_TECHWIN, "Samsung"),
                                       (HANWHA_TECHWIN, "Hanwha Vision")], ids=["electronics", "techwin", "hanwha"])
def test_a_smartcam_showing_only_its_cloud_stays_a_camera(mac: str, maker: str) -> None:
    # no evidence of its own tells a phone: the maker's own camera cloud counts whole (the UNSW SmartCam row)
    found, _ = classify(mac, dns__qname=SMARTCAM)
    assert found["vendor"] == maker and found["device_type"] == "camera"


@pytest.mark.parametrize("mac", [GOOGLE, LOCAL_MAC], ids=["google-block", "private-address"])
def test_a_pixel_running_the_nest_app_is_googles_phone(mac: str) -> None:
    found, rules = classify(mac, dns__qname=NEST_CLOUDS, **PIXEL)
    assert "dhcp.hostname.pixel" in rules
    assert found["vendor"] == "Google" and found["device_type"] == "mobile_phone" and found["os"] == "Android"
    vendor = conclusion(mac, "vendor", dns__qname=NEST_CLOUDS, **PIXEL)
    assert {e["concludes"] for e in vendor.evidence if e.get("behaviour") == APP_REACHABLE} == {"Google"}


@pytest.mark.parametrize("hostname,kind", [("Pixel-7", "mobile_phone"), ("Pixel-6a", "mobile_phone"),
                                           ("Pixel-9-Pro-Fold", "mobile_phone"), ("Pixel-Fold", "mobile_phone"),
                                           ("Pixel-Tablet", "tablet"), ("Pixelbook", None), ("PixelLab", None)])
def test_pixel_host_names_tell_googles_phones_and_tablet(hostname: str, kind: str | None) -> None:
    found, _ = classify(LOCAL_MAC, dhcp__hostname=[hostname])
    assert found.get("device_type") == kind
    assert found.get("vendor") == ("Google" if kind else None)


def test_a_google_block_reaching_only_nests_clouds_is_googles_and_of_no_nest_kind() -> None:
    # a Pixel sending no host name and a Nest product showing nothing of its own: the cloud names Google, no kind
    found, _ = classify(GOOGLE, dns__qname=NEST_CLOUDS)
    assert found == {"vendor": "Google"}


@pytest.mark.parametrize("mac", [GOOGLE, "d8:eb:46:00:00:01"], ids=["google-block", "nest-on-google-block"])
def test_a_google_block_reaching_only_dropcams_cloud_is_googles_and_no_camera(mac: str) -> None:
    # Nest Cams of later years sit on Google's blocks (D8:EB:46 among the nest integration's dhcp matchers), which hold
    # Pixels and Cast devices too, and the Nest app and Works with Nest clients reach dropcam.com: the block and the
    # cloud alone tell no camera (tls.sni.dropcam's reference has the evidence)
    found, rules = classify(mac, dns__qname=["nexus.dropcam.com"])
    assert "tls.sni.dropcam" in rules
    assert found == {"vendor": "Google"}
    # the Nest Cams known to reach it, on Nest Labs' and Dropcam's blocks (YourThings, CIC IoT 2022, UNSW), stay cameras
    for own in ("18:b4:30:00:30:01", "64:16:66:00:30:01", "30:8c:fb:2f:e4:b2"):
        found, _ = classify(own, dns__qname=["nexus.dropcam.com"])
        assert found["device_type"] == "camera" and found["vendor"] in {"Dropcam", "Google Nest"}, own


@pytest.mark.parametrize("evidence,kind", [
    ({"mdns__services": ["_googlecast._tcp.local"], "mdns__txt": ["md=Google Nest Mini"]}, "smart_speaker"),
    ({"mdns__services": ["_googlecast._tcp.local"], "mdns__txt": ["md=Chromecast"]}, "streaming_stick"),
    ({"mdns__services": ["_psia._tcp.local"]}, "camera"),  # a camera's own PSIA service
], ids=["nest-mini", "chromecast", "camera"])
def test_googles_goods_on_a_google_block_keep_their_own_kind(evidence: dict[str, list[str]], kind: str) -> None:
    found, _ = classify(GOOGLE, dns__qname=NEST_CLOUDS, **evidence)
    assert found["device_type"] == kind and found["vendor"] in {"Google", "Google Nest", "Dropcam"}
