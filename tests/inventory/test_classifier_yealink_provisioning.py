"""Yealink's older provisioning User-Agents (issue #3, rules/http.yaml): the maker in lower case
('yealink SIP-T18 ...'), a dash before the model ('Yealink-T46G ...') and the W52P DECT base's and VP530 video
phone's model with no maker before it ('W52P 25.30.0.2 <mac>'), as wazo-provd-plugins' Yealink extractor lists
them, name a Yealink phone and its model; a bare model without the firmware and MAC after it, one inside another
agent's text, and Yealink's soft client and room systems are not read as a phone."""

from __future__ import annotations

import pytest

from iotwarden.kb import KnowledgeBase
from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

YEALINK_MAC = "00:15:65:27:3e:05"  # Yealink's first IEEE block, the one these agents carry


@pytest.mark.parametrize(("ua", "model", "rule"), [
    ("yealink SIP-T18 18.0.0.80 00:15:65:27:3e:05", "T18", "http.ua.yealink"),
    ("yealink SIP-T28P 2.70.0.140 00:15:65:13:ae:0b", "T28P", "http.ua.yealink"),
    ("Yealink-T46G 28.71.0.81 28.1.0.128.0.0.0", "T46G", "http.ua.yealink"),
    ("W52P 25.30.0.2 00:15:65:44:b3:7c", "W52P", "http.ua.yealink_bare_model"),
    ("VP530P 23.70.0.40 00:15:65:31:4b:c0", "VP530P", "http.ua.yealink_bare_model"),
    ("VP530 23.70.0.41 00:15:65:3d:58:e3", "VP530", "http.ua.yealink_bare_model"),
])
@pytest.mark.parametrize("mac", ["", YEALINK_MAC])
def test_an_older_provisioning_agent_names_a_yealink_phone(ua: str, model: str, rule: str, mac: str) -> None:
    dev = stating(mac, http__user_agent=ua)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Yealink", "voip_phone", model)
    assert rule in rules_for(dev, "model")


def test_the_bare_model_form_states_the_firmware() -> None:
    assert concluded(stating(http__user_agent="W52P 25.30.0.2 00:15:65:44:b3:7c"))["firmware"] == "25.30.0.2"


@pytest.mark.parametrize("ua", [
    "W52P 25.30.0.2",  # no MAC after it
    "W52P 1.0 00:15:65:44:b3:7c",  # not Yealink's four-part firmware
    "Mozilla/5.0 (Linux) W52P 25.30.0.2 00:15:65:44:b3:7c",  # another agent's text
    "VP59 91.283.0.45 00:15:65:31:4b:c0",  # another model: only the two the extractor names
    "yealink VCDesktop 1.28.0.11",  # the PC soft client
    "Yealink-VC800 63.345.0.40",  # a room system is no phone
    # other programs' agents starting with the maker's name: the lower case only before 'SIP-', the dash only before
    # a model and its firmware (as the extractor's examples have them)
    "yealink-epm-probe",  # a PHP endpoint manager's HTTP probe
    "yealink-provisioning-check/1.0",
    "Yealink-USB-Connect/4.0",
    "yealink meeting 4.7.8",
])
def test_look_alikes_are_no_phone(ua: str) -> None:
    ids = {m.rule_id for m in KnowledgeBase.load().match("http.user_agent", ua)}
    assert not ids & {"http.ua.yealink", "http.ua.yealink_bare_model"}
    assert concluded(stating(http__user_agent=ua)).get("device_type") != "voip_phone"
