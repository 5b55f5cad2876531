"""C&C call-backs: short, empty connections to one outside host:port, again and again, at a bot's pace."""

from __future__ import annotations

import random

import pytest

from iotwarden.detect.c2_retry import CallbackDetector, CallbackOptions
from iotwarden.detect.series import RECENT_SOCKETS
from iotwarden.model import Flow
from tests.detect.runner import feed, tcp_flow, zeek_connects, zeek_connects_in_flight

C2 = "198.18.7.7"  # outside the site (not in INTERNAL_NETWORKS)
REFUSED = {"flags": (0x02, 0x14), "pkts": (1, 1)}


def _tries(gaps: list[float], *, dst: str = C2, port: int = 23, **kw: object) -> list[Flow]:
    t, out = 100.0, []
    for i, gap in enumerate(gaps):
        out.append(tcp_flow("10.0.0.9", dst, port, t, sport=40000 + i, **{**REFUSED, **kw}))  # type: ignore[arg-type]
        t += gap
    return out


def test_a_mirai_reconnect_loop_is_a_callback_even_with_no_learning() -> None:
    rng = random.Random(1)
    alerts = feed([CallbackDetector()], flows=_tries([float(rng.randint(1, 10)) for _ in range(40)]))
    assert [(a.id, a.key, a.severity, a.src_ip, a.dst_ip) for a in alerts] == [
        ("detect.c2.callback", f"{C2}:23", "high", "10.0.0.9", C2)]
    assert alerts[0].mitre == ["T1071", "T1571"] and alerts[0].evidence["connections"] >= 10
    assert alerts[0].flows  # the connections behind it


def test_a_service_port_is_medium_and_names_no_non_standard_port() -> None:
    (alert,) = feed([CallbackDetector()], flows=_tries([5.0] * 30, port=443))
    assert (alert.severity, alert.mitre) == ("medium", ["T1071"])


@pytest.mark.parametrize(("case", "gaps", "kw"), [
    ("exponential back-off to 128 s (AWS IoT SDK)", [min(2.0 ** i, 128.0) + 3 for i in range(40)], {}),
    # two sockets a round 0.3 s apart (a client opening two at once): judged by rounds, not by the median of
    # gaps that alternate 0.3 s and the round's pace (50 s: slower than a bot's, its pairs' median 25 s is not)
    ("a retry every 50 s, two connects a round", [g for _ in range(40) for g in (0.3, 49.7)], {}),
    ("exponential back-off, two connects a round", [g for i in range(40) for g in (0.3, min(2.0 ** i, 128.0) + 3)],
     {}),
    ("a flood: many a second", [0.01] * 400, {}),
    ("a burst: brute force for a minute", [5.0] * 12, {}),
    ("sessions that carry data", [5.0] * 40, {"payload": (500, 900), "flags": (0x1B, 0x1B), "pkts": (6, 6)}),
    ("the tail of a long connection (no SYN)", [5.0] * 40, {"flags": (0x10, 0x10)}),
    ("an internal host", [5.0] * 40, {"dst": "10.0.0.1"}),
    ("multicast", [5.0] * 40, {"dst": "239.255.255.250"}),
])
def test_what_is_not_a_callback(case: str, gaps: list[float], kw: dict[str, object]) -> None:
    assert feed([CallbackDetector()], flows=_tries(gaps, **kw)) == [], case  # type: ignore[arg-type]


def test_a_loop_that_goes_on_is_reported_again_twice_per_window() -> None:
    alerts = feed([CallbackDetector({"window_s": 600.0})], flows=_tries([5.0] * 400))  # 2000 s
    assert len(alerts) == 1 and alerts[0].count == 7  # raised at 220, 520, ... 2020 s; one alert in the pipeline


