"""NetBIOS Name Service (RFC 1001/1002, NBNS) on 137/udp: Windows-style host names and their IPs.

kind: ``query`` (OPCODE 0), ``registration`` (OPCODE 5, 8 refresh, 9 multi-homed), ``release``
(OPCODE 6), ``response`` (R bit set: positive/negative answers, WACK, node status). Subject ``src``:
a registration, release or an answer carries the sender's own name (RFC 1002 §4.2.2, §4.2.13); a
query names what the sender looks for. Fields (RFC 1002 §4.2):

* ``opcode`` (text: query, registration, release, wack, refresh, multihomed_registration),
  ``broadcast`` (B flag, §4.2.1.1), ``rcode`` (int, §4.2.1.1), ``qtype`` ("NB" or "NBSTAT", §4.2.1.2);
* ``name`` (the 15-character NetBIOS name, decoded from first-level encoding, RFC 1001 §14.1,
  trailing spaces stripped), ``suffix`` (int, the 16th byte), ``name_type`` (text for the well-known
  suffixes, Microsoft "NetBIOS suffixes" table), ``scope`` (scope id, when present);
* ``ip`` and ``group`` (bool) and ``node_type`` ("B", "P", "M", "H") from the first NB resource
  record (NB_FLAGS and NB_ADDRESS, §4.2.1.3); ``ips``: every NB_ADDRESS (at most MAX_ADDRESSES);
* node status responses (§4.2.18): ``names`` [{"name", "suffix", "group"}] (at most MAX_NODE_NAMES)
  and ``unit_id`` (the MAC address the host reports).
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from iotwarden.dissect import dnswire
from iotwarden.dissect.base import Dissector, Packet
from iotwarden.dissect.dnswire import Message, Record, parse_message
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_ADDRESSES = 16  # NB_ADDRESS entries kept from one NB record
MAX_NODE_NAMES = 32  # names kept from one node status response

TYPE_NB = 0x20
TYPE_NBSTAT = 0x21
OPCODES = {0: "query", 5: "registration", 6: "release", 7: "wack", 8: "refresh", 9: "multihomed_registration"}
NODE_TYPES = ("B", "P", "M", "H")  # ONT field of NB_FLAGS, RFC 1002 §4.2.1.3
# 16th-byte suffixes (Microsoft KB 163409 "NetBIOS suffixes"); unique names unless noted
SUFFIX_NAMES = {
    0x00: "workstation", 0x03: "messenger", 0x06: "ras_server", 0x1B: "domain_master_browser",
    0x1C: "domain_controllers", 0x1D: "master_browser", 0x1E: "browser_election", 0x1F: "netdde",
    0x20: "file_server", 0x21: "ras_client",
}


def decode_netbios_name(encoded: str) -> tuple[str, int]:
    """(name, suffix) from the 32-character first-level encoding (RFC 1001 §14.1)."""
    if len(encoded) != 32 or any(not "A" <= c <= "P" for c in encoded.upper()):
        raise ParseError("netbios: name is not a 32-character first-level encoding")
    enc = encoded.upper()
    raw = bytes(((ord(enc[i]) - 65) << 4) | (ord(enc[i + 1]) - 65) for i in range(0, 32, 2))
    return raw[:15].rstrip(b" \x00").decode("latin-1"), raw[15]


def _name_fields(full: str) -> dict[str, Any]:
    first, _, scope = full.partition(".")
    name, suffix = decode_netbios_name(first)
    out: dict[str, Any] = {"name": name, "suffix": suffix, "name_type": SUFFIX_NAMES.get(suffix, f"0x{suffix:02x}")}
    if scope:
        out["scope"] = scope
    return out


def _nb_fields(msg: Message, rec: Record) -> dict[str, Any]:
    data = msg.rdata(rec)
    if len(data) < 6:
        return {}
    flags = int.from_bytes(data[:2], "big")
    ips = [str(ipaddress.IPv4Address(data[i + 2 : i + 6])) for i in range(0, len(data) - 5, 6)][:MAX_ADDRESSES]
    return {"ip": ips[0], "ips": ips, "group": bool(flags & 0x8000), "node_type": NODE_TYPES[(flags >> 13) & 3]}


def _nbstat_fields(msg: Message, rec: Record) -> dict[str, Any]:
    data = msg.rdata(rec)
    if not data:
        raise ParseError("netbios: empty node status")
    count = data[0]
    if len(data) < 1 + 18 * count:
        raise ParseError("netbios: node status names run past RDATA")
    names = []
    for i in range(min(count, MAX_NODE_NAMES)):
        entry = data[1 + 18 * i : 19 + 18 * i]
        flags = int.from_bytes(entry[16:18], "big")
        names.append({"name": entry[:15].rstrip(b" \x00").decode("latin-1"), "suffix": entry[15],
                      "group": bool(flags & 0x8000)})
    out: dict[str, Any] = {"names": names}
    stats = data[1 + 18 * count :]
    if len(stats) >= 6:  # STATISTICS starts with UNIT_ID, §4.2.18
        out["unit_id"] = ":".join(f"{b:02x}" for b in stats[:6])
    return out


class NetbiosDissector(Dissector):
    name: ClassVar[str] = "netbios"
    udp_ports: ClassVar[tuple[int, ...]] = (137,)
    max_packets_per_flow: ClassVar[int | None] = None  # broadcast queries for many names share a flow

    def memo_key(self, payload: bytes) -> bytes | None:
        return dnswire.memo_key(payload)  # the fields depend on the datagram alone, ID apart

    def memo_restamp(self, payload: bytes, fields: dict[str, Any]) -> None:
        dnswire.restamp_id(payload, fields)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        msg = parse_message(pkt.payload)
        opcode = msg.opcode
        fields: dict[str, Any] = {
            "opcode": OPCODES.get(opcode, f"opcode-{opcode}"),
            "broadcast": bool(msg.flags & 0x0010),
            "rcode": msg.flags & 0xF,
        }
        if msg.questions:
            fields.update(_name_fields(msg.questions[0].name))
            qtype = msg.questions[0].qtype
            fields["qtype"] = "NBSTAT" if qtype == TYPE_NBSTAT else "NB" if qtype == TYPE_NB else f"TYPE{qtype}"
        for rec in (*msg.answers, *msg.additionals):
            if rec.rtype == TYPE_NB:
                fields.update(_name_fields(rec.name))
                fields.update(_nb_fields(msg, rec))
                fields["qtype"] = "NB"
                break
            if rec.rtype == TYPE_NBSTAT:
                fields.update(_name_fields(rec.name))
                fields.update(_nbstat_fields(msg, rec))
                fields["qtype"] = "NBSTAT"
                break
        if "name" not in fields:
            raise ParseError("netbios: message names no NetBIOS name")
        if msg.qr:
            kind = "response"
        elif opcode in (5, 8, 9):
            kind = "registration"
        elif opcode == 6:
            kind = "release"
        elif opcode == 0:
            kind = "query"
        else:
            raise ParseError(f"netbios: request with reserved OPCODE {opcode}")
        return [pkt.observation(self.name, kind, fields)]
