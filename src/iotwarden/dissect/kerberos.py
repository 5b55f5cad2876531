"""Kerberos V5 dissector (RFC 4120 §5): the KDC exchanges on port 88, over UDP and TCP.

Kinds (subject ``src``, the sender): ``as_req`` and ``tgs_req`` (KDC-REQ, §5.4.1) from a client,
``as_rep`` and ``tgs_rep`` (KDC-REP, §5.4.2) and ``error`` (KRB-ERROR, §5.9.1) from the KDC.
Fields: ``msg_type`` (10-13, 30), ``realm`` (the request's or the ticket's realm), ``cname`` and
``sname`` (PrincipalName, §5.2.2, components joined by "/"), for requests ``etypes`` (the
client's encryption types, §5.4.1 etype, in preference order), ``padata_types``, for an AS request ``preauth``
(whether its padata proves the client's key: PA-ENC-TIMESTAMP §5.2.7.2, PA-PK-AS-REQ RFC 4556, FAST's armour or
encrypted challenge RFC 6113; an AS-REQ without it is answered KDC_ERR_PREAUTH_REQUIRED unless the account does
not require pre-authentication, [MS-KILE] §3.3.5.7.1), and ``computer`` (the NetBIOS name of a
computer account asking for itself: a one-component ``cname`` ending in "$", [MS-ADOD] §2.2.2, less its "$" as
[MS-ADCAP] §3.4.4.3.3.1.5 reads it; a trust account's name ends in "$" too, [MS-ADTS] §6.1.6.8.3, and is a
domain's NetBIOS name), for replies ``ticket_etype`` (the encryption type of the ticket's enc-part, §5.3: the
service's key, 23 RC4-HMAC the one Kerberoasting cracks fastest) and ``enc_etype`` (the reply's own enc-part,
§5.4.2: the client's key for an AS-REP, the one AS-REP roasting cracks), for errors ``error_code`` (§7.5.9) and
``error_name``.
``login_attempt`` (src the client, subject ``dst``: the KDC logged into, as LDAP's, FTP's and Telnet's logins are
reported): an AS exchange whose request proved a key, answered KDC_ERR_PREAUTH_FAILED (24: the password was wrong,
``result`` failure) or with an AS-REP (success): ``username`` (the request's cname), ``realm``, ``result``,
``code``. KDC_ERR_CLIENT_REVOKED (18: the account is locked out or disabled; Microsoft's KDC answers so once the
lockout threshold is reached, password right or wrong) is the attempt with ``result`` revoked (a logon tried and
refused without the password being judged) and ``preauth_proved``: True when the request was seen proving a key,
False when it was not seen (a Zeek line: kerberos.log has no padata; a capture that missed it), which detect.bruteforce
counts only for a client shown to pre-authenticate. KDC_ERR_PREAUTH_REQUIRED (25) is no attempt: no key was offered
(every Windows logon starts so), nor is an 18 to a request seen bare (kerbrute's user enumeration reads 18 as
"exists, locked"). The request is the last AS-REQ of the same flow (a TCP connection or UDP port pair carries one
exchange).
Everything encrypted (tickets' enc-part, authenticators) is left alone: only its etype number is read, never the
cipher text.

Over TCP each message is preceded by a 4-byte big-endian length (§7.2.2); a record may span
segments, so TCP flows are read as a stream with a bounded buffer. At most :data:`MAX_MESSAGES`
observations per flow.

Bytes the capture lost (the engine's ``gap``, a SPAN port's drop) cost their direction's record, not the flow:
the other direction reads on, and the direction takes the next record only where a segment begins (where the
bytes after the hole begin, or a later segment) and only when its length prefix has the reserved bit clear and
is within MAX_RECORD, the message is one its direction carries (a request from the client, a reply or
KRB-ERROR from the KDC, §5.4.1-§5.4.2, §5.9.1), its DER encoding fills the record exactly and it parses. A hole
in the client's direction forgets the AS-REQ remembered for pairing: the answer read next may answer a request
the hole took, so it is paired with none (login_fields' request None), never with an older one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import asn1, streambuf
from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_MESSAGES = 16  # observations per flow: a logon is a handful of exchanges
MAX_RECORD = 64 * 1024  # bytes of one TCP record; Windows tickets with large PACs stay well below
MAX_NAMES = 8  # components kept of a PrincipalName
MAX_ETYPES = 16  # encryption types kept of a request
MAX_TEXT = 255  # characters kept of a realm or name component

# [APPLICATION n] constructed identifier octets (X.690 §8.1.2): 0x60 | n
KINDS = {0x6A: "as_req", 0x6B: "as_rep", 0x6C: "tgs_req", 0x6D: "tgs_rep", 0x7E: "error"}
REQUESTS, ANSWERS = (0x6A, 0x6C), (0x6B, 0x6D, 0x7E)  # what each direction carries, for a record found past a gap
RESYNC_STATE_KEY = "resync_"  # + direction: past a gap, looking for the next record (module doc)
TICKET = 0x61  # Ticket ::= [APPLICATION 1]
# §7.5.9 error codes most often seen on a network; others are reported by number only
ERROR_NAMES = {6: "KDC_ERR_C_PRINCIPAL_UNKNOWN", 7: "KDC_ERR_S_PRINCIPAL_UNKNOWN", 18: "KDC_ERR_CLIENT_REVOKED",
               23: "KDC_ERR_KEY_EXPIRED", 24: "KDC_ERR_PREAUTH_FAILED", 25: "KDC_ERR_PREAUTH_REQUIRED",
               31: "KRB_AP_ERR_BAD_INTEGRITY", 32: "KRB_AP_ERR_TKT_EXPIRED", 37: "KRB_AP_ERR_SKEW",
               41: "KRB_AP_ERR_MODIFIED", 52: "KRB_ERR_RESPONSE_TOO_BIG", 68: "KDC_ERR_WRONG_REALM"}
# encryption type names (RFC 3961 §8, RFC 3962, RFC 4757) as Zeek's KRB::cipher_name writes them
ETYPE_NAMES = {1: "des-cbc-crc", 3: "des-cbc-md5", 16: "des3-cbc-sha1-kd", 17: "aes128-cts-hmac-sha1-96",
               18: "aes256-cts-hmac-sha1-96", 23: "rc4-hmac", 24: "rc4-hmac-exp"}
RC4_ETYPES = frozenset({23, 24, -135})  # RC4-HMAC, its export variant and the old export one (RFC 4757, [MS-KILE])
# padata types that prove the client knows its key: PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2), PA-PK-AS-REQ (RFC 4556
# §3.2.1), PA-FX-FAST (RFC 6113 §5.4.2: the pre-authentication is inside the armour), PA-ENCRYPTED-CHALLENGE (§5.4.6)
PREAUTH_PADATA = frozenset({2, 16, 136, 138})
KDC_ERR_PREAUTH_FAILED = 24
KDC_ERR_CLIENT_REVOKED = 18  # §7.5.9 "Clients credentials have been revoked": a locked-out or disabled account


def computer_name(cname: str | None) -> str | None:
    """The computer a computer account's principal name ("WS01$") names, without its "$"; None for a user's or
    a service's name (module docstring)."""
    if cname is None or "/" in cname or len(cname) < 2 or not cname.endswith("$"):
        return None
    return cname[:-1]


