"""Tripp Lite's network agents by what they state (issue #3, brief E c; rules/enterprise.yaml snmp.pen.tripp_lite,
snmp.descr.tripp_lite_poweralert): the vendor, never a kind. Its PowerAlert agents answer the same sysObjectID
(.850.1, .850.1.1.1) and a sysDescr naming only the software on UPSs, PDUs and transfer switches alike; what tells
an ATS (tlpDeviceModel, the tlpAts table) is not read; the UPS-MIB upsIdentModel ('TRIPP LITE PDUMH20HVATNET') is,
by the snmp.ups_ident rules (tests/inventory/test_classifier_ups_ident.py)."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating


@pytest.mark.parametrize("descr", [
    "POWERALERT",  # LibreNMS' test data for its poweralert OS
    "PowerAlert",  # LibreNMS matches the word in any case
])
def test_a_poweralert_sys_descr_names_tripp_lite_and_no_kind(descr: str) -> None:
    dev = stating(snmp__sys_descr=descr)
    found = concluded(dev)
    assert found["vendor"] == "Tripp Lite" and found.get("device_type") is None
    assert rules_for(dev, "vendor") == {"snmp.descr.tripp_lite_poweralert"}


@pytest.mark.parametrize("oid", ["1.3.6.1.4.1.850.1", "1.3.6.1.4.1.850.1.1.1"])
def test_the_sys_descr_and_the_agent_s_oid_agree_on_the_vendor_only(oid: str) -> None:
    dev = stating(snmp__sys_descr="POWERALERT", snmp__sys_object_id=oid)
    found = concluded(dev)
    assert found["vendor"] == "Tripp Lite" and found.get("device_type") is None
    assert rules_for(dev, "vendor") == {"snmp.descr.tripp_lite_poweralert", "snmp.pen.tripp_lite"}


@pytest.mark.parametrize("descr", [
    "PowerAlerter 2.0",  # another word
    "Linux poweralert-host 5.15.0-91-generic #101-Ubuntu SMP x86_64",  # net-snmp's uname: a host merely named so
    "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 AN1:apc_hw05_sumx_682.bin MN:AP9631)",
])
def test_other_texts_are_no_poweralert_agent(descr: str) -> None:
    found = concluded(stating(snmp__sys_descr=descr))
    assert found.get("vendor") != "Tripp Lite", descr
