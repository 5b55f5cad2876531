"""BACnet APDUs (ASHRAE 135 §20.1): the PDU types, the confirmed and unconfirmed services named and the parameters
read of those worth describing (Who-Is/I-Am, Who-Has/I-Have, ReadProperty and ReadPropertyMultiple with their ACKs,
WriteProperty, DeviceCommunicationControl, ReinitializeDevice, AtomicWriteFile), errors and rejects
(dissect/bacnet.py reads the BVLC and NPDU around them).
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.bacnettags import (
    IDENTITY_PROPERTIES,
    PROPERTIES,
    Tag,
    app_value,
    object_id,
    read_tag,
    unsigned,
)
from iotwarden.errors import ParseError

MAX_RPM_RESULTS = 32  # property results read from one read_property_multiple ACK
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


def name_of(table: tuple[str, ...], index: int) -> str:
    return table[index] if index < len(table) else "unknown"


class Tags:
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


def _object_property(t: Tags, fields: dict[str, Any], prop_tag: int = 1) -> int:
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
    t = Tags(body)
    if name == "i_am":  # §16.1.2: device id, max APDU, segmentation, vendor id (application tags)
        device = object_id(t.next().data)
        fields["device_instance"] = device["object_instance"]
        fields["max_apdu"] = unsigned(t.next().data)
        fields["segmentation"] = name_of(SEGMENTATION, unsigned(t.next().data))
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
            fields["enable_disable"] = name_of(ENABLE_DISABLE, unsigned(state.data))
        fields["password_present"] = t.context(2) is not None
    elif name == "reinitialize_device":  # §16.4.1
        state = t.context(0)
        if state is not None:
            fields["reinitialized_state"] = name_of(REINIT_STATES, unsigned(state.data))
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


def _rpm_request(t: Tags, fields: dict[str, Any]) -> None:
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


def _rpm_ack(t: Tags, fields: dict[str, Any]) -> None:
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
        name = name_of(UNCONFIRMED, choice)
        fields.update(service_choice=choice, service=name)
        _service(name, False, apdu[2:], fields)
        return (name if name in SERVICE_KINDS else "unconfirmed_request"), fields
    if pdu_type == 0:  # confirmed request: type+flags, max segs/APDU, invoke id, [seq, window], choice
        segmented = bool(apdu[0] & 0x08)
        head = 6 if segmented else 4
        if len(apdu) < head:
            raise ParseError("BACnet confirmed request header cut short")
        choice = apdu[head - 1]
        name = name_of(CONFIRMED, choice)
        fields.update(invoke_id=apdu[2], service_choice=choice, service=name, segmented=segmented)
        if not segmented or apdu[3] == 0:
            service_lenient(name, False, apdu[head:], fields, segmented)
        return (name if name in SERVICE_KINDS else "confirmed_request"), fields
    fields["invoke_id"] = apdu[1]
    if pdu_type == 3:  # complex ACK: type+flags, invoke id, [seq, window], service ACK choice
        segmented = bool(apdu[0] & 0x08)
        head = 5 if segmented else 3
        if len(apdu) < head:
            raise ParseError("BACnet complex ACK header cut short")
        choice = apdu[head - 1]
        name = name_of(CONFIRMED, choice)
        fields.update(service_choice=choice, service=name, segmented=segmented)
        if name in ("read_property", "read_property_multiple") and (not segmented or apdu[2] == 0):
            service_lenient(name, True, apdu[head:], fields, segmented)
            return name, fields
        return "complex_ack", fields
    if pdu_type in (2, 5):  # simple ACK / error: invoke id, service choice
        if len(apdu) < 3:
            raise ParseError("BACnet ACK without service choice")
        fields.update(service_choice=apdu[2], service=name_of(CONFIRMED, apdu[2]))
        if pdu_type == 5:
            t = Tags(apdu[3:])
            if t.more():
                fields["error_class"], fields["error_code"] = app_value(t.next()), app_value(t.next())
        return APDU_TYPES[pdu_type], fields
    if pdu_type in (6, 7) and len(apdu) >= 3:  # reject / abort reason
        fields["reason"] = apdu[2]
    return APDU_TYPES[pdu_type], fields


def service_lenient(name: str, ack: bool, body: bytes, fields: dict[str, Any], segmented: bool) -> None:
    """A segment holds only part of the parameters: what can be read is kept, not an error."""
    try:
        _service(name, ack, body, fields)
    except ParseError:
        if not segmented:
            raise
