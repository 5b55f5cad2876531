"""Canon's imageCLASS / i-SENSYS MF printers by their sysDescr (issue #3, rules/snmp.yaml snmp.descr.canon): the MF
families write ' Series' between the model and ' /P' ('Canon MF4500 Series /P', the FusionInventory agent's SNMP
walk), which now names a Canon printer and the model without the word; the LBP and imageRUNNER forms read as
before, and a Canon text naming no printer model (a camera, the word Series alone) is no printer."""

from __future__ import annotations

import pytest

from iotwarden.kb import KnowledgeBase
from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating


@pytest.mark.parametrize(("descr", "model"), [
    ("Canon MF4500 Series /P", "MF4500"),  # FusionInventory agent canon/MF4500_Series_P.walk
    ("Canon MF620C Series /P", "MF620C"),
    ("Canon MF620C Series", "MF620C"),
    ("Canon LBP7660C /P", "LBP7660C"),  # canon/LBP7660C_P.walk: as before
    ("Canon iR-ADV C5535 /P", "iR-ADV C5535"),
])
def test_a_canon_sys_descr_names_the_printer_and_its_model(descr: str, model: str) -> None:
    dev = stating(snmp__sys_descr=descr)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Canon", "printer", model)
    assert "snmp.descr.canon" in rules_for(dev, "model")


@pytest.mark.parametrize("descr", ["Canon Series /P", "Canon MF Series /P", "Canon MF4500 Seriesx /P", "Canon EOS R5"])
def test_look_alikes_are_not_read(descr: str) -> None:
    assert [m.rule_id for m in KnowledgeBase.load().match("snmp.sys_descr", descr)] == []
