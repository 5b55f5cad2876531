"""Eaton's and CyberPower's automatic transfer switches by their sysObjectID (issue #3, rules/enterprise.yaml): Eaton's
ATS agents answer EATON's .534.10.1 (ATS 30) and .534.10.2 (ATS 16, Network-M2) as Network UPS Tools' drivers
detect them, CyberPower's the CPS-MIB ats arc .3808.1.1.5; their UPS and PDU arcs and arcs that only begin with the
same digits keep their kinds. Tripp Lite's card answers .850.1 on every kind: the vendor only."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating


@pytest.mark.parametrize(("oid", "vendor", "rule"), [
    ("1.3.6.1.4.1.534.10.1", "Eaton", "snmp.oid.eaton_ats"),  # NUT eaton-ats30-mib.c
    ("1.3.6.1.4.1.534.10.2", "Eaton", "snmp.oid.eaton_ats"),  # NUT eaton-ats16-nm2-mib.c
    ("1.3.6.1.4.1.534.10.2.1", "Eaton", "snmp.oid.eaton_ats"),  # an arc below it
    ("1.3.6.1.4.1.3808.1.1.5", "CyberPower", "snmp.oid.cyberpower_ats"),  # CPS-MIB ats; LibreNMS cyberpower
])
def test_an_ats_s_sys_object_id_names_a_transfer_switch(oid: str, vendor: str, rule: str) -> None:
    dev = stating(snmp__sys_object_id=oid)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["category"]) == (vendor, "transfer_switch", "it")
    assert rule in rules_for(dev, "device_type")


@pytest.mark.parametrize(("oid", "vendor", "kind"), [
    ("1.3.6.1.4.1.534.1", "Eaton", "ups"),  # XUPS-MIB
    ("1.3.6.1.4.1.534.6.6.7", "Eaton", "pdu"),  # Eaton ePDU G2/G3
    ("1.3.6.1.4.1.534.10", "Eaton", None),  # the arc above the ATS agents: the vendor only
    ("1.3.6.1.4.1.534.10.3", "Eaton", None),
    ("1.3.6.1.4.1.534.100.2", "Eaton", None),  # begins with the digits only
    ("1.3.6.1.4.1.705.1", "Eaton", "ups"),  # MGE's UPS arc, which a legacy ATS 16 card shares: left a UPS
    ("1.3.6.1.4.1.3808.1.1.1", "CyberPower", "ups"),
    ("1.3.6.1.4.1.3808.1.1.50", "CyberPower", None),
    ("1.3.6.1.4.1.850.1", "Tripp Lite", None),  # every Tripp Lite card: no kind
])
def test_other_power_arcs_keep_their_kinds(oid: str, vendor: str, kind: str | None) -> None:
    found = concluded(stating(snmp__sys_object_id=oid))
    assert found["vendor"] == vendor and found.get("device_type") == kind, found
