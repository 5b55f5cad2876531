"""HTTP/1.x past bytes the capture lost (the engine's ``gap``): what a direction drops and the resync it waits for,
which requests may still pair with their answers (RFC 9112 §9.3.2), and a head whose empty line a hole held alone
(split from dissect/http.py; the rules are in its module doc)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet
from iotwarden.dissect.httpbody import cut_document
from iotwarden.dissect.httphead import RESYNC_LINE_STARTS, unended_head
from iotwarden.engine.reassembly import seq_delta
from iotwarden.errors import ParseError
from iotwarden.model import Observation

RESYNC_STATE_KEY = streambuf.RESYNC_STATE_KEY  # + direction: looking for the next message head after a gap
UNPAIRED = "methods_unpaired"  # state key: requests queued past MAX_PENDING_METHODS, their methods not remembered
# state key: a gap left answers of an unknown number of requests to come (those before it, the ones a client's hole
# held), before the answers of the requests read after it (RFC 9112 §9.3.2: in order): those are counted
# (UNPAIRED) till one is shown to have been sent after such an answer (after_gap)
UNSURE = "methods_unsure"
# state key: a final response that took no remembered method was read since the last request: the server's sequence
# number after the segment that carried its head (None: not known)
SPARE = "answered_unknown"
# state key: a request was read while another awaited its answer (a client that pipelines, RFC 9112 §9.3.2): past a
# gap, one answer after it says nothing of how many more of the requests before it are still to be answered, so its
# requests are never paired anew (after_gap's rule is a client that waits for each answer)
PIPELINED = "pipelined"
END = "end_"  # + direction key: the sequence number after the direction's last delivery (None: not known)
# + direction key: (head, the sequence number after it) of a head a gap left without its empty line (ended_in_holes)
UNENDED = "unended_"

# reads one message head of a direction into the Observations, returning the ParseError of a malformed one
# (HttpDissector._read_head): (packet, head, direction key, state, out)
ReadHead = Callable[[Packet, bytes, str, dict[str, Any], list[Observation]], ParseError | None]


def at_head(state: dict[str, Any], key: str) -> bool:
    """Whether ``key``'s direction, open and in sync, awaits a message head (no body, chunk or trailer)."""
    return not (state.get("closed_" + key) or state.get(RESYNC_STATE_KEY + key) or state.get("body_" + key)
                or state.get("chunk_" + key) is not None or state.get("trailer_" + key))


def gap(name: str, state: dict[str, Any], to_server: bool) -> list[Observation]:
    """Bytes of a direction were lost: drop what it held and look for its next message head (dissect/http.py module
    doc). A document being read ends at the hole: what was read of it before is reported, cut (its truncated or
    complete field says so), as a snap length or an early close cuts it; nothing after the hole is read into it."""
    key = streambuf.direction_key(to_server)
    made = cut_document(name, state, key)
    # which request an answer belongs to is no longer known, nor which answers come before those of the
    # requests read next: a client's hole may have held requests, a server's answers of those waiting (none
    # waiting, it held the rest of the answer being read: the next answer is the next request's)
    if to_server or state.get("methods") or state.get(UNPAIRED):
        state[UNSURE] = True
    state.pop("methods", None)
    state.pop(UNPAIRED, None)
    if state.get("closed_" + key):  # a body until close, a broken framing, MAX_MESSAGES: nothing more
        if state.get("closed_" + streambuf.C2S) and state.get("closed_" + streambuf.S2C):
            state["done"] = True
        return made
    buf, end = state.get(key), state.get(END + key)
    head = unended_head(buf, to_server) if buf and end is not None and at_head(state, key) else None
    if head is not None:  # the hole may have held its empty line alone (ended_in_holes)
        state[UNENDED + key] = (head, end)
    state.pop(key, None)
    for part in ("body_", "chunk_", "trailer_"):
        state.pop(part + key, None)
    state[RESYNC_STATE_KEY + key] = True
    return made


def after_gap(pkt: Packet, spare: int | bool | None) -> bool:
    """Whether a request read in ``pkt`` after a gap was sent once the answers before its own had come, so that
    the next answer not yet read is its own: a final response that took no remembered method (``spare``, the
    server's sequence number after it, False: none) was read since the request before it, and the request's
    Acknowledgment Number covers it (where the capture has one): a client that waits for each answer before its
    next request (no pipelining, RFC 9112 §9.3.2) had the answers of the requests the gap hid or cut off. One
    sent before such an answer, as a pipelining client sends, is not: which answers come first is unknown."""
    if spare is False:
        return False
    if pkt.tcp_ack is None or spare is None:
        return True
    return seq_delta(pkt.tcp_ack, spare) >= 0


def ended_in_holes(pkt: Packet, data: bytes, state: dict[str, Any], out: list[Observation],
                   read_head: ReadHead) -> ParseError | None:
    """Read into ``out`` (by ``read_head``) a head the capture lost the empty line of (httphead.unended_head: a
    sender that writes that CRLF on its own) once ``pkt`` shows the lost bytes were that CRLF alone: the next bytes
    of its direction, past a gap, begin a message exactly two bytes after it, or the peer's Acknowledgment Number
    covers exactly two bytes past it (RFC 9293 §3.4: the receiver had them; the segment was the last of its
    direction, so no gap is told, or is told later). Each direction's end is kept for this (``END``). The
    ParseError of a malformed head."""
    key = streambuf.direction_key(pkt.to_server)
    error = None
    held = state.pop(UNENDED + key, None)
    if (held is not None and pkt.tcp_seq is not None and seq_delta(pkt.tcp_seq, held[1]) == 2
            and RESYNC_LINE_STARTS[pkt.to_server].match(data) is not None):  # after the lost CRLF
        error = read_head(pkt, held[0], key, state, out)
    state[END + key] = streambuf.seq_end(pkt)
    other = streambuf.direction_key(not pkt.to_server)
    end = state.get(END + other)
    if pkt.tcp_ack is None or end is None or seq_delta(pkt.tcp_ack, end) != 2:
        return error
    held = state.pop(UNENDED + other, None)
    buf = state.get(other)
    if held is None and buf and at_head(state, other):  # in sync, no gap told yet
        head = unended_head(buf, not pkt.to_server)
        if head is not None:
            held = (head, end)
            buf.clear()  # read now; the CRLF, should a late segment bring it, is an empty line before a message
    if held is not None:
        sender = streambuf.oriented(pkt, from_client=other == streambuf.C2S)
        error = read_head(sender, held[0], other, state, out) or error
    return error
