"""CISA ICSNPP's S7comm and BACnet logs -> the Observations dissect/s7comm.py and dissect/bacnet.py make.

Columns from the plugins' record types (cisagov/icsnpp-s7comm scripts/icsnpp/s7comm/main.zeek ``S7COMM``,
cisagov/icsnpp-bacnet scripts/icsnpp/bacnet/main.zeek ``BACnet_Header`` and ``BACnet_Discovery``) and their
test baselines; code columns are hex text ("0x29"), names come from the plugins' consts.zeek:

* s7comm.log: one line per S7 PDU: ``rosctr_code`` (1 Job, 2 Ack, 3 Ack-Data, 7 User-Data), ``pdu_reference``,
  ``function_code`` (the parameter's function: 0x29 PLC Stop, 0x1B Download Block, 0x05 Write Variable; for
  User-Data the type and group nibbles, 0x44 "Request: CPU Functions"), ``subfunction_code`` (User-Data: the
  subfunction; a PLC Control job: its PI service, "_MODU", "P_PROGRAM"), ``is_orig`` (later versions). A Job
  is the dissector's ``job`` (``setup`` for Setup Communication), an Ack-Data its ``ack_data``, with the
  ``function`` dissect/s7comm.py names by code, so detect.ot (``detect.ot.s7_cpu_stop``, program download),
  detect.ot_write and the risk.ot.* checks read them as from packets. User-Data is ``userdata`` with
  dissect/s7userdata.py's ``function_group``, ``ud_type`` and ``subfunction``. Without ``is_orig``, jobs and
  User-Data requests came from the originator (the client that connected to tcp/102), the rest from the PLC.
* bacnet.log: one line per APDU: ``pdu_type`` (``CONFIRMED_REQUEST`` ...), ``pdu_service`` (ASHRAE 135 §21
  service choice names, as the dissector spells them but ICSNPP's "reinitialized_device"; an unnamed one as
  "Unknown Service Choice-0x.."), ``invoke_id``, ``is_orig``. A request is the dissector's kind for its
  service (``write_property``, ``reinitialize_device``, ``device_communication_control``,
  ``atomic_write_file``; ``confirmed_request`` otherwise, with ``service``), so the risk.ot.* checks see
  a BACnet write or restart from Zeek. Who-Is, I-Am, Who-Has and I-Have come from bacnet_discovery.log,
  which says more of them, and are left out here; answers are their APDU type (``simple_ack``, ``error``...).
* bacnet_discovery.log: ``pdu_service`` ("who-is", "i-am", "who-has", "i-have"), ``object_type``,
  ``instance_number``, ``vendor``. An I-Am (§16.1.2) is the device's ``i_am`` with its ``device_instance``.
  ICSNPP logs the vendor by name from its own copy of ASHRAE's vendor-identifier registry, not the identifier
  I-Am carries, so ``vendor_id`` stays unknown (names are not unique to one identifier); the name is the
  device's ``vendor_name``, as a Device object's vendor-name property (§12.11.6) would state it, and the
  knowledge base's stated-name rule and vendor aliases name the vendor from it ("Unknown ..." and "Reserved
  for ASHRAE", ICSNPP's names for unassigned identifiers, are left out).
"""

from __future__ import annotations

import re
from typing import Any

from iotwarden.dissect.bacnetapdu import CONFIRMED, SERVICE_KINDS, UNCONFIRMED
from iotwarden.dissect.s7comm import FUNCTIONS as S7_FUNCTIONS
from iotwarden.dissect.s7comm import ROSCTR
from iotwarden.dissect.s7userdata import GROUPS, SUBFUNCTIONS, UD_TYPES
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.sources.zeek_fields import ConnId, get_bool, get_int, get_str
from iotwarden.sources.zeek_ics import hex_number, ics_conn

S7_PORT, BACNET_PORT = 102, 47808
S7_SETUP, S7_PLC_CONTROL = 0xF0, 0x28  # Setup Communication; PLC Control, whose PI service ICSNPP logs
S7_FROM_CLIENT = frozenset({"job"})  # without is_orig: what the originator sent (User-Data: by its type)

# ICSNPP's apdu_types names -> ASHRAE 135 §20.1.1's, as dissect/bacnet.py's apdu_type
BACNET_APDU_TYPES = {"CONFIRMED_REQUEST": "confirmed_request", "UNCONFIRMED_REQUEST": "unconfirmed_request",
                     "SIMPLE_ACK": "simple_ack", "COMPLEX_ACK": "complex_ack", "SEGMENT_ACK": "segment_ack",
                     "ERROR_PDU": "error", "REJECT_PDU": "reject", "ABORT_PDU": "abort"}
BACNET_SERVICE_ALIASES = {"reinitialized_device": "reinitialize_device"}  # ICSNPP's spelling of choice 20
BACNET_DISCOVERY = frozenset({"who_is", "i_am", "who_has", "i_have"})  # bacnet_discovery.log's services
BACNET_DEVICE_OBJECT = "device"  # BACnetObjectType 8 (§21), ICSNPP's object_types name
UNASSIGNED_VENDOR = ("Unknown", "Reserved for ASHRAE")  # ICSNPP's vendor names of identifiers nobody holds
_UNKNOWN_CHOICE = re.compile(r"Unknown Service Choice-0x([0-9a-fA-F]{1,2})$")


