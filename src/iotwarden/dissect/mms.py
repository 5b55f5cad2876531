"""MMS dissector (ISO 9506, Manufacturing Message Specification): the client/server protocol of
IEC 61850-8-1 substation IEDs and of ICCP/TASE.2 (IEC 60870-6-503), on ISO-TSAP tcp 102.

Stack: TPKT/COTP (:mod:`iotwarden.dissect.cotp`), session, presentation and ACSE
(:mod:`iotwarden.dissect.osi`), then the MMS PDU (ISO 9506-2 MMSpdu). Some stacks put the MMS PDU
straight into the COTP user data, without the OSI upper layers (Wireshark's MMS heuristic accepts it
too); such TSDUs start with an MMSpdu tag and are read the same way. tcp 102 belongs to the S7comm
dissector, which hands this dissector every TSDU that is ISO session or MMS (see s7comm.py); this
dissector's own registration finds MMS on other ports by :meth:`MmsDissector.probe`.

Kinds (subject ``src``: a request describes the client, a response, report or error the server, who
answers; ``cotp_connect`` describes the server, ``dst``):

* ``cotp_connect``: ``src_tsap``, ``dst_tsap``, ``tpdu_size`` (X.224 §13.3.4).
* ``initiate_request`` / ``initiate_response`` (Initiate-RequestPDU / -ResponsePDU): ``local_detail``
  (maximum PDU size), ``max_serv_outstanding_calling``/``_called``, ``nesting_level``, ``version``,
  ``parameter_cbb``, ``services_supported`` (hex bit strings); from the layers below, where present:
  ``application_context``, ``calling_ap_title``/``calling_ae_qualifier``, ``called_ap_title``/
  ``called_ae_qualifier``, ``responding_ap_title``/``responding_ae_qualifier``, ``acse_result``,
  ``authentication_mechanism``, ``authentication_value_sent`` (never the value),
  ``implementation_information``, session and presentation selectors (hex).
  ``initiate_error``: ``error_class``, ``error_code``.
* ``request`` / ``response`` (confirmed services): ``invoke_id``, ``service_code``, ``service``
  (snake_case ISO 9506-2 name: read, write, get_name_list, identify, start, stop, kill,
  initiate_download_sequence, delete_domain, file_open, ...) and the arguments or results of
  :mod:`iotwarden.dissect.mmsservices` (``variables``, ``domain``, ``program_invocation``,
  ``vendor_name``/``model_name``/``revision``, ...). ``error``: ``invoke_id``, ``error_class``,
  ``error_code``, ``additional_code``, ``additional_description``.
* ``unconfirmed``: ``service`` (information_report, unsolicited_status, event_notification) with the
  report's ``variables`` or ``variable_list`` and ``result_count``.
* ``reject``: ``invoke_id``, ``reject_pdu``, ``reject_code``; ``cancel_request``/``cancel_response``/
  ``cancel_error``: ``invoke_id``; ``conclude_request``/``conclude_response``/``conclude_error``.
* ``association_request``/``association_response`` (ACSE without an MMS PDU), ``release_request``/
  ``release_response`` (ACSE RLRQ/RLRE or session FN/DN; ``reason``), ``abort``, ``refuse``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect import asn1
from iotwarden.dissect.base import Packet
from iotwarden.dissect.cotp import IsoTransportDissector, first_tsdu, parse_cr
from iotwarden.dissect.mmsservices import error_fields, service_fields, unconfirmed_fields
from iotwarden.dissect.mmstypes import service_error
from iotwarden.dissect.osi import unwrap
from iotwarden.errors import ParseError
from iotwarden.model import Observation

Fields = dict[str, Any]

# MMSpdu CHOICE context tags 0..13 (ISO 9506-2), as their first octet: [5], [6], [11], [12] are primitive
MMS_PDU_TAGS = frozenset({0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0x85, 0x86, 0xA7, 0xA8, 0xA9, 0xAA, 0x8B, 0x8C, 0xAD})
SESSION_SPDUS = frozenset({1, 8, 9, 10, 12, 13, 14, 25, 26})  # X.225 §8.3 SPDU identifiers osi.py reads
PDU_KINDS = ("request", "response", "error", "unconfirmed", "reject", "cancel_request", "cancel_response",
             "cancel_error", "initiate_request", "initiate_response", "initiate_error", "conclude_request",
             "conclude_response", "conclude_error")
REJECTED_PDUS = {1: "confirmed_request", 2: "confirmed_response", 3: "confirmed_error", 4: "unconfirmed",
                 5: "pdu_error", 6: "cancel_request", 7: "cancel_response", 8: "cancel_error",
                 9: "conclude_request", 10: "conclude_response", 11: "conclude_error"}
ACSE_KINDS = {"aarq": "association_request", "aare": "association_response", "rlrq": "release_request",
              "rlre": "release_response", "abrt": "abort"}
SESSION_KINDS = {"finish": "release_request", "disconnect": "release_response", "abort": "abort",
                 "refuse": "refuse"}


def is_mms(tsdu: bytes) -> bool:
    """True when a TSDU starts as an ISO session SPDU or as a bare MMSpdu (an S7 PDU starts 0x32/0x72)."""
    return bool(tsdu) and (tsdu[0] in SESSION_SPDUS or tsdu[0] in MMS_PDU_TAGS)


def parse_pdu(pdu: bytes) -> tuple[str, Fields]:
    """Kind and fields of one encoded MMSpdu."""
    tlv = asn1.read_tlv(pdu)
    cls, _constructed, number = asn1.tag_parts(tlv.tag)
    if cls != 0x80 or number >= len(PDU_KINDS) or tlv.tag not in MMS_PDU_TAGS:
        raise ParseError(f"MMS: not an MMSpdu (tag 0x{tlv.tag:x})")
    kind, v = PDU_KINDS[number], tlv.value
    if number in (0, 1):
        return kind, _confirmed(v, response=number == 1)
    if number == 2:
        return kind, error_fields(v)
    if number == 3:
        parts = asn1.children(v)
        if not parts:
            raise ParseError("MMS: unconfirmed PDU without a service")
        return kind, unconfirmed_fields(parts[0])
    if number == 4:
        return kind, _reject(v)
    if number in (5, 6):
        return kind, {"invoke_id": asn1.integer(v)}
    if number == 7:
        fields: Fields = {}
        for part in asn1.children(v):
            if part.tag == 0x80:
                fields["invoke_id"] = asn1.integer(part.value)
            elif part.tag == 0xA1:
                service_error(part.value, fields)
        return kind, fields
    if number in (8, 9):
        return kind, _initiate(v)
    if number in (10, 13):
        fields = {}
        service_error(v, fields)
        return kind, fields
    return kind, {}  # conclude request/response: NULL


def _confirmed(value: bytes, response: bool) -> Fields:
    """Confirmed-RequestPDU { invokeID, listOfModifier OPTIONAL, service } / -ResponsePDU { invokeID, service }."""
    parts = asn1.children(value)
    if not parts or parts[0].tag != asn1.INTEGER:
        raise ParseError("MMS: confirmed PDU without invokeID")
    rest = parts[1:]
    fields: Fields = {"invoke_id": asn1.integer(parts[0].value)}
    if not response and rest and rest[0].tag == asn1.SEQUENCE:  # listOfModifier
        fields["modifier_count"] = len(asn1.children(rest[0].value))
        rest = rest[1:]
    if not rest:
        raise ParseError("MMS: confirmed PDU without a service")
    fields.update(service_fields(rest[0], response))
    return fields


def _reject(value: bytes) -> Fields:
    """RejectPDU { originalInvokeID [0] OPTIONAL, rejectReason CHOICE [1]..[11] INTEGER }."""
    fields: Fields = {}
    for part in asn1.children(value):
        number = asn1.tag_parts(part.tag)[2]
        if number == 0:
            fields["invoke_id"] = asn1.integer(part.value)
        else:
            fields["reject_pdu"] = REJECTED_PDUS.get(number, number)
            fields["reject_code"] = asn1.integer(part.value)
    return fields


def _initiate(value: bytes) -> Fields:
    """Initiate-Request/ResponsePDU: localDetail [0], maxServOutstanding calling [1] / called [2],
    dataStructureNestingLevel [3], InitRequestDetail/InitResponseDetail [4] { version [0],
    parameterCBB [1] BIT STRING, servicesSupported [2] BIT STRING }."""
    fields: Fields = {}
    names = {0: "local_detail", 1: "max_serv_outstanding_calling", 2: "max_serv_outstanding_called",
             3: "nesting_level"}
    for part in asn1.children(value):
        number = asn1.tag_parts(part.tag)[2]
        if number in names:
            fields[names[number]] = asn1.integer(part.value)
        elif number == 4:
            for detail in asn1.children(part.value):
                n = asn1.tag_parts(detail.tag)[2]
                if n == 0:
                    fields["version"] = asn1.integer(detail.value)
                elif n in (1, 2):  # a BIT STRING's first octet counts its unused bits
                    fields["parameter_cbb" if n == 1 else "services_supported"] = detail.value[1:17].hex()
    return fields


def decode_tsdu(tsdu: bytes) -> list[tuple[str, Fields]]:
    """(kind, fields) of every MMS PDU (or association event) one TSDU carries."""
    if tsdu[:1] and tsdu[0] in MMS_PDU_TAGS:
        return [parse_pdu(tsdu)]
    upper = unwrap(tsdu)
    out: list[tuple[str, Fields]] = []
    for pdu in upper.pdus:
        kind, fields = parse_pdu(pdu)
        out.append((kind, {**upper.fields, **fields}))
    if not out and upper.acse is not None:
        out.append((ACSE_KINDS[upper.acse], upper.fields))
    elif not out and upper.spdu in SESSION_KINDS:
        out.append((SESSION_KINDS[upper.spdu], upper.fields))
    return out


class MmsDissector(IsoTransportDissector):
    name: ClassVar[str] = "mms"
    max_packets_per_flow: ClassVar[int | None] = None  # an operation can come at any time

    def probe(self, payload: bytes, to_server: bool) -> bool:
        # a DT TPDU opening with a session CONNECT, a Give Tokens + DT pair carrying presentation
        # user data, or a bare initiate-RequestPDU; a connection request is S7comm's to claim
        tsdu = first_tsdu(payload)
        if tsdu is None:
            return False
        return tsdu[:1] in (b"\x0d", b"\xa8") or (tsdu[:4] == b"\x01\x00\x01\x00" and tsdu[4:5] == b"\x61")

    def connected(self, pkt: Packet, cotp: bytes, tsdu: bytes | None) -> Iterator[Observation]:
        yield pkt.observation(self.name, "cotp_connect", parse_cr(cotp), subject="dst")

    def user_data(self, pkt: Packet, tsdu: bytes, state: dict[str, Any]) -> Iterator[Observation]:
        for kind, fields in decode_tsdu(tsdu):
            yield pkt.observation(self.name, kind, fields)
