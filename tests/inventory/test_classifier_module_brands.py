"""The classifier on brands whose goods carry their Wi-Fi module maker's block (issue #3,
kb/data/rules/module_brands.yaml): the registry names Espressif or Tuya, the brand comes from its own cloud
or LAN service, and since each brand sells several kinds, a cloud name says no kind.

Evidence as the integration code that talks to each cloud connects to it: krahabb/meross_lan (Meross),
wez/govee2mqtt (Govee), python-eufy-security (Eufy), wpietri/sucks and Bumper (Ecovacs), AlexxIT/SonoffLAN
(eWeLink), python-roborock (Roborock), ioBroker.dreame (Dreame), the SwitchBot API docs (SwitchBot)."""

from __future__ import annotations

import pytest

from tests.inventory.stated import classify

ESPRESSIF = "24:0a:c4:00:00:01"  # IEEE MA-L 24:0A:C4, Espressif Inc.
TUYA = "d8:1f:12:00:00:01"  # IEEE MA-L D8:1F:12, Tuya Smart Inc.
APPLE = "f0:18:98:00:00:01"  # IEEE MA-L F0:18:98, Apple, Inc.

# brand -> (the rule, the evidence a device of the brand shows)
BRANDS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "Meross": ("brand.cloud.meross", {"dns__qname": ["iotx-eu.meross.com"]}),
    "Govee": ("brand.cloud.govee", {"tls__sni": ["app2.govee.com"]}),
    "Eufy": ("brand.cloud.eufy", {"dns__qname": ["security-app.eufylife.com"]}),
    "Ecovacs": ("brand.cloud.ecovacs", {"dns__qname": ["lbo.ecovacs.net", "msg-ww.ecouser.net"]}),
    "Sonoff": ("brand.cloud.ewelink", {"tls__sni": ["eu-dispa.coolkit.cc"]}),
    "Roborock": ("brand.cloud.roborock", {"dns__qname": ["euiot.roborock.com", "mqtt-eu-3.roborock.com"]}),
    "Dreame": ("brand.cloud.dreame", {"dns__qname": ["10000.mt.eu.iot.dreame.tech"]}),
    "SwitchBot": ("brand.cloud.switchbot", {"dns__qname": ["api.switch-bot.com"]}),
    "Aqara": ("brand.cloud.aqara", {"dns__qname": ["open-ger.aqara.com"]}),
    "TP-Link": ("brand.cloud.tapo", {"dns__qname": ["security.iot.i.tplinknbu.com"]}),  # a Tapo camera's
}


@pytest.mark.parametrize("mac", [ESPRESSIF, TUYA], ids=["espressif", "tuya"])
@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_the_brands_cloud_names_it_behind_a_module_makers_block(brand: str, mac: str) -> None:
    rule, evidence = BRANDS[brand]
    found, rules = classify(mac, **evidence)
    assert rule in rules
    assert found["vendor"] == brand  # the module maker's registry entry yields to the brand
    assert found.get("device_type") in (None, "iot_module")  # the module's, never a product kind


@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_a_brands_cloud_name_alone_says_no_kind_and_no_category(brand: str) -> None:
    # each of these brands sells plugs, lamps, cameras, robots or sensors through the one cloud
    found, _ = classify(**BRANDS[brand][1])
    assert found == {"vendor": brand}


def test_a_sonoff_in_lan_mode_is_named_by_its_ewelink_service() -> None:
    found, rules = classify(ESPRESSIF, mdns__services=["_ewelink._tcp.local"],
                            mdns__instances=["eWeLink_1000abcdef._ewelink._tcp.local"])
    assert {"brand.mdns.ewelink", "mdns.service.ewelink"} <= rules
    assert found["vendor"] == "Sonoff"


def test_the_module_makers_block_alone_still_names_the_module_maker() -> None:
    found, rules = classify(ESPRESSIF)
    assert not {r for r in rules if r.startswith("brand.")}
    assert found["vendor"] == "Espressif" and found["device_type"] == "iot_module"


@pytest.mark.parametrize("name", [
    "fakemeross.com", "meross.com.example.net", "govee.com.cn.example.org", "coolkit.cc.example.org", "ecouser.com",
    "www.ecovacs.com",  # the shop and support site, which any browser reaches: not the robots' hosts
    "roborock.co", "dreame.technology", "switchbot.com", "aqara.com.example.net", "tplinknbu.com.example.net",
])
def test_names_that_only_look_like_a_brands_cloud_say_nothing(name: str) -> None:
    found, rules = classify(dns__qname=[name], tls__sni=[name])
    assert not {r for r in rules if r.startswith("brand.")}
    assert "vendor" not in found


