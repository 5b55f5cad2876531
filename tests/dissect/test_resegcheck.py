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
from tests.conftest import SHARED_DATA, shared
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
    "ics_iti/pcaps/s7/step7_s300_download.pcapng": {"s7comm"},
    "ics_iti/pcaps/IEC60870-5-104/090813_diverse.pcap": {"iec104"},
    "ics_iti/pcaps/omron/omron_test.pcap": {"fins"},
    "suricata_verify/mqtt-events-missing-connect/input.pcap": {"mqtt", "http"},  # http found by probe
    "suricata_verify/ssh-hassh-reassembled/input.pcap": {"ssh"},
    "suricata_verify/tls/tls-certs-alert/input.pcap": {"tls"},
    "suricata_verify/telnet/telnet-01/telnet.pcap": {"telnet"},
}


@pytest.mark.parametrize("name", sorted(FAST))
def test_fast_set_is_the_same_however_cut(name: str, tmp_path: Path) -> None:
    seen, diffs = resegcheck.check(shared("pcaps", name), tmp_path)
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
    src = shared("pcaps", f"suricata_verify/dnp3/{name}/input.pcap")
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
    src = shared("pcaps", "suricata_verify/mqtt-events-missing-connect/input.pcap")
    with tempfile.TemporaryDirectory() as tmp:
        split = resegcheck.observe(resegcheck.cuts(src, Path(tmp), ["split"])["split"])
    requests = [k for k in split.observations["http"].elements() if k[1] == "request"]
    assert len(requests) == 6  # the first one on port 64000 included, as in the capture itself


# -- the coalescing tool merges what one poll could -------------------------------------------------------


def test_coalescing_does_not_move_bytes_across_an_idle_gap() -> None:
    # addroute1: a read_state response 132 s after the previous one, past the engine's 120 s idle timeout,
    # is a new flow; merged into the earlier super-packet it had moved into the old flow
    src = shared("pcaps", "ics_iti/pcaps/beckoff/addroute1.pcapng")
    linktype, frames = resegment.read_frames(src)
    merged = resegment.coalesce(linktype, frames)
    late = next(i for i, (ts, _) in enumerate(frames) if ts > 1464584897.7)
    assert any(abs(ts - frames[late][0]) < 1e-6 for ts, _ in merged)
    assert max(ts for ts, _ in merged) == max(ts for ts, _ in frames)


def test_coalescing_keeps_apart_what_came_from_different_link_addresses(tmp_path: Path) -> None:
    # s7comm_clean: the client's segments of one flow reach the capture with two source MACs in turn
    # (20:47:47:87:d4:96 and b0:83:fe:75:35:74); merged into one super-packet, jobs took another frame's
    # MAC, which no GRO does (it merges one device's packets)
    src = shared("pcaps", "ics_iti/pcaps/s7/S7Comm/s7comm_clean.pcap")
    linktype, frames = resegment.read_frames(src)
    decoded = [d for d in (resegment.decode(linktype, f) for _, f in frames) if d is not None and d.tcp.data]
    assert {d.link()[0].hex(":") for d in decoded if d.tcp.dport == 102} == {"20:47:47:87:d4:96", "b0:83:fe:75:35:74"}
    assert resegcheck.check(src, tmp_path, ["coalesced"])[1] == []

# -- the stream dissectors no shared capture carries over TCP, on their ports and found by probe ------------


def _melsec(head: bytes, body: bytes) -> bytes:
    """An MC protocol 3E binary frame (Mitsubishi SH-080956 §3.1): subheader, own station's route (network 0,
    PC 0xFF, module I/O 03FF, station 0), data length, then the body (timer and command, or the end code)."""
    return head + bytes.fromhex("00ffff0300") + len(body).to_bytes(2, "little") + body


def _openvpn(opcode: int, session: bytes, body: bytes) -> bytes:
    """An OpenVPN control packet over TCP (openvpn src/openvpn/ssl_pkt.h): length prefix, opcode << 3, session id."""
    raw = bytes([opcode << 3]) + session + body
    return len(raw).to_bytes(2, "big") + raw


