"""One TCP connection fed straight to a stream dissector with chosen segments left out: a lost segment is told
through the dissector's ``gap`` as the engine does (engine/reassembly.py), the rest through ``feed`` from
10.0.0.1:50000 to the server's port. Shared by the SMB and DCE/RPC resynchronisation tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

GAP = None  # in a chunk list: the segment that was here was lost
Chunk = tuple[bool, bytes | None]


def segments(chunks: Iterable[tuple[bool, bytes]], size: int = 1448) -> list[Chunk]:
    """Each message cut into ``size``-byte TCP segments."""
    return [(to_server, data[i : i + size]) for to_server, data in chunks for i in range(0, len(data), size)]


def lose(chunks: list[Chunk], where: int) -> list[Chunk]:
    """``chunks`` with segment ``where`` lost (the engine reports a gap of its direction instead)."""
    return [*chunks[:where], (chunks[where][0], GAP), *chunks[where + 1 :]]


def converse(d: StreamDissector, chunks: Iterable[Chunk], state: dict[str, Any] | None, port: int) -> list[Observation]:
    """What ``d`` makes of ``chunks`` ((to the server?, bytes or GAP)) in ``state`` (a fresh one when None), until
    the flow is done; a ParseError's Observations made before it (``made``) are kept, as the engine keeps them."""
    state = {} if state is None else state
    out: list[Observation] = []
    for to_server, data in chunks:
        if state.get("done"):
            break
        if data is GAP:
            out += d.gap(state, to_server) or []  # what the hole cost, as the engine adds it (streamfeed._gap)
            continue
        src, dst = (("10.0.0.1", 50000), ("10.0.0.2", port))[:: 1 if to_server else -1]
        pkt = Packet(ts=1.0, payload=data, src_ip=src[0], src_port=src[1], dst_ip=dst[0], dst_port=dst[1],
                     ip_proto=6, to_server=to_server)
        try:
            out += d.feed(pkt, data, state)
        except ParseError as exc:
            out += list(getattr(exc, "made", []))
    return out