@pytest.mark.parametrize("brand", sorted(BRANDS))
def test_a_phone_running_the_brands_app_stays_the_phone(brand: str) -> None:
    # the app reaches the same cloud; the phone's own statement of its maker and model outweighs it
    found, _ = classify(APPLE, mdns__services=["_companion-link._tcp.local"], mdns__txt=["model=iPhone14,2"],
                        **BRANDS[brand][1])
    assert found["vendor"] == "Apple" and found["model"] == "iPhone14,2"
    assert "category" not in found and "device_type" not in found


@pytest.mark.parametrize(("mac", "vendor"), [
    ("34:ea:34:00:00:01", "Broadlink"),  # HangZhou Gubei Electronics Technology, Broadlink's former name
    ("c8:f7:42:00:00:01", "Broadlink"),
    ("24:df:a7:00:00:01", "Broadlink"),  # Hangzhou BroadLink Technology
    ("b0:4a:39:00:00:01", "Roborock"),  # Beijing Roborock Technology
    ("48:e1:e9:00:00:01", "Meross"),  # Chengdu Meross Technology
    ("70:c9:32:00:00:01", "Dreame"),  # Dreame Technology (Suzhou)
    ("d4:ad:fc:00:00:01", "Govee"),  # Shenzhen Intellirocks Tech, Govee's FCC grantee
    ("54:ef:44:00:00:01", "Aqara"),  # Lumi United Technology
])
def test_a_brands_own_block_names_the_brand_as_its_cloud_does(mac: str, vendor: str) -> None:
    found, _ = classify(mac)
    assert found["vendor"] == vendor
    for brand, (_, evidence) in BRANDS.items():  # and agrees with the cloud: one name, no conflict
        if brand == vendor:
            both, _ = classify(mac, **evidence)
            assert both["vendor"] == vendor


# Shelly device ids (host name and default MQTT client id) as openHAB's Shelly binding reads them
@pytest.mark.parametrize(("device_id", "kind"), [
    ("shellyplusplugs-246f28905501", "smart_plug"), ("shellyplug-s-7C87CE", "smart_plug"),
    ("shelly1pm-B929CC", "smart_plug"), ("shellyplus1pm-441793d69718", "smart_plug"),
    ("shellypro4pm-a8032ab12345", "smart_plug"), ("shelly1pmminig3-a8032ab12345", "smart_plug"),
    ("shellyht-ABC123", "sensor"), ("shellyplusht-a8032ab12345", "sensor"), ("shellydw2-ABC123", "sensor"),
    ("shellyflood-ABC123", "sensor"), ("shellymotionsensor-ABC123DEF456", "sensor"),
    ("shellyem-ABC123", "energy_meter"), ("shellyem3-483FDAC37E3F", "energy_meter"),
    ("shellypro3em-a8032ab12345", "energy_meter"),
    ("shellybulbduo-ABC123", "smart_bulb"), ("shellyrgbw2-ABC123", "smart_bulb"),
    ("shellytrv-60A423ABCDEF", "thermostat"),
])
@pytest.mark.parametrize("attribute", ["dhcp__hostname", "mqtt__client_id"])
def test_a_shellys_device_id_names_its_kind_by_its_model(device_id: str, kind: str, attribute: str) -> None:
    found, rules = classify(ESPRESSIF, **{attribute: [device_id]})
    assert found["vendor"] == "Shelly" and found["device_type"] == kind
    assert any(r.startswith("brand.shelly.") for r in rules)


@pytest.mark.parametrize("device_id", [
    "shellyswitch25-ABC123", "shellyplus2pm-a8032ab12345",  # relays or roller-shutter controllers, by their mode
    "shellydimmer2-ABC123", "shellyix3-ABC123", "shellyplusi4-a8032ab12345", "shellybutton1-ABC123",
])
def test_a_shelly_of_no_one_kind_is_shelly_and_no_product_kind(device_id: str) -> None:
    found, rules = classify(ESPRESSIF, dhcp__hostname=[device_id])
    assert found["vendor"] == "Shelly" and found.get("device_type") in (None, "iot_module")
    assert not any(r.startswith("brand.shelly.") for r in rules)


