"""RTSP evidence from traffic to a classified device: the server that streams video is typed a camera (and
named by its vendor's Server token), a client that only asks for streams is not, and the SDP a client
announces is the client's own, never evidence that it serves video."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.inventory.classifier import Classifier
from iotwarden.lab.wire import Frame, Host
from iotwarden.model import Device
from tests.risk.harness import classified_by_ip, host, tcp, write_pcap

VIDEO_SDP = (b"v=0\r\no=- 1109162014219182 1109162014219192 IN IP4 10.9.0.20\r\ns=Media Presentation\r\ne=NONE\r\n"
             b"t=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n")
PLAYER = "LibVLC/3.0.20 (LIVE555 Streaming Media v2016.11.28)"


def _viewing(client: Host, server: Host, server_header: str, path: str) -> list[Frame]:
    """OPTIONS, DESCRIBE (SDP with H.264 video), SETUP and PLAY as a player asks a camera for its stream."""
    url = f"rtsp://{server.ip}:554{path}".encode()
    ua = PLAYER.encode()
    server_line = f"Server: {server_header}\r\n".encode()

    def req(method: bytes, cseq: int, extra: bytes = b"") -> tuple[bool, bytes]:
        return True, b"%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: %s\r\n%s\r\n" % (method, url, cseq, ua, extra)

    def rep(cseq: int, extra: bytes = b"") -> tuple[bool, bytes]:
        return False, b"RTSP/1.0 200 OK\r\nCSeq: %d\r\n%s%s\r\n" % (cseq, server_line, extra)

    return tcp(client, server, 554, [
        req(b"OPTIONS", 1), rep(1, b"Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n"),
        req(b"DESCRIBE", 2, b"Accept: application/sdp\r\n"),
        rep(2, b"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s" % (len(VIDEO_SDP), VIDEO_SDP)),
        req(b"SETUP", 3, b"Transport: RTP/AVP;unicast;client_port=50000-50001\r\n"),
        rep(3, b"Session: 1273222592;timeout=60\r\n"),
        req(b"PLAY", 4, b"Session: 1273222592\r\n"), rep(4, b"Session: 1273222592\r\n"),
    ])


def test_a_server_streaming_video_with_a_hikvision_token_is_a_hikvision_camera_and_its_viewer_is_not(
        tmp_path: Path) -> None:
    nvr, cam = host(10), host(20)  # locally administered MACs: no registry vendor to lean on
    frames = _viewing(nvr, cam, "Hikvision-Webs", "/Streaming/Channels/101")
    devices = classified_by_ip(write_pcap(tmp_path / "view.pcap", frames))
    camera, viewer = devices[cam.ip], devices[nvr.ip]
    assert camera.attributes["rtsp.server"] == {"Hikvision-Webs"}
    assert camera.attributes["rtsp.path"] == {"/Streaming/Channels/101"}  # what the viewer asked, about the camera
    assert camera.attributes["rtsp.media"] == {"video"} and camera.attributes["rtsp.codecs"] == {"H264"}
    assert "rtsp" in camera.attributes["service.server"]
    found = camera.classification
    assert (found["vendor"].value, found["device_type"].value, found["category"].value) == (
        "Hikvision", "camera", "iot")
    assert {e["rule_id"] for e in found["device_type"].evidence} == {
        "rtsp.server.hikvision_webs", "rtsp.path.hikvision", "rtsp.media.video"}
    assert all(e["reference"] for e in found["device_type"].evidence)
    # the viewer asked for the stream: its own facts are its user agent, nothing about video
    assert viewer.attributes["rtsp.user_agent"] == {PLAYER}
    assert not {"rtsp.server", "rtsp.path", "rtsp.media", "rtsp.codecs", "service.server"} & set(viewer.attributes)
    assert "device_type" not in viewer.classification and "vendor" not in viewer.classification


def test_video_served_under_an_unknown_token_is_a_camera_of_no_vendor(tmp_path: Path) -> None:
    nvr, cam = host(10), host(21)
    frames = _viewing(nvr, cam, "Rtsp Server/3.0", "/live/main")
    found = classified_by_ip(write_pcap(tmp_path / "generic.pcap", frames))[cam.ip]
    assert found.classification["device_type"].value == "camera"
    assert [e["rule_id"] for e in found.classification["device_type"].evidence] == ["rtsp.media.video"]
    assert "vendor" not in found.classification


@pytest.mark.parametrize(("server_header", "path", "vendor", "rules"), [
    ("GStreamer RTSP server", "/axis-media/media.amp", "Axis", {"rtsp.path.axis"}),
    ("Rtsp Server/3.0", "/h264Preview_01_main", "Reolink", {"rtsp.path.reolink"}),
    # Dahua's token and path are one fact about its firmware, which OEMs run too: a camera, vendor unknown
    ("Dahua Rtsp Server", "/cam/realmonitor", None, {"rtsp.dahua.type"}),
])
def test_a_makers_stream_path_or_token_names_it(tmp_path: Path, server_header: str, path: str, vendor: str | None,
                                                rules: set[str]) -> None:
    nvr, cam = host(10), host(23)
    found = classified_by_ip(write_pcap(tmp_path / "maker.pcap", _viewing(nvr, cam, server_header, path)))[cam.ip]
    assert found.classification["device_type"].value == "camera"
    assert rules <= {e["rule_id"] for e in found.classification["device_type"].evidence}
    assert (found.classification["vendor"].value if "vendor" in found.classification else None) == vendor


def test_a_camera_pushing_its_stream_is_not_taken_for_the_server_it_pushes_to(tmp_path: Path) -> None:
    cam, server = host(22), host(30)
    announce = (b"ANNOUNCE rtsp://10.9.0.30:8554/live/cam22 RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(VIDEO_SDP), VIDEO_SDP))
    frames = tcp(cam, server, 8554, [(True, announce), (False, b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n")])
    devices = classified_by_ip(write_pcap(tmp_path / "push.pcap", frames))
    assert "rtsp.media" not in devices[cam.ip].attributes and "rtsp.media" not in devices[server.ip].attributes
    assert "device_type" not in devices[server.ip].classification
    assert "rtsp" in devices[server.ip].attributes["service.server"]


def test_an_airplay_receiver_serves_rtsp_and_is_a_media_player(tmp_path: Path) -> None:
    phone, speaker = host(40), host(41)
    sdp = b"v=0\r\ns=AirTunes\r\nm=audio 0 RTP/AVP 96\r\na=rtpmap:96 AppleLossless\r\n"
    frames = tcp(phone, speaker, 7000, [
        (True, b"ANNOUNCE rtsp://10.9.0.41/3413821438 RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n"
               b"Content-Length: %d\r\nUser-Agent: AirPlay/550.10\r\n\r\n%s" % (len(sdp), sdp)),
        (False, b"RTSP/1.0 200 OK\r\nServer: AirTunes/366.0\r\nCSeq: 1\r\n\r\n"),
    ])
    found = classified_by_ip(write_pcap(tmp_path / "airplay.pcap", frames))[speaker.ip]
    assert "rtsp" in found.attributes["service.server"]  # found by its RTSP/1.0 start lines on tcp/7000
    assert found.classification["device_type"].value == "media_player"


CLASSIFIER = Classifier()


@pytest.mark.parametrize(("attributes", "vendor", "device_type"), [
    # AXIS OS challenges RTSP clients with its serial-number realm (Kane610/axis tests/test_rtsp.py)
    ({"rtsp.www_authenticate": ['Digest realm="AXIS_ACCC8E012345", nonce="0000eb57"'],
      "rtsp.server": ["GStreamer RTSP server"]}, "Axis", "camera"),
    ({"rtsp.www_authenticate": ['Digest realm="Hikvision", nonce="0f3c"'], "rtsp.media": ["video"]},
     "Hikvision", "camera"),
    # a streaming server's own token outweighs the camera that serving video alone suggests
    ({"rtsp.server": ["Wowza Streaming Engine 4.8.5 build20200616"], "rtsp.media": ["video", "audio"]}, None, "server"),
    ({"rtsp.server": ["HDHomeRun/1.0"], "rtsp.media": ["video"]}, "SiliconDust", "media_player"),
    # a player's or recorder's user agent says nothing about a camera
    ({"rtsp.user_agent": ["Lavf58.76.100"]}, None, None),
])
def test_rtsp_evidence_alone(attributes: dict[str, list[str]], vendor: str | None, device_type: str | None) -> None:
    dev = Device(key="ip:10.9.0.50", first_seen=0.0, last_seen=0.0)
    dev.attributes.update({name: set(values) for name, values in attributes.items()})
    found = CLASSIFIER.classify(dev)
    assert (found["vendor"].value if "vendor" in found else None) == vendor
    assert (found["device_type"].value if "device_type" in found else None) == device_type

