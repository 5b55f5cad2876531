"""An APC product that is no UPS is no UPS by its network card's sysDescr (issue #3, B's review): the card of a
NetworkAIR cooling unit, a rack PDU, a monitor or an ATS answers 'APC Web/SNMP Management Card (... AN1:<its
application> ...)' as a UPS's card does; snmp.descr.apc (rules/snmp.yaml) reads that text as a UPS's unless the
device's sysObjectID is one of APC's arcs that are no UPS (rules/enterprise.yaml), a schema ``unless``."""

from __future__ import annotations

import pytest

from iotwarden.inventory.classifier import Classifier
from iotwarden.kb import KnowledgeBase
from iotwarden.model import Device
from tests.inventory.test_classifier_enterprise import stating

APC_MAC = "00:c0:b7:00:00:01"  # American Power Conversion (IEEE MA-L 00C0B7)
RULE = "snmp.descr.apc"


def card(application: str, model: str) -> str:
    """An NMC's sysDescr (PowerNet-MIB agents; the layout of Checkmk's and LibreNMS's walks)."""
    return (f"APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.5.6 PN:apc_hw05_aos_656.bin AF1:v6.5.6 "
            f"AN1:apc_hw05_{application}_656.bin MN:{model} HR:05 SN: ZA1234567890 MD:01/02/2020)")


def classify(dev: Device) -> tuple[dict[str, str], set[str]]:
    found = Classifier().classify(dev)
    return {k: c.value for k, c in found.items()}, {m.rule_id for m in KnowledgeBase.load().match_device(
        dev.attributes, dev.mac)}


# (sysObjectID, a card application the UPS rule's look-ahead does not know, model, the kind the arc states)
NOT_UPS = [
    ("1.3.6.1.4.1.318.1.3.14.5", "acrc", "ACRC301S", "hvac_controller"),  # InRow RC (networkAir .5)
    ("1.3.6.1.4.1.318.1.3.14.1", "acfm", "ACFM", "hvac_controller"),  # another networkAir agent
    ("1.3.6.1.4.1.318.1.3.4.9", "epdu", "AP8853", "pdu"),  # an ePDU whose card names no rpdu/ms
    ("1.3.6.1.4.1.318.1.3.8.5", "nbrk", "NBRK0250", "sensor"),  # a monitor
    ("1.3.6.1.4.1.318.1.3.11", "xfer", "AP7723", "transfer_switch"),  # the ATS arcs
    ("1.3.6.1.4.1.318.1.3.32", "xfer", "AP4421", "transfer_switch"),
    ("1.3.6.1.4.1.318.1.3.38", "xfer", "AP4424", "transfer_switch"),
]


@pytest.mark.parametrize(("oid", "app", "model", "kind"), NOT_UPS)
def test_a_non_ups_arc_takes_the_card_s_ups_reading_away(oid: str, app: str, model: str, kind: str) -> None:
    dev = stating(APC_MAC, snmp__sys_object_id=oid, snmp__sys_descr=card(app, model))
    found, rules = classify(dev)
    assert RULE not in rules
    assert found["vendor"] == "APC" and found["device_type"] == kind, found


@pytest.mark.parametrize(("oid", "app"), [("1.3.6.1.4.1.318.1.3.27", "sumx"), ("1.3.6.1.4.1.318.1.3.2.12", "sy"),
                                          ("1.3.6.1.4.1.318.1.3.5.1", "sumx")])
def test_a_ups_card_is_still_a_ups(oid: str, app: str) -> None:
    dev = stating(APC_MAC, snmp__sys_object_id=oid, snmp__sys_descr=card(app, "AP9631"))
    found, rules = classify(dev)
    assert RULE in rules and (found["vendor"], found["device_type"]) == ("APC", "ups")


def test_the_card_text_alone_is_still_a_ups() -> None:
    found, rules = classify(stating(APC_MAC, snmp__sys_descr=card("sumx", "AP9631")))
    assert RULE in rules and found["device_type"] == "ups"
