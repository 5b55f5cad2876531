"""Zeek's dce_rpc.log -> the Observations dissect/dcerpc.py makes, so the same inventory facts and detectors
(detect.lateral.remote_exec, detect.lateral.dcsync) work from a Zeek sensor.

``DCE_RPC::Info`` (base/protocols/dce-rpc/main.zeek): one line per request/response pair, with ``rtt`` (unset
when no response was seen), ``named_pipe`` (the SMB pipe or TCP port the bind_ack named), ``endpoint`` (the
interface, named by ``DCE_RPC::uuid_endpoint_map``, else ``unknown-<uuid>``) and ``operation`` (named by
``DCE_RPC::operations``, else ``unknown-<opnum>``). Each line is the originator's ``bind`` proposing the
interface and its ``request``; when answered (``rtt`` set) also the responder's ``bind_ack`` accepting it and
its ``response``: Zeek only logs calls on an interface the server accepted, and a request's answer proves it.
Interface and operation names are those of :mod:`~iotwarden.dissect.dcerpcifaces`, which follows Zeek's.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.dcerpcifaces import BY_NAME, INTERFACES, OPERATIONS
from iotwarden.model import Observation
from iotwarden.sources.zeek_fields import ConnId, get_float, get_str

UNKNOWN = "unknown-"  # Zeek's default name of an interface or operation its tables lack
_OPNUMS = {(iface.lower(), name.lower()): opnum for (iface, opnum), name in OPERATIONS.items()}


def _interface(endpoint: str | None) -> tuple[str | None, str | None]:
    """(our name, UUID) of a logged endpoint: a listed name, ``unknown-<uuid>``, or the name as Zeek gave it."""
    if endpoint is None:
        return None, None
    if endpoint.startswith(UNKNOWN):
        uuid = endpoint[len(UNKNOWN):].lower()
        found = INTERFACES.get(uuid)
        return (found.name if found else uuid), uuid
    listed = BY_NAME.get(endpoint.lower())
    return (INTERFACES[listed].name, listed) if listed else (endpoint, None)


def _operation(interface: str | None, operation: str | None) -> tuple[str | None, int | None]:
    """(name, opnum) of a logged operation: ``unknown-<opnum>`` has its number, and the name our table gives that
    number of the interface when it lists it: a Zeek whose ``DCE_RPC::operations`` lacks an operation we detect on
    (a DCSync's drsuapi opnum 3, say) logs it ``unknown-3``, and it must still count."""
    if operation is None:
        return None, None
    if operation.startswith(UNKNOWN):
        digits = operation[len(UNKNOWN):]
        number = int(digits) if digits.isascii() and digits.isdigit() else None
        return (OPERATIONS.get((interface, number)) if interface is not None and number is not None else None), number
    opnum = _OPNUMS.get(((interface or "").lower(), operation.lower()))
    if opnum is not None and interface is not None:
        return OPERATIONS[(interface, opnum)], opnum
    return operation, None


def map_dce_rpc(rec: dict[str, Any]) -> list[Observation]:
    """dce_rpc.log -> the client's bind and request, the server's bind_ack and response (module docstring)."""
    cid = ConnId.addressed(rec, 6)
    interface, uuid = _interface(get_str(rec, "endpoint"))
    operation, opnum = _operation(interface, get_str(rec, "operation"))
    answered = get_float(rec, "rtt") is not None
    pipe = get_str(rec, "named_pipe")
    out: list[Observation] = []
    if interface is not None:
        contexts = [{"context_id": 0, "uuid": uuid, "interface": interface}] if uuid else None
        out.append(cid.forward("dcerpc", "bind", {"ptype": "bind", "requested_interfaces": [interface],
                                                  "contexts": contexts}))
        if answered:
            out.append(cid.reverse("dcerpc", "bind_ack", {"ptype": "bind_ack", "accepted_interfaces": [interface],
                                                          "secondary_address": pipe, "results": ["acceptance"]}))
    if operation is not None or opnum is not None:
        call = {"interface": interface, "operation": operation, "opnum": opnum, "named_pipe": pipe}
        out.append(cid.forward("dcerpc", "request", {"ptype": "request", **call}))
        if answered and operation is not None and opnum is not None:  # as the dissector: named calls only
            out.append(cid.reverse("dcerpc", "response", {"ptype": "response", **call}))
    return out
