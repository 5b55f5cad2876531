"""A browser User-Agent is text the client chooses (RFC 9110 §10.1.5): a bot on a camera sends a desktop browser's
(Mirai's HTTP flood, mirai/bot/attack_app.c) and must not make it a Windows workstation, category it (the lateral
detector ignores IT hosts). Such a User-Agent's IT system or computer kind yields when the device's own stack (its
DHCP client, its IEEE block's kind) says otherwise (inventory/classifier.py USER_AGENT); a real PC keeps it."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import _classifier, concluded, stating
from tests.inventory.test_classifier_windows_hosts import MACOS_PRL, WINDOWS_DHCP

# the User-Agents Mirai's HTTP flood picks from (mirai/bot/attack_app.c, table_unlock_val TABLE_HTTP_ONE..FIVE)
MIRAI_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6) AppleWebKit/601.7.7 (KHTML, like Gecko) Version/9.1.2 "
    "Safari/601.7.7",
]
EDGE_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
           "Safari/537.36 Edg/120.0.0.0")
SAFARI_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
             "Safari/605.1.15")
HIKVISION_MAC = "28:57:be:01:02:03"  # Hikvision's IEEE block: mac.vendor.hikvision (camera, 0.5)
UDHCPC_PRL = "1,3,6,12,15,28,42"  # BusyBox udhcpc's default request list: dhcp.prl.udhcpc (Linux, 0.3)


def _not_an_it_machine(found: dict[str, str]) -> None:
    assert found.get("os") not in ("Windows", "macOS")
    assert found.get("device_type") != "workstation"
    assert found.get("category") != "it"


@pytest.mark.parametrize("ua", MIRAI_UAS)
def test_a_camera_block_flooding_with_a_browser_user_agent_stays_a_camera(ua: str) -> None:
    found = concluded(stating(HIKVISION_MAC, http__user_agent=ua))
    _not_an_it_machine(found)
    assert (found["vendor"], found["device_type"], found["category"]) == ("Hikvision", "camera", "iot")


@pytest.mark.parametrize("ua", MIRAI_UAS)
def test_busybox_dhcp_outweighs_a_browser_user_agent(ua: str) -> None:
    for dhcp in ({"dhcp__vendor_class": "udhcp 1.24.1"}, {"dhcp__param_req_list": UDHCPC_PRL}):
        _not_an_it_machine(concluded(stating(**dhcp, http__user_agent=ua)))
    found = concluded(stating(HIKVISION_MAC, dhcp__vendor_class="udhcp 1.24.1", http__user_agent=ua))
    assert (found["os"], found["device_type"], found["category"]) == ("Linux", "camera", "iot")


def test_the_masked_user_agent_is_kept_to_explain_the_vendor() -> None:
    dev = stating(HIKVISION_MAC, http__user_agent=MIRAI_UAS[4])  # http.ua.macos names Apple too
    vendor = _classifier().classify(dev)["vendor"]
    assert vendor.value == "Hikvision"
    assert {str(e["rule_id"]): e["agrees"] for e in vendor.evidence}["http.ua.macos"] is False


@pytest.mark.parametrize("ua", [EDGE_UA, *MIRAI_UAS[:4]])
def test_a_windows_pc_with_a_browser_stays_a_windows_workstation(ua: str) -> None:
    found = concluded(stating(**WINDOWS_DHCP, http__user_agent=ua))
    assert (found["os"], found["device_type"], found["category"]) == ("Windows", "workstation", "it")


UNKNOWN_BLOCK_MAC = "00:11:22:33:44:55"  # CIMSYS Inc's IEEE block: a registry vendor, no rule types its goods


@pytest.mark.parametrize("mac", ["", UNKNOWN_BLOCK_MAC])
@pytest.mark.parametrize("ua", [EDGE_UA, *MIRAI_UAS[:4]])
def test_a_browser_user_agent_alone_is_a_guess_at_the_system_only(ua: str, mac: str) -> None:
    # no DHCP, no kind of its own: a bot's or a script's word as much as a PC's (brief A 4)
    found = _classifier().classify(stating(mac, http__user_agent=ua))
    assert found["os"].value == "Windows"
    assert found["os"].confidence == pytest.approx(0.6)  # the User-Agent's rules are one source, not two agreeing
    assert "device_type" not in found and "category" not in found, found


def test_a_user_agent_confirmed_by_the_devices_own_kind_types_it() -> None:
    # a client Windows build (smb.ntlm.windows_client_build: workstation) under a desktop browser: a PC
    found = concluded(stating(smb__ntlm_version="10.0.19045", http__user_agent=EDGE_UA))
    assert (found["os"], found["device_type"], found["category"]) == ("Windows", "workstation", "it")


@pytest.mark.parametrize("ua", MIRAI_UAS)
def test_a_device_s_own_iot_category_outweighs_a_browser_user_agent(ua: str) -> None:
    # a miIO device (mdns.service.miio: category iot 0.7) flooding with a desktop browser's User-Agent
    found = concluded(stating(mdns__services="_miio._udp.local", http__user_agent=ua))
    _not_an_it_machine(found)
    assert found["category"] == "iot"


def test_a_mac_with_safari_stays_a_mac() -> None:
    found = concluded(stating(dhcp__param_req_list=MACOS_PRL, http__user_agent=SAFARI_UA))
    assert (found["os"], found["category"]) == ("macOS", "it")


IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.1 Mobile/15E148 Safari/604.1")
IOS_PRL = "1,121,3,6,15,119,252"  # dhcp.prl.apple_ios (Apple, iOS, mobile_phone 0.5)
# clouds camera makers' apps reach (behaviour app_reachable, rules/tls.yaml), a PC's or phone's too: Blink's (camera
# 0.5) alone, Arlo's and EZVIZ's (0.4 each) together type a camera
CAMERA_APP_CLOUDS = [["rest-prod.immedia-semi.com"], ["my.arlo.com", "apiieu.ezvizlife.com"]]


@pytest.mark.parametrize("sni", CAMERA_APP_CLOUDS)
def test_a_pc_running_a_camera_app_is_no_camera(sni: list[str]) -> None:
    # the cloud a camera's app reaches is no evidence of the device's own stack against its browser
    found = concluded(stating(http__user_agent=EDGE_UA, tls__sni=sni))
    assert found["os"] == "Windows"
    assert "device_type" not in found and "category" not in found, found  # the browser's word alone: its system
    # with its own DHCP client agreeing, the PC it is
    found = concluded(stating(**WINDOWS_DHCP, http__user_agent=EDGE_UA, tls__sni=sni))
    assert (found["os"], found["device_type"], found["category"]) == ("Windows", "workstation", "it")


@pytest.mark.parametrize("sni", CAMERA_APP_CLOUDS)
def test_a_phone_or_mac_running_a_camera_app_is_no_camera(sni: list[str]) -> None:
    found = concluded(stating(http__user_agent=IPHONE_UA, tls__sni=sni))
    assert (found["vendor"], found["os"]) == ("Apple", "iOS")
    assert "device_type" not in found and "category" not in found, found
    found = concluded(stating(dhcp__param_req_list=IOS_PRL, http__user_agent=IPHONE_UA, tls__sni=sni))
    assert (found["vendor"], found["os"], found["device_type"]) == ("Apple", "iOS", "mobile_phone")
    found = concluded(stating(dhcp__param_req_list=MACOS_PRL, http__user_agent=SAFARI_UA, tls__sni=sni))
    assert (found["os"], found["category"]) == ("macOS", "it")
    assert found.get("device_type") != "camera"


def test_a_camera_flooding_with_a_browser_user_agent_and_reaching_its_cloud_stays_a_camera() -> None:
    found = concluded(stating(HIKVISION_MAC, http__user_agent=MIRAI_UAS[0], tls__sni="api.hik-connect.com"))
    _not_an_it_machine(found)
    assert (found["vendor"], found["device_type"], found["category"]) == ("Hikvision", "camera", "iot")


def test_an_iphones_safari_agreeing_with_its_request_list_is_counted() -> None:
    # the User-Agent states the system the DHCP client does (iOS): no mask, its version and weight count
    classified = _classifier().classify(stating(dhcp__param_req_list=IOS_PRL, http__user_agent=IPHONE_UA))
    assert {p: c.value for p, c in classified.items()} == {
        "vendor": "Apple", "os": "iOS", "os_version": "17.1", "device_type": "mobile_phone", "category": "it"}
    assert {str(e["rule_id"]): e["agrees"] for e in classified["device_type"].evidence}["http.ua.iphone"] is True


def test_an_iphones_safari_on_another_system_still_yields() -> None:
    found = concluded(stating(HIKVISION_MAC, dhcp__vendor_class="udhcp 1.24.1", http__user_agent=IPHONE_UA))
    assert (found["os"], found["device_type"], found["category"]) == ("Linux", "camera", "iot")


SHARED_QUEUE = {"mdns__services": ["_ipp._tcp.local", "_printer._tcp.local"],
                "mdns__txt": ["rp=printers/HP_LaserJet", "printer-type=0x809046"]}  # CUPS sharing a queue


def test_a_pc_or_mac_sharing_a_printer_keeps_its_browser() -> None:
    # the announcements of a printer it shares (print_sharing: mdns.txt.cups_shared_queue) are set aside before the
    # User-Agent is weighed, so they do not make its browser a mask
    found = concluded(stating(http__user_agent=EDGE_UA, **SHARED_QUEUE))
    assert (found["os"], found["device_type"], found["category"]) == ("Windows", "workstation", "it")
    found = concluded(stating(http__user_agent=SAFARI_UA, **SHARED_QUEUE))
    assert (found["vendor"], found["os"], found["category"]) == ("Apple", "macOS", "it")


@pytest.mark.parametrize("mac", ["00:d0:85:01:02:03", "64:9f:f7:01:02:03", "00:e0:a1:01:02:03", HIKVISION_MAC])
@pytest.mark.parametrize("ua", [EDGE_UA, MIRAI_UAS[0]])
def test_a_browser_the_devices_own_dhcp_agrees_with_is_no_mask(mac: str, ua: str) -> None:
    # a Windows User-Agent beside Windows' own DHCP client (MSFT 5.0 and its request list) states the system the
    # device's stack states: no bot's mask, so a maker's block typing a kind (Otis, KONE: elevator_controller; HIMA:
    # safety_controller; Hikvision: camera, 0.5 each) does not set it aside (review R1 of e7c0923: such a PC was an
    # elevator controller, a safety controller, or a 'camera' of category it)
    found = concluded(stating(mac, **WINDOWS_DHCP, http__user_agent=ua))
    assert (found["os"], found["device_type"], found["category"]) == ("Windows", "workstation", "it")
