"""LLDP (IEEE 802.1AB-2016, ethertype 0x88CC): what a switch, phone or device says it is.

kind ``advertisement``; subject ``src`` (the advertising station). Fields (802.1AB §8.5 TLVs):
``chassis_id`` / ``chassis_id_subtype`` (§8.5.2: MAC text for subtype mac_address, IP text for
network_address, else the text), ``port_id`` / ``port_id_subtype`` (§8.5.3, same rendering),
``ttl`` (§8.5.4, seconds; 0 announces a shutdown), ``port_description`` (§8.5.5), ``system_name``
(§8.5.6), ``system_description`` (§8.5.7), ``capabilities`` / ``enabled_capabilities`` (§8.5.8,
lists of names), ``management_addresses`` (§8.5.9, IP or MAC text, at most MAX_MGMT_ADDRESSES),
and from organizationally specific TLVs (§8.5.1, type 127): ``vlan_id`` (IEEE 802.1 port VLAN ID,
802.1Q-2018 Annex D.2.1), ``mud_url`` (IANA OUI 00-00-5E subtype 1, RFC 8520 §10), and LLDP-MED
inventory (ANSI/TIA-1057 §10.2.6): ``med_hardware_revision``, ``med_firmware_revision``,
``med_software_revision``, ``med_serial_number``, ``med_manufacturer``, ``med_model_name``,
``med_asset_id``. At most MAX_TLVS TLVs are read from one frame.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_TLVS = 128  # TLVs read from one LLDPDU (a 1500-octet frame holds at most ~750)
MAX_MGMT_ADDRESSES = 8  # management addresses kept

CHASSIS_SUBTYPES = {1: "chassis_component", 2: "interface_alias", 3: "port_component", 4: "mac_address",
                    5: "network_address", 6: "interface_name", 7: "local"}  # §8.5.2.2, Table 8-2
PORT_SUBTYPES = {1: "interface_alias", 2: "port_component", 3: "mac_address", 4: "network_address",
                 5: "interface_name", 6: "agent_circuit_id", 7: "local"}  # §8.5.3.2, Table 8-3
CAPABILITIES = ("other", "repeater", "bridge", "wlan_access_point", "router", "telephone",
                "docsis_cable_device", "station_only", "c_vlan", "s_vlan", "two_port_mac_relay")  # Table 8-4
OUI_8021 = 0x0080C2
OUI_IANA = 0x00005E
OUI_TIA = 0x0012BB
MED_INVENTORY = {5: "med_hardware_revision", 6: "med_firmware_revision", 7: "med_software_revision",
                 8: "med_serial_number", 9: "med_manufacturer", 10: "med_model_name", 11: "med_asset_id"}


def _text(b: bytes) -> str:
    return b.rstrip(b"\x00").decode("utf-8", "backslashreplace")


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def network_address(b: bytes) -> str:
    """An IANA address-family-prefixed address (RFC 3232 "Address Family Numbers") as text."""
    if len(b) == 5 and b[0] == 1:
        return str(ipaddress.IPv4Address(b[1:]))
    if len(b) == 17 and b[0] == 2:
        return str(ipaddress.IPv6Address(b[1:]))
    if len(b) == 7 and b[0] == 6:
        return _mac(b[1:])
    return b.hex()


def _id(value: bytes, mac_subtype: int, addr_subtype: int) -> str:
    subtype, body = value[0], value[1:]
    if subtype == mac_subtype and len(body) == 6:
        return _mac(body)
    if subtype == addr_subtype and body:
        return network_address(body)
    return _text(body)


def _capabilities(bits: int) -> list[str]:
    return [name for i, name in enumerate(CAPABILITIES) if bits & (1 << i)]


def parse_lldpdu(buf: bytes) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    mgmt: list[str] = []
    pos = 0
    for _ in range(MAX_TLVS):
        if pos + 2 > len(buf):
            break  # frames may end without an End TLV after padding was cut
        header = int.from_bytes(buf[pos : pos + 2], "big")
        tlv_type, length = header >> 9, header & 0x1FF  # §8.4: 7-bit type, 9-bit length
        value = buf[pos + 2 : pos + 2 + length]
        if len(value) != length:
            raise ParseError(f"lldp: TLV {tlv_type} runs past the end of the frame")
        pos += 2 + length
        if tlv_type == 0:  # End of LLDPDU, §8.5.1
            break
        if tlv_type == 1 and length >= 2:
            fields["chassis_id_subtype"] = CHASSIS_SUBTYPES.get(value[0], str(value[0]))
            fields["chassis_id"] = _id(value, 4, 5)
        elif tlv_type == 2 and length >= 2:
            fields["port_id_subtype"] = PORT_SUBTYPES.get(value[0], str(value[0]))
            fields["port_id"] = _id(value, 3, 4)
        elif tlv_type == 3 and length >= 2:
            fields["ttl"] = int.from_bytes(value[:2], "big")
        elif tlv_type in (4, 5, 6):
            fields[("port_description", "system_name", "system_description")[tlv_type - 4]] = _text(value)
        elif tlv_type == 7 and length >= 4:
            fields["capabilities"] = _capabilities(int.from_bytes(value[:2], "big"))
            fields["enabled_capabilities"] = _capabilities(int.from_bytes(value[2:4], "big"))
        elif tlv_type == 8 and length >= 2:
            alen = value[0]  # address string length, subtype octet included (§8.5.9.2)
            if 2 <= alen <= length - 1 and len(mgmt) < MAX_MGMT_ADDRESSES:
                mgmt.append(network_address(value[1 : 1 + alen]))
        elif tlv_type == 127 and length >= 4:
            _org_specific(int.from_bytes(value[:3], "big"), value[3], value[4:], fields)
    if "chassis_id" not in fields:
        raise ParseError("lldp: no Chassis ID TLV")  # mandatory first TLV, §8.2
    if mgmt:
        fields["management_addresses"] = mgmt
    return fields


def _org_specific(oui: int, subtype: int, info: bytes, fields: dict[str, Any]) -> None:
    if oui == OUI_8021 and subtype == 1 and len(info) >= 2:  # Port VLAN ID
        fields["vlan_id"] = int.from_bytes(info[:2], "big")
    elif oui == OUI_IANA and subtype == 1:  # MUD URL, RFC 8520 §10
        fields["mud_url"] = _text(info)
    elif oui == OUI_TIA and subtype in MED_INVENTORY:
        fields[MED_INVENTORY[subtype]] = _text(info)


class LldpDissector(Dissector):
    name: ClassVar[str] = "lldp"
    ethertypes: ClassVar[tuple[int, ...]] = (0x88CC,)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        return [pkt.observation(self.name, "advertisement", parse_lldpdu(pkt.payload))]
