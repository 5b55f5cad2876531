"""The DNS message wire format (RFC 1035 §4), shared by the dns, mdns, llmnr and netbios dissectors.

Parses header, questions and resource records with bounded work and turns them into the field
vocabulary the DNS-family dissectors document (see :func:`message_fields`).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Any

from iotwarden.errors import ParseError

# Limits (STYLE 7). A message is at most 64 KiB, so parsing work is linear in its size; these
# bound what one message may put into an Observation.
MAX_RECORDS_PER_SECTION = 64  # records kept per section; the rest are parsed past, not reported
MAX_POINTER_JUMPS = 32  # compression pointers followed in one name (RFC 1035 §4.1.4)
MAX_NAME_OCTETS = 255  # RFC 1035 §2.3.4: a name is at most 255 octets on the wire
MAX_TXT_STRINGS = 64  # character-strings kept from one TXT record (RFC 1035 §3.3.14)
MAX_RDATA_HEX = 64  # octets of an undecoded RDATA shown as hex

HEADER = struct.Struct("!HHHHHH")  # RFC 1035 §4.1.1: ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT

# RR TYPE mnemonics (IANA "Resource Record (RR) TYPEs"); others print as TYPEnnn (RFC 3597 §5)
TYPE_NAMES: dict[int, str] = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
    17: "RP", 18: "AFSDB", 24: "SIG", 25: "KEY", 28: "AAAA", 29: "LOC", 32: "NB", 33: "SRV",
    35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 44: "SSHFP", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
    50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 64: "SVCB", 65: "HTTPS", 99: "SPF", 249: "TKEY",
    250: "TSIG", 251: "IXFR", 252: "AXFR", 255: "ANY", 256: "URI", 257: "CAA",
}
# RCODE mnemonics (RFC 6895 §2.3; extended codes through the OPT record, RFC 6891 §6.1.3)
RCODE_NAMES: dict[int, str] = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 11: "DSOTYPENI",
    16: "BADVERS", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG",
    22: "BADTRUNC", 23: "BADCOOKIE",
}
TYPE_OPT = 41


def type_name(rtype: int) -> str:
    return TYPE_NAMES.get(rtype, f"TYPE{rtype}")


@dataclass(slots=True)
class Question:
    name: str
    qtype: int
    qclass: int  # mDNS: the top bit is the unicast-response bit (RFC 6762 §5.4)


@dataclass(slots=True)
class Record:
    name: str
    rtype: int
    rclass: int  # mDNS: the top bit is the cache-flush bit (RFC 6762 §10.2); OPT: UDP size
    ttl: int  # OPT: extended RCODE, version and flags (RFC 6891 §6.1.3)
    rdata_offset: int
    rdata_length: int


@dataclass(slots=True)
class Message:
    """One parsed message; the record lists hold at most MAX_RECORDS_PER_SECTION each."""

    buf: bytes
    id: int
    flags: int
    questions: list[Question] = field(default_factory=list)
    answers: list[Record] = field(default_factory=list)
    authorities: list[Record] = field(default_factory=list)
    additionals: list[Record] = field(default_factory=list)
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)  # as the header claims them
    opt: Record | None = None  # the EDNS(0) pseudo-record, kept out of ``additionals``

    @property
    def qr(self) -> bool:
        return bool(self.flags & 0x8000)

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def rcode(self) -> int:
        """RCODE, with the upper 8 bits from the OPT record's TTL field when present."""
        low = self.flags & 0xF
        if self.opt is not None:
            return ((self.opt.ttl >> 24) << 4) | low
        return low

    def rdata(self, rec: Record) -> bytes:
        return self.buf[rec.rdata_offset : rec.rdata_offset + rec.rdata_length]


def _label_text(label: bytes) -> str:
    return label.decode("utf-8", "backslashreplace")


