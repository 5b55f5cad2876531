"""PNIO blocks (IEC 61158-6-10 §5.2) of a PROFINET IO CM stub, and the endpoint mapper's lookup answer: read from
their bytes into a PNIO-CM observation's fields, for :mod:`~iotwarden.dissect.pnio_cm`. PNIO blocks are always
big-endian: BlockType, BlockLength (octets after itself), version.

Blocks read (type, IEC 61158-6-10 §5.2, Wireshark packet-pn-io.c names): IODWriteReqHeader 0x0008, IODReadReqHeader
0x0009 and their responses 0x8008/0x8009 (API, slot, subslot, record index, RecordDataLength); ARBlockReq 0x0101
(ARType, CMInitiatorMacAdd, CMInitiatorStationName: the connecting controller's NameOfStation); IODControlReq
0x0110-0x0118 (ControlCommand bits PrmEnd, ApplicationReady, Release, Done, ReadyForCompanion, ReadyForRT_CLASS_3,
PrmBegin); a Read response's record data of index 0xAFF0, I&M0 (block 0x0020: VendorID, OrderID, IM_Serial_Number,
IM_Hardware_Revision, IM_Software_Revision as prefix V/R/P/U/T and three numbers, IM_Revision_Counter,
IM_Profile_ID, IM_Profile_Specific_Type, IM_Version, IM_Supported) and of 0xF840, I&M0FilterData (blocks 0x0030
submodules with I&M0 of their own, 0x0031 module representatives, 0x0032 the device representative). The endpoint
mapper's ept_lookup response (interface e1af8308-5d1f-11c9-91a4-08002b14a0fa opnum 2, C706 Appendix O: context
handle, num_ents, the ept_entry_t array: object UUID, tower pointer, annotation) carries, for the PNIO-Device
interface, the device's annotation: DeviceType (25 octets), blank, OrderID (20), blank, HWRevision (5 digits),
blank, SWRevisionPrefix and three 3-digit numbers (IEC 61158-6-10 §5.1.3, "S7-300 CPU 315-2 PN/DP ...").
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from iotwarden.dissect import dcerpc_cl
from iotwarden.errors import ParseError

MAX_EXPECTED = 256  # submodules read from a Connect's ExpectedSubmoduleBlockReqs
OBJECT_PREFIX = "dea00000-6c97-11d1-8271-"
WRITE_REQ, READ_REQ, WRITE_RES, READ_RES = 0x0008, 0x0009, 0x8008, 0x8009
AR_BLOCK_REQ, EXPECTED_SUBMODULES, IM0_BLOCK = 0x0101, 0x0104, 0x0020
CONTROL_BLOCKS = range(0x0110, 0x0119)  # IODControlReq / IOXControlReq / IODReleaseReq (packet-pn-io.c)
FILTER_BLOCKS = {0x0030: "im0_submodules", 0x0031: "im0_modules", 0x0032: "im0_device"}
IM0, IM0_FILTER_DATA, WRITE_MULTIPLE = 0xAFF0, 0xF840, 0xE040
AR_TYPES = {0x0001: "iocar_single", 0x0006: "iosar", 0x0010: "iocar_single_rtc3", 0x0020: "iocar_sr"}
CONTROL_COMMANDS = ((0x0001, "prm_end"), (0x0002, "application_ready"), (0x0004, "release"), (0x0008, "done"),
                    (0x0010, "ready_for_companion"), (0x0020, "ready_for_rt_class_3"), (0x0040, "prm_begin"))
SW_PREFIXES = "VRPUT"  # IM_SWRevision_Prefix: released, revision, prototype, under field test, test device
MAX_BLOCKS = 256  # blocks read from one stub (a Connect carries an ExpectedSubmoduleBlockReq per slot)
MAX_SUBMODULES = 64  # entries listed from one I&M0FilterData block
MAX_EPM_ENTRIES = 16  # ept_entry_t read from one lookup answer
MAX_NAME = 240  # NameOfStation is 1..240 octets (IEC 61158-6-10 §4.3.1.4.15)


def index_name(index: int) -> str:
    """The name of a record index (IEC 61158-6-10 §5.2.4 record index table, packet-pn-io.c)."""
    if 0xAFF0 <= index <= 0xAFFF:
        return f"im{index - 0xAFF0}"
    return {IM0_FILTER_DATA: "im0_filter_data", WRITE_MULTIPLE: "write_multiple"}.get(index, f"0x{index:04x}")


def _text(raw: bytes, limit: int = 64) -> str:
    return raw[:limit].split(b"\x00", 1)[0].decode("latin-1").strip()  # VisibleString


def _software_revision(prefix: int, numbers: bytes) -> str:
    return f"{chr(prefix)}{numbers[0]}.{numbers[1]}.{numbers[2]}"


def read_blocks(data: bytes) -> Iterator[tuple[int, bytes, int]]:
    """(BlockType, whole block, offset past it) of the blocks in ``data``, read one at a time so that a caller
    may stop before data that are no blocks (a Write's record data); a block past the data is a ParseError."""
    pos = 0
    for _ in range(MAX_BLOCKS):
        if pos + 6 > len(data):
            return
        kind, length = struct.unpack_from(">HH", data, pos)
        end = pos + 4 + length
        if length < 2 or end > len(data):
            raise ParseError(f"pnio_cm: block 0x{kind:04x} past its stub")
        yield kind, data[pos:end], end
        pos = end


def record_header(block: bytes, kind: int, fields: dict[str, Any]) -> int:
    """An IOD read/write request or response header's addressing (§5.2.3.2); returns RecordDataLength."""
    if len(block) < 64:
        raise ParseError("pnio_cm: IOD record header cut short")
    api, slot, subslot, _pad, index, length = struct.unpack_from(">IHHHHI", block, 24)
    fields.update(api=api, slot=slot, subslot=subslot, index=index, index_name=index_name(index),
                  record_length=length)
    if kind == WRITE_RES:
        fields["record_status"] = pnio_status(block[44:48])  # this write's own PNIOStatus
    return int(length)


def written_indices(record: bytes) -> list[str]:
    """The record indices a WriteMultiple (index 0xE040) carries: IODWriteReqHeader and record data, each entry
    padded to a 32-bit boundary (IEC 61158-6-10 §5.2.3.2), at most MAX_BLOCKS of them."""
    out: list[str] = []
    pos = 0
    while pos + 64 <= len(record) and len(out) < MAX_BLOCKS:
        kind, index, length = struct.unpack_from(">H", record, pos)[0], *struct.unpack_from(">HI", record, pos + 34)
        if kind != WRITE_REQ:
            raise ParseError("pnio_cm: WriteMultiple entry is not an IODWriteReqHeader")
        out.append(index_name(index))
        pos += 64 + length
        pos += -pos % 4
    return out


def pnio_status(raw: bytes) -> str:
    return "ok" if raw == b"\x00\x00\x00\x00" else raw.hex()


def ar_block(block: bytes, fields: dict[str, Any]) -> None:
    """ARBlockReq (§5.2.3.1): ARType, ARUUID, SessionKey, CMInitiatorMacAdd, CMInitiatorObjectUUID, ARProperties,
    timeout factor, UDP RT port, StationNameLength, CMInitiatorStationName."""
    if len(block) < 58:
        raise ParseError("pnio_cm: ARBlockReq cut short")
    ar_type = struct.unpack_from(">H", block, 6)[0]
    fields["ar_type"] = AR_TYPES.get(ar_type, f"0x{ar_type:04x}")
    fields["initiator_mac"] = ":".join(f"{b:02x}" for b in block[26:32])
    length = struct.unpack_from(">H", block, 56)[0]
    if 58 + length > len(block):
        raise ParseError("pnio_cm: CMInitiatorStationName past its block")
    fields["initiator_station_name"] = _text(block[58:58 + length], MAX_NAME)


def expected_submodules(block: bytes, out: list[str]) -> None:
    """The submodules an ExpectedSubmoduleBlockReq (0x0104, IEC 61158-6-10 §5.2.3; rt-labs p-net
    src/device/pf_block_reader.c pf_get_exp_api_module, pf_get_exp_submodule) asks the device for, added to ``out``
    as "api/slot/subslot" (at most MAX_EXPECTED): NumberOfAPIs, each API, SlotNumber, ModuleIdentNumber,
    ModuleProperties, NumberOfSubmodules, each SubslotNumber, SubmoduleIdentNumber, SubmoduleProperties and its
    DataDescriptions (6 octets each: two when the SubmoduleProperties type, bits 0-1, is 3, input and output data,
    else one)."""
    if len(block) < 8:
        raise ParseError("pnio_cm: ExpectedSubmoduleBlockReq cut short")
    pos = 8
    for _ in range(struct.unpack_from(">H", block, 6)[0]):
        if pos + 14 > len(block):
            raise ParseError("pnio_cm: expected API past its block")
        api, slot, _ident, _properties, count = struct.unpack_from(">IHIHH", block, pos)
        pos += 14
        for _ in range(count):
            if pos + 8 > len(block):
                raise ParseError("pnio_cm: expected submodule past its block")
            subslot, _sub_ident, properties = struct.unpack_from(">HIH", block, pos)
            pos += 8 + 6 * (2 if properties & 0x03 == 0x03 else 1)
            if pos > len(block):
                raise ParseError("pnio_cm: DataDescription past its block")
            if len(out) < MAX_EXPECTED:
                out.append(f"{api}/{slot}/{subslot}")


def control_block(block: bytes, fields: dict[str, Any]) -> None:
    """IODControlReq (§5.2.3.4): reserved, ARUUID, SessionKey, reserved, ControlCommand, ControlBlockProperties."""
    if len(block) < 32:
        raise ParseError("pnio_cm: IODControlReq cut short")
    command = struct.unpack_from(">H", block, 28)[0]
    fields["control"] = [name for bit, name in CONTROL_COMMANDS if command & bit] or [f"0x{command:04x}"]


def parse_im0(block: bytes) -> dict[str, Any]:
    """The fields of an I&M0 block (0x0020, BlockLength 56)."""
    if len(block) < 60 or struct.unpack_from(">H", block, 0)[0] != IM0_BLOCK:
        raise ParseError("pnio_cm: I&M0 record is not an I&M0 block")
    vendor, hw = struct.unpack_from(">H", block, 6)[0], struct.unpack_from(">H", block, 44)[0]
    counter, profile, specific = struct.unpack_from(">HHH", block, 50)
    out: dict[str, Any] = {"vendor_id": vendor, "order_id": _text(block[8:28]), "serial_number": _text(block[28:44]),
                           "hardware_revision": hw, "revision_counter": counter, "profile_id": profile,
                           "profile_specific_type": specific, "im_version": f"{block[56]}.{block[57]}",
                           "im_supported": struct.unpack_from(">H", block, 58)[0]}
    if chr(block[46]) in SW_PREFIXES:
        out["software_revision"] = _software_revision(block[46], block[47:50])
    return out


def parse_filter(block: bytes) -> list[dict[str, int]]:
    """The submodules an I&M0FilterData block lists (NumberOfAPIs, per API its modules and their submodules)."""
    out: list[dict[str, int]] = []
    pos = 8
    for _ in range(struct.unpack_from(">H", block, 6)[0] if len(block) >= 8 else 0):
        if pos + 6 > len(block):
            raise ParseError("pnio_cm: I&M0FilterData API past its block")
        api, modules = struct.unpack_from(">IH", block, pos)
        pos += 6
        for _ in range(modules):
            if pos + 8 > len(block):
                raise ParseError("pnio_cm: I&M0FilterData module past its block")
            slot, module_ident, submodules = struct.unpack_from(">HIH", block, pos)
            pos += 8
            for _ in range(submodules):
                if pos + 6 > len(block):
                    raise ParseError("pnio_cm: I&M0FilterData submodule past its block")
                subslot, ident = struct.unpack_from(">HI", block, pos)
                pos += 6
                if len(out) < MAX_SUBMODULES:
                    out.append({"api": api, "slot": slot, "subslot": subslot, "module_ident": module_ident,
                                "submodule_ident": ident})
    return out


def parse_annotation(text: str) -> dict[str, Any]:
    """DeviceType, OrderID, HWRevision and SWRevision of a PNIO-Device interface's EPM annotation (module
    docstring: fixed columns); only ``annotation`` when it does not have that layout."""
    out: dict[str, Any] = {"annotation": text}
    if len(text) < 63 or text[25] != " " or text[46] != " " or text[52] != " " or text[53] not in SW_PREFIXES:
        return out
    hw, numbers = text[47:52].strip(), [text[i:i + 3].strip() for i in (54, 57, 60)]
    if not all(n.isdigit() and n.isascii() for n in (hw, *numbers)):
        return out
    out.update(device_type=text[:25].strip(), order_id=text[26:46].strip(), hardware_revision=int(hw),
               software_revision=text[53] + ".".join(str(int(n)) for n in numbers))
    return out


def parse_lookup_response(stub: bytes, order: str) -> list[tuple[str, str]]:
    """(object UUID, annotation) of each ept_entry_t of an ept_lookup answer (C706 Appendix O, NDR)."""
    if len(stub) < 36:
        raise ParseError("pnio_cm: ept_lookup answer cut short")
    count = struct.unpack_from(order + "I", stub, 32)[0]  # after the context handle, num_ents, max, offset
    out: list[tuple[str, str]] = []
    pos = 36
    for _ in range(min(count, MAX_EPM_ENTRIES)):
        if pos + 28 > len(stub):
            raise ParseError("pnio_cm: ept_entry_t past its stub")
        obj = dcerpc_cl.ndr_uuid(stub[pos:pos + 16], order)
        length = struct.unpack_from(order + "I", stub, pos + 24)[0]
        end = pos + 28 + length
        if end > len(stub):
            raise ParseError("pnio_cm: annotation past its stub")
        out.append((obj, stub[pos + 28:end].split(b"\x00", 1)[0].decode("latin-1")))
        pos = end + (-end % 4)
    return out


def object_ids(obj: str, prefix: str, fields: dict[str, Any]) -> None:
    """Instance, DeviceID and VendorID of a PNIO object UUID."""
    if obj.startswith(OBJECT_PREFIX):
        node = bytes.fromhex(obj[len(OBJECT_PREFIX):])
        fields[prefix + "instance"] = int.from_bytes(node[0:2], "big")
        fields[prefix + "device_id"] = int.from_bytes(node[2:4], "big")
        fields[prefix + "vendor_id"] = int.from_bytes(node[4:6], "big")
