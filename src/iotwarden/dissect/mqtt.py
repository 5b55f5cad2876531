"""MQTT dissector: control packets of MQTT 3.1, 3.1.1 (OASIS 2014) and 5.0 (OASIS 2019) over TCP.

Kinds and fields (subject ``src``, the sender; for ``connect`` the broker is ``dst``):

* ``connect`` (3.1.1 §3.1, 5.0 §3.1): ``protocol_name`` ("MQTT", "MQIsdp"), ``protocol_version``
  (3, 4 or 5), ``client_id``, ``username``, ``password_present`` (the password is never kept),
  ``clean_session``, ``keepalive``, ``will_topic``.
* ``connack`` (§3.2): ``session_present``, ``return_code`` (and, for 5.0, the same byte as ``reason_code``).
* ``publish`` (§3.3): ``topic``, ``qos``, ``retain``, ``dup``, ``payload_len``.
* ``subscribe`` (§3.8): ``topics`` (list of ``{"topic", "qos"}``); ``unsubscribe`` (§3.10): ``topics``.

Big PUBLISH payloads are skipped without buffering. At most :data:`MAX_MESSAGES` observations per
flow. The version negotiated by CONNECT decides how later packets are read (5.0 adds properties);
a flow seen from the middle is read as 3.1.1.

Bytes the capture lost (the engine's ``gap``) do not end the flow. MQTT has no marker to find a packet by, so
the direction drops what it held and takes the next packet only where a segment begins (where the bytes after
the hole begin, or a later segment), and only a packet that :func:`plausible` accepts: a fixed header whose
flags are those its type must carry (3.1.1 §2.2.2, 5.0 §2.1.3), a remaining length within MAX_PACKET and at
least its type's shortest, the whole packet parsed, a PUBLISH's topic name a non-empty one without wildcards,
NUL or control characters (3.1.1 §4.7.3, §1.5.3), and the packet ending where the segment's bytes end or
followed by another such fixed header. Bytes in the middle of a payload are so never read as a packet.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector, confirm, safety_net
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_MESSAGES = 64  # observations per flow (max_messages_per_flow)
MAX_TOPICS = 32  # topic filters kept per SUBSCRIBE / UNSUBSCRIBE
MAX_STRING = 1024  # characters kept of a client id, user name or topic
MAX_PACKET = 64 * 1024  # a non-PUBLISH control packet larger than this is malformed for our purpose
MAX_PUBLISH_HEAD = 8 * 1024  # a PUBLISH longer than this is read from its first bytes, the rest skipped
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): CONNECT and its answer, then
# the control packets and PUBLISH heads up to MAX_MESSAGES observations among the published payloads; the
# 400-packet cap it replaces read up to ~580 KB of full-size segments (the shared captures' MQTT flows end
# within 200 KB)
MAX_STREAM_BYTES = 512 * 1024

CONNECT, CONNACK, PUBLISH, SUBSCRIBE, UNSUBSCRIBE = 1, 2, 3, 8, 10  # 3.1.1 §2.2.1 packet types
PUBREL = 6  # the one acknowledgement whose fixed-header flags are 0b0010 (3.1.1 §2.2.2)
# the shortest remaining length of the packets that describe nothing: PUBACK..PUBCOMP, SUBACK, UNSUBACK carry
# a packet identifier (3.1.1 §3.4-§3.7, §3.9, §3.11); PINGREQ, PINGRESP and DISCONNECT may be empty
_LEAST_REMAINING = {4: 2, 5: 2, PUBREL: 2, 7: 2, 9: 3, 11: 2}
MQTT5 = 5


def _varint(buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """Variable Byte Integer (5.0 §1.5.5, 3.1.1 §2.2.3): (value, next pos), None if incomplete."""
    value = 0
    for i in range(4):
        if pos + i >= len(buf):
            return None
        b = buf[pos + i]
        value |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return value, pos + i + 1
    raise ParseError("MQTT variable byte integer longer than 4 bytes")


class _Body:
    """Bounds-checked reader over one packet's variable header and payload."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ParseError("MQTT packet shorter than its fields")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def binary(self) -> bytes:  # 3.1.1 §1.5.3 UTF-8 string / 5.0 §1.5.6 binary data: 2-byte length
        return self.take(self.u16())

    def string(self) -> str:
        return self.binary().decode("utf-8", "replace")[:MAX_STRING]

    def properties(self) -> None:  # 5.0 §2.2.2: property length then properties, skipped
        got = _varint(self.data, self.pos)
        if got is None:
            raise ParseError("MQTT 5 property length truncated")
        length, self.pos = got
        self.take(length)

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def parse_connect(body: bytes) -> dict[str, Any]:
    """CONNECT variable header and payload (3.1.1 §3.1.2-3.1.3, 5.0 §3.1.2-3.1.3)."""
    r = _Body(body)
    name = r.string()
    if name not in ("MQTT", "MQIsdp"):
        raise ParseError(f"MQTT CONNECT with protocol name {name[:10]!r}")
    version = r.u8()
    flags = r.u8()
    keepalive = r.u16()
    if version == MQTT5:
        r.properties()
    fields: dict[str, Any] = {
        "protocol_name": name,
        "protocol_version": version,
        "client_id": r.string(),
        "clean_session": bool(flags & 0x02),
        "keepalive": keepalive,
        "username": None,
        "password_present": bool(flags & 0x40),
        "will_topic": None,
    }
    if flags & 0x04:  # Will Flag
        if version == MQTT5:
            r.properties()
        fields["will_topic"] = r.string()
        r.binary()  # will message
    if flags & 0x80:
        fields["username"] = r.string()
    return fields


