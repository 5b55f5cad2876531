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
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.engine.reassembly import SEQ_MOD, seq_delta
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


def seq_end(pkt: Packet) -> int | None:
    """The sequence number after ``pkt``'s payload, where a delivery of its bytes ends (dissect/base.py Packet),
    None without one (a dissector fed directly)."""
    return None if pkt.tcp_seq is None else (pkt.tcp_seq + len(pkt.payload)) % SEQ_MOD


def acked_past(ack: int | None, position: int | None) -> bool:
    """True when ``ack``, a segment's Acknowledgment Number, acknowledges bytes of the other direction past
    ``position`` (a sequence number of it): its sender had them, the capture has not shown them yet."""
    return ack is not None and position is not None and seq_delta(ack, position) > 0


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


def take_record(buf: bytearray, end_mark: bytes, limit: int, what: str) -> bytes | None:
    """The next record of ``buf`` ended by ``end_mark`` (without it), taken out of ``buf``; None while it is not
    whole yet. A record, or a leftover still waiting for its end, over ``limit`` bytes is a ParseError naming
    ``what``: the size of one record, whatever the segmentation (the module's doc)."""
    end = buf.find(end_mark)
    if end < 0:
        if len(buf) > limit:
            raise ParseError(f"{what} over {limit} bytes")
        return None
    if end > limit:
        raise ParseError(f"{what} over {limit} bytes")
    record = bytes(buf[:end])
    del buf[: end + len(end_mark)]
    return record


RESYNC_STATE_KEY = "resync_"  # + direction key: past a gap, looking for the next message head
# a field line (RFC 9112 §5.1, RFC 2326 §4.2, RFC 3261 §7.3: a token, a colon and a value), as a text protocol's
# head found past a gap must carry them
FIELD_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}:[\t\x20-\x7e\x80-\xff]*")
HEAD_END = re.compile(rb"\r\n\r\n")  # the empty line after a text protocol's head, where each line ends with CRLF


def resync(buf: bytearray, starts: Iterable[int], judge: Callable[[int], bool | None], keep: int = 0) -> bool:
    """Past a gap, drop from ``buf`` (one direction's buffer) the bytes before the first of ``starts`` (offsets
    where a message may begin, e.g. 0 and where the last delivery begins: a segment start) that ``judge`` takes
    for a message: True, the message is whole and plausible; None, it may be one but is not whole yet; False, it
    is none. True when ``buf`` now starts with one; False when more bytes are needed: ``buf`` then starts with
    the candidate not whole yet or, when no offset is one, holds only its last ``keep`` bytes (what may still
    begin one), each with the line end before it, if any (a judge may tell a line start from bytes after a loss).
    The caller bounds what it keeps (a candidate's judge answers None only within its limit)."""
    for at in sorted(set(starts)):
        if at >= len(buf):
            continue
        verdict = judge(at)
        if verdict is None:  # a candidate not whole yet, kept with the line end before it: it is still a line start
            del buf[:at - 1 if at and buf[at - 1] == 0x0A else at]
            return False
        if verdict:
            del buf[:at]
            return True
    cut = len(buf) - keep
    del buf[: cut - 1 if keep and cut and buf[cut - 1] == 0x0A else cut]  # a line end before them, too
    return False


def resync_head(buf: bytearray, fresh: int, start: re.Pattern[bytes], valid: Callable[[bytes], bool],
                limit: int, *, framed: Callable[[bytes, bytearray, int], int | None] | None = None,
                ends: re.Pattern[bytes] = HEAD_END, after_line: re.Pattern[bytes] | None = None) -> bool:
    """Past a gap in a text protocol, drop from ``buf`` (one direction's buffer, whose last delivery begins at
    ``fresh``) the bytes before the next message head (:func:`resync`): where a message may begin (a line
    start, or a segment start: a body ends without a line break), a start line ``start`` matches, and ``valid``
    accepts the head (start line and field lines, without the empty line and the line end before it, which ``ends``
    finds: CRLF CRLF unless the protocol takes a bare LF for a line end, HTTP's RFC 9112 §2.2) within ``limit``
    bytes. True when
    ``buf`` now starts with one; False when more bytes are needed (``buf`` then holds at most ``limit`` + 3
    bytes: a candidate not whole yet, or the unfinished last line, which may begin one).

    With ``framed`` (how many of the bytes after a head, in ``buf`` from an offset, its body takes; None when not
    told) a body's text that
    holds a whole message at a line start (a log, a message/http document) is not read as one: a head is taken at a
    segment start, past any empty lines (RFC 9112 §2.2), or at a line start only where the message it frames ends,
    within ``buf``, right where another start line begins (messages sent together in one segment); ``buf`` then
    starts at a segment start whenever it is kept (a candidate, or the last delivery when within ``limit``, read
    again with the next).

    With ``after_line``, a start line looser than ``start`` is taken where the byte before it is known to end a line
    (a line start, or a segment start after a delivery that ended one): where that byte was lost, a start line's
    first bytes may be the tail of a longer token the hole cut (an HTTP method of any name: PROPFIND's 'PFIND'), so
    only ``start``'s are taken there."""
    strict = _head_judge(buf, start, valid, limit, ends)
    loose = strict if after_line is None else _head_judge(buf, after_line, valid, limit, ends)
    begins = start if after_line is None else after_line

    def judge(at: int) -> bool | None:
        return (loose if at and buf[at - 1] == 0x0A else strict)(at)

    if framed is not None:
        segments = {_past_empty_lines(buf, 0), _past_empty_lines(buf, fresh)}

        def confirmed(at: int) -> bool | None:
            if at in segments:
                return judge(at)
            if judge(at) is not True:
                return False
            head, body = _head_at(buf, at, ends)
            length = framed(head, buf, body)  # the buffer not copied: a candidate that fails costs no copy
            return length is not None and begins.match(buf, _past_empty_lines(buf, body + length)) is not None

        tail = len(buf) - fresh  # the last delivery, whose heads the next bytes may make whole or confirm
        return resync(buf, segments | _line_starts(buf), confirmed, tail if tail <= limit else 0)
    tail = len(buf) - (buf.rfind(b"\n") + 1)  # the unfinished last line
    return resync(buf, {0, fresh} | _line_starts(buf), judge, tail if tail <= limit else 0)


