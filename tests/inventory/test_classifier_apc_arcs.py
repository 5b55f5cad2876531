"""APC's enterprise number names the vendor, its UPS arcs the kind (issue #3, brief E c; rules/snmp.yaml snmp.pen.apc,
rules/enterprise.yaml snmp.oid.apc_ups).

APC's agents answer under PowerNet-MIB products.system, 318.1.3.<n>, one arc per product family: UPSs, but also
redundant switches, DC power plants, NetLock, console port servers, access control, and the PDUs, monitors, ATSs and
cooling that have rules of their own (Opmantek/open-audit snmp_318_helper.php lists the arcs). Until now the
enterprise number alone leaned to a UPS (0.8), so an agent of any arc no rule named was typed a UPS."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

APC = "1.3.6.1.4.1.318.1.3."


@pytest.mark.parametrize("arc", [
    "1",  # backUPS
    "2.12",  # Smart-UPS 3000 (NUT apc-mib.c's list of reported sysObjectIDs)
    "2.7",  # Smart-UPS 450 (likewise)
    "3.1",  # Matrix-UPS 3000
    "5.1",  # Symmetra-UPS 4kVA
    "13.1",  # Symmetra 3-phase 40kVA
    "16.3",  # AIS 5000 30kVA
    "17.2",  # Smart-UPS 3-phase 15kVA
    "27",  # the AP9631 UPS network management card (NUT apc-mib.c)
    "28.36",  # Galaxy VM 50kVA
])
def test_an_apc_ups_arc_names_a_ups(arc: str) -> None:
    dev = stating(snmp__sys_object_id=APC + arc)
    assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("APC", "ups")
    assert "snmp.oid.apc_ups" in rules_for(dev, "device_type")
    assert "snmp.pen.apc" not in rules_for(dev, "device_type")


@pytest.mark.parametrize("arc", [
    "9",  # redundantSwitch
    "10.1",  # dcPower: a DC power plant's controller
    "12",  # netLock
    "20.1",  # conPortServ AP930x: a console port server
    "22.1",  # accControl: NetBotz access control
    "40",  # an arc no table names
    "80",  # begins with the digits of .8 (monitors) but is another arc
    "140",  # likewise .14 (cooling)
    "110",  # likewise .11 (ATS)
    "270",  # likewise .27, a UPS arc
    "20",  # begins with the digit of .2 (smartUPS)
])
def test_an_apc_agent_of_another_arc_is_apc_with_no_kind(arc: str) -> None:
    dev = stating(snmp__sys_object_id=APC + arc)
    found = concluded(dev)
    assert found["vendor"] == "APC"
    assert found.get("device_type") is None, arc
    assert "snmp.oid.apc_ups" not in rules_for(dev, "vendor")


def test_the_enterprise_number_names_apc_alone() -> None:
    dev = stating(snmp__sys_object_id="1.3.6.1.4.1.318")
    assert concluded(dev)["vendor"] == "APC" and concluded(dev).get("device_type") is None
    assert rules_for(dev, "vendor") == {"snmp.pen.apc"}


def test_the_other_kinds_of_apc_agents_keep_their_kinds() -> None:
    # now with no UPS lean beside them to outweigh
    for oid, kind in (("4.5", "pdu"), ("8.4", "sensor"), ("11", "transfer_switch"), ("32", "transfer_switch"),
                      ("14.5", "hvac_controller")):
        dev = stating(snmp__sys_object_id=APC + oid)
        assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("APC", kind), oid
        assert "snmp.oid.apc_ups" not in rules_for(dev, "vendor")
