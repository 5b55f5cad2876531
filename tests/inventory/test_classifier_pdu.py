"""Rack PDUs (issue #3, taxonomy type ``pdu``): the sysObjectID subtree or sysDescr of a PDU agent names a PDU, over
its maker's enterprise-wide UPS lean (APC); a UPS of the same maker stays a UPS, and an agent that says nothing of
the kind keeps the vendor only."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

APC_MAC = "00:C0:B7:12:34:56"  # AMERICAN POWER CONVERSION CORP (IEEE MA-L 00C0B7): the block says UPS
RPDU_DESCR = ("APC Web/SNMP Management Card (MB:v3.9.2 PF:v3.7.4 PN:apc_hw02_aos_374.bin AF1:v3.7.4 "
              "AN1:apc_hw02_rpdu_374.bin MN:AP7920 HR:B2 SN: ZA0619025106 MD:05/08/2006)")
UPS_DESCR = ("APC Web/SNMP Management Card (MB:v3.9.2 PF:v3.7.3 PN:apc_hw02_aos_373.bin AF1:v3.7.3 "
             "AN1:apc_hw02_sumx_373.bin MN:AP9619 HR:A10 SN: ZA0000000000 MD:06/28/2006)")


@pytest.mark.parametrize(("oid", "vendor", "rule"), [
    ("1.3.6.1.4.1.318.1.3.4.4", "APC", "snmp.oid.apc_pdu"),  # APC rPDU (NUT apc-pdu-mib.c)
    ("1.3.6.1.4.1.318.1.3.4.5", "APC", "snmp.oid.apc_pdu"),  # APC rPDU2
    ("1.3.6.1.4.1.318.1.3.4.9", "APC", "snmp.oid.apc_pdu"),  # APC Easy ePDU (NUT apc-epdu-mib.c)
    ("1.3.6.1.4.1.534.6.6.7", "Eaton", "snmp.oid.eaton_epdu"),  # Eaton ePDU (NUT eaton-pdu-marlin-mib.c)
    ("1.3.6.1.4.1.13742.6", "Raritan", "snmp.oid.raritan_pdu"),  # Raritan PX2/PX3 (PDU2-MIB)
    ("1.3.6.1.4.1.13742.4", "Raritan", "snmp.oid.raritan_pdu"),  # Raritan Dominion PX (PDU-MIB)
    ("1.3.6.1.4.1.1718.4", "ServerTech", "snmp.oid.servertech_pdu"),  # ServerTech Sentry4
    ("1.3.6.1.4.1.1718.3", "ServerTech", "snmp.oid.servertech_pdu"),  # ServerTech Sentry3
])
def test_a_pdu_agent_s_sys_object_id_names_a_pdu(oid: str, vendor: str, rule: str) -> None:
    dev = stating(snmp__sys_object_id=oid)
    found = concluded(dev)
    assert (found.get("vendor"), found.get("device_type"), found.get("category")) == (vendor, "pdu", "it")
    assert rule in rules_for(dev, "device_type")


def test_an_apc_rack_pdu_is_a_pdu_whatever_apc_s_ups_leans_say() -> None:
    # the enterprise number (UPS 0.8), the card's product name and APC's MAC block (UPS 0.7) all lean to a UPS
    dev = stating(APC_MAC, snmp__sys_object_id="1.3.6.1.4.1.318.1.3.4.5", snmp__sys_descr=RPDU_DESCR)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"]) == ("APC", "pdu")
    assert {"snmp.oid.apc_pdu", "snmp.descr.apc_pdu"} <= rules_for(dev, "device_type")
    # its sysDescr alone, on APC's block, says so too
    assert concluded(stating(APC_MAC, snmp__sys_descr=RPDU_DESCR))["device_type"] == "pdu"
    assert concluded(stating(snmp__sys_descr="APC Switched Rack PDU"))["device_type"] == "pdu"


def test_an_apc_ups_stays_a_ups() -> None:
    dev = stating(APC_MAC, snmp__sys_object_id="1.3.6.1.4.1.318.1.3.2.12", snmp__sys_descr=UPS_DESCR)
    assert (concluded(dev)["vendor"], concluded(dev)["device_type"]) == ("APC", "ups")
    assert {"snmp.oid.apc_ups", "snmp.descr.apc"} <= rules_for(dev, "device_type")
    assert concluded(stating(snmp__sys_descr=UPS_DESCR))["device_type"] == "ups"
    assert concluded(stating(APC_MAC))["device_type"] == "ups"  # the block alone, as before


def test_agents_that_do_not_state_a_pdu_name_no_pdu() -> None:
    # Raritan's EMX environment monitor; a Geist agent whose sysDescr is no RCM PDU (its monitors share 21239.2)
    for oid, descr, vendor in (("1.3.6.1.4.1.13742.8", "", "Raritan"),
                               ("1.3.6.1.4.1.21239.2", "GEIST WD100", None),
                               ("1.3.6.1.4.1.318.1.3.40", "", "APC")):  # another arc than 318.1.3.4
        found = concluded(stating(snmp__sys_object_id=oid, **({"snmp__sys_descr": descr} if descr else {})))
        assert found.get("device_type") != "pdu", oid
        assert found.get("vendor") == vendor, oid
    found = concluded(stating(snmp__sys_object_id="1.3.6.1.4.1.21239.2.1", snmp__sys_descr="RCM-O"))
    assert (found["vendor"], found["device_type"]) == ("Vertiv", "pdu")
