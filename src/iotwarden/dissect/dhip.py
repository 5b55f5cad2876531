"""Dahua DHIP device discovery (udp/37810, multicast group 239.255.255.251): search and device info.

Dahua publishes no specification; the layout is the one Dahua's ConfigTool uses, as the open scanners
that speak it read it (UniversalScanner ``Dahua2``, ethodump-ng ``dhip``): a 32-byte header of
little-endian words (header size 32, the magic ``DHIP``, two reserved words, the body length, a
reserved word, the body length again, a reserved word), then a JSON body.

Kinds (subject ``src``, the sender): ``search`` (method ``DHDiscover.search``, from a client) and
``device_info`` (method ``client.notifyDevInfo``, a device describing itself); other methods give
kind ``message``. Fields: ``method``; for ``device_info``, from ``params.deviceInfo``:
``device_type`` (the model, "NVR4104HS-P-4KS2"), ``device_class`` ("NVR", "IPC", "DVR", ...),
``version`` (firmware), ``serial_no``, ``http_port``, ``port`` (the DVRIP service port), ``vendor``,
``machine_name``, and ``mac`` (the body's MAC address).
"""

from __future__ import annotations

import json
import struct
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

HEADER = 32
MAGIC = b"DHIP"
MAX_BODY = 8 * 1024  # bytes of JSON read; a device's answer is about 1 KB
MAX_TEXT = 128  # characters kept of one value
DEVICE_INFO = {"DeviceType": "device_type", "DeviceClass": "device_class", "Version": "version",
               "SerialNo": "serial_no", "HttpPort": "http_port", "Port": "port", "Vendor": "vendor",
               "MachineName": "machine_name"}
KINDS = {"DHDiscover.search": "search", "client.notifyDevInfo": "device_info"}


def parse(payload: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one DHIP datagram; ParseError when it is not one."""
    if len(payload) < HEADER or payload[4:8] != MAGIC:
        raise ParseError("dhip: no DHIP header")
    size, length = struct.unpack_from("<I", payload, 0)[0], struct.unpack_from("<I", payload, 16)[0]
    if size != HEADER or length > len(payload) - HEADER or length > MAX_BODY:
        raise ParseError(f"dhip: header size {size} or body length {length} does not fit the datagram")
    try:
        body = json.loads(payload[HEADER : HEADER + length].decode("utf-8").rstrip("\x00\r\n"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # nesting too deep for the parser
        raise ParseError(f"dhip: body is not JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("method"), str):
        raise ParseError("dhip: body without a method")
    method = body["method"][:MAX_TEXT]
    fields: dict[str, Any] = {"method": method}
    params = body.get("params")
    info = params.get("deviceInfo") if isinstance(params, dict) else None
    if isinstance(info, dict):
        for key, name in DEVICE_INFO.items():
            value = info.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
                fields[name] = value[:MAX_TEXT] if isinstance(value, str) else value
    if isinstance(body.get("mac"), str):
        fields["mac"] = body["mac"][:MAX_TEXT].lower()
    return KINDS.get(method, "message"), fields


class DhipDissector(Dissector):
    name: ClassVar[str] = "dhip"
    udp_ports: ClassVar[tuple[int, ...]] = (37810,)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        kind, fields = parse(pkt.payload)
        return [pkt.observation(self.name, kind, fields)]
