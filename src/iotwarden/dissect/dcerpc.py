"""Connection-oriented DCE/RPC v5 dissector (tcp/135, elsewhere by a strict header probe): the interfaces a
client binds, the server accepts, and the operations it calls on them.

PDUs (C706 §12.6, [MS-RPCE] §2.2.2): a 16-byte common header (rpc_vers 5, rpc_vers_minor 0 or 1, PTYPE,
pfc_flags, the 4-byte data representation (``packed_drep``: integer byte order in the high nibble of its
first byte, 0 big-endian, 1 little-endian, §14.1), frag_length, auth_length, call_id), in that byte order.
bind and alter_context (§12.6.4.3, §12.6.4.1) propose presentation contexts, each an id and an abstract
syntax (interface UUID and version, §12.6.3.1); bind_ack and alter_context_resp (§12.6.4.4, .2) carry the
secondary address (the server's port or pipe, ``port_any_t``) and a result per proposed context, in the
order proposed; bind_nak (§12.6.4.5) a reason. request (§12.6.4.9): alloc_hint, context id, opnum, the
object UUID when PFC_OBJECT_UUID is set; a call larger than one fragment is several request PDUs of one
call_id, the first with PFC_FIRST_FRAG, the last with PFC_LAST_FRAG (§12.6.3.1). response (§12.6.4.10) and
fault (§12.6.4.7, with its status) answer a call. Stub data is never read. The common header, binds and
bind_acks are read in dissect/dcerpcpdu.py.

Kinds (subject ``src``, the sender): ``bind`` / ``alter_context`` from the client (``requested_interfaces``:
names from :mod:`~iotwarden.dissect.dcerpcifaces`, else the UUID; ``contexts``), ``bind_ack`` /
``alter_context_resp`` from the server (``accepted_interfaces``, ``secondary_address``), ``bind_nak``,
``request`` (``interface``, ``opnum``, ``operation`` when the table names it, ``fragments``, ``stub_bytes``)
once per call when its last fragment arrives, ``response`` to a named operation, ``fault`` (``status``).
After a lost TCP segment (``gap``) the direction's partial PDU is dropped and the next PDU looked for (:func:`resync`,
at most :data:`MAX_RESYNC_SCAN` bytes; what it keeps meanwhile is one fragment at most); contexts and calls awaiting
answers survive, a call with a fragment in the hole is dropped (:func:`lose`).
A request whose operation is not named is reported once per interface and opnum of the flow; at most
:data:`MAX_CALLS` requests per flow. On an SMB named pipe whose bind was not captured (``extra``'s ``named_pipe``,
no bind or alter_context seen on it), a request's ``interface`` is the one the pipe implies
(:func:`~iotwarden.dissect.dcerpcifaces.pipe_interface`), with ``interface_inferred`` True, on the request and on its
response or fault; over TCP no pipe names the interface, and such a call names none. What proves a handle whose SMB
CREATE was not captured a named pipe is :func:`opens_pipe`'s.

Roles: only a client sends bind, alter_context, auth3 and request; only a server bind_ack, bind_nak,
alter_context_resp, response and fault. The flow's first PDU proves who the client is; sent by the end the
engine took for the server, the flow's roles are flipped (dissect/base.py FLIP_STATE_KEY).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector, confirm, flip_roles
from iotwarden.dissect.dcerpcifaces import INTERFACES, interface_name, operation_name, pipe_interface
from iotwarden.dissect.dcerpcpdu import (
    ACK_RESULTS,
    ALTER_CONTEXT,
    ALTER_CONTEXT_RESP,
    AUTH_VERIFIER,
    BIND,
    BIND_ACK,
    BIND_NAK,
    CANDIDATE,
    CLIENT_PTYPES,
    FAULT,
    HEADER,
    MAX_FRAGMENT,
    PFC_FIRST_FRAG,
    PFC_LAST_FRAG,
    PFC_OBJECT_UUID,
    PTYPES,
    REQUEST,
    RESPONSE,
    header,
    parse_bind,
    parse_bind_ack,
)
from iotwarden.errors import ParseError
from iotwarden.model import Observation

NAME = "dcerpc"
MAX_CONTEXTS = 64  # presentation contexts remembered per flow (id -> interface)
MAX_PENDING = 64  # calls remembered per flow: fragments of a request, a named operation awaiting its answer
MAX_CALLS = 256  # request observations per flow (a DCOM session may call thousands of times)
# bytes of a direction passed over after a lost segment while looking for the next PDU (:func:`resync`): any point of
# the stream is less than one fragment before the next header
MAX_RESYNC_SCAN = MAX_FRAGMENT + HEADER

# the PDUs' names (dissect/dcerpcpdu.py, split from this module) that other modules read from here stay importable
__all__ = ["AUTH_VERIFIER", "HEADER", "MAX_CALLS", "MAX_CONTEXTS", "MAX_FRAGMENT", "MAX_PENDING", "MAX_RESYNC_SCAN",
           "NAME", "PFC_OBJECT_UUID", "REQUEST", "DcerpcDissector", "del_oldest", "header", "lose", "observe",
           "opens_pipe", "resync", "resync_at", "sends", "take_pdus"]


class DcerpcDissector(StreamDissector):
    name: ClassVar[str] = NAME
    tcp_ports: ClassVar[tuple[int, ...]] = (135,)  # IANA "epmap" (ncacn_ip_tcp endpoint mapper, [MS-RPCE] §2.1.1.1)
    max_buffer: ClassVar[int] = MAX_FRAGMENT

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A valid common header (:func:`header`) whose fragment the payload holds whole or continues into,
        followed by another PDU's version bytes when the payload is longer."""
        head = header(payload)
        if head is None:
            return False
        frag = head[3]
        return len(payload) <= frag or payload[frag:frag + 2] == b"\x05\x00"[:len(payload) - frag]

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """A lost segment: the direction's partial PDU is dropped and the next PDU looked for (:func:`resync`); the
        presentation contexts and the calls awaiting answers stay (:func:`lose`)."""
        lose(state, to_server)
        state["starts_" + streambuf.direction_key(to_server)] = []

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        if "lost_" + key in state:
            buf = state.setdefault(key, bytearray())
            starts: list[int] = state.setdefault("starts_" + key, [])
            starts.append(len(buf))
            buf += data
            found, drop = resync(buf, starts, state, pkt.to_server)
            if found is None:
                del buf[:drop]
                starts[:] = [at - drop for at in starts if at >= drop]
                state["lost_" + key] += drop
                if state["lost_" + key] > MAX_RESYNC_SCAN:
                    state["done"] = True  # no PDU within a fragment's length of the hole: no DCE/RPC
                return []
            del buf[:found]  # it begins the next PDU, and holds this segment's bytes
            del state["lost_" + key], state["starts_" + key]
        else:
            buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        try:
            for pdu, head in take_pdus(buf):
                if "client" not in state:  # the first PDU proves the roles
                    state["client"] = pkt.to_server == (head[0] in CLIENT_PTYPES)
                    if not state["client"]:
                        flip_roles(state)
                observe(pkt, pdu, head, state, out)
            streambuf.bound(state, buf, self.max_buffer)
        except ParseError as exc:
            state["done"] = True
            raise streambuf.failed(exc, out) from None
        return out


