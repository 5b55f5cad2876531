"""Per-direction byte buffers and endpoint orientation shared by the TCP application dissectors.

A stream dissector keeps one bounded ``bytearray`` per direction in its flow ``state``; overflowing
the bound ends dissection of the flow (``state["done"]``) with a :class:`ParseError` the engine counts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from iotwarden.dissect.base import Packet
from iotwarden.errors import ParseError

C2S = "c2s"  # state key of the client -> server buffer (the flow initiator's direction)
S2C = "s2c"  # state key of the server -> client buffer


def direction_key(to_server: bool) -> str:
    return C2S if to_server else S2C


def append(state: dict[str, Any], to_server: bool, data: bytes, limit: int) -> bytearray:
    """The direction's buffer with ``data`` appended; ParseError (and ``done``) past ``limit`` bytes."""
    key = direction_key(to_server)
    buf: bytearray = state.setdefault(key, bytearray())
    buf += data
    if len(buf) > limit:
        state["done"] = True
        buf.clear()
        raise ParseError(f"{key} buffer over its limit of {limit} bytes without a complete message")
    return buf


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
