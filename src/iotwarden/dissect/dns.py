"""Unicast DNS (RFC 1035) on 53/udp and 53/tcp: what a host asked and what it was told.

kind: ``query`` (QR=0) or ``response`` (QR=1); subject ``src`` (the asker of a query, the server
answering a response). Fields (RFC 1035 §4.1, shared with mdns and llmnr via dissect/dnswire.py):

* ``id`` (int, §4.1.1), ``qr`` (bool), ``opcode`` (int, §4.1.1), ``rcode`` (text, RFC 6895 §2.3,
  extended by the OPT record as RFC 6891 §6.1.3 says, e.g. "NOERROR", "NXDOMAIN", "BADVERS"),
  ``aa``, ``tc``, ``rd``, ``ra`` (bool flags, §4.1.1);
* ``questions``: [{"name", "type"}] (§4.1.2; type as mnemonic, unknown as "TYPEnnn", RFC 3597 §5);
  ``qname`` / ``qtype``: the first question, for convenience;
* ``answers`` / ``authorities`` / ``additionals``: [{"name", "type", "ttl", "data"}] (§4.1.3) where
  data is IP text for A/AAAA, the target name for NS/CNAME/PTR/DNAME, {"priority", "weight",
  "port", "target"} for SRV (RFC 2782), a list of strings for TXT (RFC 1035 §3.3.14),
  {"preference", "exchange"} for MX, {"cpu", "os"} for HINFO, {"mname", "rname", "serial"} for
  SOA, {"priority", "weight", "target"} for URI (RFC 7553), else the first 64 RDATA octets as hex;
* ``edns``: {"udp_size", "version", "do"} when an OPT record is present (RFC 6891 §6.1).

Over TCP each segment may hold length-prefixed messages (RFC 1035 §4.2.2); a message split across
segments is skipped, at most MAX_MESSAGES_PER_SEGMENT are read from one segment.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import dnswire
from iotwarden.dissect.base import Dissector, Packet
from iotwarden.dissect.dnswire import message_fields, parse_message
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_MESSAGES_PER_SEGMENT = 8  # DNS-over-TCP messages read from one segment (RFC 7766 §6.2.1)


def dns_observation(pkt: Packet, proto: str, buf: bytes) -> Observation:
    """One Observation for one DNS message."""
    msg = parse_message(buf)
    return pkt.observation(proto, "response" if msg.qr else "query", message_fields(msg))


class DnsDissector(Dissector):
    name: ClassVar[str] = "dns"
    udp_ports: ClassVar[tuple[int, ...]] = (53,)
    tcp_ports: ClassVar[tuple[int, ...]] = (53,)
    max_packets_per_flow: ClassVar[int | None] = None  # every answer may name a new host

    def memo_key(self, payload: bytes) -> bytes | None:
        return dnswire.memo_key(payload)  # the fields depend on the datagram alone, ID apart

    def memo_restamp(self, payload: bytes, fields: dict[str, Any]) -> None:
        dnswire.restamp_id(payload, fields)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto != 6:
            return [dns_observation(pkt, self.name, pkt.payload)]
        out: list[Observation] = []
        buf = pkt.payload
        pos = 0
        while pos + 2 <= len(buf) and len(out) < MAX_MESSAGES_PER_SEGMENT:
            length = int.from_bytes(buf[pos : pos + 2], "big")
            if length < 12:
                raise ParseError("dns: TCP length prefix shorter than a DNS header")
            if pos + 2 + length > len(buf):
                break  # continues in a later segment: not malformed, just not whole here
            out.append(dns_observation(pkt, self.name, buf[pos + 2 : pos + 2 + length]))
            pos += 2 + length
        return out
