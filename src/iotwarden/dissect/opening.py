"""Protocols recognised by their opening exchange: the client's first message, then the server's
answer (OpenVPN's hard resets, TeamViewer's magic bytes). Both become Observations of :attr:`kind`
once the answer is parsed; bytes after it are not read. A server speaking first, or bytes that are
not the opening, end the flow with a ParseError (the engine's "not this protocol").
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector, safety_net
from iotwarden.errors import ParseError
from iotwarden.model import Observation


class OpeningExchange(StreamDissector):
    """Subclasses name the :attr:`kind` of observation and parse one side's opening with :meth:`opening`."""

    kind: ClassVar[str] = "opening"
    # stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): the two openings, each at
    # most ``max_buffer`` (OpenVPN's hard resets, 4 KiB, the largest); the 8-packet cap it replaces read them
    # only when each came in a few segments
    max_stream_bytes: ClassVar[int | None] = 16 * 1024
    max_stream_packets: ClassVar[int | None] = safety_net(16 * 1024)

    def opening(self, buf: bytearray, to_server: bool) -> dict[str, Any] | None:
        """The fields of one side's opening at the start of ``buf``; None while more bytes are needed;
        ParseError when the bytes are not this protocol's opening."""
        raise NotImplementedError

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = "opening_" + streambuf.direction_key(pkt.to_server)
        client_key = "opening_" + streambuf.C2S
        if key in state:
            return []
        if not pkt.to_server and client_key not in state:
            state["done"] = True
            raise ParseError(f"{self.name}: the server spoke before the client's opening")
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        try:
            fields = self.opening(buf, pkt.to_server)
        except ParseError:
            state["done"] = True
            raise
        if fields is None:
            streambuf.bound(state, buf, self.max_buffer)  # an opening still incomplete past the limit
            return []
        buf.clear()
        state[key] = fields
        if pkt.to_server:
            return []  # the client's opening waits for the server's answer
        state["done"] = True
        client = streambuf.oriented(pkt, from_client=True)
        server = streambuf.oriented(pkt, from_client=False)
        return [client.observation(self.name, self.kind, state[client_key]),
                server.observation(self.name, self.kind, fields)]
