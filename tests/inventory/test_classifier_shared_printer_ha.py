"""A host sharing a printer is no printer for the rules imported from Home Assistant too (issue #3): CUPS on a Linux
or NAS print server (Samba beside it) announces each shared queue on the host's own record as '<printer-info> @
<host>' under _printer._tcp/_ipp._tcp with the printer's ty= and product= (scheduler/dirsvc.c), which HA's brother
zeroconf matcher ('_printer._tcp.local. name=brother*') meets. kb/importers/homeassistant.py marks the rules it
writes on a printer's Bonjour service printer_announcement, as rules/mdns.yaml marks the hand-written ones, so they
yield on a device announcing CUPS's rp=printers/<queue> or printer-type (inventory/classifier.py)."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.inventory.classifier import Classifier
from iotwarden.kb.importers import homeassistant as ha
from iotwarden.kb.index import compile_rules
from iotwarden.model import Device
from tests.inventory.test_classifier_enterprise import stating
from tests.inventory.test_classifier_shared_printer import BROTHER_PRINTER
from tests.kb.importers.test_homeassistant import RELEASE

BROTHER_RULE = "homeassistant.brother.zeroconf.1"
HOST = "fileserver"
# (ty= and printer-info as CUPS's drivers name the printer, the queue name CUPS derives from it)
QUEUES = {
    "Brother": ("Brother HL-L2350DW series", "Brother_HL-L2350DW_series"),
    "HP": ("HP LaserJet Pro M404dn", "HP_LaserJet_Pro_M404dn"),
    "Epson": ("EPSON ET-2850 Series", "EPSON_ET-2850_Series"),
}
SAMBA_SERVICES = ["_smb._tcp.local", "_device-info._tcp.local"]  # Samba's own announcements (no printer's)


def shared(info: str, queue: str) -> tuple[list[str], list[str], list[str]]:
    """TXT, services and instance names CUPS announces for one shared queue (dnssdBuildTxtRecord)."""
    txt = ["txtvers=1", "qtotal=1", f"rp=printers/{queue}", f"ty={info}",
           f"adminurl=https://{HOST}.local.:631/printers/{queue}", "priority=0", f"product=({info})",
           "pdl=application/octet-stream,application/pdf,application/postscript,image/jpeg,image/png,image/pwg-raster",
           "uuid=9b0e3e1a-3f6c-3a44-6b0c-1d2b1a9f0c11", "tls=1.2", "printer-type=0x80900e"]
    services = ["_printer._tcp.local", "_ipp._tcp.local", "_ipps._tcp.local"]
    instances = [f"{info} @ {HOST}.{s}" for s in services]
    return txt, services, instances


def concluded(dev: Device) -> tuple[dict[str, Any], set[str]]:
    found = Classifier().classify(dev)
    agreeing = {e["rule_id"] for c in found.values() for e in c.evidence if e["agrees"]}
    return {k: c.value for k, c in found.items()}, agreeing


def test_the_importer_marks_its_rules_on_a_printer_s_bonjour_service() -> None:
    files = {n: (RELEASE / "homeassistant" / "generated" / n).read_text(encoding="utf-8") for n in ha.GENERATED}
    rules = {r["id"]: r for r in ha.convert(files).rules}
    assert rules[BROTHER_RULE]["behaviour"] == "printer_announcement"
    others = [r for r in rules.values() if r["id"] != BROTHER_RULE and "behaviour" in r]
    assert others == []  # no other matcher of the release is on a printer's service
    for service in ("_printer._tcp.local", "_ipp._tcp.local", "_IPPS._tcp.local", "_fax-ipp._tcp.local"):
        assert ha.PRINTER_SERVICES.match(service), service
    for service in ("_uscan._tcp.local", "_printer._udp.local", "_http._tcp.local", "_ipp-tls._tcp.local",
                    "_pdl-datastream._tcp.local"):
        assert not ha.PRINTER_SERVICES.match(service), service


def test_an_imported_rule_on_the_raw_port_service_is_a_printer_s_own_sign() -> None:
    """_pdl-datastream._tcp (port 9100) is no announcement a sharing host makes (CUPS's dnssdRegisterPrinter
    registers _printer/_ipp/_ipps only): an HA matcher on it is the printer's own, as the hand-written
    mdns.service.pdl_datastream is, and never yields as a printer_announcement."""
    files = {n: (RELEASE / "homeassistant" / "generated" / n).read_text(encoding="utf-8") for n in ha.GENERATED}
    files["zeroconf.py"] = files["zeroconf.py"].replace('"_printer._tcp.local.": [', '"_pdl-datastream._tcp.local.": [')
    (rule,) = [r for r in ha.convert(files).rules if r["id"] == BROTHER_RULE]
    assert rule["match"]["exact"] == "_pdl-datastream._tcp.local" and "behaviour" not in rule
    (hand,) = [r for r in compile_rules() if r.id == "mdns.service.pdl_datastream"]
    assert not hand.behaviour  # the same service, the same reading


def test_the_shipped_brother_rule_is_a_printer_announcement() -> None:
    (rule,) = [r for r in compile_rules() if r.id == BROTHER_RULE]
    assert rule.behaviour == "printer_announcement"


@pytest.mark.parametrize("maker", sorted(QUEUES))
def test_a_linux_samba_host_sharing_a_queue_is_not_that_printer(maker: str) -> None:
    txt, services, instances = shared(*QUEUES[maker])
    dev = stating("", mdns__txt=txt, mdns__services=[*services, *SAMBA_SERVICES], mdns__instances=instances)
    found, _ = concluded(dev)
    assert found.get("device_type") not in ("printer", "mfp") and "model" not in found, found
    assert found.get("vendor") != maker and found.get("category") == "it", found


def test_a_host_sharing_all_three_queues_is_none_of_them() -> None:
    txt: list[str] = []
    services: list[str] = []
    instances: list[str] = []
    for info, queue in QUEUES.values():
        t, s, i = shared(info, queue)
        txt, services, instances = [*txt, *t], [*services, *s], [*instances, *i]
    found, _ = concluded(stating("", mdns__txt=txt, mdns__services=[*set(services), *SAMBA_SERVICES],
                                 mdns__instances=instances))
    assert found.get("device_type") not in ("printer", "mfp") and found.get("vendor") not in QUEUES, found


def test_a_brother_printer_s_own_bonjour_is_still_a_brother_printer() -> None:
    instances = [f"Brother HL-L2350DW series.{s}" for s in ("_printer._tcp.local", "_pdl-datastream._tcp.local")]
    dev = stating("", mdns__txt=BROTHER_PRINTER, mdns__services=["_printer._tcp.local", "_pdl-datastream._tcp.local"],
                  mdns__instances=instances)
    found, rules = concluded(dev)
    assert (found["vendor"], found["device_type"]) == ("Brother", "printer")
    assert BROTHER_RULE in rules  # the imported rule still counts for a printer of its own
    # its instance name and service alone (no TXT) still make it a Brother printer by the imported rule
    found, rules = concluded(stating("", mdns__services=["_printer._tcp.local"], mdns__instances=instances[:1]))
    assert (found["vendor"], found["device_type"]) == ("Brother", "printer") and BROTHER_RULE in rules
