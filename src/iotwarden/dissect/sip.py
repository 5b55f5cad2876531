"""SIP dissector (RFC 3261) over UDP and TCP, port 5060: every request and response, described.

Kinds and fields (one Observation per message, subject ``src``: the sender, whose message it is):

* ``request`` (RFC 3261 §7.1): ``method`` (upper case; REGISTER, INVITE, OPTIONS, ... and extension
  methods), ``uri`` (the Request-URI as ``scheme:user@hostport``, without password, parameters or headers).
* ``response`` (§7.2): ``status`` (int), ``reason``, ``credentials_sent`` (bool: the request this answers,
  the same Call-ID, CSeq number and method sent the other way in this flow, carried an Authorization or
  Proxy-Authorization header, so a 401/403/407 refused credentials rather than challenged a request that
  had none, §22.2, §22.3; None when that request was not seen in the flow).

Both kinds: ``version``, ``transport`` ("udp" or "tcp"), ``user_agent`` (§20.41) and ``server`` (§20.35) as
sent, ``sender`` ({"user_agent", "server"} when the message is shown to be its sender's own, else None: a
request a proxy forwarded carries its originator's headers and a Via per hop, §16.6 step 8, so only a request
with one Via; a response a proxy forwarded, §16.7, carries the UAS's headers and its Contact, the UAS's own
address, §8.2.6.2 / §12.1.1, so not a response whose Contact names another IP address than its sender's,
except to REGISTER, whose Contacts are the bindings, §10.3 step 8; a proxy forwarding a response without a
Contact, a 4xx, cannot be told from the UAS that made it), ``from`` / ``to`` (§20.20, §20.39: ``user@host`` of
the URI, a tel: URI's number; display names are never kept, nor a URI's password), ``contact`` (list of
``user@host``, ``*`` for a REGISTER removing every binding, §10.2.2), ``call_id`` (a 16-hex digest of the
Call-ID, §20.8, never the value), ``cseq`` (int) and ``cseq_method`` (§20.16), ``via_hops`` (Via entries,
§20.42), ``via_transport`` and ``via_sent_by`` (of the top Via: the transport and host[:port] its sender says
it sent from), ``expires`` (int: the Expires header, §20.19, else the first Contact's expires parameter,
§10.2.1.1), ``allow`` and ``supported`` (lists, §20.5, §20.37), ``content_type``, ``auth_scheme`` /
``auth_user`` / ``auth_realm`` (a request: the scheme, Digest ``username`` and ``realm`` of its Authorization
or Proxy-Authorization, §22.4; a 401/407 response: the scheme and realm of its WWW-Authenticate or
Proxy-Authenticate challenge, §20.44, §20.27, and ``auth_stale``, its Digest stale flag, RFC 7616 §3.3: only the
nonce had expired; a Digest ``response`` or Basic password is never kept),
``credentials`` (a request: bool, it carried Authorization or Proxy-Authorization); with an SDP body (§13.2.1
offer/answer): ``session_name``, ``session_info``, ``tool``, ``media``, ``codecs`` (dissect/sdp.py).

Framing (§18.3, §7.5): over UDP one message per datagram, its body what follows the empty line
(cut to Content-Length when that is shorter); over TCP a head ends at an empty line and its body is
Content-Length bytes, several messages per stream. Keep-alives are passed over: an empty datagram or one
of CRLFs, CRLFs between messages on TCP (RFC 5626 §3.5.1, §4.4.1) and STUN binding messages on UDP
(RFC 5626 §4.4.2, RFC 5389 §6: magic cookie). Bytes that cannot begin a SIP message end the flow when
nothing of it was SIP yet (another protocol's bytes: the engine's fall-back offers them elsewhere),
else a TCP direction stops and a UDP datagram is counted and passed over. Bytes the capture lost on TCP (the
engine's ``gap``) drop what the direction held; it reads on from the next head streambuf.resync_head finds that
:meth:`SipDissector.resync_valid` accepts (a whole start line, well-formed field lines, To, From, CSeq, Call-ID
and Via). Limits: :data:`MAX_HEAD`,
:data:`MAX_BODY`, :data:`MAX_MESSAGES` per TCP direction, :data:`MAX_PENDING` transactions remembered
per flow, :data:`MAX_DATAGRAMS` per UDP flow, :data:`MAX_STREAM_BYTES` per TCP flow, SDP bodies up to
``sdp.MAX_SDP`` bytes; sipmsg.py bounds headers.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from iotwarden.dissect import sdp, sipmsg, streambuf
from iotwarden.dissect.base import Packet, line_head, safety_net
from iotwarden.dissect.streambuf import MessageStream, direction_key
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 5060  # RFC 3261 §19.1.2: the default port of sip: URIs over UDP and TCP
MAX_HEAD = 8 * 1024  # bytes of a start line and header section before a message is malformed
MAX_BODY = 64 * 1024  # Content-Length accepted (a body not described is skipped, never held)
MAX_MESSAGES = 64  # messages dissected per direction of one TCP connection
MAX_PENDING = 64  # requests remembered per flow to tell a response whether credentials were sent
# stream bytes read of a TCP flow, both directions (StreamDissector.max_stream_bytes): MAX_MESSAGES per direction,
# a head and an SDP body of a few KB each; about what the 1000-packet cap read of full-size segments (~1.4 MB)
MAX_STREAM_BYTES = 1024 * 1024
MAX_DATAGRAMS = 1000  # datagrams read of a UDP flow (SipDissector.max_packets_per_flow says why)
STUN_COOKIE = b"\x21\x12\xa4\x42"  # RFC 5389 §6: bytes 4-7 of every STUN message

# what a message may begin with however little of it has arrived: a method token and its space, the
# "SIP/" of a status line. Anything else is refused at once (RTSP's rule, dissect/rtsp.py).
_START = re.compile(rb"[Ss](?:[Ii](?:[Pp](?:/|\Z)|\Z)|\Z)|[A-Za-z][A-Za-z0-9.!%*_+`'~-]{0,31}(?: |\Z)")
_START_WINDOW = 40
# a message head looked for past a gap on TCP (streambuf.resync_head): a request line with a sip:, sips: or tel:
# Request-URI (§19.1, RFC 3966) or a status line of a 1xx-6xx code (§7.2, §21), its field lines well formed, and
# the headers every request and response carries (§8.1.1, §8.2.6.2: To, From, CSeq, Call-ID, Via), compact forms
# included (§7.3.3)
_RESYNC_START = re.compile(rb"[A-Z][A-Z0-9-]{1,31} (?:sips?|tel):[\x21-\x7e]|SIP/2\.0 [1-6]\d\d ")
_RESYNC_REQUIRED = ((b"to", b"t"), (b"from", b"f"), (b"cseq",), (b"call-id", b"i"), (b"via", b"v"))
_PROBE_STATUS = re.compile(rb"^SIP/2\.0 \d{3} ")
_PROBE_LINE = 2100  # bytes a probe reads for the end of a request line
# a request line longer than a probe is offered of it when cut into small segments (base.line_head): a
# method token and a sip:/sips: Request-URI (RFC 3261 §25.1 Request-Line) reaching past the probed bytes
_PROBE_REQUEST_HEAD = re.compile(rb"[A-Z]{3,16} sips?:[\x21-\x7e]*")


def _is_keepalive(data: bytes) -> bool:
    """An empty or all-CRLF datagram (RFC 5626 §4.4.1 double-CRLF ping, §3.5.1 pong) or a STUN message."""
    return not data.strip(b"\r\n") or (len(data) >= 20 and data[4:8] == STUN_COOKIE and data[0] < 2)


class SipDissector(MessageStream):
    name: ClassVar[str] = "sip"
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    # a phone's UDP flow to its PBX lasts all day (re-REGISTER, OPTIONS qualify); a password-guessing
    # tool sends all its REGISTERs on one: enough of them to describe it, bounded
    max_packets_per_flow: ClassVar[int | None] = MAX_DATAGRAMS
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    max_buffer: ClassVar[int] = MAX_HEAD + sdp.MAX_SDP

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A SIP/2.0 status line, or a request line ending in SIP/2.0 (never HTTP's or RTSP's)."""
        if payload[:4] == b"SIP/":
            return _PROBE_STATUS.match(payload) is not None
        end = payload.find(b"\r\n", 0, _PROBE_LINE)
        if end > 0 and payload[end - 8 : end] == b" SIP/2.0" and sipmsg.REQUEST_LINE.match(payload[:end]):
            return True
        head = line_head(payload)
        return head is not None and _PROBE_REQUEST_HEAD.fullmatch(head) is not None

    resync_start: ClassVar[re.Pattern[bytes] | None] = _RESYNC_START
    resync_limit: ClassVar[int] = MAX_HEAD

    def resync_valid(self, head: bytes, to_server: bool) -> bool:
        """A head found past a gap: a whole start line, well-formed field lines, and the mandatory headers."""
        lines = head.split(b"\r\n")
        if not (sipmsg.REQUEST_LINE.match(lines[0]) or sipmsg.STATUS_LINE.match(lines[0])):
            return False
        if not all(streambuf.FIELD_LINE.fullmatch(f) is not None for f in lines[1:]):
            return False
        names = {f.partition(b":")[0].lower() for f in lines[1:]}
        return all(names & set(forms) for forms in _RESYNC_REQUIRED)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto != 6:
            return self._datagram(pkt, data, state)
        return self.stream(pkt, data, state)

    def spoke(self, state: dict[str, Any]) -> bool:
        return bool(state.get("sip"))

    def _datagram(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if _is_keepalive(data):
            return []
        end = data.find(b"\r\n\r\n")
        head, body = (data, b"") if end < 0 else (data[:end], data[end + 4 :])
        if len(head) > MAX_HEAD:
            raise ParseError(f"SIP header section over {MAX_HEAD} bytes")
        try:
            parsed = sipmsg.parse_head(head)
        except ParseError:
            if not state.get("sip"):
                state["done"] = True
            raise
        length = sipmsg.integer(parsed.first("content-length"))
        if length is not None and length < len(body):
            body = body[:length]  # §18.3: bytes past Content-Length are discarded
        elif length is not None and length > len(body):
            body = b""  # a body cut short is not described
        return [self._observe(pkt, parsed, body, state, "udp")]

    def step(self, pkt: Packet, buf: bytearray, key: str, state: dict[str, Any], out: list[Observation]) -> bool:
        """Consume one thing at the head of ``buf``; False when more bytes are needed."""
        if self.skipped(buf, key, state):  # the rest of a body that is not described
            return True
        held = state.get("held_" + key)
        if held is not None:  # a message whose SDP body is still arriving
            parsed, length = held
            if len(buf) < length:
                return False
            body = bytes(buf[:length])
            del buf[:length]
            del state["held_" + key]
            out.append(self._observe(pkt, parsed, body, state, "tcp"))
            self._count(state, key)
            return True
        if buf[0] in (0x0D, 0x0A):  # keep-alive CRLFs between messages (RFC 5626 §3.5.1)
            n = len(buf) - len(buf.lstrip(b"\r\n"))
            del buf[:n]
            return True
        if not _START.match(bytes(buf[:_START_WINDOW])):
            raise ParseError(f"not the start of a SIP message: {bytes(buf[:20])!r}")
        line = buf.find(b"\r\n", 0, MAX_HEAD)
        if line > 0 and not (sipmsg.REQUEST_LINE.match(buf[:line]) or sipmsg.STATUS_LINE.match(buf[:line])):
            raise ParseError(f"not a SIP start line: {bytes(buf[:min(line, 40)])!r}")
        end = buf.find(b"\r\n\r\n")
        if end > MAX_HEAD or (end < 0 and len(buf) > MAX_HEAD + 3):
            raise ParseError(f"SIP header section over {MAX_HEAD} bytes")
        if end < 0:
            return False
        parsed = sipmsg.parse_head(bytes(buf[:end]))
        del buf[: end + 4]
        raw_length = parsed.first("content-length")
        length = sipmsg.integer(raw_length, MAX_BODY) if raw_length is not None else 0
        if length is None:
            raise ParseError(f"bad or oversized Content-Length {raw_length[:20] if raw_length else raw_length!r}")
        if length and _content_type(parsed) == "application/sdp" and length <= sdp.MAX_SDP:
            state["held_" + key] = (parsed, length)
            state["sip"] = True
            return True
        state["skip_" + key] = length
        out.append(self._observe(pkt, parsed, b"", state, "tcp"))
        self._count(state, key)
        return True

    def _count(self, state: dict[str, Any], key: str) -> None:
        count = state.get("messages_" + key, 0) + 1
        state["messages_" + key] = count
        if count >= MAX_MESSAGES:
            self.close(state, key)

    def _observe(self, pkt: Packet, head: sipmsg.Head, body: bytes, state: dict[str, Any],
                 transport: str) -> Observation:
        state["sip"] = True
        fields = _common(head, transport, pkt.src_ip)
        call_id = fields["call_id"]
        pending: dict[tuple[str, str | None, int | None, str | None], bool] = state.setdefault("pending", {})
        if head.request:
            auth = head.first("authorization") or head.first("proxy-authorization")
            scheme, user, realm = sipmsg.credentials(auth) if auth else (None, None, None)
            fields.update(method=head.method, uri=sipmsg.request_uri(head.uri), credentials=auth is not None,
                          auth_scheme=scheme, auth_user=user, auth_realm=realm)
            if head.method != "ACK":  # an ACK has no response (§17.1.1.3)
                tx = (direction_key(pkt.to_server), call_id, fields["cseq"], fields["cseq_method"])
                pending.pop(tx, None)
                if len(pending) >= MAX_PENDING:
                    del pending[next(iter(pending))]  # the oldest transaction is forgotten
                pending[tx] = auth is not None
            kind = "request"
        else:
            tx = (direction_key(not pkt.to_server), call_id, fields["cseq"], fields["cseq_method"])
            challenge = head.first("www-authenticate") or head.first("proxy-authenticate")
            scheme, realm, stale = sipmsg.challenge(challenge) if challenge else (None, None, None)
            fields.update(status=head.status, reason=head.reason, credentials_sent=pending.get(tx),
                          auth_scheme=scheme, auth_realm=realm, auth_stale=stale)
            kind = "response"
        if body and _content_type(head) == "application/sdp":
            fields.update(sdp.describe(body) or {})
        return pkt.observation(self.name, kind, fields)



def _content_type(head: sipmsg.Head) -> str:
    return (head.first("content-type") or "").split(";")[0].strip().lower()


def _common(head: sipmsg.Head, transport: str, src_ip: str | None) -> dict[str, Any]:
    """The fields requests and responses share (see the module docstring)."""
    user_agent, server = head.first("user-agent"), head.first("server")
    vias = head.items("via")
    top = vias[0].split(";", 1)[0].split() if vias else []  # "SIP/2.0/UDP host:port" (§20.42)
    contacts = [sipmsg.uri_of(c) for c in head.items("contact")]
    seq, cseq_method = sipmsg.cseq(head.first("cseq"))
    expires = sipmsg.integer(head.first("expires"))
    if expires is None and contacts:
        expires = sipmsg.integer(sipmsg.params(contacts[0][1]).get("expires"))
    forwarded = len(vias) > 1 if head.request else _relayed_response(contacts, cseq_method, src_ip)
    return {
        "version": head.version,
        "transport": transport,
        "user_agent": user_agent,
        "server": server,
        "sender": None if forwarded or not (user_agent or server) else {"user_agent": user_agent, "server": server},
        "from": _address(head.first("from")),
        "to": _address(head.first("to")),
        "contact": ["*" if uri == "*" else a for uri, _ in contacts if (a := sipmsg.address(uri)) or uri == "*"],
        "call_id": sipmsg.call_id_hash(head.first("call-id")),
        "cseq": seq,
        "cseq_method": cseq_method,
        "via_hops": len(vias),
        "via_transport": top[0].rpartition("/")[2].upper()[:16] if top else None,
        "via_sent_by": top[1][: sipmsg.MAX_NAME] if len(top) > 1 else None,
        "expires": expires,
        "allow": [m.upper()[:32] for m in head.items("allow")],
        "supported": [s.lower()[:64] for s in head.items("supported")],
        "content_type": head.first("content-type"),
    }


def _address(value: str | None) -> str | None:
    return sipmsg.address(sipmsg.uri_of(value)[0]) if value else None


def _relayed_response(contacts: list[tuple[str, str]], cseq_method: str | None, src_ip: str | None) -> bool:
    """A response whose Contact (the UAS's address, RFC 3261 §12.1.1) is an IP address other than its sender's:
    a proxy relayed it (§16.7) and its Server/User-Agent are the UAS's. A REGISTER's Contacts are bindings."""
    if cseq_method == "REGISTER" or src_ip is None:
        return False
    for uri, _ in contacts:
        host = sipmsg.host_of(uri)
        if host is not None and host != src_ip and sipmsg.is_ip(host):
            return True
    return False
