"""LLDP, DHCPv6 and Beckhoff CX evidence (kb/data/rules/lldp.yaml, dhcp.yaml, ssdp.yaml, ot.yaml): the enabled
LLDP capabilities weigh under the System Description rules and never turn a phone into a switch; switch and
access point System Descriptions name vendor, model and firmware; Windows' DHCPv6 vendor class names the OS;
a Beckhoff CX embedded PC is a PLC by its UPnP cxconfig service and, more weakly, by its default NetBIOS name.
Real captures from ../shared/data (ics_iti) check the same end to end."""

from __future__ import annotations

import pytest

from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import MIN_CONFIDENCE, Classifier, DeviceClassifier
from iotwarden.model import Device
from tests.conftest import shared
from tests.risk.harness import run_capture

CLASSIFIER = Classifier()
LOCAL_MAC = "02:00:00:00:00:31"  # locally administered: the IEEE registry names no vendor


def device(**attributes: list[str]) -> Device:
    dev = Device(key=f"mac:{LOCAL_MAC}", first_seen=0.0, last_seen=0.0, mac=LOCAL_MAC)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(values)
    return dev


def value(dev: Device, prop: str) -> str | None:
    found = CLASSIFIER.classify(dev).get(prop)
    return found.value if found else None


def rules(dev: Device, prop: str) -> set[str]:
    found = CLASSIFIER.classify(dev).get(prop)
    return {str(e["rule_id"]) for e in found.evidence if e["agrees"]} if found else set()


# ---- enabled capabilities (IEEE 802.1AB-2016 §8.5.8.2) ----

@pytest.mark.parametrize(("capabilities", "dtype", "category"), [
    (["router"], "router", "network"),
    (["telephone"], "voip_phone", "iot"),
    (["bridge", "telephone"], "voip_phone", "iot"),  # an IP phone bridges its PC port: still a phone
    (["docsis_cable_device"], None, "network"),  # no cable modem type in the taxonomy: the category only
    (["bridge"], None, None),  # Linux hosts with a software bridge announce it: too weak alone
    (["wlan_access_point"], None, None),  # lldpd enables it for any wireless interface
    (["station_only"], None, None),
])
def test_enabled_capabilities_alone(capabilities: list[str], dtype: str | None, category: str | None) -> None:
    dev = device(lldp__enabled_capabilities=capabilities)
    assert value(dev, "device_type") == dtype
    assert value(dev, "category") == category


def test_capability_weights_stay_under_the_description_rules() -> None:
    kb = CLASSIFIER.kb
    caps = [r for r in kb.rules if r.attribute == "lldp.enabled_capabilities"]
    descriptions = [r for r in kb.rules
                    if r.attribute == "lldp.system_description" and r.conclusions.get("device_type")]
    assert {r.values[0] for r in caps} == {"router", "wlan_access_point", "telephone", "docsis_cable_device", "bridge"}
    assert max(r.weight for r in caps) < min(r.weight for r in descriptions)
    assert all(r.weight < MIN_CONFIDENCE for r in caps if r.values[0] in ("bridge", "wlan_access_point"))


def test_a_weak_capability_is_kept_as_evidence_beside_a_stronger_one() -> None:
    # a layer-3 switch enabling Bridge and Router, without a System Description: both are network evidence, router wins
    dev = device(lldp__enabled_capabilities=["bridge", "router"])
    assert value(dev, "device_type") == "router"
    assert rules(dev, "category") >= {"lldp.cap.bridge", "lldp.cap.router"}


def test_a_polycom_phone_bridging_its_pc_port_stays_a_phone() -> None:
    dev = device(lldp__enabled_capabilities=["bridge", "telephone"],
                 lldp__system_description=["Polycom;VVX-VVX_450;3111-48450-001,1;SIP/6.4.3.5018/17-Jun-21 09:46"])
    assert (value(dev, "vendor"), value(dev, "device_type")) == ("Polycom", "voip_phone")


def test_the_system_capabilities_are_not_matched() -> None:
    # what a device could do (§8.5.8.1) is not what it does: a workstation's lldpd lists bridge, wlan and router
    dev = device(lldp__capabilities=["bridge", "wlan_access_point", "router", "station_only"],
                 lldp__enabled_capabilities=["station_only"])
    assert value(dev, "device_type") is None


# ---- System Descriptions of switches and access points ----

