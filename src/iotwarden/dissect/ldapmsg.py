"""LDAPMessage (RFC 4511 §4.1.1, BER per §5.1) read into plain fields for dissect/ldap.py: binds, searches and
their entries, results, extended operations; never a password, only whether one was sent and its length.

Every function raises ParseError on malformed input; lengths are checked by :mod:`iotwarden.dissect.asn1`.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect import asn1, streambuf
from iotwarden.errors import ParseError

MAX_TEXT = 255  # characters kept of a DN, an attribute name or a diagnostic message
MAX_ATTRIBUTES = 16  # attribute names kept of a search request or an entry
MAX_FILTER = 255  # characters of a filter summary (RFC 4515 string form), cut past it
MAX_FILTER_DEPTH = 8  # nested and/or/not read; deeper branches are summarised as "(...)"
MAX_FILTER_ITEMS = 16  # components of one and/or read
MAX_ASSERTIONS = 16  # equality assertions kept for CLDAP's netlogon search (attribute -> value)

ENUMERATED = 0x0A
BOOLEAN = 0x01
START_TLS = "1.3.6.1.4.1.1466.20037"  # RFC 4511 §4.14.1
EXTENDED_NAMES = {START_TLS: "StartTLS", "1.3.6.1.4.1.4203.1.11.3": "whoami",  # RFC 4532 §2
                  "1.3.6.1.4.1.4203.1.11.1": "passwdModify"}  # RFC 3062 §2

# protocolOp CHOICE, [APPLICATION n] identifier octets (RFC 4511 §4.2-§4.14; X.690 §8.1.2)
OPS = {0x60: "bind_request", 0x61: "bind_response", 0x42: "unbind_request", 0x63: "search_request",
       0x64: "search_result_entry", 0x65: "search_result_done", 0x73: "search_result_reference",
       0x66: "modify_request", 0x67: "modify_response", 0x68: "add_request", 0x69: "add_response",
       0x4A: "del_request", 0x6B: "del_response", 0x6C: "moddn_request", 0x6D: "moddn_response",
       0x6E: "compare_request", 0x6F: "compare_response", 0x50: "abandon_request", 0x77: "extended_request",
       0x78: "extended_response", 0x79: "intermediate_response"}
# requests that name one entry (LDAPDN first), reported as ``operation``
ENTRY_REQUESTS = {"modify_request": "modify", "add_request": "add", "del_request": "delete",
                  "moddn_request": "modify_dn", "compare_request": "compare"}
RESULTS_WITH_LDAPRESULT = frozenset({"bind_response", "search_result_done", "modify_response", "add_response",
                                     "del_response", "moddn_response", "compare_response", "extended_response"})

# RFC 4511 Appendix A.1 result codes (the ones a network shows; others by number)
RESULT_NAMES = {0: "success", 1: "operationsError", 2: "protocolError", 3: "timeLimitExceeded",
                4: "sizeLimitExceeded", 5: "compareFalse", 6: "compareTrue", 7: "authMethodNotSupported",
                8: "strongerAuthRequired", 10: "referral", 11: "adminLimitExceeded",
                12: "unavailableCriticalExtension", 13: "confidentialityRequired", 14: "saslBindInProgress",
                16: "noSuchAttribute", 17: "undefinedAttributeType", 32: "noSuchObject", 34: "invalidDNSyntax",
                48: "inappropriateAuthentication", 49: "invalidCredentials", 50: "insufficientAccessRights",
                51: "busy", 52: "unavailable", 53: "unwillingToPerform", 80: "other"}
SCOPES = {0: "base", 1: "one", 2: "sub"}  # RFC 4511 §4.5.1.2 (RFC 4516 §2 names)

# AuthenticationChoice (RFC 4511 §4.2): simple [0] primitive, sasl [3] constructed; Microsoft's "Sicily"
# NTLM binds ([MS-ADTS] §5.1.1.1.3): sicilyPackageDiscovery [9], sicilyNegotiate [10], sicilyResponse [11]
AUTH_SIMPLE, AUTH_SASL = 0x80, 0xA3
SICILY = {0x89: "sicily_discovery", 0x8A: "sicily_negotiate", 0x8B: "sicily_response"}


def message_length(buf: bytes | bytearray) -> int | None:
    """Bytes of the LDAPMessage at the head of ``buf`` (its SEQUENCE TLV), None while its header is incomplete;
    ParseError when the head is no SEQUENCE or uses a form LDAP forbids (indefinite length, RFC 4511 §5.1)."""
    if not buf:
        return None
    if buf[0] != asn1.SEQUENCE:
        raise ParseError(f"ldap: message starts with 0x{buf[0]:02x}, not a SEQUENCE")
    if len(buf) < 2:
        return None
    first = buf[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 4:
        raise ParseError("ldap: indefinite or oversized message length")
    if len(buf) < 2 + n:
        return None
    return 2 + n + int.from_bytes(bytes(buf[2 : 2 + n]), "big")


def _head_tlv(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """(tag, length, offset of the value) of the low-tag TLV header at ``pos``, its value possibly cut; None when the
    header itself is cut or is no definite length of at most 4 bytes (§5.1)."""
    if pos + 2 > len(data) or data[pos] & 0x1F == 0x1F:
        return None
    first = data[pos + 1]
    if first < 0x80:
        return data[pos], first, pos + 2
    n = first & 0x7F
    if n == 0 or n > 4 or pos + 2 + n > len(data):
        return None
    return data[pos], int.from_bytes(data[pos + 2 : pos + 2 + n], "big"), pos + 2 + n


def bind_response_head(head: bytes) -> tuple[int, int | None] | None:
    """(messageID, resultCode or None) of a BindResponse of which only ``head``, its first bytes, was captured
    (the rest lost, e.g. cut by the snap length): the LDAPMessage SEQUENCE and BindResponse [APPLICATION 1]
    headers, the whole messageID (§4.1.1), then LDAPResult's resultCode ENUMERATED (§4.1.9) when its bytes came;
    None when the head is no BindResponse or ends before its messageID. Never raises."""
    outer = _head_tlv(head, 0)
    if outer is None or outer[0] != asn1.SEQUENCE:
        return None
    mid = _head_tlv(head, outer[2])
    if mid is None or mid[0] != asn1.INTEGER or not 1 <= mid[1] <= 4 or mid[2] + mid[1] > len(head):
        return None
    message_id = int.from_bytes(head[mid[2] : mid[2] + mid[1]], "big", signed=True)
    op = _head_tlv(head, mid[2] + mid[1])
    if op is None or op[0] != 0x61 or message_id < 0:  # BindResponse ::= [APPLICATION 1] (§4.2.2)
        return None
    code = _head_tlv(head, op[2])
    if code is None or code[0] != ENUMERATED or not 1 <= code[1] <= 4 or code[2] + code[1] > len(head):
        return message_id, None
    return message_id, int.from_bytes(head[code[2] : code[2] + code[1]], "big", signed=True)


def _text(raw: bytes) -> str:
    return streambuf.text(raw, MAX_TEXT)


def _octets(tlv: asn1.Tlv, what: str) -> bytes:
    if tlv.tag != asn1.OCTET_STRING:
        raise ParseError(f"ldap: {what}: tag 0x{tlv.tag:02x}, expected OCTET STRING")
    return tlv.value


def _enum(tlv: asn1.Tlv, what: str) -> int:
    if tlv.tag != ENUMERATED:
        raise ParseError(f"ldap: {what}: tag 0x{tlv.tag:02x}, expected ENUMERATED")
    return asn1.integer(tlv.value)


def parse_message(data: bytes) -> tuple[int, str, dict[str, Any]]:
    """(messageID, operation name, fields) of one whole LDAPMessage; ParseError when it is not one."""
    outer = asn1.expect(data, 0, asn1.SEQUENCE, "LDAPMessage")
    parts = asn1.children(outer.value)
    if len(parts) < 2 or parts[0].tag != asn1.INTEGER:
        raise ParseError("ldap: LDAPMessage without messageID and protocolOp")
    message_id = asn1.integer(parts[0].value)
    if not 0 <= message_id <= 2**31 - 1:  # MessageID ::= INTEGER (0 .. maxInt), §4.1.1.1
        raise ParseError(f"ldap: messageID {message_id} out of range")
    op = parts[1]
    name = OPS.get(op.tag)
    if name is None:
        raise ParseError(f"ldap: unknown protocolOp 0x{op.tag:02x}")
    return message_id, name, _op_fields(name, op.value)


def _op_fields(name: str, value: bytes) -> dict[str, Any]:
    if name == "bind_request":
        return bind_request(value)
    if name in RESULTS_WITH_LDAPRESULT:
        return ldap_result(name, value)
    if name == "search_request":
        return search_request(value)
    if name == "search_result_entry":
        return search_entry(value)
    if name == "extended_request":
        return extended_request(value)
    if name == "del_request":  # DelRequest ::= [APPLICATION 10] LDAPDN: the DN is the value itself (§4.8)
        return {"operation": ENTRY_REQUESTS[name], "object": _text(value)}
    if name in ENTRY_REQUESTS:  # the others' first component is the entry's LDAPDN (§4.6, §4.7, §4.9, §4.10)
        first = asn1.read_tlv(value) if value else None
        return {"operation": ENTRY_REQUESTS[name],
                "object": _text(_octets(first, "entry")) if first is not None else None}
    return {}


def bind_request(value: bytes) -> dict[str, Any]:
    """BindRequest (§4.2): version, name, the authentication's kind; a simple bind's password by presence and
    length only (RFC 4513 §5.1: empty name and password is an anonymous bind, a name with an empty password an
    unauthenticated one)."""
    parts = asn1.children(value)
    if len(parts) != 3 or parts[0].tag != asn1.INTEGER:
        raise ParseError("ldap: BindRequest is not version, name, authentication")
    version = asn1.integer(parts[0].value)
    if not 1 <= version <= 127:
        raise ParseError(f"ldap: bind version {version}")
    name = _text(_octets(parts[1], "bind name"))
    auth = parts[2]
    fields: dict[str, Any] = {"version": version, "name": name}
    if auth.tag == AUTH_SIMPLE:
        length = len(auth.value)
        kind = "simple" if length else ("unauthenticated" if name else "anonymous")
        fields.update(auth="simple", bind_kind=kind, password_present=length > 0, password_length=length)
    elif auth.tag == AUTH_SASL:
        sasl = asn1.children(auth.value)
        if not sasl:
            raise ParseError("ldap: SaslCredentials without mechanism")
        fields.update(auth="sasl", bind_kind="sasl", mechanism=_text(_octets(sasl[0], "SASL mechanism")),
                      sasl_credentials=len(sasl) > 1)
    elif auth.tag in SICILY:
        fields.update(auth="sicily", bind_kind=SICILY[auth.tag])
    else:
        raise ParseError(f"ldap: authentication choice 0x{auth.tag:02x}")
    return fields


def ldap_result(name: str, value: bytes) -> dict[str, Any]:
    """LDAPResult (§4.1.9): resultCode, matchedDN, diagnosticMessage; an ExtendedResponse's responseName [10]."""
    parts = asn1.children(value)
    if len(parts) < 3:
        raise ParseError("ldap: LDAPResult without resultCode, matchedDN, diagnosticMessage")
    code = _enum(parts[0], "resultCode")
    fields: dict[str, Any] = {"result_code": code, "result": RESULT_NAMES.get(code, str(code)),
                              "matched_dn": _text(_octets(parts[1], "matchedDN")) or None,
                              "diagnostic": _text(_octets(parts[2], "diagnosticMessage")) or None}
    if name == "extended_response":
        for part in parts[3:]:
            if part.tag == 0x8A:  # responseName [10] LDAPOID
                fields["oid"] = _text(part.value)
    return fields


