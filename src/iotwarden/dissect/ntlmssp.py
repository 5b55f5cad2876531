"""NTLMSSP messages ([MS-NLMP] §2.2.1) and the SPNEGO tokens that carry them (RFC 4178 §4.2), as SMB's
SESSION_SETUP security blobs hold them: what each end says of itself, never a secret.

:func:`security_blob` reads a blob (a GSS-API initial token, RFC 2743 §3.1, or a bare NegTokenResp; a bare
NTLMSSP message as some SMB1 stacks send it) into fields:

* ``auth_mechs``: the SPNEGO mechTypes offered (§4.2.1; names from :data:`MECHS`, else the dotted OID);
* ``auth_mech``: what the token carries, "ntlmssp" or "kerberos" (an AP-REQ, RFC 4121 §4.1);
* ``ntlm_message``: "negotiate", "challenge" or "authenticate" (§2.2.1.1-§2.2.1.3);
* ``ntlm_version``: the sender's VERSION (§2.2.2.10), "major.minor.build" ("10.0.19041"), when the
  NTLMSSP_NEGOTIATE_VERSION flag says the field is filled;
* a CHALLENGE's ``target_name`` and TargetInfo AV pairs (§2.2.2.1): ``nb_computer``, ``nb_domain``,
  ``dns_computer``, ``dns_domain``, ``dns_tree`` and ``ntlm_timestamp`` (MsvAvTimestamp, FILETIME as Unix
  seconds: the server's clock);
* an AUTHENTICATE's ``workstation`` and ``domain``, ``user_present`` (a user name was sent) and
  ``anonymous`` (§3.2.5.1.2: empty user and NT response, or the NTLMSSP_NEGOTIATE_ANONYMOUS flag).
  The user name is personal data and is never kept; challenge responses, the MIC and session keys never.
* a NEGOTIATE's ``workstation`` and ``domain`` when its flags say they were supplied (OEM charset).

Malformed input raises :class:`~iotwarden.errors.ParseError`.
"""

from __future__ import annotations

import struct
from typing import Any

from iotwarden.dissect import asn1
from iotwarden.errors import ParseError

SIGNATURE = b"NTLMSSP\x00"
MAX_TEXT = 256  # characters kept of a name
MAX_AV_PAIRS = 32  # AV pairs read of one TargetInfo
MAX_MECHS = 8  # SPNEGO mechTypes kept
SPNEGO_OID = "1.3.6.1.5.5.2"  # RFC 4178 §3
KRB5_OIDS = frozenset({"1.2.840.113554.1.2.2", "1.2.840.48018.1.2.2"})  # RFC 4121 §1; Microsoft's variant
MECHS = {
    "1.3.6.1.4.1.311.2.2.10": "ntlmssp",  # [MS-NLMP] §1.9
    "1.2.840.113554.1.2.2": "kerberos",  # RFC 4121 §1
    "1.2.840.48018.1.2.2": "ms-kerberos",  # [MS-KILE] §3.1.5.9
    "1.2.840.113554.1.2.2.3": "kerberos-u2u",  # RFC 4121 draft user-to-user
    "1.3.6.1.4.1.311.2.2.30": "negoex",  # [MS-NEGOEX] §1.9
}
MESSAGE_TYPES = {1: "negotiate", 2: "challenge", 3: "authenticate"}

# NegotiateFlags, [MS-NLMP] §2.2.2.5
NEGOTIATE_UNICODE = 0x00000001
NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x00001000
NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x00002000
NEGOTIATE_ANONYMOUS = 0x00000800
NEGOTIATE_VERSION = 0x02000000

# AvId, [MS-NLMP] §2.2.2.1
AV_NAMES = {1: "nb_computer", 2: "nb_domain", 3: "dns_computer", 4: "dns_domain", 5: "dns_tree"}
AV_EOL = 0
AV_TIMESTAMP = 7
FILETIME_UNIX_EPOCH = 116_444_736_000_000_000  # 100 ns intervals from 1601-01-01 to 1970-01-01


