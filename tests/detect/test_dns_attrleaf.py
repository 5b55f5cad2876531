"""detect/dns: a protocol's underscored name (RFC 8552) is left out of ``min_txt`` only within its bounds, the
distinct names under a parent (``max_attrleaf_names``) within ``window_s``, and one name's pre-check (at most
``max_attrleaf_queries`` queries within ``attrleaf_check_s`` of its first): an ACME client's pre-check stays silent, a
C&C polling one fixed name under ``_acme-challenge``, or cycling among a hundred, is counted again."""

from __future__ import annotations

import random

import pytest

from iotwarden.detect import default_detectors
from iotwarden.detect.dns import DnsAnomalyDetector, _Host, _Leaf
from iotwarden.detect.dns_poll import DnsPollDetector
from iotwarden.model import Observation
from tests.detect.dns_lookalikes import RESOLVER, START, Query
from tests.detect.runner import feed

ACME_HOST, BOT = "10.0.7.8", "10.0.7.7"
AUTHORITATIVE = ("198.51.100.1", "198.51.100.2", "198.51.100.3")  # the zone's name servers (RFC 5737 addresses)
C2_NAME = "_acme-challenge.x.evil.example"


def _txt(ts: float, src: str, name: str, dst: str = RESOLVER) -> Observation:
    return Query(ts, src, dst, name, "TXT").observation()


def _pre_check(name: str, at: float, rounds: int) -> tuple[list[Observation], float]:
    """lego's DNS-01 pre-check of one name (go-acme/lego challenge/dns01 precheck.go), its record seen at round
    ``rounds``: a round every 2 s asks the resolver (recursively), then the authoritative servers one after another
    until the first that lacks the record; the last round finds it at all three. Then the ACME server validates it
    (3 s) before the next name is checked. Returns the queries and the time the next name starts."""
    out: list[Observation] = []
    for r in range(rounds):
        t = at + 2.0 * r
        asked = AUTHORITATIVE if r == rounds - 1 else AUTHORITATIVE[:1]
        out += [_txt(t, ACME_HOST, name)] + [_txt(t + 0.01 * (k + 1), ACME_HOST, name, ns)
                                            for k, ns in enumerate(asked)]
    return out, at + 2.0 * rounds + 3.0


def _certificate(n: int, at: float, rng: random.Random | None, *, prefix: str = "host",
                 ) -> tuple[list[Observation], float]:
    """An ACME order of ``n`` names under example.com pre-checked one after another: given ``rng``, most records seen
    within three rounds and every tenth only at the pre-check's 30th and last (lego's 60 s timeout at 2 s); without,
    each at the first round (5 s a name, the fastest)."""
    out: list[Observation] = []
    for i in range(n):
        rounds = 1 if rng is None else 30 if i % 10 == 0 else rng.randint(1, 3)
        queries, at = _pre_check(f"_acme-challenge.{prefix}{i}.example.com", at, rounds)
        out += queries
    return out, at


def test_an_acme_pre_check_waiting_for_its_records_raises_nothing() -> None:
    """A 100-name certificate, ten of its names waited on for the whole 60 s (30 rounds, 61 or 62 queries each):
    nothing from any detector."""
    queries, _ = _certificate(100, START, random.Random(1))
    assert max(sum(o.fields["qname"] == q.fields["qname"] for q in queries) for o in queries) == 62
    assert [(a.id, a.title) for a in feed(default_detectors(), observations=queries)] == []


@pytest.mark.parametrize(("period", "counted_from"), [(1.0, 60), (5.0, 19), (9.5, 10), (10.0, 10), (12.0, 8)])
def test_a_c2_polling_one_fixed_acme_name_is_counted_past_its_pre_check(period: float, counted_from: int) -> None:
    """``_acme-challenge.x.evil.example`` TXT every ``period`` seconds: past max_attrleaf_queries (60) queries, or
    asked more than attrleaf_check_s (90 s) after its first, its queries count, and 30 of them raise a tunnel (at
    772fa50 nothing: one name never passed the names' bound; at 112db3a the 12 s poll, 50 queries a window, neither)."""
    polls = [_txt(START + period * i, BOT, C2_NAME) for i in range(200)]
    alerts = feed([DnsAnomalyDetector()], observations=polls)
    assert [(a.id, a.src_ip, a.key) for a in alerts][:1] == [("detect.dns.tunnel", BOT, "evil.example")]
    first = min(a.first_seen for a in alerts)
    assert first - START == pytest.approx(period * (counted_from + 29))  # the pre-check uncounted, 30 counted


def test_a_poll_of_one_acme_name_slower_than_min_txt_is_c2_dns_polls_not_the_tunnels() -> None:
    """Every 30 s, 20 queries a window, fewer than min_txt however counted: no tunnel; detect.c2_dns_poll reads the
    steady poll."""
    polls = [_txt(START + 30.0 * i, BOT, C2_NAME) for i in range(100)]
    assert feed([DnsAnomalyDetector()], observations=polls) == []
    assert [(a.id, a.key) for a in feed([DnsPollDetector()], observations=polls)] == [
        ("detect.c2.dns_poll", C2_NAME)]


def _window_counts(queries: list[Observation], window: float = 600.0) -> int:
    """The most queries of one name within ``window`` seconds."""
    by_name: dict[object, list[float]] = {}
    for q in queries:
        by_name.setdefault(q.fields["qname"], []).append(q.ts)
    return max(sum(1 for u in ts if t <= u <= t + window) for ts in by_name.values() for t in ts)


