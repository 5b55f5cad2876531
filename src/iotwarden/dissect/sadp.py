"""Hikvision SADP (Search Active Devices Protocol): the XML search of udp/37020 (multicast 239.255.255.250)
with which Hikvision's SADP tool, iVMS-4200 and NVRs find Hikvision cameras, recorders and their OEM
relabels, and what each device answers about itself; and the older binary form, on its own ethertype.

Hikvision publishes no specification; the message layout is the one open-source clients read and send
(cameronnewman/hikvision-tooling internal/sadp/scanner.go, MatrixEditor/hiktools hiktools/sadp/message.py,
oldweipro/hik-dev DeviceSearchInfoDTO.java) and a captured exchange (mhzhuji.com, "海康设备搜索器搜索协议解析"):

* a search is ``<Probe><Uuid>..</Uuid><Types>inquiry</Types></Probe>`` (or ``inquiry_v32``): kind
  ``inquiry``, fields ``uuid`` and ``types``; subject ``src``, a client (the SADP tool, a VMS, an NVR);
* a device answers ``<ProbeMatch>`` with the same Uuid and Types and flat elements naming itself: kind
  ``probe_match``, subject ``src``, with the fields of :data:`TEXT_FIELDS`, :data:`INT_FIELDS`,
  :data:`BOOL_FIELDS` and ``mac`` (its ``MAC``, "68-6d-bc-ee-f8-f0", written with colons);
* a Probe or ProbeMatch of another Types (the tool's commands: a password reset, a safe-code request,
  an address change) is kind ``command`` or ``command_reply`` with ``uuid``, ``types`` and, in a reply,
  ``mac`` and ``result``; nothing else is read of them: commands carry passwords and reset codes.

``DeviceSN`` is the device's full serial: its model, then two digits of channels, the production date
(YYYYMMDD), four letters (CPU and DSP grade, region), the nine-character serial on the label and feature
letters ("DS-7608NI-E2/8P0820160211AAWR123456789WCVU"; ipcamtalk.com "Here's how to read Hikvision serial
numbers", which the captured DS-7804HQH-K1 answer follows). The dissector splits it only where that
convention holds and the model is the DeviceDescription the same answer gives: ``sn_model``,
``sn_date`` and ``sn_serial``; the whole ``device_sn`` is kept as the device's id, as other dissectors
keep serials. Nothing names a vendor here: that is the knowledge base's (kb/data/rules/sadp.yaml).

The XML is read by dissect/xmlstream.py (defusedxml: any DTD refused, no entity expansion, no external
reference) under MAX_MESSAGE_OCTETS, MAX_ELEMENTS and the element depth and text limits there. The binary
form older firmware and the SADP tool exchange as Ethernet frames of ethertype 0x8033 (hiktools
lua/sadp.lua) is recorded as kind ``binary`` with its length alone: its layout is not published.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.dissect.xmlstream import BoundedTarget, NotThisDocument, StreamReader
from iotwarden.errors import ParseError
from iotwarden.model import Observation

SADP_PORT = 37020  # udp, to 239.255.255.250 (scanner.go MulticastAddr, Port)
SADP_ETHERTYPE = 0x8033  # the binary form's frames (hiktools lua/sadp.lua, sadp_eth_type)
MAX_MESSAGE_OCTETS = 65_507  # the largest UDP/IPv4 payload: one message per datagram
MAX_ELEMENTS = 256  # elements read before the message is refused (a ProbeMatch has about 40)
MAX_FIELD_CHARS = 128  # characters kept of one value

INQUIRY_TYPES: Final = frozenset({"inquiry", "inquiry_v32"})  # scanner.go's two searches
_MESSAGES: Final = {"Probe": ("inquiry", "command"), "ProbeMatch": ("probe_match", "command_reply")}

# ProbeMatch elements -> field names (the element names of scanner.go's Device and the captured answer)
TEXT_FIELDS: Final[dict[str, str]] = {
    "DeviceType": "device_type",  # a number ("44322"): Hikvision's internal class code, not published
    "DeviceDescription": "device_description",  # the model, "DS-2CD2142FWD-I"
    "DeviceSN": "device_sn",
    "SoftwareVersion": "software_version",  # "V5.5.0build 170725"
    "DSPVersion": "dsp_version",  # "V5.0, build 191213"
    "BootTime": "boot_time",
    "OEMInfo": "oem_info",  # "N/A" on Hikvision's own firmware
    "IPv4Address": "ipv4_address",
    "IPv4SubnetMask": "ipv4_subnet_mask",
    "IPv4Gateway": "ipv4_gateway",
    "IPv6Address": "ipv6_address",
}
INT_FIELDS: Final[dict[str, str]] = {
    "CommandPort": "command_port",  # the SDK service, tcp/8000 by default
    "HttpPort": "http_port",
    "AnalogChannelNum": "analog_channel_num",  # a DVR's analog inputs
    "DigitalChannelNum": "digital_channel_num",  # IP channels
}
BOOL_FIELDS: Final[dict[str, str]] = {
    "DHCP": "dhcp",
    "Activated": "activated",  # false: the device still waits for its first password
    "PasswordResetAbility": "password_reset_ability",
}
_REPLY_FIELDS: Final = {"Result": "result"}  # what a command's reply keeps besides its MAC
_COMMON: Final = {"Uuid": "uuid", "Types": "types"}
_MAC: Final = re.compile(r"[0-9A-Fa-f]{2}([-:]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}")
# after the model in a DeviceSN: channels, YYYYMMDD, four grade/region letters, the label serial, features
_SN_TAIL: Final = re.compile(r"(\d{2})((?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
                             r"[A-Z]{4}([A-Z0-9]{9})[A-Z]*")


def split_device_sn(device_sn: str, model: str) -> dict[str, str] | None:
    """``sn_model``, ``sn_date`` (YYYY-MM-DD) and ``sn_serial`` of a DeviceSN that is ``model`` then the
    convention's tail (module docstring); None when it is not."""
    if not model or not device_sn.startswith(model):
        return None
    tail = _SN_TAIL.fullmatch(device_sn[len(model):])
    if tail is None:
        return None
    date = tail.group(2)
    return {"sn_model": model, "sn_date": f"{date[:4]}-{date[4:6]}-{date[6:]}", "sn_serial": tail.group(3)}


