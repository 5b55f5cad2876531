"""cEMI frames carried by KNXnet/IP (KNX Standard 03.06.03 §4 common External Message Interface): the link-layer
frames (L_Data) with their transport and application layer (03.03.04 TPCI, 03.03.07 APCI) and the device-management
messages (M_PropWrite, M_Reset, ...); names as Wireshark's ``packet-cemi.c`` (``tshark -G values``: cemi.mc,
cemi.ax) lists them, in the standard's spelling.

Fields: ``message_code`` / ``message_name`` (L_Data.req, M_PropWrite.req ...); L_Data (§4.1.5.3): ``source`` (an
individual address "1.1.10"), ``destination`` ("1/2/3" for a group, 3-level, or an individual address),
``destination_type`` (group, individual), ``priority``, ``hop_count``, ``tpci`` (T_Data_Group, T_Data_Broadcast,
T_Data_Individual, T_Data_Connected, T_Connect, T_Disconnect, T_ACK, T_NAK), ``sequence_number`` (numbered TPDUs),
``apci`` (the 10-bit code) and ``apci_name`` (A_GroupValue_Write, A_Memory_Write ...); memory services add
``memory_address`` and ``memory_count``, property services ``object_index``, ``property_id``, ``elements``,
``start_index``, A_IndividualAddress_Write ``new_address``, A_Restart ``restart_type`` (basic, master_reset) and
``erase_code``, A_Key_Write ``key_level`` (never the key: A_Authorize_Request and A_Key_Write carry it in clear).
M_PropRead/M_PropWrite (§4.1.7.3): ``interface_object_type``, ``object_instance``, ``property_id``, ``elements``,
``start_index``.

:func:`operation` names the services that reprogram or reconfigure a device (model/otops.py classes): memory writes
-> ``program`` (ETS downloads the application program and its parameters into memory: T0843), property writes,
address, key, authorisation, routing and link writes and M_PropWrite.req -> ``config`` (T0836), A_Restart and
M_Reset.req -> ``restart`` (T0816). Group value writes are the bus's normal operation: named, never marked.
"""

from __future__ import annotations

from typing import Any

from iotwarden.errors import ParseError

