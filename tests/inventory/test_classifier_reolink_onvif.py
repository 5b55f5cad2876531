"""Reolink's cameras and recorders by the model in their ONVIF hardware scope (issue #3, rules/wsd.yaml): Reolink's
RLC-<nnn> PoE cameras and RLN<ch>-<nnn> recorders, as the Home Assistant Reolink integration's documentation lists
them, name Reolink and the kind; names only like them (another maker's, no dash, other letters) do not."""

from __future__ import annotations

import pytest

from iotwarden.kb import KnowledgeBase
from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

REOLINK_RULES = {"wsd.onvif.hardware.reolink_camera", "wsd.onvif.hardware.reolink_recorder"}


@pytest.mark.parametrize(("hardware", "kind", "rule"), [
    ("RLC-410", "camera", "wsd.onvif.hardware.reolink_camera"),
    ("RLC-410W", "camera", "wsd.onvif.hardware.reolink_camera"),
    ("RLC-810A", "camera", "wsd.onvif.hardware.reolink_camera"),
    ("RLC-823A", "camera", "wsd.onvif.hardware.reolink_camera"),
    ("RLN8-410", "nvr", "wsd.onvif.hardware.reolink_recorder"),
    ("RLN16-410", "nvr", "wsd.onvif.hardware.reolink_recorder"),
])
def test_a_reolink_model_in_the_hardware_scope_names_reolink_and_the_kind(hardware: str, kind: str, rule: str) -> None:
    dev = stating(wsd__onvif_hardware=hardware)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Reolink", kind, hardware)
    assert rule in rules_for(dev, "device_type")


@pytest.mark.parametrize("hardware", ["RLC410", "RLC-4", "XRLC-410", "RLN-410", "RLK8-410", "DS-2CD2143G0-I"])
def test_look_alikes_name_no_reolink(hardware: str) -> None:
    ids = {m.rule_id for m in KnowledgeBase.load().match("wsd.onvif_hardware", hardware)}
    assert not ids & REOLINK_RULES
    assert concluded(stating(wsd__onvif_hardware=hardware)).get("vendor") != "Reolink"
