"""FTP dissector: the server greeting and USER/PASS logins of the control connection (RFC 959).

Kinds:

* ``banner``: the 220 greeting (RFC 959 §4.2, multi-line replies "220-" ... "220 " joined by
  newlines): ``code``, ``banner``; subject ``src`` is the server.
* ``login_attempt``: ``username`` (USER, §4.1.1), ``password`` (PASS, cleartext as sent: risk
  checks match it against default-credential lists), ``result`` ("success" on 230, "failure" on
  530, RFC 959 §4.2.2; "unknown" for a PASS whose answer the capture will not give: below, and for one answered 421,
  "Service not available, closing control connection", §4.2.1, a reply to any command that says nothing of the
  password: a server refusing more connections, or locking a guesser out), ``code`` (None when no answer is
  paired); src is the client, subject ``dst`` (the server logged into).

Dissection ends after a successful login, after AUTH TLS is accepted (234, RFC 4217 §4), or after
:data:`MAX_ATTEMPTS` attempts. A login is claimed by the reply that answers a USER or PASS read: each command read
waits for one completion reply, in order (RFC 959 §4.2), with the user name and password it sent bound to it, so
a reply pairs with its own command however the client's later commands interleave with it. A segment's
Acknowledgment Number says which client bytes the server had when it replied (dissect/base.py Packet ``tcp_ack``):
a reply that acknowledges client bytes not read yet, with no command of ours waiting, is held
(:data:`MAX_DEFERRED`) until they are (a SPAN port that recorded the server's 230 before the client's PASS), and
one sent before the oldest command waiting was whole answers a command the capture lost, not it (issues #3/#4).

A lost segment (``gap``) costs the line it was in and what it may have paired: the direction reads on from the next
line found where a line or a segment begins, validated harder than in sync (a known command verb, a reply code of RFC
959 §4.2.1); a command read before a hole in the client's direction is paired only with a reply whose Acknowledgment
Number reaches none of the hole's bytes (replies come in command order, RFC 959 §4.2, but the hole may have held
another USER or PASS, whose reply any other may be; with no sequence numbers they claim no login), one read after it
only once the client is shown to have sent it after a reply to a command of the hole (its ACK covers one, or where
ACKs tell nothing the capture read one before it; the hole's replies come first and may be any number, so a client
that pipelined would have them taken by its next commands), a PASS after the
hole names no user (the USER it may have held names it), the first completion reply after a hole in the server's,
once every command its acknowledgment covers is read, answers none of them and drops them (the hole held the answers
of some), and a greeting not seen whole is no banner.

A PASS read (with the USER it names) was sent in cleartext whatever the server answered: where FTP's state shows its
answer will not be read, it is a login with result "unknown", stamped at the PASS, as Telnet's: the flow ends with it
unanswered (``ending``: the capture's end, idle, evicted, after its FIN or RST), a reply after a hole in the client's
direction after it, or before it and not shown to follow the hole's replies, that may answer a command of the
hole's (or the hole itself, with no sequence numbers), or a
server's hole whose first reply after it drops it (its answer may be the hole's). A PASS lost in a hole claims
nothing, nor does anything once MAX_PENDING forgot a command.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector, safety_net
from iotwarden.engine.reassembly import SEQ_MOD, seq_delta
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_LINE = 1024  # bytes of one command or reply line before its LF (RFC 959 sets no limit; servers use ~512)
MAX_REPLY_LINES = 32  # lines of one multi-line reply kept
MAX_ATTEMPTS = 10  # login attempts reported per flow
MAX_FIELD = 256  # characters kept of a user name or password
# commands read and not yet answered (RFC 959 §4.2: one reply, or 1yz preliminaries and one, per command); a
# client may send several before the first reply (pipelining), none sends thousands: past it the oldest is
# forgotten and no later reply claims a login (which command it answers is no longer known)
MAX_PENDING = 1024
# replies held until the client's bytes their acknowledgment covers are read: a capture that recorded the two
# directions out of order by a segment or two holds one or two; past it the oldest is taken as answering nothing
MAX_DEFERRED = 16
# commands read and not yet answered: (sequence number after it or None, credentials: the user, the password and
# the PASS's packet without its payload, or the user alone for a USER; the sequence number where a hole in the
# client's direction after it began, or None)
COMMANDS_KEY = "commands"
# where ACKs tell nothing, a reply with no command read waiting is taken to answer the next command read when that is
# the one command it answers in a login (RFC 959 §5.4: 331 and 332 a USER; 230, 202 and 530, in the sequence
# USER 331 PASS, a PASS), so a capture that recorded the reply before its command does not pair every reply after
# it with the command before its own
ANSWERS_FIRST = {331: "USER", 332: "USER", 230: "PASS", 202: "PASS", 530: "PASS"}
DEFERRED_KEY = "deferred"  # replies held: (code, acknowledgment, the reply's packet without its payload, its end)
# a hole in the client's direction whose commands' replies may still come (RFC 959 §4.2: after those of the commands
# before it, before those of the commands after it): the sequence number where it began (None: not known); the
# commands read while it is open are behind it (Waiting) and pair with a reply only once the client is shown to have
# sent them after the hole's answers (FtpDissector._behind); its first tie closes it
HOLE_KEY = "c2s_hole"
# the server's sequence number after the first reply read that answered a command of that hole: a completion reply
# no command read waited for, sent after the server had bytes of the hole (its Acknowledgment Number)
HOLE_ANSWERED_KEY = "hole_answered"
# a completion reply that answered no command read came since the last command read: (its acknowledgment, the
# server's sequence number after it)
SPARE_KEY = "spare"
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): the greeting (multi-line, up to
# MAX_REPLY_LINES) and MAX_ATTEMPTS logins, lines of tens of bytes, with the commands between them; dissection
# ends at the attempts first. The 100-packet cap it replaces was ~100 such lines
MAX_STREAM_BYTES = 64 * 1024

# what a command read sent: the user named, the password (PASS) and the PASS's packet without its payload
Credentials = tuple[str, str | None, Packet | None]
# a command waiting for its reply: the sequence number after it, what it sent, where a client's hole after it began,
# and, read behind a client's hole whose answers may still come (:data:`HOLE_KEY`), the client's Acknowledgment
# Number when it sent it (False where that tells nothing; None: not behind one)
Waiting = tuple[int | None, Credentials | None, int | None, int | bool | None]
# a reply held (DEFERRED_KEY): its code, its acknowledgment, its packet without its payload, the sequence number
# after it
Deferred = tuple[int, int | None, Packet, int | None]

_REPLY = re.compile(r"^(\d{3})([ -])(.*)$")

# every command verb of RFC 959 §4.1 and of its extensions (RFC 775's X forms, RFC 2228, 2389, 2428, 2640, 3659,
# 4217, 7151): what a client's line found past a gap begins with, followed by a space or the line's end
COMMANDS = frozenset(
    b"USER PASS ACCT CWD CDUP SMNT REIN QUIT PORT PASV TYPE STRU MODE RETR STOR STOU APPE ALLO REST RNFR RNTO ABOR "
    b"DELE RMD MKD PWD LIST NLST SITE SYST STAT HELP NOOP XCUP XCWD XMKD XPWD XRMD AUTH ADAT PROT PBSZ CCC MIC CONF "
    b"ENC FEAT OPTS EPRT EPSV LANG MDTM SIZE MLST MLSD HOST".split())
_COMMAND_LINE = re.compile(rb"([A-Za-z]{3,4})(?: [^\r\n]*)?\r?\n")
# a reply line found past a gap: RFC 959 §4.2.1's first digit 1-5 and second digit 0-5
_REPLY_LINE = re.compile(rb"[1-5][0-5]\d[ -][^\r\n]*\r?\n")
RESYNC_STATE_KEY = "resync_"  # + direction key: past a gap, looking for the next command or reply line


class FtpDissector(StreamDissector):
    name: ClassVar[str] = "ftp"
    tcp_ports: ClassVar[tuple[int, ...]] = (21,)
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    max_buffer: ClassVar[int] = MAX_LINE  # an incomplete line, between feeds (streambuf.bound)

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """The server speaks first: a 220 greeting (RFC 959 §5.4, connection establishment)."""
        return not to_server and payload[:4] in (b"220 ", b"220-") and payload.endswith(b"\n")

    def gap(self, state: dict[str, Any], to_server: bool) -> list[Observation] | None:
        """Bytes of a direction were lost: drop its partial line and read on from the next line :meth:`_resync`
        finds. A client's hole may have held a USER or PASS: the commands read before it claim no login and a PASS
        after it names no user. A server's hole held replies: the first completion reply after it answers nothing
        (:meth:`_answer`); a hole before the greeting was read held part of it. A PASS read before a client's hole
        keeps its credentials where the hole's start is known: a reply acknowledging no byte of the hole is its own
        (:meth:`_answer`), any other makes it a login whose result is 'unknown'; where it is not known (no sequence
        numbers) it is that login now."""
        key = streambuf.direction_key(to_server)
        state.pop(key, None)
        state[RESYNC_STATE_KEY + key] = True
        if to_server:
            state.pop("user", None)
            commands: list[Waiting] = state.get(COMMANDS_KEY, [])
            hole = state.get("c2s_at")  # the first client byte not read as part of a whole line
            # the commands read next are behind it till a reply shows the client sent them after the hole's answers
            state[HOLE_KEY] = hole
            state.pop(HOLE_ANSWERED_KEY, None)
            if state.get(SPARE_KEY):  # a reply the hole's command had, read before the hole was told
                ack, end = state[SPARE_KEY]
                self._spare(ack, end, state)
            if hole is not None:  # the earliest hole after each command bounds what its reply may acknowledge
                state[COMMANDS_KEY] = [(at, sent, hole if cut is None else cut, behind)
                                       for at, sent, cut, behind in commands]
                return None
            state[COMMANDS_KEY] = [(at, None, cut, behind) for at, _, cut, behind in commands]
            return self._unknown(commands, state) or None
        else:
            state.pop("reply", None)
            state.pop("reply_code", None)
            state["banner_seen"] = True
            state["server_hole"] = True
        return None

    def ending(self, state: dict[str, Any]) -> list[Observation]:
        """The flow ended (the capture's end, idle, evicted, after its FIN or RST) while this dissector read it: a PASS
        read and not answered was sent in cleartext, its answer never read: a login whose result is 'unknown'."""
        return self._unknown(state.pop(COMMANDS_KEY, ()), state)

    def _unknown(self, commands: Iterable[Waiting], state: dict[str, Any]) -> list[Observation]:
        """The PASS commands among ``commands`` (credentials read, answer never to be paired) as logins whose result
        is 'unknown', stamped at each PASS; none once MAX_PENDING forgot a command (which replies answered which
        is not known)."""
        out: list[Observation] = []
        for _, credentials, _cut, _behind in commands:
            if state.get("done") or state.get("unpaired"):
                break
            if credentials is not None and credentials[2] is not None:
                out += self._claim(credentials[2], credentials[:2], "unknown", None, state)
        return out

    @staticmethod
    def _resync(buf: bytearray, fresh: int, to_server: bool) -> bool:
        """Past a gap, drop from ``buf`` the bytes before the first line, where a line or a segment (``fresh``)
        begins, that is a known command (client) or a reply line (server): True when ``buf`` now starts with one;
        False when more bytes are needed (``buf`` then holds a candidate or the unfinished last line, within
        MAX_LINE)."""
        starts = {0, fresh}
        pos = buf.find(b"\n")
        while pos >= 0:
            starts.add(pos + 1)
            pos = buf.find(b"\n", pos + 1)
        line = _COMMAND_LINE if to_server else _REPLY_LINE

        def judge(at: int) -> bool | None:
            end = buf.find(b"\n", at)
            if end < 0:
                return None if len(buf) - at <= MAX_LINE else False  # a line not whole yet
            m = line.match(buf, at)
            if m is None or m.end() != end + 1 or end - at > MAX_LINE:
                return False
            return not to_server or m.group(1).upper() in COMMANDS

        tail = len(buf) - (buf.rfind(b"\n") + 1)  # the unfinished last line
        return streambuf.resync(buf, starts, judge, tail if tail <= MAX_LINE else 0)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        key = streambuf.direction_key(pkt.to_server)
        if state.get(RESYNC_STATE_KEY + key):
            if not self._resync(buf, len(buf) - len(data), pkt.to_server):
                return out
            state[RESYNC_STATE_KEY + key] = False
        end = streambuf.seq_end(pkt) if pkt.to_server else None
        if not pkt.to_server and pkt.tcp_seq is not None:  # the server's first byte read: what client ACKs count from
            state.setdefault("s2c_base", (pkt.tcp_seq + len(data) - len(buf)) % SEQ_MOD)
        if end is not None:  # where the client's unread bytes begin (after a hole: past it)
            state.setdefault("c2s_base", (end - len(buf)) % SEQ_MOD)
            state["c2s_at"] = (end - len(buf)) % SEQ_MOD
            out += self._release(state)
        while not state.get("done"):
            at = buf.find(b"\n")
            if at > MAX_LINE:
                state["done"] = True
                raise ParseError(f"FTP line over {MAX_LINE} bytes")
            if at < 0:
                streambuf.bound(state, buf, self.max_buffer)
                break
            line = bytes(buf[:at]).rstrip(b"\r").decode("utf-8", "replace")
            del buf[: at + 1]
            if pkt.to_server:
                after = None if end is None else (end - len(buf)) % SEQ_MOD
                self._command(pkt, line, after, state)
                if after is not None:
                    state["c2s_at"] = after
                out += self._release(state)
                continue
            try:
                out.extend(self._reply_line(pkt, line, state))
            except ParseError as exc:  # not FTP after all (the flow is done): what came before it stands
                raise streambuf.failed(exc, out) from None
        return out

    def _command(self, pkt: Packet, line: str, after: int | None, state: dict[str, Any]) -> None:
        """A command read in ``pkt``, ending before sequence number ``after``: it waits for its reply with the
        credentials it sent (USER, RFC 959 §4.1.1, alone; PASS with the user named last and its packet), and behind
        a client's hole still open, what shows when the client sent it (:meth:`_behind`)."""
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        credentials: Credentials | None = None
        if verb == "USER":
            state["user"] = arg[:MAX_FIELD]
            credentials = (state["user"], None, None)
        elif verb == "PASS" and "user" in state:
            credentials = (state["user"], arg[:MAX_FIELD], dataclasses.replace(pkt, payload=b""))
        spare = state.pop(SPARE_KEY, None)
        if state.pop("answered_first", None) == verb:
            return  # its reply came first (a capture whose ACKs tell nothing of the order)
        behind: int | bool | None = None
        if HOLE_KEY in state:
            sent = self._client_ack(pkt.tcp_ack, state)
            if sent is None and spare is not None:  # the hole's answer read before it: sent after it, as the capture
                self._close_hole(state, tie=False)  # has them; the commands read before it stay behind
            else:
                behind = False if sent is None else sent
        commands: list[Waiting] = state.setdefault(COMMANDS_KEY, [])
        if len(commands) >= MAX_PENDING:
            del commands[0]
            state["unpaired"] = True
        commands.append((after, credentials, None, behind))

    def _reply_line(self, pkt: Packet, line: str, state: dict[str, Any]) -> list[Observation]:
        lines: list[str] | None = state.get("reply")
        if lines is not None:  # inside a multi-line reply: ends at "<code> " (RFC 959 §4.2)
            if len(lines) < MAX_REPLY_LINES:
                lines.append(line)
            if not line.startswith(state["reply_code"] + " "):
                return []
            code = state.pop("reply_code")
            state.pop("reply")
            return self._reply(pkt, int(code), lines, state)
        m = _REPLY.match(line)
        if m is None:
            state["done"] = True
            raise ParseError(f"not an FTP reply: {line[:40]!r}")
        if m.group(2) == "-":
            state["reply_code"] = m.group(1)
            state["reply"] = [line]
            return []
        return self._reply(pkt, int(m.group(1)), [line], state)

    def _reply(self, pkt: Packet, code: int, lines: list[str], state: dict[str, Any]) -> list[Observation]:
        if code == 220 and not state.get("banner_seen"):
            state["banner_seen"] = True
            text = "\n".join(ln[4:] for ln in lines).strip()
            return [pkt.observation(self.name, "banner", {"code": code, "banner": text})]
        if code == 234:  # AUTH TLS accepted: the rest is encrypted
            state["done"] = True
            return []
        if code < 200:  # a preliminary reply (1yz) comes before the one that answers its command
            return []
        deferred: list[Deferred] | None = state.get(DEFERRED_KEY)
        end = streambuf.seq_end(pkt)
        if deferred is None and not self._waits(pkt.tcp_ack, state):
            return self._answer(pkt, code, self._ack(pkt.tcp_ack, state), end, state)
        if deferred is None:
            deferred = state[DEFERRED_KEY] = []
        deferred.append((code, pkt.tcp_ack, dataclasses.replace(pkt, payload=b""), end))
        if len(deferred) <= MAX_DEFERRED:
            return []
        code, _, held, end = deferred.pop(0)  # the client's bytes it waited for are not coming: it answers none
        state.pop("server_hole", None)
        return [] if state.get(COMMANDS_KEY) else self._answer(held, code, None, end, state)

    @staticmethod
    def _ack(ack: int | None, state: dict[str, Any]) -> int | None:
        """``ack`` where it acknowledges client bytes from the first read on, else None (a capture whose ACKs say
        nothing, or a reply sent before the first client bytes the capture shows)."""
        base = state.get("c2s_base")
        return None if ack is None or base is None or seq_delta(ack, base) < 0 else ack

    def _waits(self, ack: int | None, state: dict[str, Any]) -> bool:
        """A completion reply acknowledging ``ack`` waits for client bytes not read yet: before any client byte
        (the server speaks unasked only to greet), those its command may be in when no command read waits for it
        (the oldest waiting is the one it answers, RFC 959 §4.2), and after a server's hole all those it covers
        (:meth:`_answer`)."""
        if ack is not None and "c2s_base" not in state:
            return True
        ack = self._ack(ack, state)
        if not streambuf.acked_past(ack, state.get("c2s_at")):
            return False
        return bool(state.get("server_hole")) or not state.get(COMMANDS_KEY)

    def _release(self, state: dict[str, Any]) -> list[Observation]:
        """The replies held that no longer wait (:meth:`_waits`), in order, now that client bytes were read."""
        deferred: list[Deferred] | None = state.get(DEFERRED_KEY)
        out: list[Observation] = []
        while deferred and not state.get("done") and not self._waits(deferred[0][1], state):
            code, ack, held, end = deferred.pop(0)
            out += self._answer(held, code, self._ack(ack, state), end, state)
        if not deferred:
            state.pop(DEFERRED_KEY, None)
        return out

    def _answer(self, pkt: Packet, code: int, ack: int | None, end: int | None,
                state: dict[str, Any]) -> list[Observation]:
        """A completion reply (acknowledging ``ack`` of the client's bytes, None: not known) answers the oldest
        command waiting, unless it was sent before that command was whole (it answers one the capture lost); a 230
        or 530 to a USER or PASS claims its login. Replies come in command order (RFC 959 §4.2) and a hole in the
        client's direction does not reorder them, but it may have held further commands: a reply to a command read
        before such a hole is that command's only when it acknowledges none of the hole's bytes (sent before any
        command of the hole was whole); one that does, or says nothing, may be a command of the hole's, and a PASS
        it meets first is a login whose result is 'unknown'."""
        commands: list[Waiting] = state.get(COMMANDS_KEY) or []
        if state.pop("server_hole", False):  # which of the commands it covers the hole's replies answered: unknown
            kept: list[Waiting] = []
            dropped: list[Waiting] = []
            for c in commands:
                covered = ack is None or c[0] is None or seq_delta(ack, c[0]) >= 0
                (dropped if covered else kept).append(c)
            state[COMMANDS_KEY] = kept
            if all(c[2] is None for c in dropped):  # no command read before a client's hole: this one's, or after
                self._spare(ack, end, state)
            return self._unknown(dropped, state)
        if not commands:  # the command it answers is not in the capture, or not yet (ACKs that tell nothing)
            if ack is None and code in ANSWERS_FIRST:
                state["answered_first"] = ANSWERS_FIRST[code]
            self._spare(ack, end, state)
            return []
        waiting = commands[0]
        after, credentials, cut, behind = waiting
        if ack is not None and after is not None and seq_delta(ack, after) < 0:
            self._spare(ack, end, state)
            return []
        del commands[0]
        if cut is not None and (ack is None or seq_delta(ack, cut) > 0):  # it may answer a command of the hole's
            return self._unknown([waiting], state)
        if behind is not None and not self._behind(behind, state):  # it may answer a command of the hole's
            self._spare(ack, end, state)  # its own or the hole's: the hole's first command was answered
            return self._unknown([waiting], state)
        if credentials is None or state.get("unpaired"):
            return []
        if code == 421 and credentials[2] is not None:  # the server closes the connection (RFC 959 §4.2.1)
            return self._claim(pkt, credentials[:2], "unknown", code, state)
        if code not in (230, 530):
            return []
        return self._claim(pkt, credentials[:2], "success" if code == 230 else "failure", code, state)

    def _spare(self, ack: int | None, end: int | None, state: dict[str, Any]) -> None:
        """A completion reply, sent acknowledging ``ack`` and ending before the server's sequence number ``end``,
        answered no command read: one the capture lost, a client's hole's when sent after the server had bytes of it
        (its first such end kept, :data:`HOLE_ANSWERED_KEY`)."""
        state[SPARE_KEY] = (ack, end)
        if HOLE_KEY not in state or end is None:
            return
        hole = state[HOLE_KEY]  # None: before the first client byte read, where any reply is after it
        if hole is None or streambuf.acked_past(ack, hole):
            state.setdefault(HOLE_ANSWERED_KEY, end)

    def _behind(self, sent: int | bool, state: dict[str, Any]) -> bool:
        """Whether a command read behind a client's hole (:data:`HOLE_KEY`), sent acknowledging the server's bytes
        before ``sent`` (False: not known), was sent after the hole's answers, so that the reply the commands before
        it leave is its own: the client had a reply to a command of the hole (RFC 959 §4.2: the commands before it
        answered first; a client waits for a command's reply before its next, the hole's commands' as any). Tied, it
        closes the hole: the commands after it were sent later still."""
        answered = state.get(HOLE_ANSWERED_KEY)
        if isinstance(sent, bool) or answered is None or seq_delta(sent, answered) < 0:
            return False
        self._close_hole(state, tie=True)
        return True

    @staticmethod
    def _close_hole(state: dict[str, Any], *, tie: bool) -> None:
        """The client's hole's answers are read; with ``tie`` (a command behind it was tied, the oldest waiting) the
        commands still waiting, sent after it, pair as any."""
        state.pop(HOLE_KEY, None)
        state.pop(HOLE_ANSWERED_KEY, None)
        if tie:
            state[COMMANDS_KEY] = [(at, sent, cut, None) for at, sent, cut, _ in state.get(COMMANDS_KEY, ())]

    @staticmethod
    def _client_ack(ack: int | None, state: dict[str, Any]) -> int | None:
        """A client's segment's ``ack`` where it acknowledges server bytes from the first read on, else None (a
        capture whose ACKs say nothing)."""
        base = state.get("s2c_base")
        return None if ack is None or base is None or seq_delta(ack, base) <= 0 else ack

    def _claim(self, pkt: Packet, sent: tuple[str, str | None], result: str, code: int | None,
               state: dict[str, Any]) -> list[Observation]:
        """The login of ``sent`` (user name, password), stamped at ``pkt``: the reply that answered it, or the PASS
        when its result is 'unknown'."""
        fields = {"username": sent[0], "password": sent[1], "result": result, "code": code}
        attempts = state.get("attempts", 0) + 1
        state["attempts"] = attempts
        if result == "success" or attempts >= MAX_ATTEMPTS:
            state["done"] = True
        client = streambuf.oriented(pkt, from_client=True)
        return [client.observation(self.name, "login_attempt", fields, subject="dst")]