def _mac(text: str) -> str | None:
    return text.replace("-", ":").lower() if _MAC.fullmatch(text) and len(text) in (12, 17) else None


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 5 else None


def _bool(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text.lower())


class _Target(BoundedTarget):
    """Parser target: the root element's name and the text of its children (one level: SADP is flat)."""

    max_gathered: ClassVar[int] = MAX_FIELD_CHARS

    def __init__(self) -> None:
        super().__init__()
        self.root: str | None = None
        self.values: dict[str, str] = {}  # element name -> text, first occurrence
        self.elements = 0
        self._child: str | None = None

    def element_start(self, ns: str, local: str) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise ParseError(f"sadp: more than {MAX_ELEMENTS} elements (MAX_ELEMENTS)")
        if self.root is None:
            if ns or local not in _MESSAGES:
                raise NotThisDocument(local[:80])
            self.root = local
        elif self.depth == 2:
            self._child = local
            self.gather(local)

    def element_skipped(self) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise ParseError(f"sadp: more than {MAX_ELEMENTS} elements (MAX_ELEMENTS)")

    def element_end(self) -> None:
        if self.depth == 1 and self._child is not None:  # depth already counts the closed child out
            if self.field is not None:
                self.values.setdefault(self._child, self.take_text().strip()[:MAX_FIELD_CHARS])
            self._child = None
        elif self.depth == 0:
            self.finished = True


class _Reader(StreamReader):
    kind: ClassVar[str] = "sadp"
    label: ClassVar[str] = "sadp"
    max_bytes: ClassVar[int] = MAX_MESSAGE_OCTETS


def _read(buf: bytes) -> tuple[str, dict[str, str]]:
    target = _Target()
    reader = _Reader(target)
    reader.feed(buf)
    if reader.rejected or target.root is None:
        raise ParseError("sadp: not a Probe or ProbeMatch document")
    if not target.finished:
        raise ParseError("sadp: the message ends before its root element closes")
    return target.root, target.values


def parse_sadp(buf: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one SADP XML message; ParseError when it is not one (or is refused)."""
    root, values = _read(buf)
    types = values.get("Types", "")
    search, other = _MESSAGES[root]
    kind = search if types.lower() in INQUIRY_TYPES else other
    fields: dict[str, Any] = {name: values[element] for element, name in _COMMON.items() if element in values}
    if kind == "probe_match":
        fields.update((name, values[el]) for el, name in TEXT_FIELDS.items() if values.get(el))
        fields.update((name, _int(values[el])) for el, name in INT_FIELDS.items() if el in values)
        fields.update((name, _bool(values[el])) for el, name in BOOL_FIELDS.items() if el in values)
        split = split_device_sn(fields.get("device_sn", ""), fields.get("device_description", ""))
        fields.update(split or {})
    if kind in ("probe_match", "command_reply"):
        fields["mac"] = _mac(values.get("MAC", ""))
    if kind == "command_reply":
        fields.update((name, values[el]) for el, name in _REPLY_FIELDS.items() if el in values)
    return kind, fields


class SadpDissector(Dissector):
    name: ClassVar[str] = "sadp"
    udp_ports: ClassVar[tuple[int, ...]] = (SADP_PORT,)
    ethertypes: ClassVar[tuple[int, ...]] = (SADP_ETHERTYPE,)
    max_packets_per_flow: ClassVar[int | None] = None  # the SADP tool searches again every 15 s

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload  # the fields depend on the datagram alone (memo contract in dissect/base.py)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if pkt.ethertype == SADP_ETHERTYPE and pkt.ip_proto is None:
            if not pkt.payload:
                raise ParseError("sadp: an empty binary frame")
            return [pkt.observation(self.name, "binary", {"octets": len(pkt.payload)})]
        kind, fields = parse_sadp(pkt.payload)
        return [pkt.observation(self.name, kind, fields)]
