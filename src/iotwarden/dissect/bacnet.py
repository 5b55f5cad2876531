"""BACnet/IP dissector (udp 47808): BVLC (ANSI/ASHRAE 135-2020 Annex J), NPDU (§6.2) and APDU (§20.1).

Kinds (subject ``src``): ``who_is``, ``i_am``, ``who_has``, ``i_have``, ``read_property``,
``write_property``, ``read_property_multiple``, ``device_communication_control``,
``reinitialize_device``, ``atomic_write_file`` (requests, and the complex ACKs of the read services),
``confirmed_request``/``unconfirmed_request`` (other services), ``simple_ack``, ``complex_ack``,
``error``, ``reject``, ``abort``, ``segment_ack``, ``network_message`` (§6.4) and ``bvlc`` (Annex J
messages without NPDU). Fields: ``bvlc_function`` (J.2), ``forwarded_from`` (J.2.9), ``npdu_control``
and ``snet``/``sadr``/``dnet``/``dadr`` (§6.2.2), ``apdu_type``, ``service`` (name), ``service_choice``,
``invoke_id`` (§20.1.2); i_am (§16.1.2): ``device_instance``, ``max_apdu``, ``segmentation``,
``vendor_id``; read/write property (§15.5, §15.9): ``object_type``, ``object_type_name``,
``object_instance``, ``property_id``, ``property`` and ``value`` for object-name (77), vendor-name (121),
model-name (70), firmware-revision (44), application-software-version (12), description (28),
location (58), and for object-identifier (75, the real instance behind a wildcard read),
vendor-identifier (120), system-status (112), protocol-version/revision (98, 139) and writes;
read_property_multiple ACKs (§15.7) give the identity values in ``properties``;
device_communication_control (§16.1): ``enable_disable``, ``duration``; reinitialize_device (§16.4):
``reinitialized_state``; both ``password_present``; atomic_write_file (§14.2): ``file_instance``,
``access``, ``start_position``, ``data_length``.

An answer only the responding device sends (SimpleACK, ComplexACK, Error, Reject: §20.1.4-§20.1.7) travelling
towards the flow's responder proves the roles the wrong way round (dissect/base.py ``flip_roles``): both ends use
47808, so the engine takes the first datagram's sender for the client, and a capture that lost the request
(a SPAN port's drop) or began after it would make the polling supervisor the server. Unicast datagrams (BVLC
Original-Unicast-NPDU, J.2.11), where requests and their answers travel, are therefore not memoised: each
answer is read with its direction; broadcasts (Who-Is, I-Am) still are.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect.bacnettags import (
    IDENTITY_PROPERTIES,
    PROPERTIES,
    Tag,
    app_value,
    object_id,
    read_tag,
    unsigned,
)
from iotwarden.dissect.base import Dissector, Packet, flip_roles
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 47808
ORIGINAL_UNICAST = 0x0A  # BVLC function Original-Unicast-NPDU (Annex J.2.11)
# APDUs only the device answering a confirmed request sends (§20.1.4 SimpleACK, §20.1.5 ComplexACK, §20.1.7
# Error, §20.1.8 Reject); Abort (§20.1.9) and SegmentACK (§20.1.6) may come from either end
RESPONDER_APDUS = ("simple_ack", "complex_ack", "error", "reject")
MAX_RPM_RESULTS = 32  # property results read from one read_property_multiple ACK

BVLC_FUNCTIONS = {  # Annex J.2
    0x00: "result", 0x01: "write_bdt", 0x02: "read_bdt", 0x03: "read_bdt_ack", 0x04: "forwarded_npdu",
    0x05: "register_foreign_device", 0x06: "read_fdt", 0x07: "read_fdt_ack", 0x08: "delete_fdt_entry",
    0x09: "distribute_broadcast_to_network", 0x0A: "original_unicast_npdu",
    0x0B: "original_broadcast_npdu", 0x0C: "secure_bvll",
}
APDU_TYPES = ("confirmed_request", "unconfirmed_request", "simple_ack", "complex_ack", "segment_ack",
              "error", "reject", "abort")  # §20.1.1 PDU type 0..7
CONFIRMED = (  # §21 BACnetConfirmedServiceChoice 0..33
    "acknowledge_alarm", "confirmed_cov_notification", "confirmed_event_notification", "get_alarm_summary",
    "get_enrollment_summary", "subscribe_cov", "atomic_read_file", "atomic_write_file", "add_list_element",
    "remove_list_element", "create_object", "delete_object", "read_property", "read_property_conditional",
    "read_property_multiple", "write_property", "write_property_multiple", "device_communication_control",
    "confirmed_private_transfer", "confirmed_text_message", "reinitialize_device", "vt_open", "vt_close",
    "vt_data", "authenticate", "request_key", "read_range", "life_safety_operation", "subscribe_cov_property",
    "get_event_information", "subscribe_cov_property_multiple", "confirmed_cov_notification_multiple",
    "confirmed_audit_notification", "audit_log_query",
)
UNCONFIRMED = (  # §21 BACnetUnconfirmedServiceChoice 0..14
    "i_am", "i_have", "unconfirmed_cov_notification", "unconfirmed_event_notification",
    "unconfirmed_private_transfer", "unconfirmed_text_message", "time_synchronization", "who_has", "who_is",
    "utc_time_synchronization", "write_group", "unconfirmed_cov_notification_multiple",
    "unconfirmed_audit_notification", "who_am_i", "you_are",
)
SERVICE_KINDS = frozenset({"who_is", "i_am", "who_has", "i_have", "read_property", "write_property",
                           "read_property_multiple", "device_communication_control", "reinitialize_device",
                           "atomic_write_file"})
SEGMENTATION = ("both", "transmit", "receive", "none")  # §21 BACnetSegmentation
ENABLE_DISABLE = ("enable", "disable", "disable_initiation")  # §16.1.1.1.2
REINIT_STATES = ("coldstart", "warmstart", "start_backup", "end_backup", "start_restore", "end_restore",
                 "abort_restore", "activate_changes")  # §16.4.1.1.1
NETWORK_MESSAGES = ("who_is_router_to_network", "i_am_router_to_network", "i_could_be_router_to_network",
                    "reject_message_to_network", "router_busy_to_network", "router_available_to_network",
                    "initialize_routing_table", "initialize_routing_table_ack",
                    "establish_connection_to_network", "disconnect_connection_to_network",
                    "challenge_request", "security_payload", "security_response", "request_key_update",
                    "update_key_set", "update_distribution_key", "request_master_key", "set_master_key",
                    "what_is_network_number", "network_number_is")  # §6.2.4


def _name(table: tuple[str, ...], index: int) -> str:
    return table[index] if index < len(table) else "unknown"


class _Tags:
    """Sequential reader over a service's tag stream."""

    def __init__(self, buf: bytes) -> None:
        self.buf, self.off = buf, 0

    def more(self) -> bool:
        return self.off < len(self.buf)

    def peek(self) -> Tag | None:
        return read_tag(self.buf, self.off)[0] if self.more() else None

    def next(self) -> Tag:
        tag, self.off = read_tag(self.buf, self.off)
        return tag

    def context(self, number: int) -> Tag | None:
        """The next tag if it is context tag ``number`` holding a value, else None (not consumed)."""
        tag = self.peek()
        if tag is None or not tag.context or tag.number != number or tag.kind != "value":
            return None
        return self.next()

    def constructed(self, number: int) -> list[Tag]:
        """The tags between opening and closing context tag ``number`` (nested ones included)."""
        opening = self.next()
        if opening.kind != "open" or opening.number != number:
            raise ParseError(f"BACnet opening tag {number} expected")
        depth = 0
        inner: list[Tag] = []
        while True:
            tag = self.next()
            if tag.kind == "close" and depth == 0:
                if tag.number != number:
                    raise ParseError("BACnet closing tag does not match")
                return inner
            depth += {"open": 1, "close": -1}.get(tag.kind, 0)
            inner.append(tag)


