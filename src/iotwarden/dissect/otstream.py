"""PDU framing over bounded per-direction TCP buffers, shared by the OT stream dissectors.

OT sessions are watched for their whole life (a write or a CPU stop can come at any moment), so a
framing error never ends the flow: the direction's buffer is dropped and framing restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from iotwarden.errors import ParseError
from iotwarden.model import Observation

# Bytes kept per direction while waiting for the rest of a PDU. Every OT PDU we frame is far smaller
# (Modbus ADU 260 B, DNP3 link frame 292 B, TPKT 65535 B, ENIP encapsulation 65535 + 24 B).
MAX_DIRECTION_BUFFER = 65_560

# length of the PDU at the head of ``buf``: None while its header is incomplete; raises ParseError
# when the head of ``buf`` is not a PDU header (the stream lost sync)
FrameLength = Callable[[bytes], int | None]


def direction_key(to_server: bool) -> str:
    return "buf_c2s" if to_server else "buf_s2c"


class ResyncOnGap:
    """Mixin of the OT stream dissectors: bytes lost by the capture end no session. The direction's
    partial PDU is dropped and framing restarts with the next segment, which usually starts a PDU
    (a bad header there only costs that segment, see :func:`frames`)."""

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        state.pop(direction_key(to_server), None)


def frames(
    state: dict[str, Any], to_server: bool, data: bytes, frame_length: FrameLength,
    limit: int = MAX_DIRECTION_BUFFER,
) -> tuple[list[bytes], str | None]:
    """Complete PDUs of one direction after appending ``data``, and the framing error if any.

    On a framing error (bad header, or more than ``limit`` bytes without a complete PDU) the buffer
    is dropped, so framing restarts with the next segment, which usually starts a PDU.
    """
    key = direction_key(to_server)
    buf = state.get(key, b"") + data
    pdus: list[bytes] = []
    error: str | None = None
    pos = 0
    while pos < len(buf):
        try:
            size = frame_length(buf[pos:])
        except ParseError as exc:
            error = str(exc)
            pos = len(buf)
            break
        if size is None or pos + size > len(buf):
            break
        pdus.append(buf[pos : pos + size])
        pos += size
    rest = buf[pos:]
    if len(rest) > limit:
        error = f"{len(rest)} bytes buffered without a complete PDU (limit {limit})"
        rest = b""
    state[key] = rest
    return pdus, error


def collect(pdus: list[bytes], errors: list[str], parse: Callable[[bytes], Iterator[Observation]]) -> list[Observation]:
    """Observations of every PDU; ParseError only when no PDU of this call yielded any.

    A malformed PDU that shares a segment with well-formed ones is not raised: raising would drop
    the good PDUs' observations, and a write hidden behind trailing garbage must still be seen.
    """
    out: list[Observation] = []
    for pdu in pdus:
        try:
            out.extend(parse(pdu))
        except ParseError as exc:
            errors.append(str(exc))
    if errors and not out:
        raise ParseError(errors[0])
    return out


def u16be(buf: bytes, off: int) -> int:
    if off + 2 > len(buf):
        raise ParseError(f"truncated at offset {off}")
    return (buf[off] << 8) | buf[off + 1]


def u16le(buf: bytes, off: int) -> int:
    if off + 2 > len(buf):
        raise ParseError(f"truncated at offset {off}")
    return buf[off] | (buf[off + 1] << 8)


def u32le(buf: bytes, off: int) -> int:
    if off + 4 > len(buf):
        raise ParseError(f"truncated at offset {off}")
    return int.from_bytes(buf[off : off + 4], "little")


def text(raw: bytes, limit: int = 256) -> str:
    """Wire bytes as a field value: NULs and trailing spaces stripped, UTF-8 with replacement."""
    return raw[:limit].split(b"\x00", 1)[0].decode("utf-8", "replace").strip()
