"""Beckhoff ADS dissector: AMS/TCP (tcp/48898) requests and responses, and the TwinCAT system service on
udp/48899 (discovery, add route: dissect/adsroute.py).

Sources: Beckhoff Information System, TE1000 TwinCAT 3 "ADS specification" (ADS-TCP: 6-byte AMS/TCP
header; AMS header: target/source AmsNetId and port, command id, state flags, length, error code, invoke
id; ADS commands 1-9 and their request/response layouts; ADS states; index groups ADSIGRP_*), as
Wireshark's ``epan/dissectors/packet-ams.c`` decodes them; the AMS/TCP header flags 0x0000 (AMS command),
0x0001, 0x1000-0x1002 (router port commands, no AMS header) from jisotalo ads-client ``AMS_HEADER_FLAG``.

Kinds (subject ``src``): ``request`` / ``response``: ``command``, ``command_name`` (read_device_info,
read, write, read_state, write_control, add_device_notification, delete_device_notification,
device_notification, read_write), ``target_net_id``, ``target_port``, ``source_net_id``, ``source_port``,
``invoke_id``, ``error_code`` (AMS header); requests add ``index_group``, ``index_offset``, ``length``
(read/write/notification commands), ``ads_state``/``ads_state_name`` (write control), ``symbol`` (the name
a read-write to ADSIGRP_SYM_HNDBYNAME 0xF003 looks up); responses add ``result`` (ADS return code) and,
for read_state, ``ads_state``/``ads_state_name``/``device_state``. ``device_info`` (a ReadDeviceInfo
response, a fact about the server): ``device_name`` ("TwinCAT CE", "PLC Server"), ``version``
("2.11.2228"), ``ams_port`` (the answering AMS port; 10000 the TwinCAT system service). The udp/48899
kinds are adsroute.py's: ``discovery_request``, ``discovery_answer`` (``hostname``, ``net_id``,
``twincat_version``, ``os_version``, ``os_platform``), ``add_route_request`` (``route_name``,
``route_net_id``, ``user_name``, ``route_host``; never the password), ``add_route_answer`` (``status``).

OT operations (model/otops.py): a Write to an index group that writes process data or symbol values
(ADSIGRP_IOIMAGE_RWIB/RWIX/RWOB/RWOX/CLEARI/CLEARO/RWIOB 0xF020-0xF060, ADSIGRP_SYM_VALBYHND 0xF005,
ADSIGRP_SYM_VALBYNAME 0xF004, PLC memory %M 0x4020/%MX 0x4021, PLC data 0x4040) and a ReadWrite that
writes (ADSIGRP_SUMUP_WRITE 0xF081, SUMUP_READWRITE 0xF082, IOIMAGE_RWIOB 0xF060) -> ``write``; other
read-writes (handle by name 0xF003, symbol info, the system service's registry reads) are reads.
WriteControl to RUN/STOP/START -> ``stop``, to RESET/RECONFIG -> ``restart``; the udp add-route
request -> ``config`` (a new route is how a remote host gains ADS access to the controller).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect import adsroute
from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.otstream import ResyncOnGap, collect, frames, text, u16le, u32le
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import NAME, OPERATION

TCP_PORT, UDP_PORT = 48898, 48899
TCP_HEADER, AMS_HEADER = 6, 32
MAX_AMS_LENGTH = 65_536  # AMS data bytes framed; larger frames (bulk file reads) cost a resync
TCP_FLAGS = frozenset({0x0000, 0x0001, 0x1000, 0x1001, 0x1002})
COMMANDS = {1: "read_device_info", 2: "read", 3: "write", 4: "read_state", 5: "write_control",
            6: "add_device_notification", 7: "delete_device_notification", 8: "device_notification",
            9: "read_write"}
STATES = {0: "invalid", 1: "idle", 2: "reset", 3: "init", 4: "start", 5: "run", 6: "stop", 7: "savecfg",
          8: "loadcfg", 9: "powerfailure", 10: "powergood", 11: "error", 12: "shutdown", 13: "suspend",
          14: "resume", 15: "config", 16: "reconfig", 17: "stopping", 18: "incompatible", 19: "exception"}
MODE_STATES = {4: "stop", 5: "stop", 6: "stop", 2: "restart", 16: "restart"}  # ADS state -> otops class
WRITE_GROUPS = frozenset({0x4020, 0x4021, 0x4040, 0xF004, 0xF005, 0xF020, 0xF021, 0xF030, 0xF031, 0xF040,
                          0xF050, 0xF060, 0xF081})
READ_WRITE_WRITES = frozenset({0xF060, 0xF081, 0xF082})
SYM_HNDBYNAME = 0xF003
MAX_SYMBOL = 128  # characters kept of a looked-up symbol name


def frame_length(buf: bytes) -> int | None:
    """Size of the AMS/TCP frame at the head of ``buf``."""
    if len(buf) < TCP_HEADER:
        return None
    flags, size = u16le(buf, 0), u32le(buf, 2)
    if flags not in TCP_FLAGS or size > MAX_AMS_LENGTH or (flags == 0 and size < AMS_HEADER):
        raise ParseError(f"not an AMS/TCP header (flags 0x{flags:04x}, length {size})")
    return TCP_HEADER + size


def _request(command: int, data: bytes, fields: dict[str, Any]) -> None:
    if command in (2, 3, 6, 9) and len(data) >= 12:
        group, offset, length = struct.unpack_from("<3I", data)
        fields.update(index_group=group, index_offset=offset, length=length)
        if command == 3 and group in WRITE_GROUPS:
            fields[OPERATION], fields[NAME] = "write", "write"
        elif command == 9 and len(data) >= 16:
            fields["write_length"] = u32le(data, 12)
            if group in READ_WRITE_WRITES:
                fields[OPERATION], fields[NAME] = "write", "read_write"
            elif group == SYM_HNDBYNAME:
                fields["symbol"] = text(data[16 : 16 + fields["write_length"]], MAX_SYMBOL)
    elif command == 5 and len(data) >= 4:
        state = u16le(data, 0)
        fields.update(ads_state=state, ads_state_name=STATES.get(state, "unknown"), device_state=u16le(data, 2))
        if state in MODE_STATES:
            fields[OPERATION], fields[NAME] = MODE_STATES[state], f"write_control_{STATES[state]}"
    elif command == 7 and len(data) >= 4:
        fields["handle"] = u32le(data, 0)


def _device_info(data: bytes, port: int) -> dict[str, Any] | None:
    if len(data) < 24 or u32le(data, 0) != 0:
        return None
    return {"device_name": text(data[8:24], 16), "version": f"{data[4]}.{data[5]}.{u16le(data, 6)}", "ams_port": port}


class AdsDissector(ResyncOnGap, StreamDissector):
    name: ClassVar[str] = "ads"
    tcp_ports: ClassVar[tuple[int, ...]] = (TCP_PORT,)
    udp_ports: ClassVar[tuple[int, ...]] = (UDP_PORT,)
    ot_operations: ClassVar[bool] = True

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto == 17:
            kind, fields = adsroute.parse(data)
            if kind == "add_route_request":
                fields[OPERATION], fields[NAME] = "config", "add_route"
            return [pkt.observation(self.name, kind, fields)]
        msgs, error = frames(state, pkt.to_server, data, frame_length)
        return collect(msgs, [error] if error else [], lambda msg: self._message(pkt, msg))

    def _message(self, pkt: Packet, msg: bytes) -> Iterator[Observation]:
        if u16le(msg, 0) != 0:
            return  # a router port command: no AMS header follows
        if len(msg) < TCP_HEADER + AMS_HEADER:
            raise ParseError("AMS header cut short")
        h = msg[TCP_HEADER:]
        command, flags, size, error_code, invoke = struct.unpack_from("<HHIII", h, 16)
        data = h[AMS_HEADER : AMS_HEADER + size]
        if len(data) < size:
            raise ParseError("AMS data shorter than its header's length")
        response = bool(flags & 0x0001)
        fields: dict[str, Any] = {
            "command": command, "command_name": COMMANDS.get(command, "unknown"),
            "target_net_id": adsroute.net_id(h[0:6]), "target_port": u16le(h, 6),
            "source_net_id": adsroute.net_id(h[8:14]), "source_port": u16le(h, 14),
            "invoke_id": invoke, "error_code": error_code}
        if not response:
            _request(command, data, fields)
            yield pkt.observation(self.name, "request", fields)
            return
        if len(data) >= 4:
            fields["result"] = u32le(data, 0)
        if command == 4 and len(data) >= 8:
            fields.update(ads_state=u16le(data, 4), ads_state_name=STATES.get(u16le(data, 4), "unknown"),
                          device_state=u16le(data, 6))
        yield pkt.observation(self.name, "response", fields)
        if command == 1:
            info = _device_info(data, fields["source_port"])
            if info is not None:
                yield pkt.observation(self.name, "device_info", info)
