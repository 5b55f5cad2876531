"""PROFINET IO context management (PNIO-CM, IEC 61158-6-10 §5.1): connectionless DCE/RPC on udp/34964 between IO
controllers, supervisors (engineering tools) and IO devices, and the endpoint mapper lookup a device answers there.

The RPC header is :mod:`~iotwarden.dissect.dcerpc_cl`'s. Interfaces (packet-pn-io.c, p-net pf_types.h): PNIO-Device
dea00001-6c97-11d1-8271-00a02442df7d, PNIO-Controller dea00002-..., PNIO-Supervisor dea00003-...,
PNIO-ParameterServer dea00004-...; operations Connect 0, Release 1, Read 2, Write 3, Control 4, ReadImplicit 5.
A PNIO object UUID is dea00000-6c97-11d1-8271-IIII-DDDD-VVVV: interface instance, DeviceID, VendorID (p-net
pf_cmrpc_epm.c). The stub (NDR, the drep's byte order): a request's ArgsMaximum, ArgsLength and array header
(MaximumCount, Offset, ActualCount), a response's PNIOStatus (ErrorCode, ErrorDecode, ErrorCode1, ErrorCode2) and
the same lengths; then PNIO blocks, always big-endian: BlockType, BlockLength (octets after itself), version.

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

Kinds ``request``, ``response``, ``fault``, ``reject`` (subject ``src``); fields ``interface`` (pnio_device,
pnio_controller, pnio_supervisor, pnio_parameter_server, epm, else the UUID), ``operation`` (connect, release, read,
write, control, read_implicit; lookup), ``opnum``, ``activity``, ``seqnum``, ``fragments``, ``byte_order``,
``status`` (fault, reject), ``pnio_status`` ("ok" or eight hex digits; responses), ``record_status`` (a Write
answer's header); ``api``, ``slot``, ``subslot``, ``index``, ``index_name`` (im0..im15, im0_filter_data,
write_multiple, else 0xNNNN), ``record_length`` (read and write headers); ``written`` (the indices a WriteMultiple
carries); ``ar_type``, ``initiator_station_name``, ``initiator_mac``, ``expected_submodules`` (Connect request);
``control`` (ControlCommand names). What a device states of itself, in its responses only: ``vendor_id``, ``device_id``,
``instance`` (its object UUID), from an I&M0 record of the device's own submodule (the one I&M0FilterData's
device block names on the flow, else slot 0, the device access point) ``vendor_id``, ``order_id``,
``serial_number``, ``hardware_revision``, ``software_revision`` ("V3.2.6"), ``revision_counter``, ``profile_id``,
``profile_specific_type``, ``im_version``, ``im_supported``; another submodule's I&M0 is ``module_im0`` (with its
slot and subslot), never the device's; I&M0FilterData's ``im0_submodules``, ``im0_modules``, ``im0_device`` (lists
of api/slot/subslot/ident); from a lookup answer ``annotation``, ``device_type``, ``order_id``,
``hardware_revision``, ``software_revision``. A request's object UUID names its target: ``target_vendor_id``,
``target_device_id``, ``target_instance``.

OT operations (model/otops.py), on requests to the PNIO-Device interface, whose receiver is the IO device: a
Write (record data: parameters, I&M1-4) is ``config`` (``write_<index_name>``), a Control (PrmEnd and the other
IODControlReq commands) ``config`` (``control_<commands>``). Connect, Release and reads are not marked. Nor are
the Writes and Controls of the device's IO controller parameterising it within the IO controller AR it opened on
the same flow (a Connect with an IOCAR type, IEC 61158-6-10 §5.2.3: the start-up every PLC runs after its own or
its device's restart, Connect -> Writes -> PrmEnd): they carry ``ar_setup`` instead. A supervisor AR (IOSAR: an
engineering tool) or a Write with no Connect seen is marked.

Which host is the device's IO controller: an IO device's submodules are owned by one IO controller at a time, the
first whose IOCAR (IEC 61158-6-10 §5.2.3) claims them, and pass to another controller's AR only once the owner's AR
is gone (rt-labs p-net, doc/shared_device.rst: "If two controllers want to own the same submodule, the first one to
claim it will get the ownership ... if C1 disconnects ... the ownership of it will be transferred to C2"; a device
without the shared device feature takes one AR, p-net PNET_MAX_AR 1). A host that opens an IOCAR to the device
later, its real controller's AR dropped (the device restarted, its name or address reset by DCP, its watchdog
starved), takes the device's outputs over. So the dissector remembers, per IO device (its IP address, else MAC;
:data:`MAX_DEVICES`, least recently connected dropped), the controllers (IP and MAC) of the first IOCAR the device
accepted: the same controller connecting again (its own restart, the device's after a power loss) is the device's
start-up; another host's IOCAR is a takeover: its Connect carries ``previous_controller`` and its Writes and
Controls, ``ar_setup`` with ``ar_takeover``, are marked ``config`` (``takeover_write_<index>``,
``takeover_control_<commands>``). A system-redundancy device (ARType 0x0020 IOCARSR, "IO Controller AR (system
redundancy)" in Wireshark packet-pn-io.c) has an AR to each controller of a redundant pair: two IOCARSR controllers
are its own. A Connect the device refuses (its answer's PNIOStatus not OK) opens no AR, claims nothing and leaves
that flow's Writes marked as without an AR. A shared device (several controllers, each owning its own submodules:
p-net doc/shared_device.rst) is told by what each Connect's ExpectedSubmoduleBlockReqs ask for
(``expected_submodules``, "api/slot/subslot", :data:`MAX_EXPECTED`): a controller asking only for submodules no
known controller of the device claimed is one more of its own (:data:`MAX_SHARING`); one asking for another's, or a
Connect whose submodules were not read (the whole device), takes that controller's over, and ``previous_controller``
names it. Only the first controller seen can be trusted this way: a capture that begins with a rogue's accepted AR
takes it for the controller (``detect.ot``'s ``engineering_stations`` and the risk.ot checks' lists name the site's
own).
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect import dcerpc_cl
from iotwarden.dissect.base import Dissector, Packet, confirm
from iotwarden.dissect.dcerpc_cl import FAULT, REJECT, REQUEST, RESPONSE, ClPdu
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import NAME, OPERATION

PORT = 34964  # 0x8894, IEC 61158-6-10 RPC server port (p-net PF_RPC_SERVER_PORT)
IOCAR_KEY = "pnio_cm.iocar"  # flow state: an IO controller AR was opened by this flow's client (a Connect)
TAKEOVER_KEY = "pnio_cm.takeover"  # flow state: that AR is another controller's than the device's (its text)
CLAIM_KEY = "pnio_cm.claim"  # flow state: (device, controller) this flow's Connect recorded as the device's
MAX_DEVICES = 4096  # IO devices whose IO controllers are remembered (LRU)
SR_CONTROLLERS = 2  # a system-redundancy device's controllers: one AR to each of a redundant pair
MAX_SHARING = 8  # controllers of one shared device (each owning its own submodules) remembered
MAX_EXPECTED = 256  # submodules read from a Connect's ExpectedSubmoduleBlockReqs
PNIO_SUFFIX = "-6c97-11d1-8271-00a02442df7d"
INTERFACES = {f"dea0000{n}{PNIO_SUFFIX}": name for n, name in
              ((1, "pnio_device"), (2, "pnio_controller"), (3, "pnio_supervisor"), (4, "pnio_parameter_server"))}
EPM = "e1af8308-5d1f-11c9-91a4-08002b14a0fa"  # C706 Appendix O endpoint mapper
OBJECT_PREFIX = "dea00000-6c97-11d1-8271-"
OPERATIONS = {0: "connect", 1: "release", 2: "read", 3: "write", 4: "control", 5: "read_implicit"}
EPM_LOOKUP = 2
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


def _blocks(data: bytes) -> Iterator[tuple[int, bytes, int]]:
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


def _record_header(block: bytes, kind: int, fields: dict[str, Any]) -> int:
    """An IOD read/write request or response header's addressing (§5.2.3.2); returns RecordDataLength."""
    if len(block) < 64:
        raise ParseError("pnio_cm: IOD record header cut short")
    api, slot, subslot, _pad, index, length = struct.unpack_from(">IHHHHI", block, 24)
    fields.update(api=api, slot=slot, subslot=subslot, index=index, index_name=index_name(index),
                  record_length=length)
    if kind == WRITE_RES:
        fields["record_status"] = _pnio_status(block[44:48])  # this write's own PNIOStatus
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