def security_blob(blob: bytes) -> dict[str, Any]:
    """Fields of one SMB security blob (see the module docstring); {} for an empty blob."""
    if not blob:
        return {}
    if blob.startswith(SIGNATURE):
        return {"auth_mech": "ntlmssp", **message(blob)}
    fields: dict[str, Any] = {}
    tlv = asn1.read_tlv(blob)
    if tlv.tag == 0x60:  # [APPLICATION 0] GSS-API InitialContextToken, RFC 2743 §3.1
        parts = asn1.read_tlv(tlv.value)
        if parts.tag != asn1.OID:
            raise ParseError("spnego: initial token without thisMech")
        mech = asn1.oid(parts.value)
        inner = tlv.value[parts.end:]
        if mech in KRB5_OIDS:
            return {"auth_mech": "kerberos"}
        if mech != SPNEGO_OID:
            raise ParseError(f"spnego: initial token for mechanism {mech}")
        tlv = asn1.read_tlv(inner)
    if tlv.tag not in (0xA0, 0xA1):  # NegotiationToken CHOICE negTokenInit [0] / negTokenResp [1], §4.2
        raise ParseError(f"spnego: NegotiationToken tag 0x{tlv.tag:02x}")
    seq = asn1.expect(tlv.value, 0, asn1.SEQUENCE, "NegToken")
    token: bytes | None = None
    for item in asn1.children(seq.value):
        if tlv.tag == 0xA0 and item.tag == 0xA0:  # mechTypes [0] MechTypeList
            oids = asn1.children(asn1.expect(item.value, 0, asn1.SEQUENCE, "MechTypeList").value)
            fields["auth_mechs"] = [MECHS.get(o, o) for o in (asn1.oid(t.value) for t in oids[:MAX_MECHS]
                                                             if t.tag == asn1.OID)]
        elif item.tag == 0xA2:  # mechToken (init) / responseToken (resp) [2] OCTET STRING
            token = asn1.expect(item.value, 0, asn1.OCTET_STRING, "mechToken").value
    if token:
        if token.startswith(SIGNATURE):
            fields.update({"auth_mech": "ntlmssp", **message(token)})
        elif token[:1] == b"\x60" or token[:1] == b"\x6e":  # GSS krb5 token, or a raw AP-REP/AP-REQ
            fields["auth_mech"] = "kerberos"
    return fields


def message(data: bytes) -> dict[str, Any]:
    """Fields of one NTLMSSP message (§2.2.1); ParseError when it is not one."""
    if len(data) < 12 or not data.startswith(SIGNATURE):
        raise ParseError("ntlmssp: no NTLMSSP signature")
    kind = MESSAGE_TYPES.get(struct.unpack_from("<I", data, 8)[0])
    if kind == "negotiate":
        return _negotiate(data)
    if kind == "challenge":
        return _challenge(data)
    if kind == "authenticate":
        return _authenticate(data)
    raise ParseError("ntlmssp: unknown MessageType")


def _field(data: bytes, at: int) -> bytes:
    """The payload bytes a Len/MaxLen/BufferOffset triple at ``at`` points to (§2.2.1.1 DomainNameFields)."""
    if at + 8 > len(data):
        raise ParseError("ntlmssp: truncated field descriptor")
    length, _, offset = struct.unpack_from("<HHI", data, at)
    if length == 0:
        return b""
    if offset + length > len(data):
        raise ParseError("ntlmssp: field overruns the message")
    return data[offset : offset + length]


def _text(raw: bytes, unicode: bool) -> str:
    """A name as sent: UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE was negotiated, else the OEM charset."""
    text = raw.decode("utf-16-le", "replace") if unicode else raw.decode("latin-1")
    return text[:MAX_TEXT]


def _version(data: bytes, at: int, flags: int) -> dict[str, Any]:
    """The VERSION structure at ``at`` (§2.2.2.10) when the flags say it is filled and the payload
    does not begin before it (older senders leave the field out)."""
    if not flags & NEGOTIATE_VERSION or at + 8 > len(data):
        return {}
    major, minor, build = struct.unpack_from("<BBH", data, at)
    return {"ntlm_version": f"{major}.{minor}.{build}"}


