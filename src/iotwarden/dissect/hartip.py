"""HART-IP dissector (tcp and udp 5094): the HART-IP header and the HART PDU of token-passing messages.

Sources: FieldComm Group HART-IP specification HCF_SPEC-085 (header: version, message type, message
id, status, sequence number, byte count of the whole message; session initiate body: host type and
inactivity close timer; error/NAK body: error code), HART Token-Passing Data Link Layer HCF_SPEC-081
§5 (delimiter: bit 8 long address, bits 6-7 expansion bytes, frame type STX 2 / ACK 6 / BACK 1;
5-octet unique address; command; byte count; response code and device status in ACK/BACK), HART
Universal Command Specification HCF_SPEC-127 (command 0 Read Unique Identifier: expansion code 254,
expanded device type, preambles, universal/device/software revisions, hardware revision (5 bits) and
physical signaling (3 bits), flags, 3-octet device id, then HART 7's response preambles, device
variables, configuration change counter, extended status, manufacturer id, private label, device
profile; 11 and 21 answer the same; 13 packed-ASCII tag, descriptor, date; 20 long tag, 32 octets),
as Wireshark's epan/dissectors/packet-hartip.c reads them (dissect_hartip_common, dissect_pass_through,
dissect_cmd0, dissect_cmd13, dissect_packAscii). Command names of the Universal and Common Practice
specifications (HCF_SPEC-127, HCF_SPEC-151) as cisagov/icsnpp-hart-ip analyzer/hart_ip_enum.spicy
``CommandNumber8Bit`` lists them.

Kinds (subject ``src``): ``request``, ``response``, ``publish``, ``error``, ``nak`` (the message type):
``version``, ``message_id``, ``message`` (``session_initiate``, ``session_close``, ``keep_alive``,
``token_passing_pdu``, ``direct_pdu``, ``read_audit_log``), ``status``, ``sequence``, ``length``;
``host_type``/``inactivity_close_timer`` (session initiate), ``error_code`` (error, NAK); for a
token-passing PDU ``frame_type`` (stx, ack, back), ``address`` (poll address or 10 hex digits of the
unique address), ``command``, ``command_name``, ``byte_count`` and, in answers, ``response_code`` and
``device_status``; for a Direct PDU (HART-IP v2) ``commands``, the command numbers it carries.
``identity``: an answer the HART-IP device gives about itself (at poll address 0, or at the unique
address it gave there): command 0/11/21 ``manufacturer_id``, ``device_type``
(expanded device type), ``device_id``, ``universal_revision``, ``device_revision``,
``software_revision``, ``hardware_revision``, ``private_label``; command 13 ``tag``, ``descriptor``;
command 20 ``long_tag``. An answer about another device behind a gateway stays a ``response``.
Requests of the write commands below carry model/otops.py's ``write``, command 42 (Perform Device
Reset) ``restart``; command 77 (Send Command to Sub-Device) names its ``embedded_command`` and is marked
as that command would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector, flip_roles
from iotwarden.dissect.otstream import ResyncOnGap, collect, frames, u16be
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import NAME, OPERATION

PORT = 5094
HEADER = 8  # HCF_SPEC-085 header: version, type, id, status, sequence (2), byte count (2)
VERSIONS = (1, 2)  # HART-IP versions (HCF_SPEC-085; v2: TP10300)
SESSION_INITIATE_BODY = 5  # host type, inactivity close timer (4): packet-hartip.c dissect_session_init
SERVER_KINDS = frozenset({"response", "error", "nak"})  # message types only the HART-IP server sends
MESSAGE_TYPES = {0: "request", 1: "response", 2: "publish", 3: "error", 15: "nak"}
MESSAGE_IDS = {0: "session_initiate", 1: "session_close", 2: "keep_alive", 3: "token_passing_pdu",
               4: "direct_pdu", 5: "read_audit_log"}
TOKEN_PASSING = 3
DIRECT_PDU = 4  # HART-IP v2 (TP10300 §10.3.2.5): commands without the token-passing frame
MAX_DIRECT_COMMANDS = 32  # command numbers listed per Direct PDU
FRAME_TYPES = {1: "back", 2: "stx", 6: "ack"}  # HCF_SPEC-081 delimiter bits 1-3
OWN_POLL_ADDRESS = 0  # HCF_SPEC-085: the HART-IP device answers at poll address 0 itself
IDENTITY_COMMANDS = frozenset({0, 11, 21})  # Read Unique Identifier (by poll address, tag, long tag)

COMMANDS: dict[int, str] = {  # HCF_SPEC-127 universal (0-22, 38, 48), HCF_SPEC-151 common practice
    0: "read_unique_identifier", 1: "read_primary_variable", 2: "read_loop_current", 3: "read_dynamic_variables",
    6: "write_polling_address", 7: "read_loop_configuration", 8: "read_dynamic_variable_classifications",
    9: "read_device_variables_with_status", 11: "read_unique_identifier_tag", 12: "read_message",
    13: "read_tag_descriptor_date", 14: "read_pv_transducer_information", 15: "read_device_information",
    16: "read_final_assembly_number", 17: "write_message", 18: "write_tag_descriptor_date",
    19: "write_final_assembly_number", 20: "read_long_tag", 21: "read_unique_identifier_long_tag",
    22: "write_long_tag", 31: "extended_command", 33: "read_device_variables",
    34: "write_pv_damping_value", 35: "write_pv_range_values", 36: "set_pv_upper_range_value",
    37: "set_pv_lower_range_value", 38: "reset_configuration_changed_flag", 39: "eeprom_control",
    40: "enter_exit_fixed_current_mode", 41: "perform_self_test", 42: "perform_device_reset",
    43: "set_pv_zero", 44: "write_pv_units", 45: "trim_loop_current_zero", 46: "trim_loop_current_gain",
    47: "write_pv_transfer_function", 48: "read_additional_device_status",
    49: "write_pv_transducer_serial_number", 50: "read_dynamic_variable_assignments",
    51: "write_dynamic_variable_assignments", 52: "set_device_variable_zero", 53: "write_device_variable_units",
    54: "read_device_variable_information", 55: "write_device_variable_damping_value",
    56: "write_device_variable_transducer_serial_number", 57: "read_unit_tag_descriptor_date",
    58: "write_unit_tag_descriptor_date", 59: "write_number_of_response_preambles",
    60: "read_analog_channel_and_percent_of_range", 61: "read_dynamic_variables_and_pv_analog_channel",
    62: "read_analog_channels", 63: "read_analog_channel_information",
    64: "write_analog_channel_additional_damping_value", 65: "write_analog_channel_range_values",
    66: "enter_exit_fixed_analog_channel_mode", 67: "trim_analog_channel_zero", 68: "trim_analog_channel_gain",
    69: "write_analog_channel_transfer_function", 70: "read_analog_channel_endpoint_values", 71: "lock_device",
    72: "squawk", 73: "find_device", 74: "read_io_system_capabilities", 75: "poll_sub_device",
    76: "read_lock_device_state", 77: "send_command_to_sub_device", 78: "read_aggregated_commands",
    79: "write_device_variable", 80: "read_device_variable_trim_points", 81: "read_device_variable_trim_guidelines",
    82: "write_device_variable_trim_point", 83: "reset_device_variable_trim", 84: "read_sub_device_identity_summary",
    85: "read_io_channel_statistics", 86: "read_sub_device_statistics", 87: "write_io_system_master_mode",
    88: "write_io_system_retry_count", 89: "set_real_time_clock",
}
# commands that change what the device measures, outputs or is configured as (names above): addresses,
# tags, ranges, damping, units, transfer functions, fixed-current and trim modes, variable assignments,
# non-volatile memory, locks; self test, squawk, clock setting and the changed-flag reset stay unmarked
WRITE_COMMANDS = frozenset({6, 17, 18, 19, 22, 34, 35, 36, 37, 39, 40, 43, 44, 45, 46, 47, 49, 51, 52, 53, 55, 56,
                            58, 59, 64, 65, 66, 67, 68, 69, 71, 79, 82, 83, 87, 88})
RESET_COMMAND = 42  # Perform Device Reset
SUB_DEVICE_COMMAND = 77  # Send Command to Sub-Device (an I/O system relays the embedded command)


def frame_length(buf: bytes) -> int | None:
    """Size of the HART-IP message at the head of ``buf`` (its header's byte count)."""
    if len(buf) < HEADER:
        return None
    length = u16be(buf, 6)
    if buf[1] not in MESSAGE_TYPES or length < HEADER:
        raise ParseError(f"not a HART-IP header (message type {buf[1]}, byte count {length})")
    return length


def unpack_ascii(raw: bytes) -> str:
    """HART packed ASCII (HCF_SPEC-099 §8.1, packet-hartip.c dissect_packAscii): 4 six-bit characters in 3
    octets, bit 6 the complement of bit 5."""
    out: list[str] = []
    for i in range(0, len(raw) - 2, 3):
        word = int.from_bytes(raw[i : i + 3], "big")
        for shift in (18, 12, 6, 0):
            c = (word >> shift) & 0x3F
            out.append(chr(c | ((~c & 0x20) << 1)))
    return "".join(out)


def _tag(text: str) -> str | None:
    """A tag as the device holds it; None when unset (packed zeros read '@', ISO Latin-1 NULs)."""
    value = text.replace("\x00", " ").strip()
    return value if value.strip("@") else None


def _identity(command: int, data: bytes, fields: dict[str, Any]) -> bool:
    """Identity fields of a command 0/11/21/13/20 answer's data (after response code and status)."""
    if command in IDENTITY_COMMANDS and len(data) >= 12:
        fields.update(universal_revision=data[4], device_revision=data[5], software_revision=data[6],
                      hardware_revision=data[7] >> 3, physical_signaling=data[7] & 0x07, flags=data[8],
                      device_id=data[9:12].hex())
        if data[4] >= 7:  # HART 7: expanded device type in octets 1-2, manufacturer id in 17-18
            fields["device_type"] = u16be(data, 1)
            if len(data) >= 19:
                fields["manufacturer_id"] = u16be(data, 17)
            if len(data) >= 22:
                fields["private_label"], fields["device_profile"] = u16be(data, 19), data[21]
        else:  # HART 5/6: octet 1 manufacturer id, octet 2 device type
            fields["manufacturer_id"], fields["device_type"] = data[1], data[2]
        return True
    if command == 13 and len(data) >= 21:
        texts = {"tag": _tag(unpack_ascii(data[0:6])), "descriptor": _tag(unpack_ascii(data[6:18]))}
    elif command == 20 and len(data) >= 32:
        texts = {"long_tag": _tag(data[:32].decode("latin-1"))}
    else:
        return False
    fields.update((k, v) for k, v in texts.items() if v is not None)
    return True


def _unique_address(fields: dict[str, Any]) -> int:
    """The 38-bit unique address a command 0 answer implies (HCF_SPEC-081 §5.2.2): HART 7's expanded
    device type and device id; HART 5/6's manufacturer id (6 bits), device type and device id."""
    device_id, device_type = int(fields["device_id"], 16), int(fields["device_type"])
    if int(fields["universal_revision"]) >= 7:
        return ((device_type & 0x3FFF) << 24) | device_id
    return ((int(fields["manufacturer_id"]) & 0x3F) << 32) | (device_type << 24) | device_id


def _embedded(data: bytes, fields: dict[str, Any]) -> None:
    """Command 77's request (HCF_SPEC-151; packet-hartip.c dissect_cmd77): I/O card, channel, preambles,
    then the embedded frame's delimiter, address (1 or 5 octets) and command sent on to the sub-device."""
    if len(data) < 4:
        return
    pos = 4 + (5 if data[3] & 0x80 else 1)
    if pos < len(data):
        fields["embedded_command"] = data[pos]
        fields["embedded_command_name"] = COMMANDS.get(data[pos], "unknown")


def _direct_pdu(body: bytes, request: bool, fields: dict[str, Any]) -> None:
    """Direct PDU body (TP10300 §10.3.2.5, as FieldCommGroup/hipserver and icsnpp-hart-ip read it): device
    status, extended status, then commands (16-bit number, byte count, data; an answer's data starts with its
    response code). A request holding a reset is a restart, else one holding a write command is a write."""
    if len(body) < 2:
        raise ParseError("Direct PDU without its status octets")
    commands: list[int] = []
    pos = 2
    while pos < len(body) and len(commands) < MAX_DIRECT_COMMANDS:
        if pos + 3 > len(body) or pos + 3 + body[pos + 2] > len(body):
            raise ParseError(f"Direct PDU command truncated at offset {pos}")
        commands.append(u16be(body, pos))
        pos += 3 + body[pos + 2]
    fields["commands"] = commands
    if not request:
        return
    for cls, wanted in (("restart", {RESET_COMMAND}), ("write", WRITE_COMMANDS)):
        hit = next((c for c in commands if c in wanted), None)
        if hit is not None:
            fields[OPERATION], fields[NAME] = cls, COMMANDS[hit]
            return


def _token_passing(body: bytes, fields: dict[str, Any]) -> tuple[bytes | None, int | None]:
    """HART PDU fields (HCF_SPEC-081 §5); the answer data after status and the unique address, if any."""
    pos = 0
    while pos < len(body) and body[pos] == 0xFF:  # preambles, rare over HART-IP
        pos += 1
    if pos >= len(body):
        raise ParseError("token-passing PDU without a delimiter")
    delimiter = body[pos]
    fields["frame_type"] = FRAME_TYPES.get(delimiter & 0x07, "unknown")
    pos += 1
    unique: int | None = None
    if delimiter & 0x80:  # long frame: 5-octet unique address, master and burst bits masked off
        if pos + 5 > len(body):
            raise ParseError("token-passing PDU shorter than its unique address")
        unique = int.from_bytes(body[pos : pos + 5], "big") & 0x3F_FFFF_FFFF
        fields["address"] = f"{unique:010x}"
        pos += 5
    else:
        if pos >= len(body):
            raise ParseError("token-passing PDU without its poll address")
        fields["address"] = body[pos] & 0x3F
        pos += 1
    pos += (delimiter >> 5) & 0x03  # expansion octets
    if pos + 2 > len(body):
        raise ParseError("token-passing PDU without command and byte count")
    command, count = body[pos], body[pos + 1]
    fields.update(command=command, command_name=COMMANDS.get(command, "unknown"), byte_count=count)
    data = body[pos + 2 : pos + 2 + count]
    if fields["frame_type"] == "stx":
        if command == 31 and len(data) >= 2:  # HCF_SPEC-127: 16-bit command number in the data
            fields["extended_command"] = u16be(data, 0)
        elif command == SUB_DEVICE_COMMAND:
            _embedded(data, fields)
        return None, unique
    if len(data) >= 2:
        fields["response_code"], fields["device_status"] = data[0], data[1]
        return data[2:], unique
    return None, unique


def parse_message(msg: bytes, own: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Kind and fields of one HART-IP message; ``own`` remembers the device's unique address per flow."""
    kind = MESSAGE_TYPES.get(msg[1], "unknown")
    fields: dict[str, Any] = {"version": msg[0], "message_id": msg[2], "message": MESSAGE_IDS.get(msg[2], "unknown"),
                              "status": msg[3], "sequence": u16be(msg, 4), "length": u16be(msg, 6)}
    body = msg[HEADER:]
    if kind in ("error", "nak"):
        if body:
            fields["error_code"] = body[0]
        return kind, fields
    if msg[2] == 0 and len(body) >= 5:
        fields["host_type"] = "primary" if body[0] & 0x01 else "secondary"
        fields["inactivity_close_timer"] = int.from_bytes(body[1:5], "big")
    elif msg[2] == DIRECT_PDU and kind in ("request", "response"):
        _direct_pdu(body, kind == "request", fields)
    elif msg[2] == TOKEN_PASSING and body:
        data, unique = _token_passing(body, fields)
        # a command relayed to a sub-device (77) does what the embedded command does
        effective = fields.get("embedded_command", fields["command"])
        name = COMMANDS.get(effective, "unknown")
        if kind == "request" and effective in WRITE_COMMANDS:
            fields[OPERATION], fields[NAME] = "write", name
        elif kind == "request" and effective == RESET_COMMAND:
            fields[OPERATION], fields[NAME] = "restart", name
        itself = (unique is None and fields["address"] == OWN_POLL_ADDRESS) or \
            (unique is not None and unique == own.get("unique"))
        if kind == "response" and data is not None and itself and _identity(fields["command"], data, fields):
            if "device_id" in fields and unique is None:
                own["unique"] = _unique_address(fields)
            return "identity", fields
    return kind, fields


def session_answer(payload: bytes) -> bool:
    """True when ``payload`` is exactly one Session Initiate answer: the datagram with which a HART-IP server
    continues a UDP session from a new port of its own (HCF_SPEC-085: the client then sends the rest of the
    session there; Wireshark's packet-hartip.c decodes it as the conversation of the initiate's client port).
    Whole datagram: its byte count is its length, its body the 5 octets of a Session Initiate."""
    return (len(payload) == HEADER + SESSION_INITIATE_BODY and payload[0] in VERSIONS and payload[1] == 1
            and payload[2] == 0 and u16be(payload, 6) == len(payload) and payload[HEADER] in (0, 1))


class HartIpDissector(ResyncOnGap, StreamDissector):
    """HART-IP on its registered port, TCP and UDP, and the UDP session a server continues from another port:
    recognised by its first datagram, the server's Session Initiate answer (:func:`session_answer`). That
    answer comes first, so the flow's first sender is its server: the flow's roles are flipped
    (dissect/base.py FLIP_STATE_KEY) whenever a flow's first HART-IP message is a server's and went towards
    what the engine took for the server."""

    name: ClassVar[str] = "hartip"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_packets_per_flow: ClassVar[int | None] = None  # a write can come at any moment
    ot_operations: ClassVar[bool] = True

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return session_answer(payload)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        # a datagram holds whole messages; a TCP direction is framed across segments
        pdus, error = frames({} if pkt.ip_proto == 17 else state, pkt.to_server, data, frame_length)
        own: dict[str, Any] = state.setdefault("own", {})

        def parse(msg: bytes) -> Iterator[Observation]:
            kind, fields = parse_message(msg, own)
            if not state.get("seen"):  # the flow's first message says who serves it
                state["seen"] = True
                if kind in SERVER_KINDS and pkt.to_server:
                    flip_roles(state)
            yield pkt.observation(self.name, kind, fields)

        return collect(pdus, [error] if error else [], parse)
