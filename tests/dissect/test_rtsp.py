"""RTSP dissector: the RFC 2326 examples, interleaved RTP, segmentation, limits, a lab camera stream through
the engine, and hostile input."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.rtsp import (
    MAX_HEAD,
    MAX_HEADERS,
    MAX_LOGINS,
    MAX_MESSAGES,
    MAX_PENDING,
    MAX_PUBLIC,
    MAX_VALUE,
    RtspDissector,
)
from iotwarden.engine.core import Engine
from iotwarden.errors import ParseError
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate
from tests.engine.losscheck import session
from tests.engineutil import engine_run
from tests.risk.harness import client_hello, host, tcp, write_pcap

SCENARIOS = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "scenarios"

# RFC 2326 §10.2 (DESCRIBE) and its SDP, RFC 2326 §10.1 (OPTIONS)
SDP = (b"v=0\r\no=mhandley 2890844526 2890842807 IN IP4 126.16.64.4\r\ns=SDP Seminar\r\n"
       b"i=A Seminar on the session description protocol\r\nu=http://www.cs.ucl.ac.uk/staff/M.Handley/sdp.03.ps\r\n"
       b"e=mjh@isi.edu (Mark Handley)\r\nc=IN IP4 224.2.17.12/127\r\nt=2873397496 2873404696\r\na=recvonly\r\n"
       b"m=audio 3456 RTP/AVP 0\r\nm=video 2232 RTP/AVP 31\r\nm=whiteboard 32416 UDP WB\r\na=orient:portrait\r\n")
DESCRIBE = (b"DESCRIBE rtsp://server.example.com/fizzle/foo RTSP/1.0\r\nCSeq: 312\r\n"
            b"Accept: application/sdp, application/rtsl, application/mheg\r\n\r\n")
DESCRIBED = (b"RTSP/1.0 200 OK\r\nCSeq: 312\r\nDate: 23 Jan 1997 15:35:06 GMT\r\nContent-Type: application/sdp\r\n"
             b"Content-Length: %d\r\n\r\n" % len(SDP)) + SDP
OPTIONS = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nRequire: implicit-play\r\nProxy-Require: gzipped-messages\r\n\r\n"
OPTIONS_OK = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE\r\n\r\n"


def _rtp_over_tcp(channel: int, payload: bytes) -> bytes:
    """RFC 2326 §10.12: '$', the channel, the 16-bit length, then the RTP packet."""
    return b"$" + bytes([channel]) + len(payload).to_bytes(2, "big") + payload


def _fields(obs: list[Observation], kind: str) -> list[dict[str, Any]]:
    return [o.fields for o in obs if o.kind == kind]


def test_options_and_describe_as_rfc_2326_shows_them() -> None:
    obs = feed_chunks(RtspDissector(), [(True, OPTIONS), (False, OPTIONS_OK), (True, DESCRIBE), (False, DESCRIBED)])
    options, describe = _fields(obs, "request")
    assert (options["method"], options["uri"], options["path"], options["cseq"]) == ("OPTIONS", "*", None, 1)
    assert (describe["method"], describe["uri"], describe["path"], describe["version"]) == (
        "DESCRIBE", "rtsp://server.example.com/fizzle/foo", "/fizzle/foo", "RTSP/1.0")
    public, described = _fields(obs, "response")
    assert public["method"] == "OPTIONS" and public["public"] == ["DESCRIBE", "SETUP", "TEARDOWN", "PLAY", "PAUSE"]
    assert (described["status"], described["cseq"], described["method"]) == (200, 312, "DESCRIBE")
    assert described["session_name"] == "SDP Seminar"
    assert described["session_info"] == "A Seminar on the session description protocol"
    assert described["media"] == ["audio", "video", "whiteboard"]
    assert described["codecs"] == ["PCMU", "H261"]  # static payload types 0 and 31, RFC 3551 §6
    # a request describes the client, a response the server: each is its sender's own message
    assert [(o.kind, o.src_ip, o.subject) for o in obs][:2] == [("request", "10.0.0.1", "src"),
                                                               ("response", "10.0.0.2", "src")]


def test_a_camera_session_with_interleaved_rtp_between_messages() -> None:
    setup = (b"SETUP rtsp://10.0.0.2/Streaming/Channels/101/trackID=1 RTSP/1.0\r\nCSeq: 3\r\n"
             b"User-Agent: LibVLC/3.0.20 (LIVE555 Streaming Media v2016.11.28)\r\n"
             b"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n")
    setup_ok = (b"RTSP/1.0 200 OK\r\nCSeq: 3\r\nServer: Hikvision-Webs\r\nSession: 1273222592;timeout=60\r\n"
                b"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n")
    play = b"PLAY rtsp://10.0.0.2/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 4\r\nSession: 1273222592\r\n\r\n"
    play_ok = b"RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: 1273222592\r\n\r\n"
    # an RTP packet whose bytes look like an RTSP message: framing, not content, decides
    decoy = _rtp_over_tcp(0, b"\x80\x60\x00\x01" + b"\x00" * 8 + b"RTSP/1.0 500 Oops\r\n\r\n")
    stream = decoy + _rtp_over_tcp(0, bytes(1400)) + _rtp_over_tcp(1, b"\x80\xc8" + bytes(26))  # RTP, RTCP SR
    teardown = b"TEARDOWN rtsp://10.0.0.2/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 5\r\nSession: 1273222592\r\n\r\n"
    teardown_ok = b"RTSP/1.0 200 OK\r\nCSeq: 5\r\nServer: Hikvision-Webs\r\n\r\n"
    rtcp_rr = _rtp_over_tcp(1, b"\x80\xc9\x00\x01" + bytes(4))  # the client's receiver report
    obs = feed_chunks(RtspDissector(), [
        (True, setup), (False, setup_ok), (True, play), (False, play_ok + stream[:700]), (False, stream[700:]),
        (True, rtcp_rr + teardown), (False, stream + teardown_ok),
    ])
    requests = _fields(obs, "request")
    assert [r["method"] for r in requests] == ["SETUP", "PLAY", "TEARDOWN"]
    assert requests[0]["user_agent"] == "LibVLC/3.0.20 (LIVE555 Streaming Media v2016.11.28)"
    assert requests[0]["transport"] == "RTP/AVP/TCP;unicast;interleaved=0-1"
    responses = _fields(obs, "response")
    assert [(r["status"], r["method"]) for r in responses] == [(200, "SETUP"), (200, "PLAY"), (200, "TEARDOWN")]
    assert responses[-1]["server"] == "Hikvision-Webs"


def test_a_message_split_anywhere_gives_the_same_observation() -> None:
    whole = feed_chunks(RtspDissector(), [(True, DESCRIBE), (False, DESCRIBED)])
    for cut in (1, 17, len(DESCRIBED) - len(SDP) - 2, len(DESCRIBED) - 5):
        split = feed_chunks(RtspDissector(), [(True, DESCRIBE), (False, DESCRIBED[:cut]), (False, DESCRIBED[cut:])])
        assert [o.fields for o in split] == [o.fields for o in whole]
    byte_by_byte = feed_chunks(RtspDissector(), [(True, DESCRIBE)] + [(False, bytes([b])) for b in DESCRIBED])
    assert [o.fields for o in byte_by_byte] == [o.fields for o in whole]


def test_a_password_in_the_uri_is_left_out_and_only_the_clients_requests_name_a_path() -> None:
    describe = (b"DESCRIBE rtsp://admin:hunter2@10.0.0.2:554/cam/realmonitor?channel=1&subtype=0 RTSP/1.0\r\n"
                b"CSeq: 2\r\n\r\n")
    answer = (b"RTSP/1.0 404 Not Found\r\nCSeq: 2\r\n"
              b"Content-Base: rtsp://admin:hunter2@10.0.0.2:554/cam/realmonitor/\r\n\r\n")
    server_asks = b"GET_PARAMETER rtsp://10.0.0.1/ RTSP/2.0\r\nCSeq: 7\r\n\r\n"  # RFC 7826 §13.8, server to client
    obs = feed_chunks(RtspDissector(), [(True, describe), (False, answer + server_asks)])
    request, asked = [o for o in obs if o.kind == "request"]
    (response,) = [o for o in obs if o.kind == "response"]
    assert request.fields["uri"] == "rtsp://admin@10.0.0.2:554/cam/realmonitor?channel=1&subtype=0"
    assert request.fields["path"] == "/cam/realmonitor"
    assert (request.fields["uri_user"], request.fields["uri_password_present"]) == ("admin", True)
    assert response.fields["content_base"] == "rtsp://admin@10.0.0.2:554/cam/realmonitor/"
    assert "hunter2" not in repr([request.fields, response.fields])
    assert asked.kind == "request" and asked.fields["path"] is None
    # the password crossed the network in the request line: the login it made is the one place it is kept
    (login,) = [o for o in obs if o.kind == "login_attempt"]
    assert (login.fields["username"], login.fields["password"], login.fields["sent_in"]) == ("admin", "hunter2", "uri")
    assert (login.fields["status"], login.fields["result"]) == (404, "unknown")


def test_credentials_are_never_kept_and_the_realm_is() -> None:
    challenge = (b'RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm="AXIS_ACCC8E012345", '
                 b'nonce="0000eb57"\r\nServer: GStreamer RTSP server\r\n\r\n')
    retry = (b"DESCRIBE rtsp://host/axis-media/media.amp RTSP/1.0\r\nCSeq: 3\r\n"
             b'Authorization: Digest username="root", realm="AXIS_ACCC8E012345", response="8308595e"\r\n'
             b"User-Agent: HASS Axis\r\n\r\n")
    obs = feed_chunks(RtspDissector(), [(False, challenge), (True, retry)])
    response, request = obs
    assert response.fields["www_authenticate"].startswith('Digest realm="AXIS_ACCC8E012345"')
    assert request.fields["authorization_scheme"] == "Digest"
    assert "8308595e" not in repr(request.fields) and "root" not in repr(request.fields)


def _basic(user: str, password: str) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()) + b"\r\n"


BASIC_CHALLENGE = b'RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Basic realm="Hikvision"\r\n\r\n'


def _describe(cseq: int, extra: bytes = b"") -> bytes:
    return b"DESCRIBE rtsp://10.0.0.2/Streaming/Channels/101 RTSP/1.0\r\nCSeq: %d\r\n%s\r\n" % (cseq, extra)


def test_basic_credentials_after_a_challenge_make_one_login_about_the_server() -> None:
    """RFC 2326 §12.5 / RFC 7617 §2: the retry carries base64(user ':' password); its answer decides the login.
    Every later request re-sends the pair: the same pair and outcome make no second login."""
    ok = b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nServer: Hikvision-Webs\r\n\r\n"
    obs = feed_chunks(RtspDissector(), [
        (True, _describe(2)), (False, BASIC_CHALLENGE),
        (True, _describe(3, _basic("admin", "12345"))), (False, ok % 3),
        (True, b"PLAY rtsp://10.0.0.2/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 4\r\n" + _basic("admin", "12345")
         + b"\r\n"), (False, ok % 4),
    ])
    first, retry, play = _fields(obs, "request")
    assert (first["authorization_scheme"], first["basic_auth"], first["basic_user"]) == (None, False, None)
    assert (retry["authorization_scheme"], retry["basic_auth"], retry["basic_user"]) == ("Basic", True, "admin")
    assert retry["password_present"] and play["basic_user"] == "admin"
    assert "12345" not in repr([o.fields for o in obs if o.kind != "login_attempt"])
    (login,) = [o for o in obs if o.kind == "login_attempt"]
    assert login.fields == {"username": "admin", "password": "12345", "sent_in": "authorization",
                            "method": "DESCRIBE", "status": 200, "result": "success"}
    assert (login.src_ip, login.dst_ip, login.subject) == ("10.0.0.1", "10.0.0.2", "dst")


def test_refused_logins_and_a_percent_encoded_uri_password() -> None:
    refused = b"RTSP/1.0 401 Unauthorized\r\nCSeq: %d\r\n\r\n"
    obs = feed_chunks(RtspDissector(), [
        (True, _describe(2, _basic("admin", "admin"))), (False, refused % 2),
        (True, b"DESCRIBE rtsp://admin:p%40ss@10.0.0.2/live RTSP/1.0\r\nCSeq: 3\r\n\r\n"),
        (False, b"RTSP/1.0 403 Forbidden\r\nCSeq: 3\r\n\r\n"),
    ])
    logins = [o.fields for o in obs if o.kind == "login_attempt"]
    assert [(f["username"], f["password"], f["sent_in"], f["result"]) for f in logins] == [
        ("admin", "admin", "authorization", "failure"), ("admin", "p@ss", "uri", "failure")]


def test_digest_a_user_without_password_and_a_token_that_is_no_base64_make_no_login() -> None:
    digest = b'Authorization: Digest username="admin", realm="Hikvision", nonce="4e5", response="9a0b"\r\n'
    answers = b"".join(b"RTSP/1.0 200 OK\r\nCSeq: %d\r\n\r\n" % n for n in (2, 3, 4))
    obs = feed_chunks(RtspDissector(), [
        (True, _describe(2, digest) + _describe(3, b"Authorization: Basic !!not-base64\r\n")
         + b"DESCRIBE rtsp://viewer@10.0.0.2/live RTSP/1.0\r\nCSeq: 4\r\n\r\n"),
        (False, answers),
    ])
    assert [o.kind for o in obs] == ["request"] * 3 + ["response"] * 3
    digest_req, bad, user_only = _fields(obs, "request")
    assert digest_req["authorization_scheme"] == "Digest" and not digest_req["basic_auth"]
    assert "9a0b" not in repr(digest_req) and "admin" not in repr(digest_req)
    assert bad["authorization_scheme"] == "Basic" and not bad["basic_auth"]
    assert (user_only["uri_user"], user_only["uri_password_present"]) == ("viewer", False)


def test_a_response_says_whether_its_request_carried_credentials() -> None:
    """The first 401 challenges a request without credentials; a 401 to a Digest or Basic retry refuses them
    (RFC 2326 §7.1.1): what detect.bruteforce.rtsp counts."""
    digest = b'Authorization: Digest username="admin", realm="Hikvision", nonce="4e5", response="9a0b"\r\n'
    refused = b"RTSP/1.0 401 Unauthorized\r\nCSeq: %d\r\n\r\n"
    obs = feed_chunks(RtspDissector(), [
        (True, _describe(2)), (False, refused % 2),
        (True, _describe(3, digest)), (False, refused % 3),
        (True, _describe(4, _basic("admin", "admin"))), (False, b"RTSP/1.0 200 OK\r\nCSeq: 4\r\n\r\n"),
        (False, b"RTSP/1.0 401 Unauthorized\r\nCSeq: 9\r\n\r\n"),  # answers no request seen: not known
    ])
    assert [(f["status"], f["credentials_sent"]) for f in _fields(obs, "response")] == [
        (401, False), (401, True), (200, True), (401, None)]


def test_a_clients_answer_to_a_servers_request_is_no_login_and_logins_per_flow_are_bounded() -> None:
    # RFC 7826 §13.8: a server may send GET_PARAMETER; the client's answer reuses a CSeq of the server's space
    server_asks = b"GET_PARAMETER rtsp://10.0.0.1/ RTSP/1.0\r\nCSeq: 2\r\n\r\n"
    obs = feed_chunks(RtspDissector(), [
        (True, _describe(2, _basic("admin", "admin"))), (False, server_asks),
        (True, b"RTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n"), (False, b"RTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n"),
    ])
    (login,) = [o for o in obs if o.kind == "login_attempt"]
    assert login.fields["result"] == "success" and login.src_ip == "10.0.0.1"
    guesses = [(True, _describe(n, _basic("admin", f"guess{n}"))) for n in range(1, MAX_LOGINS + 6)]
    refusals = [(False, b"RTSP/1.0 401 Unauthorized\r\nCSeq: %d\r\n\r\n" % n) for n in range(1, MAX_LOGINS + 6)]
    obs = feed_chunks(RtspDissector(), [x for pair in zip(guesses, refusals, strict=True) for x in pair])
    assert len([o for o in obs if o.kind == "login_attempt"]) == MAX_LOGINS


def test_an_announced_sdp_is_the_clients_and_a_body_that_is_no_sdp_is_skipped() -> None:
    sdp = b"v=0\r\ns=cam\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n"
    announce = (b"ANNOUNCE rtsp://media.example.com/live/cam1 RTSP/1.0\r\nCSeq: 2\r\nContent-Type: application/sdp\r\n"
                b"Content-Length: %d\r\n\r\n" % len(sdp)) + sdp
    parameters = (b"GET_PARAMETER rtsp://x/ RTSP/1.0\r\nCSeq: 3\r\nContent-Type: text/parameters\r\n"
                  b"Content-Length: 7\r\n\r\n")
    obs = feed_chunks(RtspDissector(), [(True, announce + parameters + b"packets"),
                                        (True, b"OPTIONS * RTSP/1.0\r\nCSeq: 4\r\n\r\n")])
    announced, get, options = _fields(obs, "request")
    assert announced["method"] == "ANNOUNCE" and announced["codecs"] == ["H265"] and announced["media"] == ["video"]
    assert get["method"] == "GET_PARAMETER" and "media" not in get
    assert options["cseq"] == 4


def test_rtsp_2_and_an_airplay_style_request_and_leading_empty_lines() -> None:
    obs = feed_chunks(RtspDissector(), [
        (True, b"\r\nPOST /pair-verify RTSP/1.0\r\nCSeq: 0\r\nUser-Agent: AirPlay/550.10\r\n"
               b"Content-Length: 4\r\n\r\nabcd"),
        (False, b"RTSP/2.0 200 OK\r\nCSeq: 0\r\nServer: AirTunes/550.10\r\nContent-Length: 2\r\n\r\nok"),
    ])
    request, response = obs
    assert (request.fields["method"], request.fields["uri"], request.fields["path"]) == (
        "POST", "/pair-verify", "/pair-verify")
    assert (response.fields["version"], response.fields["server"]) == ("RTSP/2.0", "AirTunes/550.10")


def test_probe_tells_rtsp_from_http_both_ways() -> None:
    rtsp, http = RtspDissector(), HttpDissector()
    assert rtsp.probe(DESCRIBE, True) and rtsp.probe(OPTIONS, True) and rtsp.probe(OPTIONS_OK, False)
    assert rtsp.probe(b"SETUP rtsps://cam.example/s RTSP/2.0\r\n", True)
    assert rtsp.probe(b"GET /info RTSP/1.0\r\nCSeq: 0\r\n", True)
    assert not rtsp.probe(b"GET / HTTP/1.1\r\nHost: x\r\n", True) and not rtsp.probe(b"HTTP/1.1 200 OK\r\n", False)
    assert not rtsp.probe(b"RTSP/1.0 200 OK\r\n", True) and not rtsp.probe(OPTIONS, False)
    assert not http.probe(DESCRIBE, True) and not http.probe(OPTIONS_OK, False)


def test_garbage_closes_its_direction_and_the_other_goes_on() -> None:
    d = RtspDissector()
    state: dict[str, Any] = {}
    (first,) = d.feed(Packet(ts=0.0, payload=b"", to_server=True), DESCRIBE, state)
    with pytest.raises(ParseError):
        d.feed(Packet(ts=0.0, payload=b"", to_server=False), b"\x16\x03\x01 hello\r\n\r\n", state)
    assert state["closed_s2c"] and not state.get("done")
    assert d.feed(Packet(ts=0.0, payload=b"", to_server=False), OPTIONS_OK, state) == []
    (req,) = d.feed(Packet(ts=0.0, payload=b"", to_server=True), OPTIONS, state)
    assert (first.fields["method"], req.fields["method"]) == ("DESCRIBE", "OPTIONS")


@pytest.mark.parametrize(("to_server", "data"), [
    (True, b"\x16\x03\x01\x00"),  # a TLS record header: refused before a line or head could end
    (True, b"\x00\x01\x00\x00\x00\x06\x01\x03"),  # Modbus/TCP (MBAP)
    (False, b"SSH-2.0-OpenSSH_8.4\r\n"),  # a server that speaks first, and not RTSP
    (True, b"GET /index.html HTTP/1.1\r\nHost: cam"),  # a complete first line that is HTTP's: refused at once
    (True, b"A" * 40),  # longer than any method token
])
def test_bytes_that_cannot_begin_rtsp_end_a_flow_that_was_never_rtsp(to_server: bool, data: bytes) -> None:
    """Found on real captures moved onto tcp/554 (QA, issue #3): RTSP waited on TLS, Modbus or DNP3 bytes until
    MAX_HEAD and kept the flow from the dissector whose probe would have claimed it."""
    state: dict[str, Any] = {}
    with pytest.raises(ParseError):
        RtspDissector().feed(Packet(ts=0.0, payload=b"", to_server=to_server), data, state)
    assert state["done"]


@pytest.mark.parametrize("piece", [b"D", b"DESCRI", b"DESCRIBE ", b"R", b"RTSP/", b"\r", b"$\x00"])
def test_the_start_of_a_message_is_waited_on_however_little_arrived(piece: bytes) -> None:
    state: dict[str, Any] = {}
    assert RtspDissector().feed(Packet(ts=0.0, payload=b"", to_server=True), piece, state) == []
    assert not state.get("done") and not state.get("closed_c2s")


def test_a_gap_makes_its_direction_look_for_the_next_message_head() -> None:
    # the partial answer is dropped, the rest of it read as no message, the next head (CSeq and all) read on
    # (streambuf.MessageStream resync_start; tests/dissect/test_rtsp_loss.py through the engine)
    d = RtspDissector()
    state: dict[str, Any] = {}
    server, client = Packet(ts=0.0, payload=b"", to_server=False), Packet(ts=0.0, payload=b"", to_server=True)
    d.feed(server, OPTIONS_OK[:10], state)
    d.gap(state, False)
    assert state["resync_s2c"] and "s2c" not in state and not state.get("done") and not state.get("closed_s2c")
    (req,) = d.feed(client, OPTIONS, state)
    assert req.kind == "request"
    assert d.feed(server, OPTIONS_OK[10:], state) == []
    (resp,) = d.feed(server, OPTIONS_OK, state)
    assert (resp.kind, resp.fields["cseq"], resp.fields["method"]) == ("response", 1, "OPTIONS")
    d.gap(state, True)
    assert state["resync_c2s"] and not state.get("done")


@pytest.mark.parametrize("head", [
    b"OPTIONS * RTSP/1.0\r\nX: " + b"a" * (MAX_HEAD + 10),  # header section past the limit, never ended
    b"OPTIONS * RTSP/1.0\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n",  # past the limit, ended in the same delivery
    b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: -5\r\n\r\n",  # RFC 2326 §12.14: a decimal number
])
def test_malformed_heads_are_parse_errors(head: bytes) -> None:
    with pytest.raises(ParseError):
        RtspDissector().feed(Packet(ts=0.0, payload=b""), head, {})


def test_message_count_and_remembered_cseqs_are_bounded() -> None:
    many = b"".join(b"GET_PARAMETER rtsp://x/ RTSP/1.0\r\nCSeq: %d\r\n\r\n" % i for i in range(MAX_MESSAGES + 5))
    state: dict[str, Any] = {}
    obs = RtspDissector().feed(Packet(ts=0.0, payload=b""), many, state)
    assert len(obs) == MAX_MESSAGES and state["closed_c2s"]
    assert len(state["pending"]) == MAX_PENDING


def test_header_lines_values_and_public_methods_are_bounded() -> None:
    filler = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS))
    late = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n" + filler + b"Server: too late\r\n\r\n"
    methods = b", ".join(b"M%d" % i for i in range(MAX_PUBLIC + 8))
    long = b"RTSP/1.0 200 OK\r\nServer: " + b"s" * (2 * MAX_VALUE) + b"\r\nPublic: " + methods + b"\r\n\r\n"
    first, second = feed_chunks(RtspDissector(), [(False, late + long)])
    assert first.fields["cseq"] == 1 and first.fields["server"] is None  # past MAX_HEADERS lines: not read
    assert len(second.fields["server"]) == MAX_VALUE and len(second.fields["public"]) == MAX_PUBLIC


def test_an_sdp_body_too_large_to_describe_is_skipped_whole() -> None:
    body = b"v=0\r\ns=" + b"x" * 9000 + b"\r\n"
    answer = (b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n" % len(body)
              + body + OPTIONS_OK)
    first, second = feed_chunks(RtspDissector(), [(False, answer[:5000]), (False, answer[5000:])])
    assert "session_name" not in first.fields and second.fields["public"]


@pytest.fixture(scope="module")
def lab_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rtsp-lab")
    generate(load_scenario(SCENARIOS / "small.yaml"), out / "small.pcap", out / "small.json")
    return out / "small.pcap"


def test_the_lab_cameras_stream_is_dissected_through_the_engine(lab_capture: Path) -> None:
    engine = Engine()
    obs, flows = engine_run(lab_capture, engine)
    assert not engine.stats.parse_errors.get("rtsp")
    rtsp = [o for o in obs if o.proto == "rtsp"]
    # small.yaml: the camera challenges the first DESCRIBE for Digest and the recorder retries with credentials
    assert [o.fields["method"] for o in rtsp if o.kind == "request"] == [
        "OPTIONS", "DESCRIBE", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN"]
    assert [o.fields["authorization_scheme"] for o in rtsp if o.kind == "request"] == [None, None] + ["Digest"] * 4
    challenged, described = [o for o in rtsp if o.kind == "response" and o.fields["method"] == "DESCRIBE"]
    assert challenged.fields["status"] == 401
    assert challenged.fields["www_authenticate"].startswith('Digest realm="AXIS_ACCC8E4A1001", nonce="')
    assert not [o for o in rtsp if o.kind == "login_attempt"]  # Digest sends no password
    camera = described.src_ip
    assert described.fields["server"] == "GStreamer RTSP server"
    assert described.fields["media"] == ["video"] and described.fields["codecs"] == ["H264"]
    assert {o.fields["user_agent"] for o in rtsp if o.kind == "request"} == {"LIVE555 Streaming Media v2020.08.19"}
    served = [f for f in flows if f.app == "rtsp"]
    assert served and all(f.b_ip == camera and f.b_port == 554 for f in served)


@pytest.mark.parametrize("port", [8554, 10554, 8080])  # listed; unlisted (probe); HTTP's (HTTP rejects, RTSP claims)
def test_rtsp_is_found_on_its_ports_by_probe_and_after_http_rejects_it(tmp_path: Path, port: int) -> None:
    frames = tcp(host(1), host(2), port, [(True, OPTIONS), (False, OPTIONS_OK), (True, DESCRIBE), (False, DESCRIBED)])
    obs, flows = engine_run(write_pcap(tmp_path / "rtsp.pcap", frames))
    assert [(o.proto, o.kind) for o in obs] == [("rtsp", "request"), ("rtsp", "response")] * 2
    (flow,) = flows
    assert flow.app == "rtsp" and flow.b_port == port


def test_rtsp_tunnelled_in_http_on_554_is_left_to_http(tmp_path: Path) -> None:
    """QuickTime's RTSP-over-HTTP (an HTTP GET with x-sessioncookie) on the RTSP port: RTSP rejects it and HTTP's
    probe takes the flow (engine/dispatch.py fall-back)."""
    get = (b"GET /Streaming/Channels/101 HTTP/1.0\r\nx-sessioncookie: 9f2d3a\r\n"
           b"Accept: application/x-rtsp-tunnelled\r\n\r\n")
    ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/x-rtsp-tunnelled\r\nContent-Length: 0\r\n\r\n"
    frames = tcp(host(1), host(2), 554, [(True, get), (False, ok)])
    obs, flows = engine_run(write_pcap(tmp_path / "tunnel.pcap", frames))
    assert {o.proto for o in obs} == {"http"} and flows[0].app == "http"


@pytest.mark.parametrize(("server_first", "data", "app", "kind"), [
    (False, client_hello([0xC02F, 0x1301]), "tls", "client_hello"),  # RFC 5246 §7.4.1.2
    (True, b"SSH-2.0-OpenSSH_8.4p1 Debian-5\r\n", "ssh", "banner"),  # RFC 4253 §4.2
])
def test_another_protocol_on_554_goes_to_its_own_dissector(tmp_path: Path, server_first: bool, data: bytes, app: str,
                                                           kind: str) -> None:
    """QA of issue #3 on real captures moved onto tcp/554: their TLS flows (a Tapo plug's, Xiaodu's) were named
    rtsp and described by nothing; RTSP now refuses their first bytes and the engine's fall-back finds them."""
    engine = Engine()
    frames = tcp(host(1), host(2), 554, [(not server_first, data)])
    obs, flows = engine_run(write_pcap(tmp_path / "other.pcap", frames), engine)
    (flow,) = flows
    assert flow.app == app and (app, kind) in {(o.proto, o.kind) for o in obs}
    assert engine.stats.rejected_before_confirmation["rtsp"] == 1 and not engine.stats.analyzer_errors
    assert not engine.stats.parse_errors  # another protocol on tcp/554, not malformed RTSP


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(RtspDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=6))
def test_fuzz_random_bytes(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(RtspDissector(), chunks)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 700),
       st.integers(0, 700))