def extended_request(value: bytes) -> dict[str, Any]:
    """ExtendedRequest (§4.12): requestName [0] LDAPOID (StartTLS: §4.14.1)."""
    parts = asn1.children(value)
    if not parts or parts[0].tag != 0x80:
        raise ParseError("ldap: ExtendedRequest without requestName")
    oid = _text(parts[0].value)
    return {"oid": oid, "operation": EXTENDED_NAMES.get(oid), "start_tls": oid == START_TLS}


def search_request(value: bytes) -> dict[str, Any]:
    """SearchRequest (§4.5.1): baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly, filter,
    attributes; ``filter`` in RFC 4515's string form (bounded), ``assertions`` its equality matches."""
    parts = asn1.children(value)
    if len(parts) != 8:
        raise ParseError(f"ldap: SearchRequest of {len(parts)} components, expected 8")
    scope = _enum(parts[1], "scope")
    assertions: dict[str, bytes] = {}
    summary = _filter(parts[6], 0, assertions)
    if parts[7].tag != asn1.SEQUENCE:
        raise ParseError("ldap: SearchRequest attributes is not a SEQUENCE")
    attributes = [_text(_octets(a, "attribute")) for a in asn1.children(parts[7].value)[:MAX_ATTRIBUTES]]
    return {"base": _text(_octets(parts[0], "baseObject")), "scope": SCOPES.get(scope, str(scope)),
            "size_limit": asn1.integer(_int_tlv(parts[3])), "filter": summary[:MAX_FILTER],
            "attributes": attributes, "assertions": assertions}


