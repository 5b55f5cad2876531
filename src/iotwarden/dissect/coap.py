"""CoAP (RFC 7252) on 5683/udp: constrained IoT devices' requests, responses and resource lists.

kind: ``request`` (code class 0, method 0.01-0.31), ``response`` (classes 2, 4, 5) or ``empty``
(code 0.00: ping, empty ACK, RST, §4.1); subject ``src``. Fields (RFC 7252 §3): ``version``,
``type`` ("CON", "NON", "ACK", "RST"), ``code`` (method name "GET", "POST", "PUT", "DELETE",
"FETCH", "PATCH", "iPATCH" (RFC 8132), else "c.dd" as in "2.05"), ``message_id``, ``token`` (hex),
``options`` (option numbers in order), and from the options (§5.10): ``uri_host`` (3),
``uri_port`` (7), ``uri_path`` ("/a/b" from Uri-Path 11), ``uri_query`` (Uri-Query 15 items joined
by "&"), ``content_format`` (12), ``accept`` (17), ``observe`` (6, RFC 7641 §2); ``payload_length``;
``links``: the link-values of a CoRE Link Format payload (content-format 40, RFC 6690 §2, e.g.
"</sensors/temp>;rt=\"temperature-c\""), at most MAX_LINKS. More than MAX_OPTIONS options is a ParseError.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_OPTIONS = 64  # options read from one message
MAX_LINKS = 64  # link-values kept from a /.well-known/core response
MAX_LINK_CHARS = 256  # characters kept of one link-value
TYPES = ("CON", "NON", "ACK", "RST")  # §3
METHODS = {1: "GET", 2: "POST", 3: "PUT", 4: "DELETE", 5: "FETCH", 6: "PATCH", 7: "iPATCH"}
CONTENT_FORMAT_LINK = 40  # application/link-format, RFC 6690 §7.2


def _extended(nibble: int, buf: bytes, pos: int) -> tuple[int, int]:
    """An option delta or length nibble with its extended bytes (§3.1)."""
    if nibble < 13:
        return nibble, pos
    if nibble == 13:
        if pos + 1 > len(buf):
            raise ParseError("coap: truncated extended option field")
        return buf[pos] + 13, pos + 1
    if nibble == 14:
        if pos + 2 > len(buf):
            raise ParseError("coap: truncated extended option field")
        return int.from_bytes(buf[pos : pos + 2], "big") + 269, pos + 2
    raise ParseError("coap: reserved option nibble 15")


def _uint(b: bytes) -> int:
    return int.from_bytes(b, "big")


def _links(payload: bytes) -> list[str]:
    """Top-level comma-separated link-values (RFC 6690 §2), commas inside quotes kept."""
    links: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in payload.decode("utf-8", "backslashreplace"):
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            links.append("".join(current)[:MAX_LINK_CHARS])
            current = []
            if len(links) >= MAX_LINKS:
                return links
        else:
            current.append(ch)
    if current:
        links.append("".join(current)[:MAX_LINK_CHARS])
    return links


def parse_coap(buf: bytes) -> tuple[str, dict[str, Any]]:
    if len(buf) < 4:
        raise ParseError("coap: shorter than the 4-octet header")
    version, mtype, tkl = buf[0] >> 6, (buf[0] >> 4) & 3, buf[0] & 0xF
    if version != 1:
        raise ParseError(f"coap: version {version}")  # §3: other versions MUST be ignored
    if tkl > 8:
        raise ParseError("coap: token length 9-15 is reserved")  # §3
    code = buf[1]
    cls, detail = code >> 5, code & 0x1F
    if len(buf) < 4 + tkl:
        raise ParseError("coap: truncated token")
    fields: dict[str, Any] = {
        "version": version,
        "type": TYPES[mtype],
        "code": METHODS.get(detail, f"0.{detail:02d}") if cls == 0 and detail else f"{cls}.{detail:02d}",
        "message_id": _uint(buf[2:4]),
        "token": buf[4 : 4 + tkl].hex(),
    }
    pos = 4 + tkl
    number = 0
    numbers: list[int] = []
    path: list[str] = []
    query: list[str] = []
    payload = b""
    while pos < len(buf):
        if buf[pos] == 0xFF:  # payload marker, §3
            payload = buf[pos + 1 :]
            if not payload:
                raise ParseError("coap: payload marker with an empty payload")  # §3
            break
        if len(numbers) >= MAX_OPTIONS:
            raise ParseError("coap: more options than MAX_OPTIONS")
        delta, pos2 = _extended(buf[pos] >> 4, buf, pos + 1)
        length, pos2 = _extended(buf[pos] & 0xF, buf, pos2)
        value = buf[pos2 : pos2 + length]
        if len(value) != length:
            raise ParseError("coap: option value runs past the message")
        pos = pos2 + length
        number += delta
        numbers.append(number)
        if number == 3:
            fields["uri_host"] = value.decode("utf-8", "backslashreplace")
        elif number == 7:
            fields["uri_port"] = _uint(value)
        elif number == 11:
            path.append(value.decode("utf-8", "backslashreplace"))
        elif number == 15:
            query.append(value.decode("utf-8", "backslashreplace"))
        elif number == 12:
            fields["content_format"] = _uint(value)
        elif number == 17:
            fields["accept"] = _uint(value)
        elif number == 6:
            fields["observe"] = _uint(value)
    fields["options"] = numbers
    if path:
        fields["uri_path"] = "/" + "/".join(path)
    if query:
        fields["uri_query"] = "&".join(query)
    fields["payload_length"] = len(payload)
    if payload and fields.get("content_format") == CONTENT_FORMAT_LINK:
        fields["links"] = _links(payload)
    if code == 0:
        return "empty", fields
    if cls == 0:
        return "request", fields
    if cls in (2, 4, 5):
        return "response", fields
    raise ParseError(f"coap: reserved code class {cls}")  # §12.1


class CoapDissector(Dissector):
    name: ClassVar[str] = "coap"
    udp_ports: ClassVar[tuple[int, ...]] = (5683,)
    # actuator commands (PUT/POST) matter one by one, like OT protocol requests: see them all
    max_packets_per_flow: ClassVar[int | None] = None

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload  # the fields depend on the datagram alone (memo contract in dissect/base.py)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        kind, fields = parse_coap(pkt.payload)
        return [pkt.observation(self.name, kind, fields)]
