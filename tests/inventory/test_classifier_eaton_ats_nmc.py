"""Eaton's ATS 16 on its legacy NMC card (issue #3, brief E c; rules/enterprise.yaml snmp.descr.eaton_ats and the
unless of snmp.oid.mge_ups). The card answers MGE's UPS arc 1.3.6.1.4.1.705.1 (Network UPS Tools
eaton-ats16-nmc-mib.c), so the switch was typed a UPS; its sysDescr names the ATS ('Eaton ATS 230V 16A', the
device of LibreNMS's eaton-ats detection test), which now types it and makes the UPS reading of the arc stand down."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

MGE_ARC = "1.3.6.1.4.1.705.1"


@pytest.mark.parametrize("descr", ["Eaton ATS 230V 16A", "Eaton ATS 16", "Eaton ATS"])
def test_the_nmc_card_of_an_eaton_ats_is_a_transfer_switch_not_a_ups(descr: str) -> None:
    dev = stating(snmp__sys_descr=descr, snmp__sys_object_id=MGE_ARC)
    assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("Eaton", "transfer_switch")
    assert rules_for(dev, "device_type") == {"snmp.descr.eaton_ats"}  # the arc's UPS reading stood down
    alone = stating(snmp__sys_descr=descr)
    assert concluded(alone)["device_type"] == "transfer_switch"


def test_the_network_m2_card_s_own_arc_and_the_sys_descr_agree() -> None:
    dev = stating(snmp__sys_descr="Eaton ATS 230V 16A", snmp__sys_object_id="1.3.6.1.4.1.534.10.2")
    assert concluded(dev)["device_type"] == "transfer_switch"
    assert {"snmp.descr.eaton_ats", "snmp.oid.eaton_ats"} <= rules_for(dev, "device_type")


@pytest.mark.parametrize("descr", [None, "Eaton 5PX 1500", "Galaxy 3000 10 kVA", "Eaton ATSX controller",
                                   "My Eaton ATS"])
def test_an_mge_ups_stays_a_ups(descr: str | None) -> None:
    # the arc alone, a UPS's own text, a word that only begins with ATS, the words not at the start
    dev = stating(snmp__sys_object_id=MGE_ARC, **({"snmp__sys_descr": descr} if descr else {}))
    assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("Eaton", "ups")
    assert "snmp.oid.mge_ups" in rules_for(dev, "device_type")
