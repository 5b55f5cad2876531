"""DHCPv4 / BOOTP (RFC 2131, RFC 2132) on 67-68/udp: the richest identity signal a client sends.

kind: the DHCP message type (option 53, RFC 2132 §9.6; RFC 4388 §6.1 for leasequery) lowercased:
discover, offer, request, decline, ack, nak, release, inform, forcerenew, leasequery, ...; ``bootp``
when option 53 is absent. Subject ``src`` always: a client message describes the client; a server
message (offer, ack, nak) describes the server (server_id, routers, ...) and carries the client's
facts in fields (client_mac, yiaddr, and the hostname / client_id / fqdn it echoes), which the
inventory maps to the client.

Fields (RFC 2131 §2 for the fixed header, RFC 2132 for options):
``op`` (1 request, 2 reply), ``msg_type`` (int, option 53), ``xid`` (int), ``hops``, ``secs``,
``broadcast`` (flags bit 0), ``client_mac`` (chaddr as MAC text; hex when htype/hlen are not
Ethernet's), ``ciaddr``, ``yiaddr`` (the assigned address), ``siaddr``, ``giaddr``,
``sname`` / ``file`` (when not overloaded and not empty), ``options`` (option codes in order of
appearance, each once, pad/end left out: the option-order fingerprint), and per option when present:
``subnet_mask`` (1, §3.3), ``routers`` (3, §3.5), ``dns_servers`` (6, §3.8), ``hostname`` (12, §3.14,
trailing NULs stripped), ``domain`` (15, §3.17), ``ntp_servers`` (42, §8.3), ``vendor_info`` (43,
§8.4, hex), ``requested_ip`` (50, §9.1), ``lease_time`` (51, §9.2), ``overload`` (52, §9.3),
``server_id`` (54, §9.7), ``param_req_list`` (55, §9.8, list of codes in order), ``message`` (56,
§9.9), ``max_msg_size`` (57, §9.10), ``renewal_time`` (58, §9.11), ``rebinding_time`` (59, §9.12),
``vendor_class`` (60, §9.13), ``client_id`` (61, §9.14, hex "01:00:11:..", type byte included),
``user_class`` (77, RFC 3004 §4, list of instances, or the raw text as one item when it is not
RFC 3004-encoded, as Windows sends it), ``fqdn`` (81, RFC 4702 §2: the name), ``mud_url`` (161,
RFC 8520 §10).

Option overload (52): options continue in ``file`` (1), ``sname`` (2) or both (3), read after the
options field in that order (RFC 2131 §4.1). Repeated options are concatenated (RFC 3396 §7).
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.dissect.dnswire import read_name
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_VALUE_OCTETS = 1024  # an option value (after RFC 3396 concatenation) is kept up to this size
BOOTP = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # RFC 2131 §2, Figure 1: 236 octets
MAGIC_COOKIE = b"\x63\x82\x53\x63"  # RFC 2131 §3
MESSAGE_TYPES = {
    1: "discover", 2: "offer", 3: "request", 4: "decline", 5: "ack", 6: "nak", 7: "release", 8: "inform",
    9: "forcerenew", 10: "leasequery", 11: "leaseunassigned", 12: "leaseunknown", 13: "leaseactive",
    14: "bulkleasequery", 15: "leasequerydone", 16: "activeleasequery", 17: "leasequerystatus", 18: "tls",
}
_IP_OPTIONS = {1: "subnet_mask", 50: "requested_ip", 54: "server_id"}
_IP_LIST_OPTIONS = {3: "routers", 6: "dns_servers", 42: "ntp_servers"}
_INT_OPTIONS = {51: "lease_time", 57: "max_msg_size", 58: "renewal_time", 59: "rebinding_time", 52: "overload"}
_TEXT_OPTIONS = {12: "hostname", 15: "domain", 56: "message", 60: "vendor_class", 161: "mud_url"}


def _ip(b: bytes) -> str:
    return str(ipaddress.IPv4Address(b))


def _text(b: bytes) -> str:
    return b.rstrip(b"\x00").decode("utf-8", "backslashreplace")


def _hex(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def parse_options(area: bytes, values: dict[int, bytes], order: list[int]) -> None:
    """Read the options in ``area`` into ``values`` (concatenating repeats) and ``order``."""
    pos = 0
    while pos < len(area):
        code = area[pos]
        if code == 0:  # Pad, RFC 2132 §3.1
            pos += 1
            continue
        if code == 255:  # End, RFC 2132 §3.2
            return
        if pos + 1 >= len(area):
            raise ParseError(f"dhcp: option {code} has no length")
        length = area[pos + 1]
        value = area[pos + 2 : pos + 2 + length]
        if len(value) != length:
            raise ParseError(f"dhcp: option {code} runs past the end of its area")
        if code in values:
            values[code] = (values[code] + value)[:MAX_VALUE_OCTETS]
        else:
            values[code] = value
            order.append(code)
        pos += 2 + length


def user_class(value: bytes) -> list[str]:
    """Option 77: RFC 3004 length-prefixed instances, or the raw text when not so encoded."""
    items: list[str] = []
    pos = 0
    while pos < len(value):
        n = value[pos]
        chunk = value[pos + 1 : pos + 1 + n]
        if n == 0 or len(chunk) != n:
            return [_text(value)]
        items.append(_text(chunk))
        pos += 1 + n
    return items


def fqdn_name(value: bytes) -> str:
    """Option 81's domain name: wire-encoded when the E flag is set, else ASCII (RFC 4702 §2.3)."""
    if len(value) < 3:
        raise ParseError("dhcp: client FQDN option shorter than 3 octets")
    if value[0] & 0x04:
        return "" if len(value) == 3 else read_name(value, 3)[0]
    return _text(value[3:])