MESSAGE_CODES = {  # 03.06.03 §4.1.3 Table 3
    0x10: "L_Raw.req", 0x11: "L_Data.req", 0x13: "L_Poll_Data.req", 0x25: "L_Poll_Data.con", 0x29: "L_Data.ind",
    0x2B: "L_Busmon.ind", 0x2D: "L_Raw.ind", 0x2E: "L_Data.con", 0x2F: "L_Raw.con", 0x41: "T_Data_Connected.req",
    0x4A: "T_Data_Individual.req", 0x89: "T_Data_Connected.ind", 0x94: "T_Data_Individual.ind",
    0xF0: "M_Reset.ind", 0xF1: "M_Reset.req", 0xF5: "M_PropWrite.con", 0xF6: "M_PropWrite.req",
    0xF7: "M_PropInfo.ind", 0xF8: "M_FuncPropCommand.req", 0xF9: "M_FuncPropStateRead.req",
    0xFA: "M_FuncPropCommand.con", 0xFB: "M_PropRead.con", 0xFC: "M_PropRead.req",
}
L_DATA = frozenset({0x11, 0x29, 0x2E})
REQUESTS = frozenset({0x11, 0x13, 0x41, 0x4A, 0xF1, 0xF6, 0xF8, 0xF9, 0xFC})  # sent by the client of an interface
PROPERTY_MESSAGES = frozenset({0xF5, 0xF6, 0xFB, 0xFC})
PRIORITIES = ("system", "normal", "urgent", "low")  # §4.1.5.3.3 control field 1 bits 3-2
# application layer services whose code is the 4 high bits of the APCI (03.03.07 §2), the low 6 bits data
SHORT_APCI = {
    0x000: "A_GroupValue_Read", 0x040: "A_GroupValue_Response", 0x080: "A_GroupValue_Write",
    0x0C0: "A_IndividualAddress_Write", 0x100: "A_IndividualAddress_Read", 0x140: "A_IndividualAddress_Response",
    0x180: "A_ADC_Read", 0x1C0: "A_ADC_Response", 0x200: "A_Memory_Read", 0x240: "A_Memory_Response",
    0x280: "A_Memory_Write", 0x300: "A_DeviceDescriptor_Read", 0x340: "A_DeviceDescriptor_Response",
}
LONG_APCI = {  # the 10-bit codes (03.03.07 §2, Wireshark packet-cemi.c cemi.ax)
    0x1C8: "A_SystemNetworkParameter_Read", 0x1C9: "A_SystemNetworkParameter_Response",
    0x1CA: "A_SystemNetworkParameter_Write", 0x1CC: "A_PropertyExtValue_Read", 0x1CD: "A_PropertyExtValue_Response",
    0x1CE: "A_PropertyExtValue_WriteCon", 0x1CF: "A_PropertyExtValue_WriteConResponse",
    0x1D0: "A_PropertyExtValue_WriteUnCon", 0x1D2: "A_PropertyExtDescription_Read",
    0x1D3: "A_PropertyExtDescription_Response", 0x1D4: "A_FunctionPropertyExtCommand",
    0x1D5: "A_FunctionPropertyExtState_Read", 0x1D6: "A_FunctionPropertyExtState_Response",
    0x1FB: "A_MemoryExtended_Write", 0x1FC: "A_MemoryExtended_WriteResponse", 0x1FD: "A_MemoryExtended_Read",
    0x1FE: "A_MemoryExtended_ReadResponse", 0x2C0: "A_UserMemory_Read", 0x2C1: "A_UserMemory_Response",
    0x2C2: "A_UserMemory_Write", 0x2C4: "A_UserMemoryBit_Write", 0x2C5: "A_UserManufacturerInfo_Read",
    0x2C6: "A_UserManufacturerInfo_Response", 0x2C7: "A_FunctionPropertyCommand",
    0x2C8: "A_FunctionPropertyState_Read", 0x2C9: "A_FunctionPropertyState_Response",
    0x3C0: "A_RoutingTable_Open", 0x3C1: "A_RoutingTable_Read", 0x3C2: "A_RoutingTable_Response",
    0x3C3: "A_RoutingTable_Write", 0x3C8: "A_RouterMemory_Read", 0x3C9: "A_RouterMemory_Response",
    0x3CA: "A_RouterMemory_Write", 0x3CD: "A_RouterStatus_Read", 0x3CE: "A_RouterStatus_Response",
    0x3CF: "A_RouterStatus_Write", 0x3D0: "A_MemoryBit_Write", 0x3D1: "A_Authorize_Request",
    0x3D2: "A_Authorize_Response", 0x3D3: "A_Key_Write", 0x3D4: "A_Key_Response", 0x3D5: "A_PropertyValue_Read",
    0x3D6: "A_PropertyValue_Response", 0x3D7: "A_PropertyValue_Write", 0x3D8: "A_PropertyDescription_Read",
    0x3D9: "A_PropertyDescription_Response", 0x3DA: "A_NetworkParameter_Read", 0x3DB: "A_NetworkParameter_Response",
    0x3DC: "A_IndividualAddressSerialNumber_Read", 0x3DD: "A_IndividualAddressSerialNumber_Response",
    0x3DE: "A_IndividualAddressSerialNumber_Write", 0x3E0: "A_DomainAddress_Write", 0x3E1: "A_DomainAddress_Read",
    0x3E2: "A_DomainAddress_Response", 0x3E3: "A_DomainAddressSelective_Read", 0x3E4: "A_NetworkParameter_Write",
    0x3E5: "A_Link_Read", 0x3E6: "A_Link_Response", 0x3E7: "A_Link_Write", 0x3E8: "A_GroupPropValue_Read",
    0x3E9: "A_GroupPropValue_Response", 0x3EA: "A_GroupPropValue_Write", 0x3EB: "A_GroupPropValue_InfoReport",
    0x3EC: "A_DomainAddressSerialNumber_Read", 0x3ED: "A_DomainAddressSerialNumber_Response",
    0x3EE: "A_DomainAddressSerialNumber_Write", 0x3F0: "A_FileStream_InfoReport", 0x3F1: "A_Secure_Service",
}
RESTART = 0x380  # 03.03.07 §3.7: A_Restart, bit 5 response, bit 0 restart type (0 basic, 1 master reset)
PROGRAM = frozenset({"A_Memory_Write", "A_MemoryBit_Write", "A_MemoryExtended_Write", "A_UserMemory_Write",
                     "A_UserMemoryBit_Write"})
CONFIG = frozenset({
    "A_PropertyValue_Write", "A_PropertyExtValue_WriteCon", "A_PropertyExtValue_WriteUnCon",
    "A_IndividualAddress_Write", "A_IndividualAddressSerialNumber_Write", "A_DomainAddress_Write",
    "A_DomainAddressSerialNumber_Write", "A_NetworkParameter_Write", "A_SystemNetworkParameter_Write",
    "A_Authorize_Request", "A_Key_Write", "A_Link_Write", "A_RoutingTable_Write", "A_RouterMemory_Write",
    "A_RouterStatus_Write", "M_PropWrite.req",
})
RESTARTS = frozenset({"A_Restart", "M_Reset.req"})


def individual(address: int) -> str:
    """An individual address as area.line.device (03.03.02 §1.4)."""
    return f"{address >> 12}.{(address >> 8) & 0x0F}.{address & 0xFF}"


def group(address: int) -> str:
    """A group address in the 3-level main/middle/sub form ETS shows."""
    return f"{address >> 11}/{(address >> 8) & 0x07}/{address & 0xFF}"


