"""C&C check-ins randomised by up to ±50% to an odd port (issue #4, tests/detect/botnet_variants.py: jitter_beacon),
and what stays no beacon: check-ins at random, and the same jitter to a device-cloud port."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest

from iotwarden.detect.beacon import BeaconDetector
from iotwarden.model import Flow
from tests.detect.runner import feed, tcp_flow


def _ok(dst: str, port: int, t: float, sport: int = 40000) -> Flow:
    """A short check-in with payload both ways."""
    return tcp_flow("10.0.0.7", dst, port, t, sport=sport, payload=(200, 100), flags=(0x1B, 0x1B), pkts=(4, 4))


def _series(seed: int, port: int, gap: Callable[[random.Random], float], n: int = 40) -> list[Flow]:
    rng, t, flows = random.Random(seed), 1000.0, [_ok("10.0.0.1", 80, 1.0)]
    for i in range(n):
        t += gap(rng)
        flows.append(_ok("203.0.113.50", port, t, sport=40000 + i))
    return flows


def _half(rng: random.Random) -> float:
    return 120 * (1 + rng.uniform(-0.5, 0.5))


@pytest.mark.parametrize("seed", range(20))
def test_check_ins_jittered_by_half_their_period_to_an_odd_port_are_a_beacon(seed: int) -> None:
    alerts = feed([BeaconDetector({"learn_s": 600.0})], flows=_series(seed, 7777, _half))
    assert [a.id for a in alerts] == ["detect.c2.beaconing"]
    assert alerts[0].evidence["jitter"] < 0.3


def test_the_same_jitter_to_a_cloud_port_and_random_check_ins_to_an_odd_port_are_no_wide_beacon() -> None:
    """``max_jitter`` 0 leaves the wider rule alone: it never reads a device-cloud port, nor random check-ins."""
    assert feed([BeaconDetector({"learn_s": 600.0, "max_jitter": 0.0})], flows=_series(0, 8883, _half)) == []
    raised = [seed for seed in range(100) if feed([BeaconDetector({"learn_s": 600.0, "max_jitter": 0.0})],
                                                  flows=_series(seed, 7777, lambda r: r.expovariate(1 / 120)))]
    assert raised == []


def test_a_short_jittered_series_waits_for_min_wide_intervals() -> None:
    flows = _series(3, 7777, _half, n=8)
    assert feed([BeaconDetector({"learn_s": 600.0, "max_jitter": 0.0})], flows=flows) == []
    assert feed([BeaconDetector({"learn_s": 600.0, "max_jitter": 0.0, "min_wide_intervals": 6})], flows=flows)


def _every(period: float, jitter: float) -> Callable[[random.Random], float]:
    return lambda rng: period * (1 + rng.uniform(-jitter, jitter))


@pytest.mark.parametrize("beats", [3, 4, 5, 6, 7])
def test_check_ins_every_40_minutes_to_an_odd_port_are_a_beacon_from_the_third_beat(beats: int) -> None:
    """tests/detect/botnet_variants.py's slow_beacon: three to six beats 30-50 min apart in the three-hour day, judged
    by ``min_slow_intervals`` (2) before ``min_intervals`` (6); raised once, at the third beat."""
    alerts = feed([BeaconDetector({"learn_s": 600.0})], flows=_series(1, 7777, _every(2400, 0.05), n=beats))
    assert [(a.id, a.evidence["beats"]) for a in alerts] == [("detect.c2.beaconing", 3)]


def test_slow_series_judged_early_only_when_steady_slow_and_to_an_odd_port_outside() -> None:
    """Two beats are no series; a cloud port (MQTT over TLS, 8883: the real locks' half-hourly check-ins), check-ins
    under ``slow_period_s`` apart, or (this seed's) varying by ±30% wait for ``min_intervals`` as before, unless their
    intervals fall in two steady groups: this seed's 3045, 1761, 1802, 2883 s are two periods of ~1780 and ~2960 s
    at the fifth beat (``min_two_mode_intervals``)."""
    def raised(port: int, gap: Callable[[random.Random], float], n: int) -> list[str]:
        return [a.id for a in feed([BeaconDetector({"learn_s": 600.0})], flows=_series(2, port, gap, n=n))]

    assert raised(7777, _every(2400, 0.05), 2) == []
    assert raised(8883, _every(1800, 0.01), 6) == []
    assert raised(7777, _every(600, 0.05), 6) == []
    assert raised(7777, _every(2400, 0.3), 4) == []
    alerts = feed([BeaconDetector({"learn_s": 600.0})], flows=_series(2, 7777, _every(2400, 0.3), n=6))
    assert [a.evidence["periods_s"] for a in alerts] == [[1781.825, 2963.995]]
    assert raised(7777, _every(600, 0.05), 7) == ["detect.c2.beaconing"]  # min_intervals reached, as before


def _alternating(*gaps: float) -> Callable[[random.Random], float]:
    turn = itertools.cycle(gaps)
    return lambda rng: next(turn)


def test_check_ins_alternating_30_and_45_minutes_are_a_beacon_from_the_fifth_beat() -> None:
    """A slow C&C jittered between two periods (brief E 1): gaps of 30, 45, 30... min vary by 0.2 (coefficient of
    variation) however many there are, twice ``max_slow_jitter``, so the slow rule never raises them, and
    ``min_intervals``' rule did only at the tenth or thirteenth beat (5.5-7.9 h; before brief E). Their intervals keep
    to two values, each taken twice by the fifth beat (``min_two_mode_intervals``, 4): raised there, 2.5 h in, either
    order, with the two periods in the evidence; a cloud port (8883) still waits for ``min_intervals``."""
    def raised(first: float, then: float, n: int, port: int = 7777) -> list[tuple[str, int, list[float] | None]]:
        flows = _series(3, port, _alternating(first, then), n=n)  # the first gap is spent before the first beat
        return [(a.id, a.evidence["beats"], a.evidence.get("periods_s"))
                for a in feed([BeaconDetector({"learn_s": 600.0})], flows=flows)]

    assert [raised(2700, 1800, n) for n in range(3, 5)] == [[]] * 2
    assert raised(2700, 1800, 12) == [("detect.c2.beaconing", 5, [1800.0, 2700.0])]
    assert raised(1800, 2700, 12) == [("detect.c2.beaconing", 5, [1800.0, 2700.0])]
    assert raised(1800, 2700, 12, port=8883) == []


def test_check_ins_drawing_their_sleep_from_a_set_of_two_are_raised_by_the_seventh_beat() -> None:
    """A sleep drawn at random from {30, 45} min (a bot's fixed jitter set): of 300 such series of 12 beats, 152 are
    raised at the third beat (two equal gaps first) and before brief E the rest waited for ``min_intervals`` (14 never
    raised, the others at the seventh to twelfth beat); now every one is raised by the seventh."""
    beats = [a.evidence["beats"] for seed in range(300)
             for a in feed([BeaconDetector({"learn_s": 600.0})],
                           flows=_series(seed, 7777, lambda r: r.choice((1800.0, 2700.0)), n=12))]
    assert len(beats) == 300 and max(beats) <= 7


def test_random_slow_check_ins_are_rarely_two_periods() -> None:
    """Check-ins at random (Poisson, a mean of 40 min) to an odd port outside: of 300 series of 12 beats, 27 were
    raised (25 at the third beat, by the slow rule's two intervals), and the two-period rule adds 4 (1.3%)."""
    def raised(options: dict[str, object]) -> int:
        return sum(bool(feed([BeaconDetector({"learn_s": 600.0, **options})],
                             flows=_series(seed, 7777, lambda r: r.expovariate(1 / 2400), n=12)))
                   for seed in range(300))

    assert (raised({"min_two_mode_intervals": 10**6}), raised({})) == (27, 31)


def test_an_hourly_licence_check_to_an_odd_port_outside_is_raised_once_at_its_third_beat() -> None:
    """What fires on a benign slow poller (brief G 4; kept, brief E 1): a licence server outside the site listening off
    SERVICE_PORTS (FlexNet's lmgrd on 27000), checked every hour, is a steady slow series to an odd port, all the slow
    rule sees of a C&C from flows: raised at its third beat, 2 h in (before 8f9d789 at its seventh, 6 h in: the same
    alert, earlier). Decided: no more beats for low-rate checks, which would lose the lab's slow C&C (three to six beats
    a day, tests/detect/botnet_variants.py slow_beacon); the cost is one alert per device and destination, not one a
    day: raised, the destination joins the device's normal, and three days of hourly checks raise that one alert. The
    same check on 443 waits for ``min_intervals`` (its seventh beat when its server was not contacted while learning).
    A site's own licence servers are a suppression."""
    alerts = feed([BeaconDetector({"learn_s": 600.0})], flows=_series(4, 27000, _every(3600, 0.0), n=72))
    assert [(a.id, a.evidence["beats"]) for a in alerts] == [("detect.c2.beaconing", 3)]
    assert feed([BeaconDetector({"learn_s": 600.0})], flows=_series(4, 443, _every(3600, 0.0), n=6)) == []
