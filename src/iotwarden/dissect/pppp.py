"""CS2 Network P2P and Shenzhen Yunni iLnkP2P ("PPPP"): the UDP messages by which cheap IP cameras, baby
monitors and DVRs log in to their vendor's P2P servers (udp/32100) and are found and reached by their phone app.

Sources: Paul Marrapese, "Abusing P2P to Hack 3 Million Cameras" (DEF CON 28, 2020) and his Wireshark
description github.com/pmarrapese/iot ``p2p/dissector/pppp.fdesc`` (message types and layouts; ``pppp.wsgd``:
one complete message per datagram, its total length ``message_size + 4``); Magnus Ihse Bursie's
github.com/magicus/pppp-dissector (``PPPP.md``: the UID, discovery by MSG_LAN_SEARCH on udp/32108, P2P servers
on udp/32100; ``pppp_dissect.lua``: the later types 0x16, 0x26, 0x6A, 0xF9); datenstau/A9_PPPP ``pppp.js``.

A message is a 4-byte header, magic 0xF1, the message type, the body's length (16 bits, big-endian), then the
body. Some vendors obfuscate whole datagrams with CS2's XOR tables (A9_PPPP ``crypt.js``): their first byte is
no 0xF1 and nothing of them is read here; others obfuscate only bodies (the ``*_CRC`` logins): the header is
still read. The device's UID (DID, "VSTC-123456-ABCDE") is 20 bytes in the bodies that carry it in clear:
the prefix (8 bytes, NUL-padded), the serial (32 bits, big-endian), the check code (8 bytes, NUL-padded)
(``pppp.fdesc`` parse_uid; PPPP.md: prefix and check of A-Z letters, prefix 3 to 7 long, check seen 5 long).

Every message is one Observation (subject ``src``, the sender). Its kind says which end sent it, where the
message type proves it and the ports agree: ``device_message`` (a device logging in to its P2P server:
MSG_DEV_LGN and its variants, sent to udp/32100), ``server_message`` (a P2P server's answer, from udp/32100:
HELLO_ACK, DEV_LGN_ACK*, DEV_ONLINE_REQ_ACK, P2P_REQ_ACK, PUNCH_TO, LIST_REQ_ACK), ``client_message`` (an app:
P2P_REQ to a server, LAN_SEARCH to udp/32108), else ``message`` (HELLO is sent by devices and apps alike;
PUNCH_PKT and P2P_RDY by both ends of a session). Fields: ``type`` (the number), ``type_name`` (the
references' name without its MSG_ prefix; absent for a type they do not name), ``length`` (of the body),
``role`` (device, server or client, as the kind), ``direction`` ("to_p2p_server" or "from_p2p_server" when
one end is on udp/32100), ``did`` and ``did_prefix`` where a body holds a valid UID in clear (in a device's
login it is the sender's own; in P2P_REQ, PUNCH_PKT, P2P_RDY the device's the message is about),
``api_version`` ("a.b.c") where the layout has it.

The flows are long-lived keep-alives: only the first MAX_MESSAGES messages of a flow are read.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAGIC = 0xF1  # pppp.fdesc is_pppp_message / T_message_header.magic_number
HEADER = 4  # magic, type, 16-bit big-endian body length (pppp.fdesc T_message_header)
SERVER_PORT = 32100  # PPPP.md: "connection to the P2P directory servers happen on UDP port 32100"
LAN_SEARCH_PORT = 32108  # PPPP.md "Device discovery": MSG_LAN_SEARCH is broadcast on UDP port 32108
MAX_MESSAGES = 16  # messages read of one flow; a login exchange is a HELLO and a DEV_LGN with their answers
DRW_MAGIC = 0xD1  # pppp.fdesc T_MSG_DRW drw_header.magic_number; A9_PPPP pppp.js MDRW
UID_SIZE = 20  # pppp.fdesc parse_uid: string(8) prefix, uint32 serial, string(8) check code
_LETTERS = re.compile(rb"[A-Z]+")

# pppp.fdesc T_message_type; 0x16, 0x26, 0x6A, 0xF9 from pppp_dissect.lua opcode_names. Types named twice in
# pppp.fdesc (0x87, 0x91, 0x92) are told apart by size, as its T_msg_switch does (SIZED_NAMES).
TYPE_NAMES: dict[int, str] = {
    0x00: "HELLO", 0x01: "HELLO_ACK", 0x02: "HELLO_TO", 0x03: "HELLO_TO_ACK", 0x08: "QUERY_DID",
    0x09: "QUERY_DID_ACK", 0x10: "DEV_LGN", 0x11: "DEV_LGN_ACK", 0x12: "DEV_LGN_CRC", 0x13: "DEV_LGN_ACK_CRC",
    0x14: "DEV_LGN_KEY", 0x15: "DEV_LGN_ACK_KEY", 0x16: "DEV_LGN_DSK", 0x18: "DEV_ONLINE_REQ",
    0x19: "DEV_ONLINE_REQ_ACK", 0x20: "P2P_REQ", 0x21: "P2P_REQ_ACK", 0x26: "P2P_REQ_DSK", 0x30: "LAN_SEARCH",
    0x31: "LAN_NOTIFY", 0x32: "LAN_NOTIFY_ACK", 0x40: "PUNCH_TO", 0x41: "PUNCH_PKT", 0x42: "P2P_RDY",
    0x43: "P2P_RDY_ACK", 0x60: "RS_LGN", 0x61: "RS_LGN_ACK", 0x62: "RS_LGN1", 0x63: "RS_LGN1_ACK",
    0x67: "LIST_REQ1", 0x68: "LIST_REQ", 0x69: "LIST_REQ_ACK", 0x6A: "LIST_REQ_DSK", 0x70: "RLY_HELLO",
    0x71: "RLY_HELLO_ACK", 0x72: "RLY_PORT", 0x73: "RLY_PORT_ACK", 0x74: "RLY_PORT_KEY", 0x75: "RLY_PORT_ACK_KEY",
    0x78: "RLY_BYTE_COUNT", 0x80: "RLY_REQ", 0x81: "RLY_REQ_ACK", 0x82: "RLY_TO", 0x83: "RLY_PKT", 0x84: "RLY_RDY",
    0x85: "RLY_TO_ACK", 0x87: "RLY_SERVER_REQ_ACK", 0x90: "SDEV_RUN", 0x91: "SDEV_LGN_ACK",
    0x92: "SDEV_LGN_ACK_CRC", 0x94: "SDEV_REPORT", 0xA0: "CONNECT_REPORT", 0xA1: "REPORT_REQ", 0xA2: "REPORT",
    0xD0: "DRW", 0xD1: "DRW_ACK", 0xD8: "PSR", 0xE0: "ALIVE", 0xE1: "ALIVE_ACK", 0xF0: "CLOSE",
    0xF4: "MGM_DUMP_LOGIN_DID", 0xF5: "MGM_DUMP_LOGIN_DID_DETAIL", 0xF6: "MGM_DUMP_LOGIN_DID_1",
    0xF7: "MGM_LOG_CONTROL", 0xF8: "MGM_REMOTE_MANAGEMENT", 0xF9: "REPORT_SESSION_READY",
}
SIZED_NAMES: dict[tuple[int, int], str] = {(0x87, 20): "RLY_SERVER_REQ", (0x91, 20): "SDEV_LGN",
                                           (0x92, 24): "SDEV_LGN_CRC"}
# types whose body starts with a device's UID in clear (pppp.fdesc: device_uid = parse_uid() first); 0x87
# only at the request's size
UID_TYPES = frozenset({0x10, 0x14, 0x18, 0x20, 0x31, 0x32, 0x41, 0x42, 0x67, 0x74, 0x80, 0x84})
# where a uint24 api_version follows (pppp.fdesc): DEV_LGN/DEV_LGN_KEY after the UID and nat_type; the _EX forms
# of PUNCH_PKT and P2P_RDY (body of 24) right after the UID
API_VERSION_AT: dict[int, int] = {0x10: UID_SIZE + 1, 0x14: UID_SIZE + 1}
EX_TYPES = frozenset({0x41, 0x42})
EX_SIZE = 24
# the sender each type proves, and the port it must be sent to (device, client) or from (server)
DEVICE_TYPES = frozenset({0x10, 0x12, 0x14, 0x16})  # MSG_DEV_LGN*: a device logs in to its P2P server
SERVER_TYPES = frozenset({0x01, 0x11, 0x13, 0x15, 0x19, 0x21, 0x40, 0x69})  # the server's answers and PUNCH_TO
CLIENT_TYPES = {0x20: SERVER_PORT, 0x30: LAN_SEARCH_PORT}  # P2P_REQ to the server; LAN_SEARCH broadcast
# body sizes pppp.fdesc fixes, checked before another port's flow is claimed (probe)
FIXED_SIZES: dict[int, frozenset[int]] = {
    0x00: frozenset({0}), 0x01: frozenset({16}), 0x10: frozenset({40}), 0x11: frozenset({4}),
    0x12: frozenset({44}), 0x13: frozenset({8}), 0x30: frozenset({0}), 0x40: frozenset({16}),
    0x41: frozenset({20, EX_SIZE}), 0x42: frozenset({20, EX_SIZE}), 0x43: frozenset({0}),
    0xE0: frozenset({0}), 0xE1: frozenset({0}), 0xF0: frozenset({0}),
}


def header(datagram: bytes) -> tuple[int, int]:
    """(type, body length) of one datagram; ParseError unless it is one whole PPPP message (pppp.wsgd:
    PACKET_CONTAINS_ONLY_1_MSG, MSG_TOTAL_LENGTH message_size + 4)."""
    if len(datagram) < HEADER or datagram[0] != MAGIC:
        raise ParseError("pppp: no 0xF1 magic and 4-byte header")
    length = int.from_bytes(datagram[2:4], "big")
    if HEADER + length != len(datagram):
        raise ParseError(f"pppp: body length {length} disagrees with a datagram of {len(datagram)} bytes")
    return datagram[1], length


def type_name(msg_type: int, length: int) -> str | None:
    """The references' name of a type (None: a type they do not name)."""
    return SIZED_NAMES.get((msg_type, length)) or TYPE_NAMES.get(msg_type)