def parse_connack(body: bytes, version: int) -> dict[str, Any]:
    r = _Body(body)
    ack_flags, code = r.u8(), r.u8()
    fields: dict[str, Any] = {"session_present": bool(ack_flags & 0x01), "return_code": code}
    if version == MQTT5:
        fields["reason_code"] = code  # 5.0 §3.2.2.2 calls the same byte the Connect Reason Code
    return fields


def parse_publish_head(head: bytes, flags: int, remaining: int, version: int) -> dict[str, Any]:
    """PUBLISH fields from the first bytes of the packet (3.1.1 §3.3.1-3.3.2); ``remaining`` is its length."""
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise ParseError("MQTT PUBLISH with QoS 3")
    r = _Body(head)
    topic = r.string()
    if qos:
        r.u16()  # packet identifier
    if version == MQTT5:
        r.properties()
    return {"topic": topic, "qos": qos, "retain": bool(flags & 0x01), "dup": bool(flags & 0x08),
            "payload_len": remaining - r.pos}


def parse_subscribe(body: bytes, version: int, with_options: bool) -> dict[str, Any]:
    r = _Body(body)
    r.u16()  # packet identifier
    if version == MQTT5:
        r.properties()
    topics: list[Any] = []
    while r.left:
        topic = r.string()
        if with_options:
            options = r.u8()
            if len(topics) < MAX_TOPICS:
                topics.append({"topic": topic, "qos": options & 0x03})
        elif len(topics) < MAX_TOPICS:
            topics.append(topic)
    if not topics:
        raise ParseError("MQTT (UN)SUBSCRIBE without topic filters")  # 3.1.1 §3.8.3
    return {"topics": topics}


RESYNC_STATE_KEY = "resync_"  # + direction: past a gap, looking for the next packet (module doc)
_FIXED_FLAGS = {SUBSCRIBE: 2, UNSUBSCRIBE: 2, PUBREL: 2}  # 3.1.1 §2.2.2 Table 2.2; every other type but PUBLISH 0
_EMPTY = (12, 13)  # PINGREQ, PINGRESP: remaining length 0 (3.1.1 §3.12.1, §3.13.1)


def _header(buf: bytes | bytearray, start: int, version: int) -> tuple[int, int, int, int] | bool | None:
    """(type, flags, where its body begins, where it ends) of the fixed header at ``start`` when its type, flags
    and remaining length are ones a packet of its type may have; None when the header is not whole yet; False
    otherwise."""
    if start + 2 > len(buf):
        return None
    ptype, flags = buf[start] >> 4, buf[start] & 0x0F
    if ptype == 0 or (ptype == 15 and version != MQTT5):  # reserved; AUTH is 5.0's (§3.15)
        return False
    if (flags >> 1) & 3 == 3 if ptype == PUBLISH else flags != _FIXED_FLAGS.get(ptype, 0):
        return False
    try:
        got = _varint(buf, start + 1)
    except ParseError:
        return False
    if got is None:
        return None
    remaining, body = got
    if remaining > MAX_PACKET or remaining < _LEAST_REMAINING.get(ptype, 0) or (ptype in _EMPTY and remaining):
        return False
    return ptype, flags, body, body + remaining


def plausible(buf: bytes | bytearray, start: int, version: int) -> bool | None:
    """Whether the packet at ``start`` of ``buf`` may be taken for one past a gap (module doc); None when more
    bytes are needed to tell."""
    head = _header(buf, start, version)
    if not isinstance(head, tuple):
        return head
    ptype, flags, begin, end = head
    if end > len(buf):
        return None
    if end < len(buf) and _header(buf, end, version) is False:
        return False
    body = bytes(buf[begin:end])
    try:
        if ptype == CONNECT:
            parse_connect(body)
        elif ptype == CONNACK:
            parse_connack(body, version)
        elif ptype == PUBLISH:
            topic = parse_publish_head(body, flags, len(body), version)["topic"]
            if (not topic and version != MQTT5) or any(
                    c in "#+\ufffd" or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in topic):
                return False
        elif ptype in (SUBSCRIBE, UNSUBSCRIBE):
            parse_subscribe(body, version, with_options=ptype == SUBSCRIBE)
    except ParseError:
        return False
    return True


