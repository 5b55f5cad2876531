"""An Axis door controller by the model it announces where Axis's cameras announce theirs (issue #3,
rules/enterprise.yaml mdns.instance.axis_door_controller): its Bonjour instance name 'AXIS <model> - <serial>' and its
UPnP modelName 'AXIS <model>' name an A1xxx model, Axis's door controllers' line, which outweighs Axis's camera-wide
signs; with those signs alone (realm, host name, _axis-video, block) nothing tells it from a camera, and an Axis
camera's, intercom's or speaker's model names no door controller."""

from __future__ import annotations

import pytest

from iotwarden.kb import KnowledgeBase
from tests.inventory.test_classifier_axis_door import AXIS_MAC, CAMERA_LEANS
from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

RULE = "mdns.instance.axis_door_controller"


@pytest.mark.parametrize(("attribute", "value", "model"), [
    ("mdns__instances", "AXIS A1001 - ACCC8E012345._axis-video._tcp.local", "A1001"),
    ("mdns__instances", "AXIS A1601 - B8A44F000001._http._tcp.local", "A1601"),
    ("mdns__instances", "AXIS A1610-B - B8A44F000001._axis-video._tcp.local", "A1610-B"),
    ("http__upnp_model_name", "AXIS A1001", "A1001"),
    ("http__upnp_model_name", "AXIS A1210", "A1210"),
])
def test_the_door_controller_s_model_outweighs_axis_s_camera_leans(attribute: str, value: str, model: str) -> None:
    dev = stating(AXIS_MAC, **{**CAMERA_LEANS, attribute: value})
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Axis", "badge_reader", model)
    assert RULE in rules_for(dev, "device_type")


def test_axis_s_camera_wide_signs_alone_tell_no_door_controller() -> None:
    assert concluded(stating(AXIS_MAC, **CAMERA_LEANS))["device_type"] == "camera"


@pytest.mark.parametrize("value", [
    "AXIS P1455-LE - B8A44F000001._axis-video._tcp.local",  # a camera
    "AXIS A8004-VE - B8A44F000001._axis-video._tcp.local",  # a door station (an intercom that streams)
    "AXIS C1004-E - B8A44F000001._http._tcp.local",  # a speaker
    "AXIS A10011 - B8A44F000001._http._tcp.local",  # not a four-digit A1 model
    "AXIS M3045-V",
    "AXIS A8105-E",
])
def test_other_axis_models_name_no_door_controller(value: str) -> None:
    kb = KnowledgeBase.load()
    for attribute in ("mdns.instances", "http.upnp_model_name"):
        assert RULE not in {m.rule_id for m in kb.match(attribute, value)}, (attribute, value)
