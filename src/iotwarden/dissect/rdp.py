"""RDP dissector: the cleartext opening of a Remote Desktop connection ([MS-RDPBCGR] §1.3.1.1) on tcp/3389.

Kinds and fields (subject ``src``: the client for its request and core data, the server for the rest):

* ``connection_request`` (X.224 Connection Request, §2.2.1.1): ``username`` (the ``Cookie: mstshash=``
  value, a user name hint mstsc takes from the login name, cut to 9 characters by old clients),
  ``routing_token`` (True when a load balancer's ``Cookie: msts=`` token stands in its place), ``negotiation``
  (an RDP_NEG_REQ, §2.2.1.1.1, was sent), ``requested_protocols`` (names, ``RDP`` alone for none),
  ``requested_protocols_mask``, ``restricted_admin`` (RESTRICTED_ADMIN_MODE_REQUIRED).
* ``connection_confirm`` (X.224 Connection Confirm, §2.2.1.2, with RDP_NEG_RSP §2.2.1.2.1 or none: a
  pre-5.2 server, standard RDP security): ``selected_protocol``, ``selected_protocol_mask``,
  ``negotiated``, ``requested_protocols`` (the client's, repeated), ``nla`` (CredSSP selected: HYBRID or
  HYBRID_EX, §5.4.5), ``nla_required`` (False when the server took a connection without it),
  ``server_flags`` (names of §2.2.1.2.1 flags).
* ``negotiation_failure`` (RDP_NEG_FAILURE, §2.2.1.2.2): ``failure_code``, ``failure`` (its name),
  ``requested_protocols``; ``nla_required`` True for HYBRID_REQUIRED_BY_SERVER.
* ``client_core`` (standard RDP security only, §2.2.1.3.2, :mod:`iotwarden.dissect.rdpmcs`): ``client_name``
  (the client's computer name), ``client_build``, ``keyboard_layout`` (LCID), ``desktop_width``,
  ``desktop_height``, ``rdp_version``.
* ``server_security`` (standard RDP security only, §2.2.1.4.3): ``encryption_method``, ``encryption_level``,
  ``cert_type`` (``proprietary``/``x509``), ``cert_permanent``.
* ``server_certificate``: ``computer_name`` (the CN of the leaf certificate the server presented in the TLS
  handshake that follows the confirm, §5.4.5.1; unless an administrator installs another, Windows presents a
  self-signed one named after the computer), ``subject``, ``sha256``.
* ``encrypted_turns`` (after a HYBRID or HYBRID_EX selection: CredSSP inside TLS, [MS-CSSP] §3.1.5; subject ``src``,
  the side that took the turn): ``turns``, how often the direction of TLS application-data records
  (RFC 8446 §5.1 / RFC 5246 §6.2.1 content type 23) changed since the client's first one, counting that one: 2 when
  the server answered the client's first encrypted message (CredSSP's NEGOTIATE, answered by the CHALLENGE), 3 when
  the client then spoke again (the AUTHENTICATE, carrying the password's response). Only record headers are read
  (the walker skips their bodies); the server's encrypted TLS 1.3 handshake records come before the client's first
  one and are not counted (:mod:`~iotwarden.dissect.rdpturns`, also past a lost segment).

Once the server selects TLS (SSL, HYBRID, RDSTLS, HYBRID_EX, RDSAAD) both directions continue as TLS
(§1.3.1.1 "Security Commencement"), handed to :class:`~iotwarden.dissect.tls.TlsDissector`, whose
``tls`` Observations the connection carries as any TLS connection's. Dissection ends with the TLS
dissector (after an NLA selection, once the third encrypted turn is seen, or at :data:`MAX_STREAM_BYTES`), after a
negotiation failure, or once the MCS connect exchange of standard security is read.

A lost segment (``gap``, issues #3/#4) before the confirm is read ends the flow (the request, or the protocol the
server selected, was in it). After it, it costs its direction what it was in: under TLS the TLS dissector's own
``gap`` (its direction reads on from the next record :func:`~iotwarden.dissect.tls.plausible` finds) and the walk
of the encrypted turns (:mod:`~iotwarden.dissect.rdpturns`: on from the next record header, a turn the hole held
whole counted from the other side's acknowledgment); under standard security the direction reads on from the next
TPKT carrying an X.224 Data TPDU found where a segment begins (:func:`data_tpkt_at`), validated harder than in sync.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import rdpmcs, rdpturns, streambuf
from iotwarden.dissect.base import Packet, StreamDissector, confirm, safety_net
from iotwarden.dissect.cotp import CC, CR, DT, cr_has_tsaps
from iotwarden.dissect.tls import MAX_STREAM_BYTES as TLS_STREAM_BYTES
from iotwarden.dissect.tls import TlsDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 3389  # IANA ms-wbt-server
MAX_TPKT = 0xFFFF  # RFC 1006 §6: a 16-bit length
MAX_COOKIE = 128  # bytes of a cookie or routing token line read (§2.2.1.1: CR LF terminated)
MAX_NAME = 64  # characters of a user name hint kept
MAX_MCS_TPKTS = 8  # X.224 data TPKTs of standard security read before giving up on the connect exchange
# stream bytes read of a flow, both directions (StreamDissector.max_stream_bytes): TLS's budget (its hellos and
# chain) and 32 KiB more for the X.224 negotiation before it and CredSSP's three turns after it (NTLM messages of
# a few hundred bytes, [MS-NLMP] §2.2.1) or standard security's MCS connect exchange; the 48-packet cap it replaces
# read ~70 KB of full-size segments
MAX_STREAM_BYTES = TLS_STREAM_BYTES + 32 * 1024

COOKIE = b"Cookie: mstshash="  # §2.2.1.1 cookie; any other "Cookie: " line is a routingToken ("Cookie: msts=...")
NEG_REQ, NEG_RSP, NEG_FAILURE = 0x01, 0x02, 0x03  # §2.2.1.1.1, §2.2.1.2.1, §2.2.1.2.2 type
RESTRICTED_ADMIN_MODE_REQUIRED = 0x01  # §2.2.1.1.1 flags

# §2.2.1.1.1 requestedProtocols / §2.2.1.2.1 selectedProtocol; PROTOCOL_RDP is 0 (standard RDP security)
PROTOCOL_RDP = "RDP"
PROTOCOLS = ((0x1, "SSL"), (0x2, "HYBRID"), (0x4, "RDSTLS"), (0x8, "HYBRID_EX"), (0x10, "RDSAAD"))
NLA_PROTOCOLS = frozenset({"HYBRID", "HYBRID_EX"})  # CredSSP ([MS-CSSP]) before the connection goes on
# §2.2.1.2.1 RDP_NEG_RSP flags
SERVER_FLAGS = ((0x01, "EXTENDED_CLIENT_DATA_SUPPORTED"), (0x02, "DYNVC_GFX_PROTOCOL_SUPPORTED"),
                (0x08, "RESTRICTED_ADMIN_MODE_SUPPORTED"), (0x10, "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED"))
# §2.2.1.2.2 failureCode
FAILURES = {1: "SSL_REQUIRED_BY_SERVER", 2: "SSL_NOT_ALLOWED_BY_SERVER", 3: "SSL_CERT_NOT_ON_SERVER",
            4: "INCONSISTENT_FLAGS", 5: "HYBRID_REQUIRED_BY_SERVER", 6: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"}
HYBRID_REQUIRED = 5


def protocol_names(mask: int) -> list[str]:
    """The protocols a requestedProtocols mask names; ``RDP`` alone for 0."""
    return [name for bit, name in PROTOCOLS if mask & bit] or [PROTOCOL_RDP]


def selected_name(mask: int) -> str:
    """The protocol a selectedProtocol value names (one value, §2.2.1.2.1), ``RDP`` for 0."""
    return dict(PROTOCOLS).get(mask, PROTOCOL_RDP if mask == 0 else f"0x{mask:x}")


def _x224(tpkt: bytes, code: int) -> bytes | None:
    """The variable part of an X.224 TPDU of ``code`` after its fixed part (§2.2.1.1: LI, code, dst-ref,
    src-ref, class: 7 bytes), None for a TPDU of another code."""
    if len(tpkt) < 6 or tpkt[5] & 0xF0 != code:
        return None
    end = 5 + tpkt[4]
    if end > len(tpkt) or tpkt[4] < 6:
        raise ParseError("X.224 length indicator past the end of the TPKT")
    return tpkt[11:end]


def parse_request(var: bytes) -> dict[str, Any]:
    """Fields of an X.224 Connection Request's variable part (§2.2.1.1)."""
    fields: dict[str, Any] = {"negotiation": False, "requested_protocols": [PROTOCOL_RDP],
                              "requested_protocols_mask": 0}
    pos = 0
    if var.startswith(b"Cookie: "):
        end = var.find(b"\r\n", 0, MAX_COOKIE)
        if end < 0:
            raise ParseError("RDP cookie without CR LF")
        line = var[:end]
        if line.startswith(COOKIE):
            fields["username"] = streambuf.text(line[len(COOKIE) :], MAX_NAME) or None
        else:
            fields["routing_token"] = True
        pos = end + 2
    if pos + 8 <= len(var) and var[pos] == NEG_REQ:
        if int.from_bytes(var[pos + 2 : pos + 4], "little") != 8:
            raise ParseError("RDP_NEG_REQ length is not 8")
        mask = int.from_bytes(var[pos + 4 : pos + 8], "little")
        fields.update(negotiation=True, requested_protocols=protocol_names(mask), requested_protocols_mask=mask,
                      restricted_admin=bool(var[pos + 1] & RESTRICTED_ADMIN_MODE_REQUIRED))
    return fields