def lose(state: dict[str, Any], to_server: bool) -> None:
    """Bytes of ``to_server``'s direction were lost (a TCP hole, or an SMB message carrying a pipe's bytes): its partial
    PDU is dropped and the direction reads again from the next PDU header (``lost_<direction>``: bytes passed over
    since). When it is the client's (or the roles are not yet known), the requests whose fragments were being put
    together are dropped, and from now on a later fragment of a call whose first was not read is dropped too
    (``gapped``): a fragment may have been in the hole, and its call's stub would be counted wrong. Contexts and the
    named calls awaiting their answers stay: an answer lost says nothing of its call."""
    key = streambuf.direction_key(to_server)
    state.pop(key, None)
    state["lost_" + key] = 0
    if state.get("client", to_server) == to_server:
        state.pop("pending", None)
        state["gapped"] = True


def sends(ptype: int, to_server: bool, state: dict[str, Any]) -> bool:
    """Whether a PDU of ``ptype`` may be sent in ``to_server``'s direction, once the flow's roles are known."""
    return "client" not in state or (ptype in CLIENT_PTYPES) == (to_server == state["client"])


def resync_at(buf: bytes | bytearray, at: int, state: dict[str, Any], to_server: bool, *,
              strict: bool) -> bool | None:
    """Whether a PDU begins at ``buf[at]`` after a hole: True, False, or None when more bytes are needed to tell. Its
    common header must be valid (:func:`header`: version 5.0/5.1, a known PTYPE, the data representation's integer,
    character and floating-point formats in their allowed sets with its reserved bytes zero, C706 §14.1; a
    frag_length that holds the PTYPE's fixed body and the auth_length's trailer) and the PTYPE the direction's to send.
    ``strict`` (a position inside data): a request, response or fault must name a presentation context bound on the
    flow, a bind or alter_context must parse, a bind_ack or alter_context_resp answer a proposal seen; no other PTYPE.
    With the 10 fixed bits of the version and drep bytes and a consistent length, data rarely passes."""
    if len(buf) - at < HEADER:
        return None if bytes(buf[at:at + 2]) in (b"", b"\x05", b"\x05\x00", b"\x05\x01") else False
    head = header(bytes(buf[at:at + HEADER]))
    if head is None or not sends(head[0], to_server, state):
        return False
    ptype, _, order, frag, _, call_id = head
    if not strict:
        return True
    if ptype in (REQUEST, RESPONSE, FAULT):
        if len(buf) - at < HEADER + 8:
            return None
        return struct.unpack_from(order + "H", buf, at + HEADER + 4)[0] in state.get("contexts", {})
    if ptype not in (BIND, ALTER_CONTEXT, BIND_ACK, ALTER_CONTEXT_RESP):
        return False
    if len(buf) - at < frag:
        return None
    body = bytes(buf[at + HEADER:at + frag - (head[4] + AUTH_VERIFIER if head[4] else 0)])
    try:
        if ptype in (BIND, ALTER_CONTEXT):
            return bool(parse_bind(body, order))
        parse_bind_ack(body, order)
    except (ParseError, struct.error, IndexError):
        return False
    return call_id in state.get("proposed", {})


