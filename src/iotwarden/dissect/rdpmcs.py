"""RDP's cleartext MCS connect exchange under standard RDP security ([MS-RDPBCGR] §1.3.1.1, §5.3): the MCS
Connect Initial / Connect Response (T.125 §11.1-11.2, BER) whose GCC Conference Create Request / Response
(T.124, PER) carry the client's and the server's settings data blocks (§2.2.1.3, §2.2.1.4).

Only what names or weakens the ends is read: the Client Core Data (§2.2.1.3.2: client build, client name,
keyboard layout, desktop size) and the Server Security Data (§2.2.1.4.3: encryption method and level, the
server certificate's type). With TLS or CredSSP (any other selected protocol) these PDUs travel encrypted.
"""

from __future__ import annotations

from typing import Any

from iotwarden.dissect import asn1
from iotwarden.errors import ParseError

# T.125 §11.1-11.2: Connect-Initial ::= [APPLICATION 101], Connect-Response ::= [APPLICATION 102]
MCS_CONNECT_INITIAL = 101
MCS_CONNECT_RESPONSE = 102
# T.124 H.221 non-standard keys of the GCC user data ([MS-RDPBCGR] §2.2.1.3, §2.2.1.4: "Duca", "McDn")
CLIENT_H221_KEY = b"Duca"
SERVER_H221_KEY = b"McDn"
MAX_KEY_OFFSET = 64  # the key sits in the first few bytes of the PER-encoded GCC PDU (FreeRDP gcc.c)
MAX_BLOCKS = 32  # settings data blocks read from one PDU

CS_CORE = 0xC001  # §2.2.1.3.1 TS_UD_HEADER types
SC_SECURITY = 0x0C02
CLIENT_NAME_BYTES = 32  # §2.2.1.3.2 clientName: 32 bytes, UTF-16LE, null-terminated
CORE_MIN = 52  # bytes of TS_UD_CS_CORE after its header up to and including clientName

# §2.2.1.4.3 encryptionMethod and encryptionLevel
ENCRYPTION_METHODS = {0: "none", 0x1: "40bit", 0x2: "128bit", 0x8: "56bit", 0x10: "fips"}
ENCRYPTION_LEVELS = {0: "none", 1: "low", 2: "client_compatible", 3: "high", 4: "fips"}
# §2.2.1.4.3.1 SERVER_CERTIFICATE dwVersion: bits 0-30 the chain version, bit 31 temporary (t)
CERT_TYPES = {1: "proprietary", 2: "x509"}  # CERT_CHAIN_VERSION_1 (§2.2.1.4.3.1.1), _2 (X.509 chain)


def _u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "little")


def _u32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def _mcs_user_data(pdu: bytes, application: int) -> bytes:
    """The userData OCTET STRING of an MCS Connect-Initial (101) or Connect-Response (102): its last field."""
    outer = asn1.read_tlv(pdu)
    cls, constructed, number = asn1.tag_parts(outer.tag)
    if cls != 0x40 or not constructed or number != application:
        raise ParseError(f"not an MCS PDU [APPLICATION {application}]")
    fields = asn1.children(outer.value)
    if not fields or fields[-1].tag != asn1.OCTET_STRING:
        raise ParseError("MCS connect PDU without userData")
    return fields[-1].value


def _blocks(gcc: bytes, key: bytes) -> list[tuple[int, bytes]]:
    """(type, body) of the settings data blocks that follow the H.221 ``key`` and its PER length (T.124)."""
    at = gcc.find(key, 0, MAX_KEY_OFFSET)
    if at < 0:
        raise ParseError(f"GCC user data without the {key.decode()} key")
    pos = at + len(key)
    if pos >= len(gcc):
        raise ParseError("GCC user data truncated after its key")
    length = gcc[pos]
    pos += 1
    if length & 0x80:  # X.691 §11.9.3.7: a two-byte length
        if pos >= len(gcc):
            raise ParseError("GCC user data length truncated")
        length = ((length & 0x7F) << 8) | gcc[pos]
        pos += 1
    data = gcc[pos : pos + length]
    out: list[tuple[int, bytes]] = []
    off = 0
    while off + 4 <= len(data) and len(out) < MAX_BLOCKS:
        kind, size = _u16(data, off), _u16(data, off + 2)
        if size < 4 or off + size > len(data):
            raise ParseError(f"settings data block 0x{kind:04x} of {size} bytes overruns the GCC user data")
        out.append((kind, data[off + 4 : off + size]))
        off += size
    return out


def client_core(body: bytes) -> dict[str, Any]:
    """Fields of a TS_UD_CS_CORE body (§2.2.1.3.2), its header left out."""
    if len(body) < CORE_MIN:
        raise ParseError(f"Client Core Data of {len(body)} bytes, under {CORE_MIN}")
    raw_name = body[20 : 20 + CLIENT_NAME_BYTES]
    name = raw_name.decode("utf-16-le", "replace").split("\x00", 1)[0].strip()
    fields: dict[str, Any] = {
        "rdp_version": f"0x{_u32(body, 0):08x}",  # 0x00080001 RDP 4.0, 0x00080004 RDP 5.0 and later...
        "desktop_width": _u16(body, 4), "desktop_height": _u16(body, 6),
        "keyboard_layout": _u32(body, 12),  # an input locale identifier (LCID), [MS-LCID]
        "client_build": _u32(body, 16), "client_name": name or None,
    }
    if len(body) >= 212:  # serverSelectedProtocol, the protocol the client says the server picked
        fields["server_selected_protocol"] = _u32(body, 208)
    return fields


def server_security(body: bytes) -> dict[str, Any]:
    """Fields of a TS_UD_SC_SEC1 body (§2.2.1.4.3), its header left out."""
    if len(body) < 8:
        raise ParseError("Server Security Data under 8 bytes")
    method, level = _u32(body, 0), _u32(body, 4)
    fields: dict[str, Any] = {
        "encryption_method": ENCRYPTION_METHODS.get(method, f"0x{method:x}"),
        "encryption_level": ENCRYPTION_LEVELS.get(level, str(level)),
    }
    if len(body) >= 16:  # serverRandomLen, serverCertLen, serverRandom, serverCertificate
        random_len, cert_len = _u32(body, 8), _u32(body, 12)
        cert_at = 16 + random_len
        if cert_len >= 4 and cert_at + 4 <= len(body):
            version = _u32(body, cert_at)
            fields["cert_type"] = CERT_TYPES.get(version & 0x7FFFFFFF, str(version & 0x7FFFFFFF))
            fields["cert_permanent"] = not version & 0x80000000
    return fields


def connect_initial(pdu: bytes) -> dict[str, Any] | None:
    """The Client Core Data of an MCS Connect-Initial's GCC Conference Create Request, None without one."""
    for kind, body in _blocks(_mcs_user_data(pdu, MCS_CONNECT_INITIAL), CLIENT_H221_KEY):
        if kind == CS_CORE:
            return client_core(body)
    return None


def connect_response(pdu: bytes) -> dict[str, Any] | None:
    """The Server Security Data of an MCS Connect-Response's GCC Conference Create Response, None without."""
    for kind, body in _blocks(_mcs_user_data(pdu, MCS_CONNECT_RESPONSE), SERVER_H221_KEY):
        if kind == SC_SECURITY:
            return server_security(body)
    return None
