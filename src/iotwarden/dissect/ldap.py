"""LDAP dissector (RFC 4511) on tcp/389 and tcp/3268 (the global catalog), and CLDAP on udp/389 ([MS-ADTS] §6.3.3).

Kinds (subject ``src``, the sender, unless said), each with ``message_id``; message fields from
:mod:`iotwarden.dissect.ldapmsg`:

* ``bind_request`` (§4.2, the client): ``version``, ``name`` (the bind DN), ``auth`` (simple, sasl, sicily),
  ``bind_kind`` (simple, anonymous, unauthenticated: RFC 4513 §5.1; sasl; Microsoft's sicily_*), for a simple
  bind ``password_present`` and ``password_length`` (never the password), for SASL ``mechanism``.
* ``bind_response`` (§4.2.2, the server): ``result_code``, ``result`` (RFC 4511 A.1 name: 0 success, 49
  invalidCredentials...), ``diagnostic``, and the request's ``bind_kind``, ``name`` and ``mechanism`` when seen.
  Active Directory's invalidCredentials names its reason in the diagnostic ("80090308: LdapErr: DSID-0C09044E,
  comment: AcceptSecurityContext error, data 52e, v4563": the Win32 error in hex, [MS-ERREF] §2.2; Microsoft,
  "Troubleshoot LDAP bind errors"): :func:`ad_refusal` adds ``ad_error`` ("52e"), ``ad_reason`` (:data:`AD_ERRORS`)
  and, where the code tells, ``password_valid``: False for 52e (wrong password), True for 530, 531, 532, 701, 773
  (logon hours, workstation, password expired, account expired, must change password: AD checks these only after
  the password proved right). Nothing is claimed from a diagnostic the capture cut (``bind_response_cut`` has none).
* ``bind_response_cut`` (the server; made when the server's direction loses bytes, a snap length's cut or a hole
  in the capture, while binds await their answer): one per such bind, ``message_id``, the request's ``bind_kind``,
  ``name``, ``mechanism``, and ``result_code``/``result`` when the captured head of the answer holds them
  (:func:`iotwarden.dissect.ldapmsg.bind_response_head`; the diagnostic text is never read from a cut answer):
  what was seen of an answer the dissector will never read whole, stamped with its request's time.
* ``login_attempt`` (a bind answered success, or invalidCredentials/inappropriateAuthentication, RFC 4511 A.1):
  ``username`` (the DN), ``bind_kind``, ``mechanism``, ``result`` (success/failure, or ``refused`` for a password AD
  said was right and refused the logon for another reason: no failed guess), ``code``, and the answer's
  ``ad_error``, ``ad_reason``, ``password_valid``; src is the client and the subject ``dst`` (the server), as FTP's
  and Telnet's logins are reported.
* ``search_request`` (§4.5.1): ``base``, ``scope``, ``filter`` (RFC 4515 text, bounded), ``attributes``; a
  CLDAP netlogon ping (an equality filter on DnsDomain/Host/NtVer asking for the Netlogon attribute,
  [MS-ADTS] §6.3.3.2) adds ``netlogon``, ``dns_domain``, ``host``, ``user``, ``nt_version``.
* ``search_result_entry`` (§4.5.2): ``object_name``, ``attributes`` (at most :data:`MAX_ENTRIES` per flow);
  ``search_result_done`` and the other responses: the LDAPResult fields.
* ``netlogon_response`` (a DC's CLDAP answer, :mod:`iotwarden.dissect.netlogon`): ``opcode``, ``flags``
  (DS_DS_FLAG, DS_KDC_FLAG, DS_GC_FLAG...), ``dns_forest_name``, ``dns_domain_name``, ``dns_host_name``,
  ``netbios_domain_name``, ``netbios_computer_name``, ``dc_site_name``, ``client_site_name``, ``domain_guid``.
* ``extended_request`` (§4.12): ``oid``, ``operation`` (StartTLS, whoami...), ``start_tls``;
  ``extended_response``: the LDAPResult and ``start_tls`` when it answers StartTLS.
* ``unbind_request``; ``modify_request``, ``add_request``, ``del_request``, ``moddn_request``,
  ``compare_request`` with ``operation`` and ``object`` (the entry's DN).

Over TCP messages are BER SEQUENCEs back to back (§5.1): one may span segments, several may share one. After
a successful StartTLS (§4.14.2) both directions are TLS, handed to
:class:`~iotwarden.dissect.tls.TlsDissector` (as dissect/rdp.py does after X.224). After a successful SASL bind
(or Sicily NTLM bind, which Windows seals the same way, [MS-ADTS] §5.1.1.1.3) the stream may be wrapped by a security
layer (RFC 4422 §3.7): bytes that are no LDAPMessage then end the flow quietly. A lost segment (the engine's
``gap``: a SPAN port's drop, a snap length's cut) in the server's direction first reports the answers it cost
(``bind_response_cut``, also a ``login_attempt`` when the head shows a result that says whether the credentials
held): a client sends nothing between a bind and its answer (§4.2.1), so a hole while a bind awaits its answer is
taken to hold it. Then the direction drops its partial message and reads on from the next message found where a
segment begins (the bytes after the hole, or a later segment), validated harder than one in sync
(:func:`plausible`): a SEQUENCE of definite length within MAX_MESSAGE holding a messageID and a protocolOp that
its direction sends (requests from the client, responses from the server), nothing after them but controls
([0], §4.1.11), the whole message parsed, and it ends where the bytes end or another message head follows.
Under a SASL security layer a hole still ends the flow; under TLS it is the TLS dissector's (its direction reads on
from the next record :func:`~iotwarden.dissect.tls.plausible` finds), so a hole in the client's hello no longer costs
the server's certificate.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar

from iotwarden.dissect import asn1, ldapmsg, netlogon, streambuf
from iotwarden.dissect.base import Packet, StreamDissector, confirm
from iotwarden.dissect.tls import TlsDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

MAX_MESSAGE = 256 * 1024  # bytes of one LDAPMessage read; a larger one (a big entry) is skipped unread
MAX_OBSERVATIONS = 96  # per flow: a service account's bind and lookups, or a guessing tool's many binds
MAX_ENTRIES = 8  # search_result_entry observations per flow (a directory dump is not described entry by entry)
MAX_PENDING = 16  # binds and StartTLS requests awaiting their answer, per flow
LOGIN_FAILURES = frozenset({48, 49})  # inappropriateAuthentication, invalidCredentials (RFC 4511 A.1)
LOGIN_KINDS = frozenset({"simple", "sasl", "sicily_response"})  # binds that present credentials (RFC 4513 §5)
WRAPPING_BINDS = frozenset({"sasl", "sicily_response"})  # binds after which a security layer may wrap the stream
NETLOGON_ASSERTIONS = ("dnsdomain", "host", "user", "ntver")  # [MS-ADTS] §6.3.3.2 filter attributes
INVALID_CREDENTIALS = 49  # RFC 4511 A.1
# Active Directory's bind diagnostic "... AcceptSecurityContext error, data 52e, v4563": the Win32 error in hex
AD_DATA = re.compile(r"\bdata ([0-9a-f]{3,8})\b", re.IGNORECASE)
AD_ERRORS = {  # [MS-ERREF] §2.2 Win32 errors AD gives in an invalidCredentials diagnostic
    0x52E: "wrong_password", 0x525: "no_such_user", 0x530: "logon_hours", 0x531: "workstation",
    0x532: "password_expired", 0x533: "account_disabled", 0x701: "account_expired", 0x773: "must_change_password",
    0x775: "locked_out"}
AD_PASSWORD_RIGHT = frozenset({0x530, 0x531, 0x532, 0x701, 0x773})  # refused after a valid password
AD_PASSWORD_WRONG = frozenset({0x52E})  # ERROR_LOGON_FAILURE: the user exists, the password is wrong


def ad_refusal(response: dict[str, Any]) -> dict[str, Any]:
    """``ad_error``, ``ad_reason`` and, where the code tells, ``password_valid`` of an invalidCredentials answer whose
    diagnostic carries Active Directory's Win32 error (module docstring); empty for any other answer. Shared with
    sources/zeek_ldap.py."""
    diagnostic = response.get("diagnostic")
    if response.get("result_code") != INVALID_CREDENTIALS or not isinstance(diagnostic, str):
        return {}
    found = AD_DATA.search(diagnostic)
    if found is None:
        return {}
    code = int(found.group(1), 16)
    out: dict[str, Any] = {"ad_error": found.group(1).lower(), "ad_reason": AD_ERRORS.get(code, "other")}
    if code in AD_PASSWORD_RIGHT or code in AD_PASSWORD_WRONG:
        out["password_valid"] = code in AD_PASSWORD_RIGHT
    return out


def _netlogon_ping(fields: dict[str, Any], assertions: dict[str, bytes]) -> None:
    """Mark a search that is a CLDAP ping: its attributes ask for Netlogon and its filter names NtVer."""
    if not any(a.lower() == "netlogon" for a in fields.get("attributes", [])) or "ntver" not in assertions:
        return
    fields["netlogon"] = True
    for key in ("dnsdomain", "host", "user"):
        if key in assertions:
            fields["dns_domain" if key == "dnsdomain" else key] = streambuf.text(assertions[key], ldapmsg.MAX_TEXT)
    if len(assertions["ntver"]) == 4:
        fields["nt_version"] = int.from_bytes(assertions["ntver"], "little")


# protocolOps each direction sends (RFC 4511 §4.2-§4.14): what a message found past a gap must carry
SERVER_OPS = frozenset({0x61, 0x64, 0x65, 0x73, 0x67, 0x69, 0x6B, 0x6D, 0x6F, 0x78, 0x79})
CLIENT_OPS = frozenset(ldapmsg.OPS) - SERVER_OPS
CONTROLS = 0xA0  # [0] Controls after the protocolOp (§4.1.11)
RESYNC_STATE_KEY = "resync_"  # + direction: past a gap, looking for the next message (module docstring)


def plausible(buf: bytes | bytearray, start: int, to_server: bool) -> bool | None:
    """Whether the LDAPMessage at ``start`` of ``buf`` may be taken for one past a gap (module docstring); None
    while it is not whole yet (its head plausible so far)."""
    if start + 2 > len(buf):
        return None
    try:
        length = ldapmsg.message_length(buf[start : start + 6])
    except ParseError:
        return False
    if length is None:
        return None
    if length > MAX_MESSAGE:
        return False
    if start + length > len(buf):
        return None
    if not _next_head(buf, start + length):
        return False
    message = bytes(buf[start : start + length])
    try:
        outer = asn1.read_tlv(message)
        parts = asn1.children(outer.value)
        if (outer.end != length or len(parts) not in (2, 3) or parts[1].tag not in (CLIENT_OPS if to_server
                                                                                  else SERVER_OPS)
                or (len(parts) == 3 and parts[2].tag != CONTROLS)):
            return False
        ldapmsg.parse_message(message)
    except ParseError:
        return False
    return True


def _next_head(buf: bytes | bytearray, pos: int) -> bool:
    """Whether what follows a message found past a gap at ``pos`` may begin another: nothing yet, or a SEQUENCE of
    definite length (§5.1) whose first component is the messageID's INTEGER. A message inside another (an
    attribute value holding one) is followed by the rest of its container instead."""
    if pos + 2 > len(buf):
        return True
    first = buf[pos + 1]
    if buf[pos] != asn1.SEQUENCE or first == 0x80 or first > 0x84:
        return False
    head = pos + 2 + (first & 0x7F if first & 0x80 else 0)
    return head >= len(buf) or buf[head] == asn1.INTEGER


def login_fields(response: dict[str, Any]) -> dict[str, Any] | None:
    """The ``login_attempt`` fields of a ``bind_response`` joined with its request (``bind_kind``, ``name``,
    ``mechanism``); None when the bind presented no credentials or its result says nothing of them. Shared with
    sources/zeek_ldap.py."""
    code = response.get("result_code")
    if code is None or (code != 0 and code not in LOGIN_FAILURES) or response.get("bind_kind") not in LOGIN_KINDS:
        return None
    ad: dict[str, Any] = {k: response[k] for k in ("ad_error", "ad_reason", "password_valid") if k in response}
    result = "success" if code == 0 else "refused" if ad.get("password_valid") is True else "failure"
    return {"username": response.get("name") or "", "bind_kind": response.get("bind_kind"),
            "mechanism": response.get("mechanism"), "result": result, "code": code, **ad}


class LdapDissector(StreamDissector):
    name: ClassVar[str] = "ldap"
    tcp_ports: ClassVar[tuple[int, ...]] = (389, 3268)  # IANA ldap, msft-gc
    udp_ports: ClassVar[tuple[int, ...]] = (389,)
    max_buffer: ClassVar[int] = MAX_MESSAGE

    def __init__(self) -> None:
        self.tls = TlsDissector()

    def gap(self, state: dict[str, Any], to_server: bool) -> list[Observation] | None:
        """A hole in the server's direction costs the answers of the binds still pending: each is reported as
        ``bind_response_cut`` with what the captured head of the answer shows; then the direction looks for its
        next message, under TLS the TLS dissector's next record, or, under a SASL security layer, the flow ends
        (module docstring)."""
        key = streambuf.direction_key(to_server)
        if state.get("phase") == "tls":
            self.tls.gap(state["tls"], to_server)
        elif state.get("sasl_bound"):
            state["done"] = True
        else:
            state[RESYNC_STATE_KEY + key] = True
            state.pop("skip_" + key, None)
        pending: dict[int, dict[str, Any]] = state.get("pending") or {}
        packet = state.get("bind_packet")
        head_bytes = bytes(state.pop(key, None) or b"")
        if to_server or state.get("phase") == "tls" or not isinstance(packet, Packet):
            return None
        head = ldapmsg.bind_response_head(head_bytes)
        server = streambuf.oriented(packet, from_client=False)
        out: list[Observation] = []
        for message_id, asked in pending.items():
            if "bind_kind" not in asked:  # a StartTLS request
                continue
            fields: dict[str, Any] = {"message_id": message_id, **{k: v for k, v in asked.items() if v is not None}}
            if head is not None and head[0] == message_id and head[1] is not None:
                fields.update(result_code=head[1], result=ldapmsg.RESULT_NAMES.get(head[1], str(head[1])))
            out.append(server.observation(self.name, "bind_response_cut", fields))
            if "result_code" in fields:
                out += self._login(server, fields)
        pending.clear()
        return self._counted(state, out)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if state.get("phase") == "tls":
            return self._tls(pkt, data, state)
        if pkt.ip_proto != 6:  # CLDAP: whole messages in one datagram (RFC 1798 §3)
            return self._datagram(pkt, data, state)
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        key = streambuf.direction_key(pkt.to_server)
        out: list[Observation] = []
        error: ParseError | None = None
        if state.get(RESYNC_STATE_KEY + key):
            to_server = pkt.to_server  # a message may begin where the buffer or this delivery does (a segment start)
            if not streambuf.resync(buf, (0, len(buf) - len(data)), lambda at: plausible(buf, at, to_server)):
                return out
            state[RESYNC_STATE_KEY + key] = False
        while buf and not state.get("done"):
            skip = state.get("skip_" + key, 0)
            if skip:
                n = min(skip, len(buf))
                del buf[:n]
                state["skip_" + key] = skip - n
                continue
            try:
                length = ldapmsg.message_length(buf)
            except ParseError as exc:
                state["done"] = True
                if state.get("sasl_bound"):  # a SASL security layer wraps what follows (RFC 4422 §3.7)
                    return out
                raise streambuf.failed(exc, out) from None
            if length is None:
                break
            if length > MAX_MESSAGE:
                state["skip_" + key] = length
                continue
            if len(buf) < length:
                break
            message = bytes(buf[:length])
            del buf[:length]
            try:
                self._message(pkt, message, state, out)
            except ParseError as exc:
                error = error or exc
            if state.get("phase") == "tls":  # what follows is TLS, in this delivery too
                rest = bytes(buf)
                buf.clear()
                return out + (self._tls(pkt, rest, state) if rest else [])
        if error is not None:
            raise streambuf.failed(error, out)
        streambuf.bound(state, buf, self.max_buffer)
        return out

    def _datagram(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        out: list[Observation] = []
        pos = 0
        while pos < len(data) and not state.get("done"):
            length = ldapmsg.message_length(data[pos:])
            if length is None or pos + length > len(data):
                raise streambuf.failed(ParseError("ldap: datagram ends inside a message"), out)
            self._message(pkt, data[pos : pos + length], state, out)
            pos += length
        return out

    def _message(self, pkt: Packet, message: bytes, state: dict[str, Any], out: list[Observation]) -> None:
        message_id, op, fields = ldapmsg.parse_message(message)
        confirm(state)
        fields = {"message_id": message_id, **fields}
        pending: dict[int, dict[str, Any]] = state.setdefault("pending", {})
        extra: list[Observation] = []
        if op == "bind_request":
            if len(pending) < MAX_PENDING:
                pending[message_id] = {k: fields.get(k) for k in ("name", "bind_kind", "mechanism")}
                # what a gap reports the answers from (the hook gets no packet); its addresses only, no payload held
                state["bind_packet"] = dataclasses.replace(pkt, payload=b"")
        elif op == "bind_response":
            fields.update(ad_refusal(fields))
            asked = pending.pop(message_id, None)
            if asked is not None:
                fields.update({k: v for k, v in asked.items() if v is not None})
                extra = self._login(pkt, fields)
            code = fields["result_code"]
            if code == 0 and fields.get("bind_kind") in WRAPPING_BINDS:
                state["sasl_bound"] = True
        elif op == "extended_request" and fields["start_tls"] and len(pending) < MAX_PENDING:
            pending[message_id] = {"start_tls": True}
        elif op == "extended_response":
            asked = pending.pop(message_id, None)
            fields["start_tls"] = bool(asked and asked.get("start_tls")) or fields.get("oid") == ldapmsg.START_TLS
            if fields["start_tls"] and fields["result_code"] == 0 and pkt.ip_proto == 6:
                state["phase"] = "tls"  # §4.14.2: TLS negotiation begins right after this response
                state["tls"] = {}
        elif op == "search_request":
            assertions: dict[str, bytes] = fields.pop("assertions")
            _netlogon_ping(fields, assertions)
        elif op == "search_result_entry":
            values: dict[str, bytes] = fields.pop("values")
            if "netlogon" in values:
                extra = [pkt.observation(self.name, "netlogon_response", netlogon.parse_response(values["netlogon"]))]
            state["entries"] = entries = state.get("entries", 0) + 1
            if entries > MAX_ENTRIES:
                out.extend(self._counted(state, extra))
                return
        made = [pkt.observation(self.name, op, fields), *extra]
        out.extend(self._counted(state, made))

    def _counted(self, state: dict[str, Any], made: list[Observation]) -> list[Observation]:
        """``made`` within the flow's :data:`MAX_OBSERVATIONS`; the flow is done once they are reached."""
        left = MAX_OBSERVATIONS - state.get("observations", 0)
        kept = made[: max(left, 0)]
        state["observations"] = state.get("observations", 0) + len(kept)
        if state["observations"] >= MAX_OBSERVATIONS:
            state["done"] = True
        return kept

    def _login(self, pkt: Packet, response: dict[str, Any]) -> list[Observation]:
        """A ``login_attempt`` for an answered bind whose result says whether the credentials held."""
        fields = login_fields(response)
        if fields is None:
            return []
        client = streambuf.oriented(pkt, from_client=True)
        return [client.observation(self.name, "login_attempt", fields, subject="dst")]

    def _tls(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        """The TLS that follows a successful StartTLS (RFC 4511 §4.14.2, RFC 4513 §3)."""
        sub: dict[str, Any] = state["tls"]
        try:
            return self.tls.feed(pkt, data, sub)
        finally:
            if sub.get("done"):
                state["done"] = True
