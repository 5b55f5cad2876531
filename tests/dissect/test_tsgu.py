"""Remote Desktop Gateway requests and refusals as HTTP shows them ([MS-TSGU] §2.1.1-2.1.2, §2.2.3.1, §4.2.1), and
the HTTP dissector's ``rdp_gateway`` and its probe for the gateway's custom methods."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.tsgu import continues, credentials_rejected, transport

WS = {"upgrade": "websocket", "connection": "Upgrade", "sec-websocket-version": "13"}
# NTLM CHALLENGE_MESSAGE head ([MS-NLMP] §2.2.1.2: "NTLMSSP\0", MessageType 2) as a 401 carries it, base64
NTLM_CHALLENGE = base64.b64encode(b"NTLMSSP\x00\x02\x00\x00\x00" + bytes(36)).decode()
SPNEGO_REJECT = "oQcwBaADCgEC"  # NegTokenResp { negState reject(2) } (RFC 4178 §4.2.2), DER a1 07 30 05 a0 03 0a 01 02
SPNEGO_INCOMPLETE = "oRQwEqADCgEBogsECU5UTE1TU1AAAg=="  # { negState accept-incomplete(1), responseToken NTLMSSP }


def test_the_three_gateway_transports() -> None:
    assert transport("RDG_OUT_DATA", "/remoteDesktopGateway/", {}) == "http"
    assert transport("RDG_IN_DATA", "/remoteDesktopGateway/", {}) == "http"
    assert transport("GET", "/remoteDesktopGateway/", WS) == "websocket"
    assert transport("GET", "/remotedesktopgateway/?CorrelationId=1", WS) == "websocket"
    assert transport("RPC_IN_DATA", "/rpc/rpcproxy.dll?localhost:3388", {}) == "rpc"
    assert transport("RPC_OUT_DATA", "/rpc/rpcproxy.dll?gw.corp.example:3388", {}) == "rpc"


def test_look_alikes_are_no_gateway() -> None:
    assert transport("RPC_IN_DATA", "/rpc/rpcproxy.dll?mail.corp.example:6001", {}) is None  # Outlook Anywhere
    assert transport("RPC_IN_DATA", "/rpc/rpcproxy.dll", {}) is None
    assert transport("GET", "/remoteDesktopGateway/", {}) is None  # no WebSocket upgrade
    assert transport("GET", "/chat/", WS) is None  # another WebSocket
    assert transport("GET", "/RDWeb/Pages/en-US/login.aspx", {}) is None  # RD Web Access is a web page
    assert transport("POST", "/remoteDesktopGateway/", {}) is None


def test_a_401_is_a_refusal_only_after_credentials_and_without_a_next_leg() -> None:
    assert not credentials_rejected(401, "Negotiate, NTLM", sent_credentials=False)  # the opening challenge
    assert not credentials_rejected(401, f"NTLM {NTLM_CHALLENGE}", sent_credentials=True)  # NTLM's second leg
    assert not credentials_rejected(401, f"Negotiate {SPNEGO_INCOMPLETE}", sent_credentials=True)
    assert credentials_rejected(401, "Negotiate, NTLM", sent_credentials=True)  # the AUTHENTICATE refused
    assert credentials_rejected(401, 'Basic realm="gw.corp.example"', sent_credentials=True)
    assert credentials_rejected(401, f"Negotiate {SPNEGO_REJECT}", sent_credentials=True)
    assert credentials_rejected(401, None, sent_credentials=True)
    assert not credentials_rejected(200, None, sent_credentials=True)
    assert not credentials_rejected(403, None, sent_credentials=True)


def test_continues_reads_each_challenge_of_a_joined_field() -> None:
    assert continues(f'Basic realm="x", NTLM {NTLM_CHALLENGE}')
    assert not continues('Basic realm="x", Negotiate, NTLM')
    assert not continues("NTLM not/a=token=")  # '=' inside: not a token68


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200))
def test_fuzz_never_raises(www: str, uri: str) -> None:
    continues(www)
    continues("Negotiate " + base64.b64encode(www.encode()).decode())
    transport("RPC_IN_DATA", uri, {})
    transport("GET", uri, WS)


def _pkt(to_server: bool, data: bytes) -> Packet:
    return Packet(ts=0.0, payload=data, src_ip="10.0.0.66", dst_ip="10.0.0.4", ip_proto=6, src_port=50000,
                  dst_port=443, to_server=to_server)


def test_the_http_dissector_marks_gateway_requests_and_probes_their_methods() -> None:
    d = HttpDissector()
    head = (b"RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.corp.example\r\n"
            b"RDG-Connection-Id: {958F92D8-DA20-467A-BBE3-65E7E9B4EDCF}\r\nAuthorization: NTLM TlRMTVNTUAAB\r\n"
            b"Content-Length: 0\r\n\r\n")
    assert d.probe(head, True)
    assert d.probe(b"RPC_IN_DATA /rpc/rpcproxy.dll?localhost:3388 HTTP/1.1\r\n", True)
    (obs,) = d.feed(_pkt(True, head), head, {})
    assert obs.fields["rdp_gateway"] == "http"
    assert obs.fields["authorization_scheme"] == "NTLM"
    assert obs.fields["headers"]["authorization"] == "NTLM [redacted]"
    plain = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    (obs,) = d.feed(_pkt(True, plain), plain, {})
    assert "rdp_gateway" not in obs.fields
