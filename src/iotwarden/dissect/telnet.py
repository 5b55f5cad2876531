"""Telnet dissector: the server's banner and the login dialogue (RFC 854 NVT, RFC 855 options).

Kinds (option negotiation ``IAC ...`` is stripped, RFC 854 "TELNET COMMAND STRUCTURE"):

* ``banner``: ``banner`` (the server's text before the client first types, bounded); subject ``src``
  is the server.
* ``login_attempt``: ``username``, ``password`` (the cleartext the client typed: a fact the wire
  carries, matched by risk checks against default-credential lists), ``result`` ("success",
  "failure", or "unknown" when the client typed on before the server said anything recognisable, or the verdict is
  never read: a hole, the flow's end, stamped at the password's line);
  src is the client, subject ``dst``: the fact is about the server logged into.

The client's typed lines are rebuilt from character-at-a-time or line-at-a-time input (CR LF,
CR NUL, backspace/DEL); a line answers the prompt the server showed when the line was begun.

A capture may record the two directions out of order (a SPAN port merging two uplinks, issue #4): each
segment's Acknowledgment Number (dissect/base.py Packet ``tcp_ack``) says what its sender had of the other
direction. A line answers the server's text the client had acknowledged when it began the line; a line begun
acknowledging server text not read yet (a prompt the capture recorded after its answer) waits (``held``, at most
:data:`MAX_HELD` lines, those after it waiting too) until the server's text up to that acknowledgment is read, and
answers its prompt then; never read (lost), it is no user name or password. A verdict is the server's text sent after
it had the password's line end, read before it or after. A client typing on while its attempt awaits a verdict had
the server's text up to its line's acknowledgment (``verdict_by``): the verdict is in that text, read before or after,
else 'unknown'; a delivery ending past it is not read for one (what of it the client had is not known), and a hole
before it is read makes it 'unknown' then, as does the flow's end (idle, evicted, the capture's end, after its FIN or
RST: ``ending``; a FIN may be captured before the verdict its sender had, so it says nothing itself). Where the
ACKs say nothing (0, or a dissector fed directly), the order of delivery decides, as before.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import CONFIRMED_STATE_KEY, Packet, StreamDissector, confirm, safety_net
from iotwarden.engine.reassembly import SEQ_MOD, seq_delta
from iotwarden.model import Observation

MAX_BANNER = 512  # characters of server text kept as the banner
MAX_TAIL = 256  # characters of recent server text searched for prompts and verdicts
MAX_LINE = 128  # characters of one typed line (user names and passwords are shorter)
MAX_SUBNEGOTIATION = 512  # bytes of an IAC SB ... IAC SE block held while incomplete
MAX_ATTEMPTS = 10  # login attempts reported per flow
MAX_SAID = 64  # the server's latest deliveries kept with their sequence and acknowledgment numbers (``said``)
# typed lines waiting for the server text they acknowledged (``held``), each with its two packets and text; the
# oldest is let go (no user name or password) when another would pass this
MAX_HELD = 8
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): the option negotiation, the
# banner and prompts and MAX_ATTEMPTS logins typed a character a packet (a byte each way per key, echoed); a
# device's banner and menus may be long (a shared capture's login sends 64 KB before its prompt). The 400-packet
# cap it replaces was ~100 typed keys
MAX_STREAM_BYTES = 128 * 1024

# RFC 854 command codes
IAC, SB, SE = 255, 250, 240
WILL, WONT, DO, DONT = 251, 252, 253, 254

_PASSWORD_PROMPT = re.compile(r"pass(?:word|code|phrase)?\s*:\s*$", re.IGNORECASE)
_LOGIN_PROMPT = re.compile(r"(?:login|user(?:name| name| id)?|account)\s*:\s*$", re.IGNORECASE)
_FAILURE = re.compile(r"incorrect|invalid|fail|denied|bad password|wrong|error", re.IGNORECASE)
_SUCCESS = re.compile(r"last login|welcome|logged in", re.IGNORECASE)
_SHELL_PROMPT = re.compile(r"[$#>%]\s*$")
# IAC WILL/WONT/DO/DONT <option> (RFC 854 "TELNET COMMAND STRUCTURE"), how every option negotiation opens
_NEGOTIATION = re.compile(rb"\xff[\xfb-\xfe].", re.DOTALL)


def strip_iac(pending: bytearray, data: bytes) -> bytes:
    """NVT data of ``pending + data`` with option negotiation removed (RFC 854, RFC 855).

    An incomplete command at the end stays in ``pending`` for the next segment.
    """
    buf = bytes(pending) + data
    pending.clear()
    out = bytearray()
    i, n = 0, len(buf)
    while i < n:
        b = buf[i]
        if b != IAC:
            out.append(b)
            i += 1
            continue
        if i + 1 >= n:
            break
        cmd = buf[i + 1]
        if cmd == IAC:  # escaped data byte 255
            out.append(IAC)
            i += 2
        elif cmd in (WILL, WONT, DO, DONT):
            if i + 2 >= n:
                break
            i += 3
        elif cmd == SB:  # RFC 855: IAC SB option ... IAC SE
            end = buf.find(bytes([IAC, SE]), i + 2)
            if end < 0:
                if n - i > MAX_SUBNEGOTIATION:
                    i = n  # a runaway subnegotiation is dropped, not buffered
                break
            i = end + 2
        else:  # NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, SE
            i += 2
    pending += buf[i:]
    return bytes(out)


def _kept(pkt: Packet) -> Packet:
    """``pkt`` as a waiting line keeps it (``held``): its numbers and addresses, not its bytes (a delivery may be a
    64 KiB super-packet); the same sequence number after its payload (``streambuf.seq_end``)."""
    return dataclasses.replace(pkt, payload=b"", tcp_seq=streambuf.seq_end(pkt))


class TelnetDissector(StreamDissector):
    name: ClassVar[str] = "telnet"
    tcp_ports: ClassVar[tuple[int, ...]] = (23, 2323)
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    max_buffer: ClassVar[int] = MAX_SUBNEGOTIATION + 3
    gap_ends_flow: ClassVar[bool] = True

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        pending: bytearray = state.setdefault("iac_" + key, bytearray())
        if not state.get(CONFIRMED_STATE_KEY) and _NEGOTIATION.search(bytes(pending) + data):
            confirm(state)  # option negotiation (RFC 854, 855): Telnet, whether or not a login follows
        nvt = strip_iac(pending, data)
        end = streambuf.seq_end(pkt)
        if end is not None:  # where each side's bytes begin: what the other's acknowledgments count from
            state.setdefault("base_" + key, (end - len(data)) % SEQ_MOD)
        if not nvt:
            return []
        if pkt.to_server:
            return self._client(pkt, nvt, state)
        return self._server(pkt, nvt.decode("utf-8", "replace"), state)

    def _server(self, pkt: Packet, text: str, state: dict[str, Any]) -> list[Observation]:
        text = text.replace("\x00", "")
        end = streambuf.seq_end(pkt)
        if end is not None:
            said: list[tuple[int, int | None, str]] = state.setdefault("said", [])
            said.append((end, self._ack(pkt, state), text[-MAX_TAIL:]))
            del said[:-MAX_SAID]
        if not state.get("banner_done"):
            state["banner"] = (state.get("banner", "") + text)[:MAX_BANNER]
        state["tail"] = (state.get("tail", "") + text)[-MAX_TAIL:]
        out: list[Observation] = []
        if state.get("awaiting"):
            by, typed_on = state.get("verdict_by") or (None, pkt)
            result = None
            if by is None or (end is not None and seq_delta(by, end) >= 0):  # text the client had before typing on
                verdict = state["verdict_text"] = (state.get("verdict_text", "") + text)[-MAX_TAIL:]
                result = self._verdict(verdict)
            if by is not None and result is None and (end is None or seq_delta(end, by) >= 0):
                pkt, result = typed_on, "unknown"  # all it had is read: no verdict in it
            if result:
                out = self._attempt(pkt, result, state)
        if state.get("held") and not state.get("done"):
            out += self._release(state)
        return out

    @staticmethod
    def _verdict(text: str) -> str | None:
        if _FAILURE.search(text):
            return "failure"
        if _SUCCESS.search(text):
            return "success"
        stripped = text.rstrip()
        if _LOGIN_PROMPT.search(stripped) or _PASSWORD_PROMPT.search(stripped):
            return "failure"  # asked again
        if _SHELL_PROMPT.search(stripped):
            return "success"
        return None

    def _client(self, pkt: Packet, nvt: bytes, state: dict[str, Any]) -> list[Observation]:
        out: list[Observation] = []
        line: bytearray = state.setdefault("line", bytearray())
        for b in nvt:
            if b in (0x0D, 0x0A):  # CR LF / CR NUL end a line (RFC 854 "THE NVT PRINTER")
                if line:
                    text = line.decode("utf-8", "replace")
                    held = state.get("held")
                    if held and held[-1][2] is None:  # the line waits for its prompt: its end waits with it
                        held[-1][2:] = [text, _kept(pkt)]
                    else:
                        out.extend(self._line_done(pkt, text, state))
                    line.clear()
                continue
            if b == 0x00:
                continue
            if not line:
                out.extend(self._line_begun(pkt, state))
            if b in (0x08, 0x7F):  # BS / DEL erase the previous character
                if line:
                    line.pop()
            elif len(line) < MAX_LINE:
                line.append(b)
        return out

    def _line_begun(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        out: list[Observation] = []
        if not state.get("banner_done"):
            state["banner_done"] = True
            banner = state.pop("banner", "").strip()
            if banner:
                server = streambuf.oriented(pkt, from_client=False)
                out.append(server.observation(self.name, "banner", {"banner": banner}))
        held = state.get("held")
        if held or self._ahead(pkt, state):  # its prompt not read yet: the line waits for it (_release)
            ack = self._ack(pkt, state)
            if state.get("awaiting") and "verdict_by" not in state:  # typing on: the verdict is in what it had
                if ack is None or not state.get("said"):
                    out.extend(self._attempt(pkt, "unknown", state))
                else:
                    state["verdict_by"] = (ack, _kept(pkt))
            held = state.setdefault("held", [])
            held.append([_kept(pkt), ack, None, None])
            if len(held) > MAX_HELD:
                out.extend(self._release(state, let_go=True))
            return out
        return out + self._answer(pkt, self._shown(pkt, state), state)

    def _answer(self, pkt: Packet, tail: str | None, state: dict[str, Any]) -> list[Observation]:
        """The line begun by ``pkt`` answers the server text ``tail`` (None: the text read so far): a user name or
        a password by its prompt; an attempt still awaiting its verdict is 'unknown' (typing on without one)."""
        out: list[Observation] = []
        if state.get("awaiting"):  # typing on without a verdict we could read
            out.extend(self._attempt(pkt, "unknown", state))
        if tail is None:
            tail = state.get("tail", "")
        tail = tail.rstrip()
        state["field"] = (
            "password" if _PASSWORD_PROMPT.search(tail) else "username" if _LOGIN_PROMPT.search(tail) else None
        )
        return out

    def _ahead(self, pkt: Packet, state: dict[str, Any]) -> bool:
        """Whether ``pkt`` acknowledges server text not read yet (the client had a prompt the capture has not shown),
        or may: it carries an acknowledgment and nothing of the server's was read yet (what it counts from unknown)."""
        said = state.get("said")
        if not said:
            return pkt.tcp_ack is not None and "base_" + streambuf.direction_key(False) not in state
        return streambuf.acked_past(self._ack(pkt, state), said[-1][0])

    def _release(self, state: dict[str, Any], *, let_go: bool = False) -> list[Observation]:
        """The waiting lines, oldest first, whose acknowledged server text is now read: each answers its prompt
        (:meth:`_answer`, :meth:`_shown`; none where its acknowledgment says nothing) and, once ended, is read as a
        line; the first let go (``let_go``) answers none. The line being typed, released, takes its field as any
        line begun."""
        held: list[list[Any]] = state["held"]
        said = state.get("said")
        out: list[Observation] = []
        while held and not state.get("done"):
            begun, ack, text, ended = held[0]
            if not let_go and (not said or streambuf.acked_past(ack, said[-1][0])):
                break
            del held[0]
            out += self._answer(begun, "" if let_go else self._shown(begun, state) or "", state)
            let_go = False
            if text is not None:
                out += self._line_done(ended, text, state)
        return out

    @staticmethod
    def _ack(pkt: Packet, state: dict[str, Any]) -> int | None:
        """``pkt``'s Acknowledgment Number where it counts the other side's bytes from their first on, else None."""
        base = state.get("base_" + streambuf.direction_key(not pkt.to_server))
        ack = pkt.tcp_ack
        return None if ack is None or base is None or seq_delta(ack, base) < 0 else ack

    def _shown(self, pkt: Packet, state: dict[str, Any]) -> str | None:
        """The server's text the client had when it sent ``pkt`` (the end of it, where a prompt is): what its
        acknowledgment covers of the server's deliveries kept; "" when it covers server bytes not read yet (the
        prompt it answers is not known), None when the ACKs say nothing (the text read so far decides)."""
        ack, said = self._ack(pkt, state), state.get("said")
        if ack is None or not said:
            return None
        if streambuf.acked_past(ack, said[-1][0]):
            return ""
        return "".join(text for end, _, text in said if seq_delta(ack, end) >= 0)[-MAX_TAIL:]

    def _line_done(self, pkt: Packet, text: str, state: dict[str, Any]) -> list[Observation]:
        field = state.pop("field", None)
        if field == "username":
            state["username"] = text
        elif field == "password":
            state["password"] = text
            state["awaiting"] = True
            state["password_at"] = _kept(pkt)  # where an attempt whose verdict is never read is stamped
            state["tail"] = ""
            # the server's text sent once it had this line's end, where the capture recorded it first
            end = streambuf.seq_end(pkt)
            told = "" if end is None else "".join(
                said for _, ack, said in state.get("said", ()) if ack is not None and seq_delta(ack, end) >= 0)
            state["verdict_text"] = told[-MAX_TAIL:]
            result = self._verdict(told) if told else None
            if result:
                return self._attempt(pkt, result, state)
        return []

    def gap(self, state: dict[str, Any], to_server: bool) -> list[Observation] | None:
        """A hole ends the flow (the default; told late, ``gap_ends_flow``): an attempt awaiting its verdict is
        'unknown' (the verdict may be the hole's, and nothing after it is read)."""
        super().gap(state, to_server)
        return self._unanswered(state) or None

    def ending(self, state: dict[str, Any]) -> list[Observation]:
        """The flow ended (idle, evicted, the capture's end, after its FIN or RST): an attempt still awaiting its
        verdict is 'unknown' (the password crossed the network in cleartext, its verdict was never read)."""
        return self._unanswered(state)

    def _typed_on(self, state: dict[str, Any]) -> list[Observation]:
        """An attempt whose verdict awaits the server's text the client had when it typed on: 'unknown', stamped at
        the typing on. A FIN or RST says nothing of it (no ``closing`` hook): a SPAN port merging two uplinks may
        record the client's FIN before the verdict its sender had, which is read after it; never read, the flow's
        end (``ending``) makes it 'unknown'."""
        waiting = state.get("verdict_by")
        return self._attempt(waiting[1], "unknown", state) if waiting and state.get("awaiting") else []

    def _unanswered(self, state: dict[str, Any]) -> list[Observation]:
        """No more of the server's text will be read (a hole, the flow's end): an attempt awaiting its verdict is
        'unknown', stamped at the typing on (:meth:`_typed_on`), else at the password's line end, as FTP's PASS."""
        at = state.get("password_at")
        if state.get("verdict_by") or not state.get("awaiting") or at is None:
            return self._typed_on(state)
        return self._attempt(at, "unknown", state)

    def _attempt(self, pkt: Packet, result: str, state: dict[str, Any]) -> list[Observation]:
        fields = {"username": state.pop("username", None), "password": state.pop("password", None),
                  "result": result}
        state["awaiting"] = False
        state.pop("verdict_by", None)
        state.pop("password_at", None)
        attempts = state.get("attempts", 0) + 1
        state["attempts"] = attempts
        if result == "success" or attempts >= MAX_ATTEMPTS:
            state["done"] = True  # what follows is a session, not a login
        client = streambuf.oriented(pkt, from_client=True)
        return [client.observation(self.name, "login_attempt", fields, subject="dst")]
