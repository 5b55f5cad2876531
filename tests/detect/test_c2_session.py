"""Held C&C sessions: long, nearly silent TCP sessions to an outside host on a port no cloud uses."""

from __future__ import annotations

import pytest

from iotwarden.detect.c2_session import SessionDetector
from iotwarden.model import Flow
from tests.detect.runner import feed

C2 = "198.18.7.7"


def _session(minutes: float, *, port: int = 23, payload: tuple[int, int] | None = None, dst: str = C2,
             start: float = 0.0) -> Flow:
    beats = int(minutes)  # Mirai: a 2-byte keep-alive a minute
    pay = payload or (6 + 2 * beats, 2 * beats)
    return Flow(0, 6, "10.0.0.9", 41000, dst, port, start, start + minutes * 60, pkts_ab=beats + 3, pkts_ba=beats + 2,
                bytes_ab=pay[0] + 60, bytes_ba=pay[1] + 60, payload_ab=pay[0], payload_ba=pay[1],
                tcp_flags_ab=0x1B, tcp_flags_ba=0x1B)


def test_a_quiet_hour_on_telnet_to_an_outside_host_is_a_held_session() -> None:
    (alert,) = feed([SessionDetector()], flows=[_session(60)])
    assert (alert.id, alert.key, alert.mitre, alert.dst_ip) == ("detect.c2.session", f"{C2}:23", ["T1071", "T1571"], C2)
    assert alert.evidence["bytes_per_s"] < 1


@pytest.mark.parametrize(("case", "flow"), [
    ("MQTT over TLS to a cloud", _session(60, port=8883)),
    ("a push channel on 443", _session(60, port=443)),
    ("too short", _session(5)),
    ("streaming video", _session(60, port=554, payload=(10_000, 50_000_000))),
    ("nothing came back", _session(60, payload=(120, 0))),
    ("an internal NVR", _session(60, port=554, dst="10.0.0.2")),
])
def test_what_is_not_a_held_session(case: str, flow: Flow) -> None:
    assert feed([SessionDetector()], flows=[flow]) == [], case


def test_the_same_session_is_reported_once_a_day_and_remembered_within_limits() -> None:
    det = SessionDetector({"max_sessions": 2})
    alerts = feed([det], flows=[_session(30, start=i * 1900.0) for i in range(5)])
    assert len(alerts) == 1 and alerts[0].count == 1
    feed([det], flows=[_session(30, dst=f"198.18.0.{i + 1}") for i in range(4)])
    assert len(det._raised) == 2


def test_the_same_address_holding_a_session_on_two_vlans_is_two_devices_each_reported() -> None:
    """A trunk mirror: VLAN 10's and VLAN 20's 10.0.0.9 each hold a quiet hour to C2:23. Per plain address the
    second was within realert_s of the first and went unreported; per domain each device is reported once.
    The two on one VLAN are one device's, reported once as untagged."""
    def held(vlans: tuple[int, int]) -> list[Flow]:
        flows = [_session(60), _session(60, start=4000.0)]
        for flow, vlan in zip(flows, vlans, strict=True):
            flow.vlan = vlan
        return flows
    assert sorted((a.subject, a.count) for a in feed([SessionDetector()], flows=held((10, 20)))) == [
        ("ip:10.0.0.9%vlan10", 1), ("ip:10.0.0.9%vlan20", 1)]
    assert [(a.subject, a.count) for a in feed([SessionDetector()], flows=held((20, 20)))] == [
        ("ip:10.0.0.9%vlan20", 1)]
