"""Mitsubishi MELSOFT (GX Works engineering connection) on udp/5560 and tcp/5562: framing, command codes and
the CPU model the PLC states. Mitsubishi publishes no specification.

Reference: Nozomi Networks' Wireshark plugin ``melsoft_bhmea2023.lua`` (NozomiNetworks/blackhat23-melsoft,
Black Hat MEA 2023): a 21-byte "Ethernet header" (request 0x57.., response 0xD7..; bytes 19-20 little-endian
count what follows), a command header of 24 bytes in a request and 26 in a response, then the command data:
command code (big-endian, at 45 in a request and 47 in a response), packet reference (LE), size. Its table
names the codes (0x0121 Open Initial, 0x0131/0x0132 username/password login, 0x0410 Modify Value, 0x1001/
0x1002/0x1003 Remote Control Run/Stop/Pause, 0x1006 Remote Reset Ex, 0x1133 User Information Registration,
0x1859 File List Read, 0x1868 File Read, 0x1869 File Write, ...). The plugin's footer layout (CRC, token)
is not read: the ics_iti captures (older firmware) do not follow it.

What is pinned on the ics_iti MELSEC captures (FX5U-32MT/ES at 192.168.3.250; melsoft_UDP_clean_1/2/3,
melsoft_UDP_unclean_1 on udp/5560, melsoft_129_clean and melsoft_variant_clean on tcp/5562):

* udp/5560 search: a 4-byte request ``5A 00 00 <code>`` (codes 01, 11, 22, ff seen) and the PLC's answer
  ``DA 00 00 <code> ...`` sent to the requester's port (broadcast). The answer's remaining bytes are not
  interpreted: they hold the requester's address (192.168.3.101), not the PLC's.
* the framing: every frame of the six captures (1,854 UDP, 24,051 TCP) is one header and its counted bytes,
  and every answer's command code at 47 equals its request's at 45 (counts per code agree per capture).
* the CPU model: the answer to Open Initial (0x0121) carries 16 ASCII bytes at offset 53 ("FX5U-32MT/ES",
  NUL padded), then a 2-byte code (``29 4A``), the layout of SLMP's Read Type Name answer (model name, model
  code; SH-080956ENG). It sits at the same offset in every such answer of the four udp captures (23, 16,
  23 and 23 answers); the tcp captures hold none.

Ports: tcp/5007 is the one the Nozomi plugin registers; udp/5560 and tcp/5562 are the ones the captures show
for GX Works3's "CPU module search" and connection to the FX5 CPU (MELSEC iQ-F FX5 User's Manual (Ethernet
Communication) lists the ports the CPU's system uses; its table could not be checked here). Searched:
Wireshark has no MELSOFT dissector; nDPI's MELSEC support (ntop/nDPI PR #2846) cites the Nozomi plugin and
these ITI captures.

Kinds (subject ``src``): ``search_request`` / ``search_answer``: ``code``; ``request`` / ``answer``:
``length``, ``command`` ("0x0121"), ``command_name`` (the plugin's name, snake case, or "unknown"),
``packet_reference``; ``cpu_model``: ``model``, ``model_code`` (a fact about the PLC).

OT operations (model/otops.py) are marked where the plugin's name says unambiguously what a request does
to the controller, the names SLMP gives the same operations (SH-080956ENG: remote RUN/STOP/PAUSE change the
operating status, remote RESET restarts the CPU): Remote Control Run/Stop/Pause and Safety Run Mode Change
-> ``stop`` (operating mode), Remote Reset Ex -> ``restart``, File Write -> ``program`` (an FX5/iQ-R CPU
keeps its program and parameters as files: melsoft_UDP_clean_1 writes "MAIN PRG", "CPU PRM", "SYSTEM PRM"
with it). Modify Value (0x0410) is not marked: the plugin gives its name only (no layout, no dissector of
its data), Mitsubishi publishes nothing, and the captures show a poll, not a write: every request is 52 bytes
whatever the answer (melsoft_variant_clean: 5,501 requests; answers of 34 to 812 bytes in
melsoft_UDP_clean_2), so a request carries no value to write. Over TCP the request is marked; over UDP,
where GX Works broadcasts its requests and the PLC broadcasts its answers, the PLC's answer is
(``ot_device_sent``), with the requester of the latest request of that command and packet reference
(``ot_requester_ip``/``_mac``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.otstream import ResyncOnGap, collect, frames, text, u16be, u16le
from iotwarden.errors import ParseError
from iotwarden.model import Observation

UDP_PORT, TCP_PORT = 5560, 5562
TCP_PORT_Q = 5007  # the port the Nozomi plugin registers MELSOFT on (GX Works2 to MELSEC-Q/L built-in Ethernet)
HEADER = 21  # bytes before the payload; the length at 19-20 counts what follows
MAX_FRAME = 8192  # bytes of one command frame; the captures' largest is 1,019
SEARCH_REQUEST, SEARCH_ANSWER, REQUEST, ANSWER = 0x5A, 0xDA, 0x57, 0xD7
REQUEST_COMMAND_AT, ANSWER_COMMAND_AT = 45, 47  # after the 21-byte header and a 24 / 26-byte command header
OPEN_INITIAL = 0x0121  # its answer carries the CPU model
MODEL_AT, MODEL_LEN = 53, 16
COMMANDS = {  # melsoft_bhmea2023.lua command_codes
    0x0121: "open_initial", 0x0131: "username_login", 0x0132: "password_login",
    0x0133: "read_user_information_a", 0x0134: "read_user_information_b", 0x0150: "safety_run_mode_read",
    0x0410: "modify_value", 0x1001: "remote_control_run", 0x1002: "remote_control_stop",
    0x1003: "remote_control_pause", 0x1006: "remote_reset_ex", 0x1120: "safety_run_mode_change",
    0x1133: "user_information_registration", 0x1859: "file_list_read", 0x1868: "file_read", 0x1869: "file_write",
}

MAX_ASKED = 256  # broadcast requests remembered to name the requester in the PLC's answer
OPERATIONS = {  # command -> model/otops.py class (module docstring)
    0x1001: "stop", 0x1002: "stop", 0x1003: "stop", 0x1120: "stop", 0x1006: "restart", 0x1869: "program",
}


def frame_length(buf: bytes) -> int | None:
    """Size of the command frame at the head of ``buf``."""
    if buf and buf[0] not in (REQUEST, ANSWER):
        raise ParseError(f"MELSOFT frame starts with 0x{buf[0]:02x}, not 0x57/0xD7")
    if len(buf) < HEADER:
        return None
    size = HEADER + u16le(buf, 19)
    if size > MAX_FRAME:
        raise ParseError(f"MELSOFT frame of {size} bytes")
    return size


def _model(msg: bytes) -> dict[str, Any] | None:
    if len(msg) < MODEL_AT + MODEL_LEN + 2 or u16be(msg, ANSWER_COMMAND_AT) != OPEN_INITIAL:
        return None
    raw = msg[MODEL_AT : MODEL_AT + MODEL_LEN].rstrip(b"\x00 ")
    if not raw or not all(0x21 <= b < 0x7F for b in raw):
        return None
    return {"model": text(raw, MODEL_LEN), "model_code": f"0x{u16le(msg, MODEL_AT + MODEL_LEN):04x}"}


class MelsoftDissector(ResyncOnGap, StreamDissector):
    name: ClassVar[str] = "melsoft"
    udp_ports: ClassVar[tuple[int, ...]] = (UDP_PORT,)
    tcp_ports: ClassVar[tuple[int, ...]] = (TCP_PORT, TCP_PORT_Q)
    ot_operations: ClassVar[bool] = True

    def __init__(self) -> None:
        # (command, packet reference) -> (ip, mac) of the latest broadcast request: its answer names the requester
        self._asked: OrderedDict[tuple[int, int], tuple[str | None, str | None]] = OrderedDict()

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto == 17:
            return list(self._datagram(pkt, data))
        msgs, error = frames(state, pkt.to_server, data, frame_length, MAX_FRAME)
        return collect(msgs, [error] if error else [], lambda msg: self._frame(pkt, msg))

    def _datagram(self, pkt: Packet, data: bytes) -> Iterator[Observation]:
        if data[:1] in (bytes([SEARCH_REQUEST]), bytes([SEARCH_ANSWER])) and len(data) >= 4 and data[1:3] == b"\0\0":
            kind = "search_request" if data[0] == SEARCH_REQUEST else "search_answer"
            if kind == "search_request" and len(data) != 4:
                raise ParseError("MELSOFT search request of other than 4 bytes")
            yield pkt.observation(self.name, kind, {"code": data[3]})
            return
        if frame_length(data) != len(data):
            raise ParseError("MELSOFT datagram is not one whole frame")
        yield from self._frame(pkt, data)

    def _frame(self, pkt: Packet, msg: bytes) -> Iterator[Observation]:
        kind = "request" if msg[0] == REQUEST else "answer"
        fields: dict[str, Any] = {"length": len(msg) - HEADER}
        at = REQUEST_COMMAND_AT if kind == "request" else ANSWER_COMMAND_AT
        if len(msg) >= at + 4:
            command = u16be(msg, at)
            fields.update(command=f"0x{command:04x}", command_name=COMMANDS.get(command, "unknown"),
                          packet_reference=u16le(msg, at + 2))
            reference = fields["packet_reference"]
            if command in OPERATIONS and kind == "request" and pkt.ip_proto == 17:
                self._asked[(command, reference)] = (pkt.src_ip, pkt.src_mac)
                self._asked.move_to_end((command, reference))
                if len(self._asked) > MAX_ASKED:
                    self._asked.popitem(last=False)
            if command in OPERATIONS and (kind == "request") == (pkt.ip_proto == 6):
                # over TCP the request names the PLC; over UDP GX Works sends it to the broadcast address and
                # only the PLC's answer (the same code, also broadcast) says which PLC did it, its request who
                fields.update(ot_operation=OPERATIONS[command], ot_operation_name=fields["command_name"])
                if kind == "answer":
                    fields["ot_device_sent"] = True
                    asker = self._asked.pop((command, reference), None)
                    if asker is not None:
                        fields["ot_requester_ip"], fields["ot_requester_mac"] = asker
        yield pkt.observation(self.name, kind, fields)
        if kind == "answer":
            model = _model(msg)
            if model is not None:
                yield pkt.observation(self.name, "cpu_model", model)
