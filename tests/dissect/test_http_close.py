"""HTTP/1.x around a connection's close (RFC 9112 §9.6): what a client sends after a Connection: close, or after the
server's FIN, is read as the wire shows it, each request once, by the dissector and through the engine."""

from __future__ import annotations

import random
from pathlib import Path

from iotwarden.dissect import default_dissectors
from iotwarden.engine.core import Engine
from iotwarden.lab.wire import ACK, FIN, TcpStream
from iotwarden.sources.capfile import read_capture
from tests.dissect.test_http import _read
from tests.risk.harness import host, tcp, write_pcap


def test_a_request_after_a_connection_close_answer_is_read_once() -> None:
    # RFC 9112 §9.6: a server that answered with Connection: close MUST NOT process further requests; one that does
    # (it answers) must not hide them, and one that closes is what the wire shows (the late request, no answer)
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    assert _read([(True, b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"), (False, close),
                  (True, b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n"), (False, b"HTTP/1.1 204 No Content\r\n\r\n")]) == [
        ("request", "/a"), ("response", 200), ("request", "/after"), ("response", 204)]
    # a client that pipelines past its own Connection: close (RFC 9112 §9.6: it MUST NOT send more)
    assert _read([(True, b"GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"),
                  (False, close + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]) == [
        ("request", "/a"), ("request", "/b"), ("response", 200), ("response", 200)]


def test_requests_around_a_servers_close_are_each_reported_once_by_the_engine(tmp_path: Path) -> None:
    # through the engine: a request the client sends after the server's FIN (answered by RST), and a new connection
    # on the same ports after a closed one, are each one request, as the wire shows them; none is read twice
    client, server = host(10), host(22)
    late = TcpStream(random.Random(2), client, 40001, server, 80)
    frames = late.handshake(1.0) + late.send(1.01, True, b"GET /a HTTP/1.1\r\nHost: cam\r\n\r\n")
    frames += late.send(1.02, False, b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
    frames += [(1.03, late._seg(False, FIN | ACK))]  # the server closes its side (RFC 9112 §9.6)
    frames += late.send(1.04, True, b"GET /late HTTP/1.1\r\nHost: cam\r\n\r\n")
    frames += late.reset(1.05, from_client=False)
    frames += tcp(client, server, 80, [(True, b"GET /one HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n"),
                                       (False, b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")],
                  t=2.0, seed=3, cport=40002)
    frames += tcp(client, server, 80, [(True, b"GET /two HTTP/1.1\r\nHost: cam\r\n\r\n"),
                                       (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")], t=5.0, seed=4,
                  cport=40002)
    engine, obs = Engine(default_dissectors()), []
    for batch in read_capture(write_pcap(tmp_path / "close.pcap", sorted(frames, key=lambda f: f[0]))):
        obs += engine.process(batch).observations
    obs += engine.flush().observations
    assert [(o.kind, o.fields.get("uri") or o.fields.get("status")) for o in obs if o.proto == "http"] == [
        ("request", "/a"), ("response", 200), ("request", "/late"), ("request", "/one"), ("response", 200),
        ("request", "/two"), ("response", 200)]
