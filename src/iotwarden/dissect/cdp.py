"""Cisco Discovery Protocol (802.3 LLC/SNAP, OUI 00-00-0C, PID 0x2000): Cisco gear and IP phones.

kind ``advertisement``; subject ``src`` (the advertising device). CDP has no RFC; the layout is
Cisco's "CDP frame format" as tcpdump (print-cdp.c) and Wireshark (packet-cdp.c) decode it: a 4-octet
header (version, TTL, checksum), then TLVs of 2-octet type, 2-octet length (header included).
Fields: ``version``, ``ttl`` (seconds), ``device_id`` (TLV 0x01), ``addresses`` (0x02, IP text),
``port_id`` (0x03), ``capabilities`` (0x04, list of names), ``software_version`` (0x05),
``platform`` (0x06), ``vtp_domain`` (0x09), ``native_vlan`` (0x0A), ``duplex`` (0x0B: "half" or
"full"), ``voice_vlan`` (0x0E, appliance VLAN), ``management_addresses`` (0x16, IP text).
At most MAX_TLVS TLVs and MAX_ADDRESSES addresses per list are read.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_TLVS = 64  # TLVs read from one CDP frame
MAX_ADDRESSES = 8  # addresses kept per address TLV
OUI_CISCO = 0x00000C
PID_CDP = 0x2000
CAPABILITIES = ("router", "transparent_bridge", "source_route_bridge", "switch", "host", "igmp",
                "repeater", "voip_phone", "remotely_managed", "cvta", "two_port_mac_relay")
_TEXT_TLVS = {0x01: "device_id", 0x03: "port_id", 0x05: "software_version", 0x06: "platform", 0x09: "vtp_domain"}
_IPV6_PROTOCOL = b"\xaa\xaa\x03\x00\x00\x00\x86\xdd"  # 802.2 SNAP header naming IPv6


def _text(b: bytes) -> str:
    return b.rstrip(b"\x00").decode("utf-8", "backslashreplace")


def addresses(value: bytes) -> list[str]:
    """An address TLV: a 4-octet count, then (protocol type, length, protocol, length, address)."""
    if len(value) < 4:
        raise ParseError("cdp: address TLV shorter than its count")
    count = int.from_bytes(value[:4], "big")
    out: list[str] = []
    pos = 4
    for _ in range(min(count, MAX_ADDRESSES)):
        if pos + 2 > len(value):
            raise ParseError("cdp: address entry runs past its TLV")
        plen = value[pos + 1]
        protocol = value[pos + 2 : pos + 2 + plen]
        pos += 2 + plen
        if pos + 2 > len(value):
            raise ParseError("cdp: address entry runs past its TLV")
        alen = int.from_bytes(value[pos : pos + 2], "big")
        addr = value[pos + 2 : pos + 2 + alen]
        if len(addr) != alen:
            raise ParseError("cdp: address runs past its TLV")
        pos += 2 + alen
        if protocol == b"\xcc" and alen == 4:  # NLPID for IPv4
            out.append(str(ipaddress.IPv4Address(addr)))
        elif protocol == _IPV6_PROTOCOL and alen == 16:
            out.append(str(ipaddress.IPv6Address(addr)))
        else:
            out.append(addr.hex())
    return out


def parse_cdp(buf: bytes) -> dict[str, Any]:
    if len(buf) < 4:
        raise ParseError("cdp: shorter than the 4-octet header")
    if buf[0] not in (1, 2):
        raise ParseError(f"cdp: unknown version {buf[0]}")
    fields: dict[str, Any] = {"version": buf[0], "ttl": buf[1]}
    pos = 4
    for _ in range(MAX_TLVS):
        if pos + 4 > len(buf):
            break
        tlv_type = int.from_bytes(buf[pos : pos + 2], "big")
        length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
        if length < 4 or pos + length > len(buf):
            raise ParseError(f"cdp: TLV 0x{tlv_type:04x} has a bad length {length}")
        value = buf[pos + 4 : pos + length]
        pos += length
        if tlv_type in _TEXT_TLVS:
            fields[_TEXT_TLVS[tlv_type]] = _text(value)
        elif tlv_type == 0x02:
            fields["addresses"] = addresses(value)
        elif tlv_type == 0x16:
            fields["management_addresses"] = addresses(value)
        elif tlv_type == 0x04 and len(value) == 4:
            bits = int.from_bytes(value, "big")
            fields["capabilities"] = [n for i, n in enumerate(CAPABILITIES) if bits & (1 << i)]
        elif tlv_type == 0x0A and len(value) == 2:
            fields["native_vlan"] = int.from_bytes(value, "big")
        elif tlv_type == 0x0B and len(value) == 1:
            fields["duplex"] = "full" if value[0] else "half"
        elif tlv_type == 0x0E and len(value) == 3:
            fields["voice_vlan"] = int.from_bytes(value[1:], "big")
    if "device_id" not in fields:
        raise ParseError("cdp: no Device-ID TLV")
    return fields


class CdpDissector(Dissector):
    name: ClassVar[str] = "cdp"
    llc_snap: ClassVar[tuple[tuple[int, int], ...]] = ((OUI_CISCO, PID_CDP),)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        return [pkt.observation(self.name, "advertisement", parse_cdp(pkt.payload))]