def read_uid(body: bytes) -> str | None:
    """"PREFIX-012345-CHECK" of the 20-byte UID at the start of ``body``; None unless it is one in clear."""
    if len(body) < UID_SIZE:
        return None
    prefix, check = _letters(body[:8], 3), _letters(body[12:UID_SIZE], 4)
    if prefix is None or check is None:
        return None
    return f"{prefix}-{int.from_bytes(body[8:12], 'big'):06d}-{check}"


def _letters(field: bytes, least: int) -> str | None:
    """The NUL-padded upper-case word of an 8-byte UID part (at most 7 letters), or None."""
    text, _, pad = field.partition(b"\0")
    if len(text) < least or len(text) > 7 or pad.strip(b"\0") or not _LETTERS.fullmatch(text):
        return None
    return text.decode("ascii")


def parse(datagram: bytes, src_port: int | None, dst_port: int | None) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one datagram between those ports; ParseError when it is no PPPP message."""
    msg_type, length = header(datagram)
    body = datagram[HEADER:]
    fields: dict[str, Any] = {"type": msg_type, "length": length}
    name = type_name(msg_type, length)
    if name is not None:
        fields["type_name"] = name
    if dst_port == SERVER_PORT and src_port != SERVER_PORT:
        fields["direction"] = "to_p2p_server"
    elif src_port == SERVER_PORT and dst_port != SERVER_PORT:
        fields["direction"] = "from_p2p_server"
    if msg_type in UID_TYPES or (msg_type, length) == (0x87, UID_SIZE):
        did = read_uid(body)
        if did is not None:
            fields["did"], fields["did_prefix"] = did, did.split("-", 1)[0]
            at = API_VERSION_AT.get(msg_type, UID_SIZE if msg_type in EX_TYPES and length == EX_SIZE else None)
            if at is not None and len(body) >= at + 3:
                fields["api_version"] = ".".join(str(b) for b in body[at : at + 3])
    role = _role(msg_type, fields.get("direction"), dst_port)
    if role is None:
        return "message", fields
    fields["role"] = role
    return f"{role}_message", fields


def _role(msg_type: int, direction: str | None, dst_port: int | None) -> str | None:
    """The sender's role when the type proves it and the ports agree (a login goes to the server's port)."""
    if msg_type in DEVICE_TYPES and direction == "to_p2p_server":
        return "device"
    if msg_type in SERVER_TYPES and direction == "from_p2p_server":
        return "server"
    if msg_type in CLIENT_TYPES and dst_port == CLIENT_TYPES[msg_type]:
        return "client"
    return None


def looks_like(payload: bytes) -> bool:
    """A whole PPPP message of a type the references name, of the size they give it: what claims a UDP flow
    on another port (the session between an app and a device on the LAN runs between arbitrary ports)."""
    try:
        msg_type, length = header(payload)
    except ParseError:
        return False
    if msg_type in (0xD0, 0xD1):  # DRW and DRW_ACK open their body with the DRW magic
        return length >= 4 and payload[HEADER] == DRW_MAGIC
    sizes = FIXED_SIZES.get(msg_type)
    return sizes is not None and length in sizes


class PpppDissector(Dissector):
    name: ClassVar[str] = "pppp"
    udp_ports: ClassVar[tuple[int, ...]] = (SERVER_PORT, LAN_SEARCH_PORT)
    max_packets_per_flow: ClassVar[int | None] = MAX_MESSAGES

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return looks_like(payload)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto != 17:
            state["done"] = True
            raise ParseError("pppp: a UDP protocol; TCP bytes are another's")
        count = state.get("messages", 0) + 1
        state["messages"] = count
        if count >= MAX_MESSAGES:
            state["done"] = True  # the rest of a long-lived keep-alive flow says nothing new
        kind, fields = parse(pkt.payload, pkt.src_port, pkt.dst_port)
        return [pkt.observation(self.name, kind, fields)]
