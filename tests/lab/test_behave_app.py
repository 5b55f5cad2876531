"""Application and OT behaviours, run one at a time on the small scenario's world."""

from __future__ import annotations

import itertools

import dpkt

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
