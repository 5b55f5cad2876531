"""Industrial-PC makers' IEEE blocks (issue 3, follow-up of 66b04af): Ibase, congatec and Advantech build panel PCs,
box IPCs and embedded boards that run Windows as HMIs and station computers (rules/mac.yaml mac.vendor.ibase,
.congatec, .advantech, category ot at 0.2). Too weak to say a category alone, they keep a Windows
host on such a block from being made IT by its system (inventory/classifier.py IT_OS): ics_iti's SAS1 (Windows 2000,
Ibase) and PANELPC02 (Windows XP, congatec)."""

from __future__ import annotations

import pytest

from iotwarden.inventory.classifier import IT_OS_RULE
from iotwarden.inventory.weighing import MIN_CONFIDENCE
from tests.inventory.test_classifier_enterprise import _classifier, concluded, stating

WINDOWS_DHCP = {"dhcp__vendor_class": "MSFT 5.0", "dhcp__param_req_list": "1,3,6,15,31,33,43,44,46,47,119,121,249,252"}
BLOCKS = [
    ("00:03:2d:01:e4:74", "Ibase", "mac.vendor.ibase"),  # SAS1's MAC (ics_iti Sample_File_MMS_and_GOOSE.pcap)
    ("00:13:95:07:81:a1", "congatec", "mac.vendor.congatec"),  # PANELPC02's MAC (ics_iti mb2.pcap)
    ("00:d0:c9:12:34:56", "Advantech", "mac.vendor.advantech"),  # 'ADVANTECH CO., LTD.'
    ("00:0b:ab:12:34:56", "Advantech", "mac.vendor.advantech"),  # its subsidiary's block: one vendor (review R2)
]


@pytest.mark.parametrize(("mac", "vendor", "rule"), BLOCKS)
def test_the_block_leans_ot_and_concludes_no_category_alone(mac: str, vendor: str, rule: str) -> None:
    result = _classifier().classify(stating(mac))
    assert result["vendor"].value == vendor
    assert "category" not in result  # 0.2 is a hint, under the threshold
    weights = {e["rule_id"]: e["weight"] for e in _classifier().classify(stating(mac, service__client="modbus"))[
        "category"].evidence if e["agrees"]}
    assert rule in weights and float(str(weights[rule])) < MIN_CONFIDENCE


@pytest.mark.parametrize(("mac", "vendor", "rule"), BLOCKS)
def test_a_windows_host_on_the_block_is_not_made_it_by_its_system(mac: str, vendor: str, rule: str) -> None:
    found = concluded(stating(mac, **WINDOWS_DHCP))
    assert found["os"] == "Windows"
    assert "category" not in found
    assert concluded(stating(**WINDOWS_DHCP))["category"] == "it"  # the same host on no maker's block


def test_the_block_adds_to_ot_evidence_it_agrees_with() -> None:
    # a Windows panel PC polling PLCs: service.client.modbus (0.6) and the block both say ot, the system yields
    dev = stating("00:13:95:07:81:a1", **WINDOWS_DHCP, service__client="modbus")
    category = _classifier().classify(dev)["category"]
    assert category.value == "ot"
    rules = {e["rule_id"] for e in category.evidence}
    assert {"service.client.modbus", "mac.vendor.congatec"} <= rules and IT_OS_RULE not in rules


def test_another_maker_named_advantech_is_not_on_it() -> None:
    # 'Advantech AMT Inc.' (00:0E:02), a satellite communications maker, is another registrant
    found = concluded(stating("00:0e:02:12:34:56", **WINDOWS_DHCP))
    assert found["category"] == "it"


@pytest.mark.parametrize("mac", ["00:d0:c9:12:34:56", "00:0b:ab:12:34:56", "c4:00:ad:12:34:56", "cc:82:7f:12:34:56"])
def test_advantech_and_its_mainland_subsidiary_name_one_vendor(mac: str) -> None:
    # review R2 of f645b66: 'Advantech Technology (CHINA) Co., Ltd.' makes Advantech's products; the same panel PC
    # was 'Advantech' on one block and 'Advantech Technology (CHINA)' on the other
    assert concluded(stating(mac))["vendor"] == "Advantech"
    assert concluded(stating("00:0e:02:12:34:56"))["vendor"] == "Advantech AMT"  # another registrant
