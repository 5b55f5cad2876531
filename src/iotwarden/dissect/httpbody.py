"""HTTP/1.x message bodies (RFC 9112 §6-7): their framing (Content-Length, chunked transfer coding, until close)
walked and skipped, and the rare body read as a document (UPnP description, DPWS metadata, IPP, a TS Gateway's IN
channel) reported about its sender once it is over or a hole cuts it (split from dissect/http.py)."""

from __future__ import annotations

import re
from typing import Any

from iotwarden.dissect import streambuf, tsgu
from iotwarden.dissect.base import Packet
from iotwarden.dissect.dpwsmeta import MetadataReader
from iotwarden.dissect.httphead import MAX_HEAD, message_length
from iotwarden.dissect.ipp import IppReader
from iotwarden.dissect.upnpdesc import DescriptionReader
from iotwarden.errors import ParseError
from iotwarden.model import Observation

DESCRIPTION = "upnp"  # state key of the reader (description, metadata, IPP) of the response body being read
READERS = {streambuf.S2C: DESCRIPTION, streambuf.C2S: "ipp_c2s"}  # and of the request body (IPP) being read
SENDER = "sender_"  # + direction key: the packet whose head began the body read (READERS): who its document describes
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n\x00]*)?")  # RFC 9112 §7.1, fullmatch
DATA_END = -1  # state "chunk_" + direction key: a chunk's data read, its CRLF next


def malformed(state: dict[str, Any], key: str, buf: bytearray | None, why: str) -> ParseError:
    """A direction whose framing broke: nothing more of it is read (its buffer is dropped)."""
    state["closed_" + key] = True
    if buf is not None:
        buf.clear()
    return ParseError(why)


def body_length(framing: dict[str, str], state: dict[str, Any], key: str, version: str) -> int:
    """Body length of a message of ``key``'s direction (httphead.message_length of its framing fields): >=0 bytes, -1
    chunked, -2 until close (RFC 9112 §6.3). An invalid framing (a Content-Length, a request's Transfer-Encoding
    whose final coding is not chunked, one in HTTP/1.0) leaves it unrecoverable (§6.3 (4)-(5), §6.1): the direction
    closes, dropping what it holds, so the body is never read as the next message, and the ParseError is raised."""
    length = message_length(framing, request=key == streambuf.C2S, version=version)
    if length is None:
        name = "Transfer-Encoding" if "transfer-encoding" in framing else "Content-Length"
        raise malformed(state, key, state.get(key), f"bad {name} {framing[name.lower()][:20]!r} ({version})")
    return length


def describe(name: str, pkt: Packet, data: bytes, state: dict[str, Any], out: list[Observation], *,
             ended: bool, key: str = streambuf.S2C) -> None:
    """Read ``data`` of a body that may be a UPnP description, DPWS metadata or IPP (``key``'s direction);
    describe its sender once the document is over (its root element closed or end-of-attributes read, the
    read limit reached, the body ``ended``, or it broke), an Observation of dissector ``name``."""
    reader: DescriptionReader | MetadataReader | IppReader | tsgu.ChannelReader = state[READERS[key]]
    try:
        over = reader.feed(data) or ended
    except ParseError:
        over = True  # malformed or hostile XML (a DTD): what was complete before it is kept
    if not over:
        return
    state[READERS[key]] = None
    fields = reader.result()
    if fields is not None:
        sender = streambuf.oriented(pkt, from_client=key == streambuf.C2S)
        out.append(sender.observation(name, reader.kind, fields))


def cut_document(name: str, state: dict[str, Any], key: str) -> list[Observation]:
    """Drop the reader of ``key``'s body being read, a hole having cut it: what was read of its document before the
    hole is reported (its truncated or complete field says it was cut), as a snap length or an early close cuts it,
    about the body's sender (SENDER)."""
    reader, sender = state.get(READERS[key]), state.pop(SENDER + key, None)
    state[READERS[key]] = None
    if reader is not None and sender is not None and (fields := reader.result()) is not None:
        return [sender.observation(name, reader.kind, fields)]
    return []


def skip_body(name: str, pkt: Packet, buf: bytearray, state: dict[str, Any], out: list[Observation], *,
              key: str) -> str:
    """Consume body bytes at the head of ``buf``, ``key``'s direction: "skipped", "wait" (need more) or "head" (none
    left)."""
    remaining = state.get("body_" + key)
    if remaining:
        n = min(remaining, len(buf))
        if state.get(READERS[key]) is not None:  # the rare body read
            describe(name, pkt, bytes(buf[:n]), state, out, ended=n == remaining, key=key)
        del buf[:n]
        state["body_" + key] = remaining - n
        return "skipped" if n else "wait"
    if state.get("trailer_" + key):  # after the last chunk: trailer fields, then CRLF (RFC 9112 §7.1.2)
        pos = -2 if buf.startswith(b"\r\n") else buf.find(b"\r\n\r\n")
        if pos > MAX_HEAD or (pos == -1 and len(buf) > MAX_HEAD + 3):
            raise malformed(state, key, buf, "trailer section too long")
        if pos == -1:
            return "wait"
        del buf[: pos + 4]
        state["trailer_" + key] = False
        return "skipped"
    chunk = state.get("chunk_" + key)  # None: not chunked; 0: a chunk-size line next; >0: chunk-data; DATA_END
    if chunk is None:
        return "head"
    if chunk > 0:  # inside chunk-data
        n = min(chunk, len(buf))
        if state.get(READERS[key]) is not None:
            describe(name, pkt, bytes(buf[:n]), state, out, ended=False, key=key)
        del buf[:n]
        state["chunk_" + key] = chunk - n or DATA_END
        return "skipped" if n else "wait"
    end = buf.find(b"\r\n")
    if end > MAX_HEAD or (end < 0 and len(buf) > MAX_HEAD + 1):
        raise malformed(state, key, buf, "chunk-size line too long")
    if end < 0:
        return "wait"
    line = bytes(buf[:end])
    del buf[: end + 2]
    if chunk == DATA_END:  # chunk-data ends with CRLF (RFC 9112 §7.1); a reader skipping other bytes there frames
        if line:  # the rest differently
            raise malformed(state, key, buf, f"chunk-data not ended by CRLF: {line[:20]!r}")
        state["chunk_" + key] = 0
        return "skipped"
    m = _CHUNK_SIZE.fullmatch(line)
    if m is None:
        raise malformed(state, key, buf, f"bad chunk-size line {line[:20]!r}")
    size = int(m.group(1), 16)
    if size == 0:  # last-chunk
        state["chunk_" + key] = None
        state["trailer_" + key] = True
        if state.get(READERS[key]) is not None:
            describe(name, pkt, b"", state, out, ended=True, key=key)
    else:
        state["chunk_" + key] = size
    return "skipped"
