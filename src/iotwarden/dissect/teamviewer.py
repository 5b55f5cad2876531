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

from iotwarden.dissect.opening import OpeningExchange
from iotwarden.errors import ParseError

MAGICS = {b"\x17\x24": "1724", b"\x11\x30": "1130"}  # nDPI teamviewer.c; bettercap packets/teamviewer.go
CLIENT_MAGIC = b"\x17\x24"  # what a client opens with (nDPI's first stage; libprotoident's both directions)
CLIENT_OPENER = bytes.fromhex("17240a20")  # libprotoident lpi_teamviewer.cc: a client's first four bytes


class TeamviewerDissector(OpeningExchange):
    name: ClassVar[str] = "teamviewer"
    kind: ClassVar[str] = "hello"
    tcp_ports: ClassVar[tuple[int, ...]] = (5938,)
    max_buffer: ClassVar[int] = 64

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """The client's first bytes are libprotoident's opener 17 24 0a 20: two magic bytes alone would
        claim one random datagram in 65536 on an unlisted port."""
        return to_server and payload.startswith(CLIENT_OPENER)

    def opening(self, buf: bytearray, to_server: bool) -> dict[str, Any] | None:
        if len(buf) < 2:
            return None
        head = bytes(buf[:2])
        magic = MAGICS.get(head) if not to_server or head == CLIENT_MAGIC else None
        if magic is None:
            raise ParseError(f"no TeamViewer magic: {head.hex()}")
        return {"role": "client" if to_server else "server", "magic": magic}
