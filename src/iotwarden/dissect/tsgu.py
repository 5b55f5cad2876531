"""Remote Desktop Gateway ([MS-TSGU]) as HTTP shows it: which requests open a gateway tunnel, and which 401 answers
reject the credentials a request carried. Used by dissect/http.py (the request's ``rdp_gateway``) and by the detectors
that read its Observations.

A gateway is reached three ways, each recognised from the request head alone:

* ``http``: the HTTP transport ([MS-TSGU] §2.1.2), its OUT and IN channels opened by the custom methods RDG_OUT_DATA
  and RDG_IN_DATA (§2.2.3.1.1-2) on "/remoteDesktopGateway/" (§4.2.1), answered 401 with the schemes the gateway
  offers until the client authenticated (§4.2.1).
* ``websocket``: the same transport upgraded to a WebSocket (RFC 6455 §4.1): a GET of "/remoteDesktopGateway/" with
  ``Upgrade: websocket``, as mstsc and FreeRDP (libfreerdp/core/gateway/wst.c) send it.
* ``rpc``: the legacy RPC over HTTP transport ([MS-TSGU] §2.1.1, [MS-RPCH] §2.1.2.1: RPC_IN_DATA and RPC_OUT_DATA
  on /rpc/rpcproxy.dll?HOST:PORT) whose RPC endpoint is the gateway's port 3388 (§2.1.1: "used by the RDG server to
  listen for incoming RPC method calls"; FreeRDP's rpc.c asks for "/rpc/rpcproxy.dll?localhost:3388"). Outlook
  Anywhere's RPC over HTTP names Exchange's ports (6001-6004) and is not a gateway.

The internal host the client reaches travels in the tunnel, after authentication. Over the HTTP transport the
RDG_IN_DATA body carries the client's packets ([MS-TSGU] HTTP_PACKET_HEADER: packetType, reserved, packetLength,
little-endian) and :class:`ChannelReader` reads its first ones: the client's computer name of the TUNNEL_AUTH packet
(HTTP_TUNNEL_AUTH_PACKET: fieldsPresent, cbClientName, clientName in UTF-16) and the target of the CHANNEL_CREATE
packet (HTTP_CHANNEL_PACKET: numResources, numAltResource, port, protocol, then each resource name as a byte count
and UTF-16), as FreeRDP writes them (libfreerdp/core/gateway/rdg.c rdg_send_tunnel_authorization,
rdg_send_channel_create; packet types from its PKT_TYPE_* table). dissect/http.py reports them as
``rdp_gateway_channel``. Not read: the RPC transport's TsProxyCreateChannel call (§3.2.6.2.1, an RPC PDU), and the
WebSocket transport's packets (inside WebSocket frames after the 101 answer).

Over TLS without a terminating sensor none of this is visible; the gateway's SNI and certificate name a web server,
not a gateway, and are not taken for one. Nor is the gateway's UDP side channel, which an HTTP-transport tunnel may
add ([MS-TSGU] §1 Introduction: "established only when the main channel uses HTTP"): DTLS on the gateway's udp/3391
(nmap pull request #1895, the port CVE-2020-0609 was reached on), RDP-UDP inside it.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from iotwarden.dissect import asn1
from iotwarden.errors import ParseError

HTTP, WEBSOCKET, RPC = "http", "websocket", "rpc"
GATEWAY_PATH = "/remotedesktopgateway/"  # §4.2.1 target resource, compared without case (IIS paths ignore it)
IN_DATA = "RDG_IN_DATA"  # §2.2.3.1.1: the IN channel, whose body carries the client's packets
HTTP_METHODS = frozenset({"RDG_OUT_DATA", IN_DATA})  # §2.2.3.1
RPC_METHODS = frozenset({"RPC_IN_DATA", "RPC_OUT_DATA"})  # [MS-RPCH] §2.1.2.1.1, §2.1.2.1.2
GATEWAY_RPC_PORT = "3388"  # §2.1.1
_RPC_TARGET = re.compile(r"^/rpc/rpcproxy\.dll\?[^:/?#]{1,255}:(\d{1,5})$", re.IGNORECASE)
# a challenge that carries a token68 (RFC 9110 §11.2) after an NTLM, Negotiate or Kerberos scheme: the next leg
# of a multi-leg handshake (NTLM's CHALLENGE_MESSAGE, [MS-NLMP] §2.2.1.2; a SPNEGO continuation, RFC 4559 §5)
_TOKEN = re.compile(r"(?:^|,)\s*(NTLM|Negotiate|Kerberos)\s+([A-Za-z0-9+/\-._~]+=*)\s*(?=,|$)", re.IGNORECASE)
SPNEGO_REJECT = 2  # RFC 4178 §4.2.2 NegTokenResp negState: accept-completed 0, accept-incomplete 1, reject 2
MAX_TOKEN = 4096  # characters of a challenge token decoded


def transport(method: str, uri: str, headers: dict[str, str]) -> str | None:
    """The gateway transport a request opens (module docstring), None for any other request. ``headers`` are
    dissect/http.py's (lower-case names)."""
    if method in HTTP_METHODS:
        return HTTP
    if method in RPC_METHODS:
        m = _RPC_TARGET.match(uri)
        return RPC if m is not None and m.group(1) == GATEWAY_RPC_PORT else None
    if (method == "GET" and "websocket" in headers.get("upgrade", "").lower()
            and uri.partition("?")[0].lower() == GATEWAY_PATH):
        return WEBSOCKET
    return None


