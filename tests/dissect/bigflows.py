"""Test capture: TCP flows whose messages sit around bulk bytes, the deliveries GRO/TSO make large.

Built with the lab's wire helpers (MSS segments, every second one acknowledged, as a real sender and
receiver do), so the capture as written is what a SPAN port sees; :mod:`tests.dissect.resegment`
turns it into what a host or bridge capture sees. Each flow is what a stream dissector's buffer limit
used to give up on once it arrived in one piece:

* HTTP keep-alive (port 80): a 60,000-byte Content-Length body and a chunked body of 3 x 20,000 bytes
  (skipped bytes, over http.py's old 24 KiB buffer), each followed by a request with Basic credentials
  and a User-Agent, answered with a Server header;
* FTP (port 21): a 220 greeting of 24 lines (1,300 bytes, over ftp.py's 1 KiB line limit in one
  segment even without GRO), a failed then a successful login;
* TLS (port 443): a server flight of 40 KiB (a certificate message of many certificates, in 16 KiB
  records: over tls.py's old two-record buffer);
* MQTT (port 1883): a 100,000-byte PUBLISH between a CONNECT and a SUBSCRIBE.

And two flows whose sender writes several small messages in a row, one of them malformed: GRO hands
them over in one delivery, and the good ones around the bad one must still be observed (the bad HTTP one too, as
invalid; the bad MQTT one is not):

* HTTP (port 8080): three pipelined requests (RFC 9112 §9.3), the second with a header line that has
  no colon (RFC 9112 §5.1), then the three answers;
* MQTT (port 1883): PUBLISH, a SUBSCRIBE without topic filters (3.1.1 §3.8.3: a protocol violation),
  PUBLISH.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from iotwarden.lab import proto_app, proto_tls
from iotwarden.lab.wire import Frame, Host, TcpStream
from tests.dissect.resegment import write_frames

CLIENT = Host("02:00:00:00:00:01", "10.9.0.10")
SERVER = Host("02:00:00:00:00:02", "10.9.0.20")
LINKTYPE_ETHERNET = 1
BODY = 60_000
CHUNK = 20_000
BANNER_LINES = 24
PUBLISH = 100_000


def _http(rng: random.Random) -> list[tuple[bool, bytes]]:
    def request(path: str, user_agent: str, basic: str | None = None) -> bytes:
        auth = f"Authorization: Basic {basic}\r\n" if basic else ""
        return f"GET {path} HTTP/1.1\r\nHost: cam.local\r\nUser-Agent: {user_agent}\r\n{auth}\r\n".encode()

    def response(server: str, body: bytes, *, chunked: bool = False) -> bytes:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
        head = f"HTTP/1.1 200 OK\r\nServer: {server}\r\nContent-Type: application/octet-stream\r\n{framing}\r\n\r\n"
        if not chunked:
            return head.encode() + body
        chunks = b"".join(b"%x\r\n" % CHUNK + body[i : i + CHUNK] + b"\r\n" for i in range(0, len(body), CHUNK))
        return head.encode() + chunks + b"0\r\n\r\n"

    return [
        (True, request("/firmware.bin", "curl/8.5.0")),
        (False, response("lighttpd/1.4.59", rng.randbytes(BODY))),
        (True, request("/ISAPI/System/deviceInfo", "Hik-Connect/4.2", "YWRtaW46MTIzNDU=")),  # admin:12345
        (False, response("App-webs/", b"ok")),
        (True, request("/snapshot.jpg", "VLC/3.0.20")),
        (False, response("lighttpd/1.4.59", rng.randbytes(3 * CHUNK), chunked=True)),
        (True, request("/status", "okhttp/4.12.0", "dXNlcjp1c2Vy")),  # user:user
        (False, response("App-webs/", b"up")),
    ]


def _ftp() -> list[tuple[bool, bytes]]:
    lines = [f"220-Welcome to the recorder archive, line {i:02d} of the site's long notice" for i in range(1, 24)]
    banner = ("\r\n".join(lines) + "\r\n220 NVR FTP server ready.\r\n").encode()
    assert len(banner) > 1024 and banner.count(b"\r\n") == BANNER_LINES
    return [
        (False, banner),
        (True, b"USER admin\r\n"), (False, b"331 Password required for admin.\r\n"),
        (True, b"PASS admin\r\n"), (False, b"530 Login incorrect.\r\n"),
        (True, b"USER admin\r\n"), (False, b"331 Password required for admin.\r\n"),
        (True, b"PASS 12345\r\n"), (False, b"230 User admin logged in.\r\n"),
    ]


def _tls(rng: random.Random) -> list[tuple[bool, bytes]]:
    chain = proto_tls.certificate_chain("nvr.example", "Example NVR", "Example CA", 1.7e9, seed=7)
    flight = proto_tls.server_flight(rng, chain * 60, "nvr.example", seed=7)  # one record: cut into 16 KiB
    body = flight[5:]
    records = b"".join(proto_tls.record(proto_tls.HANDSHAKE, body[i : i + 16384]) for i in range(0, len(body), 16384))
    assert len(records) > 40_000
    return [(True, proto_tls.client_hello(rng, "nvr.example")), (False, records)]


def _mqtt(rng: random.Random) -> list[tuple[bool, bytes]]:
    topic = b"cmd/nvr/#"
    body = struct.pack("!HH", 7, len(topic)) + topic + b"\x01"  # packet id 7, one filter at QoS 1 (§3.8)
    subscribe = bytes([0x82, len(body)]) + body
    return [
        (True, proto_app.mqtt_connect("nvr-01", "nvr", "secret")),
        (False, proto_app.MQTT_CONNACK),
        (True, proto_app.mqtt_publish("nvr/clip", rng.randbytes(PUBLISH))),
        (True, subscribe),
    ]


def _pipelined() -> list[tuple[bool, bytes]]:
    def request(path: str, extra: str = "") -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: printer.local\r\nUser-Agent: CUPS/2.4.2\r\n{extra}\r\n".encode()

    def response(server: str) -> bytes:
        return f"HTTP/1.1 200 OK\r\nServer: {server}\r\nContent-Length: 2\r\n\r\nok".encode()

    return [(True, request("/a")), (True, request("/b", "Broken header line\r\n")), (True, request("/c")),
            (False, response("HP HTTP Server; HP LaserJet")), (False, response("HP HTTP Server; HP LaserJet")),
            (False, response("HP HTTP Server; HP LaserJet"))]


def _mqtt_stream() -> list[tuple[bool, bytes]]:
    no_filters = b"\x82\x02\x00\x09"  # SUBSCRIBE, packet id 9, no topic filter
    return [
        (True, proto_app.mqtt_connect("meter-7", None, None)), (False, proto_app.MQTT_CONNACK),
        (True, proto_app.mqtt_publish("meter/7/kwh", b"12.5")), (True, no_filters),
        (True, proto_app.mqtt_publish("meter/7/kwh", b"12.6")),
    ]


def write(path: Path) -> Path:
    """The capture, Ethernet link type; deterministic."""
    rng = random.Random(20260)
    frames: list[Frame] = []
    t = 1_700_000_000.0
    flows = [(80, _http(rng)), (21, _ftp()), (443, _tls(rng)), (1883, _mqtt(rng)), (8080, _pipelined()),
             (1883, _mqtt_stream())]
    for i, (port, exchanges) in enumerate(flows):
        stream = TcpStream(rng, CLIENT, 40000 + i, SERVER, port)
        frames += stream.session(t, exchanges)
        t = stream.t + 1.0
    write_frames(path, LINKTYPE_ETHERNET, frames)
    return path