def _first_value(tags: list[Tag]) -> Any:
    for tag in tags:
        if tag.kind == "value" and not tag.context:
            return app_value(tag)
    return None


def _object_property(t: _Tags, fields: dict[str, Any], prop_tag: int = 1) -> int:
    obj = t.context(0)
    if obj is None:
        raise ParseError("BACnet object identifier [0] missing")
    fields.update(object_id(obj.data))
    prop = t.context(prop_tag)
    if prop is None:
        raise ParseError("BACnet property identifier missing")
    pid = unsigned(prop.data)
    fields["property_id"], fields["property"] = pid, PROPERTIES.get(pid, str(pid))
    index = t.context(prop_tag + 1)
    if index is not None:
        fields["array_index"] = unsigned(index.data)
    return pid


def _service(name: str, ack: bool, body: bytes, fields: dict[str, Any]) -> None:
    """Service parameters of a request (or of the complex ACK when ``ack``)."""
    t = _Tags(body)
    if name == "i_am":  # §16.1.2: device id, max APDU, segmentation, vendor id (application tags)
        device = object_id(t.next().data)
        fields["device_instance"] = device["object_instance"]
        fields["max_apdu"] = unsigned(t.next().data)
        fields["segmentation"] = _name(SEGMENTATION, unsigned(t.next().data))
        fields["vendor_id"] = unsigned(t.next().data)
    elif name == "who_is":  # §16.10.1: optional device instance range
        low, high = t.context(0), t.context(1)
        if low is not None and high is not None:
            fields["low_limit"], fields["high_limit"] = unsigned(low.data), unsigned(high.data)
    elif name == "who_has":  # §16.9.1: optional range, then object id [2] or object name [3]
        t.context(0), t.context(1)
        obj = t.context(2)
        if obj is not None:
            fields.update(object_id(obj.data))
        else:
            named = t.context(3)
            if named is not None:
                fields["object_name"] = app_value(Tag(7, False, "value", named.data, 0))
    elif name == "i_have":  # §16.8.1: device id, object id, object name
        fields["device_instance"] = object_id(t.next().data)["object_instance"]
        fields.update(object_id(t.next().data))
        fields["object_name"] = app_value(t.next())
    elif name == "read_property":  # §15.5: object, property, [index]; ACK adds [3] value
        pid = _object_property(t, fields)
        if ack and (pid in IDENTITY_PROPERTIES or pid in (75, 120, 112, 139, 98)):
            fields["value"] = _first_value(t.constructed(3))
    elif name == "write_property":  # §15.9: object, property, [index], [3] value, [4] priority
        _object_property(t, fields)
        fields["value"] = _first_value(t.constructed(3))
        priority = t.context(4)
        if priority is not None:
            fields["priority"] = unsigned(priority.data)
    elif name == "read_property_multiple":
        (_rpm_ack if ack else _rpm_request)(t, fields)
    elif name == "device_communication_control":  # §16.1.1
        duration = t.context(0)
        if duration is not None:
            fields["duration"] = unsigned(duration.data)
        state = t.context(1)
        if state is not None:
            fields["enable_disable"] = _name(ENABLE_DISABLE, unsigned(state.data))
        fields["password_present"] = t.context(2) is not None
    elif name == "reinitialize_device":  # §16.4.1
        state = t.context(0)
        if state is not None:
            fields["reinitialized_state"] = _name(REINIT_STATES, unsigned(state.data))
        fields["password_present"] = t.context(1) is not None
    elif name == "atomic_write_file" and not ack:  # §14.2.1: file id, stream [0] or record [1] access
        fields["file_instance"] = object_id(t.next().data)["object_instance"]
        access = t.peek()
        if access is not None and access.kind == "open":
            inner = t.constructed(access.number)
            fields["access"] = "stream" if access.number == 0 else "record"
            values = [tag for tag in inner if not tag.context]
            if values:
                fields["start_position"] = app_value(values[0])
            fields["data_length"] = sum(len(tag.data) for tag in values[1:] if tag.number == 6)