def read_name(buf: bytes, offset: int) -> tuple[str, int]:
    """The name at ``offset`` (following compression pointers) and the offset just after it.

    Only backward pointers are accepted (a pointer refers to a prior occurrence, RFC 1035 §4.1.4),
    which makes loops impossible; MAX_POINTER_JUMPS and MAX_NAME_OCTETS bound the rest.
    """
    labels: list[str] = []
    octets = 0
    end: int | None = None
    pos = offset
    floor = offset  # a pointer must point before the start of the current run of labels
    jumps = 0
    while True:
        if pos >= len(buf):
            raise ParseError("dns: name runs past the end of the message")
        length = buf[pos]
        kind = length & 0xC0
        if kind == 0xC0:
            if pos + 1 >= len(buf):
                raise ParseError("dns: truncated compression pointer")
            target = ((length & 0x3F) << 8) | buf[pos + 1]
            if target >= floor:
                raise ParseError("dns: compression pointer does not point backwards")
            jumps += 1
            if jumps > MAX_POINTER_JUMPS:
                raise ParseError("dns: too many compression pointers")
            if end is None:
                end = pos + 2
            pos = floor = target
            continue
        if kind != 0:
            raise ParseError(f"dns: unsupported label type 0x{kind:02x}")  # RFC 6891 §5
        if length == 0:
            if end is None:
                end = pos + 1
            break
        label = buf[pos + 1 : pos + 1 + length]
        if len(label) != length:
            raise ParseError("dns: label runs past the end of the message")
        octets += length + 1
        if octets > MAX_NAME_OCTETS:
            raise ParseError("dns: name longer than 255 octets")
        labels.append(_label_text(label))
        pos += 1 + length
    return (".".join(labels) if labels else "."), end




def _read_record(buf: bytes, pos: int) -> tuple[Record, int]:
    name, pos = read_name(buf, pos)
    if pos + 10 > len(buf):
        raise ParseError("dns: truncated resource record")
    rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", buf, pos)
    pos += 10
    if pos + rdlen > len(buf):
        raise ParseError("dns: RDATA runs past the end of the message")
    return Record(name, rtype, rclass, ttl, pos, rdlen), pos + rdlen


def parse_message(buf: bytes) -> Message:
    """Parse a whole DNS-format message (RFC 1035 §4.1); raise ParseError if it is malformed."""
    if len(buf) < HEADER.size:
        raise ParseError("dns: message shorter than its 12-byte header")
    ident, flags, qd, an, ns, ar = HEADER.unpack_from(buf)
    msg = Message(buf=bytes(buf), id=ident, flags=flags, counts=(qd, an, ns, ar))
    pos = HEADER.size
    for _ in range(qd):
        name, pos = read_name(buf, pos)
        if pos + 4 > len(buf):
            raise ParseError("dns: truncated question")
        qtype, qclass = struct.unpack_from("!HH", buf, pos)
        pos += 4
        if len(msg.questions) < MAX_RECORDS_PER_SECTION:
            msg.questions.append(Question(name, qtype, qclass))
    for count, section in ((an, msg.answers), (ns, msg.authorities), (ar, msg.additionals)):
        for _ in range(count):
            rec, pos = _read_record(buf, pos)
            if rec.rtype == TYPE_OPT and section is msg.additionals and msg.opt is None:
                msg.opt = rec
            elif len(section) < MAX_RECORDS_PER_SECTION:
                section.append(rec)
    return msg


def _ip(data: bytes) -> str:
    if len(data) == 4:
        return str(ipaddress.IPv4Address(data))
    if len(data) == 16:
        return str(ipaddress.IPv6Address(data))
    raise ParseError(f"dns: address RDATA of {len(data)} octets")


def character_strings(data: bytes, limit: int = MAX_TXT_STRINGS) -> list[str]:
    """<character-string>s (RFC 1035 §3.3): length-prefixed, decoded as UTF-8."""
    out: list[str] = []
    pos = 0
    while pos < len(data) and len(out) < limit:
        n = data[pos]
        chunk = data[pos + 1 : pos + 1 + n]
        if len(chunk) != n:
            raise ParseError("dns: character-string runs past its RDATA")
        out.append(chunk.decode("utf-8", "backslashreplace"))
        pos += 1 + n
    return out


