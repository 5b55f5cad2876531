"""DNP3 dissector (IEEE 1815-2012) over TCP and UDP port 20000: link, transport and application layers.

Link frames (§9.2: start 0x0564, CRC-checked header and 16-octet data blocks, a bad CRC is a
ParseError) carry transport segments (§8.2) reassembled per direction into application fragments
(§4.2). Kinds, subject ``src`` (a request describes the master, a response the outstation):

* ``request`` / ``response`` / ``unsolicited``: ``src``/``dst`` (link addresses, §9.2.4.1.3-4),
  ``link_function``, ``function_code``, ``function`` (application function, §4.2.2.5 table 4-2),
  ``sequence``, ``confirm``, ``iin`` (responses: IIN1 << 8 | IIN2, §4.2.2.7) and ``iin_flags``
  (names of the set bits), ``objects`` (object headers, §4.2.2.7: group, variation, qualifier,
  range, bounded by :data:`MAX_OBJECTS`), ``objects_truncated`` when not every header was read and
  ``objects_malformed`` when the object headers break the encoding (the function is still reported:
  a malformed direct operate is still a direct operate).
* ``link``: a frame without user data (link status, reset, test, acknowledgements, §9.2.4.1.3):
  ``src``, ``dst``, ``link_function``, ``primary``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector, confirm
from iotwarden.dissect.dnp3objects import parse_objects
from iotwarden.dissect.otstream import ResyncOnGap, collect, frames
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 20000
START = b"\x05\x64"  # §9.2.4.1.1 start octets
MAX_OBJECTS = 32  # object headers listed per fragment
# §8.2.1: a transport segment carries at most 249 application octets and its sequence number has
# 6 bits, so a fragment that needs more than 64 segments cannot be reassembled unambiguously
MAX_FRAGMENT = 64 * 249

FUNCTIONS: dict[int, str] = {  # §4.2.2.5, table 4-2 (requests 0-33) and 129-131 (responses)
    0: "confirm",
    1: "read",
    2: "write",
    3: "select",
    4: "operate",
    5: "direct_operate",
    6: "direct_operate_nr",
    7: "immediate_freeze",
    8: "immediate_freeze_nr",
    9: "freeze_clear",
    10: "freeze_clear_nr",
    11: "freeze_at_time",
    12: "freeze_at_time_nr",
    13: "cold_restart",
    14: "warm_restart",
    15: "initialize_data",
    16: "initialize_application",
    17: "start_application",
    18: "stop_application",
    19: "save_configuration",
    20: "enable_unsolicited",
    21: "disable_unsolicited",
    22: "assign_class",
    23: "delay_measure",
    24: "record_current_time",
    25: "open_file",
    26: "close_file",
    27: "delete_file",
    28: "get_file_info",
    29: "authenticate_file",
    30: "abort_file",
    31: "activate_config",
    32: "authenticate_req",
    33: "authenticate_err",
    129: "response",
    130: "unsolicited_response",
    131: "authenticate_resp",
}
# §9.2.4.1.3 link function codes: primary (PRM=1) and secondary (PRM=0) frames
LINK_PRIMARY = {0: "reset_link_states", 2: "test_link_states", 3: "confirmed_user_data",
                4: "unconfirmed_user_data", 9: "request_link_status"}
LINK_SECONDARY = {0: "ack", 1: "nack", 11: "link_status", 15: "not_supported"}
IIN_BITS = (  # §4.2.2.7.5 (IIN1.0 .. IIN2.7)
    "all_stations", "class_1_events", "class_2_events", "class_3_events",
    "need_time", "local_control", "device_trouble", "device_restart",
    "no_func_code_support", "object_unknown", "parameter_error", "event_buffer_overflow",
    "already_executing", "config_corrupt", "reserved_2", "reserved_1",
)


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):  # §9.2.4.2: polynomial 0x3D65, bit-reversed 0xA6BC, complemented
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = (crc >> 8) ^ CRC_TABLE[(crc ^ b) & 0xFF]
    return ~crc & 0xFFFF


def frame_length(buf: bytes) -> int | None:
    """Size of the link frame at the head of ``buf`` with its CRCs (§9.2.4.1)."""
    if len(buf) < 3:
        return None
    if buf[:2] != START:
        raise ParseError("DNP3 link frame without start octets 0x0564")
    if buf[2] < 5:
        raise ParseError(f"DNP3 link length {buf[2]} below the minimum of 5")
    user = buf[2] - 5
    return 10 + user + 2 * ((user + 15) // 16)


def link_user_data(frame: bytes) -> tuple[int, int, int, bytes]:
    """Control, destination, source and user data of one link frame, CRCs checked (§9.2.4.2)."""
    if len(frame) < 10 or frame_length(frame) != len(frame):
        raise ParseError("truncated DNP3 link frame")
    if crc16(frame[:8]) != int.from_bytes(frame[8:10], "little"):
        raise ParseError("DNP3 link header CRC mismatch")
    user = bytearray()
    off = 10
    while off < len(frame):
        block = frame[off : min(off + 16, len(frame) - 2)]
        end = off + len(block)
        if crc16(block) != int.from_bytes(frame[end : end + 2], "little"):
            raise ParseError("DNP3 data block CRC mismatch")
        user += block
        off = end + 2
    return frame[3], int.from_bytes(frame[4:6], "little"), int.from_bytes(frame[6:8], "little"), bytes(user)


def parse_application(apdu: bytes) -> tuple[str, dict[str, Any]]:
    """Kind and fields of one application fragment (§4.2.2)."""
    if len(apdu) < 2:
        raise ParseError("DNP3 application fragment without function code")
    ac, fc = apdu[0], apdu[1]
    fields: dict[str, Any] = {  # §4.2.2.4 application control: FIR FIN CON UNS SEQ
        "function_code": fc,
        "function": FUNCTIONS.get(fc, "unknown"),
        "sequence": ac & 0x0F,
        "confirm": bool(ac & 0x20),
        "unsolicited": bool(ac & 0x10),
    }
    body = 2
    if fc >= 129:  # responses carry IIN (§4.2.2.7)
        if len(apdu) < 4:
            raise ParseError("DNP3 response without internal indications")
        iin = (apdu[2] << 8) | apdu[3]
        fields["iin"] = iin
        fields["iin_flags"] = [IIN_BITS[i] for i in range(16) if iin & (1 << (i - 8 if i >= 8 else i + 8))]
        body = 4
        kind = "unsolicited" if fc == 130 else "response"
    else:
        kind = "request"
    with_data = fc >= 129 or fc not in (1, 7, 8, 9, 10, 20, 21, 22)  # requests whose objects carry values
    objects: list[dict[str, Any]] = []
    try:
        complete = parse_objects(apdu[body:], objects, with_data=with_data, limit=MAX_OBJECTS)
    except ParseError:  # the function is what matters: keep it, say the objects were malformed
        fields["objects_malformed"] = True
        complete = False
    fields["objects"] = objects
    if not complete:
        fields["objects_truncated"] = True
    return kind, fields


class Dnp3Dissector(ResyncOnGap, StreamDissector):
    name: ClassVar[str] = "dnp3"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_packets_per_flow: ClassVar[int | None] = None

    def probe(self, payload: bytes, to_server: bool) -> bool:
        if len(payload) < 10 or payload[:2] != START or payload[2] < 5:
            return False
        return crc16(payload[:8]) == int.from_bytes(payload[8:10], "little")

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        errors: list[str] = []
        if pkt.ip_proto == 17:  # one datagram holds whole link frames
            pdus, error = frames({}, pkt.to_server, data, frame_length)
        else:
            pdus, error = frames(state, pkt.to_server, data, _resync_length)
        if error:
            errors.append(error)
        key = "frag_c2s" if pkt.to_server else "frag_s2c"

        def parse(frame: bytes) -> Iterator[Observation]:
            control, dst, src, user = link_user_data(frame)
            confirm(state)  # a link frame whose CRCs hold (§9.2.4.2), even one that completes no fragment
            primary = bool(control & 0x40)
            link_fields: dict[str, Any] = {
                "src": src,
                "dst": dst,
                "link_function": (LINK_PRIMARY if primary else LINK_SECONDARY).get(control & 0x0F, "unknown"),
            }
            if not user:
                yield pkt.observation(self.name, "link", {**link_fields, "primary": primary})
                return
            apdu = _reassemble(state, key, user)
            if apdu is not None:
                kind, fields = parse_application(apdu)
                yield pkt.observation(self.name, kind, {**link_fields, **fields})

        return collect(pdus, errors, parse)


def _resync_length(buf: bytes) -> int | None:
    """Like :func:`frame_length`, but on a stream that lost sync the junk before the next start
    octets is returned as its own (invalid) PDU, so framing resumes at the next link frame."""
    if len(buf) >= 2 and buf[:2] != START:
        nxt = buf.find(START, 1)
        return nxt if nxt > 0 else (len(buf) if buf[-1] != START[0] else len(buf) - 1)
    return frame_length(buf)


def _reassemble(state: dict[str, Any], key: str, segment: bytes) -> bytes | None:
    """The application fragment this transport segment completes, if any (§8.2.1: FIN FIR SEQ)."""
    th = segment[0]
    fin, fir, seq = bool(th & 0x80), bool(th & 0x40), th & 0x3F
    if fir:
        state[key] = (seq, bytearray(segment[1:]))
    else:
        partial = state.get(key)
        if partial is None:
            raise ParseError("DNP3 transport segment without a first segment (FIR)")
        last, buf = partial
        if seq != (last + 1) & 0x3F:
            del state[key]
            raise ParseError(f"DNP3 transport sequence {seq} after {last}")
        buf += segment[1:]
        state[key] = (seq, buf)
    _, buf = state[key]
    if len(buf) > MAX_FRAGMENT:
        del state[key]
        raise ParseError(f"DNP3 application fragment over {MAX_FRAGMENT} bytes")
    if not fin:
        return None
    del state[key]
    return bytes(buf)
