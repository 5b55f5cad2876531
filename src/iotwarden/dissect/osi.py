"""The OSI upper layers MMS runs over on ISO-TSAP, unwrapped down to the application PDU: session
(ISO 8327-1 / ITU-T X.225), presentation (ISO 8823-1 / X.226) and ACSE (ISO 8650-1 / X.227).

One TSDU holds one session exchange (X.225 §8.2: SI, LI, parameters; a DT SPDU follows a Give
Tokens SPDU, basic concatenation, §7.37). Its user data is a presentation PPDU (X.226 §8 ASN.1:
CP-type, CPA-PPDU, CPR-PPDU, ARU-PPDU, or User-data for data transfer, release and abort) whose
presentation data values (PDV-list) carry either an ACSE APDU (X.227 ASN.1 module ACSE-1: AARQ,
AARE, RLRQ, RLRE, ABRT) or the MMS PDU itself. The MMS PDU of an association request or answer is
the ACSE user-information (an EXTERNAL, X.690 §8.18).

Authentication values (AARQ calling-authentication-value, a password in IEC 61850-8-1 §7.1) are
never copied into fields: only the mechanism name and the fact that one was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotwarden.dissect import asn1
from iotwarden.dissect.otstream import text
from iotwarden.errors import ParseError

MAX_PDVS = 4  # presentation data values read per PPDU (one in practice)

# SPDU identifiers, X.225 §8.3 (GT and DT share code 1: categories 0 and 2)
SPDUS = {1: "data", 8: "not_finished", 9: "finish", 10: "disconnect", 12: "refuse", 13: "connect",
         14: "accept", 25: "abort", 26: "abort_accept"}
USER_DATA, EXTENDED_USER_DATA = 193, 194  # PGI codes, X.225 §8.3
CALLING_SSEL, CALLED_SSEL = 51, 52  # PI codes of the session selectors, X.225 §8.3 (CN)
# ACSE-1 APDUs: [APPLICATION n]
ACSE = {0x60: "aarq", 0x61: "aare", 0x62: "rlrq", 0x63: "rlre", 0x64: "abrt"}
ACSE_RESULTS = {0: "accepted", 1: "rejected_permanent", 2: "rejected_transient"}
RELEASE_REQUEST_REASONS = {0: "normal", 1: "urgent", 30: "user_defined"}
RELEASE_RESPONSE_REASONS = {0: "normal", 1: "not_finished", 30: "user_defined"}
ABORT_SOURCES = {0: "acse_service_user", 1: "acse_service_provider"}
FULLY_ENCODED, SIMPLY_ENCODED = 0x61, 0x40  # User-data CHOICE, X.226 §8 ([APPLICATION 1] / [APPLICATION 0])


@dataclass(slots=True)
class Unwrapped:
    """What one TSDU carried: the session SPDU, the facts of the layers below the application, the
    ACSE APDU name (``aarq``...) when there was one, and the encoded application PDUs."""

    spdu: str
    fields: dict[str, Any] = field(default_factory=dict)
    acse: str | None = None
    pdus: list[bytes] = field(default_factory=list)


def _spdu(buf: bytes, pos: int) -> tuple[int, bytes, int]:
    """(SI, parameter field, end) of the SPDU at ``pos`` (X.225 §8.2.3: LI 0..254, or 255 and two octets)."""
    if pos + 2 > len(buf):
        raise ParseError("session: truncated SPDU header")
    si, li, pos = buf[pos], buf[pos + 1], pos + 2
    if li == 0xFF:
        if pos + 2 > len(buf):
            raise ParseError("session: truncated extended length")
        li, pos = int.from_bytes(buf[pos : pos + 2], "big"), pos + 2
    if pos + li > len(buf):
        raise ParseError(f"session: SPDU of {li} bytes overruns the TSDU")
    return si, buf[pos : pos + li], pos + li


def _parameters(params: bytes) -> dict[int, bytes]:
    """Top-level PI/PGI units of an SPDU by code (X.225 §8.2.4: code, LI, value; a PGI nests PIs)."""
    out: dict[int, bytes] = {}
    pos = 0
    while pos < len(params):
        code, value, pos = _spdu(params, pos)  # a parameter unit has an SPDU header's shape
        out.setdefault(code, value)
    return out


def unwrap(tsdu: bytes) -> Unwrapped:
    """The session, presentation and ACSE content of one TSDU; ParseError when it breaks their encoding."""
    si, params, end = _spdu(tsdu, 0)
    if si == 1:  # Give Tokens, then the DT SPDU whose user information is the rest of the TSDU
        user = tsdu[end:]
        if user[:1] == b"\x01":
            _, _, data_end = _spdu(user, 0)
            user = user[data_end:]
        out = Unwrapped("data")
        _presentation_user_data(user, out)
        return out
    if si not in SPDUS:
        raise ParseError(f"session: unknown SPDU {si}")
    out = Unwrapped(SPDUS[si])
    units = _parameters(params)
    if si == 13:
        for code, name in ((CALLING_SSEL, "calling_session_selector"), (CALLED_SSEL, "called_session_selector")):
            if code in units:
                out.fields[name] = units[code][:16].hex()
    ppdu = units.get(USER_DATA, units.get(EXTENDED_USER_DATA))
    if not ppdu:
        return out
    if si == 13:
        _cp_type(ppdu, out)
    elif si in (14, 12):
        _cpa_ppdu(ppdu, out)
    elif si == 25:
        _aru_ppdu(ppdu, out)
    else:
        _presentation_user_data(ppdu, out)
    return out


def _cp_type(user: bytes, out: Unwrapped) -> None:
    """CP-type: SET { mode-selector [0], normal-mode-parameters [2] SEQUENCE { ..., user-data } }."""
    for tlv in _normal_mode(user):
        if tlv.tag == 0x81:
            out.fields["calling_presentation_selector"] = tlv.value[:16].hex()
        elif tlv.tag == 0x82:
            out.fields["called_presentation_selector"] = tlv.value[:16].hex()
        elif tlv.tag in (FULLY_ENCODED, SIMPLY_ENCODED):
            _pdvs(tlv.tag, tlv.value, out)


def _cpa_ppdu(user: bytes, out: Unwrapped) -> None:
    """CPA-PPDU / CPR-PPDU: normal-mode-parameters with responding-presentation-selector [3], user-data."""
    for tlv in _normal_mode(user):
        if tlv.tag == 0x83:
            out.fields["responding_presentation_selector"] = tlv.value[:16].hex()
        elif tlv.tag in (FULLY_ENCODED, SIMPLY_ENCODED):
            _pdvs(tlv.tag, tlv.value, out)


def _normal_mode(user: bytes) -> list[asn1.Tlv]:
    ppdu = asn1.read_tlv(user)
    if ppdu.tag == asn1.SEQUENCE:  # CPR-PPDU normal-mode-parameters: the SEQUENCE itself
        return asn1.children(ppdu.value)
    if ppdu.tag != 0x31:  # CP-type and CPA-PPDU are SETs
        raise ParseError(f"presentation: PPDU tag 0x{ppdu.tag:02x}")
    for tlv in asn1.children(ppdu.value):
        if tlv.tag == 0xA2:  # normal-mode-parameters [2]
            return asn1.children(tlv.value)
    return []


def _aru_ppdu(user: bytes, out: Unwrapped) -> None:
    """ARU-PPDU normal-mode-parameters [0] { presentation-context-identifier-list [0], user-data }."""
    ppdu = asn1.read_tlv(user)
    if ppdu.tag in (FULLY_ENCODED, SIMPLY_ENCODED):
        _pdvs(ppdu.tag, ppdu.value, out)
    elif ppdu.tag == 0xA0:
        for tlv in asn1.children(ppdu.value):
            if tlv.tag in (FULLY_ENCODED, SIMPLY_ENCODED):
                _pdvs(tlv.tag, tlv.value, out)


def _presentation_user_data(user: bytes, out: Unwrapped) -> None:
    if not user:
        return
    tlv = asn1.read_tlv(user)
    if tlv.tag not in (FULLY_ENCODED, SIMPLY_ENCODED):
        raise ParseError(f"presentation: user data tag 0x{tlv.tag:02x}")
    _pdvs(tlv.tag, tlv.value, out)


def _pdvs(tag: int, value: bytes, out: Unwrapped) -> None:
    """Fully-encoded-data: SEQUENCE OF PDV-list { transfer-syntax-name OPTIONAL, presentation-context-
    identifier, presentation-data-values CHOICE { single-ASN1-type [0], octet-aligned [1], arbitrary [2] } };
    simply-encoded-data is the encoded value itself."""
    if tag == SIMPLY_ENCODED:
        _apdu(value, out)
        return
    for pdv in asn1.children(value)[:MAX_PDVS]:
        if pdv.tag != asn1.SEQUENCE:
            raise ParseError("presentation: PDV-list is not a SEQUENCE")
        for tlv in asn1.children(pdv.value):
            if tlv.tag in (0xA0, 0x81):  # single-ASN1-type holds one TLV; octet-aligned its encoding
                _apdu(tlv.value, out)


def _apdu(encoded: bytes, out: Unwrapped) -> None:
    if not encoded:
        return
    head = asn1.read_tlv(encoded)
    name = ACSE.get(head.tag)
    if name is None:  # not ACSE: the application's own PDU
        out.pdus.append(encoded[: head.end])
        return
    out.acse = name
    _acse(name, head.value, out)


def _acse(name: str, value: bytes, out: Unwrapped) -> None:
    """Fields of an ACSE APDU (X.227 ACSE-1 module) and the application PDU of its user-information."""
    f = out.fields
    for tlv in asn1.children(value):
        _cls, _cons, number = asn1.tag_parts(tlv.tag)
        if number == 30:  # user-information [30] IMPLICIT SEQUENCE OF EXTERNAL
            _user_information(tlv.value, out)
        elif number == 29 and name in ("aarq", "aare"):  # implementation-information GraphicString
            f["implementation_information"] = text(tlv.value, 128)
        elif name == "aarq":
            _aarq_field(number, tlv.value, f)
        elif name == "aare":
            _aare_field(number, tlv.value, f)
        elif name in ("rlrq", "rlre") and number == 0:
            reasons = RELEASE_REQUEST_REASONS if name == "rlrq" else RELEASE_RESPONSE_REASONS
            code = asn1.integer(tlv.value)
            f["reason"] = reasons.get(code, code)
        elif name == "abrt" and number == 0:
            code = asn1.integer(tlv.value)
            f["abort_source"] = ABORT_SOURCES.get(code, code)


def _aarq_field(number: int, value: bytes, f: dict[str, Any]) -> None:
    if number == 1:
        f["application_context"] = _explicit_oid(value)
    elif number == 2:
        f["called_ap_title"] = _ap_title(value)
    elif number == 3:
        f["called_ae_qualifier"] = _ae_qualifier(value)
    elif number == 6:
        f["calling_ap_title"] = _ap_title(value)
    elif number == 7:
        f["calling_ae_qualifier"] = _ae_qualifier(value)
    elif number == 11:  # mechanism-name [11] IMPLICIT OBJECT IDENTIFIER
        f["authentication_mechanism"] = asn1.oid(value)
    elif number == 12:  # calling-authentication-value: sent, never copied
        f["authentication_value_sent"] = True


def _aare_field(number: int, value: bytes, f: dict[str, Any]) -> None:
    if number == 1:
        f["application_context"] = _explicit_oid(value)
    elif number == 2:  # result [2] EXPLICIT Associate-result
        code = asn1.integer(asn1.expect(value, 0, asn1.INTEGER, "ACSE result").value)
        f["acse_result"] = ACSE_RESULTS.get(code, code)
    elif number == 4:
        f["responding_ap_title"] = _ap_title(value)
    elif number == 5:
        f["responding_ae_qualifier"] = _ae_qualifier(value)
    elif number == 9:
        f["authentication_mechanism"] = asn1.oid(value)


def _explicit_oid(value: bytes) -> str:
    return asn1.oid(asn1.expect(value, 0, asn1.OID, "application context name").value)


def _ap_title(value: bytes) -> str:
    """AP-title CHOICE: form2 OBJECT IDENTIFIER (dotted), form3 PrintableString, form1 Name (hex)."""
    tlv = asn1.read_tlv(value)
    if tlv.tag == asn1.OID:
        return asn1.oid(tlv.value)
    if tlv.tag == 0x13:
        return text(tlv.value, 128)
    return value[:64].hex()


def _ae_qualifier(value: bytes) -> int | str:
    """AE-qualifier CHOICE: form2 INTEGER, form1 RelativeDistinguishedName (hex)."""
    tlv = asn1.read_tlv(value)
    if tlv.tag == asn1.INTEGER:
        return asn1.integer(tlv.value)
    return value[:64].hex()


def _user_information(value: bytes, out: Unwrapped) -> None:
    """EXTERNAL (X.690 §8.18): direct-reference, indirect-reference, encoding CHOICE
    { single-ASN1-type [0], octet-aligned [1], arbitrary [2] }."""
    for external in asn1.children(value)[:MAX_PDVS]:
        if external.tag != 0x28:
            raise ParseError(f"ACSE user-information: EXTERNAL tag 0x{external.tag:02x}")
        for tlv in asn1.children(external.value):
            if tlv.tag in (0xA0, 0x81) and tlv.value:
                out.pdus.append(tlv.value[: asn1.read_tlv(tlv.value).end])
