"""DHCPv6 (RFC 8415) on 546-547/udp: the client's DUID, name, vendor and requested options.

kind: the message type name of RFC 8415 §7.3 (solicit, advertise, request, confirm, renew, rebind,
reply, release, decline, reconfigure, information-request, relay-forw, relay-repl) and of later
RFCs (leasequery, leasequery-reply, ... RFC 5007 §4.2); ``type-N`` otherwise. Subject ``src``: a
client message describes the client, a server message the server (server_duid) and, in fields,
the client it answers (client_duid, ia_addresses).

Fields: ``msg_type`` (int), ``transaction_id`` (int, §8), ``options`` (option codes in order of
appearance: a fingerprint), ``client_duid`` (option 1, hex "00:01:..") with ``duid_type`` (§11.1)
and ``duid_mac`` (link-layer address of a DUID-LLT/DUID-LL, §11.2, §11.4), ``server_duid``
(option 2), ``oro`` (option 6, §21.7, list of codes), ``elapsed_time`` (option 8, centiseconds),
``user_class`` (option 15, §21.15, list), ``vendor_class`` (option 16, §21.16: the vendor-class-data
items joined by ",") with ``vendor_enterprise`` (IANA enterprise number), ``dns_servers`` (23,
RFC 3646 §3), ``domain_list`` (24, RFC 3646 §4), ``hostname`` (39 Client FQDN, RFC 4704 §4),
``mud_url`` (112, RFC 8520 §10), ``ia_addresses`` (IAADDR in IA_NA/IA_TA, §21.6) and ``ia_prefixes``
(IAPREFIX in IA_PD, §21.22, "prefix/len"). Relay messages (§9) add ``hop_count``,
``link_address``, ``peer_address`` and ``relayed`` (the fields of the relayed message, nested at most
MAX_RELAY_DEPTH deep). Lists hold at most MAX_LIST_ITEMS entries.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_RELAY_DEPTH = 8  # relay agents nest at most HOP_COUNT_LIMIT = 8 deep (RFC 8415 §7.6)
MAX_LIST_ITEMS = 32  # entries kept per list field
MAX_IA_OPTIONS = 64  # sub-options read inside one IA option

MESSAGE_TYPES = {
    1: "solicit", 2: "advertise", 3: "request", 4: "confirm", 5: "renew", 6: "rebind", 7: "reply",
    8: "release", 9: "decline", 10: "reconfigure", 11: "information-request", 12: "relay-forw",
    13: "relay-repl", 14: "leasequery", 15: "leasequery-reply", 16: "leasequery-done",
    17: "leasequery-data", 18: "reconfigure-request", 19: "reconfigure-reply", 20: "dhcpv4-query",
    21: "dhcpv4-response",
}
RELAY_TYPES = (12, 13)


def _hex(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _text(b: bytes) -> str:
    return b.rstrip(b"\x00").decode("utf-8", "backslashreplace")


def iter_options(buf: bytes) -> list[tuple[int, bytes]]:
    """(code, value) pairs of an option area (§21.1: 2-octet code, 2-octet length)."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(buf):
        if pos + 4 > len(buf):
            raise ParseError("dhcpv6: truncated option header")
        code = int.from_bytes(buf[pos : pos + 2], "big")
        length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
        value = buf[pos + 4 : pos + 4 + length]
        if len(value) != length:
            raise ParseError(f"dhcpv6: option {code} runs past the end of the message")
        out.append((code, value))
        pos += 4 + length
    return out


def duid_fields(duid: bytes) -> dict[str, Any]:
    """DUID type and, for DUID-LLT (1) / DUID-LL (3) over Ethernet, its MAC (§11)."""
    out: dict[str, Any] = {"client_duid": _hex(duid)}
    if len(duid) >= 2:
        dtype = int.from_bytes(duid[:2], "big")
        out["duid_type"] = dtype
        lladdr = duid[8:] if dtype == 1 else duid[4:] if dtype == 3 else b""
        if len(duid) >= 4 and int.from_bytes(duid[2:4], "big") == 1 and len(lladdr) == 6:
            out["duid_mac"] = _hex(lladdr)  # hardware type 1 = Ethernet
    return out


def _strings(value: bytes) -> list[str]:
    """A list of 2-octet length-prefixed opaque strings (user/vendor class data, §21.15)."""
    items: list[str] = []
    pos = 0
    while pos + 2 <= len(value) and len(items) < MAX_LIST_ITEMS:
        n = int.from_bytes(value[pos : pos + 2], "big")
        chunk = value[pos + 2 : pos + 2 + n]
        if len(chunk) != n:
            raise ParseError("dhcpv6: class data runs past its option")
        items.append(_text(chunk))
        pos += 2 + n
    return items


