"""Per-direction byte buffers and endpoint orientation shared by the TCP application dissectors.

A stream dissector keeps one bounded ``bytearray`` per direction in its flow ``state``. The bound is on
what is left *unconsumed* once the dissector has taken every complete message out of the buffer (an
incomplete message), never on the size of one delivery: the engine may hand over a 64 KiB super-packet
that GRO/TSO coalesced from many wire segments, and the observations must not depend on how the
sender's bytes were cut into packets. So a dissector calls :func:`append`, consumes, then :func:`bound`;
a leftover over the bound ends dissection of the flow (``state["done"]``) with a :class:`ParseError`
the engine counts. A dissector whose limit means "a message over N bytes is malformed" also checks the
size of each complete message it takes, so that meaning holds whatever the segmentation.

For the same reason one malformed message must not cost the good ones delivered with it: a dissector
reads on past a message it could not parse (when its framing still holds) and ends the feed with
:func:`failed`, whose :class:`PartialParse` carries the Observations made before; the engine counts
the error and keeps them, as it would have had each message come in its own packet.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from iotwarden.dissect.base import Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

C2S = "c2s"  # state key of the client -> server buffer (the flow initiator's direction)
S2C = "s2c"  # state key of the server -> client buffer


def direction_key(to_server: bool) -> str:
    return C2S if to_server else S2C


def append(state: dict[str, Any], to_server: bool, data: bytes, limit: int) -> bytearray:
    """The direction's buffer with ``data`` appended, however large ``data`` is.

    ``limit`` is checked against what the previous feed left, for a feed that raised before it
    called :func:`bound`: ParseError (and ``done``) when that was over ``limit``.
    """
    buf: bytearray = state.setdefault(direction_key(to_server), bytearray())
    if len(buf) > limit:
        bound(state, buf, limit)
    buf += data
    return buf


def bound(state: dict[str, Any], buf: bytearray, limit: int) -> None:
    """After the dissector consumed every complete message from ``buf`` (one direction's buffer):
    ParseError (and ``done``) when its unconsumed bytes (an incomplete message) exceed ``limit``."""
    if len(buf) > limit:
        state["done"] = True
        buf.clear()
        raise ParseError(f"stream buffer over its limit of {limit} bytes without a complete message")


class PartialParse(ParseError):
    """A feed rejected part of its bytes after it had made :attr:`made`: counted, and they are kept."""

    def __init__(self, message: str, made: list[Observation]) -> None:
        super().__init__(message)
        self.made = made


def failed(error: ParseError, made: list[Observation]) -> ParseError:
    """What a feed that made ``made`` raises for ``error``: a :class:`PartialParse` when it made any."""
    return PartialParse(str(error), made) if made else error


def oriented(pkt: Packet, from_client: bool) -> Packet:
    """``pkt`` as if sent by the client (``from_client``) or by the server, addresses swapped if needed.

    Lets a dissector state a fact about the server (or client) with a fixed subject whichever
    direction's packet completed it.
    """
    if pkt.to_server == from_client:
        return pkt
    return dataclasses.replace(
        pkt,
        src_mac=pkt.dst_mac,
        dst_mac=pkt.src_mac,
        src_ip=pkt.dst_ip,
        dst_ip=pkt.src_ip,
        src_port=pkt.dst_port,
        dst_port=pkt.src_port,
        to_server=from_client,
    )


def text(raw: bytes | bytearray, limit: int) -> str:
    """Wire bytes as text for a field: UTF-8 with replacement, control characters kept, cut at ``limit``."""
    return bytes(raw[:limit]).decode("utf-8", "replace")