def _first_offset(data: bytes, descriptors: tuple[int, ...]) -> int:
    """Where the payload begins: the smallest offset of a non-empty field (fixed fields end there)."""
    offsets = [struct.unpack_from("<I", data, at + 4)[0] for at in descriptors
               if at + 8 <= len(data) and struct.unpack_from("<H", data, at)[0]]
    return min(offsets, default=len(data))


def _negotiate(data: bytes) -> dict[str, Any]:
    if len(data) < 16:
        raise ParseError("ntlmssp: truncated NEGOTIATE_MESSAGE")
    flags = struct.unpack_from("<I", data, 12)[0]
    fields: dict[str, Any] = {"ntlm_message": "negotiate"}
    if len(data) >= 32:  # DomainNameFields and WorkstationFields, OEM charset (§2.2.1.1)
        if flags & NEGOTIATE_OEM_DOMAIN_SUPPLIED and (domain := _field(data, 16)):
            fields["domain"] = _text(domain, False)
        if flags & NEGOTIATE_OEM_WORKSTATION_SUPPLIED and (station := _field(data, 24)):
            fields["workstation"] = _text(station, False)
        if _first_offset(data, (16, 24)) >= 40:
            fields.update(_version(data, 32, flags))
    return fields


def _challenge(data: bytes) -> dict[str, Any]:
    if len(data) < 32:
        raise ParseError("ntlmssp: truncated CHALLENGE_MESSAGE")
    flags = struct.unpack_from("<I", data, 20)[0]
    unicode = bool(flags & NEGOTIATE_UNICODE)
    fields: dict[str, Any] = {"ntlm_message": "challenge"}
    if target := _field(data, 12):
        fields["target_name"] = _text(target, unicode)
    if len(data) >= 48:
        fields.update(_target_info(_field(data, 40)))
        if _first_offset(data, (12, 40)) >= 56:
            fields.update(_version(data, 48, flags))
    return fields


def _target_info(info: bytes) -> dict[str, Any]:
    """AV pairs (§2.2.2.1): the server's names and clock; always UTF-16LE (§2.2.2.1 'MUST be Unicode')."""
    out: dict[str, Any] = {}
    pos = 0
    for _ in range(MAX_AV_PAIRS):
        if pos + 4 > len(info):
            break
        av_id, av_len = struct.unpack_from("<HH", info, pos)
        value = info[pos + 4 : pos + 4 + av_len]
        if len(value) < av_len:
            raise ParseError("ntlmssp: AV pair overruns TargetInfo")
        pos += 4 + av_len
        if av_id == AV_EOL:
            break
        if av_id in AV_NAMES and value:
            out[AV_NAMES[av_id]] = _text(value, True)
        elif av_id == AV_TIMESTAMP and av_len == 8:
            ticks = struct.unpack("<Q", value)[0]
            out["ntlm_timestamp"] = round((ticks - FILETIME_UNIX_EPOCH) / 10_000_000, 3)
    return out


def _authenticate(data: bytes) -> dict[str, Any]:
    if len(data) < 64:
        raise ParseError("ntlmssp: truncated AUTHENTICATE_MESSAGE")
    flags = struct.unpack_from("<I", data, 60)[0]
    unicode = bool(flags & NEGOTIATE_UNICODE)
    nt_response = _field(data, 20)
    user = _field(data, 36)  # read to check its bounds and emptiness only: never kept
    fields: dict[str, Any] = {
        "ntlm_message": "authenticate",
        "user_present": bool(user),
        "anonymous": bool(flags & NEGOTIATE_ANONYMOUS) or (not user and not nt_response),
    }
    if domain := _field(data, 28):
        fields["domain"] = _text(domain, unicode)
    if station := _field(data, 44):
        fields["workstation"] = _text(station, unicode)
    if _first_offset(data, (12, 20, 28, 36, 44, 52)) >= 72:
        fields.update(_version(data, 64, flags))
    return fields