@pytest.mark.parametrize(("description", "vendor", "model", "dtype", "firmware"), [
    ("Siemens, SIMATIC NET, SCALANCE X212-2, 6GK5 212-2BB00-2AA3, HW: 7, FW: V4.02",
     "Siemens", "SCALANCE X212-2", "industrial_switch", "V4.02"),
    ("Siemens, SIMATIC NET, SCALANCE XR524-8C 2PS, 6GK5 524-8GS00-4AR2, HW: Version 1, FW: Version V06.02.02, "
     "SVPK2138923",
     "Siemens", "SCALANCE XR524-8C 2PS", "industrial_switch", "V06.02.02"),
    ("Siemens, SIMATIC NET, SCALANCE XC208, 6GK5 208-0BA00-2AC2, HW: 3, FW: V4.4",
     "Siemens", "SCALANCE XC208", "industrial_switch", "V4.4"),
    ("Siemens, SIMATIC NET, SCALANCE W788-2 M12, 6GK5 788-2GD00-0AA0, HW: Version 3, FW: Version V06.03.00",
     "Siemens", "SCALANCE W788-2 M12", "access_point", "V06.03.00"),
    ("Siemens AG SIMATIC S7 MULTIPORT SCALANCE X 200 FAM", "Siemens", "SCALANCE X-200", "industrial_switch", None),
    ("Hirschmann MAR - SW: L2P-09.0.00", "Hirschmann", "MAR", "industrial_switch", "L2P-09.0.00"),
    ("ProCurve J4906A Switch 3400cl-48G, revision M.10.06, ROM I.08.11 (/sw/code/build/makf(ts_08_5))",
     "HP", "ProCurve 3400cl-48G", "switch", "M.10.06"),
    ("ProCurve J9148A 2910al-48G-PoE Switch, revision W.14.49, ROM W.14.04 (/sw/code/build/sbm(t4a))",
     "HP", "ProCurve 2910al-48G-PoE", "switch", "W.14.49"),
    ("EdgeSwitch 24-Port Lite, 1.7.1.4993748, Linux 3.6.5", "Ubiquiti", "EdgeSwitch 24-Port Lite", "switch", None),
    ("USW-24-PoE, 6.5.59.14777, Linux 3.6.5", "Ubiquiti", "USW-24-PoE", "switch", None),
    ("Cisco IOS Software, IE4000 Software (IE4000-UNIVERSALK9-M), Version 15.2(7)E4, RELEASE SOFTWARE (fc2)",
     "Cisco", "IE4000", "industrial_switch", None),
    ("ExtremeXOS (X440G2-24x-10G4) version 21.1.3.7 21.1.3.7 by release-manager on Mon Jan 30 10:47:48 EST 2017",
     "Extreme Networks", "X440G2-24x-10G4", "switch", None),
    ("Meraki MS220-8P Cloud Managed Switch", "Meraki", "MS220-8P", "switch", None),
    ("Meraki MR33 Cloud Managed AP", "Meraki", "MR33", "access_point", None),
    ("JetStream 24-Port Gigabit L2 Managed Switch with 4 SFP Slots", "TP-Link", None, "switch", None),
])
def test_switch_and_access_point_descriptions(description: str, vendor: str, model: str | None, dtype: str,
                                              firmware: str | None) -> None:
    dev = device(lldp__system_description=[description])
    assert (value(dev, "vendor"), value(dev, "model"), value(dev, "device_type")) == (vendor, model, dtype)
    assert value(dev, "firmware") == firmware


def test_extremexos_names_its_os_and_version() -> None:
    dev = device(lldp__system_description=["ExtremeXOS (X440G2-12p-10G4) version 31.7.1.4 31.7.1.4-patch1-36 by "
                                           "release-manager on Thu Jul 21 10:39:54 EDT 2022"])
    assert (value(dev, "os"), value(dev, "os_version")) == ("ExtremeXOS", "31.7.1.4")


def test_a_plain_catalyst_banner_names_no_industrial_switch() -> None:
    dev = device(lldp__system_description=[
        "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(2)E7, RELEASE SOFTWARE (fc3)"])
    assert value(dev, "vendor") == "Cisco"
    assert value(dev, "device_type") is None


@pytest.mark.parametrize("description", [
    "Dell Inc. OptiPlex 990,01,G22XB2S + HMI",  # a workstation's own text (ics_iti Profinet_Failed.pcap)
    "Ubuntu 14.04.5 LTS Linux 3.13.0-106-generic #153-Ubuntu SMP Tue Dec 6 15:45:13 UTC 2016 i686",
    "Siemens, SIMATIC NET",  # no product named
])
def test_descriptions_naming_no_switch_give_no_type(description: str) -> None:
    assert value(device(lldp__system_description=[description]), "device_type") is None


# ---- DHCPv6 vendor class (RFC 8415 §21.16) ----

def test_windows_dhcpv6_vendor_class_names_windows_like_dhcpv4() -> None:
    v6 = device(dhcpv6__vendor_class=["MSFT 5.0"])
    v4 = device(dhcp__vendor_class=["MSFT 5.0"])
    assert value(v6, "os") == value(v4, "os") == "Windows"
    assert CLASSIFIER.classify(v6)["os"].confidence == CLASSIFIER.classify(v4)["os"].confidence
    assert value(device(dhcpv6__vendor_class=["dhcpcd-9.4.1"]), "os") != "Windows"


