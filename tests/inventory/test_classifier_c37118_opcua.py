"""Synchrophasor PMUs and OPC UA servers of ics_iti classified end to end (engine, inventory, classifier):
category OT with their protocol; a PMU's own stream (one PMU block) types it pmu, a kind of ied; a stream
of several PMU blocks stays an ied; the PDC commanding them is OT without a type; a station name is no vendor."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.addons import default_analyzers
from iotwarden.inventory.classifier import Classifier
from iotwarden.kb.taxonomy import Taxonomy
from iotwarden.model import Device
from tests.conftest import shared
from tests.risk.harness import run_capture

ICS = ("pcaps", "ics_iti", "pcaps")
CLASSIFIER = Classifier()

# capture -> (PMU MAC, station names, type, MAC vendor), (PDC MAC)
C37 = {
    "C37.118/C37.118_1PMU_TCP.pcap": ("00:30:a7:00:0d:3a", {"Blue PMU"}, "pmu", "00:09:6b:93:7b:83"),
    "C37.118/C37.118_1PMU_UDP.pcap": ("00:a0:f4:01:a3:48", {"PMU1"}, "pmu", "00:1d:60:63:85:40"),
    "C37.118/C37.118_4in1PMU_TCP.pcap": ("00:a0:f4:01:a3:48", {"PMU1", "PMU2", "PMU3", "PMU4"}, "ied",
                                         "00:1d:60:63:85:40"),
    "C37.118/C37118/c37118_1100_unclean.pcap": ("00:25:65:00:2b:c2", {"Reporting1"}, "pmu", "00:0c:29:3f:30:5f"),
    "C37.118/C37118/c37_1100_clean_tcp.pcap": ("00:25:65:00:2b:c2", {"Reporting1"}, "pmu", "00:0c:29:3f:30:5f"),
    "C37.118/C37118/c37_1100_fullclean.pcap": ("00:25:65:00:2b:c2", {"Reporting1"}, "pmu", "00:0c:29:3f:30:5f"),
    "C37.118/C37118/c37_pmu_clean.pcap": ("40:f2:e9:9d:44:6c", {"Reporting1"}, "pmu", "54:e1:ad:68:37:3a"),
    "C37.118/C37118/c37_pmu_unclean.pcap": ("40:f2:e9:9d:44:6c", {"Reporting1"}, "pmu", "54:e1:ad:68:37:3a"),
}


def _inventory(path: Path) -> dict[str, Device]:
    return run_capture(path, default_analyzers()).devices


@pytest.mark.parametrize("name", sorted(C37))
def test_each_pmu_is_ot_and_typed_and_its_pdc_is_ot(name: str) -> None:
    pmu_mac, stations, device_type, pdc_mac = C37[name]
    devices = _inventory(shared(*ICS, *name.split("/")))
    pmu, pdc = devices[f"mac:{pmu_mac}"], devices[f"mac:{pdc_mac}"]
    assert (pmu.category, pmu.device_type) == ("ot", device_type) and "c37118" in pmu.protocols
    assert pmu.attributes["c37118.station_name"] == stations
    assert pmu.vendor not in stations  # a station name is its owner's name for it, never a vendor
    assert (pdc.category, pdc.device_type) == ("ot", None) and "c37118" in pdc.protocols
    assert pdc.attributes["c37118.frame_type"] == {"command"}


def test_two_pmus_in_sync_and_their_vendors_from_the_mac_registry() -> None:
    devices = _inventory(shared(*ICS, "C37.118", "C37.118_2PMUsInSync_TCP.pcap"))
    sel, ge = devices["mac:00:30:a7:00:0d:3a"], devices["mac:00:a0:f4:01:a3:48"]
    assert (sel.category, sel.device_type, ge.category, ge.device_type) == ("ot", "pmu", "ot", "pmu")
    assert sel.vendor == "Schweitzer Engineering" and ge.vendor == "GE"
    assert sel.attributes["c37118.idcode"] == {"241"} and ge.attributes["c37118.idcode"] == {"60", "61"}


def test_the_pmu_type_is_an_ied() -> None:
    taxonomy = Taxonomy.load()
    assert "ied" in taxonomy.ancestors("pmu") and taxonomy.category_of("pmu") == "ot"


def test_the_opc_ua_stack_test_server_is_ot_and_its_client_is_not_named_by_its_software() -> None:
    devices = _inventory(shared(*ICS, "OPC", "opc-ua-ap-method-wireshark-freeze.pcap"))
    server, client = devices["mac:00:0c:29:a0:86:e6"], devices["mac:00:50:8d:9a:08:5e"]
    assert server.category == "ot" and "opcua" in server.protocols and server.device_type is None
    assert server.attributes["opcua.application_uri"] == {"http://vm-xp-steven/UA StackTest Server (AnsiC/2048)"}
    assert server.attributes["opcua.security_policies"] == {"None", "Basic128Rsa15", "Basic256"}
    assert server.attributes["service.server"] >= {"opcua"}
    assert client.attributes["opcua.client_product_uri"] == {"urn:opcfoundation.org/UA/ServerTest"}
    assert "opcua.product_uri" not in client.attributes and client.category is None


def _server(**attributes: set[str]) -> Device:
    dev = Device(key="ip:10.0.0.9", first_seen=0.0, last_seen=0.0)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = values
    dev.attributes["service.server"] = {"opcua"}
    return dev


def test_opc_ua_products_by_their_uris() -> None:
    s7 = CLASSIFIER.classify(_server(opcua__application_uri={"urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1"}))
    assert (s7["vendor"].value, s7["model"].value, s7["device_type"].value, s7["category"].value) == (
        "Siemens", "SIMATIC S7-1500", "plc", "ot")
    twincat = CLASSIFIER.classify(_server(opcua__application_uri={"urn:CX-19788E:BeckhoffAutomation:TcOpcUaServer:1"}))
    assert twincat["vendor"].value == "Beckhoff" and "device_type" not in twincat
    demo = CLASSIFIER.classify(_server(opcua__product_uri={"urn:UnifiedAutomation:UaServerCpp"}))
    assert demo["vendor"].value == "Unified Automation" and demo["category"].value == "ot"
    assert CLASSIFIER.classify(_server(opcua__product_uri={"urn:prosysopc.com:OPCUA:SimulationServer"}))[
        "vendor"].value == "Prosys OPC"
    kep = CLASSIFIER.classify(_server(opcua__application_uri={"urn:SCADA-01:Kepware.KEPServerEX.V6:UA%20Server"}))
    assert (kep["vendor"].value, kep["model"].value) == ("Kepware", "KEPServerEX V6") and "device_type" not in kep
    # a client's software names no vendor of its host
    assert "vendor" not in CLASSIFIER.classify(Device(key="ip:10.0.0.8", first_seen=0.0, last_seen=0.0, attributes={
        "opcua.client_product_uri": {"urn:UnifiedAutomation:UaExpert"}}))
