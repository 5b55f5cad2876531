"""HTTP/1.x dissector: request and response heads of each message (RFC 9112); bodies skipped, except
a UPnP device description a device serves (dissect/upnpdesc.py), DPWS metadata (dissect/dpwsmeta.py) and
IPP messages both ways (dissect/ipp.py).

Kinds and fields (subject ``src``: a request describes the client, a response the server):

* ``request`` (RFC 9112 §3): ``method``, ``uri``, ``version``, ``host`` (RFC 9110 §7.2),
  ``user_agent`` (§10.1.5), ``authorization_scheme`` (§11.6.2), ``basic_auth`` (bool),
  ``basic_user`` (RFC 7617 §2 user-id; the password itself is never kept), ``password_present``,
  ``headers`` (lower-cased name -> value, repeated fields joined with ", " as §5.3 allows;
  Authorization and Proxy-Authorization keep only their scheme), ``rdp_gateway`` (only on a request that opens a
  Remote Desktop Gateway tunnel: ``http``, ``websocket`` or ``rpc``, dissect/tsgu.py), ``framing_conflict`` (True,
  only on a message framed by both Transfer-Encoding and Content-Length: RFC 9112 §6.3 (3), a sign of request
  smuggling or response splitting, §11), ``invalid`` (True, only on a message with a field line that is none,
  RFC 9112 §5.1: the line dropped, the message counted as a ParseError and still reported), ``tunnel`` (only on a
  client's request, IPP request or gateway channel read inside an HTTP CONNECT tunnel: the CONNECT's target,
  host:port; dissect/httptunnel.py).
* ``response`` (RFC 9112 §4): ``version``, ``status`` (int), ``reason``, ``server`` (RFC 9110
  §10.2.4), ``www_authenticate`` (§11.6.1), ``content_type`` (§8.3), ``headers``, ``framing_conflict``,
  ``invalid``.

* ``upnp_description`` (UPnP Device Architecture 2.0 §2.3, the body of a 200 response to a GET with
  Content-Type text/xml or application/xml, or none, whose document is ``<root>`` in a
  ``...:device-1-0`` namespace; subject ``src``, the server: a description describes the device
  that serves it): the root device's ``upnp_device_type``, ``upnp_friendly_name``,
  ``upnp_manufacturer``, ``upnp_manufacturer_url``, ``upnp_model_description``, ``upnp_model_name``,
  ``upnp_model_number``, ``upnp_model_url``, ``upnp_serial_number``, ``upnp_udn``, ``upnp_upc``,
  ``upnp_presentation_url`` (None when absent); ``upnp_embedded`` (the embedded devices, §2.3
  deviceList, in document order, each a dict of those fields it states); ``upnp_service_types``
  (every serviceType, §2.3 serviceList); ``upnp_truncated`` (the document ended, or was cut at
  upnpdesc.MAX_DESCRIPTION bytes, before its root element closed).
* ``dpws_metadata`` (DPWS 1.1 §4.1, WS-MetadataExchange: the body of a 200 response, with an XML media
  type, to a POST whose Content-Type was application/soap+xml, when that body is a GetResponse holding
  ``wsx:Metadata``; subject ``src``, the server, the device the metadata describes): ThisModel's
  ``dpws_manufacturer``, ``dpws_manufacturer_url``, ``dpws_model_name``, ``dpws_model_number``,
  ``dpws_model_url``, ``dpws_presentation_url``; ThisDevice's ``dpws_friendly_name``,
  ``dpws_firmware_version``, ``dpws_serial_number`` (None when absent); ``dpws_types`` (the wsdp:Types
  of the hosting device and hosted services, Clark notation where the prefix is declared);
  ``dpws_computer`` (pub:Computer, [MS-PBSD] §2.2: "NAME/Domain:D", "NAME\\Workgroup:WG", "NAME\\NotJoined");
  ``dpws_truncated`` (wsx:Metadata did not close within dpwsmeta.MAX_METADATA bytes).
* ``ipp_request`` (RFC 8010 §3.1, the body of a POST with Content-Type application/ipp; subject ``src``, the
  client): ``ipp_version``, ``ipp_operation_id``, ``ipp_operation`` (RFC 8011 §5.4.15 name,
  "Get-Printer-Attributes"), ``ipp_request_id``, the operation attributes ``ipp_printer_uri``,
  ``ipp_requested_attributes``, ``ipp_document_format``; ``ipp_complete`` (its end-of-attributes tag read).
  Who asks (requesting-user-name), job and document names and the document itself are never read.
* ``ipp_response`` (the application/ipp body of a 200 answer to such a POST, or to a request not seen: lost in a gap
  or before the capture began; subject ``src``, the server, the printer): ``ipp_version``, ``ipp_status``,
  ``ipp_status_name``, ``ipp_request_id``, the printer group's ``ipp_make_and_model``, ``ipp_device_id`` (IEEE 1284)
  and its ``ipp_device_mfg``, ``ipp_device_mdl``, ``ipp_device_cmd``, ``ipp_device_cls``, ``ipp_info``, ``ipp_uuid``,
  ``ipp_more_info``, ``ipp_icons``, ``ipp_firmware_name``, ``ipp_firmware_string_version`` (PWG 5100.13),
  ``ipp_document_formats``, ``ipp_features``, ``ipp_versions``, ``ipp_cups_queue`` (False), ``ipp_complete``; never
  printer-location or printer-name (set by the operator).
* ``ipp_queue_response``: the same fields, ``ipp_cups_queue`` True: a CUPS scheduler answering for one of its
  queues (its ``printer-type`` extension, or a printer-uri-supported under /printers/ or /classes/). The make,
  model and device id are the queue's (its driver's, the printer's behind it), not the answering host's.
* ``rdp_gateway_channel`` (the body of an RDG_IN_DATA request, a Remote Desktop Gateway's IN channel; subject
  ``src``, the client): ``client_name``, ``target_host``, ``target_alternatives``, ``target_port``,
  ``target_protocol`` of the tunnel's first packets (dissect/tsgu.py ChannelReader, its first tsgu.MAX_BODY bytes).

Pipelined messages are followed; bodies framed by Content-Length or chunked transfer coding (RFC 9112 §6-7) are
skipped; a body delimited by connection close ends that direction. Framing is read as RFC 9112 §6.3 says, and where
recipients may frame a message differently its direction is read no further (request smuggling, §11.2), as at an
invalid Content-Length: a body is chunked only when chunked is the final transfer coding (a response's other codings
run until close; a request's, or any in HTTP/1.0, §6.1, end the direction); Transfer-Encoding overrides Content-Length
(``framing_conflict``); the server of a request so framed MUST close the connection after answering it (§6.3 (3)), but
a lenient one reads on by Transfer-Encoding, as this reader does, so what the client sends next (a smuggled request)
is read and reported (30b4804); chunk-data ends with CRLF (§7.1). A line ends with CRLF or a bare LF (§2.2; but see
httphead.head_lines), past a gap too. A field line that is none (§5.1: no colon, whitespace before it, CR, LF or NUL)
makes its message invalid: counted (a ParseError), the line dropped, and the message still reported, with ``invalid``
True (a lenient server, an attacker's own among them, answers it: one junk line must not hide a C&C's request or a
login guess from the sensor), its body framed by the valid fields and not read; one naming Content-Length or
Transfer-Encoding, or a fold (obs-fold, read as a space, §5.2) of one, ends the direction. The framing fields are read
whole, whatever MAX_HEADERS and MAX_VALUE keep. After a 101 or a CONNECT's 2xx (RFC 9110 §15.2.2, RFC 9112 §6.3 (2))
neither direction is the connection's HTTP (a tunnel's TLS or HTTP: dissect/httptunnel.py); a status code under 100,
invalid, is a final answer
(RFC 9110 §15: a client reads it as a 5xx), no interim 1xx. Only a body that may be a description, metadata, IPP or a
gateway's IN channel is read, and only its first MAX_DESCRIPTION / MAX_METADATA / ipp.MAX_MESSAGE / tsgu.MAX_BODY
bytes.

Bytes the capture lost (a dropped packet: the engine's ``gap``) do not end the flow: the direction drops what
it held of the message (and the body being read; a document being read, a description, metadata, IPP, is reported
as read up to the hole, its truncated or complete field saying it was cut) and looks for the next message head, which
must pass more than one read in sync (streambuf.resync_head, httphead.valid_head): at a segment start (past any empty
lines, RFC 9112 §2.2), or at a line start only where the message it frames ends right where another start line
begins (httphead.framed_length; a body's text may hold a whole message at a line start: a log, a message/http
document, RFC 9112 §10.1), a request line of any method where the byte before it is known to end a line (else one of
the registered methods httphead lists: a hole ending inside a method leaves a token, 'PROPFIND' -> 'PFIND') or a status
line of HTTP/1.0 or 1.1, the whole head
within MAX_HEAD, every field line a token and a colon, and a request of HTTP/1.1 carrying Host (RFC 9112 §3.2).
Which request an answer belongs to is no longer known past a gap in either direction, so the methods remembered to
frame answers (HEAD) are dropped, and
the requests read after a hole in the client's direction, or in the server's while requests awaited answers, are
answered after an unknown number of answers to those before the hole or lost in it (RFC 9112 §9.3.2): they are
counted, never remembered, so no answer is framed by another request's method (a HEAD's bodiless answer taken as a
GET's would read the next response as its body), till one is read that the client sent after such an answer came (a
final response read since the request before it that took no method, which the request's Acknowledgment Number
covers where the capture has one: a client that waits for each answer). A head whose empty line a lost segment held
alone (a sender writing that CRLF on its own) is read once the next bytes of its direction begin a message exactly two
bytes past it, or the peer's Acknowledgment Number covers exactly those two bytes, when it frames no body
(httphead.unended_head).

This module reads the messages' heads; their bodies are walked, and documents read, by dissect/httpbody.py, lost
bytes handled by dissect/httpgap.py, a flow's first bytes recognised by dissect/httpstart.py.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import httpgap, httpstart, httptunnel, streambuf, tsgu
from iotwarden.dissect.base import Packet, StreamDissector, safety_net
from iotwarden.dissect.dpwsmeta import SOAP_POST, MetadataReader, is_soap_request, may_be_metadata
from iotwarden.dissect.httpbody import DESCRIPTION, READERS, SENDER, body_length, describe, malformed, skip_body
from iotwarden.dissect.httpgap import PIPELINED, RESYNC_STATE_KEY, SPARE, UNPAIRED, UNSURE
from iotwarden.dissect.httphead import (
    FRAMING,
    HEAD_END,
    MAX_HEAD,
    MAX_HEADERS,
    MAX_VALUE,
    REQUEST_LINE,
    RESYNC_LINE_STARTS,
    RESYNC_STARTS,
    STATUS_LINE,
    Fields,
    authorization_fields,
    basic_credentials,
    framed_length,
    head_end,
    head_lines,
    header_fields,
    valid_head,
)
from iotwarden.dissect.ipp import IPP_POST, IppReader, is_ipp
from iotwarden.dissect.upnpdesc import DescriptionReader, may_be_description
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_MESSAGES = 32  # messages dissected per direction of one flow (max_messages_per_flow)
# request methods remembered to frame their responses (HEAD has no body); the requests past it are counted
# (state "methods_unpaired"), and every one after them too, so their answers are read without a method, never
# with a later request's: pairing holds whatever MAX_MESSAGES is
MAX_PENDING_METHODS = 32
# stream bytes read of a flow, both directions, bodies included (StreamDissector.max_stream_bytes): the heads of a
# keep-alive connection's first requests and responses and the bodies read between them (IPP, TS Gateway,
# device metadata); about what the 200-packet cap it replaces read of full-size segments (~290 KB), but a header
# block in 1-byte segments whole
MAX_STREAM_BYTES = 256 * 1024
# the head's limits and Basic credentials (dissect/httphead.py), the body's reader key (dissect/httpbody.py) and the
# resync key (dissect/httpgap.py), split from this module, stay importable from here
__all__ = ["DESCRIPTION", "MAX_HEAD", "MAX_HEADERS", "MAX_MESSAGES", "MAX_PENDING_METHODS", "MAX_STREAM_BYTES",
           "MAX_VALUE", "RESYNC_STATE_KEY", "HttpDissector", "basic_credentials"]

# a request on the connection asked to change protocols (an Upgrade field): only then a 101 switches it (RFC 9110 §7.8)
UPGRADE_ASKED = "upgrade_asked"


def _fields(lines: list[bytes], state: dict[str, Any], key: str) -> Fields:
    """The head's field lines read (httphead.header_fields). One that is none, or a fold, that may be a framing field
    to some reader leaves the framing unknown (RFC 9112 §5.1-5.2, §11.2): ``key``'s direction closes, as at an invalid
    Content-Length; any other such line is dropped, the message framed by its valid fields (_message)."""
    fields = header_fields(lines[1:])
    if fields.framing_unsure:
        raise malformed(state, key, state.get(key), f"framing field line malformed or folded in {lines[0][:40]!r}")
    return fields


class HttpDissector(StreamDissector):
    name: ClassVar[str] = "http"
    # 5357: Windows' WSDAPI listener (http.sys), where WSD clients fetch DPWS metadata; 631: IPP (RFC 8010 §5)
    tcp_ports: ClassVar[tuple[int, ...]] = (80, 8080, 8000, 8008, 8081, 8888, 7547, 5000, 49152, 5357, 631)
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    # what a direction leaves unconsumed between feeds: an incomplete head (or chunk-size line, or
    # trailer section) of at most MAX_HEAD bytes and the start of its terminator (streambuf.bound)
    max_buffer: ClassVar[int] = MAX_HEAD + 3

    def __init__(self) -> None:
        self.tunnel = httptunnel.Tunnel(HttpDissector)  # a CONNECT tunnel's TLS or HTTP (dissect/httptunnel.py)

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return httpstart.probe(payload, to_server)

    def gap(self, state: dict[str, Any], to_server: bool) -> list[Observation]:
        """Bytes of a direction were lost: drop what it held and look for its next message head (module doc;
        dissect/httpgap.py), reporting what was read of a document the hole cut; in a CONNECT tunnel, the tunnel's."""
        if httptunnel.TUNNEL in state:
            return self.tunnel.gap(state, to_server)
        return httpgap.gap(self.name, state, to_server)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if httptunnel.TUNNEL in state:  # after a 2xx to CONNECT (dissect/httptunnel.py)
            return self.tunnel.feed(pkt, data, state)
        key = streambuf.direction_key(pkt.to_server)
        out: list[Observation] = []
        # a malformed message: the ones after it are still read
        error: ParseError | None = httpgap.ended_in_holes(pkt, data, state, out, self._read_head)
        if state.get("closed_" + key):
            if key == streambuf.S2C and state.get(DESCRIPTION) is not None:  # a description ends at close
                describe(self.name, pkt, data, state, out, ended=False)
            if error is not None:
                raise streambuf.failed(error, out)
            return out
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        if state.get(RESYNC_STATE_KEY + key):
            if not streambuf.resync_head(buf, len(buf) - len(data), RESYNC_STARTS[pkt.to_server],
                                         lambda head: valid_head(head, pkt.to_server), MAX_HEAD,
                                         framed=lambda head, data, at: framed_length(head, data, at, pkt.to_server),
                                         ends=HEAD_END, after_line=RESYNC_LINE_STARTS[pkt.to_server]):
                if error is not None:
                    raise streambuf.failed(error, out)
                return out
            state[RESYNC_STATE_KEY + key] = False
        try:
            if (buf and not state.get("messages_" + key) and not state.get(READERS[key])
                    and not httpstart.may_start(buf)):
                raise malformed(state, key, buf, f"not the start of an HTTP message: {bytes(buf[:20])!r}")
            while buf and not state.get("closed_" + key):
                step = skip_body(self.name, pkt, buf, state, out, key=key)
                if step == "skipped":
                    continue
                if step == "wait":
                    break
                end, body = head_end(buf)  # CRLF or bare LF line ends (RFC 9112 §2.2)
                if end > MAX_HEAD or (end < 0 and len(buf) > MAX_HEAD + 3):
                    raise malformed(state, key, buf, f"HTTP header section over {MAX_HEAD} bytes")
                if end < 0:
                    break
                head = bytes(buf[:end])
                del buf[:body]
                error = self._read_head(pkt, head, key, state, out) or error
        except ParseError as exc:  # the framing broke (the direction is closed): nothing more of it is read, and
            state[READERS[key]] = None  # what the delivery held past the break is not kept for the flow's life,
            buf.clear()  # nor read as a document the broken framing no longer delimits
            raise streambuf.failed(exc, out) from None
        if httptunnel.TUNNEL in state:  # a 2xx to CONNECT was read: the bytes past it are the tunnel's
            return self.tunnel.started(pkt, state, out, error)
        if buf and state.get("closed_" + key):
            if key == streambuf.S2C and state.get(DESCRIPTION) is not None:
                # the start of a description that runs until the connection closes
                describe(self.name, pkt, bytes(buf), state, out, ended=False)
            buf.clear()  # nothing more of this direction is read
        streambuf.bound(state, buf, self.max_buffer)
        if (state.get("closed_" + streambuf.C2S) and state.get("closed_" + streambuf.S2C)
                and state.get(DESCRIPTION) is None):  # a closed request direction reads no more body
            state["done"] = True
        if error is not None:
            raise streambuf.failed(error, out)
        return out

    def _read_head(self, pkt: Packet, head: bytes, key: str, state: dict[str, Any],
                   out: list[Observation]) -> ParseError | None:
        """Read one message head of ``key``'s direction into ``out``, counted against MAX_MESSAGES (the direction
        then closes; the feed drops what it holds); the ParseError of a malformed one (its head is consumed, a
        broken start line closed the direction)."""
        count = state.get("messages_" + key, 0) + 1
        state["messages_" + key] = count
        error = None
        try:
            obs, error = self._message(pkt, head, key, state)
            out.append(obs)
        except ParseError as exc:
            error = exc
        if count >= MAX_MESSAGES:
            state["closed_" + key] = True
            state[READERS[key]] = None
        return error

    def _message(self, pkt: Packet, head: bytes, key: str,
                 state: dict[str, Any]) -> tuple[Observation, ParseError | None]:
        """The message ``head`` of ``key``'s direction, and the ParseError that counts it when it is invalid (a field
        line that is none: reported all the same, ``invalid`` True; module doc); raises at a broken start line."""
        lines = head_lines(head)
        while lines and not lines[0]:  # RFC 9112 §2.2: ignore empty lines before a request-line
            lines.pop(0)
        if not lines:
            raise ParseError("empty HTTP message head")
        if key == streambuf.C2S:
            fields, length, bad = self._request(pkt, lines, state)
            kind = "request"
        else:
            fields, length, bad = self._response(pkt, lines, state)
            kind = "response"
        if bad is not None:  # an invalid message (RFC 9112 §5.1): reported and counted, its body not read but skipped
            state[READERS[key]] = None
            fields["invalid"] = True
        if state.get(READERS[key]) is not None:
            state[SENDER + key] = pkt  # the body's sender: a gap reports what was read of its document (gap)
        if length == -1:
            state["chunk_" + key] = 0
        elif length == -2:
            state["closed_" + key] = True  # RFC 9112 §6.3 (8): body runs until the connection closes
        elif length > 0:
            state["body_" + key] = length
        error = ParseError(f"malformed header field line {bad[:40]!r}") if bad is not None else None
        return pkt.observation(self.name, kind, fields), error

    def _request(self, pkt: Packet, lines: list[bytes],
                 state: dict[str, Any]) -> tuple[dict[str, Any], int, bytes | None]:
        m = REQUEST_LINE.match(lines[0])
        if m is None:
            state["closed_c2s"] = True
            raise ParseError(f"not an HTTP request line: {lines[0][:40]!r}")
        headers, framing, bad, _ = _fields(lines, state, streambuf.C2S)
        method = m.group(1).decode("ascii")[:MAX_VALUE]
        fields: dict[str, Any] = {
            "method": method,
            "uri": m.group(2).decode("utf-8", "replace")[:MAX_VALUE],
            "version": m.group(3).decode("ascii"),
            "host": headers.get("host"),
            "user_agent": headers.get("user-agent"),
            "basic_auth": False,
            "headers": headers,
        }
        # RFC 9112 §6.3 (3): Transfer-Encoding frames it, a sign of request smuggling (§11.2). Its server MUST close the
        # connection after answering; a lenient one that does not reads on by Transfer-Encoding as this reader does,
        # so what the client sends next is read and reported: a smuggled request is what a defender wants to see
        if len(framing) == len(FRAMING):
            fields["framing_conflict"] = True
        if "upgrade" in headers:
            state[UPGRADE_ASKED] = True
        if method == "CONNECT":  # its 2xx answer opens a tunnel to this authority-form target (RFC 9110 §9.3.6)
            state[httptunnel.TARGET] = fields["uri"]
        if "authorization" in headers:
            fields.update(authorization_fields(headers["authorization"]))
        if (gateway := tsgu.transport(method, fields["uri"], headers)) is not None:
            fields["rdp_gateway"] = gateway  # an RD Gateway tunnel's request (dissect/tsgu.py)
        for name in ("authorization", "proxy-authorization"):  # credentials never leave the dissector
            if name in headers:
                headers[name] = headers[name].partition(" ")[0] + " [redacted]"
        pending: list[str] = state.setdefault("methods", [])
        ipp = method == "POST" and is_ipp(headers.get("content-type"))
        spare = state.pop(SPARE, False)
        if pending or state.get(UNPAIRED):
            state[PIPELINED] = True
        if state.get(UNSURE) and not state.get(PIPELINED) and httpgap.after_gap(pkt, spare):  # every answer came
            state.pop(UNSURE)
            state.pop(UNPAIRED, None)
        if state.get(UNSURE):
            state[UNPAIRED] = state.get(UNPAIRED, 0) + 1
        elif len(pending) < MAX_PENDING_METHODS and not state.get(UNPAIRED):  # a SOAP or IPP POST is marked: its
            pending.append(SOAP_POST if method == "POST" and is_soap_request(method, headers.get("content-type"))
                           else IPP_POST if ipp else method)  # answer may be read
        else:  # queued behind the methods not remembered: answered without its method
            state[UNPAIRED] = state.get(UNPAIRED, 0) + 1
        # RFC 9112 §6.3: a request without Content-Length or chunked coding has no body
        length = body_length(framing, state, streambuf.C2S, fields["version"])
        if ipp and length:
            state[READERS[streambuf.C2S]] = IppReader(request=True)  # RFC 8010 §3.1: the IPP request
        elif gateway == tsgu.HTTP and method == tsgu.IN_DATA and length:
            state[READERS[streambuf.C2S]] = tsgu.ChannelReader()  # the tunnel's first packets (dissect/tsgu.py)
        return fields, length, bad

    def _response(self, pkt: Packet, lines: list[bytes],
                  state: dict[str, Any]) -> tuple[dict[str, Any], int, bytes | None]:
        m = STATUS_LINE.match(lines[0])
        if m is None:
            state["closed_s2c"] = True
            raise ParseError(f"not an HTTP status line: {lines[0][:40]!r}")
        headers, framing, bad, _ = _fields(lines, state, streambuf.S2C)
        status = int(m.group(2))
        fields: dict[str, Any] = {
            "version": m.group(1).decode("ascii"),
            "status": status,
            "reason": (m.group(3) or b"").decode("utf-8", "replace")[:MAX_VALUE],
            "server": headers.get("server"),
            "www_authenticate": headers.get("www-authenticate"),
            "content_type": headers.get("content-type"),
            "headers": headers,
        }
        if len(framing) == len(FRAMING):  # RFC 9112 §6.3 (3): Transfer-Encoding frames it
            fields["framing_conflict"] = True
        pending: list[str] = state.setdefault("methods", [])
        method = None
        interim = 100 <= status < 200  # RFC 9110 §15: one under 100 is invalid, a client reads it as a 5xx (final)
        if not interim:  # the oldest request's answer: a remembered method, else one past MAX_PENDING_METHODS
            if pending:
                method = pending.pop(0)
            else:  # an answer to a request counted, or to one before a gap or lost in it
                state[SPARE] = streambuf.seq_end(pkt)
                if state.get(UNPAIRED):
                    state[UNPAIRED] -= 1
        # a 101 switches only a connection whose client asked to (RFC 9110 §7.8: a server MUST NOT switch to a protocol
        # the request's Upgrade did not name), or whose request this reader did not see (before the capture, in a gap):
        # else a server and client in league could hide everything after it from the sensor with one bogus 101
        switched = status == 101 and (state.get(UPGRADE_ASKED) or not pending)
        if switched or (method == "CONNECT" and 200 <= status < 300):
            # the connection carries another protocol, or a tunnel, from the empty line on (RFC 9110 §15.2.2, RFC 9112
            # §6.3 (2)): neither direction is HTTP any more; a tunnel's bytes are read on (dissect/httptunnel.py)
            if not switched:
                httptunnel.Tunnel.opening(state)
            for key in (streambuf.C2S, streambuf.S2C):
                state["closed_" + key] = True
                state.get(key, bytearray()).clear()
            return fields, 0, bad
        # RFC 9112 §6.3 (1): HEAD responses, 1xx, 204 and 304 carry no body
        if method == "HEAD" or interim or status in (204, 304):
            return fields, 0, bad
        length = body_length(framing, state, streambuf.S2C, fields["version"])
        if length and may_be_description(status, method, fields["content_type"]):
            state[DESCRIPTION] = DescriptionReader()  # the rare body read (UDA 2.0 §2.3)
        elif length and method == SOAP_POST and may_be_metadata(status, method, fields["content_type"]):
            state[DESCRIPTION] = MetadataReader()  # a WS-Transfer GetResponse (DPWS 1.1 §4.1)
        elif length and method in (IPP_POST, None) and status == 200 and is_ipp(fields["content_type"]):
            # RFC 8010 §3.1: the IPP response; an answer whose request is not known (lost in a gap, sent before the
            # capture began, or counted unpaired) is read by its own label, application/ipp marking IPP messages
            # alone (RFC 8010 §4); the answer of a request known to be another (a GET) is not
            state[DESCRIPTION] = IppReader(request=False)
        return fields, length, bad
