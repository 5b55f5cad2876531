"""Remote Desktop Gateway requests and refusals as HTTP shows them ([MS-TSGU] §2.1.1-2.1.2, §2.2.3.1, §4.2.1), and
the HTTP dissector's ``rdp_gateway`` and its probe for the gateway's custom methods."""

from __future__ import annotations

import base64
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.tsgu import MAX_BODY, ChannelReader, continues, credentials_rejected, transport

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


# --- the RDG_IN_DATA body: packets as FreeRDP writes them (libfreerdp/core/gateway/rdg.c) ------------------------

def _packet(kind: int, body: bytes) -> bytes:
    return struct.pack("<HHI", kind, 0, 8 + len(body)) + body  # HTTP_PACKET_HEADER


def _utf16(name: str) -> bytes:
    raw = (name + "\x00").encode("utf-16-le")
    return struct.pack("<H", len(raw)) + raw


def in_channel_packets(target: str = "HMI-07.plant.local", client: str = "CAM-3", port: int = 3389) -> list[bytes]:
    """Handshake request (version 1.0), tunnel create, tunnel auth (the client's name), channel create (the target)."""
    return [_packet(0x1, struct.pack("<BBHH", 1, 0, 0, 0)), _packet(0x4, struct.pack("<IHH", 0x3F, 0, 0)),
            _packet(0x6, struct.pack("<H", 0) + _utf16(client)),
            _packet(0x8, struct.pack("<BBHH", 1, 0, port, 3) + _utf16(target))]


def test_the_channel_reader_names_the_client_and_the_target() -> None:
    reader = ChannelReader()
    stream = b"".join(in_channel_packets())
    over = False
    for i in range(0, len(stream), 7):  # in pieces, as chunks and segments cut it
        over = reader.feed(stream[i : i + 7])
    assert over
    assert reader.result() == {"client_name": "CAM-3", "target_host": "HMI-07.plant.local", "target_port": 3389,
                               "target_protocol": 3}


def test_the_channel_reader_stops_at_data_and_at_its_limit() -> None:
    reader = ChannelReader()
    assert reader.feed(_packet(0xA, b"\x00" * 20))  # DATA first: no channel packet to wait for
    assert reader.result() is None
    reader = ChannelReader()
    assert reader.feed(b"\x01\x00\x00\x00\xff\xff\xff\x7f")  # a length no packet has: not a gateway body
    assert reader.result() is None
    reader = ChannelReader()
    keepalive = _packet(0xD, b"")  # packets that name nothing, read up to the limit and no further
    assert not reader.feed(keepalive * 10)
    assert reader.feed(keepalive * (MAX_BODY // len(keepalive)))
    assert reader.read == MAX_BODY and reader.result() is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_fuzz_channel_reader_never_raises(data: bytes, cut: int) -> None:
    reader = ChannelReader()
    for i in range(0, len(data), cut):
        reader.feed(data[i : i + cut])
    reader.result()
    mutated = bytearray(b"".join(in_channel_packets()))
    for i in range(0, len(mutated), max(1, len(data) or 1)):
        mutated[i] ^= 0x5A
    reader = ChannelReader()
    reader.feed(bytes(mutated))
    reader.result()


def test_the_http_dissector_reads_the_in_channel_body() -> None:
    d, state = HttpDissector(), {}
    head = (b"RDG_IN_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.corp.example\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    body = b"".join(b"%X\r\n" % len(p) + p + b"\r\n" for p in in_channel_packets())  # rdg_write_packet's chunks
    obs = d.feed(_pkt(True, head), head, state) + d.feed(_pkt(True, body), body, state)
    assert [(o.kind, o.src_ip) for o in obs] == [("request", "10.0.0.66"), ("rdp_gateway_channel", "10.0.0.66")]
    assert obs[1].fields["target_host"] == "HMI-07.plant.local" and obs[1].fields["client_name"] == "CAM-3"
