"""Siemens S7comm dissector (tcp 102): the S7 PDU over TPKT (RFC 1006 §6) and COTP (ISO 8073 / X.224),
framed by :mod:`iotwarden.dissect.cotp`.

tcp 102 is ISO-TSAP, shared with MMS (ISO 9506, IEC 61850); the engine gives a port one dissector, so
this one, registered on 102, hands the TSDUs that are ISO session or MMS to
:class:`~iotwarden.dissect.mms.MmsDissector`, whose observations are ``mms`` ones. A connection
request is told once the connection's first TSDU shows which of the two it opened.

Siemens publishes no S7comm specification; layouts follow the Wireshark ``s7comm`` dissector and the
Snap7 documentation. Kinds (subject ``src``, except ``cotp_connect`` which describes the PLC, ``dst``):

* ``cotp_connect``: COTP connection request (X.224 §13.3): ``src_tsap``/``dst_tsap`` (hex),
  ``connection_type`` (1 PG, 2 OP, 3 S7 basic), ``rack``/``slot`` (from the called TSAP), or the
  TSAP text (S7comm-plus, e.g. "SIMATIC-ROOT-ES").
* ``setup``, ``job``, ``ack``, ``ack_data``: ``rosctr``, ``pdu_ref``, ``function_code``, ``function``
  (read_var, write_var, request_download, download_block, download_ended, start_upload, upload,
  end_upload, plc_control, plc_stop, setup_communication), ``error_class``/``error_code`` (acks),
  ``items`` (read/write variable addresses, bounded), ``filename``/``block_type``/``block_number``
  (block transfer), ``pi_service`` (plc_control, plc_stop: "_INSE" activate block, "P_PROGRAM"
  start or stop, "_DELE" delete, "_MODU" copy RAM to ROM, "_GARB" compress), ``pdu_length``.
* ``userdata``: see :mod:`iotwarden.dissect.s7userdata` (SZL reads and PLC identity).
* ``s7plus``: an S7comm-plus PDU (0x72): ``protocol_version``, ``opcode``, ``function_code``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import APP_STATE_KEY, Packet
from iotwarden.dissect.cotp import (
    CALLED_TSAP,
    CALLING_TSAP,
    PORT,
    TPDU_SIZE,
    IsoTransportDissector,
    cr_has_tsaps,
    cr_parameters,
    tsdu_key,
)
from iotwarden.dissect.mms import MmsDissector, is_mms
from iotwarden.dissect.otstream import text, u16be
from iotwarden.dissect.s7userdata import parse_userdata
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_S7_PDU = 65_536  # bytes of one S7 PDU reassembled from COTP DT TPDUs (X.224 §13.7 EOT)
MAX_ITEMS = 16  # read/write variable items listed per PDU

ROSCTR = {1: "job", 2: "ack", 3: "ack_data", 7: "userdata"}
FUNCTIONS: dict[int, str] = {
    0x00: "cpu_services",
    0x04: "read_var",
    0x05: "write_var",
    0x1A: "request_download",
    0x1B: "download_block",
    0x1C: "download_ended",
    0x1D: "start_upload",
    0x1E: "upload",
    0x1F: "end_upload",
    0x28: "plc_control",
    0x29: "plc_stop",
    0xF0: "setup_communication",
}
BLOCK_TYPES = {"08": "OB", "0A": "DB", "0B": "SDB", "0C": "FC", "0D": "SFC", "0E": "FB", "0F": "SFB"}
AREAS = {0x03: "system_info", 0x05: "system_flags", 0x06: "analog_inputs", 0x07: "analog_outputs",
         0x1C: "counter", 0x1D: "timer", 0x80: "peripheral", 0x81: "inputs", 0x82: "outputs",
         0x83: "flags", 0x84: "db", 0x85: "di", 0x86: "local", 0x87: "v"}
CONNECTION_TYPES = {1: "pg", 2: "op", 3: "s7_basic"}
S7PLUS_OPCODES = {0x31: "request", 0x32: "response", 0x33: "notification", 0x02: "response2"}
S7PLUS_FUNCTIONS = {0x04BB: "explore", 0x04CA: "create_object", 0x04D4: "delete_object",
                    0x04F2: "set_variable", 0x0524: "get_link", 0x0542: "set_multi_variables",
                    0x054C: "get_multi_variables", 0x0556: "begin_sequence", 0x0560: "end_sequence",
                    0x056B: "invoke", 0x0586: "get_var_substreamed"}


def _tsap(raw: bytes) -> dict[str, Any]:
    if len(raw) == 2:
        return {"hex": raw.hex(), "connection_type": raw[0], "rack": raw[1] >> 5, "slot": raw[1] & 0x1F}
    return {"hex": raw.hex(), "text": text(raw, 64)}


def parse_cotp_cr(cotp: bytes) -> dict[str, Any]:
    """Fields of a connection request TPDU, the called TSAP read as S7 addresses it (X.224 §13.3.4)."""
    fields: dict[str, Any] = {}
    for code, value in cr_parameters(cotp):
        if code == CALLING_TSAP:
            fields["src_tsap"] = value.hex()
        elif code == CALLED_TSAP:  # the PLC side
            called = _tsap(value)
            fields["dst_tsap"] = called.pop("hex")
            if "text" in called:
                fields["dst_tsap_text"] = called["text"]
            else:
                fields["connection_type"] = CONNECTION_TYPES.get(called["connection_type"], called["connection_type"])
                fields["rack"], fields["slot"] = called["rack"], called["slot"]
        elif code == TPDU_SIZE and len(value) == 1:  # TPDU size, 2**value octets
            fields["tpdu_size"] = 1 << min(value[0], 16)
    return fields


def _block_name(name: str, fields: dict[str, Any]) -> None:
    """Block type and number from a block name such as "0A00001P" (type, number, filesystem)."""
    if len(name) >= 7 and name[2:7].isascii() and name[2:7].isdigit():
        fields["block_type"] = BLOCK_TYPES.get(name[:2].upper(), name[:2])
        fields["block_number"] = int(name[2:7])


def _items(param: bytes, fields: dict[str, Any]) -> None:
    """Variable specifications of read_var / write_var jobs (S7ANY addressing, syntax id 0x10)."""
    if len(param) < 2:
        raise ParseError("read/write variable job without item count")
    fields["item_count"] = param[1]
    items: list[dict[str, Any]] = []
    off = 2
    for _ in range(min(param[1], MAX_ITEMS)):
        if off + 2 > len(param) or param[off] != 0x12:
            raise ParseError("variable specification without 0x12 marker")
        size = param[off + 1]
        spec = param[off + 2 : off + 2 + size]
        if len(spec) < size:
            raise ParseError("variable specification past the end of the parameters")
        if spec[:1] == b"\x10" and len(spec) >= 10:
            address = int.from_bytes(spec[7:10], "big")
            items.append({"area": AREAS.get(spec[6], spec[6]), "db": u16be(spec, 4), "byte": address >> 3,
                          "bit": address & 7, "transport_size": spec[1], "length": u16be(spec, 2)})
        else:
            items.append({"syntax_id": spec[0] if spec else None})
        off += 2 + size
    fields["items"] = items


def _job_fields(fc: int, param: bytes, fields: dict[str, Any]) -> None:
    if fc in (0x04, 0x05):
        _items(param, fields)
    elif fc in (0x1A, 0x1B, 0x1C, 0x1D) and len(param) >= 9:
        name = text(param[9 : 9 + param[8]], 64)  # func, status, 2 unknown, 4 session id, length
        fields["filename"] = name
        _block_name(name[1:], fields)
    elif fc == 0x28 and len(param) >= 10:  # 7 unknown, parameter block length, block, service
        block_len = u16be(param, 8)
        block = param[10 : 10 + block_len]
        end = 10 + block_len
        if end >= len(param):
            raise ParseError("PI service name past the end of the parameters")
        fields["pi_service"] = text(param[end + 1 : end + 1 + param[end]], 64)
        if len(block) >= 10 and block[0] >= 1:  # block count, unknown, 8-character block names
            _block_name(text(block[2:10], 8), fields)
        elif block:
            fields["pi_argument"] = text(block, 64)
    elif fc == 0x29 and len(param) >= 7:  # 5 unknown, service length, service
        fields["pi_service"] = text(param[7 : 7 + param[6]], 64)
    elif fc == 0xF0 and len(param) >= 8:  # reserved, max AmQ calling, max AmQ called, PDU length
        fields["max_amq_calling"], fields["max_amq_called"] = u16be(param, 2), u16be(param, 4)
        fields["pdu_length"] = u16be(param, 6)


def parse_s7(pdu: bytes, szl_state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Kind and fields of one S7comm PDU (header 10 octets, 12 for ack and ack_data).

    ``szl_state`` holds the direction's partial multi-PDU SZL response (userdata only).
    """
    if len(pdu) < 10 or pdu[0] != 0x32:
        raise ParseError("S7 PDU without protocol id 0x32")
    rosctr = pdu[1]
    if rosctr not in ROSCTR:
        raise ParseError(f"S7 PDU with unknown ROSCTR {rosctr}")
    header = 12 if rosctr in (2, 3) else 10
    param_len, data_len = u16be(pdu, 6), u16be(pdu, 8)
    if header + param_len + data_len > len(pdu):
        raise ParseError("S7 parameters and data past the end of the PDU")
    param = pdu[header : header + param_len]
    data = pdu[header + param_len : header + param_len + data_len]
    fields: dict[str, Any] = {"rosctr": ROSCTR[rosctr], "pdu_ref": u16be(pdu, 4)}
    if header == 12:
        fields["error_class"], fields["error_code"] = pdu[10], pdu[11]
    if rosctr == 7:
        fields.update(parse_userdata(param, data, szl_state))
        return "userdata", fields
    if not param:
        return ROSCTR[rosctr], fields
    fc = param[0]
    fields["function_code"], fields["function"] = fc, FUNCTIONS.get(fc, "unknown")
    if rosctr == 1 or fc == 0xF0:
        _job_fields(fc, param, fields)
    elif fc in (0x04, 0x05) and len(param) >= 2:
        fields["item_count"] = param[1]
    return ("setup" if fc == 0xF0 else ROSCTR[rosctr]), fields


