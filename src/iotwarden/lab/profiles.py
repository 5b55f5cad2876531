"""DHCP client profiles of the lab: the parameter request list (option 55) and vendor class (option 60)
each client stack sends, as published in DHCP fingerprint collections and vendor documentation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DhcpProfile:
    prl: tuple[int, ...]  # option 55, Parameter Request List (RFC 2132 §9.8), in the client's order
    vendor_class: str | None  # option 60, Vendor class identifier (RFC 2132 §9.13); {model}: the device's model
    max_size: int | None = None  # option 57, Maximum DHCP Message Size (RFC 2132 §9.10)


DHCP_PROFILES: dict[str, DhcpProfile] = {
    "windows": DhcpProfile((1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252), "MSFT 5.0"),
    "android": DhcpProfile((1, 3, 6, 15, 26, 28, 51, 58, 59, 43, 114, 108), "android-dhcp-13", 1500),
    "apple": DhcpProfile((1, 121, 3, 6, 15, 108, 114, 119, 252, 95, 44, 46), None, 1500),
    # AXIS OS names its product type, model and firmware in option 60 (Rapid7 Recog xml/dhcp_vendor_class.xml,
    # BSD-2-Clause: 'AXIS,Network Camera,P3343,5.20.3'); the profile leaves the firmware out
    "axis": DhcpProfile((1, 3, 6, 15, 42, 44, 46, 47, 69), "AXIS,Network Camera,{model}"),
    "hp_printer": DhcpProfile((1, 3, 44, 6, 7, 12, 15, 22, 54, 58, 59, 69, 18, 144), "Hewlett-Packard JetDirect"),
    "polycom": DhcpProfile((1, 3, 6, 15, 42, 43, 44, 46, 47, 119), None),
    "udhcpc": DhcpProfile((1, 3, 6, 12, 15, 28, 42), "udhcp 1.31.1", 576),  # BusyBox udhcpc defaults
    "lwip": DhcpProfile((1, 3, 28, 6), None, 1500),  # lwIP / ESP-IDF
    "dhclient": DhcpProfile((1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42), None),  # ISC dhclient
}