class MqttDissector(StreamDissector):
    name: ClassVar[str] = "mqtt"
    tcp_ports: ClassVar[tuple[int, ...]] = (1883,)  # IANA; 8883 is MQTT over TLS (the tls dissector)
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    max_buffer: ClassVar[int] = MAX_PACKET + 5  # a fixed header (<= 5 bytes) and one packet

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A CONNECT fixed header followed by the protocol name "MQTT" or "MQIsdp"."""
        if len(payload) < 9 or payload[0] != 0x10:
            return False
        try:
            got = _varint(payload, 1)
        except ParseError:  # a remaining length of five bytes or more: no MQTT, and a probe only answers
            return False
        if got is None:
            return False
        pos = got[1]
        return payload[pos : pos + 6] == b"\x00\x04MQTT" or payload[pos : pos + 8] == b"\x00\x06MQIsdp"

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """Bytes of a direction were lost: drop what it held and look for its next packet (module doc)."""
        key = streambuf.direction_key(to_server)
        state.pop(key, None)
        state.pop("skip_" + key, None)
        state[RESYNC_STATE_KEY + key] = True

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        if state.get(RESYNC_STATE_KEY + key):
            buf0: bytearray = state.setdefault(key, bytearray())
            buf0 += data
            version = state.get("version", 4)
            # a packet may begin where the buffer or this delivery does (a segment start); a candidate not whole
            # yet is at most a fixed header and MAX_PACKET (plausible)
            if not streambuf.resync(buf0, (0, len(buf0) - len(data)), lambda at: plausible(buf0, at, version)):
                return []
            state[RESYNC_STATE_KEY + key] = False
            data = b""
        skip = state.get("skip_" + key, 0)
        if skip:  # the rest of a large PUBLISH payload
            n = min(skip, len(data))
            state["skip_" + key] = skip - n
            data = data[n:]
        buf: bytearray = state.setdefault(key, bytearray())
        buf += data
        out: list[Observation] = []
        error: ParseError | None = None  # a malformed packet: the ones after it are still read
        while len(buf) >= 2 and not state.get("done"):
            try:
                got = _varint(buf, 1)
            except ParseError as exc:  # the framing is lost
                state["done"] = True
                raise streambuf.failed(exc, out) from None
            if got is None:
                break
            remaining, start = got
            ptype, flags = buf[0] >> 4, buf[0] & 0x0F
            if ptype == 0:
                state["done"] = True
                raise streambuf.failed(ParseError("MQTT reserved packet type 0"), out)
            total = start + remaining
            if ptype != PUBLISH and remaining > MAX_PACKET:  # by its declared length, however it arrives
                state["done"] = True
                buf.clear()
                raise streambuf.failed(ParseError(f"MQTT control packet over {MAX_PACKET} bytes"), out)
            if ptype == PUBLISH and total > MAX_PUBLISH_HEAD:
                # a big PUBLISH: described from its head, the payload skipped unbuffered
                if len(buf) < start + MAX_PUBLISH_HEAD:
                    break
                head = bytes(buf[start : start + MAX_PUBLISH_HEAD])
                consumed = min(total, len(buf))
                del buf[:consumed]
                state["skip_" + key] = total - consumed
                try:
                    fields = parse_publish_head(head, flags, remaining, state.get("version", 4))
                except ParseError as exc:
                    error = error or exc
                    continue
                out.extend(self._emit(pkt, "publish", fields, state))
                continue
            if len(buf) < total:
                break
            body = bytes(buf[start:total])
            del buf[:total]
            try:
                out.extend(self._packet(pkt, ptype, body, state, flags=flags, remaining=remaining))
            except ParseError as exc:
                error = error or exc
        if error is not None:
            raise streambuf.failed(error, out)
        if len(buf) > self.max_buffer:
            state["done"] = True
            buf.clear()
            raise ParseError(f"MQTT control packet over {self.max_buffer} bytes")
        return out

    def _packet(self, pkt: Packet, ptype: int, body: bytes, state: dict[str, Any], *, flags: int,
                remaining: int) -> list[Observation]:
        version = state.get("version", 4)
        if ptype == CONNECT:
            fields = parse_connect(body)
            state["version"] = fields["protocol_version"]
            return self._emit(pkt, "connect", fields, state)
        if ptype == CONNACK:
            return self._emit(pkt, "connack", parse_connack(body, version), state)
        if ptype == PUBLISH:
            return self._emit(pkt, "publish", parse_publish_head(body, flags, remaining, version), state)
        if ptype == SUBSCRIBE:
            return self._emit(pkt, "subscribe", parse_subscribe(body, version, with_options=True), state)
        if ptype == UNSUBSCRIBE:
            return self._emit(pkt, "unsubscribe", parse_subscribe(body, version, with_options=False), state)
        if flags == (2 if ptype == PUBREL else 0) and remaining >= _LEAST_REMAINING.get(ptype, 0):
            confirm(state)  # a well-formed acknowledgement or ping: MQTT, though it describes nothing
        return []  # acknowledgements, PINGREQ/PINGRESP, DISCONNECT, AUTH: nothing to describe

    def _emit(self, pkt: Packet, kind: str, fields: dict[str, Any], state: dict[str, Any]) -> list[Observation]:
        count = state.get("messages", 0) + 1
        state["messages"] = count
        if count >= MAX_MESSAGES:
            state["done"] = True
        return [pkt.observation(self.name, kind, fields)]