def parse_s7plus(pdu: bytes) -> dict[str, Any]:
    """S7comm-plus header: 0x72, version, data length; V1/V2 then opcode, reserved, function."""
    if len(pdu) < 4:
        raise ParseError("truncated S7comm-plus header")
    fields: dict[str, Any] = {"protocol_version": pdu[1], "data_length": u16be(pdu, 2)}
    if pdu[1] in (1, 2) and len(pdu) >= 9:
        fields["opcode"] = S7PLUS_OPCODES.get(pdu[4], pdu[4])
        if pdu[4] in (0x31, 0x32):
            function = u16be(pdu, 7)
            fields["function_code"], fields["function"] = function, S7PLUS_FUNCTIONS.get(function, "unknown")
    return fields


class S7commDissector(IsoTransportDissector):
    name: ClassVar[str] = "s7comm"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_packets_per_flow: ClassVar[int | None] = None
    max_tsdu: ClassVar[int] = MAX_S7_PDU
    tsdu_label: ClassVar[str] = "S7 PDU"

    def __init__(self) -> None:
        self.mms = MmsDissector()  # the other application of ISO-TSAP (module docstring)

    def probe(self, payload: bytes, to_server: bool) -> bool:
        # TPKT carrying a COTP connection request or data TPDU whose user data is S7 (0x32)
        if len(payload) < 7 or payload[0] != 3 or payload[1] != 0:
            return False
        if payload[5] == 0xE0:
            return cr_has_tsaps(payload)
        return payload[5] == 0xF0 and len(payload) > 7 and payload[7] in (0x32, 0x72)

    def connected(self, pkt: Packet, cotp: bytes, tsdu: bytes | None) -> Iterator[Observation]:
        if tsdu is not None and is_mms(tsdu):
            yield from self.mms.connected(pkt, cotp, tsdu)
            return
        yield pkt.observation(self.name, "cotp_connect", parse_cotp_cr(cotp), subject="dst")

    def user_data(self, pkt: Packet, tsdu: bytes, state: dict[str, Any]) -> Iterator[Observation]:
        if tsdu[:1] == b"\x32":
            kind, fields = parse_s7(tsdu, state.setdefault(f"szl_{tsdu_key(pkt.to_server)}", {}))
            yield pkt.observation(self.name, kind, fields)
        elif tsdu[:1] == b"\x72":
            yield pkt.observation(self.name, "s7plus", parse_s7plus(tsdu))
        elif is_mms(tsdu):
            state[APP_STATE_KEY] = self.mms.name  # the flow is MMS, not S7comm (Flow.app)
            yield from self.mms.user_data(pkt, tsdu, state)