def login_fields(kind: str, fields: dict[str, Any], request: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``login_attempt`` fields of a KDC's answer (``kind``, ``fields``) to an AS request (its fields, None when
    not seen: a Zeek line's error 24 still answers a pre-authenticated request by definition, its 18 need not: the
    attempt says ``preauth_proved`` False); None when the answer says nothing of a logon (module docstring). Shared
    with sources/zeek_windows.py."""
    proved = request is not None and request.get("preauth") is True
    bare = request is not None and not proved
    if kind == "error" and fields.get("error_code") == KDC_ERR_PREAUTH_FAILED:
        result: dict[str, Any] = {"result": "failure", "code": KDC_ERR_PREAUTH_FAILED}
    elif kind == "error" and fields.get("error_code") == KDC_ERR_CLIENT_REVOKED and not bare:
        result = {"result": "revoked", "code": KDC_ERR_CLIENT_REVOKED, "preauth_proved": proved}
    elif kind == "as_rep" and proved:
        result = {"result": "success"}
    else:
        return None
    request = request or {}
    username = request.get("cname") or fields.get("cname")
    if not username:
        return None
    return {"username": username, "realm": request.get("realm") or fields.get("realm"), **result}


def _ctx(tag: int) -> int:
    return 0xA0 | tag  # [n] context-specific, constructed (explicit tagging, §5 module DEFINITIONS)


def _fields(value: bytes) -> dict[int, bytes]:
    """The explicitly tagged components of a SEQUENCE body: context tag number -> inner TLV bytes."""
    out: dict[int, bytes] = {}
    for tlv in asn1.children(value):
        if tlv.tag & 0xE0 == 0xA0:
            out[tlv.tag & 0x1F] = tlv.value
    return out


def _int(raw: bytes | None) -> int | None:
    return None if raw is None else asn1.integer(asn1.expect(raw, 0, asn1.INTEGER, "Int32").value)


def _string(raw: bytes | None) -> str | None:
    """KerberosString / Realm: GeneralString (0x1B) restricted to IA5 (§5.2.1)."""
    if raw is None:
        return None
    tlv = asn1.read_tlv(raw)
    if tlv.tag != 0x1B:
        raise ParseError(f"kerberos: string tag 0x{tlv.tag:02x}, expected GeneralString")
    return streambuf.text(tlv.value, MAX_TEXT)


def _principal(raw: bytes | None) -> str | None:
    """PrincipalName (§5.2.2): name-string components joined by '/' (krbtgt/REALM, host$)."""
    if raw is None:
        return None
    parts = _fields(asn1.expect(raw, 0, asn1.SEQUENCE, "PrincipalName").value)
    if 1 not in parts:
        raise ParseError("kerberos: PrincipalName without name-string")
    names = asn1.children(asn1.expect(parts[1], 0, asn1.SEQUENCE, "name-string").value)
    if any(n.tag != 0x1B for n in names):
        raise ParseError("kerberos: name-string component is not a GeneralString")
    return "/".join(streambuf.text(n.value, MAX_TEXT) for n in names[:MAX_NAMES])


def parse_message(data: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one Kerberos message; ParseError when it is not one."""
    outer = asn1.read_tlv(data)
    kind = KINDS.get(outer.tag)
    if kind is None:
        raise ParseError(f"kerberos: not a KDC message (identifier 0x{outer.tag:02x})")
    body = _fields(asn1.expect(outer.value, 0, asn1.SEQUENCE, "message").value)
    if kind.endswith("_req"):
        return kind, _request(body)
    if kind == "error":
        return kind, _error(body)
    return kind, _reply(body)


