"""HTTP CONNECT tunnels (dissect/httptunnel.py): a TLS session a client opens through a proxy is read by the TLS
dissector, its client's hello reported from the client with the tunnel's target; nothing else of the tunnel."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Packet
from iotwarden.dissect.http import HttpDissector
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from iotwarden.lab import proto_tls
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.risk.harness import host, tcp, write_pcap

CLIENT, PROXY = ("10.0.0.7", 51000), ("10.0.0.2", 3128)
CONNECT = b"CONNECT cam.example.com:443 HTTP/1.1\r\nHost: cam.example.com:443\r\nUser-Agent: curl/8.5.0\r\n\r\n"
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
HELLO = proto_tls.client_hello(random.Random(1), "cam.example.com")
CHAIN = proto_tls.certificate_chain("cam.example.com", "Cam Inc", None, 1.7e9, 1)
FLIGHT = proto_tls.server_flight(random.Random(2), CHAIN, "cam.example.com", 1)


def _feed(chunks: list[tuple[bool, bytes]], state: dict[str, Any] | None = None) -> list[Observation]:
    """Feed (to_server, bytes) of one client-proxy connection as the engine does; a ParseError costs its call."""
    d, state = HttpDissector(), {} if state is None else state
    out: list[Observation] = []
    for to_server, data in chunks:
        if state.get("done"):
            break
        (sip, sport), (dip, dport) = (CLIENT, PROXY) if to_server else (PROXY, CLIENT)
        pkt = Packet(ts=1.0, payload=data, src_ip=sip, dst_ip=dip, ip_proto=6, src_port=sport, dst_port=dport,
                     to_server=to_server)
        try:
            out += d.feed(pkt, data, state)
        except ParseError as exc:
            out += getattr(exc, "made", [])
    return out


def _seen(obs: list[Observation]) -> list[tuple[str, str, str | None]]:
    return [(o.proto, o.kind, o.src_ip) for o in obs]


def test_the_client_hello_in_a_connect_tunnel_is_reported_from_the_client_with_its_target() -> None:
    state: dict[str, Any] = {}
    obs = _feed([(True, CONNECT), (False, ESTABLISHED), (True, HELLO), (False, FLIGHT),
                 (True, proto_tls.client_finish(random.Random(3)))], state)
    assert _seen(obs) == [("http", "request", CLIENT[0]), ("http", "response", PROXY[0]),
                          ("tls", "client_hello", CLIENT[0])]
    hello = obs[2]
    assert (hello.dst_ip, hello.dst_port, hello.subject) == (PROXY[0], PROXY[1], "src")
    assert hello.fields["sni"] == "cam.example.com"
    assert hello.fields["ja4"].startswith("t13d") and hello.fields["tunnel"] == "cam.example.com:443"
    # the server's hello and certificate are the far end's, not the proxy's: read (the handshake ends the flow),
    # never reported as the proxy's
    assert state["done"] is True


def test_a_proxys_connect_tunnel_is_found_by_the_engine_on_any_port(tmp_path: Path) -> None:
    # a forward proxy on 3128 (no HTTP port): the CONNECT is probed as HTTP, the tunnel's hello read through the engine
    rng = random.Random(5)
    frames = tcp(host(10), host(22), 3128, [
        (True, CONNECT), (False, ESTABLISHED), (True, HELLO), (False, FLIGHT),
        (True, proto_tls.client_finish(rng)), (False, proto_tls.server_finish(rng)),
        (True, proto_tls.application_data(rng, 3000)), (False, proto_tls.application_data(rng, 30000))])
    engine, obs = Engine(default_dissectors()), []
    for batch in read_capture(write_pcap(tmp_path / "proxy.pcap", frames)):
        obs += engine.process(batch).observations
    obs += engine.flush().observations
    assert [(o.proto, o.kind, o.src_ip, o.dst_port) for o in obs if o.proto in ("http", "tls")] == [
        ("http", "request", "10.9.0.10", 3128), ("http", "response", "10.9.0.22", 40000),
        ("tls", "client_hello", "10.9.0.10", 3128)]
    (hello,) = [o for o in obs if o.proto == "tls"]
    assert (hello.fields["sni"], hello.fields["tunnel"]) == ("cam.example.com", "cam.example.com:443")


def test_a_client_that_sends_its_hello_before_the_answer_is_read_too() -> None:
    # the hello in the CONNECT's own segment (a client not waiting for the 200), and the server's first bytes in the
    # 200's: each read as its own side's once the tunnel opens
    obs = _feed([(True, CONNECT + HELLO), (False, ESTABLISHED + FLIGHT)])
    assert _seen(obs) == [("http", "request", CLIENT[0]), ("http", "response", PROXY[0]),
                          ("tls", "client_hello", CLIENT[0])]
    assert obs[2].fields["tunnel"] == "cam.example.com:443"


def test_a_hello_cut_into_small_segments_is_read_whole() -> None:
    obs = _feed([(True, CONNECT), (False, ESTABLISHED), *[(True, HELLO[i:i + 7]) for i in range(0, len(HELLO), 7)]])
    assert [o.fields.get("sni") for o in obs if o.proto == "tls"] == ["cam.example.com"]


def test_a_refused_connect_opens_no_tunnel_and_the_next_request_is_read_as_http() -> None:
    refused = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n"
    again = CONNECT.replace(b"\r\n\r\n", b"\r\nProxy-Authorization: Basic dTpw\r\n\r\n")
    obs = _feed([(True, CONNECT), (False, refused), (True, again), (False, ESTABLISHED), (True, HELLO)])
    assert [(o.proto, o.kind) for o in obs] == [("http", "request"), ("http", "response"), ("http", "request"),
                                                ("http", "response"), ("tls", "client_hello")]


def test_a_tunnel_that_is_not_tls_is_not_read() -> None:
    # a server speaking first (an SSH banner) or a client's plain bytes: nothing more of the flow is read
    for first in [(False, b"SSH-2.0-OpenSSH_9.6\r\n"), (True, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")]:
        state: dict[str, Any] = {}
        obs = _feed([(True, CONNECT), (False, ESTABLISHED), first, (True, HELLO)], state)
        assert [o.kind for o in obs] == ["request", "response"] and state["done"] is True


def test_a_hole_in_the_tunnel_is_the_tls_dissectors() -> None:
    # a lost segment of the client's hello: the TLS dissector drops it and reads on from the next record found where a
    # segment begins (its gap); the tunnel is not abandoned
    d, state = HttpDissector(), dict[str, Any]()
    pkt = Packet(ts=1.0, payload=b"", src_ip=CLIENT[0], dst_ip=PROXY[0], ip_proto=6, src_port=CLIENT[1],
                 dst_port=PROXY[1], to_server=True)
    d.feed(pkt, CONNECT, state)
    d.feed(Packet(ts=1.0, payload=b"", to_server=False), ESTABLISHED, state)
    d.feed(pkt, HELLO[:20], state)
    assert d.gap(state, True) == []
    assert not state.get("done")
    (hello,) = d.feed(pkt, HELLO, state)
    assert hello.fields["sni"] == "cam.example.com"


@given(cuts=st.lists(st.integers(1, len(CONNECT + ESTABLISHED + HELLO) - 1), max_size=6),
       tail=st.binary(max_size=64))
def test_any_segmentation_of_a_tunnel_reports_the_hello_once(cuts: list[int], tail: bytes) -> None:
    # the client's bytes (CONNECT, hello, then anything) cut anywhere, the 200 after the segment that ends the
    # CONNECT's head (a server answers a request once it has it): one hello, its target kept
    client = CONNECT + HELLO + tail
    at = sorted({c % len(client) for c in cuts} - {0})
    ends = [*at, len(client)]
    chunks: list[tuple[bool, bytes]] = [(True, client[a:b]) for a, b in zip([0, *at], ends, strict=True)]
    answered = next(i for i, end in enumerate(ends) if end >= len(CONNECT)) + 1
    obs = _feed([*chunks[:answered], (False, ESTABLISHED), *chunks[answered:]])
    hellos = [o for o in obs if o.proto == "tls"]
    assert [(o.kind, o.fields["sni"], o.fields["tunnel"]) for o in hellos] == [
        ("client_hello", "cam.example.com", "cam.example.com:443")]


@given(data=st.binary(max_size=300), split=st.integers(0, 300))
def test_any_bytes_in_a_tunnel_keep_the_contract(data: bytes, split: int) -> None:
    # hostile tunnel bytes (a handshake record's first byte, then anything): observations or a ParseError, never
    # another exception; only the client's are reported
    for first in (b"\x16" + data, data):
        obs = _feed([(True, CONNECT), (False, ESTABLISHED), (True, first[:split]), (False, first),
                     (True, first[split:])])
        assert all(o.proto == "http" or (o.proto == "tls" and o.src_ip == CLIENT[0]) for o in obs)
