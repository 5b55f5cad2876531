"""Payload builders for LDAP (RFC 4511 §4, BER per §5.1) and the CLDAP ping of Active Directory ([MS-ADTS]
§6.3.3): binds, searches, results, StartTLS, and a DC's NETLOGON_SAM_LOGON_RESPONSE_EX (§6.3.1.9)."""

from __future__ import annotations

import struct
import uuid

from iotwarden.lab.proto_net import ber, ber_int

START_TLS = "1.3.6.1.4.1.1466.20037"
SUCCESS, INVALID_CREDENTIALS = 0, 49
# [MS-ADTS] §6.3.1.2 flags a writable Windows Server DC answers with: PDC, GC, LDAP, DS, KDC, TIMESERV, CLOSEST,
# WRITABLE, GOOD_TIMESERV, DS_8, DS_9, DS_10 and the three DNS flags
DC_FLAGS = 0x1 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x4000 | 0x8000 | 0x10000 | 0xE0000000
# §6.3.1.1 NETLOGON_NT_VERSION_5 | 5EX | WITH_CLOSEST_SITE: what a Windows member asks for
NT_VERSION_5EX = 0x2 | 0x4 | 0x10
NT_VERSION_ANSWER = 0x1 | 0x2 | 0x4  # NETLOGON_NT_VERSION_1 | 5 | 5EX: a DC's NtVersion


def _s(text: str | bytes) -> bytes:
    return ber(0x04, text.encode() if isinstance(text, str) else text)


def _enum(value: int) -> bytes:
    return ber(0x0A, bytes([value]))


def message(message_id: int, op: bytes) -> bytes:
    """LDAPMessage (§4.1.1): SEQUENCE { messageID, protocolOp }."""
    return ber(0x30, ber_int(message_id) + op)


def bind_simple(message_id: int, name: str, password: str, version: int = 3) -> bytes:
    """BindRequest [APPLICATION 0] with simple [0] authentication (§4.2)."""
    return message(message_id, ber(0x60, ber_int(version) + _s(name) + ber(0x80, password.encode())))


def bind_sasl(message_id: int, mechanism: str, credentials: bytes | None = None, name: str = "") -> bytes:
    """BindRequest with sasl [3] SaslCredentials { mechanism, credentials OPTIONAL }."""
    sasl = _s(mechanism) + (_s(credentials) if credentials is not None else b"")
    return message(message_id, ber(0x60, ber_int(3) + _s(name) + ber(0xA3, sasl)))


def _result(code: int, matched: str = "", diagnostic: str = "") -> bytes:
    return _enum(code) + _s(matched) + _s(diagnostic)


def bind_response(message_id: int, code: int, diagnostic: str = "") -> bytes:
    """BindResponse [APPLICATION 1] (§4.2.2)."""
    return message(message_id, ber(0x61, _result(code, "", diagnostic)))


def unbind(message_id: int) -> bytes:
    return message(message_id, ber(0x42, b""))


def equality(attribute: str, value: str | bytes) -> bytes:
    """Filter equalityMatch [3] AttributeValueAssertion (§4.5.1.7)."""
    return ber(0xA3, _s(attribute) + _s(value))


def search(message_id: int, base: str, filter_: bytes, attributes: tuple[str, ...] = (), scope: int = 2) -> bytes:
    """SearchRequest [APPLICATION 3] (§4.5.1): derefAliases never, no limits, typesOnly FALSE."""
    body = (_s(base) + _enum(scope) + _enum(0) + ber_int(0) + ber_int(0) + ber(0x01, b"\x00") + filter_
            + ber(0x30, b"".join(_s(a) for a in attributes)))
    return message(message_id, ber(0x63, body))


def entry(message_id: int, dn: str, attributes: dict[str, list[bytes]]) -> bytes:
    """SearchResultEntry [APPLICATION 4] (§4.5.2)."""
    attrs = b"".join(ber(0x30, _s(k) + ber(0x31, b"".join(_s(v) for v in vals))) for k, vals in attributes.items())
    return message(message_id, ber(0x64, _s(dn) + ber(0x30, attrs)))


def search_done(message_id: int, code: int = SUCCESS) -> bytes:
    return message(message_id, ber(0x65, _result(code)))


def start_tls(message_id: int) -> bytes:
    """ExtendedRequest [APPLICATION 23] { requestName [0] StartTLS OID } (§4.14.1)."""
    return message(message_id, ber(0x77, ber(0x80, START_TLS.encode())))


def start_tls_response(message_id: int, code: int = SUCCESS) -> bytes:
    """ExtendedResponse [APPLICATION 24] with responseName [10] (§4.14.2)."""
    return message(message_id, ber(0x78, _result(code) + ber(0x8A, START_TLS.encode())))


def netlogon_ping(message_id: int, dns_domain: str, host: str, nt_version: int = NT_VERSION_5EX) -> bytes:
    """The CLDAP search a domain member sends to find a DC ([MS-ADTS] §6.3.3.2): the rootDSE, an AND of
    DnsDomain, Host and NtVer (little-endian) equality matches, asking for the Netlogon attribute."""
    flt = ber(0xA0, equality("DnsDomain", dns_domain) + equality("Host", host)
              + equality("NtVer", struct.pack("<I", nt_version)))
    return search(message_id, "", flt, ("Netlogon",), scope=0)


def _dns_name(name: str) -> bytes:
    """An uncompressed RFC 1035 §3.1 name (the builder never compresses; the dissector reads both)."""
    if not name:
        return b"\x00"
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"


def logon_response_ex(*, forest: str, domain: str, host: str, netbios_domain: str, netbios_name: str,
                      site: str, client_site: str, domain_guid: uuid.UUID, flags: int = DC_FLAGS,
                      compress: bool = True) -> bytes:
    """NETLOGON_SAM_LOGON_RESPONSE_EX (§6.3.1.9), opcode 23; with ``compress`` the domain and host names point
    back at the forest name (RFC 1035 §4.1.4) as Windows writes them."""
    out = bytearray(struct.pack("<HHI", 23, 0, flags) + domain_guid.bytes_le)
    forest_at = len(out)
    out += _dns_name(forest)
    for name in (domain, host):
        if compress and name.endswith("." + forest):
            out += _dns_name(name[: -len(forest) - 1])[:-1] + struct.pack(">H", 0xC000 | forest_at)
        elif compress and name == forest:
            out += struct.pack(">H", 0xC000 | forest_at)
        else:
            out += _dns_name(name)
    for name in (netbios_domain, netbios_name, "", site, client_site):
        out += _dns_name(name)
    out += struct.pack("<IHH", NT_VERSION_ANSWER, 0xFFFF, 0xFFFF)  # NtVersion, LmNtToken, Lm20Token
    return bytes(out)


def netlogon_answer(message_id: int, response: bytes) -> bytes:
    """The DC's datagram: a SearchResultEntry of the rootDSE with the Netlogon value, then SearchResultDone."""
    return entry(message_id, "", {"netlogon": [response]}) + search_done(message_id)