def _rpm_request(t: _Tags, fields: dict[str, Any]) -> None:
    """§15.7.1: list of (object [0], property references [1])."""
    objects: list[dict[str, Any]] = []
    while t.more() and len(objects) < MAX_RPM_RESULTS:
        obj = t.context(0)
        if obj is None:
            raise ParseError("read_property_multiple object identifier missing")
        refs = t.constructed(1)
        props = [unsigned(tag.data) for tag in refs if tag.context and tag.number == 0 and tag.kind == "value"]
        objects.append({**object_id(obj.data), "property_ids": props})
    fields["objects"] = objects


def _rpm_ack(t: _Tags, fields: dict[str, Any]) -> None:
    """§15.7.2: list of (object [0], results [1]: property [2], [index 3], value [4] or error [5])."""
    properties: dict[str, Any] = {}
    results = 0
    while t.more() and results < MAX_RPM_RESULTS:
        obj = t.context(0)
        if obj is None:
            raise ParseError("read_property_multiple ACK object identifier missing")
        ident = object_id(obj.data)
        fields.setdefault("object_type", ident["object_type"])
        fields.setdefault("object_type_name", ident["object_type_name"])
        fields.setdefault("object_instance", ident["object_instance"])
        opening = t.next()
        if opening.kind != "open" or opening.number != 1:
            raise ParseError("read_property_multiple ACK results [1] missing")
        while True:
            tag = t.peek()
            if tag is None:
                raise ParseError("read_property_multiple ACK results cut short")
            if tag.kind == "close" and tag.number == 1:
                t.next()
                break
            prop = t.context(2)
            if prop is None:
                raise ParseError("read_property_multiple ACK property [2] missing")
            pid = unsigned(prop.data)
            t.context(3)
            nxt = t.peek()
            if nxt is None or nxt.kind != "open":
                raise ParseError("read_property_multiple ACK value or error missing")
            inner_tags = t.constructed(nxt.number)
            results += 1
            if nxt.number == 4 and pid in IDENTITY_PROPERTIES:
                properties[PROPERTIES[pid]] = _first_value(inner_tags)
    if properties:
        fields["properties"] = properties


