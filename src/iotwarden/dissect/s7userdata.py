"""S7comm userdata PDUs (ROSCTR 7): function groups, SZL reads and the PLC identity they return.

Layouts follow the Wireshark ``s7comm`` dissector and the SZL lists of the Siemens manual "System
Software for S7-300/400 System and Standard Functions" (A5E02789976, chapter 34: SZL-ID W#16#xy11
module identification, W#16#xy1C component identification). Fields: ``function_group``,
``subfunction``/``subfunction_name``, ``ud_type`` (request, response, push), ``sequence``,
``return_code``, ``szl_id``/``szl_index``; ``cpu_mode`` (mode-transition push: stop, run, ...);
from SZL 0x0011 responses ``order_number``,
``hardware_order_number``, ``firmware_version``; from SZL 0x001C ``plc_name``, ``module_name``,
``plant_id``, ``copyright``, ``serial_number``, ``module_type_name``, ``memory_card_serial``,
``location``. Multi-PDU responses are reassembled up to :data:`MAX_SZL_BYTES`.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.otstream import text, u16be
from iotwarden.errors import ParseError

MAX_SZL_BYTES = 8192  # SZL response bytes reassembled across "more data follows" userdata PDUs

GROUPS = {0: "mode_transition", 1: "programmer_commands", 2: "cyclic_data", 3: "block_functions",
          4: "cpu_functions", 5: "security", 6: "pbc", 7: "time_functions", 0xF: "nc_programming"}
UD_TYPES = {0: "push", 4: "request", 8: "response"}
CPU_MODES = {0: "stop", 1: "warm_restart", 2: "run", 3: "hot_restart", 4: "hold", 6: "cold_restart",
             9: "run_redundant", 11: "link_up", 12: "update"}
SUBFUNCTIONS: dict[tuple[int, int], str] = {
    (1, 0x01): "request_diag_data", (1, 0x02): "vartab", (1, 0x0C): "erase", (1, 0x0E): "read_diag_data",
    (1, 0x0F): "remove_diag_data", (1, 0x10): "forces", (1, 0x13): "request_diag_data_2",
    (2, 0x01): "cyclic_memory", (2, 0x04): "cyclic_unsubscribe",
    (3, 0x01): "list_blocks", (3, 0x02): "list_blocks_of_type", (3, 0x03): "get_block_info",
    (4, 0x01): "read_szl", (4, 0x02): "message_service", (4, 0x03): "diagnostic_message",
    (4, 0x05): "alarm8_indication", (4, 0x06): "notify_indication", (4, 0x07): "alarm8_lock",
    (4, 0x08): "alarm8_unlock", (4, 0x0B): "alarm_ack", (4, 0x0C): "alarm_ack_indication",
    (4, 0x11): "alarm_sq_indication", (4, 0x12): "alarm_s_indication", (4, 0x13): "alarm_query",
    (4, 0x16): "notify8_indication",
    (5, 0x01): "plc_password", (5, 0x02): "clean_session",
    (7, 0x01): "read_clock", (7, 0x02): "set_clock", (7, 0x03): "read_clock_following", (7, 0x04): "set_clock_2",
}
SZL_0011_ORDER = {0x0001: "order_number", 0x0006: "hardware_order_number"}
SZL_001C_TEXT = {0x0001: "plc_name", 0x0002: "module_name", 0x0003: "plant_id", 0x0004: "copyright",
                 0x0005: "serial_number", 0x0007: "module_type_name", 0x0008: "memory_card_serial",
                 0x000B: "location"}


def parse_userdata(param: bytes, data: bytes, szl_state: dict[str, Any]) -> dict[str, Any]:
    """Fields of one userdata PDU; ``szl_state`` holds this direction's partial SZL response."""
    if len(param) >= 8 and param[:3] == b"\x01\x00\x10":  # mode-transition push: the CPU's new mode
        return {"function_group": "mode_transition", "ud_type": "push", "cpu_mode_code": param[6],
                "cpu_mode": CPU_MODES.get(param[6], "unknown")}
    if len(param) < 8 or param[:3] != b"\x00\x01\x12":
        raise ParseError("S7 userdata parameters without head 00 01 12")
    ud_type, group, subfunction = param[5] >> 4, param[5] & 0x0F, param[6]
    fields: dict[str, Any] = {
        "function_group": GROUPS.get(group, "unknown"),
        "ud_type": UD_TYPES.get(ud_type, "unknown"),
        "subfunction": subfunction,
        "subfunction_name": SUBFUNCTIONS.get((group, subfunction), "unknown"),
        "sequence": param[7],
    }
    more, unit_ref = False, 0
    if param[3] == 8 and len(param) >= 12:  # data unit reference, last data unit, error code
        unit_ref, more = param[8], param[9] != 0
        if u16be(param, 10):
            fields["error_code"] = u16be(param, 10)
    if len(data) < 4:
        return fields
    fields["return_code"] = data[0]
    payload = data[4 : 4 + u16be(data, 2)]
    if (group, subfunction) != (4, 0x01):
        return fields
    if ud_type == 4 and len(payload) >= 4:  # read SZL request: id, index
        fields["szl_id"], fields["szl_index"] = u16be(payload, 0), u16be(payload, 2)
    elif ud_type == 8:
        _szl_response(payload, unit_ref, more, szl_state, fields)
    return fields


def _szl_response(payload: bytes, unit_ref: int, more: bool, szl_state: dict[str, Any],
                  fields: dict[str, Any]) -> None:
    partial = szl_state.pop("partial", None)
    if partial is not None and partial[0] == unit_ref:  # continuation of a multi-PDU response
        payload = partial[1] + payload
    if len(payload) > MAX_SZL_BYTES:
        raise ParseError(f"SZL response over {MAX_SZL_BYTES} bytes")
    if len(payload) < 8:
        return
    fields["szl_id"], fields["szl_index"] = u16be(payload, 0), u16be(payload, 2)
    if more:
        szl_state["partial"] = (unit_ref, payload)
        fields["szl_partial"] = True
        return
    entry_len, count = u16be(payload, 4), u16be(payload, 6)
    entries = [payload[8 + i * entry_len : 8 + (i + 1) * entry_len] for i in range(count)] if entry_len else []
    entries = [e for e in entries if len(e) == entry_len]
    list_id = fields["szl_id"] & 0xFF  # low byte: the partial list, high byte: the extract
    if list_id == 0x11 and entry_len >= 28:
        _module_identification(entries, fields)
    elif list_id == 0x1C and entry_len >= 34:
        for entry in entries:
            name = SZL_001C_TEXT.get(u16be(entry, 0))
            value = text(entry[2:34], 32)
            if name and value:
                fields[name] = value


def _module_identification(entries: list[bytes], fields: dict[str, Any]) -> None:
    """SZL xy11 records: index, MLFB (20 chars), BGTyp, Ausbg, Ausbe."""
    for entry in entries:
        index = u16be(entry, 0)
        name = SZL_0011_ORDER.get(index)
        if name:
            value = text(entry[2:22], 20)
            if value:
                fields[name] = value
        elif index == 0x0007:  # basic firmware: Ausbg = "V" + major, Ausbe = minor, patch
            ausbg, ausbe = u16be(entry, 24), u16be(entry, 26)
            if ausbg >> 8 == ord("V"):
                fields["firmware_version"] = f"V{ausbg & 0xFF}.{ausbe >> 8}.{ausbe & 0xFF}"
