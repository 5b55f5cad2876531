"""BitTorrent's Mainline DHT: KRPC messages over UDP (BEP 5), found by their bencoded form on any port.

A KRPC message is one bencoded dictionary (BEP 3 "bencoding") per datagram: ``t`` the transaction id,
``y`` the message type (``q`` query, ``r`` response, ``e`` error); a query names its method in ``q``
(``ping``, ``find_node``, ``get_peers``, ``announce_peer``) and its arguments in ``a``, a response its values
in ``r``; both carry the sender's 20-byte node ``id``. BEP 20 adds ``v``, the client's version (two letters
naming the client, two bytes of version).

IoT botnets build their command channel on it: Mozi (Netlab 360, "Mozi, Another Botnet Using DHT", 2019) and
Hajime (Rapidity Networks, "Hajime: Analysis of a decentralized internet worm for IoT devices", 2016) join the
public DHT to find their peers and configuration. An IoT device has no reason to speak it.

Every message is one Observation (subject ``src``): kind ``query``, ``response`` or ``error``, fields
``method`` (a query's), ``node_id`` (hex, the sender's), ``client`` (BEP 20: the two letters and the version
as hex, "LT0102") when sent. Nothing else of a message is kept (peers' addresses in ``nodes``/``values`` are
other hosts' facts). Limits: :data:`MAX_DEPTH`, :data:`MAX_ITEMS`, one message per datagram, the first
:data:`MAX_MESSAGES` of a flow.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_DEPTH = 8  # nesting of lists and dictionaries in one message (a KRPC message nests three deep)
MAX_ITEMS = 512  # values decoded in one message
MAX_STRING = 64 * 1024  # a byte string's stated length
MAX_MESSAGES = 16  # messages read of one flow: a DHT exchange is a query and its answer
NODE_ID = 20  # BEP 5: node ids are 160-bit
KINDS = {b"q": "query", b"r": "response", b"e": "error"}


def decode(data: bytes) -> Any:
    """The one bencoded value ``data`` holds (BEP 3): int, bytes, list or dict with bytes keys; ParseError
    for anything else, for trailing bytes or past the limits."""
    items = [0]

    def value(pos: int, depth: int) -> tuple[Any, int]:
        items[0] += 1
        if items[0] > MAX_ITEMS or depth > MAX_DEPTH:
            raise ParseError("bencoded value past the limits")
        if pos >= len(data):
            raise ParseError("bencoded value cut short")
        lead = data[pos]
        if lead == ord("i"):
            end = data.find(b"e", pos + 1, pos + 24)
            text = data[pos + 1 : end]
            if end < 0 or not text.lstrip(b"-").isdigit() or (text.startswith((b"-0", b"0")) and text != b"0"):
                raise ParseError("bad bencoded integer")
            return int(text), end + 1
        if lead in (ord("l"), ord("d")):
            out_list: list[Any] = []
            pos += 1
            while pos < len(data) and data[pos] != ord("e"):
                item, pos = value(pos, depth + 1)
                out_list.append(item)
            if pos >= len(data):
                raise ParseError("bencoded list cut short")
            if lead == ord("l"):
                return out_list, pos + 1
            if len(out_list) % 2 or not all(isinstance(k, bytes) for k in out_list[::2]):
                raise ParseError("bencoded dictionary with a key that is no string")
            return dict(zip(out_list[::2], out_list[1::2], strict=True)), pos + 1
        colon = data.find(b":", pos, pos + 8)
        size = data[pos:colon]
        if colon < 0 or not size.isdigit() or int(size) > MAX_STRING or colon + 1 + int(size) > len(data):
            raise ParseError("bad bencoded string")
        end = colon + 1 + int(size)
        return data[colon + 1 : end], end

    found, used = value(0, 0)
    if used != len(data):
        raise ParseError("bytes after the bencoded message")
    return found


def looks_like(payload: bytes) -> bool:
    """A whole KRPC dictionary: 'd', the 'e' that ends it, and its message type key (BEP 5: ``1:y1:q/r/e``)."""
    return payload[:1] == b"d" and payload[-1:] == b"e" and any(k in payload for k in (b"1:y1:q", b"1:y1:r",
                                                                                       b"1:y1:e"))


def parse(payload: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one KRPC message; ParseError when it is none."""
    message = decode(payload)
    if not isinstance(message, dict) or not isinstance(message.get(b"t"), bytes):
        raise ParseError("not a KRPC message (no transaction id)")
    kind = KINDS.get(message.get(b"y"))  # type: ignore[arg-type]
    if kind is None:
        raise ParseError("not a KRPC message (no message type)")
    fields: dict[str, Any] = {"method": None, "node_id": None, "client": None}
    body = message.get(b"a" if kind == "query" else b"r")
    if kind == "query":
        method = message.get(b"q")
        if not isinstance(method, bytes) or not method or len(method) > 32:
            raise ParseError("KRPC query without a method")
        fields["method"] = method.decode("ascii", "replace")
    if isinstance(body, dict) and isinstance(body.get(b"id"), bytes) and len(body[b"id"]) == NODE_ID:
        fields["node_id"] = body[b"id"].hex()
    elif kind != "error":
        raise ParseError("KRPC message without its sender's node id")
    version = message.get(b"v")
    if isinstance(version, bytes) and len(version) == 4 and version[:2].isalpha() and version[:2].isascii():
        fields["client"] = version[:2].decode("ascii") + version[2:].hex()
    return kind, fields


class DhtDissector(Dissector):
    name: ClassVar[str] = "dht"
    max_packets_per_flow: ClassVar[int | None] = MAX_MESSAGES  # no port of its own: found by the probe

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return looks_like(payload)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto != 17:
            state["done"] = True
            raise ParseError("dht: KRPC runs over UDP; TCP bytes are another's")
        kind, fields = parse(pkt.payload)
        return [pkt.observation(self.name, kind, fields)]
