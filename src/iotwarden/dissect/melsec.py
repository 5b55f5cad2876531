"""Mitsubishi MELSEC SLMP / MC protocol dissector: binary 3E and 4E frames, found by a strict probe.

Source: Mitsubishi "SLMP Reference Manual" SH-080956ENG (message formats: 3E request subheader 0x5000,
answer 0xD000; 4E 0x5400 / 0xD400 followed by a serial number and 0x0000; then network number, station
number, request destination module I/O number (LE), module station number, data length (LE, from the
monitoring timer or end code on), monitoring timer, command, subcommand; command list), as the Q-series MC
protocol manual SH-080008 lays out the same 3E frame. The SLMP port is a user setting of the CPU's Ethernet
parameters (no default port), so frames are recognised by :meth:`probe` on any port: the subheader, a data
length equal to the datagram or segment, a listed command and a device subcommand.

Kinds (subject ``src``): ``request``: ``frame`` ("3e"/"4e"), ``serial`` (4E), ``network``, ``station``,
``module_io``, ``module_station``, ``timer``, ``command`` ("0x0401"), ``command_name`` (batch_read,
batch_write, remote_run, read_type_name, ...), ``subcommand``; ``response``: the same addressing fields,
``end_code``, and the request's ``command``/``command_name`` when it was seen; ``cpu_model`` (answer to
0101 Read Type Name, a fact about the CPU): ``cpu_model`` (16 ASCII bytes, "Q03UDVCPU", "FX5U-32MT/ES"),
``model_code`` (hex). An answer is paired with the oldest request remembered of its serial (4E) or, 3E having none,
the oldest 3E request (a server answers in order; :class:`~iotwarden.dissect.otpairing.Pending`, at most
:data:`MAX_PENDING`): one whose request was dropped for room, lost, or awaiting an answer the capture lost is paired
with none rather than with another's, which would shift every later answer of the key by one.

OT operations (model/otops.py): device writes 1401, 1402, 1406, memory writes 1613 / 1601 and remote latch
clear 1005 -> ``write``; remote RUN 1001, STOP 1002, PAUSE 1003 -> ``stop``; remote RESET 1006 -> ``restart``;
file new 1820, delete 1822, copy 1824, write 1829 -> ``program``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.otpairing import PairedResyncOnGap, pending
from iotwarden.dissect.otstream import collect, frames, text, u16le
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import NAME, OPERATION

REQUEST_3E, ANSWER_3E, REQUEST_4E, ANSWER_4E = b"\x50\x00", b"\xd0\x00", b"\x54\x00", b"\xd4\x00"
MAX_PENDING = 32  # requests remembered per flow, to name the command each answer belongs to
COMMANDS = {
    0x0401: "batch_read", 0x1401: "batch_write", 0x0403: "random_read", 0x1402: "random_write",
    0x0406: "block_read", 0x1406: "block_write", 0x0801: "monitor_register", 0x0802: "monitor",
    0x0101: "read_type_name", 0x0601: "extend_unit_read", 0x1601: "extend_unit_write", 0x0613: "memory_read",
    0x1613: "memory_write", 0x1001: "remote_run", 0x1002: "remote_stop", 0x1003: "remote_pause",
    0x1005: "remote_latch_clear", 0x1006: "remote_reset", 0x0619: "self_test", 0x1617: "clear_error",
    0x1630: "remote_unlock", 0x1631: "remote_lock", 0x1810: "read_directory", 0x1811: "search_directory",
    0x1820: "new_file", 0x1822: "delete_file", 0x1824: "copy_file", 0x1825: "change_file_attribute",
    0x1826: "change_file_date", 0x1827: "open_file", 0x1828: "read_file", 0x1829: "write_file",
    0x182A: "close_file",
}
OPERATIONS = {0x1401: "write", 0x1402: "write", 0x1406: "write", 0x1613: "write", 0x1601: "write",
              0x1005: "write", 0x1001: "stop", 0x1002: "stop", 0x1003: "stop", 0x1006: "restart",
              0x1820: "program", 0x1822: "program", 0x1824: "program", 0x1829: "program"}
# SH-080956ENG command list: subcommands of the device commands (word/bit units, Q/L or iQ-R device codes, with or
# without device memory extension); every other command's subcommand is 0000
SUBCOMMANDS = frozenset({0x0000, 0x0001, 0x0002, 0x0003, 0x0080, 0x0081, 0x0082, 0x0083})


def _head(msg: bytes) -> tuple[str, bool, int] | None:
    """(frame, is_request, offset of the network number) for a 3E/4E subheader, else None."""
    sub = msg[:2]
    if sub in (REQUEST_3E, ANSWER_3E):
        return "3e", sub == REQUEST_3E, 2
    if sub in (REQUEST_4E, ANSWER_4E) and msg[4:6] == b"\x00\x00":
        return "4e", sub == REQUEST_4E, 6
    return None


def frame_length(buf: bytes) -> int | None:
    """Size of the 3E/4E frame at the head of ``buf`` (a TCP direction's bytes)."""
    if len(buf) < 6:  # the 4E subheader's serial and 0x0000 decide; every frame is longer
        return None
    head = _head(buf)
    if head is None:
        raise ParseError("not an SLMP/MC binary 3E or 4E subheader")
    if len(buf) < head[2] + 7:
        return None
    return head[2] + 7 + u16le(buf, head[2] + 5)


def parse(msg: bytes) -> tuple[str, dict[str, Any], bytes]:
    """(kind, fields, data after the command/end code) of one whole binary frame; ParseError if not one."""
    head = _head(msg)
    if head is None or len(msg) < head[2] + 9:
        raise ParseError("not an SLMP/MC binary 3E or 4E frame")
    frame, is_request, off = head
    size = u16le(msg, off + 5)
    if off + 7 + size != len(msg):
        raise ParseError(f"SLMP data length {size} does not match the frame")
    fields: dict[str, Any] = {"frame": frame, "network": msg[off], "station": msg[off + 1],
                              "module_io": u16le(msg, off + 2), "module_station": msg[off + 4]}
    if frame == "4e":
        fields["serial"] = u16le(msg, 2)
    body = msg[off + 7 :]
    if not is_request:
        fields["end_code"] = u16le(body, 0)
        return "response", fields, body[2:]
    if len(body) < 6:
        raise ParseError("SLMP request without timer, command and subcommand")
    command = u16le(body, 2)
    fields.update(timer=u16le(body, 0), command=f"0x{command:04x}", command_name=COMMANDS.get(command, "unknown"),
                  subcommand=u16le(body, 4))
    if command in OPERATIONS:
        fields[OPERATION], fields[NAME] = OPERATIONS[command], COMMANDS[command]
    return "request", fields, body[6:]


class MelsecDissector(PairedResyncOnGap, StreamDissector):
    name: ClassVar[str] = "melsec"
    ot_operations: ClassVar[bool] = True

    def probe(self, payload: bytes, to_server: bool) -> bool:
        try:
            kind, fields, _data = parse(payload)
        except ParseError:
            return False
        if kind == "request":
            return fields["command_name"] != "unknown" and fields["subcommand"] in SUBCOMMANDS
        return True

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto == 17:  # a datagram carries one whole frame
            return list(self._frame(pkt, data, state))
        msgs, error = frames(state, pkt.to_server, data, frame_length)
        pending(state, MAX_PENDING).delivered(pkt)
        return collect(msgs, [error] if error else [], lambda msg: self._frame(pkt, msg, state))

    def _frame(self, pkt: Packet, msg: bytes, state: dict[str, Any]) -> Iterator[Observation]:
        requests = pending(state, MAX_PENDING)
        try:
            kind, fields, data = parse(msg)
        except ParseError:
            head = _head(msg)
            if head is not None:  # unreadable, but a request or an answer of its serial all the same
                serial = u16le(msg, 2) if head[0] == "4e" else None
                if head[1]:
                    requests.request(pkt, serial, None)
                else:
                    requests.answer(pkt, serial, len(msg))
            raise
        key = fields.get("serial")
        if kind == "request":
            requests.request(pkt, key, int(fields["command"], 16))
            yield pkt.observation(self.name, kind, fields)
            return
        command = requests.answer(pkt, key, len(msg))
        if command is not None:
            fields.update(command=f"0x{command:04x}", command_name=COMMANDS.get(command, "unknown"))
        yield pkt.observation(self.name, kind, fields)
        if command == 0x0101 and fields["end_code"] == 0 and len(data) >= 18:
            model = text(data[:16], 16)
            if model:
                yield pkt.observation(self.name, "cpu_model", {"cpu_model": model,
                                                                "model_code": f"0x{u16le(data, 16):04x}"})