def _request(body: dict[int, bytes]) -> dict[str, Any]:
    """KDC-REQ (§5.4.1): pvno [1], msg-type [2], padata [3], req-body [4]."""
    if _int(body.get(1)) != 5 or 4 not in body:
        raise ParseError("kerberos: KDC-REQ without pvno 5 or req-body")
    req = _fields(asn1.expect(body[4], 0, asn1.SEQUENCE, "KDC-REQ-BODY").value)
    fields: dict[str, Any] = {"msg_type": _int(body.get(2)), "realm": _string(req.get(2)),
                              "cname": _principal(req.get(1)), "sname": _principal(req.get(3))}
    computer = computer_name(fields["cname"])
    if computer is not None:
        fields["computer"] = computer
    if 8 in req:
        etypes = asn1.children(asn1.expect(req[8], 0, asn1.SEQUENCE, "etype").value)
        fields["etypes"] = [asn1.integer(t.value) for t in etypes[:MAX_ETYPES] if t.tag == asn1.INTEGER]
    if 3 in body:
        pas = asn1.children(asn1.expect(body[3], 0, asn1.SEQUENCE, "padata").value)
        fields["padata_types"] = [_int(_fields(p.value).get(1)) for p in pas[:MAX_ETYPES] if p.tag == asn1.SEQUENCE]
    if fields["msg_type"] == 10:
        fields["preauth"] = not PREAUTH_PADATA.isdisjoint(fields.get("padata_types", ()))
    return fields


def _etype(raw: bytes | None) -> int | None:
    """The etype [0] of an EncryptedData (§5.2.9); the cipher [2] is not read."""
    if raw is None:
        return None
    return _int(_fields(asn1.expect(raw, 0, asn1.SEQUENCE, "EncryptedData").value).get(0))


def _reply(body: dict[int, bytes]) -> dict[str, Any]:
    """KDC-REP (§5.4.2): pvno [0], msg-type [1], padata [2], crealm [3], cname [4], ticket [5] (Ticket, §5.3:
    tkt-vno [0], realm [1], sname [2], enc-part [3]), enc-part [6]."""
    if _int(body.get(0)) != 5 or 5 not in body:
        raise ParseError("kerberos: KDC-REP without pvno 5 or ticket")
    ticket = _fields(asn1.expect(asn1.expect(body[5], 0, TICKET, "Ticket").value, 0, asn1.SEQUENCE,
                                 "Ticket").value)
    return {"msg_type": _int(body.get(1)), "realm": _string(ticket.get(1)), "crealm": _string(body.get(3)),
            "cname": _principal(body.get(4)), "sname": _principal(ticket.get(2)), "ticket_etype": _etype(ticket.get(3)),
            "enc_etype": _etype(body.get(6))}


