"""risk.rtsp.unauthenticated_stream: a camera that hands its stream to a client that sent no credentials."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.risk.checks.rtsp_unauthenticated_stream import (
    MAX_AUTHENTICATED_CONNECTIONS,
    MAX_PENDING_REQUESTS,
    RtspUnauthenticatedStream,
)
from iotwarden.risk.scorer import device_score
from tests.risk.harness import analyse, found, host, key_of, tcp, write_pcap

ID = "risk.rtsp.unauthenticated_stream"
CAMERA = "mac:02:00:00:00:00:14"  # host(20)
PATH = "/Streaming/Channels/101"
VIDEO_SDP = (b"v=0\r\no=- 1 1 IN IP4 10.9.0.20\r\ns=Media Presentation\r\nt=0 0\r\n"
             b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n")
DIGEST = ('Digest username="nvr", realm="Hikvision", nonce="5f2a0c", uri="rtsp://10.9.0.20:554{path}", '
          'response="6629fae49393a05397450978507c4ef1"')
CHALLENGE = {"digest": 'Digest realm="Hikvision", nonce="5f2a0c", stale="FALSE"', "basic": 'Basic realm="Hikvision"'}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def rtsp_capture(path: Path, *, auth: str | None = None, challenge: str | None = None, retry: bool = True,
                 uri_userinfo: str = "", methods: tuple[str, ...] = ("DESCRIBE", "SETUP", "PLAY"),
                 sdp: bytes = VIDEO_SDP) -> Path:
    """A client 10.9.0.10 viewing camera 10.9.0.20:554. With ``challenge`` ("digest"/"basic") the first
    DESCRIBE has no credentials and is answered 401; then, when ``retry``, every request carries ``auth``
    (an Authorization value). Without ``challenge`` every request carries ``auth`` (or nothing)."""
    url = f"rtsp://{uri_userinfo}10.9.0.20:554{PATH}"
    server = "Server: Hikvision-Webs\r\n"
    exchanges: list[tuple[bool, bytes]] = []
    cseq = 1

    def request(method: str, credentials: str | None) -> None:
        nonlocal cseq
        header = f"Authorization: {credentials.format(path=PATH)}\r\n" if credentials else ""
        exchanges.append((True, f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: Lavf58.76.100\r\n"
                                f"{header}\r\n".encode()))

    def answer(status: str, extra: str = "", body: bytes = b"") -> None:
        nonlocal cseq
        if body:
            extra += f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n"
        exchanges.append((False, f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{server}{extra}\r\n".encode() + body))
        cseq += 1

    request("OPTIONS", None)
    answer("200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n")
    if challenge:
        request("DESCRIBE", None)
        answer("401 Unauthorized", f"WWW-Authenticate: {CHALLENGE[challenge]}\r\n")
        if not retry:
            return write_pcap(path, tcp(host(10), host(20), 554, exchanges))
    for method in methods:
        request(method, auth)
        extra = "Session: 7A3F0C21;timeout=60\r\n" if method in ("SETUP", "PLAY", "RECORD") else ""
        answer("200 OK", extra, sdp if method == "DESCRIBE" else b"")
    return write_pcap(path, tcp(host(10), host(20), 554, exchanges))


def test_a_stream_described_and_played_without_credentials_is_high(tmp_path: Path) -> None:
    ctx, _ = analyse(rtsp_capture(tmp_path / "open.pcap"))
    finding = found(ctx, ID)[CAMERA]
    assert finding.severity == "high"
    assert finding.evidence["clients"] == ["10.9.0.10"]
    assert finding.evidence["paths"] == [PATH]
    assert finding.evidence["methods"] == ["DESCRIBE", "PLAY"]
    assert finding.evidence["media"] == ["video"]
    assert finding.evidence["servers"] == ["Hikvision-Webs"]


def test_a_challenge_then_the_authorised_retry_is_no_finding(tmp_path: Path) -> None:
    for scheme, credentials in (("digest", DIGEST), ("basic", basic("nvr", "Kx8!vR2q"))):
        ctx, _ = analyse(rtsp_capture(tmp_path / f"{scheme}.pcap", auth=credentials, challenge=scheme))
        assert found(ctx, ID) == {}, scheme


def test_a_refused_request_never_retried_is_no_finding(tmp_path: Path) -> None:
    ctx, _ = analyse(rtsp_capture(tmp_path / "refused.pcap", challenge="digest", retry=False))
    assert found(ctx, ID) == {}


def test_credentials_in_the_uri_are_credentials(tmp_path: Path) -> None:
    ctx, _ = analyse(rtsp_capture(tmp_path / "uri.pcap", uri_userinfo="nvr:Kx8!vR2q@"))
    assert found(ctx, ID) == {}


def test_a_describe_answered_without_media_and_an_airplay_setup_serve_no_stream(tmp_path: Path) -> None:
    ctx, _ = analyse(rtsp_capture(tmp_path / "nomedia.pcap", methods=("DESCRIBE",), sdp=b""))
    assert found(ctx, ID) == {}
    # a sender pushing audio to a receiver (RAOP: ANNOUNCE, SETUP, RECORD): nothing is served to the client
    ctx, _ = analyse(rtsp_capture(tmp_path / "record.pcap", methods=("ANNOUNCE", "SETUP", "RECORD")))
    assert found(ctx, ID) == {}


def _obs(kind: str, n: int, cseq: int, **fields: Any) -> Observation:
    src, dst = ("10.0.0.9", "10.0.0.1") if kind == "request" else ("10.0.0.1", "10.0.0.9")
    sport, dport = (40000 + n, 554) if kind == "request" else (554, 40000 + n)
    return Observation(ts=float(n), proto="rtsp", kind=kind, src_ip=src, dst_ip=dst, src_port=sport, dst_port=dport,
                       fields={"cseq": cseq, **fields})


def test_a_play_on_a_session_set_up_with_credentials_rides_on_it_and_tracking_is_bounded() -> None:
    check, ctx = RtspUnauthenticatedStream(), Context()
    check.on_observation(ctx, _obs("request", 0, 3, method="SETUP", path=PATH, authorization_scheme="Digest"))
    check.on_observation(ctx, _obs("request", 0, 4, method="PLAY", path=PATH))
    check.on_observation(ctx, _obs("response", 0, 4, status=200))
    assert check.hits == {}
    # the oldest pending request is dropped past the limit: its late answer finds nothing
    for n in range(MAX_PENDING_REQUESTS + 1):
        check.on_observation(ctx, _obs("request", n + 1, 1, method="PLAY", path=PATH))
    assert len(check.pending) == MAX_PENDING_REQUESTS
    check.on_observation(ctx, _obs("response", 1, 1, status=200))
    assert check.hits == {}
    check.on_observation(ctx, _obs("response", 2, 1, status=200))
    assert check.hits[(None, "10.0.0.1")].count == 1
    for n in range(MAX_AUTHENTICATED_CONNECTIONS + 1):
        check.on_observation(ctx, _obs("request", n, 9, method="SETUP", path=PATH, authorization_scheme="Digest"))
    assert len(check.authenticated) == MAX_AUTHENTICATED_CONNECTIONS


def test_lab_dock_camera_allowing_anonymous_viewers_is_the_only_open_stream(enterprise_lab: Any) -> None:
    # enterprise.yaml: cam-dock lets anyone view (auth none); the other cameras ask the recorder for Digest or Basic
    ctx, _, truth = enterprise_lab
    dock = key_of(truth, "cam-dock")
    assert set(found(ctx, ID)) == {dock}
    assert found(ctx, ID)[dock].evidence["paths"] == ["/axis-media/media.amp"]
    # the device's risk score counts it: a high finding is a 0.5 chance on its own (risk/scorer.py)
    others = [f for f in ctx.findings if f.subject == dock and f.id != ID]
    assert device_score([*others, found(ctx, ID)[dock]]) == round(100 - (100 - device_score(others)) * 0.5, 1)


def test_lab_cameras_asking_for_digest_are_not_flagged(small_lab: Any) -> None:
    ctx, _, _ = small_lab
    assert found(ctx, ID) == {}