def _int_tlv(tlv: asn1.Tlv) -> bytes:
    if tlv.tag != asn1.INTEGER:
        raise ParseError("ldap: expected INTEGER")
    return tlv.value


def _escape(raw: bytes) -> str:
    """An assertion value in RFC 4515 §3 form: printable ASCII as is, others and ``*()\\`` as \\xx."""
    out = []
    for b in raw[:MAX_TEXT]:
        out.append(chr(b) if 0x20 < b < 0x7F and b not in b"*()\\" else f"\\{b:02x}")
    return "".join(out)


def _filter(tlv: asn1.Tlv, depth: int, assertions: dict[str, bytes]) -> str:
    """Filter (§4.5.1.7) as RFC 4515 text; equality assertions' raw values gathered into ``assertions``."""
    tag = tlv.tag
    if tag in (0xA0, 0xA1):  # and [0], or [1]: SET OF Filter
        if depth >= MAX_FILTER_DEPTH:
            return "(...)"
        items = asn1.children(tlv.value)[:MAX_FILTER_ITEMS]
        return "(" + ("&" if tag == 0xA0 else "|") + "".join(_filter(i, depth + 1, assertions) for i in items) + ")"
    if tag == 0xA2:  # not [2] Filter
        if depth >= MAX_FILTER_DEPTH:
            return "(...)"
        return "(!" + _filter(asn1.read_tlv(tlv.value), depth + 1, assertions) + ")"
    if tag == 0x87:  # present [7] AttributeDescription
        return f"({_text(tlv.value)}=*)"
    if tag in (0xA3, 0xA5, 0xA6, 0xA8):  # AttributeValueAssertion: equality, >=, <=, approx
        parts = asn1.children(tlv.value)
        if len(parts) != 2:
            raise ParseError("ldap: AttributeValueAssertion is not description, value")
        attr, raw = _text(_octets(parts[0], "attributeDesc")), _octets(parts[1], "assertionValue")
        if tag == 0xA3 and len(assertions) < MAX_ASSERTIONS:
            assertions.setdefault(attr.lower(), raw)
        op = {0xA3: "=", 0xA5: ">=", 0xA6: "<=", 0xA8: "~="}[tag]
        return f"({attr}{op}{_escape(raw)})"
    if tag == 0xA4:  # substrings [4]: type, SEQUENCE OF initial [0] / any [1] / final [2]
        parts = asn1.children(tlv.value)
        if len(parts) != 2:
            raise ParseError("ldap: SubstringFilter is not type, substrings")
        pieces = {0x80: "", 0x81: "", 0x82: ""}
        text = []
        for sub in asn1.children(parts[1].value)[:MAX_FILTER_ITEMS]:
            if sub.tag not in pieces:
                raise ParseError(f"ldap: substring choice 0x{sub.tag:02x}")
            text.append((sub.tag, _escape(sub.value)))
        initial = "".join(v for t, v in text if t == 0x80)
        middle = "*".join(v for t, v in text if t == 0x81)
        final = "".join(v for t, v in text if t == 0x82)
        body = initial + "*" + (middle + "*" if middle else "") + final
        return f"({_text(_octets(parts[0], 'type'))}={body})"
    if tag == 0xA9:  # extensibleMatch [9]
        return "(:extensible:)"
    raise ParseError(f"ldap: filter choice 0x{tag:02x}")


def search_entry(value: bytes) -> dict[str, Any]:
    """SearchResultEntry (§4.5.2): objectName and its attributes' names; ``values`` holds each attribute's first
    value's raw bytes (lower-case names) for the callers that read one (CLDAP's Netlogon)."""
    parts = asn1.children(value)
    if len(parts) != 2 or parts[1].tag != asn1.SEQUENCE:
        raise ParseError("ldap: SearchResultEntry is not objectName, attributes")
    names: list[str] = []
    values: dict[str, bytes] = {}
    for attr in asn1.children(parts[1].value)[:MAX_ATTRIBUTES]:
        if attr.tag != asn1.SEQUENCE:
            raise ParseError("ldap: PartialAttribute is not a SEQUENCE")
        pa = asn1.children(attr.value)
        if len(pa) != 2:
            raise ParseError("ldap: PartialAttribute is not type, vals")
        name = _text(_octets(pa[0], "attribute type"))
        names.append(name)
        vals = asn1.children(pa[1].value)
        if vals:
            values.setdefault(name.lower(), _octets(vals[0], "attribute value"))
    return {"object_name": _text(_octets(parts[0], "objectName")), "attributes": names, "values": values}