def _error(body: dict[int, bytes]) -> dict[str, Any]:
    """KRB-ERROR (§5.9.1): pvno [0], msg-type [1], error-code [6], crealm [7], cname [8], realm [9], sname [10]."""
    if _int(body.get(0)) != 5 or 6 not in body:
        raise ParseError("kerberos: KRB-ERROR without pvno 5 or error-code")
    code = _int(body[6])
    return {"msg_type": _int(body.get(1)), "error_code": code, "error_name": ERROR_NAMES.get(code or 0, ""),
            "realm": _string(body.get(9)), "cname": _principal(body.get(8)), "sname": _principal(body.get(10))}


def _asked(request: dict[str, Any] | None, answer: dict[str, Any]) -> dict[str, Any] | None:
    """The remembered AS-REQ ``request`` when the ``answer`` may answer it: not when the answer names another
    client (KDC-REP and KRB-ERROR carry the cname, §5.4.2, §5.9.1; compared without case and without an
    enterprise name's @suffix, as the KDC may canonicalise it, RFC 6806 §5). The request it answers may have
    been lost while the one remembered is older (a hole in the client's direction is reported once later bytes
    of it arrive, after this answer)."""
    if request is None:
        return None
    asked, named = request.get("cname"), answer.get("cname")
    if asked and named and str(asked).lower().partition("@")[0] != str(named).lower().partition("@")[0]:
        return None
    return request


def record(buf: bytes | bytearray, start: int, kinds: tuple[int, ...]) -> bool | None:
    """Whether the TCP record at ``start`` of ``buf`` may be taken for one past a gap (module doc): None while it
    is not whole yet (its length and tag plausible so far)."""
    if start + 5 > len(buf):
        return None
    length = int.from_bytes(buf[start : start + 4], "big")
    if length & 0x80000000 or not 2 <= length <= MAX_RECORD or buf[start + 4] not in kinds:
        return False
    if start + 4 + length > len(buf):
        return None
    message = bytes(buf[start + 4 : start + 4 + length])
    try:
        if asn1.read_tlv(message).end != length:
            return False
        parse_message(message)
    except ParseError:
        return False
    return True


class KerberosDissector(StreamDissector):
    name: ClassVar[str] = "kerberos"
    udp_ports: ClassVar[tuple[int, ...]] = (88,)
    tcp_ports: ClassVar[tuple[int, ...]] = (88,)
    max_buffer: ClassVar[int] = MAX_RECORD + 4

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A TCP record whose length prefix matches and whose body is an AS-REQ or TGS-REQ."""
        if not to_server or len(payload) < 6:
            return False
        return int.from_bytes(payload[:4], "big") == len(payload) - 4 and payload[4] in (0x6A, 0x6C)

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """Bytes of a direction were lost: drop its partial record and look for the next one (module doc)."""
        state.pop(streambuf.direction_key(to_server), None)
        state[RESYNC_STATE_KEY + streambuf.direction_key(to_server)] = True
        if to_server:
            state.pop("as_req", None)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto != 6:  # one message per datagram (§7.2.1)
            return self._emit(pkt, state, data)
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        key = RESYNC_STATE_KEY + streambuf.direction_key(pkt.to_server)
        if state.get(key):
            kinds = REQUESTS if pkt.to_server else ANSWERS
            # a record may begin where the buffer or this delivery does (a segment start)
            if not streambuf.resync(buf, (0, len(buf) - len(data)), lambda at: record(buf, at, kinds)):
                return []
            state[key] = False
        out: list[Observation] = []
        error: ParseError | None = None  # a malformed record: the ones after it are still read
        while len(buf) >= 4 and not state.get("done"):
            length = int.from_bytes(buf[:4], "big")
            if length & 0x80000000 or length > MAX_RECORD:  # high bit reserved for extensions (§7.2.2)
                state["done"] = True
                raise streambuf.failed(ParseError(f"kerberos: TCP record length 0x{length:08x} not supported"), out)
            if len(buf) < 4 + length:
                break
            message = bytes(buf[4 : 4 + length])
            del buf[: 4 + length]
            try:
                out += self._emit(pkt, state, message)
            except ParseError as exc:
                error = error or exc
        if error is not None:
            raise streambuf.failed(error, out)
        return out

    def _emit(self, pkt: Packet, state: dict[str, Any], message: bytes) -> list[Observation]:
        kind, fields = parse_message(message)
        count = state.get("messages", 0) + 1
        state["messages"] = count
        if count >= MAX_MESSAGES:
            state["done"] = True
        out = [pkt.observation(self.name, kind, fields)]
        if kind == "as_req":
            state["as_req"] = {k: fields.get(k) for k in ("cname", "realm", "preauth")}
        elif kind in ("error", "as_rep"):
            login = login_fields(kind, fields, _asked(state.get("as_req"), fields))
            if login is not None:
                out.append(streambuf.oriented(pkt, from_client=True).observation(self.name, "login_attempt", login,
                                                                                 subject="dst"))
        return out