def parse_confirm(var: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of an X.224 Connection Confirm's variable part (§2.2.1.2)."""
    if len(var) < 8 or var[0] not in (NEG_RSP, NEG_FAILURE):
        # no RDP_NEG_RSP: a server before RDP 5.2 answering with standard RDP security (§1.3.1.1)
        return "connection_confirm", {"negotiated": False, "selected_protocol": PROTOCOL_RDP,
                                      "selected_protocol_mask": 0, "nla": False, "nla_required": False}
    if int.from_bytes(var[2:4], "little") != 8:
        raise ParseError("RDP negotiation response length is not 8")
    value = int.from_bytes(var[4:8], "little")
    if var[0] == NEG_FAILURE:
        fields: dict[str, Any] = {"failure_code": value, "failure": FAILURES.get(value, str(value))}
        if value == HYBRID_REQUIRED:
            fields["nla_required"] = True
        return "negotiation_failure", fields
    name = selected_name(value)
    fields = {"negotiated": True, "selected_protocol": name, "selected_protocol_mask": value,
              "nla": name in NLA_PROTOCOLS, "server_flags": [n for bit, n in SERVER_FLAGS if var[1] & bit]}
    if name not in NLA_PROTOCOLS:
        fields["nla_required"] = False  # it took a connection without CredSSP
    return "connection_confirm", fields


RESYNC_STATE_KEY = "resync_"  # + direction key: past a gap under standard security, looking for the next TPKT
# the head of a TPKT (RFC 1006 §6: version 3, reserved 0, two length bytes) carrying an X.224 class 0 Data TPDU (X.224
# §13.7: length indicator 2, code DT, EOT set and TPDU-NR 0): what a TPKT found past a gap under standard security
# begins with; None where the length goes
_DT_HEAD = (3, 0, None, None, 2, DT, 0x80)


def data_tpkt_at(buf: bytearray, at: int) -> bool | None:
    """Whether a TPKT found past a gap under standard security begins at ``at`` of ``buf`` (streambuf.resync's
    judge): True, a whole TPKT of :data:`_DT_HEAD` with user data (what the MCS connect exchange travels in,
    [MS-RDPBCGR] §2.2.1.3, §2.2.1.4); None, its head so far is one but it is not whole yet; False, none."""
    head = buf[at : at + len(_DT_HEAD)]
    if any(want is not None and got != want for got, want in zip(head, _DT_HEAD, strict=False)):
        return False
    if len(head) < 4:
        return None
    length = int.from_bytes(head[2:4], "big")
    if length <= len(_DT_HEAD):
        return False
    if len(head) < len(_DT_HEAD) or len(buf) - at < length:
        return None
    return True


def common_name(subject: str) -> str | None:
    """The CN of an RFC 4514 distinguished name string (the first, escaped commas kept), else None."""
    parts: list[str] = []
    current = ""
    escaped = False
    for ch in subject:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    for part in parts:
        key, sep, value = part.partition("=")
        if sep and key.strip().upper() == "CN" and value.strip():
            return value.strip()[:MAX_NAME]
    return None


class RdpDissector(StreamDissector):
    """The X.224 negotiation, then TLS (handed on) or standard security's MCS connect exchange.

    Flow state: one TPKT buffer per direction (at most one TPKT, ``max_buffer``), the client's requested
    protocols, the phase, the TLS dissector's own state (its limits) and a count of MCS TPKTs read.
    """

    name: ClassVar[str] = "rdp"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_stream_bytes: ClassVar[int | None] = MAX_STREAM_BYTES
    max_stream_packets: ClassVar[int | None] = safety_net(MAX_STREAM_BYTES)
    max_buffer: ClassVar[int] = MAX_TPKT

    def __init__(self) -> None:
        self.tls = TlsDissector()

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """An X.224 Connection Request in a TPKT carrying RDP's cookie or an RDP_NEG_REQ, no ISO TSAPs."""
        if not to_server or len(payload) < 19 or payload[:2] != b"\x03\x00" or payload[5] != CR:
            return False
        if cr_has_tsaps(payload):
            return False
        var = payload[11:]
        return var.startswith(b"Cookie: ") or (var[:1] == b"\x01" and var[2:4] == b"\x08\x00")

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """Bytes of a direction were lost (module docstring): before the confirm is read the flow ends; under TLS the
        TLS dissector's gap, and the turns read on past it (:func:`~iotwarden.dissect.rdpturns.hole`); under standard
        security the direction drops its partial TPKT and reads on from the next :func:`data_tpkt_at` finds where a
        segment begins."""
        phase = state.get("phase")
        if phase == "tls":
            self.tls.gap(state["tls"], to_server)
            rdpturns.hole(state, to_server)
        elif phase == "mcs":
            key = streambuf.direction_key(to_server)
            state.pop(key, None)
            state[RESYNC_STATE_KEY + key] = True
        else:
            super().gap(state, to_server)

    def closing(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        """A FIN or RST without payload: while CredSSP's turns are counted, it may tell of the AUTHENTICATE's turn
        lost whole with nothing after it (:func:`~iotwarden.dissect.rdpturns.closed`)."""
        if state.get("phase") != "tls" or not state.get("nla") or state.get("turns_lost"):
            return []
        return rdpturns.closed(pkt, state)

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        rdpturns.begin(pkt, data, state)
        if state.get("phase") == "tls":
            return self._tls(pkt, data, state)
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        key = streambuf.direction_key(pkt.to_server)
        if state.get(RESYNC_STATE_KEY + key):
            # a TPKT may begin where the buffer or this delivery does (a segment start); a candidate not whole yet
            # is within max_buffer (its length is 16 bits)
            if not streambuf.resync(buf, (0, len(buf) - len(data)), lambda at: data_tpkt_at(buf, at)):
                return out
            state[RESYNC_STATE_KEY + key] = False
        try:
            while len(buf) >= 4 and not state.get("done"):
                if buf[0] != 3:
                    raise ParseError(f"not a TPKT header: {bytes(buf[:4]).hex()}")
                length = int.from_bytes(buf[2:4], "big")
                if length < 7:
                    raise ParseError(f"TPKT of {length} bytes")
                if len(buf) < length:
                    break
                tpkt = bytes(buf[:length])
                del buf[:length]
                self._tpkt(pkt, tpkt, state, out)
                if state.get("phase") == "tls":  # what follows is TLS, in this delivery too
                    rest = bytes(buf)
                    buf.clear()
                    out += self._tls(pkt, rest, state) if rest else []
                    return out
        except ParseError as exc:
            state["done"] = True
            raise streambuf.failed(exc, out) from None
        streambuf.bound(state, buf, self.max_buffer)
        return out

    def _tpkt(self, pkt: Packet, tpkt: bytes, state: dict[str, Any], out: list[Observation]) -> None:
        phase = state.get("phase")
        if phase is None and pkt.to_server:
            var = _x224(tpkt, CR)
            if var is None:
                raise ParseError("RDP connection does not open with an X.224 Connection Request")
            fields = parse_request(var)
            state["requested"] = fields["requested_protocols"]
            state["phase"] = "requested"
            confirm(state)
            out.append(pkt.observation(self.name, "connection_request", fields))
        elif phase == "requested" and not pkt.to_server:
            var = _x224(tpkt, CC)
            if var is None:
                raise ParseError("RDP request not answered by an X.224 Connection Confirm")
            kind, fields = parse_confirm(var)
            fields["requested_protocols"] = state.get("requested")
            out.append(pkt.observation(self.name, kind, fields))
            if kind == "negotiation_failure":
                state["done"] = True
            elif fields["selected_protocol"] == PROTOCOL_RDP:
                state["phase"] = "mcs"
            else:
                state["phase"] = "tls"
                state["tls"] = {}
                state["nla"] = fields["nla"]  # CredSSP follows the TLS handshake: its turns are counted
        elif phase == "mcs":
            self._mcs(pkt, tpkt, state, out)

    def _mcs(self, pkt: Packet, tpkt: bytes, state: dict[str, Any], out: list[Observation]) -> None:
        """Standard RDP security: the Client Core Data and the Server Security Data (rdpmcs)."""
        state["mcs_tpkts"] = count = state.get("mcs_tpkts", 0) + 1
        if count > MAX_MCS_TPKTS:
            state["done"] = True
            return
        if len(tpkt) < 8 or tpkt[5] & 0xF0 != DT:
            return
        user = tpkt[4 + 1 + tpkt[4] :]  # after the DT TPDU header (LI counts the bytes after itself)
        if pkt.to_server and not state.get("client_core"):
            state["client_core"] = True
            core = rdpmcs.connect_initial(user)
            if core is not None:
                out.append(pkt.observation(self.name, "client_core", core))
        elif not pkt.to_server and not state.get("server_security"):
            state["server_security"] = True
            security = rdpmcs.connect_response(user)
            if security is not None:
                out.append(pkt.observation(self.name, "server_security", security))
        if state.get("client_core") and state.get("server_security"):
            state["done"] = True

    def _tls(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        """The TLS that follows the negotiation; the server's leaf certificate names the computer."""
        sub: dict[str, Any] = state["tls"]
        counting = state.get("nla") and not state.get("turns_lost")
        walked = rdpturns.walk(pkt, data, state) if counting else []
        if sub.get("done"):
            if not counting:
                state["done"] = True
            return walked
        try:
            made = self.tls.feed(pkt, data, sub)
        finally:
            if sub.get("done") and not (counting and state.get("turns", 0) < rdpturns.AUTHENTICATE_TURN):
                state["done"] = True
        for obs in list(made):
            if obs.kind == "certificate" and not pkt.to_server and not state.get("named"):
                state["named"] = True
                made.append(pkt.observation(self.name, "server_certificate",
                                            certificate_fields(obs.fields.get("certs"))))
        return made + walked

def certificate_fields(certs: object) -> dict[str, Any]:
    """The ``server_certificate`` fields of a TLS ``certificate`` Observation's ``certs`` (leaf first): its CN as the
    computer's name (module docstring). Shared with sources/zeek_rdp.py."""
    leaf = certs[0] if isinstance(certs, list) and certs and isinstance(certs[0], dict) else {}
    subject = str(leaf.get("subject") or "")
    return {"computer_name": common_name(subject), "subject": subject or None, "sha256": leaf.get("sha256")}
