"""Mitsubishi MELSOFT (GX Works engineering connection) on udp/5560 and tcp/5562: framing and the CPU
model the PLC states, as far as the real bytes pin them. Mitsubishi publishes no specification.

What is pinned, on the ics_iti MELSEC captures (FX5U-32MT/ES at 192.168.3.250; melsoft_UDP_clean_1/2/3,
melsoft_UDP_unclean_1 on udp/5560, melsoft_129_clean and melsoft_variant_clean on tcp/5562):

* udp/5560 search: a 4-byte request ``5A 00 00 <code>`` (codes 01, 11, 22, ff seen) and the PLC's answer
  ``DA 00 00 <code> ...`` sent to the requester's port (broadcast). The answer's remaining bytes are not
  interpreted: they hold the requester's address (192.168.3.101), not the PLC's.
* command frames, both transports: a request starts with 0x57, an answer with 0xD7; a 21-byte header
  whose bytes 19-20 (little-endian) count the bytes that follow it (true of every frame of the six
  captures: 1,854 UDP and 24,051 TCP).
* the CPU model: the answer (0xD7) to the request whose bytes 45-46 are ``01 21`` echoes them at 47-48 and
  carries 16 ASCII bytes at offset 53 ("FX5U-32MT/ES", NUL padded), then a 2-byte code (``29 4A``), the
  layout of SLMP's Read Type Name answer (model name, model code; SH-080956ENG). It sits at the same
  offset in every such answer of the four udp captures (23, 16, 23 and 23 answers); the tcp captures
  hold none.

Ports: udp/5560 and tcp/5562 are the ones the captures show for GX Works3's "CPU module search" and
connection to the FX5 CPU (MELSEC iQ-F FX5 User's Manual (Ethernet Communication) SH-081557ENG lists the
ports the CPU's system uses; its table could not be checked here). Searched: Wireshark has no MELSOFT
dissector; GitHub code search for the 0x57/0xD7 framing found no documented implementation.

Kinds (subject ``src``): ``search_request`` / ``search_answer``: ``code``; ``request`` / ``answer``:
``length``; ``cpu_model``: ``model``, ``model_code`` (a fact about the PLC). No OT operation is marked:
the commands' meaning is unknown, so a write or a stop cannot be told from a read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.otstream import ResyncOnGap, collect, frames, text, u16le
from iotwarden.errors import ParseError
from iotwarden.model import Observation

UDP_PORT, TCP_PORT = 5560, 5562
HEADER = 21  # bytes before the payload; the length at 19-20 counts what follows
MAX_FRAME = 8192  # bytes of one command frame; the captures' largest is 1,019
SEARCH_REQUEST, SEARCH_ANSWER, REQUEST, ANSWER = 0x5A, 0xDA, 0x57, 0xD7
MODEL_REQUEST = b"\x01\x21"  # request bytes 45-46, echoed at 47-48 of the answer carrying the model
MODEL_AT, MODEL_LEN = 53, 16


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
    if len(msg) < MODEL_AT + MODEL_LEN + 2 or msg[47:49] != MODEL_REQUEST:
        return None
    raw = msg[MODEL_AT : MODEL_AT + MODEL_LEN].rstrip(b"\x00 ")
    if not raw or not all(0x21 <= b < 0x7F for b in raw):
        return None
    return {"model": text(raw, MODEL_LEN), "model_code": f"0x{u16le(msg, MODEL_AT + MODEL_LEN):04x}"}


class MelsoftDissector(ResyncOnGap, StreamDissector):
    name: ClassVar[str] = "melsoft"
    udp_ports: ClassVar[tuple[int, ...]] = (UDP_PORT,)
    tcp_ports: ClassVar[tuple[int, ...]] = (TCP_PORT,)

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
        yield pkt.observation(self.name, kind, {"length": len(msg) - HEADER})
        if kind == "answer":
            model = _model(msg)
            if model is not None:
                yield pkt.observation(self.name, "cpu_model", model)
