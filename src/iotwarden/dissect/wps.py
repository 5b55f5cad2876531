"""Wi-Fi Simple Configuration (WPS) device information in 802.11 Probe and (Re)Association Requests.

kind ``device_info``; subject ``src`` (the station that sent the request). The frame's elements
(IEEE 802.11-2020 §9.4.2.1: ID, length, body) are walked for vendor-specific elements (ID 221) of
OUI 00:50:F2 type 4, whose bodies, concatenated (a WSC element over 251 bytes is split in several,
Wi-Fi Simple Configuration Technical Specification v2.0.x §8.2), are WSC attributes: 2-octet type,
2-octet length, value (§12). Fields: ``manufacturer`` (0x1021), ``model_name`` (0x1023),
``model_number`` (0x1024), ``device_name`` (0x1011), ``primary_device_type`` (0x1054, written
"category-OUI-subcategory" as hostapd and wpa_supplicant do: ``4-0050F204-1``), and ``frame``, the request
that carried them (``probe_request``, ``association_request``, ``reassociation_request``: the packet's
``wlan_subtype``), so consumers can weigh it (any station in range probes). A frame without a WSC
element says nothing; a WSC attribute running past its element is a ParseError. At most MAX_ELEMENTS
elements and MAX_ATTRIBUTES attributes are read; text values keep at most their spec lengths.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_ELEMENTS = 256  # elements walked in one frame (a 2304-byte body holds at most 1152)
MAX_ATTRIBUTES = 64  # WSC attributes read from one frame's WSC elements
VENDOR_SPECIFIC = 221  # §9.4.2.25: OUI (3 octets), then vendor content
WSC_OUI_TYPE = b"\x00\x50\xf2\x04"  # Microsoft OUI, type 4: WSC (spec §12, "WSC IE")
PROBE_REQUEST, ASSOCIATION_REQUEST, REASSOCIATION_REQUEST = 4, 0, 2  # §9.2.4.1.3 Table 9-1 subtypes
FRAMES = {PROBE_REQUEST: "probe_request", ASSOCIATION_REQUEST: "association_request",
          REASSOCIATION_REQUEST: "reassociation_request"}  # the ``frame`` field, by subtype
# attribute type -> (field, the spec's maximum length in octets), §12 Table 28
TEXT_ATTRIBUTES = {
    0x1021: ("manufacturer", 64),
    0x1023: ("model_name", 32),
    0x1024: ("model_number", 32),
    0x1011: ("device_name", 32),
}
PRIMARY_DEVICE_TYPE = 0x1054  # Category ID (2), OUI (4), Sub Category ID (2): §12 "Primary Device Type"


def wsc_body(elements: bytes) -> bytes | None:
    """The WSC attributes of a frame's elements (every WSC element's body, in order), None without one."""
    parts: list[bytes] = []
    pos = 0
    for _ in range(MAX_ELEMENTS):
        if pos + 2 > len(elements):
            break
        eid, length = elements[pos], elements[pos + 1]
        body = elements[pos + 2 : pos + 2 + length]
        if len(body) < length:
            break  # a cut or damaged element ends the list; what came before stands
        if eid == VENDOR_SPECIFIC and body[:4] == WSC_OUI_TYPE:
            parts.append(body[4:])
        pos += 2 + length
    return b"".join(parts) if parts else None


def _text(value: bytes, limit: int) -> str:
    return value[:limit].split(b"\x00", 1)[0].decode("utf-8", "backslashreplace").strip()


def parse_wsc(body: bytes) -> dict[str, Any]:
    """The device information among WSC attributes ``body``; blank values (wpa_supplicant sends one
    space for an unset string) are left out."""
    fields: dict[str, Any] = {}
    pos = 0
    for _ in range(MAX_ATTRIBUTES):
        if pos == len(body):
            break
        if pos + 4 > len(body):
            raise ParseError("wps: attribute header runs past the WSC element")
        atype, length = int.from_bytes(body[pos : pos + 2], "big"), int.from_bytes(body[pos + 2 : pos + 4], "big")
        value = body[pos + 4 : pos + 4 + length]
        if len(value) < length:
            raise ParseError(f"wps: attribute 0x{atype:04x} runs past the WSC element")
        pos += 4 + length
        if atype in TEXT_ATTRIBUTES:
            name, limit = TEXT_ATTRIBUTES[atype]
            text = _text(value, limit)
            if text:
                fields[name] = text
        elif atype == PRIMARY_DEVICE_TYPE and length == 8:
            category, sub = int.from_bytes(value[:2], "big"), int.from_bytes(value[6:], "big")
            fields["primary_device_type"] = f"{category}-{value[2:6].hex().upper()}-{sub}"
    return fields


class WpsDissector(Dissector):
    name: ClassVar[str] = "wps"
    wlan_management: ClassVar[tuple[int, ...]] = (PROBE_REQUEST, ASSOCIATION_REQUEST, REASSOCIATION_REQUEST)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        body = wsc_body(pkt.payload)
        if body is None:
            return []
        fields = parse_wsc(body)
        if not fields:
            return []
        frame = FRAMES.get(pkt.wlan_subtype) if pkt.wlan_subtype is not None else None
        if frame is not None:
            fields["frame"] = frame
        return [pkt.observation(self.name, "device_info", fields)]
