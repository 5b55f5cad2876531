"""KNXnet/IP dissector (udp/3671, the routing multicast group 224.0.23.12, and tcp/3671): KNX IP interfaces and
routers, the tunnelling, routing and device-management traffic they carry, and KNX IP Secure.

Sources: KNX Standard 03.08.02 Core (header: header length 6, protocol version 0x10, service type, total length
§2.3; HPAI §7.5.2 and DIBs §7.5.4; SEARCH, DESCRIPTION, CONNECT, CONNECTIONSTATE, DISCONNECT §7.6-7.8),
03.08.03 Device Management (DEVICE_CONFIGURATION_REQUEST/ACK), 03.08.04 Tunnelling (TUNNELLING_REQUEST/ACK),
03.08.05 Routing (ROUTING_INDICATION, LOST_MESSAGE, BUSY), AN159 KNX IP Secure (SECURE_WRAPPER, SESSION_*,
TIMER_NOTIFY); field layouts cross-checked with Wireshark's ``packet-knxip.c`` (service, DIB, family, medium,
connection type and status value strings as ``tshark -G values`` lists knxip.*). cEMI frames: dissect/cemi.py.

Kinds (subject ``src``) are the services: ``search_request``, ``search_response``, ``search_request_ext``,
``search_response_ext``, ``description_request``, ``description_response``, ``connect_request``,
``connect_response``, ``connectionstate_request``/``_response``, ``disconnect_request``/``_response``,
``device_configuration_request``/``_ack``, ``tunnelling_request``/``_ack``, ``tunnelling_feature_*``,
``routing_indication``, ``routing_lost_message``, ``routing_busy``, ``routing_system_broadcast``, ``remote_*``,
``secure_wrapper``, ``session_request``, ``session_response``, ``session_authenticate``, ``session_status``,
``timer_notify``, and ``message`` (a service type this module does not know). Every kind has ``service_type``
("0x0420") and ``version``. HPAIs: ``discovery_endpoint``, ``control_endpoint``, ``data_endpoint`` ("ip:port") and
``host_protocol`` (udp, tcp). DIBs (search and description responses): DEVICE_INFO gives ``medium``,
``programming_mode``, ``individual_address``, ``project_installation_id``, ``serial_number`` (12 hex digits),
``manufacturer_id`` (the serial number's first two octets: the KNX Association's manufacturer code),
``multicast_address``, ``mac_address``, ``friendly_name``; SUPP_SVC_FAMILIES ``service_families`` (core,
device_management, tunnelling, routing, remote_logging, remote_configuration, object_server, security) and
``secure`` (the security family is advertised: KNX IP Secure is supported); SECURED_SERVICE_FAMILIES
``secured_service_families``; MFR_DATA ``mfr_manufacturer_id``; ``dib_types`` names every DIB seen. Connections:
``channel_id``, ``status`` (E_NO_ERROR ...), ``connection_type`` (device_management, tunnelling, ...),
``knx_layer`` (link, raw, busmonitor), ``tunnel_address``; connection header ``sequence``; routing
``lost_messages``, ``wait_time_ms``; secure ``session_id``, ``secure_sequence``, ``serial_number``,
``message_tag``, ``user_id``, ``session_status``. Tunnelling, device-configuration and routing messages add the
cEMI frame's fields, and the model/otops.py operation of a frame that reprograms or reconfigures a device when its
sender asked for it: an L_Data.req or M_*.req from a client of the interface, or an L_Data.ind it routed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect import cemi
from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.otstream import ResyncOnGap, collect, frames, u16be
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import NAME, OPERATION

PORT = 3671  # IANA "knxnetip"; routing multicast group 224.0.23.12 (03.08.05 §2.5)
HEADER = 6
VERSIONS = frozenset({0x10, 0x11, 0x20})  # 03.08.02 §2.3.2 KNXNETIP_VERSION_10; later revisions' headers
MAX_DIBS = 16  # DIBs read from one response (a device sends at most eight kinds)
SERVICES = {  # 03.08.01 §5.3 service type identifiers
    0x0201: "search_request", 0x0202: "search_response", 0x0203: "description_request",
    0x0204: "description_response", 0x0205: "connect_request", 0x0206: "connect_response",
    0x0207: "connectionstate_request", 0x0208: "connectionstate_response", 0x0209: "disconnect_request",
    0x020A: "disconnect_response", 0x020B: "search_request_ext", 0x020C: "search_response_ext",
    0x0310: "device_configuration_request", 0x0311: "device_configuration_ack", 0x0420: "tunnelling_request",
    0x0421: "tunnelling_ack", 0x0422: "tunnelling_feature_get", 0x0423: "tunnelling_feature_response",
    0x0424: "tunnelling_feature_set", 0x0425: "tunnelling_feature_info", 0x0530: "routing_indication",
    0x0531: "routing_lost_message", 0x0532: "routing_busy", 0x0533: "routing_system_broadcast",
    0x0740: "remote_diagnostic_request", 0x0741: "remote_diagnostic_response",
    0x0742: "remote_basic_configuration_request", 0x0743: "remote_reset_request", 0x0950: "secure_wrapper",
    0x0951: "session_request", 0x0952: "session_response", 0x0953: "session_authenticate",
    0x0954: "session_status", 0x0955: "timer_notify",
}
FAMILIES = {0x02: "core", 0x03: "device_management", 0x04: "tunnelling", 0x05: "routing", 0x06: "remote_logging",
            0x07: "remote_configuration", 0x08: "object_server", 0x09: "security"}  # §7.5.4.3
DIB_TYPES = {0x01: "device_info", 0x02: "supp_svc_families", 0x03: "ip_config", 0x04: "ip_cur_config",
             0x05: "knx_addresses", 0x06: "secured_service_families", 0x07: "tunnelling_info",
             0x08: "extended_device_info", 0xFE: "mfr_data"}
MEDIA = {0x01: "tp0", 0x02: "tp1", 0x04: "pl110", 0x08: "pl132", 0x10: "rf", 0x20: "ip"}  # §7.5.4.2
CONNECTION_TYPES = {0x03: "device_management", 0x04: "tunnelling", 0x06: "remote_logging",
                    0x07: "remote_configuration", 0x08: "object_server"}
KNX_LAYERS = {0x02: "link", 0x04: "raw", 0x80: "busmonitor"}  # 03.08.04 §4.4.3
STATUS = {0x00: "E_NO_ERROR", 0x01: "E_HOST_PROTOCOL_TYPE", 0x02: "E_VERSION_NOT_SUPPORTED",
          0x04: "E_SEQUENCE_NUMBER", 0x21: "E_CONNECTION_ID", 0x22: "E_CONNECTION_TYPE",
          0x23: "E_CONNECTION_OPTION", 0x24: "E_NO_MORE_CONNECTIONS", 0x25: "E_NO_MORE_UNIQUE_CONNECTIONS",
          0x26: "E_DATA_CONNECTION", 0x27: "E_KNX_CONNECTION", 0x28: "E_AUTHORISATION_ERROR",
          0x29: "E_TUNNELLING_LAYER"}
SESSION_STATUS = ("authentication_success", "authentication_failed", "unauthenticated", "timeout", "keepalive",
                  "close")  # AN159 SESSION_STATUS codes 0-5
CEMI_SERVICES = frozenset({"tunnelling_request", "device_configuration_request", "routing_indication",
                           "routing_system_broadcast"})
WITH_DIBS = {"search_response": True, "search_response_ext": True, "description_response": False}  # after an HPAI?
SECURE_MAC = 16  # AN159: the CCM message authentication code closing a SECURE_WRAPPER


def frame_length(buf: bytes) -> int | None:
    """Size of the KNXnet/IP frame at the head of ``buf`` (its header's total length)."""
    if len(buf) < HEADER:
        return None
    if buf[0] != HEADER or buf[1] not in VERSIONS:
        raise ParseError(f"not a KNXnet/IP header: length {buf[0]}, version 0x{buf[1]:02x}")
    total = u16be(buf, 4)
    if total < HEADER:
        raise ParseError(f"KNXnet/IP total length {total} shorter than its header")
    return total


def _hpai(buf: bytes, off: int, name: str, fields: dict[str, Any]) -> int:
    """Read the HPAI (§7.5.2: length 8, host protocol, IPv4 address, port) at ``off``; the offset after it."""
    if off + 8 > len(buf) or buf[off] != 8:
        raise ParseError(f"KNXnet/IP {name} HPAI cut short or malformed")
    fields["host_protocol"] = {1: "udp", 2: "tcp"}.get(buf[off + 1], "unknown")
    fields[name] = f"{'.'.join(str(b) for b in buf[off + 2 : off + 6])}:{u16be(buf, off + 6)}"
    return off + 8


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _name(raw: bytes) -> str:
    """The 30-octet friendly name (ISO 8859-1, NUL-padded, §7.5.4.2) without control characters."""
    text = raw.split(b"\x00", 1)[0].decode("latin-1")
    return "".join(c for c in text if c.isprintable()).strip()


def _device_info(body: bytes, fields: dict[str, Any]) -> None:
    if len(body) < 52:
        raise ParseError("KNXnet/IP DEVICE_INFO DIB shorter than 54 octets")
    serial = body[6:12]
    fields.update(medium=MEDIA.get(body[0], "unknown"), programming_mode=bool(body[1] & 0x01),
                  individual_address=cemi.individual(u16be(body, 2)), project_installation_id=u16be(body, 4),
                  serial_number=serial.hex(), manufacturer_id=u16be(serial, 0),
                  multicast_address=".".join(str(b) for b in body[12:16]), mac_address=_mac(body[16:22]))
    name = _name(body[22:52])
    if name:
        fields["friendly_name"] = name


def _families(body: bytes) -> list[str]:
    return [FAMILIES.get(body[i], f"0x{body[i]:02x}") for i in range(0, len(body) - 1, 2)]


def parse_dibs(buf: bytes, off: int, fields: dict[str, Any]) -> None:
    """The DIBs (§7.5.4: length, type, body) from ``off`` to the end of the frame."""
    seen: list[str] = []
    while off < len(buf) and len(seen) < MAX_DIBS:
        if off + 2 > len(buf) or buf[off] < 2 or off + buf[off] > len(buf):
            raise ParseError("KNXnet/IP DIB cut short")
        size, kind, body = buf[off], buf[off + 1], buf[off + 2 : off + buf[off]]
        seen.append(DIB_TYPES.get(kind, f"0x{kind:02x}"))
        if kind == 0x01:
            _device_info(body, fields)
        elif kind == 0x02:
            fields["service_families"] = families = _families(body)
            fields["secure"] = "security" in families
        elif kind == 0x06:
            fields["secured_service_families"] = _families(body)
        elif kind == 0xFE and len(body) >= 2:
            fields["mfr_manufacturer_id"] = u16be(body, 0)
        off += size
    fields["dib_types"] = seen


def parse_frame(frame: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one KNXnet/IP frame; ParseError when malformed or cut short."""
    size = frame_length(frame)
    if size is None or size > len(frame):
        raise ParseError("KNXnet/IP frame shorter than its total length")
    frame = frame[:size]  # a datagram may be padded
    service_type = u16be(frame, 2)
    kind = SERVICES.get(service_type, "message")
    fields: dict[str, Any] = {"service_type": f"0x{service_type:04x}", "version": frame[1]}
    _body(kind, frame, fields)
    return kind, fields


def _body(kind: str, frame: bytes, fields: dict[str, Any]) -> None:
    off = HEADER
    if kind in ("search_request", "search_request_ext"):
        _hpai(frame, off, "discovery_endpoint", fields)
    elif kind in WITH_DIBS:
        parse_dibs(frame, _hpai(frame, off, "control_endpoint", fields) if WITH_DIBS[kind] else off, fields)
    elif kind == "description_request":
        _hpai(frame, off, "control_endpoint", fields)
    elif kind == "connect_request":
        off = _hpai(frame, _hpai(frame, off, "control_endpoint", fields), "data_endpoint", fields)
        if off + 2 > len(frame):
            raise ParseError("KNXnet/IP CONNECT_REQUEST without CRI")
        fields["connection_type"] = CONNECTION_TYPES.get(frame[off + 1], f"0x{frame[off + 1]:02x}")
        if frame[off + 1] == 0x04 and frame[off] >= 4 and off + 3 <= len(frame):
            fields["knx_layer"] = KNX_LAYERS.get(frame[off + 2], f"0x{frame[off + 2]:02x}")
    elif kind == "connect_response":
        _connect_response(frame, fields)
    elif kind in ("connectionstate_request", "disconnect_request"):
        _channel(frame, fields, status=False)
        _hpai(frame, off + 2, "control_endpoint", fields)
    elif kind in ("connectionstate_response", "disconnect_response"):
        _channel(frame, fields, status=True)
    elif kind in CEMI_SERVICES or kind in ("device_configuration_ack", "tunnelling_ack"):
        _connection_data(kind, frame, fields)
    elif kind == "routing_lost_message" and len(frame) >= 10:
        fields["lost_messages"] = u16be(frame, 8)
    elif kind == "routing_busy" and len(frame) >= 10:
        fields["wait_time_ms"] = u16be(frame, 8)
    elif kind.startswith(("secure", "session", "timer")):
        _secure(kind, frame, fields)


def _channel(frame: bytes, fields: dict[str, Any], *, status: bool) -> None:
    if len(frame) < HEADER + 2:
        raise ParseError("KNXnet/IP connection message without channel id")
    fields["channel_id"] = frame[HEADER]
    if status:
        fields["status"] = STATUS.get(frame[HEADER + 1], f"0x{frame[HEADER + 1]:02x}")


def _connect_response(frame: bytes, fields: dict[str, Any]) -> None:
    _channel(frame, fields, status=True)
    if frame[HEADER + 1] != 0 or len(frame) < HEADER + 10:
        return  # an error response carries no HPAI and CRD (§7.8.2)
    off = _hpai(frame, HEADER + 2, "data_endpoint", fields)
    if off + 2 <= len(frame):
        fields["connection_type"] = CONNECTION_TYPES.get(frame[off + 1], f"0x{frame[off + 1]:02x}")
        if frame[off + 1] == 0x04 and frame[off] >= 4 and off + 4 <= len(frame):
            fields["tunnel_address"] = cemi.individual(u16be(frame, off + 2))


def _connection_data(kind: str, frame: bytes, fields: dict[str, Any]) -> None:
    """Connection header (03.08.04 §4.4.6: length 4, channel id, sequence counter, reserved or status) and cEMI."""
    off = HEADER
    if kind not in ("routing_indication", "routing_system_broadcast"):
        if len(frame) < HEADER + 4 or frame[HEADER] != 4:
            raise ParseError("KNXnet/IP connection header cut short or malformed")
        fields.update(channel_id=frame[HEADER + 1], sequence=frame[HEADER + 2])
        if kind.endswith("_ack"):
            fields["status"] = STATUS.get(frame[HEADER + 3], f"0x{frame[HEADER + 3]:02x}")
            return
        off += 4
    frame_fields = cemi.parse(frame[off:])
    fields.update(frame_fields)
    code = frame_fields["message_code"]
    asked = code in cemi.REQUESTS if kind != "routing_indication" else code == 0x29  # a routed L_Data.ind
    found = cemi.operation(frame_fields) if asked else None
    if found is not None:
        fields[OPERATION], fields[NAME] = found


def _secure(kind: str, frame: bytes, fields: dict[str, Any]) -> None:
    """AN159 KNX IP Secure: the wrapper's clear header, the session handshake (never keys or MACs)."""
    body = frame[HEADER:]
    if kind == "secure_wrapper":
        if len(body) < 16 + SECURE_MAC:
            raise ParseError("KNXnet/IP SECURE_WRAPPER cut short")
        fields.update(session_id=u16be(body, 0), secure_sequence=int.from_bytes(body[2:8], "big"),
                      serial_number=body[8:14].hex(), message_tag=u16be(body, 14),
                      encrypted_length=len(body) - 16 - SECURE_MAC)
    elif kind == "session_request":
        _hpai(frame, HEADER, "control_endpoint", fields)
    elif kind == "session_response" and len(body) >= 2:
        fields["session_id"] = u16be(body, 0)
    elif kind == "session_authenticate" and len(body) >= 2:
        fields["user_id"] = body[1]
    elif kind == "session_status" and body:
        fields["session_status"] = SESSION_STATUS[body[0]] if body[0] < len(SESSION_STATUS) else str(body[0])
    elif kind == "timer_notify" and len(body) >= 14:
        fields.update(secure_sequence=int.from_bytes(body[0:6], "big"), serial_number=body[6:12].hex(),
                      message_tag=u16be(body, 12))


class KnxipDissector(ResyncOnGap, StreamDissector):
    name: ClassVar[str] = "knxip"
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    ot_operations: ClassVar[bool] = True

    def memo_key(self, payload: bytes) -> bytes | None:
        return payload  # a datagram's fields depend on its bytes alone (memo contract in dissect/base.py)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto == 17:
            if not data:
                return []
            kind, fields = parse_frame(data)
            return [pkt.observation(self.name, kind, fields)]
        msgs, error = frames(state, pkt.to_server, data, frame_length)
        return collect(msgs, [error] if error else [], lambda msg: self._tcp(pkt, msg))

    def _tcp(self, pkt: Packet, msg: bytes) -> Iterator[Observation]:
        kind, fields = parse_frame(msg)
        yield pkt.observation(self.name, kind, fields)