def test_fuzz_mutated_messages(edits: list[tuple[int, int]], cut_req: int, cut_resp: int) -> None:
    interleaved = _rtp_over_tcp(0, bytes(40))
    feed_chunks(RtspDissector(), [(True, mutate(DESCRIBE + OPTIONS, edits, cut_req)),
                                  (False, mutate(DESCRIBED + interleaved + OPTIONS_OK, edits, cut_resp))])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=8), st.integers(0, 400),
       st.integers(0, 200))
def test_fuzz_mutated_logins(edits: list[tuple[int, int]], cut_req: int, cut_resp: int) -> None:
    requests = _describe(3, _basic("admin", "12345")) + b"DESCRIBE rtsp://u:p%41@h/x RTSP/1.0\r\nCSeq: 4\r\n\r\n"
    answers = b"RTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\nRTSP/1.0 401 Unauthorized\r\nCSeq: 4\r\n\r\n"
    feed_chunks(RtspDissector(), [(True, mutate(requests, edits, cut_req)),
                                  (False, mutate(answers, edits, cut_resp))])


def test_an_answer_whose_request_the_capture_lost_does_not_say_no_credentials_were_sent() -> None:
    # a DESCRIBE with credentials lost (a SPAN port's drop): its 401 answer must not read as a challenge to a
    # request without them, nor its 200 as a stream handed out without them (RFC 2326 §7.1.1)
    auth = b"Authorization: Basic " + base64.b64encode(b"admin:admin") + b"\r\n\r\n"
    describe = DESCRIBE.replace(b"\r\n\r\n", b"\r\n" + auth, 1)
    messages = [(True, OPTIONS), (False, OPTIONS_OK), (True, describe), (False, DESCRIBED)]
    whole = _fields(session(messages, 554), "response")
    assert [(f["method"], f["credentials_sent"]) for f in whole] == [("OPTIONS", False), ("DESCRIBE", True)]
    lossy = _fields(session(messages, 554, lost=(2,)), "response")
    assert [(f["method"], f["credentials_sent"]) for f in lossy] == [("OPTIONS", False), (None, None)]
