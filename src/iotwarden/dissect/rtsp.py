"""RTSP dissector: request and response heads of each direction (RFC 2326 RTSP 1.0, RFC 7826 RTSP 2.0),
SDP bodies described, interleaved RTP/RTCP skipped.

Kinds and fields (subject ``src``: a request describes the client, a response the server):

* ``request`` (RFC 2326 §6): ``method``, ``uri`` (an absolute rtsp:// URI, ``*``, or a path as
  AirPlay receivers are sent), ``path`` (the URI's path, query left out, of a request the flow's
  client sent: the stream resource it asks the server for, a fact about the server; None for ``*``
  and for requests a server sends), ``version``, ``cseq`` (int, §12.17), ``user_agent`` (§12.41),
  ``transport`` (§12.39), ``authorization_scheme`` (§12.5), ``basic_auth`` (bool: Basic credentials,
  RFC 2326 §12.5 / RFC 7617 §2), ``basic_user`` (their user-id), ``password_present``, ``uri_user`` (the
  user of the Request-URI's userinfo, RFC 3986 §3.2.1) and ``uri_password_present``.
* ``response`` (RFC 2326 §7): ``version``, ``status`` (int), ``reason``, ``cseq``, ``method`` (of the
  request with that CSeq, when seen), ``server`` (§12.36), ``public`` (methods of an OPTIONS answer,
  §12.28), ``content_base`` (§12.11), ``content_type``, ``www_authenticate`` (§12.44, realm
  included), ``transport``, ``credentials_sent`` (bool: the request with that CSeq carried credentials,
  an Authorization header of any scheme or a URI's userinfo, so a 401/403 answer refused them, RFC 2326
  §7.1.1; the first 401 of a session challenges a request that carried none; None when that request was not
  read, lost by the capture or sent before it began: not known, never taken for a request without); with an SDP body (a
  DESCRIBE answer, §10.2): ``session_name``, ``session_info``, ``tool``, ``media``, ``codecs`` (dissect/sdp.py).

  A request carrying SDP (ANNOUNCE, §10.3: a camera pushing its stream) has the same SDP fields.
* ``login_attempt`` (a request that carried a password in cleartext, Basic credentials or a URI's
  userinfo, once its answer is seen; src is the client, subject ``dst``, the server logged into):
  ``username``, ``password`` (cleartext as sent, as the FTP and Telnet dissectors keep it: risk checks
  match it against default-credential lists), ``sent_in`` ("authorization" or "uri"), ``method``,
  ``status``, ``result`` ("success" on 2xx, "failure" on 401/403, RFC 2326 §7.1.1, else
  "unknown"). One per distinct pair and result of a flow, at most :data:`MAX_LOGINS`.

Passwords appear in ``login_attempt`` only: requests keep the Authorization scheme and Basic user-id
(a Digest response, RFC 2617 §3.2.2, is no password and is never kept), and a URI is kept without the
password of its userinfo (``rtsp://user:secret@host/`` is kept as ``rtsp://user@host/``).

Framing: heads end at an empty line; a body is framed by Content-Length only (RFC 2326 §4.3: no
Content-Length, no body); ``$``-framed interleaved binary data (§10.12: ``$``, channel, 16-bit
length) is skipped in either direction. A direction whose bytes were lost (a capture gap) or that
broke the framing stops; the other goes on, unless nothing of the flow was RTSP yet: bytes that cannot
begin an RTSP message end the flow at once (they are another protocol's). Limits: :data:`MAX_HEAD`,
:data:`MAX_MESSAGES` per direction, :data:`MAX_PENDING` CSeqs remembered, SDP bodies up to ``sdp.MAX_SDP`` bytes.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import unquote

from iotwarden.dissect import sdp, streambuf
from iotwarden.dissect.base import Packet, line_head, safety_net
from iotwarden.dissect.httphead import basic_credentials
from iotwarden.dissect.streambuf import C2S, S2C, MessageStream, oriented
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_HEAD = 8 * 1024  # bytes of a start line + header section before the message is malformed
MAX_HEADERS = 64  # header fields read per message
MAX_VALUE = 512  # characters kept of a header value
MAX_MESSAGES = 32  # messages dissected per direction of one flow
MAX_PENDING = 32  # request CSeqs remembered to name the method a response answers
MAX_PUBLIC = 32  # methods kept of a Public header
MAX_CREDENTIAL = 256  # characters kept of a user name or password
MAX_LOGINS = 10  # login_attempt observations per flow (distinct pair and result each)
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): the requests and responses up
# to a PLAY, after which an RTSP-over-TCP session carries its media interleaved (RFC 2326 §10.12) and nothing more
# is said; about what the 200-packet cap it replaces read of full-size segments (~290 KB)
MAX_STREAM_BYTES = 256 * 1024

# RFC 2326 §6.1 / RFC 7826 §7.1: Method SP Request-URI SP RTSP-Version; methods are tokens (extension
# methods included), written upper case in practice
_REQUEST_LINE = re.compile(rb"^([A-Z][A-Z0-9_-]{0,31}) (\S{1,4096}) (RTSP/\d\.\d)$")
_STATUS_LINE = re.compile(rb"^(RTSP/\d\.\d) (\d{3})(?: (.*))?$")  # RFC 2326 §7.1 / RFC 7826 §8.1
_PROBE_REQUEST = re.compile(rb"^[A-Z][A-Z0-9_-]{2,31} (?:rtsps?://\S+|\*|/\S*) RTSP/[12]\.0\r?\n")
_PROBE_STATUS = re.compile(rb"^RTSP/[12]\.0 \d{3}[ \r\n]")
# a request line longer than a probe is offered of it when cut into small segments (base.line_head): its
# rtsp:// or rtsps:// Request-URI (RFC 7826 §7.1, §18.2) reaching past the probed bytes
_PROBE_REQUEST_HEAD = re.compile(rb"[A-Z][A-Z0-9_-]{2,31} rtsps?://[\x21-\x7e]*")
_INTERLEAVED = 0x24  # "$"
# what a message may begin with, however little of it has arrived: a method token and its space, "RTSP/" of a
# status line, or the "\r" of an empty line (HTTP's robustness rule, RFC 9112 §2.2). Bytes that cannot begin
# one are refused at once, so a flow on RTSP's ports that speaks something else (TLS, a binary protocol) goes
# to its own dissector's probe (engine/delivery.py fall-back) rather than wait in this buffer until MAX_HEAD.
_START = re.compile(rb"RTSP/|[A-Z][A-Z0-9_-]{0,31}(?: |\Z)|\r\Z")
_START_WINDOW = 40  # bytes of a buffer the start test reads: more than a method token and its space
# a message head looked for past a gap (streambuf.resync_head): a request line of an RFC 2326 §10 / RFC 7826 §13
# method with an rtsp(s/u) URL or '*' (§3.2), or a status line of a 1xx-5xx code (§7.1.1), then field lines, one
# of them CSeq (§12.17: present in every request and response)
_RESYNC_START = re.compile(rb"(?:DESCRIBE|ANNOUNCE|GET_PARAMETER|OPTIONS|PAUSE|PLAY|PLAY_NOTIFY|RECORD|REDIRECT|"
                           rb"SETUP|SET_PARAMETER|TEARDOWN) (?:rtsp[su]?://[\x21-\x7e]|\* )|RTSP/[12]\.0 [1-5]\d\d ")


def _headers(lines: list[bytes]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in lines[:MAX_HEADERS]:
        name, sep, value = raw.partition(b":")
        if not sep or not name.strip():  # embedded servers are sloppy: a line that is no field is passed over
            continue
        key = name.strip().decode("ascii", "replace").lower()
        text = value.strip().decode("utf-8", "replace")[:MAX_VALUE]
        out[key] = f"{out[key]}, {text}"[:MAX_VALUE] if key in out else text
    return out


def _cseq(headers: dict[str, str]) -> int | None:
    value = headers.get("cseq", "").split(" ")[0]  # some servers echo "42 OPTIONS"
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None


def _without_password(uri: str) -> str:
    """The URI with the password of its userinfo left out (``rtsp://user:secret@host/`` -> ``rtsp://user@host/``):
    some clients send the credentials they were configured with in the Request-URI."""
    scheme, sep, rest = uri.partition("://")
    authority = rest.split("/", 1)[0]
    if not sep or "@" not in authority:
        return uri
    userinfo, _, host = authority.rpartition("@")
    return f"{scheme}://{userinfo.split(':', 1)[0]}@{host}{rest[len(authority):]}"


def _userinfo(uri: str) -> tuple[str, str | None] | None:
    """The user and password (None without ':') of an absolute URI's userinfo (RFC 3986 §3.2.1, percent-
    decoded); None when the URI has none."""
    _, sep, rest = uri.partition("://")
    authority = rest.split("/", 1)[0]
    if not sep or "@" not in authority:
        return None
    user, colon, password = authority.rpartition("@")[0].partition(":")
    return unquote(user)[:MAX_CREDENTIAL], unquote(password)[:MAX_CREDENTIAL] if colon else None


def _result(status: int) -> str:
    """A login's outcome by the answer's status: 2xx accepted; 401 Unauthorized and 403 Forbidden refused."""
    if 200 <= status < 300:
        return "success"
    return "failure" if status in (401, 403) else "unknown"


def _path(uri: str) -> str | None:
    """The path of a Request-URI (RFC 2326 §3.2 rtsp_URL): scheme, authority and query left out."""
    if "://" in uri:
        rest = uri.split("://", 1)[1]
        slash = rest.find("/")
        uri = rest[slash:] if slash >= 0 else "/"
    elif not uri.startswith("/"):
        return None  # "*" (RFC 2326 §6.1): the server itself, no resource
    return uri.split("?", 1)[0] or None


def _body_length(headers: dict[str, str]) -> int:
    if "content-length" not in headers:
        return 0
    value = headers["content-length"].split(",")[0].strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise ParseError(f"bad Content-Length {value[:20]!r}")
    return int(value)


class RtspDissector(MessageStream):
    name: ClassVar[str] = "rtsp"
    tcp_ports: ClassVar[tuple[int, ...]] = (554, 8554)  # RFC 2326 §3.2 default port; 8554 the common alternative
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    # between feeds a direction's buffer holds less than one head (MAX_HEAD) or one SDP body (sdp.MAX_SDP);
    # skipped bytes (interleaved frames, bodies not described) are dropped as they come
    max_buffer: ClassVar[int] = MAX_HEAD + sdp.MAX_SDP

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """An RTSP request line (``RTSP/`` where HTTP has ``HTTP/``) or status line."""
        if to_server:
            if _PROBE_REQUEST.match(payload) is not None:
                return True
            head = line_head(payload)
            return head is not None and _PROBE_REQUEST_HEAD.fullmatch(head) is not None
        return _PROBE_STATUS.match(payload) is not None

    resync_start: ClassVar[re.Pattern[bytes] | None] = _RESYNC_START
    resync_limit: ClassVar[int] = MAX_HEAD

    def resync_valid(self, head: bytes, to_server: bool) -> bool:
        """A head found past a gap: a start line of the whole form, every field line well formed, and CSeq."""
        lines = head.split(b"\r\n")
        if _RESYNC_START.match(lines[0]) is None or not (
                _REQUEST_LINE.match(lines[0]) or _STATUS_LINE.match(lines[0])):
            return False
        if not all(streambuf.FIELD_LINE.fullmatch(f) is not None for f in lines[1:]):
            return False
        return any(f[:5].lower() == b"cseq:" for f in lines[1:])

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        return self.stream(pkt, data, state)

    def spoke(self, state: dict[str, Any]) -> bool:
        return bool(state.get("messages_" + C2S) or state.get("messages_" + S2C))

    def step(self, pkt: Packet, buf: bytearray, key: str, state: dict[str, Any], out: list[Observation]) -> bool:
        """Consume one thing at the head of ``buf``; False when more bytes are needed."""
        if self.skipped(buf, key, state):  # the rest of an interleaved frame or of a body not described
            return True
        held = state.get("held_" + key)
        if held is not None:  # a message whose SDP body is still arriving
            kind, fields, length = held
            if len(buf) < length:
                return False
            fields.update(sdp.describe(bytes(buf[:length])) or {})
            del buf[:length]
            del state["held_" + key]
            out.append(pkt.observation(self.name, kind, fields))
            return True
        if buf[0] == _INTERLEAVED:
            if len(buf) < 4:
                return False
            state["skip_" + key] = 4 + int.from_bytes(buf[2:4], "big")
            return True
        if buf[:2] == b"\r\n":  # an empty line before a message is ignored (HTTP's robustness rule, RFC 9112 §2.2)
            del buf[:2]
            return True
        if not _START.match(bytes(buf[:_START_WINDOW])):
            raise ParseError(f"not the start of an RTSP message: {bytes(buf[:20])!r}")
        line = buf.find(b"\r\n", 0, MAX_HEAD)
        if line > 0 and not (_REQUEST_LINE.match(buf[:line]) or _STATUS_LINE.match(buf[:line])):
            raise ParseError(f"not an RTSP start line: {bytes(buf[:min(line, 40)])!r}")
        end = buf.find(b"\r\n\r\n")
        if end > MAX_HEAD or (end < 0 and len(buf) > MAX_HEAD + 3):  # whole or in pieces (dissect/streambuf.py)
            raise ParseError(f"RTSP header section over {MAX_HEAD} bytes")
        if end < 0:
            return False
        head = bytes(buf[:end])
        del buf[: end + 4]
        self._message(pkt, head, key, state, out)
        count = state.get("messages_" + key, 0) + 1
        state["messages_" + key] = count
        if count >= MAX_MESSAGES:
            self.close(state, key)
        return True

    def _message(self, pkt: Packet, head: bytes, key: str, state: dict[str, Any], out: list[Observation]) -> None:
        lines = head.split(b"\r\n")
        headers = _headers(lines[1:])
        request = _REQUEST_LINE.match(lines[0])
        status = None if request else _STATUS_LINE.match(lines[0])
        if request is not None:
            fields, kind = self._request(request, headers, state, from_client=key == C2S), "request"
        elif status is not None:
            fields, kind = self._response(status, headers, state), "response"
            if key == S2C:  # the server's answer; a client answering a server's request logs into nothing
                self._login(pkt, fields, state, out)
        else:
            raise ParseError(f"not an RTSP start line: {lines[0][:40]!r}")
        fields["transport"] = headers.get("transport")
        length = _body_length(headers)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if length and content_type == "application/sdp" and length <= sdp.MAX_SDP:
            state["held_" + key] = (kind, fields, length)
            return
        state["skip_" + key] = length
        out.append(pkt.observation(self.name, kind, fields))

    @staticmethod
    def _request(m: re.Match[bytes], headers: dict[str, str], state: dict[str, Any], *,
                 from_client: bool) -> dict[str, Any]:
        method = m.group(1).decode("ascii")
        raw_uri = m.group(2).decode("utf-8", "replace")
        uri = _without_password(raw_uri)[:MAX_VALUE]
        cseq = _cseq(headers)
        pending: dict[int, str] = state.setdefault("pending", {})
        if cseq is not None and len(pending) < MAX_PENDING:
            pending[cseq] = method
        auth = headers.get("authorization")
        basic = basic_credentials(auth, MAX_CREDENTIAL) if auth else None
        userinfo = _userinfo(raw_uri)
        # the pair the server is asked to check: the Authorization header's, else the URI's
        sent = (*basic, "authorization") if basic else (*userinfo, "uri") if userinfo else None
        logins: dict[int, tuple[str, str, str]] = state.setdefault("logins", {})
        if from_client and sent and sent[1] and cseq is not None and len(logins) < MAX_PENDING:
            logins[cseq] = (sent[0], sent[1], sent[2])
        credentialed: set[int] = state.setdefault("credentialed", set())
        if from_client and (auth or userinfo) and cseq is not None and len(credentialed) < MAX_PENDING:
            credentialed.add(cseq)
        return {
            "method": method,
            "uri": uri,
            "path": _path(uri) if from_client else None,
            "version": m.group(3).decode("ascii"),
            "cseq": cseq,
            "user_agent": headers.get("user-agent"),
            "authorization_scheme": auth.partition(" ")[0] if auth else None,
            "basic_auth": basic is not None,
            "basic_user": basic[0] if basic else None,
            "password_present": bool(basic and basic[1]),
            "uri_user": userinfo[0] if userinfo else None,
            "uri_password_present": bool(userinfo and userinfo[1]),
        }

    @staticmethod
    def _response(m: re.Match[bytes], headers: dict[str, str], state: dict[str, Any]) -> dict[str, Any]:
        cseq = _cseq(headers)
        pending: dict[int, str] = state.get("pending", {})
        credentialed: set[int] = state.get("credentialed", set())
        method = pending.pop(cseq, None) if cseq is not None else None
        # the request unread (its method unknown): whether it carried credentials is not known
        credentials_sent = None if method is None else cseq in credentialed
        if credentials_sent:
            credentialed.discard(cseq)
        public = [p.strip() for p in headers.get("public", "").split(",") if p.strip()][:MAX_PUBLIC]
        return {
            "version": m.group(1).decode("ascii"),
            "status": int(m.group(2)),
            "reason": (m.group(3) or b"").decode("utf-8", "replace")[:MAX_VALUE],
            "cseq": cseq,
            "method": method,
            "server": headers.get("server"),
            "public": public,
            "content_base": _without_password(headers["content-base"]) if "content-base" in headers else None,
            "content_type": headers.get("content-type"),
            "www_authenticate": headers.get("www-authenticate"),
            "credentials_sent": credentials_sent,
        }

    def _login(self, pkt: Packet, response: dict[str, Any], state: dict[str, Any], out: list[Observation]) -> None:
        """The login a request with a cleartext password made, now that the server answered it."""
        logins: dict[int, tuple[str, str, str]] = state.get("logins", {})
        cseq = response["cseq"]
        sent = logins.pop(cseq, None) if cseq is not None else None
        if sent is None:
            return
        user, password, sent_in = sent
        result = _result(response["status"])
        seen: set[tuple[str, str, str]] = state.setdefault("logins_seen", set())
        if (user, password, result) in seen or len(seen) >= MAX_LOGINS:
            return
        seen.add((user, password, result))
        fields = {"username": user, "password": password, "sent_in": sent_in, "method": response["method"],
                  "status": response["status"], "result": result}
        out.append(oriented(pkt, from_client=True).observation(self.name, "login_attempt", fields, subject="dst"))

