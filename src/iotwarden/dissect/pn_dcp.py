"""PROFINET DCP (ethertype 0x8892, frame ids 0xFEFC-0xFEFF): who a PROFINET station says it is, and who renames it.

Layout: IEC 61158-6-10 §4.3 (DCP) as Wireshark's plugins/epan/profinet/packet-pn-dcp.c decodes it. After
the 2-octet FrameID (0xFEFC Hello, 0xFEFD Get/Set, 0xFEFE Identify multicast request, 0xFEFF Identify
response) a DCP header: ServiceID (3 Get, 4 Set, 5 Identify, 6 Hello), ServiceType (0 request, 1 response
success, 5 response "request not supported"), Xid, ResponseDelay (Identify requests; reserved otherwise),
DCPDataLength; then blocks of Option, Suboption, DCPBlockLength, value, padded to an even length. A block's
value starts with a 2-octet BlockInfo in Identify and Get responses and in Hello, with a 2-octet
BlockQualifier (0 temporary, 1 permanent) in Set requests; a Get request lists bare option/suboption pairs.

kinds ``identify_request``, ``identify_response``, ``hello``, ``get_request``, ``get_response``,
``set_request``, ``set_response``; subject ``src`` always (the responder for responses and Hello, the
requester for requests). Common fields: ``service``, ``service_type`` ("request", "response",
"unsupported"), ``xid``, ``response_delay`` (Identify requests).

What a station states of itself (identify_response, hello, get_response): ``name_of_station`` (2/2,
§4.3.1.4.15), ``type_of_station`` (2/1 DeviceVendorValue), ``vendor_id`` / ``device_id`` (2/3, ids PI
assigns: Siemens is 0x002A in its GSDML files), ``device_role`` (2/4, list of io_device, io_controller,
io_multidevice, pn_supervisor), ``device_options`` (2/5, list of "option/suboption" names),
``alias_name`` (2/6), ``device_instance`` (2/7, "high.low"), ``oem_vendor_id`` / ``oem_device_id``
(2/8), ``ip`` / ``netmask`` / ``gateway`` and ``ip_state`` (1/2 or 1/3 and its BlockInfo: ip_not_set,
ip_set, ip_set_by_dhcp, "+conflict" when bit 7 is set), ``mac`` (1/1), ``device_initiative`` (6/1).
An Identify request's filter blocks: ``filter`` (list of block names: "all", "name_of_station", ...) and
their values prefixed ``filter_`` (``filter_name_of_station``). A Set request: ``set`` (block names),
values prefixed ``set_`` (``set_name_of_station``, ``set_ip``), ``qualifier`` ("temporary"/"permanent"
of its first data block), ``control`` (start_transaction, end_transaction, signal, factory_reset,
reset_to_factory). A Get request: ``get`` (block names). A Set/Get response: ``results`` ("block: error").

OT operations (model/otops.py) on Set requests, the request's receiver (destination MAC) being the device:
setting IP parameters (1/2, 1/3) or the NameOfStation (2/2) is ``config``; the Control block's Reset Factory
Settings (5/5) or Reset to Factory (5/6) is ``restart`` (it also wipes the name and address, and wins
over ``config`` when one request does both). Signal (blink the LED) and transactions are not marked.
At most MAX_BLOCKS blocks are read from one PDU.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import NAME, OPERATION

MAX_BLOCKS = 64  # blocks read from one DCP PDU (a 1500-octet frame holds at most ~370 empty ones)
MAX_TEXT = 240  # NameOfStation is 1..240 octets (IEC 61158-6-10 §4.3.1.4.15); longer strings are cut

FRAME_HELLO, FRAME_GET_SET, FRAME_IDENT_REQ, FRAME_IDENT_RES = 0xFEFC, 0xFEFD, 0xFEFE, 0xFEFF
SERVICES = {3: "get", 4: "set", 5: "identify", 6: "hello"}
SERVICE_TYPES = {0: "request", 1: "response", 5: "unsupported"}
# which services each DCP frame id carries (packet-pn-dcp.c dissect_PNDCP_Data_heur; pn_rt frame ids)
FRAME_SERVICES = {FRAME_HELLO: {"hello"}, FRAME_GET_SET: {"get", "set", "identify"},
                  FRAME_IDENT_REQ: {"identify"}, FRAME_IDENT_RES: {"identify"}}

# (option, suboption) -> name, packet-pn-dcp.c pn_dcp_suboption_* tables
BLOCKS = {
    (1, 1): "mac", (1, 2): "ip_parameter", (1, 3): "full_ip_suite",
    (2, 1): "type_of_station", (2, 2): "name_of_station", (2, 3): "device_id", (2, 4): "device_role",
    (2, 5): "device_options", (2, 6): "alias_name", (2, 7): "device_instance", (2, 8): "oem_device_id",
    (2, 10): "rsi_properties",
    (3, 12): "dhcp_host_name", (3, 43): "dhcp_vendor_specific", (3, 54): "dhcp_server_identifier",
    (3, 55): "dhcp_parameter_request_list", (3, 60): "dhcp_class_identifier", (3, 61): "dhcp_client_identifier",
    (3, 81): "dhcp_fqdn", (3, 97): "dhcp_uuid_client", (3, 255): "dhcp_control",
    (5, 1): "start_transaction", (5, 2): "end_transaction", (5, 3): "signal", (5, 4): "response",
    (5, 5): "factory_reset", (5, 6): "reset_to_factory",
    (6, 1): "device_initiative", (255, 255): "all",
}
ROLES = ((0x01, "io_device"), (0x02, "io_controller"), (0x04, "io_multidevice"), (0x08, "pn_supervisor"))
IP_STATES = {0: "ip_not_set", 1: "ip_set", 2: "ip_set_by_dhcp"}  # pn_dcp_suboption_ip_block_info, low bits
BLOCK_ERRORS = {0: "ok", 1: "option_unsupported", 2: "suboption_unsupported", 3: "suboption_not_set",
                4: "resource_error", 5: "set_not_possible_local_reasons", 6: "set_not_possible_in_operation"}
QUALIFIERS = {0: "temporary", 1: "permanent"}
CONFIG_BLOCKS = frozenset({"ip_parameter", "full_ip_suite", "name_of_station"})
RESET_BLOCKS = frozenset({"factory_reset", "reset_to_factory"})


def _block_name(option: int, suboption: int) -> str:
    return BLOCKS.get((option, suboption), f"{option}/{suboption}")


def _text(b: bytes) -> str:
    return b[:MAX_TEXT].split(b"\x00", 1)[0].decode("latin-1")  # VisibleString; some stations use ISO 8859


def _ipv4(b: bytes) -> str:
    return str(ipaddress.IPv4Address(b))


def _value(name: str, v: bytes, out: dict[str, Any], prefix: str) -> None:
    """The decoded value of block ``name`` (its BlockInfo/BlockQualifier already removed) into ``out``."""
    p = prefix
    if name in ("name_of_station", "type_of_station", "alias_name"):
        out[p + name] = _text(v)
    elif name in ("ip_parameter", "full_ip_suite") and len(v) >= 12:
        out[p + "ip"], out[p + "netmask"], out[p + "gateway"] = _ipv4(v[0:4]), _ipv4(v[4:8]), _ipv4(v[8:12])
    elif name == "mac" and len(v) >= 6:
        out[p + "mac"] = ":".join(f"{x:02x}" for x in v[:6])
    elif name in ("device_id", "oem_device_id") and len(v) >= 4:
        head = "oem_" if name == "oem_device_id" else ""
        out[p + head + "vendor_id"] = int.from_bytes(v[0:2], "big")
        out[p + head + "device_id"] = int.from_bytes(v[2:4], "big")
    elif name == "device_role" and v:
        out[p + "device_role"] = [role for bit, role in ROLES if v[0] & bit]
    elif name == "device_options":
        out[p + "device_options"] = [_block_name(v[i], v[i + 1]) for i in range(0, len(v) - 1, 2)]
    elif name == "device_instance" and len(v) >= 2:
        out[p + "device_instance"] = f"{v[0]}.{v[1]}"
    elif name == "device_initiative" and len(v) >= 2:
        out[p + "device_initiative"] = int.from_bytes(v[0:2], "big")


def _blocks(body: bytes) -> list[tuple[int, int, bytes]]:
    """(option, suboption, value) of each block of a DCP data area (§4.3.1.3; odd blocks are padded)."""
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    while pos < len(body) and len(out) < MAX_BLOCKS:
        if pos + 4 > len(body):
            raise ParseError("pn_dcp: truncated block header")
        length = int.from_bytes(body[pos + 2 : pos + 4], "big")
        value = body[pos + 4 : pos + 4 + length]
        if len(value) != length:
            raise ParseError("pn_dcp: block runs past DCPDataLength")
        out.append((body[pos], body[pos + 1], value))
        pos += 4 + length + (length & 1)
    return out


def parse_dcp(payload: bytes) -> tuple[str, dict[str, Any]] | None:
    """(kind, fields) of a DCP PDU (``payload`` starts at the FrameID); None for other PROFINET RT frames."""
    if len(payload) < 2:
        raise ParseError("pn_dcp: no FrameID")
    frame_id = int.from_bytes(payload[0:2], "big")
    if frame_id not in FRAME_SERVICES:
        return None  # cyclic data, alarms, PTCP: not DCP
    if len(payload) < 12:
        raise ParseError("pn_dcp: truncated header")
    service, service_type = SERVICES.get(payload[2]), SERVICE_TYPES.get(payload[3])
    if service is None or service_type is None or service not in FRAME_SERVICES[frame_id]:
        raise ParseError(f"pn_dcp: service {payload[2]}/{payload[3]} on frame id 0x{frame_id:04X}")
    data_length = int.from_bytes(payload[10:12], "big")
    body = payload[12 : 12 + data_length]
    if len(body) != data_length:
        raise ParseError("pn_dcp: DCPDataLength overruns the frame")
    request = service_type == "request"
    if (frame_id == FRAME_IDENT_REQ) != (service == "identify" and request) and frame_id != FRAME_GET_SET:
        raise ParseError("pn_dcp: identify direction does not match its frame id")
    fields: dict[str, Any] = {"service": service, "service_type": service_type,
                              "xid": int.from_bytes(payload[4:8], "big")}
    if service == "identify" and request:
        fields["response_delay"] = int.from_bytes(payload[8:10], "big")
    kind = "hello" if service == "hello" else f"{service}_{'request' if request else 'response'}"
    if service == "get" and request:  # selectors: bare option/suboption pairs
        fields["get"] = [_block_name(body[i], body[i + 1]) for i in range(0, min(len(body), 2 * MAX_BLOCKS) - 1, 2)]
        return kind, fields
    blocks = _blocks(body)
    if kind in ("identify_response", "hello", "get_response"):
        _own(blocks, fields)
    elif kind == "identify_request":
        fields["filter"] = [_block_name(o, s) for o, s, _ in blocks]
        for o, s, v in blocks:
            _value(_block_name(o, s), v, fields, "filter_")
    elif kind == "set_request":
        _set(blocks, fields)
    else:
        _results(blocks, fields)
    return kind, fields


def _own(blocks: list[tuple[int, int, bytes]], fields: dict[str, Any]) -> None:
    for o, s, v in blocks:
        name = _block_name(o, s)
        if o == 5 and s == 4:  # a Get response's per-option error (Control/Response)
            _results([(o, s, v)], fields)
            continue
        if len(v) < 2:
            continue  # no room for its BlockInfo
        info, value = int.from_bytes(v[0:2], "big"), v[2:]
        if name in ("ip_parameter", "full_ip_suite"):
            fields["ip_state"] = IP_STATES.get(info & 0x7F, str(info & 0x7F)) + ("+conflict" if info & 0x80 else "")
        _value(name, value, fields, "")


def _set(blocks: list[tuple[int, int, bytes]], fields: dict[str, Any]) -> None:
    names: list[str] = []
    control: list[str] = []
    for o, s, v in blocks:
        name = _block_name(o, s)
        if o == 5:
            control.append(name)
            continue
        names.append(name)
        if len(v) >= 2:
            fields.setdefault("qualifier", QUALIFIERS.get(int.from_bytes(v[0:2], "big"), "reserved"))
            _value(name, v[2:], fields, "set_")
    fields["set"] = names
    if control:
        fields["control"] = control
    reset = next((c for c in control if c in RESET_BLOCKS), None)
    config = [n for n in names if n in CONFIG_BLOCKS]
    if reset is not None:
        fields[OPERATION], fields[NAME] = "restart", reset
    elif config:
        fields[OPERATION], fields[NAME] = "config", "set_" + "_and_".join(dict.fromkeys(
            "ip" if n != "name_of_station" else n for n in config))


def _results(blocks: list[tuple[int, int, bytes]], fields: dict[str, Any]) -> None:
    results = fields.setdefault("results", [])
    for o, s, v in blocks:
        if o == 5 and s == 4 and len(v) >= 3:  # Control/Response: option, suboption, BlockError
            results.append(f"{_block_name(v[0], v[1])}: {BLOCK_ERRORS.get(v[2], str(v[2]))}")


class PnDcpDissector(Dissector):
    name: ClassVar[str] = "pn_dcp"
    ethertypes: ClassVar[tuple[int, ...]] = (0x8892,)  # PROFINET RT, IEC 61158-6-10; the engine strips 802.1Q
    ot_operations: ClassVar[bool] = True

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        parsed = parse_dcp(pkt.payload)
        if parsed is None:
            return []
        kind, fields = parsed
        return [pkt.observation(self.name, kind, fields)]