def resync(buf: bytes | bytearray, starts: list[int], state: dict[str, Any], to_server: bool) -> tuple[int | None, int]:
    """(offset of the first PDU found in ``buf``, the bytes after a hole, or None; how many bytes at its head can
    begin none and may be dropped). A PDU is looked for at each segment's start (``starts``) with :func:`resync_at`,
    anywhere else strictly; bytes that cannot tell yet are kept."""
    first, wait = len(buf), False
    ordered = sorted(starts)
    for at, end in zip(ordered, [*ordered[1:], len(buf)], strict=True):  # a segment shorter than a header: strictly
        verdict = resync_at(buf, at, state, to_server, strict=end - at < HEADER) if 0 <= at < len(buf) else False
        if verdict is not False:
            first, wait = at, verdict is None
            break
    match = CANDIDATE.search(buf, 0, first + HEADER - 1)
    while match is not None and match.start() < first:
        at = match.start()
        verdict = resync_at(buf, at, state, to_server, strict=True)
        if verdict:
            return at, at
        if verdict is None:
            return None, at
        match = CANDIDATE.search(buf, at + 1, first + HEADER - 1)
    tail = max(first - HEADER + 1, 0) if first == len(buf) else first  # a header may still complete in the last 15
    while tail < first and resync_at(buf, tail, state, to_server, strict=True) is False:
        tail += 1
    if first < len(buf):
        return (None, first) if wait else (first, first)
    return None, tail


