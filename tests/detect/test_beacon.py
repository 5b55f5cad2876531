"""C2 beaconing: low jitter of inter-arrival times to one destination, from flows alone."""

from __future__ import annotations

import random

from iotwarden.detect.beacon import BeaconDetector
from iotwarden.model import Flow, Observation
from tests.detect.runner import feed, tcp_flow

OK = {"payload": (200, 100), "flags": (0x1B, 0x1B), "pkts": (4, 4)}


def _beacons(start: float, period: float, n: int, jitter: float = 0.0, dst: str = "203.0.113.50") -> list:
    rng = random.Random(7)
    return [tcp_flow("10.0.0.7", dst, 8443, start + i * period + rng.uniform(-jitter, jitter) * period,
                     sport=40000 + i, **OK) for i in range(n)]


def test_a_new_periodic_destination_after_learning_is_a_beacon() -> None:
    alerts = feed([BeaconDetector({"learn_s": 600.0})], flows=[
        tcp_flow("10.0.0.7", "10.0.0.1", 80, 1.0, **OK), *_beacons(1000.0, 60.0, 10, jitter=0.05)])
    assert [(a.id, a.key, a.severity) for a in alerts] == [("detect.c2.beaconing", "203.0.113.50:8443", "high")]
    assert 55 < alerts[0].evidence["period_s"] < 65


def test_random_intervals_are_not_a_beacon() -> None:
    rng = random.Random(3)
    times = sorted(rng.uniform(1000, 5000) for _ in range(20))
    flows = [tcp_flow("10.0.0.7", "203.0.113.50", 8443, t, sport=40000 + i, **OK) for i, t in enumerate(times)]
    assert feed([BeaconDetector({"learn_s": 600.0})], flows=[tcp_flow("10.0.0.7", "10.0.0.1", 80, 1.0, **OK),
                                                             *flows]) == []


def test_heartbeats_begun_while_learning_are_the_devices_normal() -> None:
    assert feed([BeaconDetector({"learn_s": 3600.0})], flows=_beacons(0.0, 120.0, 60)) == []


def test_a_named_destination_learned_by_name_survives_address_rotation() -> None:
    dns = [Observation(ts=0.5, proto="dns", kind="response", src_ip="10.0.0.1", dst_ip="10.0.0.7",
                       fields={"answers": [{"name": "iot.example.com", "type": "A", "data": ip, "ttl": 60}]})
           for ip in ("203.0.113.1", "203.0.113.2")]
    flows = _beacons(1.0, 60.0, 20, dst="203.0.113.1") + _beacons(4000.0, 60.0, 20, dst="203.0.113.2")
    assert feed([BeaconDetector({"learn_s": 3600.0})], observations=dns, flows=flows) == []


def test_learning_zero_hunts_in_an_incident_capture() -> None:
    alerts = feed([BeaconDetector({"learn_s": 0.0})], flows=_beacons(0.0, 30.0, 10, jitter=0.1))
    assert [a.id for a in alerts] == ["detect.c2.beaconing"]


def test_a_beacon_to_an_odd_port_outside_is_never_learned_so_a_bot_infected_before_monitoring_is_caught() -> None:
    flows = [tcp_flow("10.0.0.7", "203.0.113.50", 6667, i * 120.0, sport=40000 + i, **OK) for i in range(20)]
    alerts = feed([BeaconDetector({"learn_s": 3600.0})], flows=flows)
    assert [(a.id, a.key) for a in alerts] == [("detect.c2.beaconing", "203.0.113.50:6667")]


def test_udp_keepalives_to_p2p_relays_while_learning_are_normal() -> None:
    flows = [Flow(0, 17, "10.0.0.7", 40000, "203.0.113.50", 32100, i * 15.0, i * 15.0 + 0.05, pkts_ab=1, pkts_ba=1,
                  payload_ab=48, payload_ba=48) for i in range(40)]
    assert feed([BeaconDetector({"learn_s": 3600.0})], flows=flows) == []


def test_an_unnamed_address_is_suspicious_only_where_the_device_uses_names() -> None:
    dns = [Observation(ts=0.5, proto="dns", kind="response", src_ip="10.0.0.1", dst_ip="10.0.0.7",
                       fields={"answers": [{"name": "iot.example.com", "type": "A", "data": "203.0.113.1",
                                            "ttl": 60}]})]
    named = _beacons(1.0, 60.0, 20, dst="203.0.113.1")
    raw = [tcp_flow("10.0.0.7", "198.51.100.9", 443, 30.0 + i * 90.0, sport=41000 + i, **OK) for i in range(20)]
    alerts = feed([BeaconDetector({"learn_s": 3600.0})], observations=dns, flows=named + raw)
    assert [a.key for a in alerts] == ["198.51.100.9:443"]
    assert feed([BeaconDetector({"learn_s": 3600.0})], flows=raw) == []  # a bare conn.log: no names at all


def test_http_polling_of_an_address_named_as_a_literal_host_is_never_learned() -> None:
    """No DNS seen for the device at all; its HTTP requests name the bare address (hard-coded C&C)."""
    dst = "203.0.113.50"
    flows = [tcp_flow("10.0.0.7", dst, 80, i * 120.0, sport=40000 + i, **OK) for i in range(10)]

    def get(ts: float, host: str) -> Observation:
        return Observation(ts=ts, proto="http", kind="request", src_ip="10.0.0.7", dst_ip=dst, dst_port=80,
                           fields={"method": "GET", "uri": "/p", "host": host})

    hard_coded = feed([BeaconDetector()], observations=[get(0.0, f"{dst}:80")], flows=flows)
    assert [(a.id, a.key) for a in hard_coded] == [("detect.c2.beaconing", f"{dst}:80")]
    assert feed([BeaconDetector()], observations=[get(0.0, "api.vendor.example")], flows=flows) == []