def _spnego_rejects(token: str) -> bool:
    """Whether a Negotiate token is a NegTokenResp whose negState is reject (RFC 4178 §4.2.2): the server's last
    word on a failed exchange, not a continuation."""
    try:
        raw = base64.b64decode(token[:MAX_TOKEN], validate=True)
        outer = asn1.read_tlv(raw)  # NegotiationToken ::= CHOICE { negTokenResp [1] NegTokenResp }
        if outer.tag != 0xA1:
            return False
        seq = asn1.children(outer.value)
        if not seq or seq[0].tag != asn1.SEQUENCE:
            return False
        for item in asn1.children(seq[0].value):
            if item.tag == 0xA0:  # negState [0] ENUMERATED
                state = asn1.children(item.value)
                return bool(state) and state[0].tag == 0x0A and asn1.unsigned(state[0].value) == SPNEGO_REJECT
    except (binascii.Error, ValueError, ParseError):
        return False
    return False


def continues(www_authenticate: str | None) -> bool:
    """Whether a 401's WWW-Authenticate (its fields joined by ", ") carries the next leg of a handshake: an NTLM,
    Negotiate or Kerberos challenge with a token that is not a SPNEGO reject."""
    if not www_authenticate:
        return False
    return any(not (m.group(1).lower() == "negotiate" and _spnego_rejects(m.group(2)))
               for m in _TOKEN.finditer(www_authenticate))


def credentials_rejected(status: int, www_authenticate: str | None, sent_credentials: bool) -> bool:
    """A 401 (RFC 9110 §15.5.2) answering a request that carried credentials, offering no next leg: the gateway
    refused them. A 401 to a request without Authorization is the opening challenge (§4.2.1), and one carrying an
    NTLM CHALLENGE_MESSAGE asks for the AUTHENTICATE_MESSAGE ([MS-NLMP] §1.3.1.1): neither is a refusal."""
    return status == 401 and sent_credentials and not continues(www_authenticate)


# --- the RDG_IN_DATA body: the client's first packets (module docstring) ------------------------------------------

PKT_TYPE_TUNNEL_AUTH, PKT_TYPE_CHANNEL_CREATE, PKT_TYPE_DATA = 0x6, 0x8, 0xA
PACKET_HEADER = 8  # HTTP_PACKET_HEADER: packetType (2), reserved (2), packetLength (4, the whole packet)
MAX_BODY = 4096  # bytes of an RDG_IN_DATA body read: the handshake, tunnel, auth and channel packets come first
MAX_RESOURCES = 8  # target names kept from one CHANNEL_CREATE (numResources + numAltResource, each at most 255)
MAX_NAME = 256  # characters kept of a name


def _u16(data: bytes | bytearray, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "little")


def _name(data: bytes, pos: int) -> tuple[str | None, int]:
    """A name of a byte count and UTF-16LE (its NUL dropped) at ``pos``; (None, end) when it runs past ``data``."""
    if pos + 2 > len(data):
        return None, len(data)
    size = _u16(data, pos)
    end = pos + 2 + size
    if end > len(data):
        return None, len(data)
    text = data[pos + 2 : end].decode("utf-16-le", "replace").split("\x00", 1)[0].strip()
    return text[:MAX_NAME] or None, end


class ChannelReader:
    """Reads an RDG_IN_DATA body (dissect/http.py's body reader protocol: ``feed`` until over, then ``result``) up
    to the CHANNEL_CREATE packet or MAX_BODY bytes; never raises."""

    kind = "rdp_gateway_channel"  # the Observation kind dissect/http.py emits, subject the client

    def __init__(self) -> None:
        self.buf = bytearray()
        self.fields: dict[str, Any] = {}
        self.read = 0  # body bytes taken, at most MAX_BODY
        self.done = False

    def feed(self, data: bytes) -> bool:
        """Add body bytes; True once nothing more is wanted."""
        if self.done:
            return True
        taken = data[: MAX_BODY - self.read]
        self.read += len(taken)
        self.buf += taken
        while len(self.buf) >= PACKET_HEADER and not self.done:
            kind, length = _u16(self.buf, 0), int.from_bytes(self.buf[4:8], "little")
            if length < PACKET_HEADER or length > MAX_BODY:
                self.done = True  # not a packet: the body is not what this reader knows
                break
            if len(self.buf) < length:
                break
            packet = bytes(self.buf[PACKET_HEADER:length])
            del self.buf[:length]
            if kind == PKT_TYPE_TUNNEL_AUTH and len(packet) >= 2:  # fieldsPresent, then the client's name
                self.fields["client_name"] = _name(packet, 2)[0]
            elif kind == PKT_TYPE_CHANNEL_CREATE:
                self._channel(packet)
                self.done = True
            elif kind == PKT_TYPE_DATA:
                self.done = True  # the tunnel carries RDP now: no channel packet came
        if self.read >= MAX_BODY:
            self.done = True  # the packets wanted come first; past the limit they did not come
        return self.done

    def _channel(self, packet: bytes) -> None:
        """HTTP_CHANNEL_PACKET: numResources, numAltResource, port, protocol, then the resource names."""
        if len(packet) < 6:
            return
        count = min(packet[0] + packet[1], MAX_RESOURCES)
        self.fields.update(target_port=_u16(packet, 2), target_protocol=_u16(packet, 4))
        names: list[str] = []
        pos = 6
        for _ in range(count):
            name, pos = _name(packet, pos)
            if name is None:
                break
            names.append(name)
        if names:
            self.fields["target_host"] = names[0]
            if len(names) > 1:
                self.fields["target_alternatives"] = names[1:]

    def result(self) -> dict[str, Any] | None:
        """The fields read (``client_name``, ``target_host``, ``target_alternatives``, ``target_port``,
        ``target_protocol``), None when the body held none of them."""
        return {k: v for k, v in self.fields.items() if v is not None} or None
