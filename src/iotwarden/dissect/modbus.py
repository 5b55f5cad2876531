"""Modbus/TCP dissector (tcp 502): every request, response and exception, with the exact operation.

Sources: Modbus Application Protocol Specification V1.1b3 (MAP), Modbus Messaging on TCP/IP
Implementation Guide V1.0b (MBAP header, §3.1.3); Schneider UMAS (function 90) as documented by the
public Modicon research (Kaspersky ICS CERT 2021, Claroty Team82) since Schneider publishes no spec.

Kinds (subject ``src`` always: a request describes the master, a response the server):

* ``request`` / ``response`` / ``exception``: ``transaction_id``, ``unit_id`` (MBAP §3.1.3),
  ``function_code``, ``function`` (name, MAP §6), ``is_write`` (function codes 5, 6, 15, 16, 22, 23);
  where the PDU carries them: ``address``, ``quantity`` (MAP §6.1-6.17, for function 23 the read
  part, the write part in ``write_address``/``write_quantity``), ``value`` (functions 5 and 6),
  ``byte_count``, ``sub_function`` (diagnostics, function 8, MAP §6.8), ``mei_type`` (function 43,
  MAP §6.19), ``umas_code``/``umas_function`` (function 90), ``exception_code``/``exception``
  (MAP §7). A response also carries the request's ``address``/``quantity`` when the request was seen: it
  answers the oldest request remembered of its transaction id (a client may send one id for every request,
  many HMIs and pollers send 0; :class:`~iotwarden.dissect.otpairing.Pending`).
* device identification responses (function 43 / MEI 14, MAP §6.21) add ``vendor_name``,
  ``product_code``, ``revision``, ``vendor_url``, ``product_name``, ``model_name`` and
  ``user_application_name`` (basic and regular objects 0..6), facts about the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.otpairing import PairedResyncOnGap, pending
from iotwarden.dissect.otstream import collect, frames, text, u16be
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 502
MAX_PENDING_TRANSACTIONS = 64  # requests remembered per flow to annotate their responses
MAX_MBAP_LENGTH = 260  # MBAP length field: unit id + PDU; MAP §4.1 allows 254, Modicon UMAS sends 255
# what a probe (another port than 502) accepts: no slack past UMAS's 255, so a QUIC long header (first byte,
# then version 0x00000001 read as transaction id, protocol id 0 and a length of 0x01xx) is never Modbus
PROBE_MAX_MBAP_LENGTH = 255

FUNCTIONS: dict[int, str] = {  # MAP §5.1 public function codes, §6
    1: "read_coils",
    2: "read_discrete_inputs",
    3: "read_holding_registers",
    4: "read_input_registers",
    5: "write_single_coil",
    6: "write_single_register",
    7: "read_exception_status",
    8: "diagnostics",
    11: "get_comm_event_counter",
    12: "get_comm_event_log",
    15: "write_multiple_coils",
    16: "write_multiple_registers",
    17: "report_server_id",
    20: "read_file_record",
    21: "write_file_record",
    22: "mask_write_register",
    23: "read_write_multiple_registers",
    24: "read_fifo_queue",
    43: "encapsulated_interface_transport",
    90: "umas",  # Schneider Electric Unified Messaging Application Services
}
WRITE_FUNCTIONS = frozenset({5, 6, 15, 16, 22, 23})
EXCEPTIONS: dict[int, str] = {  # MAP §7
    1: "illegal_function",
    2: "illegal_data_address",
    3: "illegal_data_value",
    4: "server_device_failure",
    5: "acknowledge",
    6: "server_device_busy",
    8: "memory_parity_error",
    10: "gateway_path_unavailable",
    11: "gateway_target_device_failed_to_respond",
}
MEI_TYPES = {13: "canopen_general_reference", 14: "read_device_identification"}  # MAP §6.19-6.21
DEVICE_ID_OBJECTS = {  # MAP §6.21 table "Basic"/"Regular" object ids
    0: "vendor_name",
    1: "product_code",
    2: "revision",
    3: "vendor_url",
    4: "product_name",
    5: "model_name",
    6: "user_application_name",
}
UMAS_FUNCTIONS: dict[int, str] = {
    0x01: "init_comm",
    0x02: "read_id",
    0x03: "read_project_info",
    0x04: "read_plc_info",
    0x06: "read_card_info",
    0x0A: "repeat",
    0x10: "take_plc_reservation",
    0x11: "release_plc_reservation",
    0x12: "keep_alive",
    0x20: "read_memory_block",
    0x22: "read_variables",
    0x23: "write_variables",
    0x24: "read_coils_registers",
    0x25: "write_coils_registers",
    0x30: "initialize_upload",
    0x31: "upload_block",
    0x32: "end_strategy_upload",
    0x33: "initialize_download",
    0x34: "download_block",
    0x35: "end_strategy_download",
    0x39: "read_ethernet_master_data",
    0x40: "start_plc",
    0x41: "stop_plc",
    0x50: "monitor_plc",
    0x58: "check_plc",
    0x70: "read_io_object",
    0x71: "write_io_object",
    0x73: "get_status_module",
    0xFD: "response_error",
    0xFE: "response_ok",
}


def frame_length(buf: bytes) -> int | None:
    """Size of the Modbus/TCP ADU at the head of ``buf`` (MBAP header, §3.1.3)."""
    if len(buf) < 7:
        return None
    protocol_id = (buf[2] << 8) | buf[3]
    length = (buf[4] << 8) | buf[5]
    if protocol_id != 0 or not 2 <= length <= MAX_MBAP_LENGTH:
        raise ParseError(f"not an MBAP header (protocol id {protocol_id}, length {length})")
    return 6 + length


def _request_fields(fc: int, pdu: bytes, fields: dict[str, Any]) -> None:
    if fc in (1, 2, 3, 4, 15, 16):  # MAP §6.1-6.4, 6.11-6.12: address, quantity
        fields["address"], fields["quantity"] = u16be(pdu, 1), u16be(pdu, 3)
        if fc in (15, 16) and len(pdu) > 5:
            fields["byte_count"] = pdu[5]
    elif fc in (5, 6):  # §6.5-6.6: address, value
        fields["address"], fields["value"] = u16be(pdu, 1), u16be(pdu, 3)
    elif fc == 22:  # §6.16: reference address, AND mask, OR mask
        fields["address"] = u16be(pdu, 1)
        fields["and_mask"], fields["or_mask"] = u16be(pdu, 3), u16be(pdu, 5)
    elif fc == 23:  # §6.17: read address/quantity, write address/quantity
        fields["address"], fields["quantity"] = u16be(pdu, 1), u16be(pdu, 3)
        fields["write_address"], fields["write_quantity"] = u16be(pdu, 5), u16be(pdu, 7)
    elif fc == 24:  # §6.18: FIFO pointer address
        fields["address"] = u16be(pdu, 1)
    elif fc == 8:  # §6.8: sub-function
        fields["sub_function"] = u16be(pdu, 1)
    elif fc == 43:  # §6.19-6.21: MEI type, read device id code, object id
        _mei_header(pdu, fields)
        if fields.get("mei_type") == 14 and len(pdu) >= 4:
            fields["read_device_id_code"], fields["object_id"] = pdu[2], pdu[3]
    elif fc == 90:
        _umas(pdu, fields)


def _response_fields(fc: int, pdu: bytes, fields: dict[str, Any]) -> None:
    if fc in (1, 2, 3, 4, 23, 17, 20, 21, 12) and len(pdu) >= 2:  # §6.1-6.4, 6.17: byte count
        fields["byte_count"] = pdu[1]
    elif fc in (5, 6, 15, 16):  # §6.5-6.6, 6.11-6.12: echo of address and value / quantity
        fields["address"] = u16be(pdu, 1)
        fields["value" if fc in (5, 6) else "quantity"] = u16be(pdu, 3)
    elif fc == 22:
        fields["address"] = u16be(pdu, 1)
    elif fc == 8:
        fields["sub_function"] = u16be(pdu, 1)
    elif fc == 43:
        _mei_header(pdu, fields)
        if fields.get("mei_type") == 14:
            _device_identification(pdu, fields)
    elif fc == 90:
        _umas(pdu, fields)


def _mei_header(pdu: bytes, fields: dict[str, Any]) -> None:
    if len(pdu) < 2:
        raise ParseError("function 43 without MEI type")
    fields["mei_type"] = pdu[1]
    fields["mei"] = MEI_TYPES.get(pdu[1], "unknown")


def _device_identification(pdu: bytes, fields: dict[str, Any]) -> None:
    """MAP §6.21 response: code, conformity, more follows, next id, count, objects (id, len, value)."""
    if len(pdu) < 7:
        raise ParseError("truncated read device identification response")
    fields["conformity_level"], fields["more_follows"] = pdu[3], pdu[4] == 0xFF
    count, off = pdu[6], 7
    for _ in range(count):
        if off + 2 > len(pdu) or off + 2 + pdu[off + 1] > len(pdu):
            raise ParseError("device identification object past the end of the PDU")
        obj_id, size = pdu[off], pdu[off + 1]
        name = DEVICE_ID_OBJECTS.get(obj_id)
        if name is not None:
            fields[name] = text(pdu[off + 2 : off + 2 + size])
        off += 2 + size


def _umas(pdu: bytes, fields: dict[str, Any]) -> None:
    """UMAS PDU: 0x5A, session key (1), UMAS function code (1), data; replies use 0xFE / 0xFD."""
    if len(pdu) < 3:
        raise ParseError("truncated UMAS PDU")
    fields["umas_session"], fields["umas_code"] = pdu[1], pdu[2]
    fields["umas_function"] = UMAS_FUNCTIONS.get(pdu[2], "unknown")


def parse_adu(adu: bytes, is_request: bool) -> tuple[str, dict[str, Any]]:
    """Kind and fields of one Modbus/TCP ADU (MBAP header + PDU)."""
    if len(adu) < 8:
        raise ParseError("ADU without a function code")
    fc = adu[7]
    pdu = adu[7:]
    fields: dict[str, Any] = {"transaction_id": u16be(adu, 0), "unit_id": adu[6]}
    if not is_request and fc & 0x80:  # MAP §7: exception response, function code + 0x80
        base = fc & 0x7F
        fields.update(function_code=base, function=FUNCTIONS.get(base, "unknown"),
                      is_write=base in WRITE_FUNCTIONS)
        if len(pdu) < 2:
            raise ParseError("exception response without exception code")
        fields["exception_code"] = pdu[1]
        fields["exception"] = EXCEPTIONS.get(pdu[1], "unknown")
        return "exception", fields
    fields.update(function_code=fc, function=FUNCTIONS.get(fc, "unknown"), is_write=fc in WRITE_FUNCTIONS)
    (_request_fields if is_request else _response_fields)(fc, pdu, fields)
    return ("request" if is_request else "response"), fields


def _is_request(pkt: Packet) -> bool:
    if pkt.dst_port == PORT and pkt.src_port != PORT:
        return True
    if pkt.src_port == PORT and pkt.dst_port != PORT:
        return False
    return pkt.to_server


class ModbusDissector(PairedResyncOnGap, StreamDissector):
    name: ClassVar[str] = "modbus"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_packets_per_flow: ClassVar[int | None] = None

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """Whole MBAP frames only, end to end: a header-like prefix followed by something else is another
        protocol (MELSOFT's 0x57/0xD7 messages begin with two zero bytes and a small length)."""
        offset = 0
        while offset < len(payload):
            frame = payload[offset:]
            try:
                size = frame_length(frame)
            except ParseError:
                return False
            if size is None or size - 6 > PROBE_MAX_MBAP_LENGTH or size > len(frame) or \
                    (frame[7] & 0x7F) not in FUNCTIONS:
                return False
            offset += size
        return offset > 0

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        pdus, error = frames(state, pkt.to_server, data, frame_length)
        is_request = _is_request(pkt)
        requests = pending(state, MAX_PENDING_TRANSACTIONS)
        requests.delivered(pkt)

        def parse(adu: bytes) -> Iterator[Observation]:
            tid = u16be(adu, 0)
            try:
                kind, fields = parse_adu(adu, is_request)
            except ParseError:  # unreadable, but a request or an answer of its transaction id all the same
                if is_request:
                    requests.request(pkt, tid, {"function_code": None})
                else:
                    requests.answer(pkt, tid, len(adu))
                raise
            if kind == "request":
                requests.request(pkt, tid, {k: fields[k] for k in ("function_code", "address", "quantity")
                                            if k in fields})
            else:
                request = requests.answer(pkt, tid, len(adu))
                if request is not None and request["function_code"] == fields["function_code"]:
                    for key in ("address", "quantity"):
                        if key in request:
                            fields.setdefault(key, request[key])
            yield pkt.observation(self.name, kind, fields)

        return collect(pdus, [error] if error else [], parse)
