"""HTTP dissector: request/response heads on real IoT captures, framing, limits and hostile input."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import http
from iotwarden.dissect.base import Packet
from iotwarden.dissect.http import MAX_HEAD, MAX_HEADERS, MAX_MESSAGES, MAX_PENDING_METHODS, HttpDissector
from iotwarden.errors import ParseError
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate
from tests.pcaputil import run_dissector

REQUEST = (b"GET /cgi-bin/status HTTP/1.1\r\nHost: 192.168.1.20\r\nUser-Agent: curl/8.0\r\n"
           b"Authorization: Basic " + base64.b64encode(b"admin:hunter2") + b"\r\n\r\n")
RESPONSE = (b"HTTP/1.1 401 Unauthorized\r\nServer: GoAhead-Webs\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n"
            b"Content-Type: text/html\r\nContent-Length: 5\r\n\r\nhello")


def test_plug_connectivity_checks_in_a_real_capture() -> None:
    obs = run_dissector(HttpDissector(), shared("pcaps", "nku_lifecycle", "pcaps", "xiaodu_plug", "xiaodu_plug.pcap"))
    requests = [o for o in obs if o.kind == "request"]
    responses = [o for o in obs if o.kind == "response"]
    assert requests and len(requests) == len(responses)
    assert {o.fields["uri"] for o in requests} == {"/generate_204"}
    assert {o.fields["server"] for o in responses} == {"dueros"}
    assert all(o.fields["status"] == 204 for o in responses)
    assert all(o.src_ip == "192.168.1.221" and o.subject == "src" for o in requests)


def test_request_with_body_and_response_in_another_capture() -> None:
    obs = run_dissector(HttpDissector(), shared("pcaps", "ics_iti", "pcaps", "IEC61850", "m-send-req.mms.pcap"))
    request, response = obs
    assert request.fields["user_agent"] == "Mu Dynamics" and request.fields["host"] == "127.0.0.2"
    assert response.fields["content_type"] == "application/vnd.wap.mms-message"
    assert response.fields["headers"]["content-length"] == "23032"


def test_basic_auth_keeps_the_user_never_the_password() -> None:
    (req,) = feed_chunks(HttpDissector(), [(True, REQUEST)])
    f = req.fields
    assert (f["method"], f["uri"], f["version"]) == ("GET", "/cgi-bin/status", "HTTP/1.1")
    assert f["basic_auth"] is True and f["basic_user"] == "admin" and f["password_present"] is True
    assert f["authorization_scheme"] == "Basic"
    assert f["headers"]["authorization"] == "Basic [redacted]"
    assert base64.b64encode(b"admin:hunter2").decode() not in repr(f) and "hunter2" not in repr(f)



def test_response_fields_and_pipelined_messages_with_bodies() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer: lighttpd\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    obs = feed_chunks(HttpDissector(), [
        (True, REQUEST + b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcHEAD / HTTP/1.0\r\n\r\n"),
        (False, RESPONSE + chunked[:30]), (False, chunked[30:] + b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"),
    ])
    assert [o.fields.get("method") for o in obs if o.kind == "request"] == ["GET", "POST", "HEAD"]
    responses = [o.fields for o in obs if o.kind == "response"]
    assert [r["status"] for r in responses] == [401, 200, 200]
    assert responses[0]["www_authenticate"] == 'Basic realm="cam"' and responses[0]["server"] == "GoAhead-Webs"
    assert responses[1]["server"] == "lighttpd"


def test_repeated_headers_are_joined_and_their_number_bounded() -> None:
    many = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 10))
    (req,) = feed_chunks(HttpDissector(), [(True, b"GET / HTTP/1.1\r\nA: 1\r\nA: 2\r\n" + many + b"\r\n")])
    assert req.fields["headers"]["a"] == "1, 2" and len(req.fields["headers"]) == MAX_HEADERS


def test_message_count_per_flow_is_bounded() -> None:
    obs = feed_chunks(HttpDissector(), [(True, b"GET / HTTP/1.1\r\n\r\n" * (MAX_MESSAGES + 5))])
    assert len(obs) == MAX_MESSAGES


def test_oversized_header_section_is_a_parse_error() -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        HttpDissector().feed(Packet(ts=0.0, payload=b""), b"GET / HTTP/1.1\r\nX: " + b"a" * (MAX_HEAD + 10), state)


def test_a_header_section_over_the_limit_is_malformed_even_when_it_arrives_whole() -> None:
    head = b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n"
    with pytest.raises(ParseError):
        HttpDissector().feed(Packet(ts=0.0, payload=b""), head, {})


def test_a_super_packet_of_body_and_the_next_response_keeps_the_connection() -> None:
    """A GRO/TSO delivery of 64 KiB: the body is skipped, the next keep-alive response is read."""
    first = b"HTTP/1.1 200 OK\r\nContent-Length: 60000\r\n\r\n" + b"\x00" * 60000
    second = b"HTTP/1.1 401 Unauthorized\r\nServer: App-webs/\r\nContent-Length: 0\r\n\r\n"
    obs = feed_chunks(HttpDissector(), [(True, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
                                        (False, first + second)])
    assert [(o.kind, o.fields.get("server")) for o in obs] == [("request", None), ("request", None),
                                                              ("response", None), ("response", "App-webs/")]


@pytest.mark.parametrize("to_server", [True, False])
@pytest.mark.parametrize("length", [b"4O", b"-1", b"", b"0x10", b"\xd9\xa3", b"5, 7", b"1" * 16])
def test_a_message_with_an_unusable_content_length_ends_its_direction(to_server: bool, length: bytes) -> None:
    # RFC 9112 §6.3 (5): an invalid Content-Length leaves the framing unrecoverable. Its direction was left open, so
    # the body (here a logged message, as a message/http document holds one, RFC 9112 §10.1) was read as the next
    # message: a request or response the connection never sent
    start = b"POST /log HTTP/1.1\r\nHost: a\r\n" if to_server else b"HTTP/1.1 200 OK\r\nServer: real\r\n"
    logged = (b"GET /made-up HTTP/1.1\r\nHost: made-up\r\n\r\n" if to_server
              else b"HTTP/1.1 299 Made\r\nServer: made-up\r\n\r\n")
    data = start + b"Content-Length: " + length + b"\r\n\r\n" + logged
    d, state = HttpDissector(), {}  # type: ignore[var-annotated]
    if not to_server:
        d.feed(Packet(ts=0.0, payload=b"", to_server=True), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", state)
    pkt = Packet(ts=0.0, payload=data, to_server=to_server)
    with pytest.raises(ParseError, match="Content-Length") as raised:
        d.feed(pkt, data, state)
    assert getattr(raised.value, "made", []) == []
    key = "c2s" if to_server else "s2c"
    assert state.get("closed_" + key) and not state.get(key)
    assert d.feed(pkt, logged, state) == []  # nothing more of the direction is read


@pytest.mark.parametrize("fields", [b"Content-Length: 4, 4\r\n", b"Content-Length: 4\r\nContent-Length: 4\r\n"])
def test_a_content_length_repeated_with_one_value_frames_the_body(fields: bytes) -> None:
    # RFC 9112 §6.3 (5): repeated fields (or a list) of one same value are that value; the next request is read
    data = b"POST /a HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\nbodyGET /b HTTP/1.1\r\nHost: a\r\n\r\n"
    obs = HttpDissector().feed(Packet(ts=0.0, payload=data, to_server=True), data, {})
    assert [o.fields.get("uri") for o in obs if o.kind == "request"] == ["/a", "/b"]


def test_garbage_instead_of_a_request_line_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        HttpDissector().feed(Packet(ts=0.0, payload=b""), b"\x16\x03\x01 hello\r\n\r\n", {})


def test_probe() -> None:
    d = HttpDissector()
    assert d.probe(b"GET /index.html HTTP/1.1\r\nHost: x\r\n", True)
    assert d.probe(b"HTTP/1.1 200 OK\r\n", False)
    assert not d.probe(b"SSH-2.0-x\r\n", True)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(HttpDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(HttpDissector(), chunks)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 400),
       st.integers(0, 400))
def test_fuzz_mutated_messages(edits: list[tuple[int, int]], cut_req: int, cut_resp: int) -> None:
    feed_chunks(HttpDissector(), [(True, mutate(REQUEST, edits, cut_req)), (False, mutate(RESPONSE, edits, cut_resp))])


@pytest.mark.parametrize("port", [631, 80])
def test_tls_on_an_http_port_is_refused_at_its_first_bytes_and_read_as_tls(tmp_path: Any, port: int) -> None:
    # IPPS defaults to 631 (RFC 7472 §4); HTTPS on 80 is a misconfiguration seen in the field: either way
    # HTTP refuses the ClientHello's first byte and the engine hands the flow to TLS, hello included
    from iotwarden.engine.core import Engine
    from tests.engineutil import engine_run
    from tests.risk.harness import client_hello, host, tcp, write_pcap

    path = write_pcap(tmp_path / "t.pcap", tcp(host(1), host(2), port, [(True, client_hello([0x1301, 0xC02F]))]))
    engine = Engine()
    obs, flows = engine_run(path, engine)
    assert [f.app for f in flows] == ["tls"]
    assert [(o.proto, o.kind) for o in obs] == [("tls", "client_hello")]
    assert engine.stats.parse_errors.get("http", 0) <= 1


@pytest.mark.parametrize("first", [b"\x16\x03\x01\x00\x05hello", b"\x00\x00\x00\x1e\x01", b'{"system":{}}'])
def test_bytes_that_cannot_begin_http_end_a_flow_that_was_never_http(first: bytes) -> None:
    pkt = Packet(ts=1.0, payload=first, src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=6, src_port=40000,
                 dst_port=631, to_server=True)
    with pytest.raises(ParseError, match="not the start of an HTTP message"):
        HttpDissector().feed(pkt, first, {})


@pytest.mark.parametrize("pieces", [[b"G", b"ET / HTTP/1.1\r\n\r\n"], [b"\r\n", b"GET / HTTP/1.1\r\n\r\n"],
                                    [b"HT", b"TP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]])
def test_an_http_start_split_anywhere_is_not_refused(pieces: list[bytes]) -> None:
    to_server = not pieces[-1].startswith(b"TP/")
    obs = feed_chunks(HttpDissector(), [(to_server, p) for p in pieces])
    assert len(obs) == 1


@pytest.mark.parametrize("messages", [MAX_MESSAGES, 64])
def test_responses_pair_with_their_own_requests_past_the_pending_methods_limit(
        monkeypatch: pytest.MonkeyPatch, messages: int) -> None:
    """More requests pipelined than MAX_PENDING_METHODS (MAX_MESSAGES raised alone): the answers of those not
    remembered are read without a method, never with a later request's (the HEAD's: its answer has no body, a GET's
    has), so the bodies of keep-alive responses stay framed (brief S b, issue #4)."""
    monkeypatch.setattr(http, "MAX_MESSAGES", messages)
    n = MAX_PENDING_METHODS + 8  # pipelined before any answer: 8 past the limit
    answered = 10
    body = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    obs = feed_chunks(HttpDissector(), [(True, b"GET / HTTP/1.1\r\n\r\n" * n), (False, body * answered),
                                        (True, b"HEAD / HTTP/1.1\r\n\r\n"),
                                        (False, body * (n - answered) + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                                         + b"HTTP/1.1 204 No Content\r\n\r\n")])
    responses = [o.fields["status"] for o in obs if o.kind == "response"]
    requests = min(n, messages) + (messages > n)
    assert responses == [200] * min(n + 1, messages) + [204] * (messages > n + 1)
    assert len([o for o in obs if o.kind == "request"]) == requests


LOGGED_REQUEST = b"GET /made-up HTTP/1.1\r\nHost: made-up\r\n\r\n"  # a body's text that reads as a message
LOGGED_RESPONSE = b"HTTP/1.1 299 Made\r\nServer: made-up\r\n\r\n"


def _read(chunks: list[tuple[bool, bytes]]) -> list[tuple[str, Any]]:
    """What the dissector reports of ``chunks`` fed in order (one state), a ParseError's partial results kept."""
    d, state, seen = HttpDissector(), {}, []  # type: ignore[var-annotated]
    for to_server, data in chunks:
        try:
            obs = d.feed(Packet(ts=0.0, payload=data, to_server=to_server), data, state)
        except ParseError as exc:
            obs = getattr(exc, "made", [])
        seen += [(o.kind, o.fields.get("uri") or o.fields.get("status")) for o in obs]
    return seen


def test_a_malformed_field_line_is_counted_its_message_reported_invalid_and_its_body_still_skipped() -> None:
    # RFC 9112 §5.1: the message is invalid (counted, reported with invalid True: a lenient server answers it), and
    # its Content-Length still frames its body, which was read as the next request ('/made-up') while the field line
    # dropped the whole head's framing
    body = b"POST /b HTTP/1.1\r\nHost: a\r\nBroken header line\r\nContent-Length: %d\r\n\r\n" % len(LOGGED_REQUEST)
    data = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n" + body + LOGGED_REQUEST + b"GET /c HTTP/1.1\r\nHost: a\r\n\r\n"
    assert _read([(True, data)]) == [("request", "/a"), ("request", "/b"), ("request", "/c")]
    with pytest.raises(ParseError, match="malformed header field line") as caught:
        HttpDissector().feed(Packet(ts=0.0, payload=data, to_server=True), data, {})
    assert [(o.fields["uri"], o.fields.get("invalid")) for o in caught.value.made] == [  # type: ignore[attr-defined]
        ("/a", None), ("/b", True), ("/c", None)]


@pytest.mark.parametrize("junk", [b"X-Junk", b"X-Junk : 1", b"\x00"])
def test_one_junk_line_does_not_hide_a_download_or_a_login_from_the_sensor(junk: bytes) -> None:
    # a bot's loader and its own server (or a lenient device server) in league: one field line that is none made the
    # message invalid and, before, unreported: the download's URI, the guess's Basic credentials and the 401 were lost
    request = b"GET /bins/mirai.arm7 HTTP/1.0\r\nUser-Agent: Wget(linux)\r\n" + junk + b"\r\n" + REQUEST.split(
        b"\r\n", 1)[1]
    response = RESPONSE.replace(b"Server: GoAhead-Webs\r\n", b"Server: GoAhead-Webs\r\n" + junk + b"\r\n")
    d, state, obs = HttpDissector(), {}, []  # type: ignore[var-annotated]
    for to_server, data in ((True, request), (False, response)):
        with pytest.raises(ParseError, match="malformed header field line") as caught:  # counted, and reported
            d.feed(Packet(ts=0.0, payload=data, to_server=to_server), data, state)
        obs += caught.value.made  # type: ignore[attr-defined]
    assert [(o.kind, o.fields.get("invalid")) for o in obs] == [("request", True), ("response", True)]
    assert obs[0].fields["uri"] == "/bins/mirai.arm7" and obs[0].fields["basic_auth"] is True
    assert obs[1].fields["status"] == 401 and obs[1].fields["server"] == "GoAhead-Webs"


@pytest.mark.parametrize("to_server", [True, False])
@pytest.mark.parametrize("line", [b"Content-Length : 0", b"X: a\nContent-Length: 0", b"Content-Length: 0\x00",
                                  b"X: a\r\n Transfer-Encoding: chunked", b"Content-Length:\r\n 0"])
def test_a_malformed_or_folded_framing_field_ends_its_direction(to_server: bool, line: bytes) -> None:
    # a lenient reader frames by it ('Content-Length : 0', RFC 9112 §5.1; a bare LF ends a line to some, §2.2; a
    # reader that does not unfold, §5.2), another not: the framing is unknown, as at an invalid Content-Length, so
    # what follows is not read as a message (request smuggling, §11.2)
    start = b"POST /log HTTP/1.1\r\nHost: a\r\n" if to_server else b"HTTP/1.1 200 OK\r\nServer: real\r\n"
    logged = LOGGED_REQUEST if to_server else LOGGED_RESPONSE
    data = start + line + b"\r\nContent-Length: %d\r\n\r\n" % len(logged) + logged
    chunks = [(True, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")] if not to_server else []
    seen = _read([*chunks, (to_server, data), (to_server, logged)])
    assert seen == ([] if to_server else [("request", "/")])


def test_an_obs_fold_is_read_as_a_space_and_the_message_kept() -> None:
    data = b"HTTP/1.1 200 OK\r\nServer: Boa/0.94.13\r\n (embedded)\r\nContent-Length: 2\r\n\r\nok" + LOGGED_RESPONSE
    obs = feed_chunks(HttpDissector(), [(True, b"GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"), (False, data)])
    responses = [o.fields for o in obs if o.kind == "response"]
    assert [r["server"] for r in responses] == ["Boa/0.94.13 (embedded)", "made-up"]


@pytest.mark.parametrize("coding", [b"chunked, gzip", b"identity\r\nContent-Length: 5",
                                    b"chunked\r\nTransfer-Encoding: gzip"])
def test_a_response_whose_final_coding_is_not_chunked_runs_until_close(coding: bytes) -> None:
    # RFC 9112 §6.3 (4): only a final chunked frames chunks; any 'chunked' did, so the last-chunk's bytes ended the
    # body and a message the body's text holds was read
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: " + coding + b"\r\n\r\n0\r\n\r\n" + LOGGED_RESPONSE
    assert _read([(True, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), (False, data)]) == [("request", "/"),
                                                                                   ("response", 200)]


@pytest.mark.parametrize("start", [b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip",
                                   b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity",
                                   b"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked"])
def test_a_request_whose_transfer_coding_frames_nothing_ends_its_direction(start: bytes) -> None:
    # RFC 9112 §6.3 (4): not chunked last, a request's length cannot be told (400 and close); §6.1: Transfer-Encoding
    # in HTTP/1.0 is faulty framing
    data = start + b"\r\n\r\n0\r\n\r\n" + LOGGED_REQUEST
    assert _read([(True, data)]) == []


def test_a_response_framed_by_chunks_in_http_1_0_runs_until_close() -> None:
    data = b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + LOGGED_RESPONSE
    assert _read([(True, b"GET / HTTP/1.0\r\n\r\n"), (False, data)]) == [("request", "/"), ("response", 200)]


def test_transfer_encoding_with_content_length_is_marked_and_what_follows_is_read() -> None:
    # RFC 9112 §6.3 (3): Transfer-Encoding frames it, a sign of request smuggling (§11.2). A server MUST close the
    # connection after answering such a request; one that does not (here it answers the next request with a 204)
    # reads the smuggled request by Transfer-Encoding, as this reader does, so it is reported, not hidden (review R2)
    req = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"
    obs = feed_chunks(HttpDissector(), [(True, req + b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"),
                                        (False, resp + b"HTTP/1.1 204 No Content\r\n\r\n")])
    assert [(o.kind, o.fields.get("uri"), o.fields.get("framing_conflict")) for o in obs] == [
        ("request", "/x", True), ("request", "/smuggled", None), ("response", None, True), ("response", None, None)]


def test_a_content_length_past_the_header_limits_still_frames_the_body() -> None:
    many = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 5))
    data = (b"POST /a HTTP/1.1\r\nHost: a\r\n" + many + b"Content-Length: %d\r\n\r\n" % len(LOGGED_REQUEST)
            + LOGGED_REQUEST + b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
    assert _read([(True, data)]) == [("request", "/a"), ("request", "/b")]


@pytest.mark.parametrize(("request_line", "status"), [(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket", 101),
                                                      (b"CONNECT cam:443 HTTP/1.1\r\nHost: cam:443", 200)])
def test_after_a_protocol_switch_or_a_tunnel_neither_direction_is_read_as_http(request_line: bytes,
                                                                              status: int) -> None:
    # RFC 9110 §15.2.2, RFC 9112 §6.3 (2): from the empty line on the connection carries another protocol, whose
    # bytes (a server's unmasked WebSocket frame, a tunnel's) may hold any text
    answer = b"HTTP/1.1 %d OK\r\nContent-Length: 0\r\n\r\n" % status
    seen = _read([(True, request_line + b"\r\n\r\n"), (False, answer + b"\x81\x7e" + LOGGED_RESPONSE),
                  (True, LOGGED_REQUEST), (False, LOGGED_RESPONSE)])
    assert seen == [("request", request_line.split(b" ")[1].decode()), ("response", status)]


def test_a_101_no_request_asked_for_switches_nothing() -> None:
    # RFC 9110 §7.8: a server MUST NOT switch to a protocol the request's Upgrade did not name; a 101 to a plain GET is
    # an interim answer read past, so a client and server in league cannot blind the sensor with it (review R2)
    seen = _read([(True, b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"),
                  (False, b"HTTP/1.1 101 Switching Protocols\r\n\r\n" + LOGGED_RESPONSE),
                  (True, LOGGED_REQUEST), (False, LOGGED_RESPONSE)])
    # (the final 299 has no length: its body runs to the close, so the second 299 is its body, as any client reads it)
    assert seen == [("request", "/a"), ("response", 101), ("response", 299), ("request", "/made-up")]


def test_a_101_to_a_request_not_seen_still_switches() -> None:
    # the answered request came before the capture began: the switch may be real, so the bytes after it are not HTTP
    seen = _read([(False, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x7e" + LOGGED_RESPONSE),
                  (True, LOGGED_REQUEST)])
    assert seen == [("response", 101)]


def test_chunk_data_not_ended_by_crlf_ends_its_direction() -> None:
    # RFC 9112 §7.1: chunk-data ends with CRLF; '3 abc' then '0' was read as the last-chunk (the bytes there taken for
    # the next chunk-size line), so a reader skipping two bytes after the data framed the rest differently
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc0\r\n\r\n" + LOGGED_RESPONSE
    assert _read([(True, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), (False, data)]) == [("request", "/"),
                                                                                   ("response", 200)]


@pytest.mark.parametrize("status", [b"099", b"000"])
def test_a_status_under_100_is_a_final_answer_with_its_body(status: bytes) -> None:
    # RFC 9110 §15: a code outside 100-599 is invalid and a client processes it as a 5xx, a final answer framed by its
    # Content-Length; it was taken for an interim 1xx (no body, no request answered), so its body was read as the
    # next response and every later answer paired with the request before its own
    data = (b"HTTP/1.1 " + status + b" Odd\r\nContent-Length: %d\r\n\r\n" % len(LOGGED_RESPONSE) + LOGGED_RESPONSE
            + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    seen = _read([(True, b"GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD /h HTTP/1.1\r\nHost: a\r\n\r\n"), (False, data)])
    assert seen == [("request", "/"), ("request", "/h"), ("response", int(status)), ("response", 200)]


@pytest.mark.parametrize(("method", "target"), [(b"GET", b"/" + b"a" * 9000), (b"X" * 30, b"/")])
def test_a_request_line_over_a_servers_limits_does_not_end_its_direction(method: bytes, target: bytes) -> None:
    # RFC 9112 §3 (8000 octets RECOMMENDED at least): a server answers a longer target 414, an unknown method 501, and
    # the connection may go on; the target was held to 8192 bytes and the method to 20, so one such request ended
    # the direction and hid every request after it (an evasion); the head stays within MAX_HEAD
    data = (b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n" + method + b" " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
    obs = feed_chunks(HttpDissector(), [(True, data)])
    assert [o.fields["uri"] for o in obs] == ["/first", target.decode()[:http.MAX_VALUE], "/next"]
    assert obs[1].fields["method"] == method.decode()


# RFC 9112 §2.2: a recipient MAY take a bare LF for a line end; many embedded servers and scripted clients send them
BARE_LF_REQUEST = (b"GET /cgi-bin/login.cgi HTTP/1.1\nHost: 192.168.1.20\nUser-Agent: Hydra\n"
                   b"Authorization: Basic " + base64.b64encode(b"admin:admin") + b"\n\n")
BARE_LF_RESPONSE = (b"HTTP/1.0 401 Unauthorized\nServer: Boa/0.94.14rc21\nWWW-Authenticate: Basic realm=\"IPCam\"\n"
                    b"Content-Length: 5\n\nhello")


@pytest.mark.parametrize("mixed", [False, True])
def test_a_head_whose_lines_end_in_a_bare_lf_is_read(mixed: bool) -> None:
    # every line end an LF alone, or mixed (a request line and empty line of CRLF, fields of LF; a status line of LF,
    # fields of CRLF): the head was never ended ('\r\n\r\n' looked for) nor split at a bare LF, and the direction
    # broke at MAX_HEAD, the credentials and the server's name unseen
    request, response = BARE_LF_REQUEST, BARE_LF_RESPONSE
    if mixed:
        request = request.replace(b" HTTP/1.1\n", b" HTTP/1.1\r\n").replace(b"\n\n", b"\n\r\n")
        response = response.replace(b"\n", b"\r\n").replace(b"Unauthorized\r\n", b"Unauthorized\n")
    obs = feed_chunks(HttpDissector(), [(True, request + b"GET /next HTTP/1.1\nHost: a\n\n"),
                                        (False, response + b"HTTP/1.0 200 OK\nContent-Length: 0\n\n")])
    req, nxt, resp, ok = obs
    assert (req.kind, req.fields["method"], req.fields["uri"], req.fields["version"]) == (
        "request", "GET", "/cgi-bin/login.cgi", "HTTP/1.1")
    assert (req.fields["host"], req.fields["user_agent"]) == ("192.168.1.20", "Hydra")
    assert (req.fields["basic_auth"], req.fields["basic_user"], req.fields["password_present"]) == (True, "admin", True)
    assert req.fields["headers"]["authorization"] == "Basic [redacted]"
    assert (resp.fields["status"], resp.fields["server"], resp.fields["www_authenticate"]) == (
        401, "Boa/0.94.14rc21", 'Basic realm="IPCam"')
    # the body is framed from the empty line on, whatever ends it: the next messages are read
    assert (nxt.fields["uri"], ok.fields["status"]) == ("/next", 200)


def test_a_bare_lf_head_cut_anywhere_is_read_once() -> None:
    data = BARE_LF_REQUEST + b"GET /next HTTP/1.1\nHost: a\n\n"
    for cut in range(1, len(data)):
        obs = feed_chunks(HttpDissector(), [(True, data[:cut]), (True, data[cut:])])
        assert [o.fields["uri"] for o in obs] == ["/cgi-bin/login.cgi", "/next"], cut


def test_a_mixed_head_whose_framing_a_bare_lf_decides_still_ends_its_direction() -> None:
    # 'X: a' LF 'Content-Length: 5' CRLF: a reader taking the LF for a line end frames 5 bytes, one taking it into the
    # value (or turning it into SP, RFC 9110 §5.5) frames none (request smuggling): read as a malformed framing line
    data = b"POST /a HTTP/1.1\r\nHost: a\r\nX: a\nContent-Length: 5\r\n\r\nGET /hidden HTTP/1.1\r\nHost: a\r\n\r\n"
    assert _read([(True, data)]) == []