def _pnio_status(raw: bytes) -> str:
    return "ok" if raw == b"\x00\x00\x00\x00" else raw.hex()


def _ar_block(block: bytes, fields: dict[str, Any]) -> None:
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


def _control(block: bytes, fields: dict[str, Any]) -> None:
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


def _object(obj: str, prefix: str, fields: dict[str, Any]) -> None:
    """Instance, DeviceID and VendorID of a PNIO object UUID."""
    if obj.startswith(OBJECT_PREFIX):
        node = bytes.fromhex(obj[len(OBJECT_PREFIX):])
        fields[prefix + "instance"] = int.from_bytes(node[0:2], "big")
        fields[prefix + "device_id"] = int.from_bytes(node[2:4], "big")
        fields[prefix + "vendor_id"] = int.from_bytes(node[4:6], "big")


Controller = tuple[str | None, str | None]  # (ip, mac) of an IO controller
Owner = tuple[Controller, frozenset[str] | None]  # a controller and the submodules its IOCAR claimed (None: all)


class PnioCmDissector(Dissector):
    name: ClassVar[str] = "pnio_cm"
    udp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    ot_operations: ClassVar[bool] = True

    def __init__(self, max_devices: int = MAX_DEVICES) -> None:
        # IO device (ip, else mac) -> (system redundancy, the controllers whose IOCARs it accepted first, each with
        # the submodules it claimed)
        self._controllers: OrderedDict[str, tuple[bool, tuple[Owner, ...]]] = OrderedDict()
        self._max_devices = max_devices

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        pdu = dcerpc_cl.parse(pkt.payload)
        dcerpc_cl.first_proves_roles(state, pdu, pkt.to_server)
        confirm(state)
        if pdu.ptype not in (REQUEST, RESPONSE, FAULT, REJECT):
            return []  # ping, working, nocall, ack, fack, cancels: the RPC's own housekeeping
        done = dcerpc_cl.reassemble(state, pdu)
        if done is None:
            return []
        body, fragments = done
        fields = dcerpc_cl.header_fields(pdu, fragments)
        interface = INTERFACES.get(pdu.interface, "epm" if pdu.interface == EPM else pdu.interface)
        fields["interface"] = interface
        if interface == "epm":
            fields["operation"] = "lookup" if pdu.opnum == EPM_LOOKUP else None
        else:
            fields["operation"] = OPERATIONS.get(pdu.opnum)
        _object(pdu.object, "target_" if pdu.ptype == REQUEST else "", fields)
        if pdu.ptype in (FAULT, REJECT):
            fields["status"] = dcerpc_cl.status(pdu, body)
            if interface == "pnio_device" and fields["operation"] == "connect":
                self._connect(pkt, pdu, fields, state)  # a refused Connect
        elif interface == "epm" and pdu.ptype == RESPONSE and pdu.opnum == EPM_LOOKUP:
            self._lookup(pdu, body, fields)
        elif interface.startswith("pnio_"):
            self._stub(pdu, body, fields, state)
            if interface == "pnio_device" and fields["operation"] == "connect":
                self._connect(pkt, pdu, fields, state)
            self._mark(pdu, fields, state)
        return [pkt.observation(self.name, dcerpc_cl.PTYPES[pdu.ptype], fields)]

    @staticmethod
    def _lookup(pdu: ClPdu, body: bytes, fields: dict[str, Any]) -> None:
        entries = parse_lookup_response(body, pdu.order)
        fields["entries"] = [{"object": obj, "annotation": text} for obj, text in entries]
        for obj, text in entries:
            if obj.startswith(OBJECT_PREFIX):  # the PNIO-Device interface's entry names the device
                _object(obj, "", fields)
                fields.update(parse_annotation(text))
                break

    def _stub(self, pdu: ClPdu, body: bytes, fields: dict[str, Any], state: dict[str, Any]) -> None:
        if len(body) < 20:
            raise ParseError("pnio_cm: stub without its NDR header")
        if pdu.ptype == RESPONSE:
            fields["pnio_status"] = _pnio_status(body[0:4])
        actual = struct.unpack_from(pdu.order + "I", body, 16)[0]
        blocks = body[20:20 + actual]
        if len(blocks) != actual:
            raise ParseError("pnio_cm: ActualCount past the stub")
        for kind, block, end in _blocks(blocks):
            if kind in (READ_REQ, WRITE_REQ, READ_RES, WRITE_RES):
                length = _record_header(block, kind, fields)
                if kind == READ_RES:
                    self._record(blocks[end:end + length], fields, state)
                elif kind == WRITE_REQ and fields["index"] == WRITE_MULTIPLE:
                    fields["written"] = written_indices(blocks[end:end + length])
                break  # the record data after a header are no blocks of this stub (a Write's parameters)
            if kind == AR_BLOCK_REQ:
                _ar_block(block, fields)
            elif kind == EXPECTED_SUBMODULES and pdu.ptype == REQUEST:
                expected_submodules(block, fields.setdefault("expected_submodules", []))
            elif kind in CONTROL_BLOCKS and pdu.ptype == REQUEST:
                _control(block, fields)

    def _connect(self, pkt: Packet, pdu: ClPdu, fields: dict[str, Any], state: dict[str, Any]) -> None:
        """An IOCAR Connect: whether its client is the device's IO controller (module docstring); a refused one
        opens no AR and withdraws the claim its request made."""
        if pdu.ptype != REQUEST:  # the device's answer: a fault, a reject or a PNIOStatus other than OK refuses
            if fields.get("pnio_status") != "ok" and state.pop(IOCAR_KEY, None):
                state.pop(TAKEOVER_KEY, None)
                claimed = state.pop(CLAIM_KEY, None)
                if claimed is not None:
                    self._withdraw(*claimed)
            return
        for key in (IOCAR_KEY, TAKEOVER_KEY, CLAIM_KEY):
            state.pop(key, None)
        ar_type = str(fields.get("ar_type", ""))
        device = pkt.dst_ip or pkt.dst_mac
        if not ar_type.startswith("iocar") or device is None:
            return
        state[IOCAR_KEY] = True
        controller, redundant = (pkt.src_ip, pkt.src_mac), ar_type == "iocar_sr"
        claim = frozenset(fields.get("expected_submodules", ())) or None
        known = self._controllers.get(device)
        owners = known[1] if known else ()
        if any(owner == controller for owner, _ in owners):
            self._controllers.move_to_end(device)  # its controller again: its restart or the device's
            return
        # owners of a submodule this AR claims (a claim not read is the whole device)
        rivals = [owner for owner, theirs in owners if theirs is None or claim is None or theirs & claim]
        shared = not rivals and len(owners) < MAX_SHARING  # a shared device: another controller's submodules
        pair = known is not None and known[0] and redundant and len(owners) < SR_CONTROLLERS
        if known is None or shared or pair:
            self._controllers[device] = (known[0] if known else redundant, (*owners, (controller, claim)))
            state[CLAIM_KEY] = (device, controller)
            self._controllers.move_to_end(device)
            if len(self._controllers) > self._max_devices:
                self._controllers.popitem(last=False)
            return
        ip, mac = (rivals or [owners[0][0]])[0]
        state[TAKEOVER_KEY] = fields["previous_controller"] = ip or mac

    def _withdraw(self, device: str, controller: Controller) -> None:
        """Forget ``controller`` as one of ``device``'s: the device refused its Connect."""
        known = self._controllers.get(device)
        if known is None:
            return
        rest = tuple(owner for owner in known[1] if owner[0] != controller)
        if rest:
            self._controllers[device] = (known[0], rest)
        else:
            del self._controllers[device]

    @staticmethod
    def _mark(pdu: ClPdu, fields: dict[str, Any], state: dict[str, Any]) -> None:
        """The OT operation of a request to the PNIO-Device interface (module docstring)."""
        if pdu.ptype != REQUEST or fields["interface"] != "pnio_device":
            return
        if fields["operation"] == "release":
            for key in (IOCAR_KEY, TAKEOVER_KEY, CLAIM_KEY):
                state.pop(key, None)
        prefix = ""
        if state.get(IOCAR_KEY) and fields["operation"] in ("write", "control"):
            fields["ar_setup"] = True
            if TAKEOVER_KEY not in state:
                return  # the device's controller parameterising it in its own AR: not an OT operation
            fields["ar_takeover"], fields["previous_controller"] = True, state[TAKEOVER_KEY]
            prefix = "takeover_"
        if fields["operation"] == "write" and "index_name" in fields:
            fields[OPERATION], fields[NAME] = "config", f"{prefix}write_{fields['index_name']}"
        elif fields["operation"] == "control" and "control" in fields:
            fields[OPERATION], fields[NAME] = "config", f"{prefix}control_" + "_".join(fields["control"])

    @staticmethod
    def _record(record: bytes, fields: dict[str, Any], state: dict[str, Any]) -> None:
        """A Read answer's record data: I&M0 (the device's own or a module's) or I&M0FilterData."""
        if fields["index"] == IM0_FILTER_DATA:
            for kind, block, _ in _blocks(record):
                if kind in FILTER_BLOCKS:
                    fields[FILTER_BLOCKS[kind]] = listed = parse_filter(block)
                    if kind == 0x0032 and listed:
                        state["device_im0"] = (listed[0]["api"], listed[0]["slot"], listed[0]["subslot"])
        elif fields["index"] == IM0 and record:
            im0 = parse_im0(record)
            own = state.get("device_im0")
            if (fields["api"], fields["slot"], fields["subslot"]) == own or (own is None and fields["slot"] == 0):
                fields.update(im0)
            else:
                fields["module_im0"] = {"slot": fields["slot"], "subslot": fields["subslot"], **im0}
