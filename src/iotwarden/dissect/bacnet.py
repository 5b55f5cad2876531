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

from iotwarden.dissect.bacnetapdu import APDU_TYPES, CONFIRMED, SERVICE_KINDS, UNCONFIRMED, name_of, parse_apdu
from iotwarden.dissect.base import Dissector, Packet, flip_roles
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 47808
ORIGINAL_UNICAST = 0x0A  # BVLC function Original-Unicast-NPDU (Annex J.2.11)
# APDUs only the device answering a confirmed request sends (§20.1.4 SimpleACK, §20.1.5 ComplexACK, §20.1.7
# Error, §20.1.8 Reject); Abort (§20.1.9) and SegmentACK (§20.1.6) may come from either end
RESPONDER_APDUS = ("simple_ack", "complex_ack", "error", "reject")

# the APDUs' names (dissect/bacnetapdu.py, split from this module) stay importable from here
__all__ = ["APDU_TYPES", "BVLC_FUNCTIONS", "CONFIRMED", "NETWORK_MESSAGES", "ORIGINAL_UNICAST", "PORT",
           "RESPONDER_APDUS", "SERVICE_KINDS", "UNCONFIRMED", "BacnetDissector", "parse_apdu", "parse_npdu"]

BVLC_FUNCTIONS = {  # Annex J.2
    0x00: "result", 0x01: "write_bdt", 0x02: "read_bdt", 0x03: "read_bdt_ack", 0x04: "forwarded_npdu",
    0x05: "register_foreign_device", 0x06: "read_fdt", 0x07: "read_fdt_ack", 0x08: "delete_fdt_entry",
    0x09: "distribute_broadcast_to_network", 0x0A: "original_unicast_npdu",
    0x0B: "original_broadcast_npdu", 0x0C: "secure_bvll",
}
NETWORK_MESSAGES = ("who_is_router_to_network", "i_am_router_to_network", "i_could_be_router_to_network",
                    "reject_message_to_network", "router_busy_to_network", "router_available_to_network",
                    "initialize_routing_table", "initialize_routing_table_ack",
                    "establish_connection_to_network", "disconnect_connection_to_network",
                    "challenge_request", "security_payload", "security_response", "request_key_update",
                    "update_key_set", "update_distribution_key", "request_master_key", "set_master_key",
                    "what_is_network_number", "network_number_is")  # §6.2.4


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
        fields["message"] = name_of(NETWORK_MESSAGES, buf[off]) if buf[off] < 0x80 else "proprietary"
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