def test_a_loop_of_hours_is_one_alert_with_the_default_windows() -> None:
    # IoT-23 34-1 (docs/iot23-shapes.md): an IRC C&C retried every 10 s for hours was re-raised just over
    # the hour each time, one past the pipeline's aggregation window: a new alert every hour
    alerts = feed([CallbackDetector()], flows=_tries([10.3] * 1400))  # 4 h, a pace that does not divide the hour
    assert len(alerts) == 1 and alerts[0].count >= 8


def test_tracked_series_are_limited() -> None:
    det = CallbackDetector({"max_series": 3})
    feed([det], flows=[f for i in range(6) for f in _tries([5.0] * 2, dst=f"198.18.0.{i + 1}")])
    assert len(det._series) == 3


@pytest.mark.parametrize("min_connections", [5, 8, 10])
def test_an_alert_shows_the_latest_connections_and_a_series_holds_only_flows_an_alert_can_show(
        min_connections: int) -> None:
    """A series' first flow is held only when an alert could show it (min_connections at most the 8
    flows an alert shows): a scan's millions of one-probe series then hold no flow."""
    tries = _tries([5.0] * 30)
    det = CallbackDetector({"min_connections": min_connections})
    alerts = feed([det], flows=tries)
    assert alerts
    raised = [f.first_seen for f in tries].index(alerts[0].first_seen)
    assert raised + 1 >= min_connections
    assert [f["first_seen"] for f in alerts[0].flows] == [f.first_seen for f in tries[: raised + 1]][-8:]
    det = CallbackDetector({"min_connections": min_connections})
    feed([det], flows=tries[:1])
    (series,) = det._series.values()
    if min_connections <= 8:
        assert series.flows == tries[:1]
    else:  # held as (start, source port): no flow, a fraction of a Series' memory
        assert series == (tries[0].first_seen, tries[0].a_port)


@pytest.mark.parametrize("min_connections", [1, 2, 3])
def test_a_site_may_ask_for_very_short_series(min_connections: int) -> None:
    # one connection is no series (no gap); two have one gap and no back-off trend to judge: none may crash
    options = {"min_connections": min_connections, "min_span_s": 0.0}
    assert feed([CallbackDetector(options)], flows=_tries([5.0])) == []  # a single connection
    alerts = feed([CallbackDetector(options)], flows=_tries([5.0] * 4))
    assert [a.id for a in alerts] == ["detect.c2.callback"]


def test_a_sockets_syn_retransmissions_logged_apart_are_one_attempt() -> None:
    """A device whose cloud is down gives up each connect after ~20 s and backs off: its records come
    7-8 s apart (the retransmissions) but its attempts minutes apart; counted per record, it would be
    a call every 8 s."""
    starts, t, wait = [], 100.0, 1.0
    for _ in range(40):
        starts.append(t)
        t += 20.0 + wait
        wait = min(wait * 2, 128.0)
    assert feed([CallbackDetector()], flows=zeek_connects("10.0.0.9", C2, 443, starts)) == []


def test_two_sockets_in_flight_at_once_are_two_attempts_however_their_records_interleave() -> None:
    """A device with two connects in flight each round, 3.5 s apart, each retransmitted at 7 and 15 s:
    its records interleave (0, 3.5, 7, 10.5, 15, 18.5), and the first socket's retransmissions come
    after the second socket's start; each socket is still one attempt, one start time."""
    starts = [100.0, 160.0, 220.0]
    det = CallbackDetector()
    feed([det], flows=zeek_connects_in_flight("10.0.0.9", C2, 443, starts, offset=3.5))
    (series,) = det._series.values()
    assert not isinstance(series, tuple)
    assert series.times == [100.0, 103.5, 160.0, 163.5, 220.0, 223.5]


def test_a_bot_retrying_every_few_seconds_is_still_a_callback_when_zeek_splits_its_syns() -> None:
    # Mirai: each connect given up within 10 s (a retransmission at 7 s), the next after 1-10 s
    rng = random.Random(2)
    starts, t = [], 100.0
    for _ in range(30):
        starts.append(t)
        t += 10.0 + rng.randint(1, 10)
    (alert,) = feed([CallbackDetector()], flows=zeek_connects("10.0.0.9", C2, 443, starts, retransmits=(7.0,)))
    assert alert.evidence["connections"] >= 10 and 11 <= alert.evidence["median_gap_s"] <= 20



