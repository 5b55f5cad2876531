"""C2 beaconing: low jitter of inter-arrival times to one destination, from flows alone."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from iotwarden.detect.beacon import BeaconDetector, Beats
from iotwarden.detect.series import RECENT_SOCKETS
from iotwarden.lab.generator import PcapWriter
from iotwarden.lab.wire import SYN, SYN_OPTIONS, Host, tcp_segment
from iotwarden.model import Flow, Observation
from iotwarden.model.alert import Alert
from tests.detect.runner import feed, tcp_flow, zeek_connects, zeek_connects_in_flight
from tests.engineutil import engine_run

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


# the device's first flow: learning runs 600 s from it
LEARNED = tcp_flow("10.0.0.7", "10.0.0.1", 80, 1.0, payload=(200, 100), flags=(0x1B, 0x1B), pkts=(4, 4))
C2 = "203.0.113.50"


def test_a_sockets_syn_retransmissions_logged_apart_are_one_beat() -> None:
    """A bot whose C&C is gone (IoT-23 20-1: a handful of connects minutes apart, each an S0 record and
    1-packet records of its source port 7 and 15 s later): per record, its trimmed intervals are the
    retransmissions' 7 and 8 s, a beacon every 8 s; per socket, six irregular attempts."""
    starts = [4000.0 + t for t in (0.0, 110.5, 200.1, 252.0, 344.5, 468.1)]
    records = zeek_connects("10.0.0.7", C2, 443, starts)
    assert feed([BeaconDetector({"learn_s": 600.0})], flows=[LEARNED, *records]) == []
    # the same records, each from a port of its own, are eighteen connections: that is a beacon
    apart = [tcp_flow(f.a_ip, f.b_ip, f.b_port, f.first_seen, sport=30000 + i, flags=(0x02, 0), pkts=(f.pkts_ab, 0))
             for i, f in enumerate(records)]
    (alert,) = feed([BeaconDetector({"learn_s": 600.0})], flows=[LEARNED, *apart])
    assert 7 <= alert.evidence["period_s"] <= 8


def test_two_sockets_in_flight_at_once_are_two_beats_however_their_records_interleave() -> None:
    """The bot above with two connects in flight each time, 4 s apart: its records come every 3-4 s
    (0, 4, 7, 11, 15, 19), a beacon every 4 s if the first socket's retransmissions were beats; per
    socket, twelve irregular beats."""
    starts = [4000.0 + t for t in (0.0, 110.5, 200.1, 252.0, 344.5, 468.1)]
    records = zeek_connects_in_flight("10.0.0.7", C2, 443, starts, offset=4.0)
    assert feed([BeaconDetector({"learn_s": 600.0})], flows=[LEARNED, *records]) == []


def test_a_beacon_whose_connects_zeek_splits_beats_once_per_connect() -> None:
    rng = random.Random(5)
    starts = [1000.0 + i * 120.0 + rng.uniform(-3, 3) for i in range(10)]
    (alert,) = feed([BeaconDetector({"learn_s": 600.0})],
                    flows=[LEARNED, *zeek_connects("10.0.0.7", C2, 4975, starts, retransmits=(7.0, 15.0, 31.0))])
    assert alert.key == f"{C2}:4975" and 115 <= alert.evidence["period_s"] <= 125
    assert alert.evidence["connections"] == 7  # judged at min_intervals + 1 connects, not at 7 records


def _servers_in_turn(port: int) -> list[Flow]:
    """IoT-23 8-1 (Hakai) from the capture's start: connects to two addresses in turn, 35 and 45 s apart
    (each address every 80 s), none answered, each an S0 record of its first three SYNs and records of
    its retransmissions 7.2, 15.6 and 32.4 s after the first, for 80 minutes."""
    first = [i * 80.0 for i in range(60)]
    return sorted(zeek_connects("10.0.0.7", C2, port, first, retransmits=(7.2, 15.6, 32.4)) +
                  zeek_connects("10.0.0.7", "203.0.113.51", port, [t + 35.0 for t in first],
                                retransmits=(7.2, 15.6, 32.4), sport=45000), key=lambda f: f.first_seen)


def test_a_bot_trying_servers_that_never_answer_in_turn_beacons_to_each_infected_before_monitoring() -> None:
    """Every 80 s per address, slower than a call-back's 30 s: a beacon per address, per socket (the
    retransmissions logged apart are no beats), on a port outside SERVICE_PORTS never learned, so from
    the capture's start; the same loop to 443 while learning is the device's cloud (habit dead_cloud)."""
    alerts = feed([BeaconDetector({"learn_s": 3600.0})], flows=[LEARNED, *_servers_in_turn(50)])
    assert sorted(a.key for a in alerts) == [f"{C2}:50", "203.0.113.51:50"]
    assert all(79 <= a.evidence["period_s"] <= 81 for a in alerts)
    assert feed([BeaconDetector({"learn_s": 3600.0})], flows=[LEARNED, *_servers_in_turn(443)]) == []


