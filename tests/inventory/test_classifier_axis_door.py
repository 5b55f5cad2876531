"""An Axis door controller answers with Axis's camera-wide signs (the AXIS_<serial> realm, _axis-video, the
axis-<serial> host name, Axis's MAC block) beside its own product type: the product naming its kind with its model
outweighs any number of model-less leans (inventory/weighing.py device_type), and an Axis camera stays a camera."""

from __future__ import annotations

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

AXIS_MAC = "b8:a4:4f:00:00:01"  # Axis Communications AB (IEEE MA-L B8A44F): the block says camera
CAMERA_LEANS = {
    "dhcp__hostname": "axis-b8a44f000001",
    "http__www_authenticate": 'Digest realm="AXIS_B8A44F000001", nonce="x", qop="auth"',
    "mdns__services": "_axis-video._tcp.local",
    "mdns__txt": "macaddress=b8a44f000001",
    "http__upnp_manufacturer": "AXIS",
}


def test_an_axis_door_controller_s_product_type_outweighs_all_of_axis_s_camera_leans() -> None:
    dev = stating(AXIS_MAC, dhcp__vendor_class="AXIS,Network Door Controller,A1001", **CAMERA_LEANS)
    found = concluded(dev)
    assert (found["vendor"], found["device_type"], found["model"]) == ("Axis", "badge_reader", "A1001")
    assert "dhcp.vendor_class.axis_door_controller" in rules_for(dev, "device_type")
    # by its UPnP description, with the same leans
    dev = stating(AXIS_MAC, http__upnp_model_description="AXIS A1601 Network Door Controller", **CAMERA_LEANS)
    assert (concluded(dev)["device_type"], concluded(dev)["model"]) == ("badge_reader", "A1601")
    # by its ONVIF hardware scope under Axis's name scope
    dev = stating(AXIS_MAC, wsd__onvif_hardware="A1610", wsd__onvif_names="AXIS A1610", **CAMERA_LEANS)
    assert concluded(dev)["device_type"] == "badge_reader"


def test_an_axis_camera_with_the_same_signs_stays_a_camera() -> None:
    for own in ({"dhcp__vendor_class": "AXIS,Network Camera,P3301"}, {"wsd__onvif_hardware": "M3045-V",
                                                                        "wsd__onvif_names": "AXIS M3045-V"}, {}):
        dev = stating(AXIS_MAC, **own, **CAMERA_LEANS)
        found = concluded(dev)
        assert (found["vendor"], found["device_type"]) == ("Axis", "camera"), own
    # a camera's model named without a kind (dhcp.vendor_class.axis) adds no door controller
    dev = stating(AXIS_MAC, dhcp__vendor_class="AXIS,Network Camera,P3301", dhcp__hostname="axis-b8a44f000001")
    assert concluded(dev)["model"] == "P3301" and concluded(dev)["device_type"] == "camera"


def test_an_axis_door_station_stays_a_camera() -> None:
    # the intercom's own product line (no A1xxx, 'Network Video Door Station') names no door controller
    dev = stating(AXIS_MAC, http__upnp_model_description="AXIS A8004-VE Network Video Door Station", **CAMERA_LEANS)
    assert concluded(dev)["device_type"] == "camera"
