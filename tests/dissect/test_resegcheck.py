"""Segmentation independence of every stream dissector, probes and flow naming included (issues #3/#4):
a fast set of shared captures covering the main OT and IT stream dissectors reports the same Observations
and names its flows the same however its TCP streams are cut (tests/dissect/resegcheck.py; the broad sweep
over every shared capture and lab scenario is bench/resegment.py). Then the bugs the sweep found, each
checked on its capture and on the specification."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest

from iotwarden.dissect.base import PROBE_BYTES
from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.rtsp import RtspDissector
from iotwarden.dissect.sip import SipDissector
from tests.conftest import SHARED_DATA
from tests.dissect import resegcheck, resegment

PCAPS = SHARED_DATA / "pcaps"
# capture -> the stream dissectors that must name one of its TCP flows (so the set keeps covering them)
FAST = {
    "suricata_verify/dnp3/dnp3-eve/input.pcap": {"dnp3"},
    "suricata_verify/modbus/modbus.pcap": {"modbus"},
    "ics_iti/pcaps/EthernetIP/cip-eth-set-2.pcap": {"enip"},
    "ics_iti/pcaps/IEC61850/MMS - Specific Commands/iec61850_get_name_list.pcap": {"mms"},
    "ics_iti/pcaps/hart/hart_ip.pcap": {"hartip", "smb", "tls"},
    "ics_iti/pcaps/C37.118/C37.118_1PMU_TCP.pcap": {"c37118"},
    "ics_iti/pcaps/MELSEC/melsoft_129_clean.pcap": {"melsoft"},
    "ics_iti/pcaps/beckoff/addroute1.pcapng": {"ads"},
    "ics_iti/pcaps/fox/fox_info.pcap": {"fox"},
    "suricata_verify/mqtt-events-missing-connect/input.pcap": {"mqtt", "http"},  # http found by probe
    "suricata_verify/ssh-hassh-reassembled/input.pcap": {"ssh"},
    "suricata_verify/tls/tls-certs-alert/input.pcap": {"tls"},
    "suricata_verify/telnet/telnet-01/telnet.pcap": {"telnet"},
}


def _src(name: str) -> Path:
    src = PCAPS / name
    if not src.is_file():
        pytest.skip(f"test data not found: {src}")
    return src


@pytest.mark.parametrize("name", sorted(FAST))
def test_fast_set_is_the_same_however_cut(name: str, tmp_path: Path) -> None:
    seen, diffs = resegcheck.check(_src(name), tmp_path)
    assert FAST[name] <= resegcheck.tcp_protocols(seen)
    assert [d.line() for d in diffs if d.allowed is None] == []


def test_the_allow_list_names_real_captures_and_reasons() -> None:
    captures = [str(p) for p in PCAPS.rglob("*.pcap*")]
    for rule in resegcheck.ALLOWED:
        assert rule.cut in (*resegcheck.CUTS, "*") and len(rule.reason) > 40
        assert any(rule.capture in p for p in captures) or not captures, rule


# -- a flow confirmed and then given a malformed message in the same delivery stays named --------------------


@pytest.mark.parametrize("name", ["dnp3-too-long-reassembly-request", "dnp3-too-long-reassembly-response"])
def test_confirmed_then_malformed_in_one_delivery_names_the_flow(name: str, tmp_path: Path) -> None:
    # 40 valid DNP3 link frames (CRCs hold: dissect.base.confirm) whose transport segments reassemble past
    # the fragment limit: coalesced, the confirming frames and the error come in one delivery. Before, the
    # error made the flow failed_services dnp3 instead of dnp3, as it is when each frame has its own segment.
    src = _src(f"suricata_verify/dnp3/{name}/input.pcap")
    original = resegcheck.observe(src)
    assert {k[6] for k in original.flows} == {"dnp3"}
    coalesced = resegcheck.observe(resegcheck.cuts(src, tmp_path, ["coalesced"])["coalesced"])
    _, frames = resegment.read_frames(tmp_path / "coalesced.pcap")
    assert len(frames) < len(resegment.read_frames(src)[1])  # the frames did come together
    assert coalesced.flows == original.flows
    assert coalesced.stats.parse_errors == original.stats.parse_errors == Counter({"dnp3": 1})
    assert not coalesced.stats.rejected_before_confirmation


# -- a start line longer than what a probe is offered of it --------------------------------------------------

LONG_PATH = b"/api/queues?page=1&page_size=100&name=&use_regex=false&pagination=true"
LINES = {
    "http": [b"GET " + LONG_PATH + b" HTTP/1.1\r\nHost: a\r\n\r\n",
             b"POST http://192.168.1.20:8080" + LONG_PATH + b" HTTP/1.0\r\n\r\n",
             b"SUBSCRIBE /upnp/event/renderingcontrol1/" + b"x" * 40 + b" HTTP/1.1\r\n\r\n"],
    "rtsp": [b"DESCRIBE rtsp://192.168.1.64:554/Streaming/Channels/101?transportmode=unicast RTSP/1.0\r\n\r\n",
             b"OPTIONS rtsps://camera.example.net/live/ch00_0/" + b"y" * 30 + b" RTSP/2.0\r\n\r\n"],
    "sip": [b"INVITE sip:+4930123456789@voip.provider.example.net;user=phone;transport=tcp SIP/2.0\r\n\r\n",
            b"REGISTER sips:registrar.biloxi.example.com;transport=tls;maddr=10.0.0.1 SIP/2.0\r\n\r\n"],
}
PROBES = {"http": HttpDissector(), "rtsp": RtspDissector(), "sip": SipDissector()}


@pytest.mark.parametrize("proto", sorted(LINES))
def test_a_long_request_line_is_recognised_however_cut(proto: str) -> None:
    # The engine offers a probe a direction's first bytes as segments add to them until PROBE_BYTES: a
    # request line longer than that, cut into small segments, is offered only its head. Before, HTTP, RTSP
    # and SIP wanted the line's end (the version), so a client writing its request line in pieces on an
    # unlisted port was recognised by its server's answer only, its first request lost (suricata-verify's
    # mqtt-events-missing-connect, split). Each line is its own protocol's at every cut, nobody else's.
    for line in LINES[proto]:
        assert len(line.split(b"\r\n")[0]) > PROBE_BYTES
        for cut in (PROBE_BYTES, PROBE_BYTES + 1, PROBE_BYTES + 6, len(line)):
            claims = {name for name, d in PROBES.items() if d.probe(line[:cut], True)}
            assert claims == {proto}, (line[:cut], claims)


def test_short_or_foreign_heads_are_not_claimed() -> None:
    http, rtsp, sip = PROBES["http"], PROBES["rtsp"], PROBES["sip"]
    # fewer than PROBE_BYTES without a line end: more may come, the whole-line rule still decides
    assert not http.probe(b"GET " + LONG_PATH[:40], True)
    # a line that ends within the probed bytes without a version is no request line
    assert not http.probe(b"GET /" + b"a" * 30 + b"\r\n" + b"b" * 40, True)
    # binary, or a method with no URI form of the protocol
    assert not http.probe(b"GET " + b"\x00" * 70, True)
    assert not http.probe(b"DESCRIBE rtsp://192.168.1.64:554/Streaming/Channels/101/" + b"z" * 20, True)
    assert not rtsp.probe(b"GET /" + b"a" * 70, True)
    assert not sip.probe(b"GET /" + b"a" * 70, True)
    assert not http.probe(b"INVITE sip:" + b"a" * 70, True)


def test_the_missing_connect_capture_keeps_its_first_request_when_split() -> None:
    src = _src("suricata_verify/mqtt-events-missing-connect/input.pcap")
    with tempfile.TemporaryDirectory() as tmp:
        split = resegcheck.observe(resegcheck.cuts(src, Path(tmp), ["split"])["split"])
    requests = [k for k in split.observations["http"].elements() if k[1] == "request"]
    assert len(requests) == 6  # the first one on port 64000 included, as in the capture itself


# -- the coalescing tool merges what one poll could -------------------------------------------------------


def test_coalescing_does_not_move_bytes_across_an_idle_gap() -> None:
    # addroute1: a read_state response 132 s after the previous one, past the engine's 120 s idle timeout,
    # is a new flow; merged into the earlier super-packet it had moved into the old flow
    src = _src("ics_iti/pcaps/beckoff/addroute1.pcapng")
    linktype, frames = resegment.read_frames(src)
    merged = resegment.coalesce(linktype, frames)
    late = next(i for i, (ts, _) in enumerate(frames) if ts > 1464584897.7)
    assert any(abs(ts - frames[late][0]) < 1e-6 for ts, _ in merged)
    assert max(ts for ts, _ in merged) == max(ts for ts, _ in frames)
