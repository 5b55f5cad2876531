# A few entries of Home Assistant 2024.3.3 homeassistant/generated/ssdp.py (https://github.com/home-assistant/core),
# kept as Home Assistant compiles them; Copyright the Home Assistant authors, licensed under the Apache
# License, Version 2.0 (see LICENSE.md in tests/kb/importers/data/homeassistant).
"""Automatically generated file.

To update, run python3 -m script.hassfest
"""

from __future__ import annotations

SSDP = {
    "braviatv": [
        {
            "manufacturer": "Sony Corporation",
            "st": "urn:schemas-sony-com:service:ScalarWebAPI:1"
        }
    ],
    "deconz": [
        {
            "manufacturer": "Royal Philips Electronics",
            "manufacturerURL": "http://www.dresden-elektronik.de"
        }
    ],
    "denonavr": [
        {
            "deviceType": "urn:schemas-upnp-org:device:MediaRenderer:1",
            "manufacturer": "Denon"
        },
        {
            "deviceType": "urn:schemas-upnp-org:device:MediaRenderer:1",
            "manufacturer": "Marantz"
        },
        {
            "deviceType": "urn:schemas-upnp-org:device:MediaServer:1",
            "manufacturer": "Denon"
        },
        {
            "deviceType": "urn:schemas-upnp-org:device:MediaServer:1",
            "manufacturer": "Marantz"
        },
        {
            "deviceType": "urn:schemas-denon-com:device:AiosDevice:1",
            "manufacturer": "Denon"
        },
        {
            "deviceType": "urn:schemas-denon-com:device:AiosDevice:1",
            "manufacturer": "Marantz"
        }
    ],
    "songpal": [
        {
            "manufacturer": "Sony Corporation",
            "st": "urn:schemas-sony-com:service:ScalarWebAPI:1"
        }
    ],
    "webostv": [
        {
            "st": "urn:lge-com:service:webos-second-screen:1"
        }
    ]
}