def built_sessions(path: Path) -> Path:
    """KNXnet/IP over TCP, MELSEC MC, OpenVPN and TeamViewer sessions (each on its port where it has one and
    found by probe on an unlisted port), and a long HTTP request line on an unlisted port."""
    from tests.dissect import knxbuild as k
    from tests.risk.harness import host, tcp, write_pcap

    client, server = host(10), host(20)
    melsec = [(True, _melsec(b"\x50\x00", bytes.fromhex("1000" "0101" "0000"))),  # Read CPU model name (0101)
              (False, _melsec(b"\xd0\x00", b"\x00\x00" + b"Q03UDVCPU".ljust(16, b" ") + b"\x66\x03")),
              (True, _melsec(b"\x50\x00", bytes.fromhex("1000" "1002" "0000" "0100"))),  # Remote STOP (1002)
              (False, _melsec(b"\xd0\x00", b"\x00\x00"))]
    # over TCP the endpoints are "route back" HPAIs, 0.0.0.0:0 with protocol code 2 (KNX 03.08.02 §8.6.3.2)
    route_back = k.hpai("0.0.0.0", 0, 2)  # noqa: S104 - an address on the wire, nothing binds to it
    knx = [(True, k.knxip(k.CONNECT_REQUEST, route_back * 2 + bytes([4, 0x04, 0x02, 0]))),
           (False, k.knxip(k.CONNECT_RESPONSE, bytes([7, 0]) + route_back + bytes([4, 0x04, 0x11, 0x0A]))),
           (True, k.tunnelling(k.GROUP_WRITE_ON, seq=0) + k.tunnelling(k.GROUP_WRITE_ON, seq=1)),
           (False, k.knxip(k.TUNNELLING_ACK, bytes([4, 7, 0, 0])))]
    sid_c, sid_s = bytes.fromhex("a1b2c3d4e5f60718"), bytes.fromhex("0102030405060708")
    openvpn = [(True, _openvpn(7, sid_c, bytes(5))),  # P_CONTROL_HARD_RESET_CLIENT_V2
               (False, _openvpn(8, sid_s, b"\x01" + bytes(4) + sid_c + bytes(4))),
               (True, _openvpn(4, sid_c, bytes(40)))]
    teamviewer = [(True, bytes.fromhex("17240a20") + bytes(range(33))), (False, bytes.fromhex("1130") + bytes(20))]
    http = [(True, b"GET " + LONG_PATH + b" HTTP/1.1\r\nHost: 10.9.0.20:15672\r\n\r\n"),
            (False, b"HTTP/1.1 200 OK\r\nServer: Cowboy\r\nContent-Length: 2\r\n\r\n[]")]
    frames = []
    for i, (port, exchanges) in enumerate([(3671, knx), (5007, melsec), (6001, melsec), (1194, openvpn),
                                           (40443, openvpn), (5938, teamviewer), (40938, teamviewer),
                                           (15672, http)]):
        frames += tcp(client, server, port, exchanges, t=1_709_542_800.0 + i, cport=41000 + i, seed=i)
    return write_pcap(path, sorted(frames, key=lambda f: f[0]))


def test_built_sessions_of_the_other_stream_dissectors_are_the_same_however_cut(tmp_path: Path) -> None:
    src = built_sessions(tmp_path / "built.pcap")
    seen, diffs = resegcheck.check(src, tmp_path)
    assert [d.line() for d in diffs] == []
    apps = Counter(k[6] for k in seen.flows if k[1] == 6)
    assert apps == {"knxip": 1, "melsec": 2, "openvpn": 2, "teamviewer": 2, "http": 1}
    kinds = {(k[0], k[1]) for c in seen.observations.values() for k in c}
    assert {("melsec", "cpu_model"), ("knxip", "tunnelling_request"), ("http", "request")} <= kinds
