"""FTP dissector: the server greeting and USER/PASS logins of the control connection (RFC 959).

Kinds:

* ``banner``: the 220 greeting (RFC 959 §4.2, multi-line replies "220-" ... "220 " joined by
  newlines): ``code``, ``banner``; subject ``src`` is the server.
* ``login_attempt``: ``username`` (USER, §4.1.1), ``password`` (PASS, cleartext as sent: risk
  checks match it against default-credential lists), ``result`` ("success" on 230, "failure" on
  530, RFC 959 §4.2.2), ``code``; src is the client, subject ``dst`` (the server logged into).

Dissection ends after a successful login, after AUTH TLS is accepted (234, RFC 4217 §4), or after
:data:`MAX_ATTEMPTS` attempts. A lost segment (``gap``) costs the line it was in and what it may have paired: the
direction reads on from the next line found where a line or a segment begins, validated harder than in sync (a
known command verb, a reply code of RFC 959 §4.2.1); the USER and PASS read before the hole, and a greeting not
seen whole, claim nothing after it, and a 230 or 530 claims a login only while a command read is unanswered (one
reply a command, §4.2), so an answer to a lost PASS, told as a hole only once the client sends again, claims none
(issues #3/#4).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector, safety_net
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_LINE = 1024  # bytes of one command or reply line before its LF (RFC 959 sets no limit; servers use ~512)
MAX_REPLY_LINES = 32  # lines of one multi-line reply kept
MAX_ATTEMPTS = 10  # login attempts reported per flow
MAX_FIELD = 256  # characters kept of a user name or password
# commands read and not yet answered (RFC 959 §4.2: one reply, or 1yz preliminaries and one, per command); a
# client may send several before the first reply (pipelining), none sends thousands
MAX_PENDING = 1024
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): the greeting (multi-line, up to
# MAX_REPLY_LINES) and MAX_ATTEMPTS logins, lines of tens of bytes, with the commands between them; dissection
# ends at the attempts first. The 100-packet cap it replaces was ~100 such lines
MAX_STREAM_BYTES = 64 * 1024

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

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """Bytes of a direction were lost: drop its partial line and read on from the next line :meth:`_resync`
        finds. The hole may have held a USER or PASS, or the reply that answered them: the credentials read
        before it pair with no answer after it; a server's hole before its greeting was read held part of it."""
        key = streambuf.direction_key(to_server)
        state.pop(key, None)
        state[RESYNC_STATE_KEY + key] = True
        state.pop("username", None)
        state.pop("password", None)
        if not to_server:
            state.pop("reply", None)
            state.pop("reply_code", None)
            state["banner_seen"] = True

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
        while not state.get("done"):
            end = buf.find(b"\n")
            if end > MAX_LINE:
                state["done"] = True
                raise ParseError(f"FTP line over {MAX_LINE} bytes")
            if end < 0:
                streambuf.bound(state, buf, self.max_buffer)
                break
            line = bytes(buf[:end]).rstrip(b"\r").decode("utf-8", "replace")
            del buf[: end + 1]
            if pkt.to_server:
                state["pending"] = min(state.get("pending", 0) + 1, MAX_PENDING)
                self._command(line, state)
                continue
            try:
                out.extend(self._reply_line(pkt, line, state))
            except ParseError as exc:  # not FTP after all (the flow is done): what came before it stands
                raise streambuf.failed(exc, out) from None
        return out

    @staticmethod
    def _command(line: str, state: dict[str, Any]) -> None:
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        if verb == "USER":  # RFC 959 §4.1.1
            state["username"] = arg[:MAX_FIELD]
            state.pop("password", None)
        elif verb == "PASS":
            state["password"] = arg[:MAX_FIELD]

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
        pending = state.get("pending", 0)
        if code >= 200:  # a completion reply answers the oldest command outstanding; 1yz come before one
            state["pending"] = max(0, pending - 1)
        # a login is claimed by an answer to a command read: with none outstanding, the command it answers is not
        # in the capture (a segment lost and not yet told, as a hole with nothing behind it is not)
        if code not in (230, 530) or "username" not in state or not pending:
            return []
        fields = {"username": state.pop("username"), "password": state.pop("password", None),
                  "result": "success" if code == 230 else "failure", "code": code}
        attempts = state.get("attempts", 0) + 1
        state["attempts"] = attempts
        if code == 230 or attempts >= MAX_ATTEMPTS:
            state["done"] = True
        client = streambuf.oriented(pkt, from_client=True)
        return [client.observation(self.name, "login_attempt", fields, subject="dst")]
