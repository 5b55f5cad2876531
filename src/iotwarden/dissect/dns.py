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

Over TCP each message has a 2-byte length prefix (RFC 1035 §4.2.2, RFC 7766 §8) and the stream is read
as a stream (dissect/streambuf.py): a message may span segments, several may share one (pipelined queries
and their answers, RFC 7766 §6.2.1.1), and the observations do not depend on how the bytes were cut. A
prefix under the 12-byte header ends the flow's dissection (the framing is lost); a malformed message
inside the framing costs only itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import dnswire, streambuf
from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.dnswire import message_fields, parse_message
from iotwarden.errors import ParseError
from iotwarden.model import Observation

TCP_PREFIX = 2  # RFC 1035 §4.2.2: two octets of message length before each message on TCP
MAX_TCP_MESSAGE = 0xFFFF  # the most the prefix can say


def dns_observation(pkt: Packet, proto: str, buf: bytes) -> Observation:
    """One Observation for one DNS message."""
    msg = parse_message(buf)
    return pkt.observation(proto, "response" if msg.qr else "query", message_fields(msg))


class DnsDissector(StreamDissector):
    """A datagram per message on UDP (memoised, contract in dissect/base.py); a length-prefixed stream on TCP."""

    name: ClassVar[str] = "dns"
    udp_ports: ClassVar[tuple[int, ...]] = (53,)
    tcp_ports: ClassVar[tuple[int, ...]] = (53,)
    max_packets_per_flow: ClassVar[int | None] = None  # every answer may name a new host
    # an incomplete message held between deliveries: the prefix and the longest message it can announce
    max_buffer: ClassVar[int] = TCP_PREFIX + MAX_TCP_MESSAGE

    def memo_key(self, payload: bytes) -> bytes | None:
        return dnswire.memo_key(payload)  # the fields depend on the datagram alone, ID apart

    def memo_restamp(self, payload: bytes, fields: dict[str, Any]) -> None:
        dnswire.restamp_id(payload, fields)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto != 6:
            return [dns_observation(pkt, self.name, data)]
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        error: ParseError | None = None  # a malformed message: the prefix still frames the ones after it
        while len(buf) >= TCP_PREFIX:
            length = int.from_bytes(buf[:TCP_PREFIX], "big")
            if length < dnswire.HEADER.size:
                state["done"] = True
                buf.clear()
                raise streambuf.failed(ParseError("dns: TCP length prefix shorter than a DNS header"), out)
            if len(buf) < TCP_PREFIX + length:
                break  # the rest of the message comes in a later delivery
            message = bytes(buf[TCP_PREFIX : TCP_PREFIX + length])
            del buf[: TCP_PREFIX + length]
            try:
                out.append(dns_observation(pkt, self.name, message))
            except ParseError as exc:
                error = error or exc
        streambuf.bound(state, buf, self.max_buffer)
        if error is not None:
            raise streambuf.failed(error, out)
        return out
