"""ARP (RFC 826) for IPv4 over 48-bit MAC networks: which MAC claims which IPv4 address.

kind ``request`` (op 1) or ``reply`` (op 2); subject ``src`` (the sender's MAC/IP pair is the fact).
Fields (RFC 826 "Packet format"): ``op`` (int), ``sender_mac``, ``sender_ip``, ``target_mac``,
``target_ip`` (text), ``gratuitous`` (bool: sender and target IP equal, an announcement or a
conflict check, RFC 5227 §3), ``probe`` (bool: a request with sender IP 0.0.0.0, RFC 5227 §2.1.1).
Other hardware or protocol address sizes (not 6 and 4) and other opcodes (RARP, InARP) yield
nothing: they are not about IPv4-on-Ethernet identity.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

ARP = struct.Struct("!HHBBH6s4s6s4s")  # hrd, pro, hln, pln, op, sha, spa, tha, tpa: 28 octets
ETHERTYPE_IPV4 = 0x0800


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


class ArpDissector(Dissector):
    name: ClassVar[str] = "arp"
    ethertypes: ClassVar[tuple[int, ...]] = (0x0806,)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        buf = pkt.payload
        if len(buf) < 8:
            raise ParseError(f"arp: {len(buf)} octets, shorter than the fixed header")
        _hrd, pro, hln, pln, op = struct.unpack_from("!HHBBH", buf)
        if pro != ETHERTYPE_IPV4 or hln != 6 or pln != 4 or op not in (1, 2):
            return []
        if len(buf) < ARP.size:
            raise ParseError(f"arp: {len(buf)} octets, shorter than a 28-octet IPv4 ARP")
        _hrd, _pro, _hln, _pln, op, sha, spa, tha, tpa = ARP.unpack_from(buf)
        sender_ip = str(ipaddress.IPv4Address(spa))
        target_ip = str(ipaddress.IPv4Address(tpa))
        fields = {
            "op": op,
            "sender_mac": _mac(sha),
            "sender_ip": sender_ip,
            "target_mac": _mac(tha),
            "target_ip": target_ip,
            "gratuitous": spa == tpa and spa != b"\x00\x00\x00\x00",
            "probe": op == 1 and spa == b"\x00\x00\x00\x00",
        }
        return [pkt.observation(self.name, "request" if op == 1 else "reply", fields)]