def opens_pipe(data: bytes, pipe: str | None) -> bool:
    """Whether ``data``, what an SMB client writes to (or transceives on) a handle whose pipe CREATE the capture missed,
    proves the handle a named pipe carrying DCE/RPC (dissect/smb2files.py ``adopt``). It must be exactly one PDU whose
    common header is valid (:func:`header`) and whose frag_length is the message's length, and either a bind or
    alter_context that parses and proposes an interface of dcerpcifaces.INTERFACES (a 128-bit UUID: the interface is
    then known, not inferred), or the first fragment of a request whose operation the interface ``pipe`` implies
    names (``pipe``: the name the handle's CREATE gave it, seen on a tree whose TREE_CONNECT was not; the
    interface_inferred rule of :func:`observe`). A request on a handle of unknown name is never taken: its opnum
    names nothing without an interface, and a request header is only 10 fixed bits and a length."""
    head = header(data)
    if head is None or head[3] != len(data) or head[0] not in CLIENT_PTYPES:
        return False
    ptype, flags, order, frag, auth, _ = head
    body = data[HEADER:frag - (auth + AUTH_VERIFIER if auth else 0)]
    if ptype in (BIND, ALTER_CONTEXT):
        try:
            proposed = parse_bind(body, order)
        except (ParseError, struct.error, IndexError):
            return False
        return any(if_uuid in INTERFACES for _, if_uuid, _, _ in proposed)
    if ptype != REQUEST or not flags & PFC_FIRST_FRAG or len(body) < 8:
        return False
    opnum = struct.unpack_from(order + "H", body, 6)[0]
    return operation_name(pipe_interface(pipe, opnum), opnum) is not None


def take_pdus(buf: bytearray) -> Iterator[tuple[bytes, tuple[int, int, str, int, int, int]]]:
    """Each whole PDU at the head of ``buf`` (one direction's bytes), taken out of it, with its :func:`header`;
    an incomplete one stays. ParseError when the bytes at the head begin no PDU."""
    while len(buf) >= HEADER:
        head = header(buf)
        if head is None:
            raise ParseError("dcerpc: not a connection-oriented DCE/RPC v5 header")
        if len(buf) < head[3]:
            return
        pdu = bytes(buf[:head[3]])
        del buf[:head[3]]
        yield pdu, head


def observe(pkt: Packet, pdu: bytes, head: tuple[int, int, str, int, int, int], state: dict[str, Any],
            out: list[Observation], *, extra: dict[str, Any] | None = None) -> None:
    """The Observations of one PDU sent in ``pkt``'s direction, ``state`` the calls of its connection or pipe
    (contexts, fragments, named calls awaiting their answer); ``extra`` fields are added to each (an SMB pipe's
    ``named_pipe``)."""
    ptype, flags, order, frag, auth, call_id = head
    end = frag - (auth + AUTH_VERIFIER if auth else 0)
    body = pdu[HEADER:end]
    confirm(state)
    contexts: dict[int, str] = state.setdefault("contexts", {})
    base: dict[str, Any] = {"ptype": PTYPES[ptype], "call_id": call_id,
                            "byte_order": "little" if order == "<" else "big", **(extra or {})}
    if ptype in (BIND, ALTER_CONTEXT):
        proposed = parse_bind(body, order)
        state.setdefault("proposed", {})[call_id] = [cid for cid, *_ in proposed]
        del_oldest(state["proposed"])
        names = []
        for cid, if_uuid, _major, _minor in proposed:
            name = interface_name(if_uuid)
            if cid in contexts or len(contexts) < MAX_CONTEXTS:
                contexts[cid] = name
            if name not in names:
                names.append(name)
        base.update(requested_interfaces=names, contexts=[
            {"context_id": cid, "uuid": u, "version": f"{major}.{minor}", "interface": interface_name(u)}
            for cid, u, major, minor in proposed])
        out.append(pkt.observation(NAME, PTYPES[ptype], base))
    elif ptype in (BIND_ACK, ALTER_CONTEXT_RESP):
        address, results = parse_bind_ack(body, order)
        proposed_ids = state.get("proposed", {}).pop(call_id, [])
        accepted: list[str] = []
        for cid, result in zip(proposed_ids, results, strict=False):
            known = contexts.get(cid)
            if result == 0 and known is not None:
                if known not in accepted:
                    accepted.append(known)
            elif result != 0:
                contexts.pop(cid, None)
        base.update(secondary_address=address or None, accepted_interfaces=accepted,
                    results=[ACK_RESULTS.get(r, str(r)) for r in results])
        out.append(pkt.observation(NAME, PTYPES[ptype], base))
    elif ptype == BIND_NAK:
        base["reason"] = struct.unpack_from(order + "H", body, 0)[0]  # provider_reject_reason, C706 §12.6.3.1
        out.append(pkt.observation(NAME, "bind_nak", base))
    elif ptype == REQUEST:
        _request(pkt, body, flags=flags, order=order, base=base, state=state, out=out,
                 pipe=(extra or {}).get("named_pipe"))
    elif ptype in (RESPONSE, FAULT):
        _answer(pkt, body, ptype=ptype, order=order, base=base, state=state, out=out)


