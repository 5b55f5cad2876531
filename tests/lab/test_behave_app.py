"""Application and OT behaviours, run one at a time on the small scenario's world."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import itertools
import re
from typing import Any

import dpkt
import pytest

from iotwarden.errors import ConfigError
from iotwarden.lab.behave_app import BEHAVIOURS
from iotwarden.lab.scenario import Scenario
from iotwarden.lab.world import World


def _run(scenario: Scenario, device_id: str, kind: str) -> list[tuple[float, dpkt.ethernet.Ethernet]]:
    world = World(scenario, 3)
    dev = world.devices[device_id]
    act = next(b for b in dev.behaviours if b.kind == kind)
    fn, _ = BEHAVIOURS[kind]
    return [(t, dpkt.ethernet.Ethernet(f)) for t, f in fn(world, dev, act)]


def test_rtsp_control_then_rtp_at_the_frame_rate(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "cam-01", "rtsp")
    times = [t for t, _ in frames]
    assert times == sorted(times)
    rtp = [dpkt.rtp.RTP(bytes(e.data.data.data)) for _, e in frames if isinstance(e.data.data, dpkt.udp.UDP)]
    markers = sum(p.m for p in rtp)
    assert 50 * 10 <= markers <= 60 * 10  # fps 10 from t=4 s to the end of a 60 s capture
    seqs = [p.seq for p in rtp]
    assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(seqs))


def _rtsp_control(scenario: Scenario, **params: Any) -> list[bytes]:
    """The RTSP messages of cam-01's stream with ``params`` changed, each TCP payload in order."""
    world = World(scenario, 3)
    dev = world.devices["cam-01"]
    act = next(b for b in dev.behaviours if b.kind == "rtsp")
    act = dataclasses.replace(act, params={**act.params, **params})
    fn, _ = BEHAVIOURS["rtsp"]
    frames = [dpkt.ethernet.Ethernet(f) for _, f in fn(world, dev, act)]
    return [bytes(e.data.data.data) for e in frames if isinstance(e.data.data, dpkt.tcp.TCP) and e.data.data.data]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def test_rtsp_digest_challenges_then_every_request_proves_the_password(small_scenario: Scenario) -> None:
    msgs = _rtsp_control(small_scenario)  # small.yaml: auth digest, nvr / vT4#qm8Lr2, realm AXIS_ACCC8E4A1001
    assert [m.split(b" ")[0] for m in msgs[::2]] == [b"OPTIONS", b"DESCRIBE", b"DESCRIBE", b"SETUP", b"PLAY",
                                                    b"TEARDOWN"]
    challenge = msgs[3]
    assert challenge.startswith(b"RTSP/1.0 401 Unauthorized\r\n")
    nonce = re.search(rb'WWW-Authenticate: Digest realm="AXIS_ACCC8E4A1001", nonce="(\w+)"', challenge)
    assert nonce is not None
    assert b"Authorization" not in msgs[0] + msgs[2]
    for request in msgs[4::2]:
        method, uri = request.decode().split(" ")[:2]
        sent = re.search(r'Authorization: Digest username="nvr", .*uri="([^"]+)", response="(\w+)"', request.decode())
        assert sent is not None and sent.group(1) == uri
        # RFC 2617 §3.2.2.1 without qop: MD5(HA1:nonce:HA2)
        ha1, ha2 = _md5("nvr:AXIS_ACCC8E4A1001:vT4#qm8Lr2"), _md5(f"{method}:{uri}")
        assert sent.group(2) == _md5(f"{ha1}:{nonce.group(1).decode()}:{ha2}")
    assert all(m.startswith(b"RTSP/1.0 200 OK") for m in msgs[5::2])


def test_rtsp_basic_and_an_open_camera(small_scenario: Scenario) -> None:
    msgs = _rtsp_control(small_scenario, auth="basic", username="nvr", password="s3cret", realm="cam")
    assert b'WWW-Authenticate: Basic realm="cam"' in msgs[3]
    token = base64.b64encode(b"nvr:s3cret")
    assert all(b"Authorization: Basic " + token + b"\r\n" in m for m in msgs[4::2])
    msgs = _rtsp_control(small_scenario, auth="none")
    assert [m.split(b" ")[0] for m in msgs[::2]] == [b"OPTIONS", b"DESCRIBE", b"SETUP", b"PLAY", b"TEARDOWN"]
    assert not [m for m in msgs if b"Authorization" in m or b" 401 " in m]


@pytest.mark.parametrize(("params", "message"), [
    ({"auth": "ntlm"}, "auth: one of none, basic, digest"),
    ({"auth": "basic", "password": ""}, "needs username, password and realm"),
])
def test_rtsp_auth_options_are_checked(small_scenario: Scenario, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _rtsp_control(small_scenario, **params)


def test_modbus_poller_reads_and_writer_writes(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "plc-01", "modbus")
    pdus = [bytes(e.data.data.data)[7] for _, e in frames if e.data.data.dport == 502 and e.data.data.data]
    assert pdus[0] == 0x2B and {0x01, 0x03, 0x06, 0x10} <= set(pdus)


def test_bacnet_who_is_i_am_and_read_properties(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "hvac-01", "bacnet")
    first = [bytes(e.data.data.data) for _, e in frames[:10]]
    assert first[0].endswith(b"\x10\x08") and b"\x10\x00\xc4" in first[1]
    assert b"AHU-1" in first[3] and b"FX-PCG2621" in first[5] and b"Johnson Controls" in first[7]


def test_telnet_admin_logs_in_with_the_declared_credentials(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "dvr-01", "telnet_admin")
    data = b"".join(bytes(e.data.data.data) for _, e in frames)
    assert data.startswith(b"\xff\xfd\x18") and b"root\r\n" in data and b"vizxv\r\n" in data and b"# " in data


def test_mqtt_connects_publishes_pings_and_disconnects(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "plug-01", "mqtt")
    kinds = [bytes(e.data.data.data)[0] >> 4 for _, e in frames if e.data.data.dport == 1883 and e.data.data.data]
    assert kinds[0] == 1 and 3 in kinds and 12 in kinds and kinds[-1] == 14


def test_snmp_poll_answers_with_sys_descr(small_scenario: Scenario) -> None:
    frames = _run(small_scenario, "prn-01", "snmp")
    req, rep = (bytes(e.data.data.data) for _, e in frames[:2])
    assert b"\xa0" in req[:20] and b"JETDIRECT" in rep