# ---- Beckhoff CX embedded PCs ----

def test_beckhoff_cxconfig_service_is_a_plc() -> None:
    dev = device(ssdp__nt=["urn:beckhoff.com:service:cxconfig:1"],
                 ssdp__server=["Microsoft-WinCE/6.00 UPnP/1.0 UPnP-Device-Host/1.0"])
    assert (value(dev, "vendor"), value(dev, "device_type"), value(dev, "category")) == ("Beckhoff", "plc", "ot")


def test_beckhoff_cx_default_netbios_name_is_weaker() -> None:
    by_name = CLASSIFIER.classify(device(netbios__name=["CX_0D7560"]))
    by_service = CLASSIFIER.classify(device(ssdp__nt=["urn:beckhoff.com:service:cxconfig:1"]))
    assert by_name["device_type"].value == "plc"
    assert by_name["device_type"].confidence < by_service["device_type"].confidence
    assert value(device(netbios__name=["CX_OFFICE"]), "device_type") is None  # not six hex digits
    assert value(device(netbios__name=["CX_0D75601"]), "device_type") is None


# ---- real captures (ics_iti, ../shared/data) ----

def _devices(*parts: str) -> dict[str, Device]:
    ctx = run_capture(shared("pcaps", "ics_iti", "pcaps", *parts), [InventoryBuilder(), DeviceClassifier()])
    return ctx.devices


def _summary(dev: Device) -> tuple[str | None, ...]:
    c = dev.classification
    return tuple(c[p].value if p in c else None for p in ("vendor", "model", "device_type", "firmware", "category"))


def test_scalance_x200_switch_in_a_profinet_capture() -> None:
    devices = _devices("profinet", "Profinet_Failed.pcap")
    switch = devices["mac:00:1b:1b:34:34:ce"]
    assert switch.attributes["lldp.enabled_capabilities"] == {"station_only"}
    assert _summary(switch) == ("Siemens", "SCALANCE X-200", "industrial_switch", None, "ot")
    scada = devices["mac:00:10:18:cb:8c:03"]  # the Dell OptiPlex HMI PC announcing itself by LLDP
    assert "device_type" not in scada.classification


def test_scalance_x212_model_and_firmware_in_a_modbus_capture() -> None:
    switch = _devices("ModbusTCP", "mb2.pcap")["mac:00:1b:1b:02:e6:1f"]
    assert _summary(switch) == ("Siemens", "SCALANCE X212-2", "industrial_switch", "V4.02", "ot")
    assert {"lldp.descr.scalance_switch", "lldp.descr.scalance_firmware"} <= {
        str(e["rule_id"]) for p in ("model", "firmware") for e in switch.classification[p].evidence}


def test_hirschmann_switch_in_a_synchrophasor_capture() -> None:
    switch = _devices("C37.118", "C37118", "c37_pmu_unclean.pcap")["mac:ec:e5:55:ea:39:3e"]
    assert _summary(switch) == ("Hirschmann", "MAR", "industrial_switch", "L2P-09.0.00", "ot")


def test_beckhoff_cx_by_ssdp_and_netbios_and_windows_hosts_by_dhcpv6() -> None:
    cx = _devices("beckoff", "beckoffiplinktc3.pcapng")["mac:00:01:05:0d:75:60"]
    assert (cx.classification["vendor"].value, cx.classification["device_type"].value) == ("Beckhoff", "plc")
    assert {str(e["rule_id"]) for e in cx.classification["device_type"].evidence} >= {
        "ssdp.type.beckhoff_cxconfig", "netbios.name.beckhoff_cx"}
    devices = _devices("beckoff", "addroute1.pcapng")
    assert devices["mac:00:01:05:0d:75:60"].classification["device_type"].value == "plc"  # NetBIOS and MAC only
    for mac in ("00:21:5c:c3:05:be", "f0:76:1c:a8:6d:8e"):  # Windows hosts soliciting DHCPv6
        assert devices[f"mac:{mac}"].classification["os"].value == "Windows"
    assert "device_type" not in devices["mac:b8:ae:ed:7e:1b:4c"].classification  # the PC that asked for CX_0D7560


def test_rule_references_are_stated() -> None:
    ids = ("lldp.cap.", "lldp.descr.scalance", "lldp.descr.hirschmann", "lldp.descr.procurve", "lldp.descr.edgeswitch",
           "lldp.descr.unifi", "lldp.descr.cisco_ie", "lldp.descr.extremexos", "lldp.descr.meraki",
           "lldp.descr.tplink", "dhcpv6.vendor_class.msft", "ssdp.type.beckhoff",
           "netbios.name.beckhoff")
    mine = [r for r in CLASSIFIER.kb.rules if r.id.startswith(ids)]
    assert len(mine) >= 19
    assert all(len(r.reference) > 30 for r in mine)

