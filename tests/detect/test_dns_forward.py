"""detect/dns_forward.Questions: the questions last put to each DNS server tell a resolver's forward of its client's
query from its own, one table for detect.dns and detect.c2_dns_poll."""

from __future__ import annotations

import pytest

from iotwarden.detect.dns import DnsAnomalyDetector
from iotwarden.detect.dns_forward import Questions
from iotwarden.detect.dns_poll import DNS_POLL, DnsPollDetector
from iotwarden.model import Observation
from tests.detect.runner import feed

CLIENT, RESOLVER, UPSTREAM = "10.0.0.7", "10.0.0.53", "203.0.113.53"


def test_a_query_under_a_topic_the_host_was_just_asked_is_a_forward() -> None:
    q = Questions(limit=100, within_s=5.0)
    assert not q.forwarded(CLIENT, RESOLVER, "example.net", 1000.0)  # the client's own question
    assert q.forwarded(RESOLVER, UPSTREAM, "example.net", 1000.004)  # passed on 4 ms later
    assert q.forwarded(RESOLVER, UPSTREAM, "example.net", 1005.0)  # within_s is inclusive
    assert not q.forwarded(RESOLVER, UPSTREAM, "example.net", 1005.1)  # over within_s: its own
    assert not q.forwarded(RESOLVER, UPSTREAM, "example.org", 1000.01)  # another topic: its own
    assert not q.forwarded(UPSTREAM, RESOLVER, "example.org", 999.0)  # asked after it: not before
    assert list(q) == [(RESOLVER, "example.net"), (UPSTREAM, "example.net"), (UPSTREAM, "example.org"),
                       (RESOLVER, "example.org")]


def test_a_host_asking_itself_forwards_nothing_and_asks_nothing() -> None:
    q = Questions(limit=100, within_s=5.0)
    assert not q.forwarded(RESOLVER, RESOLVER, "example.net", 1000.0)
    assert not q.forwarded(RESOLVER, RESOLVER, "example.net", 1000.1)
    assert not q.forwarded(RESOLVER, "", "example.net", 1000.2)  # no destination (a log without one)
    assert len(q) == 0


def test_the_questions_are_bounded_least_recently_asked_forgotten_first() -> None:
    q = Questions(limit=3, within_s=5.0)
    for i in range(3):
        q.forwarded(CLIENT, f"10.9.9.{i}", "example.org", 1000.0 + i)
    q.forwarded(CLIENT, "10.9.9.0", "example.org", 1003.0)  # asked again: the most recent
    q.forwarded(CLIENT, "10.9.9.3", "example.org", 1004.0)
    assert len(q) == 3 and ("10.9.9.1", "example.org") not in q
    assert list(q) == [("10.9.9.2", "example.org"), ("10.9.9.0", "example.org"), ("10.9.9.3", "example.org")]
    assert not q.forwarded("10.9.9.1", UPSTREAM, "example.org", 1004.5)  # forgotten: its own


def test_whether_an_address_was_just_asked_a_topic_is_told_without_asking_anything() -> None:
    """detect.c2_dns_poll reads a resolver's iterative query as one for a client's question when the resolver was
    asked that name, or an alias of it, within within_s before: asked() only looks; a host asking itself asks nothing
    of another."""
    q = Questions(limit=2, within_s=5.0)
    q.forwarded(CLIENT, RESOLVER, "example.net", 1000.0)
    assert q.asked(RESOLVER, "example.net", 1005.0) and not q.asked(RESOLVER, "example.net", 1005.1)
    assert not q.asked(RESOLVER, "example.net", 999.0) and not q.asked(RESOLVER, "example.org", 1000.0)
    assert not q.asked(CLIENT, "example.net", 1000.0) and len(q) == 1  # looking asked nothing
    q.forwarded(UPSTREAM, UPSTREAM, "example.org", 1001.0)
    assert not q.asked(UPSTREAM, "example.org", 1001.0)
    q.forwarded(RESOLVER, UPSTREAM, "example.net", 1001.0)
    q.forwarded(CLIENT, "10.9.9.1", "example.net", 1002.0)
    assert not q.asked(RESOLVER, "example.net", 1002.0)  # the least recently asked of three, past limit 2
    assert q.asked(UPSTREAM, "example.net", 1002.0) and q.asked("10.9.9.1", "example.net", 1002.0)


def test_a_forward_is_told_before_its_own_question_makes_room() -> None:
    """A full table: the forwarder's question to its upstream would push out the one it forwards; it is looked up
    first."""
    q = Questions(limit=1, within_s=5.0)
    q.forwarded(CLIENT, RESOLVER, "example.net", 1000.0)
    assert q.forwarded(RESOLVER, UPSTREAM, "example.net", 1000.01)
    assert list(q) == [(UPSTREAM, "example.net")]


def test_both_dns_detectors_keep_their_questions_in_it_bounded_by_their_options() -> None:
    dns = DnsAnomalyDetector({"max_asked": 7, "forward_s": 2.0})
    poll = DnsPollDetector({"max_series": 9, "same_poll_s": 3.0})
    assert isinstance(dns._asked, Questions) and (dns._asked.limit, dns._asked.within_s) == (7, 2.0)
    assert isinstance(poll._asked, Questions) and (poll._asked.limit, poll._asked.within_s) == (9, 3.0)


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.66"])
def test_a_host_polling_its_own_address_is_read(host: str) -> None:
    """A bot on a host running its own resolver (a local dnsmasq) polls it at its own address: no other host asked
    it the name, so no forward (at 5a44e37 detect.c2_dns_poll took every such query for a forward: nothing)."""
    obs = [Observation(ts=1000.0 + 120.0 * i, proto="dns", kind="query", src_ip=host, dst_ip=host, src_port=40000,
                       dst_port=53, ip_proto=17, fields={"qname": "cmd.c2-example.net", "qtype": "TXT"})
           for i in range(10)]
    alerts = feed([DnsPollDetector()], observations=obs)
    assert [(a.id, a.src_ip, a.key) for a in alerts] == [(DNS_POLL, host, "cmd.c2-example.net")]