@pytest.mark.parametrize(("case", "period", "ports", "proto"), [
    ("a new source port each time, faster than a socket's retransmissions", 20.0, 1, 6),
    ("one source port, reused once its attempt is over", 150.0, 0, 6),
    ("UDP from one source port (no SYN to retransmit)", 20.0, 0, 17),
])
def test_a_periodic_beacon_still_alerts(case: str, period: float, ports: int, proto: int) -> None:
    flows = [Flow(0, proto, "10.0.0.7", 40000 + i * ports, C2, 8443, 1000.0 + i * period, 1000.0 + i * period + 0.3,
                  pkts_ab=4, pkts_ba=4, payload_ab=200, payload_ba=100, tcp_flags_ab=0x1B if proto == 6 else 0,
                  tcp_flags_ba=0x1B if proto == 6 else 0) for i in range(10)]
    (alert,) = feed([BeaconDetector({"learn_s": 600.0})], flows=[LEARNED, *flows])
    assert alert.id == "detect.c2.beaconing" and period * 0.95 <= alert.evidence["period_s"] <= period * 1.05


def test_packets_keep_a_sockets_syns_in_one_flow_so_the_pcap_path_counts_as_before(tmp_path: Path) -> None:
    """The same connects as packets (each SYN retransmitted 1, 3, 7, 15, 31 s after the first): the
    engine makes one flow per socket, so the detector beats once per connect there, as it now does
    on Zeek's records of them."""
    rng = random.Random(9)
    starts = [1000.0 + i * 120.0 + rng.uniform(-3, 3) for i in range(10)]
    device, c2 = Host("02:00:00:00:00:07", "10.0.0.7"), Host("02:00:00:00:00:01", C2)
    with (tmp_path / "syns.pcap").open("wb") as fh:
        writer = PcapWriter(fh)
        for i, t in enumerate(starts):
            for at in (0.0, 1.0, 3.0, 7.0, 15.0, 31.0):
                writer.write(t + at, tcp_segment(device, c2, b"", sport=41000 + i, dport=4975, seq=1000 * i, ack=0,
                                                 flags=SYN, options=SYN_OPTIONS, window=64240))
        writer.flush()
    _, flows = engine_run(tmp_path / "syns.pcap")
    assert sorted((f.a_port, f.pkts_ab) for f in flows) == [(41000 + i, 6) for i in range(10)]

    def seen(alerts: list[Alert]) -> list[tuple[str, int, int]]:
        return [(a.key, a.evidence["connections"], round(a.evidence["period_s"])) for a in alerts]

    from_packets = feed([BeaconDetector({"learn_s": 600.0})], flows=[LEARNED, *flows])
    from_zeek = feed([BeaconDetector({"learn_s": 600.0})],
                     flows=[LEARNED, *zeek_connects("10.0.0.7", C2, 4975, starts, retransmits=(7.0, 15.0, 31.0))])
    assert seen(from_packets) == seen(from_zeek) and len(from_packets) == 1



def _alerting_beacon(period: float) -> tuple[BeaconDetector, list[Flow], float]:
    """A beacon every ``period`` s on an odd port whose connects go unanswered (each SYN retransmitted 7
    and 15 s after the first, logged apart by Zeek), raising at its seventh connect: the detector, the
    records, and the alerting connect's start."""
    starts = [1000.0 + i * period for i in range(7)]
    return BeaconDetector({"learn_s": 600.0}), zeek_connects("10.0.0.7", C2, 4975, starts), starts[-1]


def test_a_beats_syn_retransmitted_after_its_alert_is_still_that_beat() -> None:
    """The alert comes at a connect's first record; that socket's later records (7 and 15 s after) come
    after it and are still that connect: the series keeps the latest beat's start through the alert,
    so they are no new beats (issue #4: clearing it with the times made the first one a beat)."""
    det, records, last = _alerting_beacon(120.0)
    (alert,) = feed([det], flows=[LEARNED, *[f for f in records if f.first_seen <= last]])
    assert alert.evidence["connections"] == 7
    feed([det], flows=[f for f in records if f.first_seen > last])  # the alerting connect's retransmissions
    beats = det._series[("10.0.0.7", C2, 4975)]
    assert not isinstance(beats, tuple) and beats.times == [last]
    feed([det], flows=zeek_connects("10.0.0.7", C2, 4975, [last + 120.0], sport=42000))
    assert beats.times == [last, last + 120.0]  # a new connect is a beat, its retransmissions are not


