"""HTTP CONNECT tunnels (dissect/httptunnel.py): a TLS session a client opens through a proxy is read by the TLS
dissector, its client's hello reported from the client with the tunnel's target; nothing else of the tunnel."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
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
from tests.dissect.hostile import TCPDUMP_CAPTURES, TCPDUMP_DIR, contract_call, feed_chunks
from tests.pcaputil import iter_packets
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


def test_a_tunnel_that_is_neither_tls_nor_http_is_not_read() -> None:
    # a server speaking first (an SSH banner) or a client's plain bytes: nothing more of the flow is read
    for first in [(False, b"SSH-2.0-OpenSSH_9.6\r\n"), (True, b"\x00\x01binary\r\n\r\n")]:
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


@given(data=st.binary(max_size=300), split=st.integers(0, 300), plain=st.booleans())
def test_any_bytes_in_a_tunnel_keep_the_contract(data: bytes, split: int, plain: bool) -> None:
    # hostile tunnel bytes (a handshake record's first byte, an HTTP request's start, then anything): observations of
    # HTTP or of the TLS it hands the tunnel to, or a ParseError, never another exception (tests/dissect/hostile.py);
    # only the client's are reported of the tunnel
    connect = CONNECT_80 if plain else CONNECT
    for first in (b"\x16" + data, b"GET / HTTP/1.1\r\n" + data, data):
        obs = feed_chunks(HttpDissector(), [(True, connect), (False, ESTABLISHED), (True, first[:split]),
                                            (False, first), (True, first[split:])], protos=("tls",))
        assert all(o.src_ip == "10.0.0.1" for o in obs if o.fields.get("tunnel"))
        assert [o.kind for o in obs if o.proto == "http" and not o.fields.get("tunnel")] == ["request", "response"]


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_real_captures_fed_past_a_connect_keep_the_contract(name: str) -> None:
    # every TCP payload of a real capture, the client's and the server's, fed inside an open tunnel, TLS or HTTP
    # (hostile.contract_call: http or tls observations, never another exception)
    for connect, first in ((CONNECT, b"\x16\x03\x01"), (CONNECT_80, b"GET / HTTP/1.1\r\n")):
        d, state = HttpDissector(), dict[str, Any]()
        chunks = [(True, connect), (False, ESTABLISHED), (True, first)]
        chunks += [(pkt.to_server, pkt.payload) for pkt in iter_packets(TCPDUMP_DIR / name)
                   if pkt.ip_proto == 6 and pkt.payload][:200]
        for to_server, data in chunks:
            if state.get("done"):
                break
            pkt = Packet(ts=1.0, payload=data, src_ip="10.0.0.1" if to_server else "10.0.0.2", dst_ip="10.0.0.2"
                         if to_server else "10.0.0.1", ip_proto=6, src_port=40000 if to_server else 3128,
                         dst_port=3128 if to_server else 40000, to_server=to_server)
            contract_call(d, pkt, state, protos=("tls",))

CONNECT_80 = b"CONNECT cam.example.com:80 HTTP/1.1\r\nHost: cam.example.com:80\r\n\r\n"
# a proxied cleartext login: Basic admin:admin (RFC 7617 §2), then a page
LOGIN = (b"GET /cgi-bin/login HTTP/1.1\r\nHost: cam.example.com\r\nUser-Agent: python-requests/2.31\r\n"
         b"Authorization: Basic YWRtaW46YWRtaW4=\r\n\r\n")
PAGE = b"HTTP/1.1 200 OK\r\nServer: Boa/0.94.14rc21\r\nContent-Length: 2\r\n\r\nok"


def test_a_cleartext_http_session_in_a_connect_tunnel_reports_the_clients_requests_with_the_target() -> None:
    # at 56b0f7b a tunnel whose first bytes were no TLS record was not read: a CONNECT to port 80 hid the proxied
    # client's User-Agent, Host and Basic credentials from the sensor. Its answers are the far end's: read, not reported
    nxt = b"GET /snapshot.jpg HTTP/1.1\nHost: cam.example.com\n\n"  # bare LF lines, read as at a flow's start
    obs = _feed([(True, CONNECT_80), (False, ESTABLISHED), (True, LOGIN), (False, PAGE), (True, nxt), (False, PAGE)])
    assert _seen(obs) == [("http", "request", CLIENT[0]), ("http", "response", PROXY[0]),
                          ("http", "request", CLIENT[0]), ("http", "request", CLIENT[0])]
    login, snapshot = obs[2], obs[3]
    assert (login.dst_ip, login.dst_port, login.subject) == (PROXY[0], PROXY[1], "src")
    assert {k: login.fields[k] for k in ("tunnel", "host", "user_agent", "basic_auth", "basic_user",
                                         "password_present", "uri")} == {
        "tunnel": "cam.example.com:80", "host": "cam.example.com", "user_agent": "python-requests/2.31",
        "basic_auth": True, "basic_user": "admin", "password_present": True, "uri": "/cgi-bin/login"}
    assert (snapshot.fields["uri"], snapshot.fields["tunnel"]) == ("/snapshot.jpg", "cam.example.com:80")
    assert "tunnel" not in obs[0].fields  # the CONNECT itself is the connection's own request


def test_a_tunnels_http_sent_with_the_connect_or_cut_small_is_read_once() -> None:
    # a request sent with the CONNECT, before its answer, is read as the connection's own next request (were the
    # CONNECT refused, RFC 9110 §9.3.6, it would be one): once, its credentials seen
    whole = _feed([(True, CONNECT_80 + LOGIN), (False, ESTABLISHED + PAGE)])
    assert [(o.kind, o.fields.get("tunnel"), o.fields.get("basic_user")) for o in whole] == [
        ("request", None, None), ("request", None, "admin"), ("response", None, None)]
    cut = _feed([(True, CONNECT_80), (False, ESTABLISHED), *[(True, LOGIN[i:i + 5]) for i in range(0, len(LOGIN), 5)]])
    assert [o.fields.get("basic_user") for o in cut if o.fields.get("tunnel")] == ["admin"]


def _connect(target: str) -> bytes:
    return f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()


def test_a_connect_inside_a_tunnel_opens_one_level_more_up_to_the_bound() -> None:
    # a client chaining proxies: each CONNECT in a tunnel opens the next; what the innermost carries is reported with
    # the innermost target (where the bytes go); a tunnel past MAX_TUNNEL_DEPTH is not read
    from iotwarden.dissect.httptunnel import MAX_TUNNEL_DEPTH
    hops = [_connect(f"proxy{i}.example:3128") for i in range(1, MAX_TUNNEL_DEPTH + 1)]
    chunks: list[tuple[bool, bytes]] = []
    for hop in [_connect("proxy0.example:3128"), *hops]:
        chunks += [(True, hop), (False, ESTABLISHED)]
    inner = f"proxy{MAX_TUNNEL_DEPTH - 1}.example:3128"
    within = _feed([*chunks[:2 * MAX_TUNNEL_DEPTH], (True, LOGIN), (False, PAGE), (True, HELLO)])
    requests = [o.fields.get("tunnel") for o in within if o.kind == "request"]
    assert requests == [None, *[f"proxy{i}.example:3128" for i in range(MAX_TUNNEL_DEPTH)]]
    assert within[-1].fields["basic_user"] == "admin"
    state: dict[str, Any] = {}
    past = _feed([*chunks, (True, LOGIN), (True, HELLO)], state)
    assert [o.fields.get("tunnel") for o in past if o.kind == "request"] == [*requests[:-1], inner]
    assert not any(o.fields.get("basic_user") for o in past) and state["done"] is True


def test_a_tls_session_in_an_http_tunnel_in_a_tunnel_reports_its_hello_with_the_inner_target() -> None:
    obs = _feed([(True, _connect("proxy2.example:8080")), (False, ESTABLISHED), (True, CONNECT), (False, ESTABLISHED),
                 (True, HELLO)])
    assert [(o.proto, o.kind, o.fields.get("tunnel")) for o in obs] == [
        ("http", "request", None), ("http", "response", None), ("http", "request", "proxy2.example:8080"),
        ("tls", "client_hello", "cam.example.com:443")]


def test_a_hole_in_an_http_tunnel_is_its_http_readers() -> None:
    d, state = HttpDissector(), dict[str, Any]()
    client = Packet(ts=1.0, payload=b"", src_ip=CLIENT[0], dst_ip=PROXY[0], ip_proto=6, src_port=CLIENT[1],
                    dst_port=PROXY[1], to_server=True)
    d.feed(client, CONNECT_80, state)
    d.feed(Packet(ts=1.0, payload=b"", to_server=False), ESTABLISHED, state)
    d.feed(client, LOGIN[:30], state)
    assert d.gap(state, True) == [] and not state.get("done")
    (login,) = d.feed(client, LOGIN, state)  # the next request, at a segment start past the hole
    assert (login.fields["basic_user"], login.fields["tunnel"]) == ("admin", "cam.example.com:80")


def test_the_hostile_input_helper_takes_the_tls_a_tunnel_hands_on_and_nothing_else() -> None:
    # tests/dissect/hostile.py required every observation's proto to be the dissector's: a tunnel's hello failed it
    chunks = [(True, CONNECT), (False, ESTABLISHED), (True, HELLO)]
    assert [o.proto for o in feed_chunks(HttpDissector(), chunks, protos=("tls",))] == ["http", "http", "tls"]
    with pytest.raises(AssertionError):
        feed_chunks(HttpDissector(), chunks)


def test_a_connect_to_an_ip_literal_reports_no_server_facts_under_any_address() -> None:
    # decided (brief G 3): the far end's hello and certificate are not attributed to the CONNECT's IP literal, which
    # names the origin exactly, because a TLS-intercepting proxy answers in its place (dissect/httptunnel.py doc):
    # only the client's hello is reported, with its tunnel; nothing names the origin or the proxy as a TLS server
    connect = b"CONNECT 10.20.0.5:443 HTTP/1.1\r\nHost: 10.20.0.5:443\r\n\r\n"
    state: dict[str, Any] = {}
    obs = _feed([(True, connect), (False, ESTABLISHED), (True, HELLO), (False, FLIGHT)], state)
    assert [(o.proto, o.kind, o.src_ip) for o in obs] == [
        ("http", "request", CLIENT[0]), ("http", "response", PROXY[0]), ("tls", "client_hello", CLIENT[0])]
    assert obs[2].fields["tunnel"] == "10.20.0.5:443" and state["done"] is True