def parse_apdu(apdu: bytes) -> tuple[str, dict[str, Any]]:
    """Kind and fields of one APDU (§20.1.2-20.1.9)."""
    if len(apdu) < 2:
        raise ParseError("BACnet APDU cut short")
    pdu_type = apdu[0] >> 4
    if pdu_type > 7:
        raise ParseError(f"BACnet reserved APDU type {pdu_type}")
    fields: dict[str, Any] = {"apdu_type": APDU_TYPES[pdu_type]}
    if pdu_type == 1:  # unconfirmed request: type, service choice, parameters
        choice = apdu[1]
        name = _name(UNCONFIRMED, choice)
        fields.update(service_choice=choice, service=name)
        _service(name, False, apdu[2:], fields)
        return (name if name in SERVICE_KINDS else "unconfirmed_request"), fields
    if pdu_type == 0:  # confirmed request: type+flags, max segs/APDU, invoke id, [seq, window], choice
        segmented = bool(apdu[0] & 0x08)
        head = 6 if segmented else 4
        if len(apdu) < head:
            raise ParseError("BACnet confirmed request header cut short")
        choice = apdu[head - 1]
        name = _name(CONFIRMED, choice)
        fields.update(invoke_id=apdu[2], service_choice=choice, service=name, segmented=segmented)
        if not segmented or apdu[3] == 0:
            _service_lenient(name, False, apdu[head:], fields, segmented)
        return (name if name in SERVICE_KINDS else "confirmed_request"), fields
    fields["invoke_id"] = apdu[1]
    if pdu_type == 3:  # complex ACK: type+flags, invoke id, [seq, window], service ACK choice
        segmented = bool(apdu[0] & 0x08)
        head = 5 if segmented else 3
        if len(apdu) < head:
            raise ParseError("BACnet complex ACK header cut short")
        choice = apdu[head - 1]
        name = _name(CONFIRMED, choice)
        fields.update(service_choice=choice, service=name, segmented=segmented)
        if name in ("read_property", "read_property_multiple") and (not segmented or apdu[2] == 0):
            _service_lenient(name, True, apdu[head:], fields, segmented)
            return name, fields
        return "complex_ack", fields
    if pdu_type in (2, 5):  # simple ACK / error: invoke id, service choice
        if len(apdu) < 3:
            raise ParseError("BACnet ACK without service choice")
        fields.update(service_choice=apdu[2], service=_name(CONFIRMED, apdu[2]))
        if pdu_type == 5:
            t = _Tags(apdu[3:])
            if t.more():
                fields["error_class"], fields["error_code"] = app_value(t.next()), app_value(t.next())
        return APDU_TYPES[pdu_type], fields
    if pdu_type in (6, 7) and len(apdu) >= 3:  # reject / abort reason
        fields["reason"] = apdu[2]
    return APDU_TYPES[pdu_type], fields


