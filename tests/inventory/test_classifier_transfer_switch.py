"""APC's automatic transfer switches (issue #3, rules/enterprise.yaml, taxonomy transfer_switch): they answer under
APC's enterprise number 318 (which names the vendor alone; its UPS arcs a UPS: snmp.oid.apc_ups) with their own
PowerNet-MIB arcs (318.1.3.11, .32, .38) and a card naming its ATS application (AN1:apc_hw05_ats4g_...); a transfer
switch holds no battery, so it is no UPS. The UPSs stay UPSs, and the arcs that only begin with the same digits are
no transfer switches."""

from __future__ import annotations

import pytest

from iotwarden.kb.taxonomy import Taxonomy
from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

# Checkmk's apc_ats_output test walk: the AP4421 rack ATS
AP4421 = ("APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 PN:apc_hw05_aos_696.bin AF1:v6.9.6 "
          "AN1:apc_hw05_ats4g_696.bin MN:AP4421 HR:R01 SN: 5A2143T95739 MD:10/31/2021)")
UPS_CARD = ("APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 PN:apc_hw05_aos_682.bin AF1:v6.8.0 "
            "AN1:apc_hw05_sumx_682.bin MN:AP9631 HR:05 SN: {sn} MD:01/01/2019)")


def test_the_taxonomy_has_a_transfer_switch_beside_ups_and_pdu() -> None:
    taxonomy = Taxonomy.load()
    found = taxonomy.get("transfer_switch")
    assert found is not None and found.category == "it" and taxonomy.ancestors("transfer_switch") == []
    assert taxonomy.resolve("Automatic Transfer Switch") == taxonomy.resolve("ATS") == "transfer_switch"
    assert taxonomy.category_of("ups") == taxonomy.category_of("pdu") == found.category  # the power kinds together


@pytest.mark.parametrize("oid", [
    "1.3.6.1.4.1.318.1.3.11",  # PowerNet-MIB automaticXferSwitch (NUT apc-ats-mib.c)
    "1.3.6.1.4.1.318.1.3.32",  # the AP44xx rack ATS (Checkmk's walk)
    "1.3.6.1.4.1.318.1.3.38",
])
def test_an_apc_ats_s_sys_object_id_names_a_transfer_switch(oid: str) -> None:
    dev = stating(snmp__sys_object_id=oid)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["category"]) == ("APC", "transfer_switch", "it")
    assert "snmp.oid.apc_ats" in rules_for(dev, "device_type")


def test_an_apc_card_naming_its_ats_application_is_a_transfer_switch_not_a_ups() -> None:
    both = stating(snmp__sys_descr=AP4421, snmp__sys_object_id="1.3.6.1.4.1.318.1.3.32")
    assert (concluded(both)["vendor"], concluded(both)["device_type"]) == ("APC", "transfer_switch")
    assert {"snmp.oid.apc_ats", "snmp.descr.apc_ats"} <= rules_for(both, "device_type")
    alone = stating(snmp__sys_descr=AP4421)
    assert concluded(alone)["device_type"] == "transfer_switch"
    assert "snmp.descr.apc" not in rules_for(alone, "vendor")  # the UPS reading leaves it alone


@pytest.mark.parametrize(("oid", "kind"), [
    ("1.3.6.1.4.1.318.1.3.110", None),  # begins with the digits of .11, another arc: APC alone (no UPS lean any more)
    ("1.3.6.1.4.1.318.1.3.320", None),  # likewise .32
    ("1.3.6.1.4.1.318.1.3.2.12", "ups"),  # a Smart-UPS
])
def test_other_apc_arcs_are_no_transfer_switch(oid: str, kind: str | None) -> None:
    dev = stating(snmp__sys_object_id=oid)
    assert (concluded(dev)["vendor"], concluded(dev).get("device_type")) == ("APC", kind)
    assert "snmp.oid.apc_ats" not in rules_for(dev, "vendor")


def test_a_ups_card_is_no_ats_for_an_ats_in_another_field() -> None:
    # only the AN1 application counts: a serial holding 'ats4g_' says nothing
    dev = stating(snmp__sys_descr=UPS_CARD.format(sn="ats4g_1"), snmp__sys_object_id="1.3.6.1.4.1.318.1.3.2.12")
    assert concluded(dev)["device_type"] == "ups"
