# A few entries of Home Assistant 2024.3.3 homeassistant/generated/zeroconf.py (https://github.com/home-assistant/core),
# kept as Home Assistant compiles them; Copyright the Home Assistant authors, licensed under the Apache
# License, Version 2.0 (see LICENSE.md in tests/kb/importers/data/homeassistant).
"""Automatically generated file.

To update, run python3 -m script.hassfest
"""

from __future__ import annotations

ZEROCONF = {
    "_axis-video._tcp.local.": [
        {
            "domain": "axis",
            "properties": {
                "macaddress": "00408c*"
            }
        },
        {
            "domain": "doorbird",
            "properties": {
                "macaddress": "1ccae3*"
            }
        }
    ],
    "_googlecast._tcp.local.": [
        {
            "domain": "cast"
        }
    ],
    "_http._tcp.local.": [
        {
            "domain": "rachio",
            "name": "rachio*"
        },
        {
            "domain": "shelly",
            "name": "shelly*"
        }
    ],
    "_lutron._tcp.local.": [
        {
            "domain": "lutron_caseta",
            "properties": {
                "SYSTYPE": "smartbridge*"
            }
        }
    ],
    "_miio._udp.local.": [
        {
            "domain": "xiaomi_aqara"
        },
        {
            "domain": "xiaomi_miio"
        },
        {
            "domain": "yeelight",
            "name": "yeelink-*"
        }
    ]
}

HOMEKIT = {
    "Rachio": {
        "always_discover": True,
        "domain": "rachio"
    },
    "Smart Bridge": {
        "always_discover": False,
        "domain": "lutron_caseta"
    },
    "YL*": {
        "always_discover": False,
        "domain": "yeelight"
    },
    "tado": {
        "always_discover": True,
        "domain": "tado"
    }
}