def test_an_earlier_sockets_syn_retransmitted_after_the_alert_is_no_beat() -> None:
    """A beacon every 10 s whose connects go unanswered: each socket's retransmission 15 s after its
    start comes after the next socket's start, between that one's records. The alert comes at the
    seventh socket's start; the sixth socket's retransmission comes after it and is still that socket
    (an attempt in flight, kept through the alert), not a new beat."""
    det, records, last = _alerting_beacon(10.0)
    (alert,) = feed([det], flows=[LEARNED, *[f for f in records if f.first_seen <= last]])
    assert alert.first_seen == last and 9.5 <= alert.evidence["period_s"] <= 10.5
    after = [f for f in records if f.first_seen > last]
    assert {f.a_port for f in after} == {41005, 41006}  # the sixth socket's retransmission among the seventh's
    feed([det], flows=after)
    beats = det._series[("10.0.0.7", C2, 4975)]
    assert not isinstance(beats, tuple) and beats.times == [last]


@pytest.mark.parametrize("sockets", [2, 3, RECENT_SOCKETS])
def test_up_to_recent_sockets_connects_in_flight_at_once_are_each_one_beat(sockets: int) -> None:
    """Up to RECENT_SOCKETS connects in flight at once, 2 s apart, each retransmitted 7, 15, 31 and 63 s
    after its first SYN, their records interleaved: each socket is one connect, one start time kept (the
    sockets of one poll then make one round, one beat, when judged; more at once than that:
    their oldest's records count as new connects, the series' named limit, tests/detect/test_series.py)."""
    starts = [4000.0 + i * 200.0 for i in range(5)]
    records = zeek_connects_in_flight("10.0.0.7", C2, 443, starts, offset=2.0, retransmits=(7.0, 15.0, 31.0, 63.0),
                                      sockets=sockets)
    det = BeaconDetector({"learn_s": 600.0, "min_intervals": 50, "max_intervals": 64})  # kept, never judged
    feed([det], flows=[LEARNED, *records])
    beats = det._series[("10.0.0.7", C2, 443)]
    assert not isinstance(beats, tuple) and beats.times == sorted(t + 2.0 * k for t in starts for k in range(sockets))


def _polls(sockets: tuple[int, ...], period: float, offset: float = 2.0, n: int = 10) -> list[Flow]:
    """A device polling an odd port every ``period`` s, answered, with ``sockets[i % len(sockets)]``
    parallel connects per poll, ``offset`` s apart, each from a port of its own."""
    flows, sport = [], 40000
    for i in range(n):
        for k in range(sockets[i % len(sockets)]):
            flows.append(tcp_flow("10.0.0.7", C2, 4975, 1000.0 + i * period + k * offset, sport=sport, **OK))
            sport += 1
    return flows


