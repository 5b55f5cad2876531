"""PROFINET IO context management (PNIO-CM, IEC 61158-6-10 §5.1): connectionless DCE/RPC on udp/34964 between IO
controllers, supervisors (engineering tools) and IO devices, and the endpoint mapper lookup a device answers there.

The RPC header is :mod:`~iotwarden.dissect.dcerpc_cl`'s. Interfaces (packet-pn-io.c, p-net pf_types.h): PNIO-Device
dea00001-6c97-11d1-8271-00a02442df7d, PNIO-Controller dea00002-..., PNIO-Supervisor dea00003-...,
PNIO-ParameterServer dea00004-...; operations Connect 0, Release 1, Read 2, Write 3, Control 4, ReadImplicit 5.
A PNIO object UUID is dea00000-6c97-11d1-8271-IIII-DDDD-VVVV: interface instance, DeviceID, VendorID (p-net
pf_cmrpc_epm.c). The stub (NDR, the drep's byte order): a request's ArgsMaximum, ArgsLength and array header
(MaximumCount, Offset, ActualCount), a response's PNIOStatus (ErrorCode, ErrorDecode, ErrorCode1, ErrorCode2) and
the same lengths; then PNIO blocks, read by :mod:`~iotwarden.dissect.pnio_blocks`.

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
known controller of the device claimed is one more of its own (:data:`MAX_SHARING`; past it, neither its own nor a
takeover: nothing is said); one asking for another's, or a
Connect whose submodules were not read (the whole device), takes that controller's over, and ``previous_controller``
names it. Only the first controller seen can be trusted this way: a capture that begins with a rogue's accepted AR
takes it for the controller (``detect.ot``'s ``engineering_stations`` and the risk.ot checks' lists name the site's
own).
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from typing import Any, ClassVar

from iotwarden.dissect import dcerpc_cl
from iotwarden.dissect.base import Dissector, Packet, confirm
from iotwarden.dissect.dcerpc_cl import FAULT, REJECT, REQUEST, RESPONSE, ClPdu
from iotwarden.dissect.pnio_blocks import (
    AR_BLOCK_REQ,
    CONTROL_BLOCKS,
    EXPECTED_SUBMODULES,
    FILTER_BLOCKS,
    IM0,
    IM0_FILTER_DATA,
    MAX_EPM_ENTRIES,
    MAX_EXPECTED,
    MAX_SUBMODULES,
    OBJECT_PREFIX,
    READ_REQ,
    READ_RES,
    WRITE_MULTIPLE,
    WRITE_REQ,
    WRITE_RES,
    ar_block,
    control_block,
    expected_submodules,
    index_name,
    object_ids,
    parse_annotation,
    parse_filter,
    parse_im0,
    parse_lookup_response,
    pnio_status,
    read_blocks,
    record_header,
    written_indices,
)
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
PNIO_SUFFIX = "-6c97-11d1-8271-00a02442df7d"
INTERFACES = {f"dea0000{n}{PNIO_SUFFIX}": name for n, name in
              ((1, "pnio_device"), (2, "pnio_controller"), (3, "pnio_supervisor"), (4, "pnio_parameter_server"))}
EPM = "e1af8308-5d1f-11c9-91a4-08002b14a0fa"  # C706 Appendix O endpoint mapper
OPERATIONS = {0: "connect", 1: "release", 2: "read", 3: "write", 4: "control", 5: "read_implicit"}
EPM_LOOKUP = 2

# the block readers' names (dissect/pnio_blocks.py, split from this module) stay importable from here
__all__ = ["MAX_DEVICES", "MAX_EPM_ENTRIES", "MAX_EXPECTED", "MAX_SHARING", "MAX_SUBMODULES", "PORT", "PnioCmDissector",
           "expected_submodules", "index_name", "parse_annotation", "parse_filter", "parse_im0",
           "parse_lookup_response", "written_indices"]


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
        object_ids(pdu.object, "target_" if pdu.ptype == REQUEST else "", fields)
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
                object_ids(obj, "", fields)
                fields.update(parse_annotation(text))
                break

    def _stub(self, pdu: ClPdu, body: bytes, fields: dict[str, Any], state: dict[str, Any]) -> None:
        if len(body) < 20:
            raise ParseError("pnio_cm: stub without its NDR header")
        if pdu.ptype == RESPONSE:
            fields["pnio_status"] = pnio_status(body[0:4])
        actual = struct.unpack_from(pdu.order + "I", body, 16)[0]
        blocks = body[20:20 + actual]
        if len(blocks) != actual:
            raise ParseError("pnio_cm: ActualCount past the stub")
        for kind, block, end in read_blocks(blocks):
            if kind in (READ_REQ, WRITE_REQ, READ_RES, WRITE_RES):
                length = record_header(block, kind, fields)
                if kind == READ_RES:
                    self._record(blocks[end:end + length], fields, state)
                elif kind == WRITE_REQ and fields["index"] == WRITE_MULTIPLE:
                    fields["written"] = written_indices(blocks[end:end + length])
                break  # the record data after a header are no blocks of this stub (a Write's parameters)
            if kind == AR_BLOCK_REQ:
                ar_block(block, fields)
            elif kind == EXPECTED_SUBMODULES and pdu.ptype == REQUEST:
                expected_submodules(block, fields.setdefault("expected_submodules", []))
            elif kind in CONTROL_BLOCKS and pdu.ptype == REQUEST:
                control_block(block, fields)

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
        if not rivals:
            return  # submodules no known controller claimed, MAX_SHARING known: one more of its own or not, unsaid
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
            for kind, block, _ in read_blocks(record):
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
