"""detect/dns: a protocol's underscored name (RFC 8552) is left out of ``min_txt`` only within its bounds, the
distinct names under a parent (``max_attrleaf_names``) and the queries of one name (``max_attrleaf_queries``), both
within ``window_s``: an ACME client's pre-check stays silent, a C&C polling one fixed name under ``_acme-challenge``
is counted again."""

from __future__ import annotations

import random

import pytest

from iotwarden.detect import default_detectors
from iotwarden.detect.dns import DnsAnomalyDetector, _Host
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


@pytest.mark.parametrize("period", [1.0, 5.0, 9.5, 10.0])
def test_a_c2_polling_one_fixed_acme_name_every_10_s_or_faster_is_counted(period: float) -> None:
    """``_acme-challenge.x.evil.example`` TXT every ``period`` seconds: past max_attrleaf_queries (60) within window_s
    its queries count, and 30 of them raise a tunnel (at 772fa50 nothing: one name never passed the names' bound)."""
    polls = [_txt(START + period * i, BOT, C2_NAME) for i in range(200)]
    alerts = feed([DnsAnomalyDetector()], observations=polls)
    assert [(a.id, a.src_ip, a.key) for a in alerts][:1] == [("detect.dns.tunnel", BOT, "evil.example")]
    first = min(a.first_seen for a in alerts)
    assert first == pytest.approx(START + period * 89)  # the 60 in the window uncounted, then the 30th counted


def test_a_slower_poll_of_one_acme_name_is_c2_dns_polls_not_the_tunnels() -> None:
    """Every 12 s, 50 queries a window, under the name's bound: no tunnel; detect.c2_dns_poll reads the steady poll."""
    polls = [_txt(START + 12.0 * i, BOT, C2_NAME) for i in range(100)]
    assert feed([DnsAnomalyDetector()], observations=polls) == []
    assert [(a.id, a.key) for a in feed([DnsPollDetector()], observations=polls)] == [
        ("detect.c2.dns_poll", C2_NAME)]


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


def test_a_names_query_times_are_bounded_by_max_attrleaf_queries() -> None:
    """One name asked 500 times keeps at most max_attrleaf_queries + 1 times, only those within window_s."""
    det = DnsAnomalyDetector({"max_attrleaf_queries": 5, "min_txt": 1000, "max_names": 1000})
    feed([det], observations=[_txt(START + i, BOT, C2_NAME) for i in range(500)])
    host: _Host = det._hosts[BOT]
    assert host.leaves["evil.example"][C2_NAME] == [START + i for i in range(494, 500)]
