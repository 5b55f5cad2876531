"""A host sharing a printer over Bonjour is not that printer (issue #3, rules/mdns.yaml, inventory/classifier.py):
CUPS (macOS printer sharing runs it) announces a shared queue on the host's own record with the printer's ty= and
product= beside keys no printer announces (rp=printers/<queue>, printer-type: mdns.txt.cups_shared_queue), and
then the printer's Bonjour evidence yields; a printer's own announcement, which carries no such key, is weighed as
before. TXT keys as CUPS scheduler/dirsvc.c dnssdBuildTxtRecord writes them, lower-cased as dissect/mdns.py does."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect.mdns import MdnsDissector
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import Classifier
from iotwarden.kb import KnowledgeBase
from iotwarden.kb.index import Match
from iotwarden.model import Device
from tests.dissect.discovery import mdns_announcement
from tests.inventory.test_classifier_enterprise import stating

APPLE_MAC = "3c:22:fb:00:00:01"  # Apple, Inc. (IEEE MA-L 3C22FB)
SIGN = "mdns.txt.cups_shared_queue"
QUEUE = "HP_LaserJet_Pro_M404dn"
# what CUPS announces for a shared queue (dnssdBuildTxtRecord), keys in the order it writes them
CUPS_TXT = ["txtvers=1", "qtotal=1", f"rp=printers/{QUEUE}", "ty=HP LaserJet Pro M404dn",
            f"adminurl=https://Johns-MacBook-Pro.local.:631/printers/{QUEUE}", "priority=0",
            "product=(HP LaserJet Pro M404dn)", "pdl=application/octet-stream,application/pdf,image/urf",
            "uuid=f790f55a-c489-3102-6374-1412c73b4183", "tls=1.2", "printer-type=0x809006"]
CUPS_SERVICES = ["_ipp._tcp.local", "_ipps._tcp.local", "_printer._tcp.local"]
# printers' own announcements: an IPP Everywhere printer (rp=ipp/print) and a Brother's LPD queue
HP_PRINTER = ["txtvers=1", "qtotal=1", "rp=ipp/print", "ty=HP LaserJet Pro M404dn", "product=(HP LaserJet Pro M404dn)",
              "usb_mfg=HP", "usb_mdl=LaserJet Pro M404dn", "adminurl=http://HP3822E5.local./#hId-pgAirPrint",
              "pdl=application/pdf,image/urf", "uuid=564e4333-4c30-3938-3232-3822e5000000", "priority=10",
              "kind=document,envelope", "urf=CP1,IS1,MT1-3,RS600,V1.4,W8,DM1"]
BROTHER_PRINTER = ["txtvers=1", "qtotal=1", "rp=duerqxesz5090", "ty=Brother HL-L2350DW series",
                   "product=(Brother HL-L2350DW series)", "usb_mfg=Brother", "usb_mdl=HL-L2350DW series",
                   "pdl=application/vnd.hp-PCL", "priority=75"]


def concluded(dev: Device, classifier: Classifier | None = None) -> dict[str, Any]:
    return {k: c.value for k, c in (classifier or Classifier()).classify(dev).items()}


def test_a_mac_sharing_a_printer_is_the_mac() -> None:
    dev = stating(APPLE_MAC, mdns__txt=["model=MacBookPro18,3", *CUPS_TXT],
                  mdns__services=[*CUPS_SERVICES, "_device-info._tcp.local"])
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Apple", "laptop", "MacBookPro18,3")
    assert found["category"] == "it"
    # the printer's evidence is kept to explain the vendor, agreeing with nothing
    vendor = Classifier().classify(dev)["vendor"].evidence
    assert {e["rule_id"] for e in vendor if not e["agrees"]} >= {"mdns.txt.ipp_ty_maker"}


@pytest.mark.parametrize("sign", [f"rp=printers/{QUEUE}", "rp=classes/Office", "printer-type=0x809006",
                                  "printer-type=0x9046"])
def test_either_cups_key_alone_tells_a_sharing_host(sign: str) -> None:
    assert SIGN in {m.rule_id for m in KnowledgeBase.load().match("mdns.txt", sign)}
    keep = [t for t in CUPS_TXT if not t.startswith(("rp=", "printer-type="))]
    found = concluded(stating(APPLE_MAC, mdns__txt=["model=MacBookPro18,3", *keep, sign],
                              mdns__services=CUPS_SERVICES))
    assert found["device_type"] == "laptop" and found["vendor"] == "Apple"


def test_a_host_sharing_a_printer_with_nothing_else_to_say_is_no_printer() -> None:
    # a Linux print server: CUPS's record alone; its kind stays unknown rather than the printer's
    found = concluded(stating("", mdns__txt=CUPS_TXT, mdns__services=CUPS_SERVICES))
    assert "device_type" not in found and "model" not in found and found.get("vendor") != "HP", found


@pytest.mark.parametrize("txt", ["rp=ipp/print", "rp=duerqxesz5090", "rp=auto", "rp=printers", "rp=",
                                 "printer-type=", "printer-state=3", "adminurl=http://HP3822E5.local./"])
def test_printers_own_keys_tell_no_sharing_host(txt: str) -> None:
    assert SIGN not in {m.rule_id for m in KnowledgeBase.load().match("mdns.txt", txt)}


class NoSharingStep(Classifier):
    """The classifier as it was before print_sharing: every printer announcement counted."""

    @staticmethod
    def _shared_printer_evidence(matches: list[Match]) -> tuple[list[Match], list[Match]]:
        return matches, []


@pytest.mark.parametrize(("txt", "services", "vendor", "model"), [
    (HP_PRINTER, ["_ipp._tcp.local", "_ipps._tcp.local", "_uscan._tcp.local"], "HP", "LaserJet Pro M404dn"),
    (BROTHER_PRINTER, ["_printer._tcp.local", "_pdl-datastream._tcp.local"], "Brother", "HL-L2350DW series"),
])
def test_a_printer_s_own_bonjour_is_weighed_as_before(txt: list[str], services: list[str], vendor: str,
                                                       model: str) -> None:
    dev = stating("", mdns__txt=txt, mdns__services=services)
    now, before = Classifier().classify(dev), NoSharingStep().classify(dev)
    assert {k: (c.value, c.confidence) for k, c in now.items()} == \
        {k: (c.value, c.confidence) for k, c in before.items()}
    assert now["vendor"].value == vendor and now["device_type"].value in ("printer", "mfp")
    assert model in now["model"].value


def _device_from_the_wire(*packets: Any) -> Device:
    ctx, builder = Context(), InventoryBuilder()
    for packet in packets:
        for observation in MdnsDissector().dissect(packet, {}):
            builder.on_observation(ctx, observation)
    (device,) = ctx.devices.values()
    return device


def test_a_mac_s_announcements_on_the_wire_type_the_mac() -> None:
    host = "Johns-MacBook-Pro.local"
    info = mdns_announcement("_device-info._tcp.local", "Johns MacBook Pro._device-info._tcp.local",
                             b"\x00\x00\x00\x00\x00\x00", host, {b"model": b"MacBookPro18,3", b"osxvers": b"23"})
    txt = {k.encode(): v.encode() for k, _, v in (t.partition("=") for t in CUPS_TXT)}
    txt[b"UUID"] = txt.pop(b"uuid")  # as CUPS writes the key; the dissector lower-cases it
    queue = mdns_announcement("_ipp._tcp.local", "HP LaserJet Pro M404dn @ Johns MacBook Pro._ipp._tcp.local",
                              b"\x00\x00\x00\x00\x02\x77", host, txt)
    device = _device_from_the_wire(info, queue)
    stated = device.attributes["mdns.txt"]
    assert {"printer-type=0x809006", "ty=HP LaserJet Pro M404dn", "model=MacBookPro18,3"} <= stated
    found = concluded(device)
    assert found["vendor"] == "Apple" and found["device_type"] == "laptop"
    # the same queue announced by a printer of its own (no CUPS keys) stays a printer
    own = {k: v for k, v in txt.items() if k not in (b"rp", b"printer-type", b"adminurl")}
    printer = _device_from_the_wire(mdns_announcement("_ipp._tcp.local", "HP LaserJet Pro M404dn._ipp._tcp.local",
                                                      b"\x00\x00\x00\x00\x02\x77", "HP3822E5.local", own))
    assert concluded(printer)["device_type"] == "printer"


# The sharing keys go unseen when the capture misses the TXT record (a PTR answer alone) or a host announces _ipp
# without CUPS's keys: on a device showing an IT machine (Windows' DHCP, a browser) and no printer's own sign the
# announcements are a shared queue's (brief A 2); TXT usb_MFG and _pdl-datastream._tcp (the raw port) are a printer's
# own, which CUPS's shared queues never announce (scheduler/dirsvc.c), and keep a printer a printer.
EDGE_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
           "Safari/537.36 Edg/120.0.0.0")
SAFARI_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
             "Safari/605.1.15")
MIRAI_UA = ("Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 "
            "Safari/537.36")
WINDOWS_DHCP = {"dhcp__vendor_class": "MSFT 5.0", "dhcp__param_req_list": "1,3,6,15,31,33,43,44,46,47,119,121,249,252"}
QUEUE_WITHOUT_KEYS = ["ty=HP LaserJet Pro M404dn", "product=(HP LaserJet Pro M404dn)", "pdl=application/pdf"]


@pytest.mark.parametrize("ua", [EDGE_UA, SAFARI_UA])
@pytest.mark.parametrize("txt", [[], QUEUE_WITHOUT_KEYS])
def test_a_browser_announcing_ipp_without_sharing_keys_is_no_printer(ua: str, txt: list[str]) -> None:
    found = concluded(stating(http__user_agent=ua, mdns__services=["_ipp._tcp.local", "_ipps._tcp.local"],
                              mdns__txt=txt))
    assert found.get("device_type") != "printer" and found.get("category") != "iot", found
    assert found["os"] in ("Windows", "macOS")


def test_a_windows_host_announcing_ipp_without_sharing_keys_is_the_windows_host() -> None:
    found = concluded(stating(**WINDOWS_DHCP, mdns__services=["_ipp._tcp.local"], mdns__txt=QUEUE_WITHOUT_KEYS))
    assert (found["os"], found["category"]) == ("Windows", "it")
    assert "device_type" not in found, found


@pytest.mark.parametrize("stack", [{"http__user_agent": MIRAI_UA}, WINDOWS_DHCP])
def test_a_printer_s_own_signs_keep_it_a_printer(stack: dict[str, str]) -> None:
    for own in ({"mdns__txt": HP_PRINTER}, {"mdns__txt": BROTHER_PRINTER},
                {"mdns__txt": QUEUE_WITHOUT_KEYS, "mdns__services": ["_pdl-datastream._tcp.local"]}):
        services = ["_ipp._tcp.local", *own.get("mdns__services", [])]
        found = concluded(stating(**stack, mdns__services=services, mdns__txt=own["mdns__txt"]))
        assert (found["device_type"], found["category"]) == ("printer", "iot"), found


def test_an_ipp_announcement_alone_is_still_a_printer() -> None:
    found = concluded(stating(mdns__services=["_ipp._tcp.local"]))
    assert (found["device_type"], found["category"]) == ("printer", "iot")