@pytest.mark.parametrize("order", ["random", "in_turn"])
def test_a_c2_cycling_among_a_hundred_fixed_acme_names_is_counted(order: str) -> None:
    """A C&C asking TXT of 100 fixed names ``_acme-challenge.n<i>.evil.example`` for an hour, at random once a second
    or in turn five times a second: each name far fewer than max_attrleaf_queries times a window and the names within
    max_attrleaf_names, but each asked again long after its first query, which no pre-check is: a tunnel, raised
    within the first window (at 112db3a nothing: up to 6,000 queries a window passed uncounted)."""
    rng = random.Random(4)
    if order == "random":
        polls = [_txt(START + i, BOT, f"_acme-challenge.n{rng.randrange(100)}.evil.example") for i in range(3600)]
    else:
        polls = [_txt(START + 0.2 * i, BOT, f"_acme-challenge.n{i % 100}.evil.example") for i in range(18000)]
    assert _window_counts(polls) < 60 and len({q.fields["qname"] for q in polls}) == 100
    alerts = feed([DnsAnomalyDetector()], observations=polls)
    assert {(a.id, a.src_ip, a.key) for a in alerts} == {("detect.dns.tunnel", BOT, "evil.example")}
    assert min(a.first_seen for a in alerts) < START + 600.0


def test_a_certificate_ordered_again_after_a_window_is_a_new_pre_check_at_once_it_is_not() -> None:
    """lego's orders of a 100-name certificate: its renewal (or a re-run) more than window_s after the last pre-check
    asks each name anew, silent; a re-run at once asks names still within their last pre-check's window again, no
    pre-check (the cost the module doc states): a tunnel."""
    rng = random.Random(3)
    first, at = _certificate(100, START, rng)
    renewal, _ = _certificate(100, at + 700.0, rng)
    assert feed([DnsAnomalyDetector()], observations=first + renewal) == []
    again, _ = _certificate(100, at, None)
    assert [(a.id, a.key) for a in feed([DnsAnomalyDetector()], observations=first + again)] == [
        ("detect.dns.tunnel", "example.com")]


def test_two_certificates_of_a_zone_within_the_window_pass_the_names_bound_a_site_may_raise() -> None:
    """Two 100-name orders of one zone validated one after the other, each record seen at once (5 s a name): 120
    names within window_s, past max_attrleaf_names (100), whose queries are counted and raise a tunnel (the cost the
    module doc states); with the bound at 200 nothing. One order, or the two at the pace of the first test: nothing."""
    first, at = _certificate(100, START, None)
    second, _ = _certificate(100, at, None, prefix="www")
    assert feed([DnsAnomalyDetector()], observations=first) == []
    alerts = feed([DnsAnomalyDetector()], observations=first + second)
    assert [(a.id, a.src_ip, a.key) for a in alerts] == [("detect.dns.tunnel", ACME_HOST, "example.com")]
    assert feed([DnsAnomalyDetector({"max_attrleaf_names": 200})], observations=first + second) == []
    rng = random.Random(2)
    first, at = _certificate(100, START, rng)
    assert feed([DnsAnomalyDetector()], observations=first + _certificate(100, at, rng, prefix="www")[0]) == []


def test_a_names_pre_check_is_a_count_and_two_times_begun_anew_after_a_rest_of_window_s() -> None:
    """One name asked 500 times keeps its pre-check's start, its last query and their count, never the times; asked
    again after window_s without it, its pre-check begins anew (and its queries are uncounted again)."""
    det = DnsAnomalyDetector({"min_txt": 1000, "max_names": 1000})
    feed([det], observations=[_txt(START + i, BOT, C2_NAME) for i in range(500)])
    host: _Host = det._hosts[BOT]
    assert host.leaves["evil.example"] == {C2_NAME: _Leaf(START, START + 499, 500)}
    assert not det._uncounted_leaf(host, C2_NAME, "evil.example", START + 600.0)
    assert det._uncounted_leaf(host, C2_NAME, "evil.example", START + 1201.0)
    assert host.leaves["evil.example"] == {C2_NAME: _Leaf(START + 1201.0, START + 1201.0, 1)}


def test_a_c2_asking_its_names_in_bursts_and_resting_them_is_counted_past_the_parents_daily_budget() -> None:
    """100 names each asked 60 times within 60 s, all at once, then rested 610 s (past window_s, so each burst is a
    new pre-check of each name), for three hours: within every per-window and per-name bound, but past
    max_attrleaf_daily (6,000) uncounted queries under the parent a day its queries count: a tunnel at the second
    burst (at c032319 nothing: 6,000 queries every 670 s). A lower budget raises the first burst."""
    polls = [_txt(START + 670.0 * burst + s + 0.005 * i, BOT, f"_acme-challenge.n{i}.evil.example")
             for burst in range(16) for s in range(60) for i in range(100)]
    alerts = feed([DnsAnomalyDetector()], observations=polls)
    assert {(a.id, a.src_ip, a.key) for a in alerts} == {("detect.dns.tunnel", BOT, "evil.example")}
    assert START + 670.0 <= min(a.first_seen for a in alerts) < START + 730.0
    assert min(a.first_seen for a in feed([DnsAnomalyDetector({"max_attrleaf_daily": 3000})],
                                          observations=polls[:6000])) < START + 60.0
