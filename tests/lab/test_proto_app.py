"""HTTP, RTSP/RTP, IPP, PJL, MQTT, SSH, RDP and SMB2 payloads as their specifications lay them out."""

from __future__ import annotations

import random
import struct

import dpkt
import pytest

from iotwarden.lab import proto_app


def test_http_request_and_response_parse() -> None:
    req = dpkt.http.Request(proto_app.http_request("GET", "/x", "h.example", "UA/1"))
    assert (req.method, req.uri, req.headers["user-agent"]) == ("GET", "/x", "UA/1")
    rep = dpkt.http.Response(proto_app.http_response(200, "OK", "Webs", b"hello"))
    assert rep.status == "200" and rep.headers["server"] == "Webs" and rep.body == b"hello"


def test_rtp_header_and_fu_a_fragment() -> None:
    rtp = dpkt.rtp.RTP(proto_app.rtp_packet(7, 9000, 0xABCD, b"\x5c\x81xyz", marker=True))
    assert (rtp.version, rtp.pt, rtp.seq, rtp.ts, rtp.ssrc, rtp.m) == (2, 96, 7, 9000, 0xABCD, 1)
    frag = proto_app.h264_fu_a(random.Random(1), 10, start=True, end=False)
    assert frag[0] & 0x1F == 28 and frag[1] == 0x81 and len(frag) == 12


def test_rtsp_describe_and_sdp() -> None:
    req = proto_app.rtsp_request("DESCRIBE", "rtsp://10.0.0.9:554/s", 2, "LIVE555")
    assert req.startswith(b"DESCRIBE rtsp://10.0.0.9:554/s RTSP/1.0\r\nCSeq: 2\r\n")
    rep = proto_app.rtsp_response(2, "GStreamer", body=proto_app.sdp("10.0.0.9", "cam"))
    head, body = rep.split(b"\r\n\r\n", 1)
    assert b"Content-Length: %d" % len(body) in head and b"a=rtpmap:96 H264/90000" in body


