"""SSDP (UPnP Device Architecture 2.0 §1, HTTP over UDP to 239.255.255.250:1900): UPnP discovery.

kind: ``msearch`` (an "M-SEARCH * HTTP/1.1" search, UDA §1.3.2), ``notify`` ("NOTIFY *", an
advertisement, §1.2.2) or ``response`` (an "HTTP/1.1 200 OK" search response, §1.3.3). Subject
``src``: a device's own advertisement or response (SERVER, LOCATION, USN describe it), or the
searcher (its USER-AGENT, and what it looks for in ST).
Fields: ``method`` ("M-SEARCH", "NOTIFY", or None for a response), ``status`` (int, responses),
``st`` (search target), ``nt`` (notification type), ``nts`` (ssdp:alive / ssdp:byebye /
ssdp:update), ``usn`` (unique service name), ``server`` ("OS/version UPnP/2.0 product/version"),
``location`` (URL of the device description), ``user_agent``, and ``headers`` (every header,
names lowercased, the first occurrence kept; at most MAX_HEADERS headers, values cut to
MAX_VALUE_CHARS characters).
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_HEADERS = 32  # headers kept from one message
MAX_VALUE_CHARS = 512  # characters kept of one header value
MAX_MESSAGE_OCTETS = 8192  # octets of the datagram read (UDA §1.1.2 keeps SSDP under one MTU)
_NAMED = {"st": "st", "nt": "nt", "nts": "nts", "usn": "usn", "server": "server", "location": "location",
          "user-agent": "user_agent"}


def parse_ssdp(buf: bytes) -> tuple[str, dict[str, Any]]:
    text = buf[:MAX_MESSAGE_OCTETS].decode("utf-8", "backslashreplace")
    lines = text.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    parts = start.split(" ")
    fields: dict[str, Any] = {}
    if start.upper().startswith("HTTP/"):
        if len(parts) < 2 or not (parts[1].isascii() and parts[1].isdigit()):
            raise ParseError("ssdp: response line without a status code")
        kind = "response"
        fields["method"] = None
        fields["status"] = int(parts[1])
    elif len(parts) == 3 and parts[2].upper().startswith("HTTP/") and parts[0].upper() in ("M-SEARCH", "NOTIFY"):
        fields["method"] = parts[0].upper()
        kind = "msearch" if fields["method"] == "M-SEARCH" else "notify"
    else:
        raise ParseError("ssdp: not an SSDP start line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line.strip():
            break  # end of the header block (RFC 9112 §2.1)
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ParseError("ssdp: header line without a name")
        key = name.strip().lower()
        if key not in headers and len(headers) < MAX_HEADERS:
            headers[key] = value.strip()[:MAX_VALUE_CHARS]
    for header, field in _NAMED.items():
        if header in headers:
            fields[field] = headers[header]
    fields["headers"] = headers
    return kind, fields


class SsdpDissector(Dissector):
    name: ClassVar[str] = "ssdp"
    udp_ports: ClassVar[tuple[int, ...]] = (1900,)
    max_packets_per_flow: ClassVar[int | None] = None  # each NOTIFY announces another service type

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload  # the fields depend on the datagram alone (memo contract in dissect/base.py)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        kind, fields = parse_ssdp(pkt.payload)
        return [pkt.observation(self.name, kind, fields)]