def _service_lenient(name: str, ack: bool, body: bytes, fields: dict[str, Any], segmented: bool) -> None:
    """A segment holds only part of the parameters: what can be read is kept, not an error."""
    try:
        _service(name, ack, body, fields)
    except ParseError:
        if not segmented:
            raise


def parse_npdu(buf: bytes, off: int, fields: dict[str, Any]) -> int | None:
    """Parse the NPDU at ``off`` into ``fields``; the APDU offset, or None for a network message."""
    if off + 2 > len(buf) or buf[off] != 1:
        raise ParseError("BACnet NPDU without protocol version 1")
    control = buf[off + 1]
    fields["npdu_control"] = control
    off += 2
    for present, net, addr in ((0x20, "dnet", "dadr"), (0x08, "snet", "sadr")):
        if control & present:  # §6.2.2: network number, address length, address
            if off + 3 > len(buf):
                raise ParseError("BACnet NPDU address cut short")
            fields[net] = int.from_bytes(buf[off : off + 2], "big")
            size = buf[off + 2]
            fields[addr] = buf[off + 3 : off + 3 + size].hex()
            off += 3 + size
    if control & 0x20:
        off += 1  # hop count
    if off > len(buf):
        raise ParseError("BACnet NPDU cut short")
    if control & 0x80:  # network layer message
        if off >= len(buf):
            raise ParseError("BACnet network message without type")
        fields["message_type"] = buf[off]
        fields["message"] = _name(NETWORK_MESSAGES, buf[off]) if buf[off] < 0x80 else "proprietary"
        return None
    return off


class BacnetDissector(Dissector):
    name: ClassVar[str] = "bacnet"
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_packets_per_flow: ClassVar[int | None] = None

    def memo_key(self, payload: bytes) -> bytes | None:
        if len(payload) >= 2 and payload[1] == ORIGINAL_UNICAST:
            return None  # an answer's direction may flip the flow (module doc), read each one
        return payload  # the fields depend on the datagram alone (memo contract in dissect/base.py)

    def probe(self, payload: bytes, to_server: bool) -> bool:
        return (len(payload) >= 6 and payload[0] == 0x81 and payload[1] in BVLC_FUNCTIONS
                and int.from_bytes(payload[2:4], "big") == len(payload))

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        data = pkt.payload
        if not data:
            return []
        if len(data) < 4 or data[0] != 0x81:
            raise ParseError("BACnet/IP datagram without BVLC type 0x81")
        function, length = data[1], int.from_bytes(data[2:4], "big")
        if length < 4 or length > len(data):
            raise ParseError(f"BVLC length {length} does not fit the datagram")
        data = data[:length]
        fields: dict[str, Any] = {"bvlc_function": BVLC_FUNCTIONS.get(function, "unknown")}
        off = 4
        if function == 0x04:  # Annex J.2.9: original source B/IP address (IPv4 + port)
            if len(data) < 10:
                raise ParseError("forwarded NPDU without original source address")
            fields["forwarded_from"] = f"{'.'.join(str(b) for b in data[4:8])}:{int.from_bytes(data[8:10], 'big')}"
            off = 10
        elif function not in (0x09, 0x0A, 0x0B):
            if function == 0x00 and len(data) >= 6:  # J.2.1 result code
                fields["result_code"] = int.from_bytes(data[4:6], "big")
            return [pkt.observation(self.name, "bvlc", fields)]
        apdu_off = parse_npdu(data, off, fields)
        if apdu_off is None:
            return [pkt.observation(self.name, "network_message", fields)]
        kind, apdu_fields = parse_apdu(data[apdu_off:])
        fields.update(apdu_fields)
        if pkt.to_server and fields.get("apdu_type") in RESPONDER_APDUS:
            flip_roles(state)
        return [pkt.observation(self.name, kind, fields)]