def parse(frame: bytes) -> dict[str, Any]:
    """Fields of one cEMI frame (module docstring); ParseError when it is cut short."""
    if len(frame) < 2:
        raise ParseError("cEMI frame shorter than message code and additional info length")
    code = frame[0]
    fields: dict[str, Any] = {"message_code": code, "message_name": MESSAGE_CODES.get(code, "unknown")}
    if code in PROPERTY_MESSAGES:  # §4.1.7.3: no additional info field
        if len(frame) < 7:
            raise ParseError("cEMI property message cut short")
        fields.update(interface_object_type=int.from_bytes(frame[1:3], "big"), object_instance=frame[3],
                      property_id=frame[4], elements=frame[5] >> 4,
                      start_index=((frame[5] & 0x0F) << 8) | frame[6])
        return fields
    if code not in L_DATA:
        return fields
    body = frame[2 + frame[1] :]  # after the additional information (§4.1.4.3)
    if len(body) < 7 or 2 + frame[1] > len(frame):
        raise ParseError("cEMI L_Data frame cut short")
    ctrl1, ctrl2 = body[0], body[1]
    dst = int.from_bytes(body[4:6], "big")
    is_group = bool(ctrl2 & 0x80)
    fields.update(source=individual(int.from_bytes(body[2:4], "big")),
                  destination=group(dst) if is_group else individual(dst),
                  destination_type="group" if is_group else "individual",
                  priority=PRIORITIES[(ctrl1 >> 2) & 0x03], hop_count=(ctrl2 >> 4) & 0x07)
    tpdu = body[7 : 8 + body[6]]  # NPDU length: the octets after the TPCI (§4.1.5.3.6)
    if len(tpdu) != body[6] + 1:
        raise ParseError("cEMI L_Data TPDU shorter than its length")
    _transport(tpdu, is_group, dst, fields)
    return fields


def _transport(tpdu: bytes, is_group: bool, dst: int, fields: dict[str, Any]) -> None:
    """TPCI (03.03.04 §2) and, for a data TPDU, the application layer."""
    tpci = tpdu[0]
    if tpci & 0x80:  # control TPDU
        fields["tpci"] = {0x80: "T_Connect", 0x81: "T_Disconnect"}.get(tpci, "T_NAK" if tpci & 1 else "T_ACK")
        if tpci & 0x40:
            fields["sequence_number"] = (tpci >> 2) & 0x0F
        return
    if tpci & 0x40:
        fields["tpci"], fields["sequence_number"] = "T_Data_Connected", (tpci >> 2) & 0x0F
    else:
        fields["tpci"] = ("T_Data_Broadcast" if dst == 0 else "T_Data_Group") if is_group else "T_Data_Individual"
    if len(tpdu) < 2:
        return  # a data TPDU without an APCI octet: nothing more to name
    apci = ((tpci & 0x03) << 8) | tpdu[1]
    fields["apci"] = apci
    fields["apci_name"] = name = apci_name(apci)
    _service_fields(name, apci, tpdu[2:], fields)


def apci_name(apci: int) -> str:
    """The service name of a 10-bit APCI."""
    if apci & 0x3C0 == RESTART:
        return "A_Restart_Response" if apci & 0x20 else "A_Restart"
    if apci in LONG_APCI:
        return LONG_APCI[apci]
    high = apci & 0x3C0
    if high in (0x2C0, 0x3C0) or (high == 0x1C0 and apci & 0x3F >= 0x08):
        return "unknown"
    return SHORT_APCI[high]


def _service_fields(name: str, apci: int, data: bytes, fields: dict[str, Any]) -> None:
    if name in ("A_Memory_Read", "A_Memory_Response", "A_Memory_Write") and len(data) >= 2:
        fields.update(memory_count=apci & 0x3F, memory_address=int.from_bytes(data[:2], "big"))
    elif name in ("A_PropertyValue_Read", "A_PropertyValue_Response", "A_PropertyValue_Write") and len(data) >= 4:
        fields.update(object_index=data[0], property_id=data[1], elements=data[2] >> 4,
                      start_index=((data[2] & 0x0F) << 8) | data[3])
    elif name == "A_IndividualAddress_Write" and len(data) >= 2:
        fields["new_address"] = individual(int.from_bytes(data[:2], "big"))
    elif name == "A_Restart":
        fields["restart_type"] = "master_reset" if apci & 0x01 else "basic"
        if apci & 0x01 and data:
            fields["erase_code"] = data[0]
    elif name == "A_Key_Write" and data:
        fields["key_level"] = data[0]


def operation(fields: dict[str, Any]) -> tuple[str, str] | None:
    """(otops class, service name) of a cEMI frame that reprograms or reconfigures a device, else None."""
    name = fields.get("apci_name") or fields.get("message_name")
    if not isinstance(name, str):
        return None
    if name in PROGRAM:
        return "program", name
    if name in CONFIG:
        return "config", name
    if name in RESTARTS:
        return "restart", name
    return None