def _line_starts(buf: bytearray) -> set[int]:
    starts = set()
    pos = buf.find(b"\n")
    while pos >= 0:
        starts.add(pos + 1)
        pos = buf.find(b"\n", pos + 1)
    return starts


def _past_empty_lines(buf: bytearray, at: int) -> int:
    """The offset of the first byte at or after ``at`` that begins no empty line (CRLF or a bare LF)."""
    while True:
        if buf.startswith(b"\r\n", at):
            at += 2
        elif buf.startswith(b"\n", at):
            at += 1
        else:
            return at


def _head_at(buf: bytearray, at: int, ends: re.Pattern[bytes]) -> tuple[bytes, int]:
    """The head at ``at`` of ``buf`` (up to the line end before its empty line, which ``ends`` finds) and where what
    follows the empty line begins; (b"", -1) while no empty line has come."""
    m = ends.search(buf, at)
    if m is None:
        return b"", -1
    head = bytes(buf[at:m.start()])
    return head.removesuffix(b"\r") if m.group().startswith(b"\n") else head, m.end()


def _head_judge(buf: bytearray, start: re.Pattern[bytes], valid: Callable[[bytes], bool],
                limit: int, ends: re.Pattern[bytes]) -> Callable[[int], bool | None]:
    """:func:`resync`'s judge of a head at an offset of ``buf`` (:func:`resync_head`)."""

    def judge(at: int) -> bool | None:
        if start.match(buf, at) is None:
            return False
        head, body = _head_at(buf, at, ends)
        if body < 0:
            # a head not whole yet (kept with the line end before it: within limit + 3 bytes), or one over the limit
            return None if len(buf) - at <= limit + 2 else False
        return len(head) <= limit and valid(head)

    return judge


class MessageStream(StreamDissector):
    """A text protocol read message by message from each direction's buffer (RTSP, SIP over TCP).

    :meth:`step` consumes one thing at the head of a direction's buffer (a message, a body, bytes to skip)
    and says False when it needs more bytes. A ParseError closes that direction; when nothing of the flow
    was this protocol yet (:meth:`spoke`) the flow is done, so the engine hands its bytes to another
    dissector; the messages the feed made before the error are kept (:class:`PartialParse`). A lost
    segment closes only its direction: a message boundary may have been in it; a protocol that declares
    :attr:`resync_start` and :meth:`resync_valid` instead drops what the direction held and reads on from the
    next head :func:`resync_head` finds.
    """

    # past a gap: where a message head may begin, and how long a head may be (None: the direction closes)
    resync_start: ClassVar[re.Pattern[bytes] | None] = None
    resync_limit: ClassVar[int] = 0

    def resync_valid(self, head: bytes, to_server: bool) -> bool:
        """Whether ``head``, found past a gap in the ``to_server`` direction, is taken for a message."""
        return False

    def step(self, pkt: Packet, buf: bytearray, key: str, state: dict[str, Any], out: list[Observation]) -> bool:
        raise NotImplementedError

    def spoke(self, state: dict[str, Any]) -> bool:
        """Whether any message of the flow was this protocol's."""
        raise NotImplementedError

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        key = direction_key(to_server)
        if self.resync_start is None or state.get("closed_" + key):
            self.close(state, key)
            return
        for part in ("", "skip_", "held_"):
            state.pop(part + key, None)
        state[RESYNC_STATE_KEY + key] = True

    def stream(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        """Feed ``data`` to its direction's buffer and consume what is complete."""
        key = direction_key(pkt.to_server)
        if state.get("closed_" + key):
            return []
        buf: bytearray = state.setdefault(key, bytearray())
        buf += data
        out: list[Observation] = []
        if state.get(RESYNC_STATE_KEY + key) and self.resync_start is not None:
            if not resync_head(buf, len(buf) - len(data), self.resync_start,
                               lambda head: self.resync_valid(head, pkt.to_server), self.resync_limit):
                return out
            state[RESYNC_STATE_KEY + key] = False
        try:
            while buf and not state.get("closed_" + key):
                if not self.step(pkt, buf, key, state, out):
                    break
        except ParseError as exc:
            self.close(state, key)
            if not self.spoke(state):
                state["done"] = True  # nothing of the flow was this protocol: its bytes are another's
            raise failed(exc, out) from None
        return out

    @staticmethod
    def skipped(buf: bytearray, key: str, state: dict[str, Any]) -> bool:
        """Drop what is left to skip of ``key``'s direction (a body not described, an interleaved frame) from
        the head of ``buf``; True when anything was owed (the step consumed it)."""
        skip: int = state.get("skip_" + key, 0)
        if not skip:
            return False
        n = min(skip, len(buf))
        del buf[:n]
        state["skip_" + key] = skip - n
        return True

    @staticmethod
    def close(state: dict[str, Any], key: str) -> None:
        """Read no more of ``key``'s direction (its buffer and a held message dropped); both closed: done."""
        state["closed_" + key] = True
        state.pop(key, None)
        state.pop("held_" + key, None)
        if state.get("closed_" + C2S) and state.get("closed_" + S2C):
            state["done"] = True
