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

What stays unseen: the internal host the client reaches. It travels in the tunnel, after authentication: the HTTP
transport's CHANNEL_CREATE packet in the RDG_IN_DATA body, the RPC transport's TsProxyCreateChannel call (§3.2.6.2.1)
in an RPC PDU; neither is read. Over TLS without a terminating sensor none of this is visible; the gateway's SNI and
certificate name a web server, not a gateway, and are not taken for one. Nor is the gateway's UDP side channel,
which an HTTP-transport tunnel may add ([MS-TSGU] §1 Introduction: "established only when the main channel uses
HTTP"): DTLS on the gateway's udp/3391 (nmap pull request #1895, the port CVE-2020-0609 was reached on), RDP-UDP
inside it.
"""

from __future__ import annotations

import base64
import binascii
import re

from iotwarden.dissect import asn1
from iotwarden.errors import ParseError

HTTP, WEBSOCKET, RPC = "http", "websocket", "rpc"
GATEWAY_PATH = "/remotedesktopgateway/"  # §4.2.1 target resource, compared without case (IIS paths ignore it)
HTTP_METHODS = frozenset({"RDG_OUT_DATA", "RDG_IN_DATA"})  # §2.2.3.1
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