def test_rtsp_challenges_and_authorizations() -> None:
    assert proto_app.rtsp_challenge("basic", "cam", "n") == 'Basic realm="cam"'
    assert proto_app.rtsp_challenge("digest", "cam", "n1") == 'Digest realm="cam", nonce="n1", stale="FALSE"'
    basic = proto_app.rtsp_authorization("basic", "Aladdin", "open sesame", realm="r", nonce="n", method="M", uri="u")
    assert basic == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="  # RFC 7617 §2's example
    # RFC 2069 §2.4's example (Digest without qop, as RFC 2617 §3.2.2.1 keeps it)
    digest = proto_app.rtsp_authorization("digest", "Mufasa", "CircleOfLife", realm="testrealm@host.com",
                                          nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", method="GET",
                                          uri="/dir/index.html")
    assert digest.endswith('uri="/dir/index.html", response="1949323746fe6a43ef61f9606e7febea"')
    refused = proto_app.rtsp_response(2, "GStreamer", status="401 Unauthorized")
    assert refused.startswith(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\n")


def test_ipp_request_and_response_structure() -> None:
    req = proto_app.ipp_get_printer_attributes(9, "ipp://p.local:631/ipp/print")
    assert struct.unpack("!BBHI", req[:8]) == (2, 0, 0x000B, 9) and req.endswith(b"\x03")
    rep = proto_app.ipp_printer_attributes(9, "HP LaserJet", "prn", "2.0")
    assert struct.unpack("!BBHI", rep[:8]) == (2, 0, 0, 9) and b"printer-make-and-model" in rep


def test_pjl_job_is_wrapped_in_universal_exit_language() -> None:
    job = proto_app.pjl_job(random.Random(1), "j1", 100)
    assert job.startswith(b"\x1b%-12345X@PJL JOB NAME=\"j1\"") and job.endswith(b"\x1b%-12345X")


def test_mqtt_connect_remaining_length_and_flags() -> None:
    pkt = proto_app.mqtt_connect("plug-01", "u", "p")
    assert pkt[0] == 0x10 and pkt[1] == len(pkt) - 2
    assert pkt[2:8] == b"\x00\x04MQTT" and pkt[8] == 4 and pkt[9] == 0xC2
    big = proto_app.mqtt_publish("t", b"x" * 200)
    assert big[1:3] == bytes([(203 % 128) | 0x80, 203 // 128])  # variable byte integer (§2.2.3)


def test_ssh_kexinit_packet_is_block_aligned() -> None:
    pkt = proto_app.ssh_kexinit(random.Random(1))
    length, pad = struct.unpack("!IB", pkt[:5])
    assert length + 4 == len(pkt) and (length + 4) % 8 == 0 and pad >= 4 and pkt[5] == 20


def test_rdp_and_smb2_openings() -> None:
    cr = proto_app.rdp_connection_request("administrator")
    assert cr[:2] == b"\x03\x00" and struct.unpack("!H", cr[2:4])[0] == len(cr) and cr[5] == 0xE0
    neg = proto_app.smb2_negotiate_request(random.Random(1))
    assert struct.unpack("!I", neg[:4])[0] == len(neg) - 4 and neg[4:8] == b"\xfeSMB"
    rsp = proto_app.smb2_negotiate_response(random.Random(1), 1_700_000_000.0)
    assert struct.unpack("<H", rsp[4 + 64 : 4 + 66])[0] == 65


def test_hl7_pcd01_is_framed_for_mllp_and_carries_the_ihe_profile() -> None:
    msg = proto_app.hl7_pcd01("GW^V|ICU^H", "EMR|H", "20240304090000", "C1", spo2=97, heart_rate=72)
    assert msg[:4] == b"\x0bMSH" and msg.endswith(b"\r\x1c\x0d")
    header = msg[1:].split(b"\r")[0].split(b"|")
    assert header[8] == b"ORU^R01^ORU_R01" and header[20].startswith(b"IHE_PCD_001^")  # MSH-9, MSH-21
    assert b"150456^MDC_PULS_OXIM_SAT_O2^MDC" in msg
    assert proto_app.hl7_ack("EMR|H", "GW^V|ICU^H", "20240304090000", "A1", "C1").endswith(b"MSA|AA|C1\r\x1c\x0d")


def test_hl7_pcd01_device_rows_carry_each_devices_eui64() -> None:
    msg = proto_app.hl7_pcd01("GW^V|ICU^H", "EMR|H", "20240304090000", "C1", spo2=97, heart_rate=72, pump_rate=12.5,
                              devices=(("infusion_pump", "58:46:e1:50:00:03"),))
    obx = [s.split(b"|") for s in msg[1:-2].split(b"\r") if s.startswith(b"OBX")]
    # OBX-3 term, OBX-4 containment, OBX-18 identifier (on the MDS row only)
    assert [(f[3], f[4], f[18] if len(f) > 18 else b"") for f in obx] == [
        (b"69985^MDC_DEV_PUMP_INFUS_MDS^MDC", b"1.0.0.0", b"5846E1FFFE500003^^5846E1FFFE500003^EUI-64"),
        (b"69986^MDC_DEV_PUMP_INFUS_VMD^MDC", b"1.1.0.0", b""),
        (b"126978^MDC_DEV_PUMP_INFUS_CHAN_DELIVERY^MDC", b"1.1.1.0", b""),
        (b"157784^MDC_FLOW_FLUID_PUMP^MDC", b"1.1.1.1", b""),
    ]
    assert obx[-1][5] == b"12.5" and proto_app.eui64("00:09:fb:9b:42:b3") == "0009FBFFFE9B42B3"
    with pytest.raises(ValueError, match="no IEEE 11073 device term for a camera"):
        proto_app.hl7_pcd01("GW|H", "EMR|H", "20240304090000", "C1", spo2=97, heart_rate=72,
                            devices=(("camera", "00:11:22:33:44:55"),))
