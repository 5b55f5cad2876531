"""OT vendors from the industrial protocols' registry ids (rules/enip_vendors.yaml, rules/bacnet_vendors.yaml, the
ids ot.yaml, iec104_hart.yaml and profinet_iec61850.yaml list) and category hints from the MAC blocks of makers that
build only industrial or only building-automation equipment (rules/mac.yaml): on hand-made attribute sets and on
the real ics_iti / suricata_verify captures."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest

from iotwarden.addons import default_analyzers
from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device
from tests.conftest import shared
from tests.risk.harness import run_capture

CLASSIFIER = Classifier()
ICS = ("pcaps", "ics_iti", "pcaps")


def device(mac: str | None = None, **attributes: set[str]) -> Device:
    dev = Device(key=f"mac:{mac}" if mac else "ip:10.0.0.9", first_seen=0.0, last_seen=0.0, mac=mac)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(values)
    return dev


def stating(attribute: str, value: str) -> Device:
    dev = device()
    dev.attributes[attribute] = {value}
    return dev


def summary(dev: Device) -> tuple[str | None, str | None, str | None]:
    found = CLASSIFIER.classify(dev)
    return tuple(found[p].value if p in found else None for p in ("vendor", "category", "device_type"))  # type: ignore[return-value]


@cache
def _devices(*path: str) -> dict[str, Device]:
    return run_capture(shared(*path), default_analyzers()).devices


# ---- registry ids, one device stating its id and nothing else -------------------------------------------------

ENIP = [  # ODVA CIP vendor id -> maker (ids from ot.yaml and enip_vendors.yaml)
    (1, "Rockwell Automation"), (309, "ProSoft Technology"), (47, "Omron"), (865, "Schweitzer Engineering"),
    (887, "B&R"), (345, "Endress+Hauser"), (1182, "Endress+Hauser"), (808, "SICK"), (511, "SICK"), (326, "GE"),
    (928, "GE"), (991, "Moxa"), (1006, "N-Tron"), (562, "Phoenix Contact"), (445, "Lenze"), (1225, "Rosemount"),
    (914, "Micro Motion"), (903, "Emerson"), (925, "HIMA"), (634, "Hirschmann"), (660, "AutomationDirect"),
    (680, "Weidmüller"), (1015, "Weidmüller"), (367, "Keyence"), (1059, "Delta Electronics"), (37, "Yaskawa"),
    (796, "Siemens"), (593, "ABB"), (256, "Turck"), (48, "Turck"), (537, "Foxboro"), (591, "FANUC"),
]
BACNET = [  # ASHRAE BACnet vendor id -> maker (ids from ot.yaml and bacnet_vendors.yaml)
    (5, "Johnson Controls"), (8, "Delta Controls"), (24, "Automated Logic"), (36, "Tridium"), (332, "Distech Controls"),
    (364, "Distech Controls"), (284, "Belimo"), (423, "Belimo"), (264, "Regin"), (313, "Siemens"),
    (335, "Schneider Electric"), (238, "Schneider Electric"), (529, "GE Intelligent Platforms"), (1228, "Loxone"),
    (233, "Red Lion"), (246, "HMS Networks"), (415, "Beckhoff"), (1096, "Moxa"), (89, "Saia-Burgess"),
]


@pytest.mark.parametrize(("vendor_id", "vendor"), ENIP, ids=[f"enip-{i}" for i, _ in ENIP])
def test_a_cip_identity_names_its_maker_and_the_ot_category(vendor_id: int, vendor: str) -> None:
    got_vendor, category, _ = summary(device(enip__vendor_id={str(vendor_id)}))
    assert (got_vendor, category) == (vendor, "ot")


@pytest.mark.parametrize(("vendor_id", "vendor"), BACNET, ids=[f"bacnet-{i}" for i, _ in BACNET])
def test_a_bacnet_vendor_identifier_names_its_maker_and_the_building_category(vendor_id: int, vendor: str) -> None:
    got_vendor, category, _ = summary(device(bacnet__vendor_id={str(vendor_id)}))
    assert (got_vendor, category) == (vendor, "building")


def test_the_new_bacnet_ids_name_no_kind_of_device() -> None:
    # Belimo (actuators), Distech (controllers), Schneider Electric's Square D id (meters, breakers): no type
    for vendor_id in (284, 332, 238, 1228):
        assert summary(device(bacnet__vendor_id={str(vendor_id)}))[2] is None


@pytest.mark.parametrize(("attribute", "value", "vendor"), [
    ("hartip.manufacturer_id", "38", "Rosemount"), ("hartip.manufacturer_id", "17", "Endress+Hauser"),
    ("hartip.manufacturer_id", "63", "Foxboro"),
    ("pn_dcp.vendor_id", "42", "Siemens"),
])
def test_hart_and_profinet_ids_name_the_maker(attribute: str, value: str, vendor: str) -> None:
    assert summary(stating(attribute, value))[0] == vendor


@pytest.mark.parametrize(("attribute", "value"), [
    ("enip.vendor_id", "6"),  # reserved
    ("enip.vendor_id", "1030"),  # TuxPLC, an open-source stack: its id names no product's maker
    ("enip.vendor_id", "806"),  # Texas Instruments: reference designs carry it
    ("enip.vendor_id", "60000"),  # not assigned
    ("bacnet.vendor_id", "260"),  # "BACnet Stack at SourceForge"
    ("bacnet.vendor_id", "1"),  # NIST
])
def test_ids_that_name_no_maker_conclude_nothing(attribute: str, value: str) -> None:
    assert summary(stating(attribute, value))[0] is None


def test_the_registry_id_and_the_mac_block_of_one_maker_agree() -> None:
    # SEL's ODVA registration "Schweitzer Engineering Laboratories" and its IEEE registrant "SCHWEITZER
    # ENGINEERING" are one vendor (vendor_aliases.yaml): no conflict lowers the confidence
    found = CLASSIFIER.classify(device("00:30:a7:00:00:01", enip__vendor_id={"865"}))
    assert found["vendor"].value == "Schweitzer Engineering"
    assert found["vendor"].confidence > 0.8 and all(e["agrees"] for e in found["vendor"].evidence)
    found = CLASSIFIER.classify(device("00:26:16:00:00:01", hartip__manufacturer_id={"38"}))  # Rosemount's block
    assert found["vendor"].value == "Rosemount" and found["vendor"].confidence > 0.8


def test_every_registry_id_has_one_rule_naming_the_registered_company() -> None:
    counts: Counter[tuple[str, str]] = Counter()
    for rule in CLASSIFIER.kb.rules:
        if rule.attribute in ("enip.vendor_id", "bacnet.vendor_id", "hartip.manufacturer_id", "pn_dcp.vendor_id"):
            assert rule.how == "exact" and "vendor" in rule.conclusions, rule.id
            counts.update((rule.attribute, value) for value in rule.values)
            if rule.file in ("enip_vendors.yaml", "bacnet_vendors.yaml"):  # the registered company, for checking
                assert re.search(r"vendor id \d+ '[^']+'", rule.reference), rule.id
    assert not [k for k, n in counts.items() if n > 1]
    assert sum(1 for a, _ in counts if a == "enip.vendor_id") > 1000
    assert sum(1 for a, _ in counts if a == "bacnet.vendor_id") > 1300


# ---- MAC-only category hints ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("mac", "vendor", "category"), [
    ("00:30:a7:00:00:01", "Schweitzer Engineering", "ot"),
    ("00:e0:62:00:00:01", "Host Engineering", "ot"),
    ("00:0a:dc:00:00:01", "RuggedCom", "ot"),
    ("00:09:91:00:00:01", "GE Intelligent Platforms", "ot"),
    ("00:25:65:00:00:01", "Vizimax", "ot"),
    ("00:90:e8:00:00:01", "Moxa", "ot"),  # its serial_server hint (0.4) stays under the threshold
    ("7c:16:0d:00:00:01", "Saia-Burgess", "building"),
    ("5c:c2:13:00:00:01", "Sauter", "building"),
    ("00:d0:6f:00:00:01", "KMC Controls", "building"),
    ("6c:65:67:00:00:01", "Belimo", "building"),
])
def test_a_silent_device_on_an_industrial_or_building_makers_block_gets_the_category(
        mac: str, vendor: str, category: str) -> None:
    assert summary(device(mac)) == (vendor, category, None)  # category only: each builds several kinds of device


def test_a_silent_siemens_or_omron_device_stays_uncategorised() -> None:
    # Siemens and Omron blocks also go into PCs, appliances and healthcare devices: no category from the MAC alone
    for mac in ("00:1b:1b:00:00:01", "00:0e:8c:00:00:01"):
        vendor, category, dtype = summary(device(mac))
        assert (vendor, category, dtype) == ("Siemens", None, None)


def test_mac_category_hints_conclude_the_category_alone_at_the_threshold() -> None:
    hints = [r for r in CLASSIFIER.kb.rules if r.id.startswith("mac.vendor.") and r.id.endswith((".ot", ".building"))]
    assert len(hints) > 60
    for rule in hints:
        assert rule.attribute == "mac.oui_vendor" and rule.weight == 0.5, rule.id
        assert set(rule.conclusions) == {"category"} and "IEEE" in rule.reference, rule.id
    assert not {r.values[0] for r in hints} & {"Siemens", "GE", "Mitsubishi Electric", "Honeywell",
                                                   "Schneider Electric", "Bosch", "Omron", "ABB"}


# ---- real captures ------------------------------------------------------------------------------------------------

def test_openics_controllogix_and_its_prosoft_module_and_the_host_engineering_client() -> None:
    devices = _devices(*ICS, "openics", "EIP-IPAddressChangeAttempt.pcap")
    plc = devices["mac:00:00:bc:3e:eb:e4"]
    assert plc.attributes["enip.vendor_id"] == {"1", "309"}  # the 1756 chassis answers for its ProSoft module too
    assert (plc.vendor, plc.category) == ("Rockwell Automation", "ot")
    ecom = devices["mac:00:e0:62:60:35:d0"]  # HOST ENGINEERING's block (Koyo / AutomationDirect Ethernet modules)
    assert (ecom.vendor, ecom.category, ecom.device_type) == ("Host Engineering", "ot", None)
    assert ecom.classification["category"].evidence[0]["rule_id"] == "mac.vendor.host_engineering.ot"


@pytest.mark.parametrize(("path", "key", "vendor"), [
    ((*ICS, "openics", "DNP3-Malformed.pcap"), "mac:00:30:a7:00:00:00", "Schweitzer Engineering"),
    ((*ICS, "IEC61850", "Sample_File_MMS_and_GOOSE.pcap"), "mac:00:0a:dc:03:05:00", "RuggedCom"),
    ((*ICS, "IEC61850", "Sample_File_MMS_and_GOOSE.pcap"), "mac:00:0a:dc:06:19:5c", "RuggedCom"),
    ((*ICS, "C37.118", "C37.118_2PMUsInSync_TCP.pcap"), "mac:00:50:c2:78:b5:30", "OMICRON electronics"),
], ids=["sel-dnp3", "ruggedcom-1", "ruggedcom-2", "omicron-pmu-test-set"])  # profinet.pcap's GE device now answers
# PNIO-CM, which makes it OT on its own (tests/inventory/test_classifier_pnio_cm.py)
def test_real_devices_known_only_by_their_industrial_makers_block_are_ot(path: tuple[str, ...], key: str,
                                                                          vendor: str) -> None:
    dev = _devices(*path)[key]
    assert (dev.vendor, dev.category, dev.device_type) == (vendor, "ot", None)
    assert dev.classification["category"].evidence[0]["rule_id"].startswith("mac.vendor.")


def test_real_siemens_devices_known_only_by_their_block_stay_uncategorised() -> None:
    dev = _devices(*ICS, "ModbusTCP", "mb2.pcap")["mac:00:1b:1b:33:2b:3f"]
    assert (dev.vendor, dev.category, dev.device_type) == ("Siemens", None, None)


@pytest.mark.parametrize(("path", "key", "vendor", "category"), [
    ((*ICS, "hart", "hart_ip.pcap"), "mac:00:26:16:00:00:d2", "Rosemount", "ot"),  # HART manufacturer id 38
    ((*ICS, "IEC61850", "GOOSE", "GOOSE.pcap"), "mac:00:a0:f4:08:2f:77", "GE", "ot"),  # the GE F650 GOOSE relay
    ((*ICS, "profinet", "PROFINET-RT-DCP", "ChangeIPUsingDCP.pcap"), "mac:08:00:06:93:cf:32", "Siemens", "ot"),
    (("pcaps", "suricata_verify", "enip-keywords", "enip_cip_example.pcap"), "mac:34:c0:f9:fe:65:6b",
     "Rockwell Automation", "ot"),
    ((*ICS, "BACnet", "bacnet_test.pcap"), "mac:00:19:07:24:3c:ca", "Johnson Controls", "building"),  # states "JCI"
], ids=["hart-rosemount-38", "ge-f650-goose", "siemens-pn-dcp", "suricata-enip-rockwell", "bacnet-jci"])
def test_real_ot_devices_get_their_makers_name(path: tuple[str, ...], key: str, vendor: str, category: str) -> None:
    dev = _devices(*path)[key]
    assert (dev.vendor, dev.category) == (vendor, category)
