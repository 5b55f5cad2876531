"""Zeek's industrial logs -> the Observations our Modbus and DNP3 dissectors produce.

Zeek (base/protocols/modbus, base/protocols/dnp3) logs one line per request/answer pair, on the answer:

* modbus.log (``Modbus::Info``): ``func`` is the request's function by name (``Modbus::function_codes``
  in base/protocols/modbus/consts.zeek, e.g. ``WRITE_SINGLE_REGISTER``; an exception answer
  ``WRITE_SINGLE_REGISTER_EXCEPTION``), ``exception`` the exception's name; Zeek 6 adds ``tid``, ``unit``
  and ``pdu_type``.
* dnp3.log (``DNP3::Info``): ``fc_request`` and ``fc_reply`` by name (``DNP3::function_codes`` in
  base/protocols/dnp3/consts.zeek, e.g. ``COLD_RESTART``, ``RESPONSE``), ``iin`` the answer's
  internal indications.

Each line becomes the master's ``request`` (originator to responder, the dissectors' kind and fields:
``function_code``, ``function`` in dissect/modbus.py's or dissect/dnp3.py's spelling, ``is_write`` for
Modbus), so the OT detectors and risk checks read a Zeek sensor's log as they read packets: a write
from a new host, a DNP3 cold restart. A Modbus exception answer still shows the request was sent.

CISA's ICSNPP-ENIP plugin (as Malcolm runs it; columns from its README and test baselines):

* cip.log (``ENIP::CIP_Header``): one line per CIP request and response (``direction``), ``cip_service_code``
  (hex text), ``class_id``, ``instance_id``, ``attribute_id``. A request becomes dissect/enip.py's
  ``cip_request`` (``service``, ``service_name`` as dissect/cip.py names it, ``class``, ``instance``,
  ``attribute``): a CIP Stop, a firmware transfer to the Non-Volatile Storage object or a Set Attribute
  reach detect/ot.py and the risk.ot.* checks. Responses are left out (the requests carry the operation).
* cip_identity.log (``ENIP::CIP_Identity_Item``): a ListIdentity answer, the dissector's ``identity``
  (``vendor_id``, ``device_type``, ``product_code``, ``revision``, ``status``, ``serial``, ``product_name``,
  ``state``) sent by the device at ``socket_address`` (else the line's sender), so the classifier names
  the product as it does from packets (1756-ENBT/A).
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect.cip import CLASSES as CIP_CLASSES
from iotwarden.dissect.cip import service_name as cip_service_name
from iotwarden.dissect.dnp3 import FUNCTIONS as DNP3_FUNCTIONS
from iotwarden.dissect.modbus import FUNCTIONS as MODBUS_FUNCTIONS
from iotwarden.dissect.modbus import WRITE_FUNCTIONS
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.sources.zeek_fields import ConnId, get_bool, get_int, get_ip, get_port, get_str

MODBUS_PORT, DNP3_PORT, ENIP_PORT = 502, 20000, 44818
# Modbus::function_codes (Zeek base/protocols/modbus/consts.zeek) for the public codes of MAP §5.1 and
# Schneider's 90 (Zeek: PROGRAM_UNITY); other names (PROGRAM_484, POLL_584_984, ...) keep Zeek's spelling
ZEEK_MODBUS: dict[str, int] = {
    "READ_COILS": 1, "READ_DISCRETE_INPUTS": 2, "READ_HOLDING_REGISTERS": 3, "READ_INPUT_REGISTERS": 4,
    "WRITE_SINGLE_COIL": 5, "WRITE_SINGLE_REGISTER": 6, "READ_EXCEPTION_STATUS": 7, "DIAGNOSTICS": 8,
    "GET_COMM_EVENT_COUNTER": 11, "GET_COMM_EVENT_LOG": 12, "WRITE_MULTIPLE_COILS": 15,
    "WRITE_MULTIPLE_REGISTERS": 16, "REPORT_SLAVE_ID": 17, "READ_FILE_RECORD": 20, "WRITE_FILE_RECORD": 21,
    "MASK_WRITE_REGISTER": 22, "READ_WRITE_MULTIPLE_REGISTERS": 23, "READ_FIFO_QUEUE": 24,
    "ENCAP_INTERFACE_TRANSPORT": 43, "PROGRAM_UNITY": 90,
}
EXCEPTION_SUFFIX = "_EXCEPTION"
# DNP3::function_codes (Zeek base/protocols/dnp3/consts.zeek), IEEE 1815-2012 table 4-2 by code
ZEEK_DNP3: dict[str, int] = {
    "CONFIRM": 0, "READ": 1, "WRITE": 2, "SELECT": 3, "OPERATE": 4, "DIRECT_OPERATE": 5, "DIRECT_OPERATE_NR": 6,
    "IMMED_FREEZE": 7, "IMMED_FREEZE_NR": 8, "FREEZE_CLEAR": 9, "FREEZE_CLEAR_NR": 10, "FREEZE_AT_TIME": 11,
    "FREEZE_AT_TIME_NR": 12, "COLD_RESTART": 13, "WARM_RESTART": 14, "INITIALIZE_DATA": 15,
    "INITIALIZE_APPL": 16, "START_APPL": 17, "STOP_APPL": 18, "SAVE_CONFIG": 19, "ENABLE_UNSOLICITED": 20,
    "DISABLE_UNSOLICITED": 21, "ASSIGN_CLASS": 22, "DELAY_MEASURE": 23, "RECORD_CURRENT_TIME": 24,
    "OPEN_FILE": 25, "CLOSE_FILE": 26, "DELETE_FILE": 27, "GET_FILE_INFO": 28, "AUTHENTICATE_FILE": 29,
    "ABORT_FILE": 30, "ACTIVATE_CONFIG": 31, "AUTHENTICATE_REQ": 32, "AUTHENTICATE_ERR": 33,
}


def ics_conn(rec: dict[str, Any], port: int, ip_proto: int = 6) -> ConnId:
    """The record's connection; ParseError without addresses, the protocol's ``port`` when ports are not logged."""
    cid = ConnId.addressed(rec, ip_proto)
    if cid.resp_p is None:  # a log without ports: the protocol's own
        cid = ConnId(cid.ts, cid.orig_h, cid.orig_p, cid.resp_h, port, cid.ip_proto)
    return cid


def map_modbus(rec: dict[str, Any]) -> list[Observation]:
    """modbus.log -> the master's Modbus ``request`` (module docstring)."""
    cid = ics_conn(rec, MODBUS_PORT)
    func = get_str(rec, "func")
    if func is None:
        raise ParseError("modbus record without func")
    name = func.upper().removesuffix(EXCEPTION_SUFFIX)
    code = ZEEK_MODBUS.get(name)
    fields: dict[str, Any] = {
        "function_code": code, "function": MODBUS_FUNCTIONS.get(code, name.lower()) if code else name.lower(),
        "is_write": code in WRITE_FUNCTIONS, "transaction_id": get_int(rec, "tid"), "unit_id": get_int(rec, "unit"),
        "exception": (get_str(rec, "exception") or "").lower() or None,
    }
    return [cid.forward("modbus", "request", fields)]


