"""Connectionless DCE/RPC v4 (C706 §12.5, "ncadg_ip_udp"): the 80-octet PDU header, fragment reassembly, and a
dissector for udp/135 that names the interface and operation of each call.

Header (C706 §12.5.1, ``dc_rpc_cl_pkt_hdr_t``): rpc_vers 4, ptype, flags1, flags2, drep (3 octets: integer byte
order in the high nibble of the first, 0 big-endian, 1 little-endian, §14.1), serial_hi, object UUID, interface
UUID, activity UUID, server boot time, interface version, sequence number, opnum, interface and activity hints,
body length, fragment number, auth_proto, serial_lo; every multi-octet field and the UUIDs' first three fields in
the drep's byte order. PTYPEs (§12.5.3): request 0, ping 1, response 2, fault 3, working 4, nocall 5, reject 6,
ack 7, cl_cancel 8, fack 9, cancel_ack 10. flags1 (§12.5.3.1): lastfrag 0x02, frag 0x04, nofack 0x08, maybe 0x10,
idempotent 0x20, broadcast 0x40. A call larger than one datagram is several PDUs of one activity and sequence
number with frag set, numbered from 0, the last with lastfrag too (§12.5.3.2); :func:`reassemble` joins them.
A fault and a reject carry a 32-bit status (§12.5.3.4, .7).

:class:`DcerpcClDissector` (udp/135, the endpoint mapper's port) reports ``request``, ``response``, ``fault`` and
``reject`` (subject ``src``): ``interface`` (the name from :mod:`~iotwarden.dissect.dcerpcifaces`, else the
UUID), ``opnum``, ``operation`` when the table names it, ``activity``, ``seqnum``, ``fragments``, ``byte_order``,
``status`` (fault, reject). Other PTYPEs confirm the flow and report nothing; at most :data:`MAX_CALLS` per flow.
PROFINET IO's context management (udp/34964) is :mod:`~iotwarden.dissect.pnio_cm`, on this module's header.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from iotwarden.dissect.base import Dissector, Packet, confirm, flip_roles
from iotwarden.dissect.dcerpcifaces import interface_name, operation_name
from iotwarden.errors import ParseError
from iotwarden.model import Observation

HEADER = 80  # C706 §12.5.1
REQUEST, PING, RESPONSE, FAULT, WORKING, NOCALL, REJECT, ACK, CL_CANCEL, FACK, CANCEL_ACK = range(11)
PTYPES = ("request", "ping", "response", "fault", "working", "nocall", "reject", "ack", "cl_cancel", "fack",
          "cancel_ack")
# PTYPEs only a server sends (§12.5.3): one of them travelling to the flow's responder proves the roles reversed
SERVER_PTYPES = frozenset({RESPONSE, FAULT, WORKING, NOCALL, REJECT, FACK, CANCEL_ACK})
LASTFRAG, FRAG = 0x02, 0x04  # flags1, §12.5.3.1
NIL = "00000000-0000-0000-0000-000000000000"
MAX_CALLS = 256  # observations of one flow (udp/135)
MAX_PARTIAL = 16  # fragmented calls held per flow, the oldest dropped first
MAX_FRAGMENTS = 64  # fragments of one call (a fragment number past it is a ParseError)
MAX_CALL_BYTES = 65_536  # body octets of one reassembled call (past it a ParseError)


@dataclass(frozen=True, slots=True)
class ClPdu:
    """One connectionless PDU: its header fields and its body (``len`` octets after the header)."""

    ptype: int
    flags1: int
    flags2: int
    order: str  # struct byte order: "<" little-endian, ">" big-endian
    object: str
    interface: str
    activity: str
    server_boot: int
    if_version: int
    seqnum: int
    opnum: int
    fragnum: int
    auth_proto: int
    body: bytes


def ndr_uuid(raw: bytes, order: str) -> str:
    """An NDR UUID: time_low, time_mid, time_hi_and_version in the drep's byte order (C706 Appendix A)."""
    return str(uuid.UUID(bytes_le=raw) if order == "<" else uuid.UUID(bytes=raw))