def test_a_sockets_last_syn_retransmission_63_s_after_its_first_is_still_that_attempt() -> None:
    """Linux retransmits an unanswered SYN up to 63 s after the first (tcp_syn_retries 6; in IoT-23 44-1
    a socket is answered 64.8 s after its first SYN). A device whose cloud is down opens two sockets at
    once each round (0.3 s apart), gives each up after 75 s (BSD's classic connect timeout) and starts
    a round every 100 s. Each socket is one attempt, however its records interleave with the other's:
    with the socket's bound at the 60-s max_duration_s, the 63-s records were connects of their own,
    a round 63 s into each, and for a site allowing a slower pace (max_gap_s 60) gaps of 63 and 37 s
    made a call-back every 50 s of a device retrying every 100 s."""
    starts = [100.0 + i * 100.0 for i in range(40)]
    records = zeek_connects_in_flight("10.0.0.9", C2, 443, starts, offset=0.3, retransmits=(7.0, 15.0, 31.0, 63.0))
    det = CallbackDetector()
    assert feed([det], flows=records) == []
    (series,) = det._series.values()
    assert not isinstance(series, tuple)
    assert series.times == sorted(starts + [t + 0.3 for t in starts])[-CallbackOptions().max_connections:]
    assert feed([CallbackDetector({"max_gap_s": 60.0})], flows=records) == []
    # the pace the site asked for is still a call-back: a round every 50 s, records as Zeek writes them
    (alert,) = feed([CallbackDetector({"max_gap_s": 60.0})], flows=zeek_connects_in_flight(
        "10.0.0.9", C2, 443, [100.0 + i * 50.0 for i in range(40)], offset=0.3, retransmits=(7.0, 15.0, 31.0)))
    assert 49 <= alert.evidence["median_gap_s"] <= 51


@pytest.mark.parametrize("sockets", [2, 3, RECENT_SOCKETS])
def test_up_to_recent_sockets_connects_in_flight_at_once_are_each_one_attempt(sockets: int) -> None:
    """Up to RECENT_SOCKETS connects in flight at once, 2 s apart, each retransmitted 7, 15, 31 and 63 s
    after its first SYN: every socket's records come between the others', and each socket is one
    attempt, one start time (more sockets at once than that: their oldest's records count as new
    connects, the series' named limit, tests/detect/test_series.py)."""
    starts = [100.0 + i * 200.0 for i in range(5)]
    records = zeek_connects_in_flight("10.0.0.9", C2, 443, starts, offset=2.0, retransmits=(7.0, 15.0, 31.0, 63.0),
                                      sockets=sockets)
    det = CallbackDetector()
    feed([det], flows=records)
    (series,) = det._series.values()
    assert not isinstance(series, tuple)
    assert series.times == sorted(t + 2.0 * k for t in starts for k in range(sockets))


def test_one_address_calling_back_from_two_vlans_is_two_devices_of_half_a_loop_each() -> None:
    """A trunk mirror: VLAN 10's and VLAN 20's 10.0.0.9 take turns calling C2:23 every 8 s, 9 tries each
    (18 together, over min_connections 10): each device's 9 tries are under the threshold, and nothing is
    raised. The 18 on one VLAN are the call-back loop, as untagged."""
    def tries(vlans: tuple[int, int]) -> list[Flow]:
        flows = _tries([8.0] * 18)
        for i, flow in enumerate(flows):
            flow.vlan = vlans[i % 2]
        return flows
    default = CallbackOptions()
    assert 9 < default.min_connections <= 18
    assert feed([CallbackDetector()], flows=tries((10, 20))) == []
    assert [(a.id, a.src_ip) for a in feed([CallbackDetector()], flows=tries((20, 20)))] == [
        ("detect.c2.callback", "10.0.0.9")]