def _name(value: bytes, pos: int) -> tuple[str, int]:
    """An uncompressed domain name (RFC 8415 §10); a partial name may end without the root label
    at the end of the option (RFC 4704 §4.2)."""
    labels: list[str] = []
    while pos < len(value):
        n = value[pos]
        pos += 1
        if n == 0:
            break
        if n > 63 or pos + n > len(value):
            raise ParseError("dhcpv6: bad label in a domain name")
        labels.append(value[pos : pos + n].decode("utf-8", "backslashreplace"))
        pos += n
    return ".".join(labels), pos


def _domains(value: bytes) -> list[str]:
    """Domain names back to back (RFC 3646 §4)."""
    names: list[str] = []
    pos = 0
    while pos < len(value) and len(names) < MAX_LIST_ITEMS:
        name, pos = _name(value, pos)
        names.append(name)
    return names


def _ia_fields(code: int, value: bytes, fields: dict[str, Any]) -> None:
    start = 12 if code in (3, 25) else 4  # IA_NA/IA_PD: IAID, T1, T2; IA_TA: IAID (§21.4-21.5, §21.21)
    if len(value) < start:
        raise ParseError(f"dhcpv6: IA option {code} too short")
    for sub, data in iter_options(value[start:])[:MAX_IA_OPTIONS]:
        if sub == 5 and len(data) >= 24:  # IAADDR: address, preferred, valid (§21.6)
            bucket = fields.setdefault("ia_addresses", [])
            if len(bucket) < MAX_LIST_ITEMS:
                bucket.append(str(ipaddress.IPv6Address(data[:16])))
        elif sub == 26 and len(data) >= 25:  # IAPREFIX: preferred, valid, length, prefix (§21.22)
            bucket = fields.setdefault("ia_prefixes", [])
            if len(bucket) < MAX_LIST_ITEMS:
                bucket.append(f"{ipaddress.IPv6Address(data[9:25])}/{data[8]}")


def parse_dhcpv6(buf: bytes, depth: int = 0) -> tuple[str, dict[str, Any]]:
    if len(buf) < 4:
        raise ParseError("dhcpv6: shorter than the 4-octet header")
    msg_type = buf[0]
    fields: dict[str, Any] = {"msg_type": msg_type}
    if msg_type in RELAY_TYPES:  # §9: hop-count, link-address, peer-address
        if len(buf) < 34:
            raise ParseError("dhcpv6: relay message shorter than its 34-octet header")
        fields["hop_count"] = buf[1]
        fields["link_address"] = str(ipaddress.IPv6Address(buf[2:18]))
        fields["peer_address"] = str(ipaddress.IPv6Address(buf[18:34]))
        options = iter_options(buf[34:])
    else:
        fields["transaction_id"] = int.from_bytes(buf[1:4], "big")
        options = iter_options(buf[4:])
    fields["options"] = [code for code, _ in options][:MAX_LIST_ITEMS * 2]
    for code, value in options:
        if code == 1:
            fields.update(duid_fields(value))
        elif code == 2:
            fields["server_duid"] = _hex(value)
        elif code in (3, 4, 25):
            _ia_fields(code, value, fields)
        elif code == 6:
            fields["oro"] = [int.from_bytes(value[i : i + 2], "big") for i in range(0, len(value) - 1, 2)]
        elif code == 8 and len(value) == 2:
            fields["elapsed_time"] = int.from_bytes(value, "big")
        elif code == 9 and msg_type in RELAY_TYPES:  # Relay Message option (§21.10)
            if depth + 1 >= MAX_RELAY_DEPTH:
                raise ParseError("dhcpv6: relay messages nested too deep")
            inner_kind, inner = parse_dhcpv6(value, depth + 1)
            inner["kind"] = inner_kind
            fields["relayed"] = inner
        elif code == 15:
            fields["user_class"] = _strings(value)
        elif code == 16 and len(value) >= 4:
            fields["vendor_enterprise"] = int.from_bytes(value[:4], "big")
            fields["vendor_class"] = ",".join(_strings(value[4:]))
        elif code == 23 and len(value) % 16 == 0:
            fields["dns_servers"] = [str(ipaddress.IPv6Address(value[i : i + 16]))
                                     for i in range(0, len(value), 16)][:MAX_LIST_ITEMS]
        elif code == 24:
            fields["domain_list"] = _domains(value)
        elif code == 39 and value:  # Client FQDN: flags, then the name in DNS wire format
            fields["hostname"] = _name(value, 1)[0]
        elif code == 112:
            fields["mud_url"] = _text(value)
    return MESSAGE_TYPES.get(msg_type, f"type-{msg_type}"), fields


class Dhcpv6Dissector(Dissector):
    name: ClassVar[str] = "dhcpv6"
    udp_ports: ClassVar[tuple[int, ...]] = (546, 547)
    # every client multicasts to ff02::1:2 from its link-local address; servers answer many clients
    max_packets_per_flow: ClassVar[int | None] = None

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload  # the fields depend on the datagram alone (memo contract in dissect/base.py)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        kind, fields = parse_dhcpv6(pkt.payload)
        return [pkt.observation(self.name, kind, fields)]
