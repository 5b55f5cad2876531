"""EtherNet/IP dissector (tcp and udp 44818): encapsulation (ODVA CIP Vol 2 §2) and CIP explicit messages.

Kinds (subject ``src``): ``list_identity_request``; ``identity`` (ListIdentity reply item 0x0C, Vol 2
§2-4.3, or a Get_Attributes_All reply of the Identity object): ``vendor_id``, ``device_type``,
``product_code``, ``revision`` ("major.minor"), ``status``, ``serial`` (hex), ``product_name``,
``state``, ``ip``/``port`` (socket address item), ``protocol_version``, ``source``;
``cip_request``: ``service``, ``service_name`` (get_attributes_all, set_attribute_single, reset,
start, stop, forward_open, read_tag, execute_pccc, ... see :mod:`iotwarden.dissect.cip`), ``class``,
``class_name``, ``instance``, ``attribute``, ``attributes`` (attribute list services), ``member``,
``symbol`` (tag name), ``via`` (the
multiple_service_packet or unconnected_send that carried it), ``connected``, ``pccc_command``/
``pccc_function`` (PCCC inside execute_pccc); ``cip_response``: ``service``, ``general_status``,
``status`` and the request's path when the request was seen (the oldest request remembered of its sender context,
or of its sequence count when connected: a client may send one context for every request;
:class:`~iotwarden.dissect.otpairing.Pending`); ``encapsulation`` for the other commands: ``command``,
``command_name``, ``session``, ``encap_status``, ``is_request``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.cip import embedded_requests, identity_attributes, parse_reply, parse_request
from iotwarden.dissect.otpairing import PairedResyncOnGap, Pending, pending
from iotwarden.dissect.otstream import collect, frames, u16le, u32le
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 44818
HEADER = 24  # Vol 2 §2-3.1: command, length, session handle, status, sender context, options
MAX_PENDING = 32  # CIP requests remembered per flow to annotate (and recognise) their replies

COMMANDS = {  # Vol 2 §2-3.2
    0x0000: "nop", 0x0004: "list_services", 0x0063: "list_identity", 0x0064: "list_interfaces",
    0x0065: "register_session", 0x0066: "unregister_session", 0x006F: "send_rr_data",
    0x0070: "send_unit_data", 0x0072: "indicate_status", 0x0073: "cancel", 0x00C8: "start_dtls",
}
# Vol 2 Table 2-3.2 reserves 0x0001-0x0003, 0x0005 and 0x0067-0x006E "for legacy usage" (Rockwell's RSLinx still
# sends 0x0001 before ListServices: ics_iti's EIP-IPAddressChangeAttempt.pcap, frame 3600, which Wireshark shows as
# an unknown command). They are framed by their header's length like any other, so a tool's legacy request sharing
# a segment with ListServices and ListInterfaces no longer makes the framer drop all three.
LEGACY_COMMANDS = frozenset({0x0001, 0x0002, 0x0003, 0x0005, *range(0x0067, 0x006F)})
COMMANDS.update(dict.fromkeys(LEGACY_COMMANDS, "reserved_legacy"))
PCCC_FUNCTIONS = {  # DF1 protocol manual 1770-6.5.16, command 0x0F function codes
    0x11: "get_edit_resource", 0x12: "return_edit_resource", 0x80: "change_mode",
    0xA1: "protected_typed_logical_read_2", 0xA2: "protected_typed_logical_read_3",
    0xA9: "protected_typed_logical_write_2", 0xAA: "protected_typed_logical_write_3",
    0xAB: "protected_typed_logical_masked_write",
}


def frame_length(buf: bytes) -> int | None:
    """Size of the encapsulation message at the head of ``buf``."""
    if len(buf) < 4:
        return None
    command = buf[0] | (buf[1] << 8)
    if command not in COMMANDS:
        raise ParseError(f"unknown EtherNet/IP command 0x{command:04x}")
    return HEADER + (buf[2] | (buf[3] << 8))


def _cpf_items(data: bytes, off: int) -> list[tuple[int, bytes]]:
    """Common Packet Format items (Vol 2 §2-6): count, then (type id, length, data)."""
    count = u16le(data, off)
    off += 2
    items = []
    for _ in range(count):
        type_id, size = u16le(data, off), u16le(data, off + 2)
        if off + 4 + size > len(data):
            raise ParseError("EtherNet/IP CPF item past the end of the message")
        items.append((type_id, data[off + 4 : off + 4 + size]))
        off += 4 + size
    return items


def _list_identity(data: bytes) -> Iterator[dict[str, Any]]:
    for type_id, item in _cpf_items(data, 0):
        if type_id != 0x0C:
            continue
        if len(item) < 18:
            raise ParseError("ListIdentity item cut short")
        fields: dict[str, Any] = {"source": "list_identity", "protocol_version": u16le(item, 0),
                                  "ip": ".".join(str(b) for b in item[6:10]),
                                  "port": int.from_bytes(item[4:6], "big")}  # sockaddr is big-endian
        fields.update(identity_attributes(item[18:]))
        yield fields


def _pccc(data: bytes, fields: dict[str, Any]) -> None:
    """PCCC command inside Execute PCCC: requestor id (length-prefixed), CMD, STS, TNSW, FNC."""
    if not data:
        return
    off = data[0]
    if off + 5 <= len(data):
        fields["pccc_command"] = data[off]
        fields["pccc_function"] = data[off + 4]
        if data[off] == 0x0F:
            fields["pccc_function_name"] = PCCC_FUNCTIONS.get(data[off + 4], "unknown")


class EnipDissector(PairedResyncOnGap, StreamDissector):
    name: ClassVar[str] = "enip"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_packets_per_flow: ClassVar[int | None] = None

    def probe(self, payload: bytes, to_server: bool) -> bool:
        if len(payload) < HEADER:
            return False
        try:
            size = frame_length(payload)
        except ParseError:
            return False
        return size == len(payload) and payload[20:24] == b"\x00\x00\x00\x00"  # options must be 0

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto == 17:  # a datagram carries whole encapsulation messages
            msgs, error = frames({}, pkt.to_server, data, frame_length)
        else:
            msgs, error = frames(state, pkt.to_server, data, frame_length)
        is_request = (pkt.dst_port == PORT) if (pkt.src_port == PORT) != (pkt.dst_port == PORT) else pkt.to_server
        requests = pending(state, MAX_PENDING)
        requests.delivered(pkt)
        return collect(msgs, [error] if error else [], lambda msg: self._message(pkt, msg, is_request, requests))

    def _message(self, pkt: Packet, msg: bytes, is_request: bool, table: Pending) -> Iterator[Observation]:
        command, session, status = u16le(msg, 0), u32le(msg, 4), u32le(msg, 8)
        data = msg[HEADER:]
        if command == 0x0063:
            if is_request:
                yield pkt.observation(self.name, "list_identity_request", {"command": command})
            else:
                for fields in _list_identity(data):
                    yield pkt.observation(self.name, "identity", fields)
            return
        context: Any = ("ctx", msg[12:20])
        if command not in (0x006F, 0x0070) or (status and not data):
            if command == 0x006F and not is_request:  # an encapsulation error answers its SendRRData all the same
                table.answer(pkt, context, len(msg))
            yield pkt.observation(self.name, "encapsulation", {
                "command": command, "command_name": COMMANDS.get(command, "unknown"), "session": session,
                "encap_status": status, "is_request": is_request})
            return
        connected = command == 0x0070
        try:
            items = _cpf_items(data, 6)  # after interface handle (4) and timeout (2)
        except ParseError:
            if command == 0x006F:  # unreadable, but a request or an answer of its context all the same
                if is_request:
                    table.request(pkt, context, [])
                else:
                    table.answer(pkt, context, len(msg))
            raise
        for type_id, item in items:
            if type_id == 0xB2:  # unconnected data item: the CIP message
                key, cip = context, item
            elif type_id == 0xB1 and len(item) >= 2:  # connected data item: sequence count + CIP message
                key, cip = ("seq", u16le(item, 0)), item[2:]
            else:
                continue
            if not cip:
                continue
            if is_request and not cip[0] & 0x80:
                yield from self._request(pkt, cip, key, connected, table)
            elif cip[0] & 0x80:
                yield from self._reply(pkt, cip, key, table, len(msg))

    def _request(self, pkt: Packet, cip: bytes, key: Any, connected: bool, table: Pending) -> Iterator[Observation]:
        remembered: list[dict[str, Any]] = []  # what its answer is paired with, filled as the request is read: one
        table.request(pkt, key, remembered)  # it cannot be read is still answered before later requests of its key
        fields, body = parse_request(cip)
        fields["connected"] = connected
        inner = embedded_requests(fields, body)
        if fields["service_name"] == "multiple_service_packet":
            fields["embedded_count"] = len(inner)
        yield pkt.observation(self.name, "cip_request", fields)
        for sub, sub_body in inner:
            sub.update(via=fields["service_name"], connected=connected)
            if sub["service_name"] == "execute_pccc":
                _pccc(sub_body, sub)
            remembered.append(sub)
            yield pkt.observation(self.name, "cip_request", sub)
        if not inner:
            if fields["service_name"] == "execute_pccc":
                _pccc(body, fields)
            remembered.append(fields)

    def _reply(self, pkt: Packet, cip: bytes, key: Any, table: Pending, size: int) -> Iterator[Observation]:
        requests: list[dict[str, Any]] = table.answer(pkt, key, size) or []
        fields, body = parse_reply(cip)
        replies = [(fields, body)]
        if fields["service"] == 0x0A:  # Multiple Service Packet reply: count, offsets, replies
            count = u16le(body, 0) if len(body) >= 2 else 0
            offsets = [u16le(body, 2 + 2 * i) for i in range(min(count, len(requests)))]
            replies = [parse_reply(body[a:b]) for a, b in zip(offsets, [*offsets[1:], len(body)], strict=False)]
            yield pkt.observation(self.name, "cip_response", fields)
        for index, (reply, data) in enumerate(replies):
            request = requests[index] if index < len(requests) else {}
            for name in ("class", "class_name", "instance", "attribute", "symbol", "service_name"):
                if name in request and request.get("service") == reply["service"]:
                    reply[name] = request[name]
            yield pkt.observation(self.name, "cip_response", reply)
            if (reply.get("service_name") == "get_attributes_all" and reply.get("class") == 1
                    and reply["general_status"] == 0):
                yield pkt.observation(self.name, "identity", {"source": "get_attributes_all",
                                                              **identity_attributes(data)})
