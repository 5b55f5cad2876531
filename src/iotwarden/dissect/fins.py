"""Omron FINS dissector (udp/9600, tcp/9600 with the FINS/TCP header): commands, end codes, controller identity.

Sources: Omron W342 "FINS Commands Reference Manual" (FINS header: ICF, RSV, GCT, DNA, DA1, DA2, SNA,
SA1, SA2, SID; command codes MRC/SRC and end codes; CONTROLLER DATA READ 0501: the response carries the controller
model and version, 20 ASCII bytes each), the FINS/TCP header of the CS/CJ Ethernet Unit manual W421
("FINS", length, command, error code), and Wireshark's ``epan/dissectors/packet-omron-fins.c`` whose value
strings (``tshark -G values``: omron.command, omron.tcp.command) name every code below.

Kinds (subject ``src``): ``request`` / ``response``: ``icf``, ``gct``, ``dna``/``da1``/``da2`` (destination
network, node, unit), ``sna``/``sa1``/``sa2`` (source), ``sid``, ``command`` ("0x0501"), ``command_name``
(memory_area_read, run, controller_data_read, ...); memory area commands add ``memory_area``, ``address``
(word), ``bit``, ``count``; responses add ``end_code`` (main code << 8 | sub code) and ``end_code_name``
(the main code's class). ``controller_data`` (a 0501 response, a fact about the controller):
``controller_model`` ("CP1L-EL20DR-D"), ``controller_version``. ``tcp_session``: the FINS/TCP node
address exchange (``tcp_command``, ``client_node``, ``server_node``, ``tcp_error``).

OT operations (model/otops.py): memory area write/fill/transfer 0102/0103/0105 and forced set/reset 2301
-> ``write``; parameter area write/clear 0202/0203, program area write/clear 0307/0308, the file writes,
deletes, transfers into the PLC and memory card format (2203, 2205, 220B, 220C, 2211, 2204) -> ``program``;
RUN 0401 / STOP 0402 -> ``stop``; reset 0403 -> ``restart``; data link table write 0221 -> ``config``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.otstream import ResyncOnGap, collect, frames, text, u16be
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import NAME, OPERATION

PORT = 9600
HEADER = 10  # W342 FINS header: ICF RSV GCT DNA DA1 DA2 SNA SA1 SA2 SID
TCP_MAGIC, TCP_HEADER = b"FINS", 16  # "FINS", length (from command on), command, error code
MAX_TCP_LENGTH = 8 + 2012 + 8  # W421: FINS frame of at most 2012 bytes after the FINS/TCP header's 16
TCP_COMMANDS = {0: "node_address_client", 1: "node_address_server", 2: "frame_send", 3: "frame_send_error",
                6: "connection_confirmation"}
COMMANDS = {
    0x0101: "memory_area_read", 0x0102: "memory_area_write", 0x0103: "memory_area_fill",
    0x0104: "multiple_memory_area_read", 0x0105: "memory_area_transfer", 0x0201: "parameter_area_read",
    0x0202: "parameter_area_write", 0x0203: "parameter_area_clear", 0x0220: "data_link_table_read",
    0x0221: "data_link_table_write", 0x0304: "program_area_protect", 0x0305: "program_area_protect_clear",
    0x0306: "program_area_read", 0x0307: "program_area_write", 0x0308: "program_area_clear", 0x0401: "run",
    0x0402: "stop", 0x0403: "reset", 0x0501: "controller_data_read", 0x0502: "connection_data_read",
    0x0601: "controller_status_read", 0x0602: "network_status_read", 0x0603: "data_link_status_read",
    0x0620: "cycle_time_read", 0x0701: "clock_read", 0x0702: "clock_write", 0x0801: "loop_back_test",
    0x0802: "broadcast_test_results_read", 0x0803: "broadcast_test_data_send", 0x0920: "message_read",
    0x0C01: "access_right_acquire", 0x0C02: "access_right_forced_acquire", 0x0C03: "access_right_release",
    0x2101: "error_clear", 0x2102: "error_log_read", 0x2103: "error_log_clear", 0x2201: "file_name_read",
    0x2202: "single_file_read", 0x2203: "single_file_write", 0x2204: "memory_card_format", 0x2205: "file_delete",
    0x2206: "volume_label_create_delete", 0x2207: "file_copy", 0x2208: "file_name_change",
    0x2209: "file_data_check", 0x220A: "memory_area_file_transfer", 0x220B: "parameter_area_file_transfer",
    0x220C: "program_area_file_transfer", 0x220F: "file_memory_index_read", 0x2210: "file_memory_read",
    0x2211: "file_memory_write", 0x2301: "forced_set_reset", 0x2302: "forced_set_reset_cancel",
    0x230A: "multiple_forced_status_read", 0x2601: "name_set", 0x2602: "name_delete", 0x2603: "name_read",
}
OPERATIONS = {0x0102: "write", 0x0103: "write", 0x0105: "write", 0x2301: "write", 0x0202: "program",
              0x0203: "program", 0x0307: "program", 0x0308: "program", 0x2203: "program", 0x2204: "program",
              0x2205: "program", 0x220B: "program", 0x220C: "program", 0x2211: "program", 0x0401: "stop",
              0x0402: "stop", 0x0403: "restart", 0x0221: "config"}
MEMORY_COMMANDS = frozenset({0x0101, 0x0102, 0x0103})
END_CODES = {0x00: "normal_completion", 0x01: "local_node_error", 0x02: "destination_node_error",
             0x03: "communications_controller_error", 0x04: "not_executable", 0x05: "routing_error",
             0x10: "command_format_error", 0x11: "parameter_error", 0x20: "read_not_possible",
             0x21: "write_not_possible", 0x22: "not_executable_in_current_mode", 0x23: "no_such_device",
             0x24: "cannot_start_stop", 0x25: "unit_error", 0x26: "command_error", 0x30: "access_right_error",
             0x40: "abort"}  # W342 end codes: main response codes


def tcp_frame_length(buf: bytes) -> int | None:
    """Size of the FINS/TCP frame at the head of ``buf``."""
    if len(buf) < 8:
        return None
    if buf[:4] != TCP_MAGIC:
        raise ParseError("FINS/TCP frame does not start with 'FINS'")
    size = int.from_bytes(buf[4:8], "big")
    if not 8 <= size <= MAX_TCP_LENGTH:
        raise ParseError(f"FINS/TCP length {size} out of range")
    return 8 + size


def parse_frame(frame: bytes) -> tuple[str, dict[str, Any], bytes]:
    """(kind, fields, command data) of one FINS frame (header, command code, [end code,] data)."""
    if len(frame) < HEADER + 2:
        raise ParseError("FINS frame shorter than header and command code")
    icf = frame[0]
    if not icf & 0x80 or icf & 0x3E:  # W342 ICF: bit 7 (gateway) set, bits 1-5 reserved 0
        raise ParseError(f"not a FINS ICF byte 0x{icf:02x}")
    command = u16be(frame, HEADER)
    response = bool(icf & 0x40)
    fields: dict[str, Any] = {"icf": icf, "gct": frame[2], "dna": frame[3], "da1": frame[4], "da2": frame[5],
                              "sna": frame[6], "sa1": frame[7], "sa2": frame[8], "sid": frame[9],
                              "command": f"0x{command:04x}", "command_name": COMMANDS.get(command, "unknown")}
    data = frame[HEADER + 2 :]
    if response:
        end = u16be(frame, HEADER + 2)
        # bit 15: relay error; bits 6-7 of the sub code: CPU fatal / non-fatal error flags (W342 end codes)
        fields.update(end_code=end, end_code_name=END_CODES.get((end >> 8) & 0x7F, "unknown"))
        return "response", fields, data[2:]
    if command in MEMORY_COMMANDS and len(data) >= 6:
        fields.update(memory_area=data[0], address=u16be(data, 1), bit=data[3], count=u16be(data, 4))
    operation = OPERATIONS.get(command)
    if operation is not None:
        fields[OPERATION], fields[NAME] = operation, COMMANDS[command]
    return "request", fields, data


class FinsDissector(ResyncOnGap, StreamDissector):
    name: ClassVar[str] = "fins"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    ot_operations: ClassVar[bool] = True

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A FINS/TCP frame (the 'FINS' magic, a length matching the segment, a known command)."""
        try:
            size = tcp_frame_length(payload)
        except ParseError:
            return False
        return size == len(payload) and int.from_bytes(payload[8:12], "big") in TCP_COMMANDS

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto == 17:
            return list(self._frame(pkt, data))
        msgs, error = frames(state, pkt.to_server, data, tcp_frame_length)
        return collect(msgs, [error] if error else [], lambda msg: self._tcp(pkt, msg))

    def _tcp(self, pkt: Packet, msg: bytes) -> Iterator[Observation]:
        if len(msg) < TCP_HEADER:
            raise ParseError("FINS/TCP header cut short")
        command, error = int.from_bytes(msg[8:12], "big"), int.from_bytes(msg[12:16], "big")
        if command == 2:
            yield from self._frame(pkt, msg[TCP_HEADER:])
            return
        fields: dict[str, Any] = {"tcp_command": TCP_COMMANDS.get(command, str(command)), "tcp_error": error}
        if command in (0, 1) and len(msg) >= 20:
            fields["client_node"] = int.from_bytes(msg[16:20], "big")
        if command == 1 and len(msg) >= 24:
            fields["server_node"] = int.from_bytes(msg[20:24], "big")
        yield pkt.observation(self.name, "tcp_session", fields)

    def _frame(self, pkt: Packet, frame: bytes) -> Iterator[Observation]:
        kind, fields, data = parse_frame(frame)
        yield pkt.observation(self.name, kind, fields)
        if kind == "response" and fields["command"] == "0x0501" and fields["end_code"] & 0x7F3F == 0 and data:
            identity = {"controller_model": text(data[:20], 20), "controller_version": text(data[20:40], 20)}
            if identity["controller_model"]:
                yield pkt.observation(self.name, "controller_data", identity)
