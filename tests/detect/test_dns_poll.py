"""detect.c2.dns_poll: one name's TXT record polled at a steady pace is C&C over DNS; A lookups on a timer, a mail
server's SPF checks of many domains, sporadic TXT lookups and a resolver's retries are not."""

from __future__ import annotations

import random

import pytest

from iotwarden.detect.dns_poll import DNS_POLL, DnsPollDetector
from iotwarden.errors import ConfigError
from iotwarden.model import Observation
from tests.detect.runner import feed


def _query(t: float, name: str, qtype: str = "TXT", src: str = "10.0.0.7") -> Observation:
    mac = f"02:00:00:00:00:{int(src.rsplit('.', 1)[1]):02x}"
    return Observation(ts=t, proto="dns", kind="query", src_ip=src, dst_ip="10.0.0.1", src_mac=mac,
                       src_port=40000, dst_port=53, ip_proto=17, fields={"qname": name, "qtype": qtype})


def _polls(name: str, period: float, n: int, *, qtype: str = "TXT", jitter: float = 0.2, seed: int = 1,
           src: str = "10.0.0.7") -> list[Observation]:
    rng, t, out = random.Random(seed), 1000.0, []
    for _ in range(n):
        out.append(_query(t, name, qtype, src))
        t += period * rng.uniform(1 - jitter, 1 + jitter)
    return out


def test_a_txt_record_polled_every_two_minutes_is_c2_raised_once_at_min_polls() -> None:
    alerts = feed([DnsPollDetector()], observations=_polls("update.cdn-example.net", 120, 30))
    assert [(a.id, a.key, a.evidence["polls"], a.src_ip, a.dst_ip) for a in alerts] == [
        (DNS_POLL, "update.cdn-example.net", 8, "10.0.0.7", "10.0.0.1")]
    assert feed([DnsPollDetector()], observations=_polls("update.cdn-example.net", 120, 7)) == []


def test_a_series_keeps_its_latest_max_polls_which_must_hold_min_polls() -> None:
    det = DnsPollDetector({"max_polls": 5, "min_polls": 5, "max_jitter": 0.0})
    assert feed([det], observations=_polls("c.example.net", 120, 30)) == []
    (times,) = det._series.values()
    assert times is not None and len(times) == 5
    with pytest.raises(ConfigError, match=r"^detect\.c2_dns_poll\.max_polls: expected at least min_polls \(8\), got 5"):
        DnsPollDetector({"max_polls": 5})


def test_a_resolvers_retries_are_one_poll() -> None:
    polls = _polls("c.example.net", 120, 8)
    retried = sorted([*polls, *(_query(o.ts + 2.0, "c.example.net") for o in polls)], key=lambda o: o.ts)
    assert [a.evidence["polls"] for a in feed([DnsPollDetector()], observations=retried)] == [8]


def test_lookups_on_a_timer_spf_checks_and_sporadic_txt_lookups_are_no_c2() -> None:
    rng = random.Random(3)
    a_records = _polls("a1b2c3-ats.iot.eu-west-1.amazonaws.com", 300, 30, qtype="A", jitter=0.05)
    spf = [_query(1000.0 + 40 * i, f"sender{i}.example.org") for i in range(60)]
    sporadic = [_query(t, "example.com") for t in sorted(rng.uniform(0, 36000) for _ in range(20))]
    slow = _polls("once-an-hour-and-more.example.net", 5400, 12, jitter=0.01)
    assert feed([DnsPollDetector()], observations=a_records + spf + sporadic + slow) == []


def test_each_host_and_name_is_its_own_series_and_the_table_is_bounded() -> None:
    det = DnsPollDetector({"max_series": 4})
    obs = sorted((o for i in range(10) for o in _polls(f"n{i}.example.net", 120, 3, src=f"10.0.0.{i + 10}")),
                 key=lambda o: o.ts)
    assert feed([det], observations=obs) == []
    assert len(det._series) == 4
    two = sorted(_polls("c.example.net", 120, 8, src="10.0.0.8") + _polls("c.example.net", 120, 8, src="10.0.0.9"),
                 key=lambda o: o.ts)
    assert sorted(str(a.src_ip) for a in feed([DnsPollDetector()], observations=two)) == ["10.0.0.8", "10.0.0.9"]


def test_freshclams_hourly_version_lookups_are_no_c2() -> None:
    # ClamAV's freshclam asks current.cvd.clamav.net's TXT record before each update check (freshclam.conf
    # DNSDatabaseInfo): hourly from cron, steadier than any bot
    hourly = _polls("current.cvd.clamav.net", 3600, 24, jitter=0.0)
    assert feed([DnsPollDetector()], observations=hourly) == []
    assert feed([DnsPollDetector()], observations=_polls("CURRENT.CVD.CLAMAV.NET.", 1800, 24, jitter=0.0)) == []
    # the same pace on another name is C&C
    assert [a.key for a in feed([DnsPollDetector()], observations=_polls("current.cvd.clamav.net.evil.example",
                                                                          3600, 24, jitter=0.0))] == [
        "current.cvd.clamav.net.evil.example"]


@pytest.mark.parametrize("mean_s", [10.0, 15.0])
def test_one_name_looked_up_at_random_all_day_is_no_c2(mean_s: float) -> None:
    """A mail relay asks the SPF record of _spf.google.com for each message Gmail sends it (RFC 7208 §4.4, the
    include of gmail.com's record), at random, one every 10-15 s on average: with the retries merged its intervals
    are same_poll_s plus an exponential wait, which varied less than max_jitter of the interval within 16 polls in
    hours (both raised at 52c69b5), never of the wait."""
    rng, t, lookups = random.Random(int(mean_s)), 1000.0, []
    while t < 1000.0 + 6 * 3600:
        lookups.append(_query(t, "_spf.google.com", src="10.0.0.25"))
        t += rng.expovariate(1 / mean_s)
    assert feed([DnsPollDetector()], observations=lookups) == []


@pytest.mark.parametrize(("period", "jitter"), [(20.0, 0.2), (60.0, 0.2), (120.0, 0.5), (300.0, 0.5)])
def test_a_poll_jittered_up_to_half_its_period_is_still_c2(period: float, jitter: float) -> None:
    """Judged on the wait past the retry window, a poll every 20 s to 5 min, jittered by +-20% or +-50% (a uniform
    jitter's coefficient of variation up to 0.29), is still raised."""
    alerts = feed([DnsPollDetector()], observations=_polls("cmd.c2-example.net", period, 48, jitter=jitter, seed=7))
    assert [a.key for a in alerts] == ["cmd.c2-example.net"]