def option_fields(values: dict[int, bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code, value in values.items():
        if code in _IP_OPTIONS and len(value) == 4:
            out[_IP_OPTIONS[code]] = _ip(value)
        elif code in _IP_LIST_OPTIONS and value and len(value) % 4 == 0:
            out[_IP_LIST_OPTIONS[code]] = [_ip(value[i : i + 4]) for i in range(0, len(value), 4)]
        elif code in _INT_OPTIONS and value and len(value) in (1, 2, 4):
            out[_INT_OPTIONS[code]] = int.from_bytes(value, "big")
        elif code in _TEXT_OPTIONS:
            out[_TEXT_OPTIONS[code]] = _text(value)
        elif code == 53 and len(value) == 1:
            out["msg_type"] = value[0]
        elif code == 55:
            out["param_req_list"] = list(value)
        elif code == 61:
            out["client_id"] = _hex(value)
        elif code == 43:
            out["vendor_info"] = value.hex()
        elif code == 77:
            out["user_class"] = user_class(value)
        elif code == 81:
            out["fqdn"] = fqdn_name(value)
    return out


def parse_dhcp(buf: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one BOOTP/DHCP message; ParseError when malformed."""
    if len(buf) < BOOTP.size:
        raise ParseError(f"dhcp: {len(buf)} octets, shorter than the 236-octet BOOTP header")
    (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname,
     file) = BOOTP.unpack_from(buf)
    if op not in (1, 2):
        raise ParseError(f"dhcp: op {op} is neither BOOTREQUEST nor BOOTREPLY")
    if hlen > 16:
        raise ParseError(f"dhcp: hlen {hlen} larger than chaddr")
    fields: dict[str, Any] = {
        "op": op,
        "xid": xid,
        "hops": hops,
        "secs": secs,
        "broadcast": bool(flags & 0x8000),
        "client_mac": _hex(chaddr[:6]) if htype == 1 and hlen == 6 else chaddr[:hlen].hex(),
        "ciaddr": _ip(ciaddr),
        "yiaddr": _ip(yiaddr),
        "siaddr": _ip(siaddr),
        "giaddr": _ip(giaddr),
    }
    values: dict[int, bytes] = {}
    order: list[int] = []
    if buf[BOOTP.size : BOOTP.size + 4] == MAGIC_COOKIE:
        parse_options(buf[BOOTP.size + 4 :], values, order)
    overload = values[52][0] if values.get(52) else 0  # option 52, RFC 2132 §9.3
    if overload & 1:
        parse_options(file, values, order)
    elif file.strip(b"\x00"):
        fields["file"] = _text(file)
    if overload & 2:
        parse_options(sname, values, order)
    elif sname.strip(b"\x00"):
        fields["sname"] = _text(sname)
    fields.update(option_fields(values))
    fields["options"] = order
    msg_type = fields.get("msg_type")
    if msg_type is None:
        return "bootp", fields
    return MESSAGE_TYPES.get(msg_type, f"type-{msg_type}"), fields


class DhcpDissector(Dissector):
    name: ClassVar[str] = "dhcp"
    udp_ports: ClassVar[tuple[int, ...]] = (67, 68)
    # every client broadcasts on the same 0.0.0.0:68 -> 255.255.255.255:67 flow: see them all
    max_packets_per_flow: ClassVar[int | None] = None

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload  # the fields depend on the datagram alone (memo contract in dissect/base.py)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        kind, fields = parse_dhcp(pkt.payload)
        return [pkt.observation(self.name, kind, fields)]