def parse(payload: bytes) -> ClPdu:
    """The PDU at the head of ``payload`` (a UDP datagram); ParseError when it is not a valid v4 header
    (version 4, a known PTYPE, an NDR drep with reserved bits clear) or its body runs past the datagram."""
    if len(payload) < HEADER:
        raise ParseError("dcerpc_cl: shorter than the 80-octet header")
    if payload[0] != 4 or payload[1] >= len(PTYPES):
        raise ParseError(f"dcerpc_cl: version {payload[0]} ptype {payload[1]}")
    drep = payload[4:7]
    if drep[0] >> 4 > 1 or drep[0] & 0x0F > 1 or drep[1] > 3 or drep[2]:
        raise ParseError("dcerpc_cl: not an NDR data representation")
    order = "<" if drep[0] >> 4 else ">"
    boot, if_vers, seqnum, opnum, _ihint, _ahint, length, fragnum = struct.unpack_from(order + "IIIHHHHH", payload, 56)
    body = payload[HEADER:HEADER + length]
    if len(body) != length:
        raise ParseError("dcerpc_cl: body length past the datagram")
    return ClPdu(ptype=payload[1], flags1=payload[2], flags2=payload[3], order=order,
                 object=ndr_uuid(payload[8:24], order), interface=ndr_uuid(payload[24:40], order),
                 activity=ndr_uuid(payload[40:56], order), server_boot=boot, if_version=if_vers, seqnum=seqnum,
                 opnum=opnum, fragnum=fragnum, auth_proto=payload[78], body=body)


def reassemble(state: dict[str, Any], pdu: ClPdu) -> tuple[bytes, int] | None:
    """(body, fragments) of the call ``pdu`` completes: its own body when it is not a fragment, the joined
    fragments once all of 0..last have come (in any order), else None (held in ``state``, bounded)."""
    if not pdu.flags1 & FRAG:
        return pdu.body, 1
    if pdu.fragnum >= MAX_FRAGMENTS:
        raise ParseError(f"dcerpc_cl: fragment {pdu.fragnum} past MAX_FRAGMENTS")
    partial: dict[tuple[str, int, int], dict[Any, Any]] = state.setdefault("partial", {})
    key = (pdu.activity, pdu.seqnum, pdu.ptype)
    call = partial.setdefault(key, {})
    call[pdu.fragnum] = pdu.body
    if pdu.flags1 & LASTFRAG:
        call["last"] = pdu.fragnum
    if sum(len(v) for k, v in call.items() if k != "last") > MAX_CALL_BYTES:
        del partial[key]
        raise ParseError("dcerpc_cl: fragmented call past MAX_CALL_BYTES")
    while len(partial) > MAX_PARTIAL:
        del partial[next(iter(partial))]
    last = call.get("last")
    if last is None or any(n not in call for n in range(last + 1)):
        return None
    del partial[key]
    return b"".join(call[n] for n in range(last + 1)), last + 1


def first_proves_roles(state: dict[str, Any], pdu: ClPdu, to_server: bool) -> None:
    """On the flow's first PDU: a server's PTYPE sent towards the responder means the roles are reversed."""
    if "seen" not in state:
        state["seen"] = True
        if to_server and pdu.ptype in SERVER_PTYPES:
            flip_roles(state)


def status(pdu: ClPdu, body: bytes) -> int:
    """The 32-bit status of a fault or reject body (C706 §12.5.3.4, §12.5.3.7)."""
    if len(body) < 4:
        raise ParseError(f"dcerpc_cl: {PTYPES[pdu.ptype]} without its status")
    return int(struct.unpack_from(pdu.order + "I", body, 0)[0])


def header_fields(pdu: ClPdu, fragments: int) -> dict[str, Any]:
    """The fields every reported PDU carries (module docstring)."""
    return {"ptype": PTYPES[pdu.ptype], "opnum": pdu.opnum, "activity": pdu.activity, "seqnum": pdu.seqnum,
            "fragments": fragments, "byte_order": "little" if pdu.order == "<" else "big"}


class DcerpcClDissector(Dissector):
    name: ClassVar[str] = "dcerpc_cl"
    udp_ports: ClassVar[tuple[int, ...]] = (135,)  # IANA "epmap", ncadg_ip_udp endpoint mapper (C706 Appendix I)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        pdu = parse(pkt.payload)
        first_proves_roles(state, pdu, pkt.to_server)
        confirm(state)
        if pdu.ptype not in (REQUEST, RESPONSE, FAULT, REJECT):
            return []
        done = reassemble(state, pdu)
        if done is None or state.get("calls", 0) >= MAX_CALLS:
            return []
        body, fragments = done
        state["calls"] = state.get("calls", 0) + 1
        fields = header_fields(pdu, fragments)
        interface = interface_name(pdu.interface)
        fields.update(interface=interface, operation=operation_name(interface, pdu.opnum))
        if pdu.object != NIL:
            fields["object"] = pdu.object
        if pdu.ptype in (FAULT, REJECT):
            fields["status"] = status(pdu, body)
        return [pkt.observation(self.name, PTYPES[pdu.ptype], fields)]
