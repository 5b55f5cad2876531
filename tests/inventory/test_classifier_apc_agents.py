"""APC's agents that are no UPS (issue #3, rules/enterprise.yaml): environmental monitors (NetBotz, the EMU) and
InRow cooling answer under APC's enterprise number 318 (the vendor alone; its UPS arcs: snmp.oid.apc_ups) with
their own PowerNet-MIB product arcs and card applications; and the UPSs that must stay UPSs. Also the two ODVA
vendor ids whose registered names differ only in a legal form (rules/enip_vendors.yaml, bench/ot_vendor_ids.py)."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

NMC = "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 PN:apc_hw05_aos_682.bin AF1:v6.8.0 AN1:apc_hw05_{app}.bin "


# ---- environmental monitors -------------------------------------------------------------------------------

@pytest.mark.parametrize("oid", [
    "1.3.6.1.4.1.318.1.3.8.4",  # mem: a NetBotz 200 / EMU (LibreNMS' APC detection test)
    "1.3.6.1.4.1.318.1.3.8.5",  # a NetBotz 250 (Checkmk apc_netbotz walk)
    "1.3.6.1.4.1.318.1.3.8.1",  # PowerNet-MIB monitors.environmental
])
def test_an_apc_environmental_monitor_s_sys_object_id_names_a_sensor(oid: str) -> None:
    dev = stating(snmp__sys_object_id=oid)
    assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("APC", "sensor")
    assert "snmp.oid.apc_environmental_monitor" in rules_for(dev, "device_type")


@pytest.mark.parametrize("descr", [
    NMC.format(app="nb250_680") + "MN:NBRK0250 HR:HW05 SN: QA1943170153 MD:10/24/2019)",
    "APC Web/SNMP Management Card (MB:v3.8.6 PF:v3.5.7 PN:apc_hw03_aos_357.bin AF1:v3.5.6 "
    "AN1:apc_hw03_mem_356.bin MN:AP9340 HR:05 SN: ZA0723023958 MD:06/11/2007)",
    "APC Environmental Manager (MB:v3.8.0 PF:v3.0.3 PN:apc_hw03_aos_303.bin AF1:v3.0.4 AN1:apc_hw03_mem_304.bin "
    "MN:AP9340 HR:05 SN: IA0711004586 MD:03/16/2007)",
])
def test_an_apc_card_naming_its_monitor_application_is_a_sensor_not_a_ups(descr: str) -> None:
    # beside APC's enterprise (318, its UPS lean) and the card's generic sysObjectID
    dev = stating(snmp__sys_descr=descr, snmp__sys_object_id="1.3.6.1.4.1.318.1.3.8.4")
    assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("APC", "sensor")
    alone = stating(snmp__sys_descr=descr)
    assert concluded(alone)["device_type"] == "sensor"
    assert "snmp.descr.apc" not in rules_for(alone, "vendor")  # the UPS reading leaves it alone


# ---- InRow cooling ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("oid", ["1.3.6.1.4.1.318.1.3.14.5", "1.3.6.1.4.1.318.1.3.14.15", "1.3.6.1.4.1.318.1.3.14"])
def test_an_apc_cooling_unit_s_sys_object_id_names_an_hvac_controller(oid: str) -> None:
    dev = stating(snmp__sys_object_id=oid)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["category"]) == ("APC", "hvac_controller", "building")
    assert "snmp.oid.apc_cooling" in rules_for(dev, "device_type")


# PowerNet-MIB networkAir's InRow arcs name the series (airIRSC100Series .14.4 ... airIRRP500Series .14.7). The
# unit's network management card answers a sysDescr of the same form as a UPS card's; whatever application it names,
# one snmp.descr.apc does not leave alone, the card's UPS reading must not outweigh the unit's own sysObjectID.
INROW_CARD = NMC.format(app="acxx_711") + "MN:AP9631 HR:05 SN: ZA1234 MD:01/01/2021)"


@pytest.mark.parametrize(("oid", "model"), [
    ("1.3.6.1.4.1.318.1.3.14.4", "InRow SC 100"),
    ("1.3.6.1.4.1.318.1.3.14.5", "InRow RC 100"),
    ("1.3.6.1.4.1.318.1.3.14.6", "InRow RP 100"),
    ("1.3.6.1.4.1.318.1.3.14.7", "InRow RP 500"),
])
def test_an_inrow_unit_is_no_ups_beside_its_card_s_sys_descr(oid: str, model: str) -> None:
    assert "snmp.descr.apc" in rules_for(stating(snmp__sys_descr=INROW_CARD), "device_type")  # the card alone: a UPS
    for dev in (stating(snmp__sys_object_id=oid, snmp__sys_descr=INROW_CARD), stating(snmp__sys_object_id=oid)):
        found = concluded(dev)
        assert (found["vendor"], found["device_type"], found["model"]) == ("APC", "hvac_controller", model)
        assert "snmp.descr.apc" not in rules_for(dev, "device_type")


# ---- what stays a UPS -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("oid", "descr"), [
    ("1.3.6.1.4.1.318.1.3.2.12", NMC.format(app="sumx_682") + "MN:AP9631 HR:05 SN: ZA1234 MD:01/01/2019)"),
    ("1.3.6.1.4.1.318.1.3.27", ""),  # the AP9631 UPS card's arc (snmp.oid.apc_ups)
])  # arcs such as .80 and .140, no UPS's, name APC alone: tests/inventory/test_classifier_apc_arcs.py
def test_an_apc_ups_stays_a_ups(oid: str, descr: str) -> None:
    dev = stating(snmp__sys_object_id=oid, **({"snmp__sys_descr": descr} if descr else {}))
    assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("APC", "ups")


def test_an_nmc_of_a_ups_is_no_monitor_for_an_nb_in_another_field() -> None:
    # only the AN1 application counts: a model or serial holding 'nb250' says nothing
    descr = NMC.format(app="sumx_682") + "MN:AP9631 HR:05 SN: nb250_mem_1 MD:01/01/2019)"
    assert concluded(stating(snmp__sys_descr=descr))["device_type"] == "ups"


# ---- ODVA vendor ids 72 and 254 ---------------------------------------------------------------------------

def test_the_two_control_technology_registrants_are_two_vendors() -> None:
    # ODVA 72 'Control Technology Incorporated' and 254 'Control Technology Corporation' are two companies, whose
    # names the vendor clean-up (legal forms dropped) made one
    incorporated = concluded(stating(enip__vendor_id="72"))
    corporation = concluded(stating(enip__vendor_id="254"))
    assert (incorporated["vendor"], corporation["vendor"]) == ("CTI", "Control Technology")
    assert incorporated["category"] == corporation["category"] == "ot"
