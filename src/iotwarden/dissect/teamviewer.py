"""TeamViewer over TCP: the magic that opens its packets, on its own port or where it falls back (443).

TeamViewer's protocol is not published; three open-source engines that recognise it agree on its TCP
framing: packets begin with the magic 0x17 0x24, or 0x11 0x30 in later versions (nDPI
``src/lib/protocols/teamviewer.c``: "payload[0] == 0x17 && payload[1] == 0x24", then 0x11 0x30;
libprotoident ``lib/tcp/lpi_teamviewer.cc``: both directions open with 17 24 0a 20; bettercap
``packets/teamviewer.go``: magic 0x1724 "1.x", 0x1130 "2.x"). TeamViewer's own port is tcp/5938 (the
one nDPI and bettercap take as enough); TeamViewer's documentation has it try 443, then 80, when 5938
is blocked.

Kind ``hello`` (subject ``src``: the endpoint that sent it): ``role`` ("client"/"server"), ``magic``
(hex). Both are made once the server's first bytes carry a magic too (nDPI likewise waits for several
such packets off port 5938); the first bytes of one side alone describe nothing. Dissection then
ends. The probe (unlisted ports, or bytes the port's dissector rejected) asks for libprotoident's
whole four-byte opener.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAGICS = {b"\x17\x24": "1724", b"\x11\x30": "1130"}  # nDPI teamviewer.c; bettercap packets/teamviewer.go
CLIENT_MAGIC = b"\x17\x24"  # what a client opens with (nDPI's first stage; libprotoident's both directions)
CLIENT_OPENER = bytes.fromhex("17240a20")  # libprotoident lpi_teamviewer.cc: a client's first four bytes


class TeamviewerDissector(StreamDissector):
    name: ClassVar[str] = "teamviewer"
    tcp_ports: ClassVar[tuple[int, ...]] = (5938,)
    max_packets_per_flow: ClassVar[int | None] = 8
    max_buffer: ClassVar[int] = 64

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """The client's first bytes are libprotoident's opener 17 24 0a 20: two magic bytes alone would
        claim one random datagram in 65536 on an unlisted port."""
        return to_server and payload.startswith(CLIENT_OPENER)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        if state.get("magic_" + key):
            return []
        if not pkt.to_server and not state.get("magic_" + streambuf.C2S):
            state["done"] = True
            raise ParseError("TeamViewer server bytes before the client's")
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        if len(buf) < 2:
            return []
        head = bytes(buf[:2])
        magic = MAGICS.get(head) if not pkt.to_server or head == CLIENT_MAGIC else None
        if magic is None:
            state["done"] = True
            raise ParseError(f"no TeamViewer magic: {bytes(buf[:2]).hex()}")
        buf.clear()
        state["magic_" + key] = magic
        if pkt.to_server:
            return []  # the client's magic waits for the server's
        state["done"] = True
        client = streambuf.oriented(pkt, from_client=True)
        server = streambuf.oriented(pkt, from_client=False)
        return [client.observation(self.name, "hello", {"role": "client", "magic": state["magic_" + streambuf.C2S]}),
                server.observation(self.name, "hello", {"role": "server", "magic": magic})]