def rdata_value(msg: Message, rec: Record) -> Any:
    """The RDATA of ``rec`` as a JSON value (formats documented in the dns dissector)."""
    data = msg.rdata(rec)
    t = rec.rtype
    if t in (1, 28):  # A (RFC 1035 §3.4.1), AAAA (RFC 3596 §2.2)
        return _ip(data)
    if t in (2, 5, 12, 39):  # NS, CNAME, PTR (RFC 1035 §3.3), DNAME (RFC 6672 §2.1)
        return read_name(msg.buf, rec.rdata_offset)[0]
    if t == 15 and len(data) >= 3:  # MX (RFC 1035 §3.3.9)
        return {"preference": struct.unpack_from("!H", data)[0],
                "exchange": read_name(msg.buf, rec.rdata_offset + 2)[0]}
    if t == 33 and len(data) >= 7:  # SRV (RFC 2782)
        prio, weight, port = struct.unpack_from("!HHH", data)
        return {"priority": prio, "weight": weight, "port": port,
                "target": read_name(msg.buf, rec.rdata_offset + 6)[0]}
    if t == 16:  # TXT (RFC 1035 §3.3.14; DNS-SD key=value pairs, RFC 6763 §6)
        return character_strings(data)
    if t == 13:  # HINFO (RFC 1035 §3.3.2)
        parts = character_strings(data, 2)
        if len(parts) != 2:
            raise ParseError("dns: HINFO without CPU and OS strings")
        return {"cpu": parts[0], "os": parts[1]}
    if t == 6:  # SOA (RFC 1035 §3.3.13)
        mname, pos = read_name(msg.buf, rec.rdata_offset)
        rname, pos = read_name(msg.buf, pos)
        if pos + 20 > rec.rdata_offset + rec.rdata_length:
            raise ParseError("dns: truncated SOA")
        return {"mname": mname, "rname": rname, "serial": struct.unpack_from("!I", msg.buf, pos)[0]}
    if t == 256 and len(data) >= 4:  # URI (RFC 7553 §4.5)
        prio, weight = struct.unpack_from("!HH", data)
        return {"priority": prio, "weight": weight, "target": data[4:].decode("utf-8", "backslashreplace")}
    return data[:MAX_RDATA_HEX].hex()


def records_fields(msg: Message, records: list[Record]) -> list[dict[str, Any]]:
    return [{"name": r.name, "type": type_name(r.rtype), "ttl": r.ttl, "data": rdata_value(msg, r)}
            for r in records]


def memo_key(payload: bytes) -> bytes | None:
    """Memo key of a DNS-format datagram (contract in dissect/base.py): all but the 2-byte ID
    (RFC 1035 §4.1.1), which clients draw afresh for every query; :func:`restamp_id` puts it back."""
    return payload[2:] if len(payload) >= HEADER.size else None


def restamp_id(payload: bytes, fields: dict[str, Any]) -> None:
    """The ``id`` field of a replayed message: this datagram's own ID."""
    if "id" in fields:
        fields["id"] = (payload[0] << 8) | payload[1]


def message_fields(msg: Message) -> dict[str, Any]:
    """The DNS field vocabulary shared by dns, mdns and llmnr (documented in dissect/dns.py)."""
    out: dict[str, Any] = {
        "id": msg.id,
        "qr": msg.qr,
        "opcode": msg.opcode,
        "rcode": RCODE_NAMES.get(msg.rcode, f"RCODE{msg.rcode}"),
        "aa": bool(msg.flags & 0x0400),
        "tc": bool(msg.flags & 0x0200),
        "rd": bool(msg.flags & 0x0100),
        "ra": bool(msg.flags & 0x0080),
        "questions": [{"name": q.name, "type": type_name(q.qtype)} for q in msg.questions],
        "answers": records_fields(msg, msg.answers),
        "authorities": records_fields(msg, msg.authorities),
        "additionals": records_fields(msg, msg.additionals),
    }
    if msg.questions:
        out["qname"] = msg.questions[0].name
        out["qtype"] = type_name(msg.questions[0].qtype)
    if msg.opt is not None:  # EDNS(0), RFC 6891 §6.1.3
        out["edns"] = {"udp_size": msg.opt.rclass, "version": (msg.opt.ttl >> 16) & 0xFF,
                       "do": bool(msg.opt.ttl & 0x8000)}
    return out