def _request(pkt: Packet, body: bytes, *, flags: int, order: str, base: dict[str, Any],
             state: dict[str, Any], out: list[Observation], pipe: str | None = None) -> None:
    cont_id, opnum = struct.unpack_from(order + "HH", body, 4)
    stub = len(body) - 8 - (16 if flags & PFC_OBJECT_UUID else 0)
    if stub < 0:
        raise ParseError("dcerpc: request shorter than its object UUID")
    pending: dict[int, list[int]] = state.setdefault("pending", {})
    call_id = base["call_id"]
    if not flags & PFC_FIRST_FRAG and call_id in pending:  # a later fragment of a call begun before
        pending[call_id][0] += 1
        pending[call_id][1] += stub
    elif not flags & PFC_FIRST_FRAG and state.get("gapped"):
        return  # its first fragment was lost, or one between (lose): dropped, not counted as a whole call
    else:
        pending[call_id] = [1, stub]
        del_oldest(pending)
    if not flags & PFC_LAST_FRAG:
        return
    fragments, stub_bytes = pending.pop(call_id)
    interface = state.get("contexts", {}).get(cont_id)
    inferred = False
    if interface is None and "proposed" not in state:  # no bind seen: the pipe's interface, if it implies one
        interface = pipe_interface(pipe, opnum)
        inferred = interface is not None
    operation = operation_name(interface, opnum)
    reported: set[tuple[Any, int]] = state.setdefault("reported", set())
    if operation is None and (interface, opnum) in reported:
        return
    if state.get("calls", 0) >= MAX_CALLS:
        return
    state["calls"] = state.get("calls", 0) + 1
    if operation is None and len(reported) < MAX_CALLS:
        reported.add((interface, opnum))
    if operation is not None:
        named: dict[int, tuple[str | None, str, bool]] = state.setdefault("named", {})
        named[call_id] = (interface, operation, inferred)
        del_oldest(named)
    base.update(context_id=cont_id, opnum=opnum, interface=interface, operation=operation,
                fragments=fragments, stub_bytes=stub_bytes)
    if inferred:
        base["interface_inferred"] = True
    out.append(pkt.observation(NAME, "request", base))


def _answer(pkt: Packet, body: bytes, *, ptype: int, order: str, base: dict[str, Any],
            state: dict[str, Any], out: list[Observation]) -> None:
    cont_id = struct.unpack_from(order + "H", body, 4)[0]
    named = state.get("named", {}).pop(base["call_id"], None)
    if named is not None and named[2]:
        base["interface_inferred"] = True
    if ptype == FAULT:
        base.update(context_id=cont_id, status=struct.unpack_from(order + "I", body, 8)[0],
                    interface=named[0] if named else state.get("contexts", {}).get(cont_id),
                    operation=named[1] if named else None)
        out.append(pkt.observation(NAME, "fault", base))
    elif named is not None:
        base.update(context_id=cont_id, interface=named[0], operation=named[1])
        out.append(pkt.observation(NAME, "response", base))


def del_oldest(table: dict[Any, Any], limit: int = MAX_PENDING) -> None:
    """Keep ``table`` (insertion ordered) within ``limit`` entries, the oldest dropped first."""
    while len(table) > limit:
        del table[next(iter(table))]
