"""Network security and WAN appliance makers' MAC blocks (rules/mac.yaml): the appliance a LAN's gateway usually
is gets its kind from its maker's block; a maker of several kinds gives the category only, and what the device
states about itself outweighs the block."""

from __future__ import annotations

import pytest

from tests.inventory.stated import classify

BLOCKS = [  # (MAC on the maker's block, vendor, type or None, category)
    ("00:1c:7f:53:d0:28", "Check Point Software", "firewall", "network"),  # the gateway in labeled_locks_cams
    ("00:06:b1:00:00:01", "SonicWall", "firewall", "network"),  # registered 'Sonicwall'
    ("2c:b8:ed:00:00:01", "SonicWall", "firewall", "network"),  # registered 'SonicWall'
    ("00:17:c5:00:00:01", "SonicWall", "firewall", "network"),  # registered 'SonicWALL'
    ("00:90:7f:00:00:01", "WatchGuard", "firewall", "network"),
    ("00:0d:b4:00:00:01", "Stormshield", "firewall", "network"),
    ("00:30:44:00:00:01", "Cradlepoint", "router", "network"),  # registered 'CradlePoint, Inc'
    ("00:e0:1c:00:00:01", "Cradlepoint", "router", "network"),  # registered 'Cradlepoint, Inc'
    ("d4:13:f8:00:00:01", "Peplink", "router", "network"),
    ("00:1d:aa:00:00:01", "DrayTek", "router", "network"),
    ("00:94:a1:00:00:01", "F5 Networks", "load_balancer", "network"),
    ("c4:ca:2b:00:00:01", "Arista Networks", "switch", "network"),
    ("30:86:2d:00:00:01", "Arista Networks", "switch", "network"),  # registered 'Arista Network, Inc.'
    ("00:1a:8c:00:00:01", "Sophos", None, "network"),  # firewalls, access points and switches
    ("b4:2d:56:00:00:01", "Extreme Networks", None, "network"),  # switches, access points, routers
]


@pytest.mark.parametrize(("mac", "vendor", "kind", "category"), BLOCKS)
def test_an_appliance_makers_block_names_the_maker_and_its_kind(mac: str, vendor: str, kind: str | None,
                                                                category: str) -> None:
    values, _ = classify(mac)
    assert values.get("vendor") == vendor
    assert values.get("device_type") == kind
    assert values.get("category") == category


def test_what_a_device_on_such_a_block_states_with_its_model_outweighs_the_block() -> None:
    """The block is the maker's default kind, not a statement: a product that names its kind and model wins."""
    values, rules = classify("00:1c:7f:00:00:02", dhcp__vendor_class=["AXIS,Network Camera,P3301"])
    assert "mac.vendor.check_point" in rules
    assert values.get("device_type") == "camera" and values.get("category") == "iot"


def test_another_registrant_of_a_like_name_is_not_taken_for_the_appliance_maker() -> None:
    """'Arista' (an industrial PC maker) and 'WatchGuard Video' (body cameras) are other companies."""
    for mac, vendor in (("40:01:07:00:00:01", "Arista"), ("00:1d:96:00:00:01", "WatchGuard Video")):
        values, rules = classify(mac)
        assert values.get("vendor") == vendor
        assert not {"mac.vendor.arista", "mac.vendor.watchguard"} & rules and values.get("category") != "network"
