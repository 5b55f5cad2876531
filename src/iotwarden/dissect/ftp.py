"""FTP dissector: the server greeting and USER/PASS logins of the control connection (RFC 959).

Kinds:

* ``banner``: the 220 greeting (RFC 959 §4.2, multi-line replies "220-" ... "220 " joined by
  newlines): ``code``, ``banner``; subject ``src`` is the server.
* ``login_attempt``: ``username`` (USER, §4.1.1), ``password`` (PASS, cleartext as sent: risk
  checks match it against default-credential lists), ``result`` ("success" on 230, "failure" on
  530, RFC 959 §4.2.2), ``code``; src is the client, subject ``dst`` (the server logged into).

Dissection ends after a successful login, after AUTH TLS is accepted (234, RFC 4217 §4), or after
:data:`MAX_ATTEMPTS` attempts.
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
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): the greeting (multi-line, up to
# MAX_REPLY_LINES) and MAX_ATTEMPTS logins, lines of tens of bytes, with the commands between them; dissection
# ends at the attempts first. The 100-packet cap it replaces was ~100 such lines
MAX_STREAM_BYTES = 64 * 1024

_REPLY = re.compile(r"^(\d{3})([ -])(.*)$")


class FtpDissector(StreamDissector):
    name: ClassVar[str] = "ftp"
    tcp_ports: ClassVar[tuple[int, ...]] = (21,)
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    max_buffer: ClassVar[int] = MAX_LINE  # an incomplete line, between feeds (streambuf.bound)

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """The server speaks first: a 220 greeting (RFC 959 §5.4, connection establishment)."""
        return not to_server and payload[:4] in (b"220 ", b"220-") and payload.endswith(b"\n")

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
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
        if code not in (230, 530) or "username" not in state:
            return []
        fields = {"username": state.pop("username"), "password": state.pop("password", None),
                  "result": "success" if code == 230 else "failure", "code": code}
        attempts = state.get("attempts", 0) + 1
        state["attempts"] = attempts
        if code == 230 or attempts >= MAX_ATTEMPTS:
            state["done"] = True
        client = streambuf.oriented(pkt, from_client=True)
        return [client.observation(self.name, "login_attempt", fields, subject="dst")]
