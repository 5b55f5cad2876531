"""Payload builders for the network-service protocols of the lab: DHCP, ARP, DNS/mDNS, SSDP, NTP, SNMP, and
Dahua's DHIP discovery.

Each function returns the bytes of one message as the cited specification lays it out; addressing
and transport are added by :mod:`iotwarden.lab.wire`.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence

from iotwarden.lab.wire import ip_bytes, mac_bytes

# ---------------------------------------------------------------- DHCP (RFC 2131 §2, RFC 2132)
DHCP_MAGIC = b"\x63\x82\x53\x63"  # RFC 2131 §3 magic cookie
DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5  # option 53 message types (RFC 2132 §9.6)
UNSPECIFIED = "0.0.0.0"  # noqa: S104 - an empty BOOTP address field (RFC 2131 §4.1), never bound


def dhcp_message(op: int, xid: int, mac: str, options: Sequence[tuple[int, bytes]], *, ciaddr: str = UNSPECIFIED,
                 yiaddr: str = UNSPECIFIED, siaddr: str = UNSPECIFIED, giaddr: str = UNSPECIFIED,
                 broadcast: bool = False, secs: int = 0) -> bytes:
    """A BOOTP/DHCP message (RFC 2131 §2 fig. 1) with ``options`` (code, value) then End (255)."""
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, 1, 6, 0, xid, secs, 0x8000 if broadcast else 0,
                       ip_bytes(ciaddr), ip_bytes(yiaddr), ip_bytes(siaddr), ip_bytes(giaddr),
                       mac_bytes(mac), b"", b"")
    body = b"".join(struct.pack("!BB", code, len(value)) + value for code, value in options)
    msg = head + DHCP_MAGIC + body + b"\xff"
    return msg + b"\x00" * (300 - len(msg)) if len(msg) < 300 else msg  # BOOTP minimum size (RFC 1542 §2.1)


# ---------------------------------------------------------------- ARP (RFC 826)
def arp(op: int, sender_mac: str, sender_ip: str, target_mac: str, target_ip: str) -> bytes:
    """ARP for IPv4 over Ethernet: op 1 request, 2 reply (RFC 826 "Packet format")."""
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac_bytes(sender_mac), ip_bytes(sender_ip),
                       mac_bytes(target_mac), ip_bytes(target_ip))


# ---------------------------------------------------------------- DNS (RFC 1035 §4) and mDNS (RFC 6762)
TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_SRV, TYPE_ANY = 1, 12, 16, 33, 255
CLASS_IN = 1
CACHE_FLUSH = 0x8000  # mDNS cache-flush bit on unique records (RFC 6762 §10.2)

Record = tuple[str, int, int, int, bytes]  # (name, type, class, ttl, rdata)


def dns_name(name: str) -> bytes:
    """A domain name as labels (RFC 1035 §3.1), uncompressed."""
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def rdata_a(ip: str) -> bytes:
    return ip_bytes(ip)


def rdata_srv(target: str, port: int, priority: int = 0, weight: int = 0) -> bytes:
    return struct.pack("!HHH", priority, weight, port) + dns_name(target)  # RFC 2782


def rdata_txt(items: dict[str, str]) -> bytes:
    """TXT strings ``key=value`` (RFC 6763 §6); an empty TXT is one empty string."""
    parts = [f"{k}={v}".encode()[:255] for k, v in items.items()] or [b""]
    return b"".join(bytes([len(p)]) + p for p in parts)


def dns_message(ident: int, flags: int, questions: Sequence[tuple[str, int, int]],
                answers: Sequence[Record] = (), additionals: Sequence[Record] = ()) -> bytes:
    """A DNS message (RFC 1035 §4.1): header, questions (name, type, class), answers, additionals."""
    out = struct.pack("!HHHHHH", ident, flags, len(questions), len(answers), 0, len(additionals))
    for name, qtype, qclass in questions:
        out += dns_name(name) + struct.pack("!HH", qtype, qclass)
    for name, rtype, rclass, ttl, rdata in (*answers, *additionals):
        out += dns_name(name) + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata
    return out


def mdns_announcement(instance: str, service: str, host: str, ip: str, *, port: int, txt: dict[str, str]) -> bytes:
    """An unsolicited mDNS response announcing one service instance (RFC 6762 §8.3, RFC 6763 §4)."""
    full = f"{instance}.{service}.local"
    target = f"{host}.local"
    answers: list[Record] = [
        (f"{service}.local", TYPE_PTR, CLASS_IN, 4500, dns_name(full)),
        (full, TYPE_SRV, CLASS_IN | CACHE_FLUSH, 120, rdata_srv(target, port)),
        (full, TYPE_TXT, CLASS_IN | CACHE_FLUSH, 4500, rdata_txt(txt)),
        ("_services._dns-sd._udp.local", TYPE_PTR, CLASS_IN, 4500, dns_name(f"{service}.local")),
    ]
    additionals: list[Record] = [(target, TYPE_A, CLASS_IN | CACHE_FLUSH, 120, rdata_a(ip))]
    return dns_message(0, 0x8400, [], answers, additionals)


def mdns_query(services: Sequence[str]) -> bytes:
    """An mDNS query for PTR records of service types (RFC 6762 §5)."""
    return dns_message(0, 0, [(f"{s}.local", TYPE_PTR, CLASS_IN) for s in services])


# ---------------------------------------------------------------- SSDP (UPnP Device Architecture 2.0 §1)
def ssdp_notify(location: str, server: str, nt: str, usn: str) -> bytes:
    return (f"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
            f"LOCATION: {location}\r\nNT: {nt}\r\nNTS: ssdp:alive\r\nSERVER: {server}\r\nUSN: {usn}\r\n\r\n").encode()


def ssdp_msearch(st: str, user_agent: str) -> bytes:
    return (f'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\n'
            f"ST: {st}\r\nUSER-AGENT: {user_agent}\r\n\r\n").encode()


def ssdp_response(location: str, server: str, st: str, usn: str) -> bytes:
    return (f"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: {location}\r\n"
            f"SERVER: {server}\r\nST: {st}\r\nUSN: {usn}\r\n\r\n").encode()


# ---------------------------------------------------------------- NTP (RFC 5905 §7.3)
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01


def ntp_timestamp(t: float) -> bytes:
    whole = int(t)
    return struct.pack("!II", (whole + NTP_EPOCH_OFFSET) & 0xFFFFFFFF, int((t - whole) * (1 << 32)) & 0xFFFFFFFF)


def ntp_packet(mode: int, t: float, *, stratum: int = 0, origin: float | None = None,
               refid: bytes = b"\0" * 4) -> bytes:
    """NTPv4 header: mode 3 client, 4 server (RFC 5905 §7.3 fig. 8)."""
    head = struct.pack("!BBbb", (0 << 6) | (4 << 3) | mode, stratum, 6 if mode == 3 else 10, -20)
    head += struct.pack("!II", 0 if mode == 3 else 0x00000200, 0 if mode == 3 else 0x00000400) + refid
    zero = b"\0" * 8
    if mode == 3:  # a client fills only the transmit timestamp (RFC 5905 §8)
        return head + zero + zero + zero + ntp_timestamp(t)
    return head + ntp_timestamp(t - 30) + ntp_timestamp(origin or t) + ntp_timestamp(t) + ntp_timestamp(t + 0.00002)


# ---------------------------------------------------------------- SNMP v1 (RFC 1157 §4, BER of X.690)
def ber(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def ber_int(value: int) -> bytes:
    return ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def ber_oid(oid: str) -> bytes:
    parts = [int(p) for p in oid.split(".")]
    out = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(chunk))
    return ber(0x06, out)


SNMP_GET, SNMP_RESPONSE = 0xA0, 0xA2  # PDU tags (RFC 1157 §4.1.2, §4.1.4)
SnmpValue = str | int | tuple[str, str]  # OCTET STRING, TimeTicks, ("oid", dotted) for OBJECT IDENTIFIER


def _snmp_value(value: SnmpValue | None) -> bytes:
    if value is None:
        return b"\x05\x00"  # NULL in requests
    if isinstance(value, tuple):
        return ber_oid(value[1])
    if isinstance(value, int):
        return ber(0x43, value.to_bytes(4, "big"))  # TimeTicks (RFC 1155 §3.2.3.5)
    return ber(0x04, value.encode())


def snmp_message(pdu: int, community: str, request_id: int, varbinds: Sequence[tuple[str, SnmpValue | None]]) -> bytes:
    binds = b"".join(ber(0x30, ber_oid(oid) + _snmp_value(v)) for oid, v in varbinds)
    body = ber_int(request_id) + ber_int(0) + ber_int(0) + ber(0x30, binds)
    return ber(0x30, ber_int(0) + ber(0x04, community.encode()) + ber(pdu, body))


# ---------------------------------------------------------------- Dahua DHIP discovery (udp/37810)
def dhip_message(body: dict[str, object]) -> bytes:
    """32-byte header (size 32, magic "DHIP", body length twice, little-endian words) and a JSON body,
    as Dahua ConfigTool and the open scanners that speak it lay it out."""
    raw = (json.dumps(body, separators=(", ", " : ")) + "\r\n").encode()
    return struct.pack("<I4sIIIIII", 32, b"DHIP", 0, 0, len(raw), 0, len(raw), 0) + raw