@pytest.mark.parametrize(("sockets", "period"), [((1,), 60.0), ((2,), 200.0), ((3,), 200.0), ((2, 3), 200.0)])
def test_a_poll_of_several_sockets_at_once_is_one_beat_timed_by_its_first_connect(sockets: tuple[int, ...],
                                                                                  period: float) -> None:
    """Device clients open two or three connections per poll, 2 s apart (issue #4): counted connect by
    connect, the polls' long gaps were trimmed as missed check-ins and the 2-s gaps left read as a beacon
    every 2 s. One round is one beat: the series beacons every ``period`` s, one connect per beat or not,
    and in whatever order its flows come (they come as they end)."""
    flows = _polls(sockets, period)
    for order in (flows, sorted(flows, key=lambda f: (f.first_seen // period, -f.first_seen))):
        (alert,) = feed([BeaconDetector({"learn_s": 600.0})], flows=[LEARNED, *order])
        assert alert.key == f"{C2}:4975" and alert.evidence["period_s"] == period
        assert alert.title.endswith(f"every {period:.0f}s") and alert.evidence["jitter"] == 0.0
        # raised at the seventh poll's first connect to come: six polls' sockets and that one
        assert alert.evidence["beats"] == 7
        assert alert.evidence["connections"] == sum(sockets[i % len(sockets)] for i in range(6)) + 1


def test_rounds_of_unanswered_sockets_beat_once_per_round_their_retransmissions_none() -> None:
    """The one-socket rule and rounds together: three connects 2 s apart every 200 s, none answered,
    each SYN retransmitted 7, 15 and 31 s after the first and logged apart (records every 2-4 s for half
    a minute per round): one beat per round, a beacon every 200 s."""
    starts = [1000.0 + i * 200.0 for i in range(10)]
    records = zeek_connects_in_flight("10.0.0.7", C2, 4975, starts, offset=2.0, retransmits=(7.0, 15.0, 31.0),
                                      sockets=3)
    (alert,) = feed([BeaconDetector({"learn_s": 600.0})], flows=[LEARNED, *records])
    assert alert.evidence["period_s"] == 200.0
    assert alert.evidence["connections"] == 19  # at the seventh round's first connect: six rounds and that one


def test_sockets_apart_by_more_than_a_round_are_beats_of_their_own() -> None:
    """``round_s`` bounds a round: a beacon every 5 s (Gafgyt's fixed retry pace), one socket each time,
    is still a beacon every 5 s; with ``round_s`` above its pace it is one long round, no beacon."""
    flows = [tcp_flow("10.0.0.7", C2, 4975, 1000.0 + i * 5.0, sport=40000 + i, **OK) for i in range(10)]
    (alert,) = feed([BeaconDetector({"learn_s": 600.0})], flows=[LEARNED, *flows])
    assert alert.evidence["period_s"] == 5.0
    assert feed([BeaconDetector({"learn_s": 600.0, "round_s": 6.0})], flows=[LEARNED, *flows]) == []


def test_a_socket_begun_while_learning_and_retransmitted_after_it_is_no_beat() -> None:
    """A connect to a destination learned as normal, 10 s before the device's learning phase ends (600 s
    from its first flow at 1 s), unanswered: its SYN retransmissions logged 7, 15 and 31 s after it
    fall after the phase and are that socket, not a beat (they were one: a series began at the first)."""
    det = BeaconDetector({"learn_s": 600.0})
    feed([det], flows=[LEARNED, *zeek_connects("10.0.0.7", C2, 443, [591.0], retransmits=(7.0, 15.0, 31.0))])
    beats = det._series[("10.0.0.7", C2, 443)]
    assert isinstance(beats, Beats) and beats.times == [] and beats.earlier == (41000, 591.0)
    feed([det], flows=zeek_connects("10.0.0.7", C2, 443, [800.0], retransmits=(7.0,), sport=42000))
    assert beats.times == [800.0]  # the next connect after the phase is a beat, its retransmission not
    # a connect early in the phase keeps nothing: its retransmissions all come while learning
    early = BeaconDetector({"learn_s": 600.0})
    feed([early], flows=[LEARNED, *zeek_connects("10.0.0.7", C2, 443, [100.0], retransmits=(7.0, 15.0, 31.0))])
    assert ("10.0.0.7", C2, 443) not in early._series


@pytest.mark.parametrize(("sockets", "max_connects", "period"),
                         [(5, 128, 60.0), (7, 128, 60.0), (21, 128, 60.0), (25, 128, 59.6), (26, 128, None),
                          (26, 160, 60.0)])
def test_rounds_are_judged_while_the_connects_kept_hold_seven_of_them(sockets: int, max_connects: int,
                                                                     period: float | None) -> None:
    """A series keeps its latest ``max_intervals + 1`` rounds, at most ``max_connects`` connects: a poll of
    seven sockets at once (once the named limit: 33 connects kept) is judged as a poll of one is; up to
    25 a poll leave seven rounds in the default 128 (five whole, the oldest's latest sockets, the newest's
    first), 26 are never judged (the named limit now) until ``max_connects`` is raised."""
    flows = _polls((sockets,), 60.0, offset=0.1, n=30)
    alerts = feed([BeaconDetector({"learn_s": 600.0, "max_connects": max_connects})], flows=[LEARNED, *flows])
    # 22-25 a poll: the oldest round kept is its latest sockets, its beat a little late, the period a little short
    assert [round(a.evidence["period_s"], 1) for a in alerts] == ([period] if period else [])


def test_a_series_of_one_socket_a_poll_keeps_max_intervals_plus_one_connects() -> None:
    det = BeaconDetector({"learn_s": 600.0, "min_intervals": 50, "max_intervals": 10})  # kept, never judged
    feed([det], flows=[LEARNED, *_polls((1,), 60.0, n=30)])
    beats = det._series[("10.0.0.7", C2, 4975)]
    assert isinstance(beats, Beats) and len(beats.times) == 11 and beats.rounds == 11
    assert beats.times[0] == 1000.0 + 19 * 60.0


def test_one_address_on_two_vlans_beating_in_turn_is_two_devices_and_no_beacon() -> None:
    """A trunk mirror: VLAN 10's and VLAN 20's 10.0.0.7 connect to one outside address in turn, each every 120 s
    with its own phase (one series of 60 s and 60 s per plain address): each has five connects, under
    min_intervals' beats, and nothing is raised; the ten connects on one VLAN beat every 60 s as untagged."""
    def turns(vlans: tuple[int, int]) -> list[Flow]:
        # each VLAN's device learns from a first flow of its own, then the beats alternate between the two
        flows = [tcp_flow("10.0.0.7", "10.0.0.1", 80, 1.0 + i, **OK) for i in range(2)] + _beacons(1000.0, 60.0, 10)
        for i, flow in enumerate(flows):
            flow.vlan = vlans[i % 2]
        return flows
    assert feed([BeaconDetector({"learn_s": 600.0})], flows=turns((10, 20))) == []
    alerts = feed([BeaconDetector({"learn_s": 600.0})], flows=turns((20, 20)))
    assert [(a.id, a.src_ip, a.key) for a in alerts] == [("detect.c2.beaconing", "10.0.0.7", "203.0.113.50:8443")]


def _answer(ts: float, name: str, address: str, vlan: int) -> Observation:
    """A DNS answer naming ``address`` on VLAN ``vlan`` (0: untagged), to that VLAN's 10.0.0.7."""
    return Observation(ts=ts, proto="dns", kind="response", src_ip="10.0.0.1", dst_ip="10.0.0.7", vlan=vlan or None,
                       fields={"answers": [{"name": name, "type": "A", "data": address, "ttl": 60}]})


def _on(vlan: int, flows: list[Flow]) -> list[Flow]:
    for flow in flows:
        flow.vlan = vlan
    return flows


def test_a_name_another_vlan_resolved_to_an_address_does_not_name_this_vlans_host() -> None:
    """A trunk mirror: VLAN 20's device learns updates.example (its VLAN's 10.0.0.9) on 443, then beats every 60 s
    to its VLAN's 10.0.0.30, which only VLAN 10's DNS named updates.example (VLAN 10's own server). Named by the
    plain address (before), VLAN 10's answer made the beats a learned destination: no beacon. Within the VLAN,
    10.0.0.30 is unnamed: a beacon, high. Untagged, the same records are one link and the name holds: nothing."""
    def run(vlans: tuple[int, int]) -> list[Alert]:
        dns = [_answer(0.5, "updates.example", "10.0.0.9", vlans[1]),
               _answer(0.6, "updates.example", "10.0.0.30", vlans[0])]
        learned = [tcp_flow("10.0.0.7", "10.0.0.9", 443, 1.0 + i * 60.0, sport=39000 + i, **OK) for i in range(3)]
        beats = [tcp_flow("10.0.0.7", "10.0.0.30", 443, 1000.0 + i * 60.0, sport=40000 + i, **OK) for i in range(10)]
        return feed([BeaconDetector({"learn_s": 600.0})], observations=dns, flows=_on(vlans[1], learned + beats))
    alerts = run((10, 20))
    assert [(a.id, a.key, a.severity, a.evidence["name"]) for a in alerts] == [
        ("detect.c2.beaconing", "10.0.0.30:443", "high", None)]
    assert run((20, 20)) == []
    assert run((0, 0)) == []


def test_one_address_two_vlans_name_differently_is_named_by_each_vlans_own_answer() -> None:
    """VLAN 10's DNS names 10.0.0.30 printer.corp, VLAN 20's (later) names its own 10.0.0.30 relay.corp: VLAN 10's
    device beating to 10.0.0.30 beacons to printer.corp (before: relay.corp, the last answer of any VLAN); an
    outside address stays one name everywhere (VLAN 20's answer names VLAN 10's destination 203.0.113.50)."""
    def run(dst: str) -> list[tuple[str, str]]:
        dns = [_answer(0.5, "printer.corp", "10.0.0.30", 10), _answer(0.6, "relay.corp", "10.0.0.30", 20),
               _answer(0.7, "cdn.example", "203.0.113.50", 20)]
        flows = [tcp_flow("10.0.0.7", "10.0.0.1", 80, 1.0, **OK)]
        flows += [tcp_flow("10.0.0.7", dst, 8443, 1000.0 + i * 60.0, sport=40000 + i, **OK) for i in range(10)]
        alerts = feed([BeaconDetector({"learn_s": 600.0})], observations=dns, flows=_on(10, flows))
        return [(a.title.split(" every ")[0], a.evidence["name"]) for a in alerts]
    assert run("10.0.0.30") == [("10.0.0.7 beacons to printer.corp:8443", "printer.corp")]
    assert run("203.0.113.50") == [("10.0.0.7 beacons to cdn.example:8443", "cdn.example")]