def test_shellys_cloud_names_shelly_and_no_kind() -> None:
    # every Shelly kind reaches shelly-<n>-<region>.shelly.cloud: a sensor is not a plug
    found, rules = classify(tls__sni=["shelly-49-eu.shelly.cloud"])
    assert "tls.sni.shelly" in rules and found == {"vendor": "Shelly"}
    found, _ = classify(ESPRESSIF, dhcp__hostname=["shellyht-ABC123"], tls__sni=["shelly-49-eu.shelly.cloud"])
    assert found["device_type"] == "sensor"


# Brands of tls.yaml whose cloud names weighed 0.4: behind a module maker's block the vendor stayed unknown
@pytest.mark.parametrize(("brand", "rule", "name"), [
    ("Ring", "tls.sni.ring", "fw.ring.com"), ("Arlo", "tls.sni.arlo", "arlo.arlo.com"),
    ("Wyze", "tls.sni.wyze", "api.wyzecam.com"), ("TP-Link", "tls.sni.tplink_cloud", "n-devs.tplinkcloud.com"),
    ("EZVIZ", "tls.sni.ezviz", "apiieu.ezvizlife.com"),
    ("Dahua", "tls.sni.dahua", "www.easy4ipcloud.com"),  # an Imou camera: Dahua's P2P cloud, Imou Dahua's brand
])
def test_a_multi_kind_brands_cloud_names_it_behind_a_module_makers_block_and_no_kind(brand: str, rule: str,
                                                                                     name: str) -> None:
    found, rules = classify(ESPRESSIF, dns__qname=[name])
    assert rule in rules and found["vendor"] == brand
    assert found.get("device_type") in (None, "iot_module")
    alone, _ = classify(dns__qname=[name])
    assert alone == {"vendor": brand}  # the Arlo and EZVIZ camera leans (0.4) conclude nothing alone


def test_arlos_camera_lean_joins_other_camera_evidence() -> None:
    found, rules = classify("fc:9c:98:00:00:01", dns__qname=["arlo.arlo.com"])  # Arlo's own block (IEEE FC:9C:98)
    assert {"tls.sni.arlo", "tls.sni.arlo_camera"} <= rules
    assert found["vendor"] == "Arlo" and found["device_type"] == "camera"


def test_an_aqara_device_is_named_by_its_pairing_service() -> None:
    found, rules = classify(ESPRESSIF, mdns__services=["_aqara._tcp.local"])
    assert "brand.mdns.aqara" in rules and found["vendor"] == "Aqara"


def test_a_xiaomi_branded_device_on_lumis_block_stays_xiaomi() -> None:
    # Lumi builds Xiaomi's Mi Home gateways too: the product's own evidence outweighs the block
    found, _ = classify("54:ef:44:00:00:01", mdns__instances=["lumi-gateway-v3_miio61234567._miio._udp.local"],
                        dns__qname=["ot.io.mi.com"])
    assert found["vendor"] == "Xiaomi" and found["device_type"] == "smart_hub"


def test_ezvizs_camera_lean_joins_ezvizs_own_block() -> None:
    found, rules = classify("64:f2:fb:00:00:01", dns__qname=["apiieu.ezvizlife.com"])  # IEEE MA-L 64:F2:FB
    assert {"tls.sni.ezviz", "tls.sni.ezviz_camera"} <= rules
    assert found["vendor"] == "EZVIZ" and found["device_type"] == "camera"
    block, _ = classify("64:f2:fb:00:00:01")  # the registry's 'Hangzhou Ezviz Software' is the EZVIZ brand
    assert block["vendor"] == "EZVIZ"


def test_dahuas_camera_lean_joins_dahuas_own_block() -> None:
    found, rules = classify("08:ed:ed:00:00:01", dns__qname=["www.easy4ipcloud.com"])  # IEEE MA-L 08:ED:ED, Dahua
    assert {"tls.sni.dahua", "tls.sni.dahua_camera"} <= rules
    assert found["vendor"] == "Dahua" and found["device_type"] == "camera"


def test_imous_web_site_is_no_device_endpoint() -> None:
    # a browser on open.imoulife.com (the open platform's docs) or www.imoulife.com names no camera maker
    found, rules = classify(ESPRESSIF, dns__qname=["www.imoulife.com", "open.imoulife.com"])
    assert not {r for r in rules if r.startswith("tls.sni.dahua")}
    assert found["vendor"] == "Espressif"
