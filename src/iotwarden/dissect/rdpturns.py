"""CredSSP's turns inside an RDP connection's TLS ([MS-CSSP] §3.1.5), counted from TLS record headers alone, also
past lost segments and segments a capture recorded out of order (issues #3/#4); dissect/rdp.py's ``encrypted_turns``.

A turn is a change of direction between application-data records (RFC 8446 §5.1 / RFC 5246 §6.2.1 content type 23)
since the client's first one, counting that one: 2 when the server answered the client's NEGOTIATE with the
CHALLENGE, 3 when the client then sent the AUTHENTICATE (the password's response). Only headers are read, bodies
skipped; the server's encrypted TLS 1.3 handshake records come before the client's first one and are not counted.

CredSSP speaks in turns, each side answering the other's whole message, so a segment's Acknowledgment Number
(dissect/base.py Packet ``tcp_ack``) tells of a turn the capture did not show: when a side that spoke last sends a
record acknowledging more of the other's bytes than its previous one did (or the server, before any turn, client
bytes past the client's last handshake record), the other side took a turn in between (lost, or recorded later),
counted first and stamped as sent by that side; the other side's records before that acknowledgment then make no
turn of their own. Past a hole (:func:`hole`) the walk goes on in place when the sequence numbers put the hole
inside one record's body, else from the next segment that begins with a record header (:func:`record_at`), an
encrypted direction's bytes before it taken for application data (a record whose header the hole held). Without
sequence numbers or acknowledgments that say anything (a dissector fed directly, a capture whose ACKs are 0) the
turns are counted no more past a hole (``turns_lost``).

A last turn lost whole with no record after it is told by how the connection ends (:func:`closed`, a FIN or RST
without payload): the client's segment's Sequence Number, or the server's Acknowledgment Number, past the client
bytes read after the CHALLENGE by more than one alert record (:data:`MAX_ALERT_RECORD`, all else a client may send
then) counts the AUTHENTICATE's turn; a client that read the CHALLENGE and closed (a probe of the server's names)
sends an alert at most, and a FIN's own sequence number is not a byte: the server's ACK is taken less one only when it
acknowledges past a client FIN the capture showed (``fin_c``), never when the server closed first (its FIN, or RST,
acknowledges client bytes alone). A client FIN the capture lost and the server acknowledged is read as a byte, which
matters only to an alert of MAX_ALERT_RECORD bytes lost with it (no AUTHENTICATE is within a byte of an alert). Lost
whole with a client record read after it (its alert as it leaves), the AUTHENTICATE's turn is counted by the same
measure when that record's header is read (:func:`_unseen`), whether or not a FIN came first. Both measure from the
client bytes known (:func:`_held`): its last record read, one whose header a hole held read as application data
included, or a NEGOTIATE lost whole whose turn the server's ACK counted.

State (the RDP dissector's flow state, a few integers per side): ``base_``/``end_`` where a side's bytes begin and
where those read end, ``skip_``/``head_`` the walk, ``hole_``/``scan_`` past a hole, ``ack_`` the acknowledgment of
a side's last record, ``upto_`` its bytes a turn was counted from, ``plain_c`` the end of the client's last
handshake record, ``rec_c`` of its last record, ``fin_c`` the number of the client's first FIN, ``last_app`` and
``turns``.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet
from iotwarden.dissect.tls import MAX_RECORD
from iotwarden.engine.reassembly import SEQ_MOD, seq_delta
from iotwarden.engine.segments import TCP_FIN
from iotwarden.model import Observation

NAME = "rdp"  # the Observations' protocol (dissect/rdp.py)
TLS_APPLICATION_DATA = 23  # RFC 8446 §5.1, RFC 5246 §6.2.1 ContentType application_data
TLS_RECORD_HEADER = 5  # type, legacy version, length
RECORD_TYPES = frozenset({20, 21, 22, 23})  # RFC 8446 §5.1 change_cipher_spec, alert, handshake, application_data
AUTHENTICATE_TURN = 3  # NEGOTIATE (client), CHALLENGE (server), AUTHENTICATE (client): [MS-CSSP] §3.1.5
# The largest TLS alert record a client sends before closing (RFC 8446 §6.1, RFC 5246 §7.2.1: one close_notify or
# fatal alert, then nothing): TLS 1.2 CBC with a SHA-384 MAC, its explicit IV (16) and the alert's 2 bytes and MAC
# padded to the 16-byte block with the least padding (RFC 5246 §6.2.3.2; 64), after the header (5). AEAD suites
# take 31 (RFC 5246 §6.2.3.3 explicit nonce 8, tag 16), TLS 1.3 24 (RFC 8446 §5.2). An AUTHENTICATE record is larger:
# it carries the NTLM AUTHENTICATE message ([MS-NLMP] §2.2.1.3, 64 bytes of header before its responses) in a
# TSRequest with the pubKeyAuth ([MS-CSSP] §2.2.1)
MAX_ALERT_RECORD = 85
# client bytes never read that a closing segment may tell of at most: the AUTHENTICATE's record and an alert after it
MAX_UNSEEN = 2 * (TLS_RECORD_HEADER + MAX_RECORD)


def begin(pkt: Packet, data: bytes, state: dict[str, Any]) -> None:
    """Note where ``pkt``'s side's bytes begin (its first delivery, any phase): what the other side's
    acknowledgments count from."""
    end = streambuf.seq_end(pkt)
    if end is not None:
        state.setdefault("base_" + ("c" if pkt.to_server else "s"), (end - len(data)) % SEQ_MOD)


def hole(state: dict[str, Any], to_server: bool) -> None:
    """Bytes of ``to_server``'s direction were lost: the walk goes on past them at its next delivery (:func:`walk`)."""
    side = "c" if to_server else "s"
    state["hole_" + side] = state.get("end_" + side)  # where the direction's bytes read end


