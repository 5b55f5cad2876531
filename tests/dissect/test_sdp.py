"""SDP descriptions (RFC 8866): session name, information, tool, media types and codecs; limits; hostile input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.sdp import MAX_CODECS, MAX_MEDIA, MAX_SDP, describe

# an AXIS OS camera's DESCRIBE answer as the Home Assistant Axis library's tests record it (Kane610/axis
# tests/test_rtsp.py), with a video section of the H.264 stream (RFC 6184 §8.2.1) added before the metadata
AXIS = (b"v=0\r\no=- 18302136002250915122 1 IN IP4 host\r\ns=Session streamed with GStreamer\r\ni=rtsp-server\r\n"
        b"t=0 0\r\na=tool:GStreamer\r\na=type:broadcast\r\na=range:npt=now-\r\n"
        b"m=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 h264/90000\r\na=control:stream=0\r\n"
        b"m=application 0 RTP/AVP 98\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:98 vnd.onvif.metadata/90000\r\n")


def test_a_cameras_description() -> None:
    found = describe(AXIS)
    assert found == {"session_name": "Session streamed with GStreamer", "session_info": "rtsp-server",
                     "tool": "GStreamer", "media": ["video", "application"], "codecs": ["H264", "VND.ONVIF.METADATA"]}


def test_static_payload_types_and_rtpmap_are_per_media_section() -> None:
    sdp = (b"v=0\ns=Media Presentation\nm=video 0 RTP/AVP 26\nm=audio 0 RTP/AVP 8 0 96\n"
           b"a=rtpmap:96 MPEG4-GENERIC/16000/1\nm=audio 0 RTP/AVP 97\n")
    found = describe(sdp)
    assert found is not None
    # JPEG (26), PCMA (8) and PCMU (0) by RFC 3551 §6; 96 named in its own section; 97 named nowhere
    assert found["codecs"] == ["JPEG", "PCMA", "PCMU", "MPEG4-GENERIC"]
    assert found["media"] == ["video", "audio", "audio"] and found["tool"] is None


def test_what_is_no_description_is_none() -> None:
    assert describe(b"<html>no</html>") is None
    assert describe(b"") is None
    assert describe(b"v=0\r\n" + b"a" * MAX_SDP) is None  # too long to describe


def test_media_sections_and_codecs_are_bounded() -> None:
    sections = b"".join(b"m=video 0 RTP/AVP %d\r\na=rtpmap:%d C%d/90000\r\n" % (96 + i, 96 + i, i) for i in range(20))
    found = describe(b"v=0\r\n" + sections)
    assert found is not None and len(found["media"]) == MAX_MEDIA
    many = b"m=video 0 RTP/AVP " + b" ".join(b"%d" % pt for pt in range(96, 128)) + b"\r\n"
    many += b"".join(b"a=rtpmap:%d X%d/90000\r\n" % (pt, pt) for pt in range(96, 128))
    found = describe(b"v=0\r\n" + many)
    assert found is not None and len(found["codecs"]) == MAX_CODECS


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_after_a_version_line(body: bytes) -> None:
    found = describe(b"v=0\r\n" + body)
    assert found is not None and all(isinstance(c, str) for c in found["codecs"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["m=video 0 RTP/AVP 96 ", "a=rtpmap:", "96 ", "0", "99999999999", "\u00b2",
                                 "a=tool:", "s=", "i=", "=", "\r\n", "\n", " ", "/", "x"]), max_size=40))
def test_fuzz_sdp_like_lines(parts: list[str]) -> None:
    describe(("v=0\r\n" + "".join(parts)).encode())
