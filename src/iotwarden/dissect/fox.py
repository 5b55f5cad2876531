"""Niagara Fox dissector: the hello frames of Tridium's Fox protocol (cleartext, tcp/1911).

A Fox frame is text: a header line ``fox <type> <seq> <reply> <channel> <command>``, a body of
``key=type:value`` lines between braces, and the footer ``;;`` (Tridium Niagara ``FoxFrame``; the
fields are those Nmap's ``fox-info`` script reads). Both ends open a session with a ``fox hello``
naming their software; the server's is the station.

Kind ``hello`` (subject ``src``, the sender): ``role`` ("client"/"server"), ``frame_type`` (the
type letter), and the body's keys the scripts report, renamed to snake case: ``fox_version``,
``host_name``, ``host_address``, ``app_name`` ("Station" for a station, "Workbench" for the
engineering tool), ``app_version``, ``vm_name``, ``vm_version``, ``os_name``, ``os_version``,
``station_name``, ``lang``, ``time_zone``, ``host_id``, ``vm_uuid``, ``brand_id``. Dissection
ends after both hellos (what follows carries credentials and data, not identity).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_FRAME = 16 * 1024  # bytes of one hello frame; a station's hello is well under 2 KB
MAX_VALUE = 255  # characters kept of one value
_HEADER = re.compile(rb"^fox ([a-z]) (-?\d{1,9}) (-?\d{1,9}) (\w{1,32}) (\w{1,32})\n")
_LINE = re.compile(r"^([\w.]{1,64})=([a-z]):(.*)$")
KEYS = {"fox.version": "fox_version", "hostName": "host_name", "hostAddress": "host_address",
        "app.name": "app_name", "app.version": "app_version", "vm.name": "vm_name", "vm.version": "vm_version",
        "os.name": "os_name", "os.version": "os_version", "station.name": "station_name", "lang": "lang",
        "timeZone": "time_zone", "hostId": "host_id", "vmUuid": "vm_uuid", "brandId": "brand_id"}
FOOTER = b";;\n"


def parse_frame(frame: bytes) -> tuple[str, str, str, dict[str, str]]:
    """(type letter, channel, command, body keys) of one frame ending with its footer; ParseError if not Fox."""
    head = _HEADER.match(frame)
    if head is None:
        raise ParseError("fox: no frame header")
    body = frame[head.end() : -len(FOOTER)].decode("utf-8", "replace").strip()
    values: dict[str, str] = {}
    if body:
        if not (body.startswith("{") and body.endswith("}")):
            raise ParseError("fox: body is not a braced key list")
        for line in body[1:-1].splitlines():
            match = _LINE.match(line.strip())
            if match and match.group(1) in KEYS:
                values[KEYS[match.group(1)]] = match.group(3)[:MAX_VALUE]
    return head.group(1).decode(), head.group(4).decode(), head.group(5).decode(), values


class FoxDissector(StreamDissector):
    name: ClassVar[str] = "fox"
    tcp_ports: ClassVar[tuple[int, ...]] = (1911,)
    # between feeds a direction holds at most an incomplete frame and the start of its footer
    max_buffer: ClassVar[int] = MAX_FRAME + len(FOOTER) - 1

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return _HEADER.match(payload) is not None

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        if state.get(f"hello_{key}"):
            return []
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        end = buf.find(FOOTER)
        if end + len(FOOTER) > MAX_FRAME:
            state["done"] = True
            raise ParseError(f"fox: frame over {MAX_FRAME} bytes")
        if end < 0:
            if len(buf) >= 4 and not buf.startswith(b"fox "[: len(buf)]):
                state["done"] = True
                raise ParseError("fox: stream does not start with a frame")
            streambuf.bound(state, buf, self.max_buffer)
            return []
        frame = bytes(buf[: end + len(FOOTER)])
        buf.clear()
        kind, channel, command, values = parse_frame(frame)
        state[f"hello_{key}"] = True
        if state.get("hello_c2s") and state.get("hello_s2c"):
            state["done"] = True
        if (channel, command) != ("fox", "hello"):
            return []
        fields: dict[str, Any] = {"role": "client" if pkt.to_server else "server", "frame_type": kind, **values}
        return [pkt.observation(self.name, "hello", fields)]