def walk(pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
    """Walk ``data``'s TLS record headers (bodies skipped) and count the turns of application data (module
    docstring): an ``encrypted_turns`` Observation at the 2nd and 3rd; done after the 3rd. Past a hole the walk
    goes on where the next header is: in place when the hole lay inside a record's body (the sequence numbers
    say how much of it was lost), else at the next delivery that begins with one (:func:`record_at`); the
    bytes of an encrypted direction read before it are a record's too (:func:`_turn`)."""
    side = "c" if pkt.to_server else "s"
    end = streambuf.seq_end(pkt)
    start = None if end is None else (end - len(data)) % SEQ_MOD
    state["end_" + side] = end
    ack = _ack(pkt, state)
    skip, head = state.get("skip_" + side, 0), state.get("head_" + side, b"")
    if "hole_" + side in state:
        was = state.pop("hole_" + side)
        if start is None or was is None or not state.get("acks"):
            state["turns_lost"] = True  # where the hole lies, or what the other side had, is not known
            return []
        lost = seq_delta(start, was)
        if not head and 0 <= lost <= skip:
            skip -= lost
        else:
            state["scan_" + side] = True
    if state.get("scan_" + side):
        if not record_at(data):
            encrypted = state["tls"].get("enc_" + streambuf.direction_key(pkt.to_server))
            if not encrypted:
                return []
            if side == "c" and end is not None:  # a record's, its header the hole's: held, no AUTHENTICATE unseen
                state["rec_c"] = end
            return _turn(pkt, side, start, ack, state)
        state.pop("scan_" + side)
        skip, head = 0, b""
    out: list[Observation] = []
    pos = 0
    while pos < len(data):
        if skip:
            step = min(skip, len(data) - pos)
            skip -= step
            pos += step
            continue
        take = data[pos : pos + TLS_RECORD_HEADER - len(head)]
        head += take
        pos += len(take)
        if len(head) < TLS_RECORD_HEADER:
            break
        skip = int.from_bytes(head[3:5], "big")
        at = None if start is None else (start + pos - TLS_RECORD_HEADER) % SEQ_MOD
        if at is not None and side == "c":
            out += _unseen(pkt, at, state)
            state["rec_c"] = (at + TLS_RECORD_HEADER + skip) % SEQ_MOD
        if head[0] == TLS_APPLICATION_DATA:
            out += _turn(pkt, side, at, ack, state)
        elif at is not None and side == "c":
            state["plain_c"] = state["rec_c"]
        head = b""
    state["skip_" + side], state["head_" + side] = skip, head
    return out


def closed(pkt: Packet, state: dict[str, Any]) -> list[Observation]:
    """A FIN or RST without payload (dissect/base.py ``StreamDissector.closing``) after the server's CHALLENGE was
    the last turn read: the client took the AUTHENTICATE's turn (lost whole, or its header lost, no record after it)
    when the client bytes this segment tells of (the client's own Sequence Number, or the Acknowledgment Number of
    the server's, less the client FIN's own number where it acknowledges one read before, ``fin_c``) pass the client
    bytes known (:func:`_held`: the end of its last record read, ``rec_c``, the NEGOTIATE's, or of those whose turn
    was counted from the server's ACK, a NEGOTIATE lost whole) by more than :data:`MAX_ALERT_RECORD` and at most
    :data:`MAX_UNSEEN` (module docstring); counted, stamped as the client's, and
    a client record before that point recorded later makes no turn of its own. Nothing where the segment's numbers
    say nothing."""
    if pkt.to_server and (pkt.tcp_flags is None or pkt.tcp_flags & TCP_FIN):
        state.setdefault("fin_c", streambuf.seq_end(pkt))  # the client's FIN takes this number (RFC 9293 §3.4)
    last = _held(state)
    if state.get("done") or state.get("turns") != 2 or state.get("last_app") != "s" or last is None:
        return []
    if pkt.to_server:
        told = streambuf.seq_end(pkt)
    else:
        told = _ack(pkt, state)
        if streambuf.acked_past(told, state.get("fin_c")):
            told = state["fin_c"]  # it acknowledges the client's FIN too, whose number is no byte
    if told is None or not MAX_ALERT_RECORD < seq_delta(told, last) <= MAX_UNSEEN:
        return []
    state["upto_c"] = told
    return _count(pkt, "c", state)


def _unseen(pkt: Packet, at: int, state: dict[str, Any]) -> list[Observation]:
    """A client record's header read at ``at`` after the server's CHALLENGE was the last turn: the client bytes the
    capture never held before it (past :func:`_held`), more than :data:`MAX_ALERT_RECORD` and at most
    :data:`MAX_UNSEEN`, held the AUTHENTICATE's turn (lost whole, a record read after it: the client's alert as it
    leaves), counted as :func:`closed` counts it from a FIN with no record after it, stamped as the client's;
    contiguous records leave no such bytes."""
    last = _held(state)
    if state.get("done") or state.get("turns") != 2 or state.get("last_app") != "s" or last is None:
        return []
    if not MAX_ALERT_RECORD < seq_delta(at, last) <= MAX_UNSEEN:
        return []
    state["upto_c"] = at
    return _count(pkt, "c", state)


def _held(state: dict[str, Any]) -> int | None:
    """The end of the client bytes known for what they were: of its last record read (``rec_c``; a record whose
    header a hole held, read as application data, included) or of those whose turn was counted from the server's
    ACK (``upto_c``: a NEGOTIATE lost whole); None before any client record was read."""
    last: int | None = state.get("rec_c")
    counted: int | None = state.get("upto_c")
    if last is not None and counted is not None and seq_delta(counted, last) > 0:
        return counted
    return last


def _ack(pkt: Packet, state: dict[str, Any]) -> int | None:
    """``pkt``'s Acknowledgment Number where it acknowledges the other side's bytes from their first on (else
    None: a capture whose ACKs say nothing); ``acks`` in ``state`` once one did."""
    base = state.get("base_" + ("s" if pkt.to_server else "c"))
    ack = pkt.tcp_ack
    if ack is None or base is None or seq_delta(ack, base) < 0:
        return None
    state["acks"] = True
    return ack


def _turn(pkt: Packet, side: str, at: int | None, ack: int | None, state: dict[str, Any]) -> list[Observation]:
    """An application-data record of ``side`` at sequence number ``at``, in a segment acknowledging ``ack`` of the
    other side's bytes. CredSSP speaks in turns ([MS-CSSP] §3.1.5), each side answering the other's whole
    message: the other side took a turn the capture did not show (lost, or recorded later) when ``side`` spoke
    last and now acknowledges more of the other's bytes than with its previous record, or, before any turn,
    when the server acknowledges client bytes past the client's last handshake record. That turn is counted
    first, and the other side's records before that acknowledgment make none of their own when read."""
    if at is not None and "upto_" + side in state and seq_delta(state["upto_" + side], at) > 0:
        return []  # this record's turn was counted from the other side's acknowledgment
    before = state.get("ack_" + side)
    if ack is not None:
        state["ack_" + side] = ack
    last = state.get("last_app")
    other = "s" if side == "c" else "c"
    hidden = ((last == side and streambuf.acked_past(ack, before))
              or (last is None and side == "s" and streambuf.acked_past(ack, state.get("plain_c"))))
    if last == side and not hidden:
        return []
    if last is None and side == "s" and not hidden:
        return []  # the server's encrypted TLS 1.3 handshake, before the client said anything
    out: list[Observation] = []
    if hidden:
        state["upto_" + other] = ack
        out += _count(pkt, other, state)
        if state.get("done"):
            return out
    return out + _count(pkt, side, state)


def _count(pkt: Packet, side: str, state: dict[str, Any]) -> list[Observation]:
    """``side`` took the next turn; stamped as sent by it whichever packet showed it."""
    state["last_app"] = side
    state["turns"] = turns = state.get("turns", 0) + 1
    if turns >= AUTHENTICATE_TURN:
        state["done"] = True
    if turns in (2, AUTHENTICATE_TURN):
        sender = streambuf.oriented(pkt, from_client=side == "c")
        return [sender.observation(NAME, "encrypted_turns", {"turns": turns})]
    return []


def record_at(data: bytes) -> bool:
    """Whether a delivery past a hole (a segment's bytes) begins with a TLS record header, where the turns read on
    (:func:`walk`): a ContentType of RFC 8446 §5.1 (ChangeCipherSpec to application data), legacy
    version 0x0301-0x0304 and a length within MAX_RECORD (RFC 5246 §6.2.3), and where the delivery holds the next
    header's first three bytes, those too."""
    def header(at: int) -> bool:
        return data[at] in RECORD_TYPES and data[at + 1] == 3 and 1 <= data[at + 2] <= 4
    if len(data) < TLS_RECORD_HEADER or not header(0):
        return False
    length = int.from_bytes(data[3:5], "big")
    if not 0 < length <= MAX_RECORD:
        return False
    nxt = TLS_RECORD_HEADER + length
    return len(data) < nxt + 3 or header(nxt)