def _sender(rec: dict[str, Any], cid: ConnId, from_orig: bool) -> Any:
    """ConnId.forward or .reverse: by ``is_orig`` when logged, else ``from_orig``."""
    is_orig = get_bool(rec, "is_orig")
    return cid.forward if (from_orig if is_orig is None else is_orig) else cid.reverse


# --- s7comm.log ---------------------------------------------------------------------------------

def map_s7comm(rec: dict[str, Any]) -> list[Observation]:
    """ICSNPP s7comm.log -> the S7 PDU as dissect/s7comm.py describes it (module docstring)."""
    cid = ics_conn(rec, S7_PORT)
    rosctr = get_int(rec, "rosctr_code")
    if rosctr not in ROSCTR:
        raise ParseError("s7comm record without a known rosctr_code")
    kind = ROSCTR[rosctr]
    fields: dict[str, Any] = {"rosctr": kind, "pdu_ref": get_int(rec, "pdu_reference")}
    code = hex_number(rec, "function_code")
    from_client = kind in S7_FROM_CLIENT
    if kind == "userdata":
        if code is not None:
            group, sub = code & 0x0F, hex_number(rec, "subfunction_code")
            ud_type = UD_TYPES.get(code >> 4, "unknown")
            fields.update(function_group=GROUPS.get(group, "unknown"), ud_type=ud_type, subfunction=sub,
                          subfunction_name=SUBFUNCTIONS.get((group, sub), "unknown") if sub is not None else None)
            from_client = ud_type == "request"
    elif code is not None:
        fields.update(function_code=code, function=S7_FUNCTIONS.get(code, "unknown"))
        if code == S7_PLC_CONTROL and kind == "job":
            fields["pi_service"] = get_str(rec, "subfunction_code")
        if code == S7_SETUP:
            kind = "setup"
    return [_sender(rec, cid, from_client)("s7comm", kind, fields)]


# --- bacnet.log and bacnet_discovery.log --------------------------------------------------------

def _bacnet_service(text: str | None, confirmed: bool) -> tuple[str | None, int | None]:
    """(our name, service choice) of an ICSNPP ``pdu_service``; (None, None) when it names none of ours."""
    if text is None:
        return None, None
    table = CONFIRMED if confirmed else UNCONFIRMED
    unknown = _UNKNOWN_CHOICE.match(text)
    if unknown is not None:
        choice = int(unknown.group(1), 16)
        return (table[choice], choice) if choice < len(table) else (None, choice)
    name = BACNET_SERVICE_ALIASES.get(text, text.replace("-", "_").lower())
    return (name, table.index(name)) if name in table else (None, None)


def map_bacnet(rec: dict[str, Any]) -> list[Observation]:
    """ICSNPP bacnet.log -> a BACnet request or answer as dissect/bacnet.py kinds it (module docstring)."""
    cid = ics_conn(rec, BACNET_PORT, 17)
    pdu_type = get_str(rec, "pdu_type")
    apdu_type = BACNET_APDU_TYPES.get(pdu_type or "")
    if apdu_type is None:  # a BVLC message without APDU (a BBMD's table), or a type ICSNPP could not name
        return []
    service, choice = _bacnet_service(get_str(rec, "pdu_service"), apdu_type != "unconfirmed_request")
    if apdu_type == "unconfirmed_request" and service in BACNET_DISCOVERY:
        return []  # bacnet_discovery.log's line says it with its parameters
    kind = apdu_type
    if apdu_type in ("confirmed_request", "unconfirmed_request") and service in SERVICE_KINDS:
        kind = service
    fields = {"apdu_type": apdu_type, "service": service, "service_choice": choice,
              "invoke_id": get_int(rec, "invoke_id") if apdu_type != "unconfirmed_request" else None}
    return [_sender(rec, cid, True)("bacnet", kind, fields)]


def map_bacnet_discovery(rec: dict[str, Any]) -> list[Observation]:
    """ICSNPP bacnet_discovery.log -> the dissector's who_is / i_am / who_has / i_have (module docstring)."""
    cid = ics_conn(rec, BACNET_PORT, 17)
    service = (get_str(rec, "pdu_service") or "").replace("-", "_").lower()
    if service not in BACNET_DISCOVERY:
        raise ParseError("bacnet_discovery record without a discovery service")
    fields: dict[str, Any] = {"apdu_type": "unconfirmed_request", "service": service,
                              "service_choice": UNCONFIRMED.index(service)}
    instance = get_int(rec, "instance_number")
    if service == "i_am" and get_str(rec, "object_type") == BACNET_DEVICE_OBJECT:
        fields["device_instance"] = instance
        vendor = (get_str(rec, "vendor") or "").strip()
        if vendor and not vendor.startswith(UNASSIGNED_VENDOR):
            fields["vendor_name"] = vendor
    elif service in ("who_has", "i_have"):
        fields.update(object_type_name=get_str(rec, "object_type"), object_instance=instance,
                      object_name=get_str(rec, "object_name"))
    return [_sender(rec, cid, True)("bacnet", service, fields)]
