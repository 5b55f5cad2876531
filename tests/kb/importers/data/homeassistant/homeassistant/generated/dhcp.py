# A few entries of Home Assistant 2024.3.3 homeassistant/generated/dhcp.py (https://github.com/home-assistant/core),
# kept as Home Assistant compiles them; Copyright the Home Assistant authors, licensed under the Apache
# License, Version 2.0 (see LICENSE.md in tests/kb/importers/data/homeassistant).
"""Automatically generated file.

To update, run python3 -m script.hassfest
"""

from __future__ import annotations

DHCP: list[dict[str, str | bool]] = [
    {
        "domain": "august",
        "hostname": "yale-connect-plus",
        "macaddress": "00177A*"
    },
    {
        "domain": "august",
        "hostname": "connect",
        "macaddress": "D86162*"
    },
    {
        "domain": "axis",
        "registered_devices": True
    },
    {
        "domain": "awair",
        "macaddress": "70886B1*"
    },
    {
        "domain": "airzone",
        "macaddress": "E84F25*"
    },
    {
        "domain": "nuki",
        "hostname": "nuki_bridge_*"
    },
    {
        "domain": "lifx",
        "macaddress": "D073D5*"
    },
    {
        "domain": "tplink",
        "hostname": "hs*",
        "macaddress": "B4B024*"
    },
    {
        "domain": "samsungtv",
        "macaddress": "4844F7*"
    }
]