def map_dnp3(rec: dict[str, Any]) -> list[Observation]:
    """dnp3.log -> the master's DNP3 ``request``; a line without one (an unsolicited answer) -> none."""
    cid = ics_conn(rec, DNP3_PORT)
    request = get_str(rec, "fc_request")
    if request is None:
        return []
    code = ZEEK_DNP3.get(request.upper())
    fields: dict[str, Any] = {
        "function_code": code, "function": DNP3_FUNCTIONS.get(code, "unknown") if code is not None else
        request.lower(), "reply": (get_str(rec, "fc_reply") or "").lower() or None, "iin": get_int(rec, "iin"),
    }
    return [cid.forward("dnp3", "request", fields)]


def hex_number(rec: dict[str, Any], key: str) -> int | None:
    """A count column, or ICSNPP's hex text ("0x0a")."""
    value = rec.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = get_str(rec, key)
    if text is None:
        return None
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def map_cip(rec: dict[str, Any]) -> list[Observation]:
    """ICSNPP cip.log -> dissect/enip.py's ``cip_request`` for a request line; a response line -> none."""
    cid = ics_conn(rec, ENIP_PORT)
    if (get_str(rec, "direction") or "").lower() != "request":
        return []
    code = hex_number(rec, "cip_service_code")
    if code is None:
        raise ParseError("cip record without cip_service_code")
    cls = hex_number(rec, "class_id")
    fields: dict[str, Any] = {
        "service": code, "service_name": cip_service_name(code, {"class": cls} if cls is not None else {}),
        "class": cls, "class_name": CIP_CLASSES.get(cls) if cls is not None else None,
        "instance": hex_number(rec, "instance_id"), "attribute": hex_number(rec, "attribute_id"),
    }
    sent = cid.forward if get_bool(rec, "is_orig") is not False else cid.reverse
    return [sent("enip", "cip_request", fields)]


def map_cip_identity(rec: dict[str, Any]) -> list[Observation]:
    """ICSNPP cip_identity.log -> dissect/enip.py's ``identity``, sent by the device it describes."""
    cid = ics_conn(rec, ENIP_PORT)
    vendor = hex_number(rec, "vendor_id")
    if vendor is None:
        raise ParseError("cip_identity record without vendor_id")
    device_ip = get_ip(rec, "socket_address")
    sent = cid.reverse if get_bool(rec, "is_orig") is False else cid.forward
    revision = get_str(rec, "revision")
    serial = hex_number(rec, "serial_number")
    fields: dict[str, Any] = {
        "vendor_id": vendor, "device_type": hex_number(rec, "device_type_id"),
        "product_code": hex_number(rec, "product_code"), "revision": revision,
        "status": hex_number(rec, "device_status"),
        "serial": f"0x{serial:08x}" if serial is not None else None, "product_name": get_str(rec, "product_name"),
        "state": hex_number(rec, "device_state"), "ip": device_ip, "port": get_port(rec, "socket_port"),
    }
    obs = sent("enip", "identity", fields)
    if device_ip is not None and device_ip != obs.src_ip:  # a gateway or scanner line naming another device
        obs = Observation(ts=obs.ts, proto="enip", kind="identity", src_ip=device_ip, dst_ip=obs.dst_ip,
                          src_port=obs.src_port, dst_port=obs.dst_port, ip_proto=obs.ip_proto, fields=obs.fields)
    return [obs]
