"""detect.c2.dns_poll: one name's TXT record polled at a steady pace is C&C over DNS; A lookups on a timer, a mail
server's SPF checks of many domains, sporadic TXT lookups and a resolver's retries are not."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from iotwarden.detect.dns_poll import DNS_POLL, DnsPollDetector
from iotwarden.errors import ConfigError
from iotwarden.model import Observation
from iotwarden.sources.zeek_map import map_dns
from tests.detect.runner import feed


def _query(t: float, name: str, qtype: str = "TXT", src: str = "10.0.0.7", *, dst: str = "10.0.0.1",
           rd: bool | None = None) -> Observation:
    mac = f"02:00:00:00:00:{int(src.rsplit('.', 1)[1]):02x}"
    fields: dict[str, object] = {"qname": name, "qtype": qtype, **({} if rd is None else {"rd": rd})}
    return Observation(ts=t, proto="dns", kind="query", src_ip=src, dst_ip=dst, src_mac=mac,
                       src_port=40000, dst_port=53, ip_proto=17, fields=fields)


def _answer(t: float, name: str, server: str, client: str, *, cname: str | None = None,
            zeek: bool = False) -> Observation:
    """``server``'s answer to ``client``'s TXT question of ``name``, through a CNAME to ``cname`` when given (from a
    Zeek dns.log: its answers' type not told, each owned by the question)."""
    answers: list[dict[str, object]] = []
    if cname is not None:
        answers = [{"name": name, "type": "?" if zeek else "CNAME", "ttl": 3600, "data": cname},
                   {"name": name if zeek else cname, "type": "TXT", "ttl": 300, "data": ["v=DKIM1; k=rsa; p=MIGf"]}]
    return Observation(ts=t, proto="dns", kind="response", src_ip=server, dst_ip=client, src_port=53,
                       dst_port=40000, ip_proto=17, fields={"qname": name, "qtype": "TXT", "rd": True,
                                                           "answers": answers})


def _polls(name: str, period: float, n: int, *, qtype: str = "TXT", jitter: float = 0.2, seed: int = 1,
           src: str = "10.0.0.7", dst: str = "10.0.0.1", rd: bool | None = None) -> list[Observation]:
    rng, t, out = random.Random(seed), 1000.0, []
    for _ in range(n):
        out.append(_query(t, name, qtype, src, dst=dst, rd=rd))
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
    assert len(det._series[("10.0.0.7", "c.example.net")].times) == 5
    with pytest.raises(ConfigError, match=r"^detect\.c2_dns_poll\.max_polls: expected at least min_polls \(8\), got 5"):
        DnsPollDetector({"max_polls": 5})


def test_a_retry_window_as_long_as_the_shortest_period_is_refused() -> None:
    """A query within same_poll_s of the last is its retry, so with same_poll_s >= min_period_s the polls at the
    shortest periods judged would all be merged as retries and never raise (review R2)."""
    for same in (10.0, 30.0):
        with pytest.raises(ConfigError, match=rf"^detect\.c2_dns_poll\.same_poll_s: expected less than min_period_s "
                                              rf"\(10\), got {same:g}$"):
            DnsPollDetector({"same_poll_s": same})
    assert DnsPollDetector({"same_poll_s": 9.5}).options.same_poll_s == 9.5


def test_a_resolvers_retries_are_one_poll() -> None:
    polls = _polls("c.example.net", 120, 8)
    retried = sorted([*polls, *(_query(o.ts + 2.0, "c.example.net") for o in polls)], key=lambda o: o.ts)
    assert [a.evidence["polls"] for a in feed([DnsPollDetector()], observations=retried)] == [8]


def test_lookups_on_a_timer_spf_checks_and_sporadic_txt_lookups_are_no_c2() -> None:
    rng = random.Random(3)
    a_records = _polls("a1b2c3-ats.iot.eu-west-1.amazonaws.com", 300, 30, qtype="A", jitter=0.05)
    spf = [_query(1000.0 + 40 * i, f"sender{i}.example") for i in range(60)]  # each sender's own domain
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


RESOLVER, MAIL = "10.0.0.53", "10.0.0.25"


def _clients_lookups(name: str, rng: random.Random, until: float, client: str = MAIL, *, cname: str | None = None,
                     zeek: bool = False) -> list[Observation]:
    """A mail relay's lookups of one name through the site's resolver as its mail comes (Poisson, one every ~20 s),
    each answered."""
    t, out = 1000.0, []
    while t < until:
        out += [_query(t, name, src=client, dst=RESOLVER, rd=True),
                _answer(t + 0.01, name, RESOLVER, client, cname=cname, zeek=zeek)]
        t += rng.expovariate(1 / 20)
    return out


def _refreshes(client_lookups: list[Observation], ttl: float, *, rd: bool, upstream: str) -> list[Observation]:
    """The resolver's own queries for them: at the first client question after its cached answer ran out (RFC 1035
    §7.4), 2 ms later."""
    out: list[Observation] = []
    for o in client_lookups:
        if o.kind == "query" and (not out or o.ts >= out[-1].ts + ttl):
            out.append(_query(o.ts + 0.002, str(o.fields["qname"]), src=RESOLVER, dst=upstream, rd=rd))
    return out


@pytest.mark.parametrize(("rd", "upstream"), [(False, "216.239.32.10"), (True, "192.0.2.53")])
def test_a_resolver_refreshing_its_clients_txt_record_is_no_c2(rd: bool, upstream: str) -> None:
    """A mail relay's SPF lookups of _spf.google.com (TTL 300) through the site's resolver: the resolver asks it again
    each time its cached answer runs out (BIND's and Unbound's prefetch, as the TTL ends), every ~300 s all day,
    steadier than any bot: iterating (RD clear, to Google's name server) or forwarding (RD set, to an upstream
    resolver). Both raised high-severity C&C on the resolver before."""
    lookups = _clients_lookups("_spf.google.com", random.Random(5), 1000.0 + 4 * 3600)
    refreshes = _refreshes(lookups, 300.0, rd=rd, upstream=upstream)
    assert len(refreshes) >= 40
    assert feed([DnsPollDetector()], observations=sorted(lookups + refreshes, key=lambda o: o.ts)) == []


def test_a_bot_behind_the_resolver_is_raised_and_not_the_resolver() -> None:
    """A bot's TXT polls every 2 min through the resolver (a TTL of 0: the resolver forwards each one): the bot is
    raised, the resolver's forwards of its questions are not (both were before)."""
    bot = [o for q in _polls("cmd.c2-example.net", 120, 12, src="10.0.0.66", dst=RESOLVER, rd=True)
           for o in (q, _answer(q.ts + 0.01, "cmd.c2-example.net", RESOLVER, "10.0.0.66"))]
    forwards = [_query(o.ts + 0.002, "cmd.c2-example.net", src=RESOLVER, dst="192.0.2.53", rd=True)
                for o in bot if o.kind == "query"]
    alerts = feed([DnsPollDetector()], observations=sorted(bot + forwards, key=lambda o: o.ts))
    assert [(a.src_ip, a.key) for a in alerts] == [("10.0.0.66", "cmd.c2-example.net")]


def test_a_bot_that_clears_recursion_desired_or_answers_dns_itself_is_still_read() -> None:
    """RD clear is a resolver's iteration only from a host seen answering DNS: a bot asking its own name server
    directly with the bit clear is read; so is a host that answers DNS (a router's dnsmasq) polling on its own,
    no client having asked it the name."""
    direct = _polls("cmd.c2-example.net", 120, 12, src="10.0.0.66", dst="203.0.113.53", rd=False)
    assert [a.src_ip for a in feed([DnsPollDetector()], observations=direct)] == ["10.0.0.66"]
    router = "10.0.0.1"
    answering = [_answer(1000.0 + 60 * i, "example.com", router, "10.0.0.7") for i in range(50)]
    own = _polls("cmd.c2-example.net", 120, 12, src=router, dst="203.0.113.53", rd=True)
    assert [a.src_ip for a in feed([DnsPollDetector()], observations=sorted(answering + own, key=lambda o: o.ts))
            ] == [router]


@pytest.mark.parametrize("answered", [1, 50])
def test_a_host_that_answered_dns_and_polls_with_recursion_desired_clear_is_read(answered: int) -> None:
    """Answering a DNS query makes no resolver: a bot that sends one DNS answer (or a router's dnsmasq answering its
    clients all day) and then polls its own name server with RD clear, no client having asked it anything just
    before, is read (at 255a923: nothing, its every poll taken for a resolver's iteration)."""
    bot = "10.0.0.66"
    answers = [_answer(900.0 + 60 * i, "example.com", bot, "10.0.0.7") for i in range(answered)]
    polls = _polls("cmd.c2-example.net", 120, 12, src=bot, dst="203.0.113.53", rd=False)
    alerts = feed([DnsPollDetector()], observations=sorted(answers + polls, key=lambda o: o.ts))
    assert [(a.src_ip, a.key) for a in alerts] == [(bot, "cmd.c2-example.net")]


def test_the_hosts_answering_and_the_questions_put_to_a_host_are_bounded() -> None:
    det = DnsPollDetector({"max_series": 8})
    obs = [o for i in range(40) for o in (_query(1000.0 + i, f"n{i}.example.net", src="10.0.0.7", dst=f"10.0.1.{i}"),
                                          _answer(1000.5 + i, f"n{i}.example.net", f"10.0.1.{i}", "10.0.0.7"))]
    assert feed([det], observations=obs) == []
    assert (len(det._asked), len(det._servers)) == (8, 8)
    assert ("10.0.1.39", "n39.example.net") in det._asked and "10.0.1.39" in det._servers
    # what each was last asked, kept as long: the latest 8 servers' (32-39), not the earlier ones'
    assert det._asked.asked("10.0.1.39", "n39.example.net", 1039.1)
    assert det._asked.asked("10.0.1.32", "n32.example.net", 1032.1)
    assert not det._asked.asked("10.0.1.31", "n31.example.net", 1031.1)


def test_the_aliases_answers_named_are_bounded() -> None:
    det = DnsPollDetector({"max_series": 8})
    obs = [_answer(1000.0 + i, f"a{i}.example.net", RESOLVER, MAIL, cname=f"c{i}.example.org") for i in range(40)]
    assert feed([det], observations=obs) == []
    assert len(det._aliases) == 8 and det._aliases["c39.example.org"] == "a39.example.net"
    assert "c31.example.org" not in det._aliases


def _busy_server_and_a_bot_on_it(server: str, client_names: list[str]) -> list[Observation]:
    """A mail relay's TXT questions to ``server`` (a DC that iterates from root hints) about every 10 s, each answered,
    and a bot on the server polling its own name every 2 min: the server's DNS service iterates for the bot's stub
    query, which stays on loopback, with RD clear."""
    rng, obs, t = random.Random(4), [], 1000.0
    while t < 1000.0 + 3 * 3600:
        name = rng.choice(client_names)
        obs += [_query(t, name, src=MAIL, dst=server, rd=True), _answer(t + 0.05, name, server, MAIL)]
        t += rng.expovariate(1 / 10)
    return obs + _polls("cmd.c2-example.net", 120, 30, src=server, dst="203.0.113.53", rd=False)


def test_a_bot_on_a_busy_iterating_dns_server_is_read() -> None:
    """Before: any RD-clear query from a server asked anything within same_poll_s was its clients', so a bot on a busy
    domain controller (its TXT questions every ~10 s) polling with RD clear was never read."""
    dc = "10.0.0.10"
    names = [f"sel{i}._domainkey.sender{i}.example" for i in range(300)]
    alerts = feed([DnsPollDetector()], observations=sorted(_busy_server_and_a_bot_on_it(dc, names),
                                                            key=lambda o: o.ts))
    assert [(a.src_ip, a.key) for a in alerts] == [(dc, "cmd.c2-example.net")]


@pytest.mark.parametrize("zeek", [False, True])
def test_a_resolver_following_a_cname_for_its_clients_is_no_c2(zeek: bool) -> None:
    """A DKIM selector's CNAME to the mail provider's key (RFC 1034 §3.6.2: the resolver follows it): the resolver
    iterates the canonical name's TXT (RD clear) at its first client question after each TTL, steadily; that name no
    client asked, but its alias was put to the resolver just before (a Zeek dns.log gives the CNAME as an answer of
    type '?', owned by the question)."""
    alias, canonical = "k1._domainkey.shop.example", "dkim.mcsv.example"
    lookups = _clients_lookups(alias, random.Random(6), 1000.0 + 4 * 3600, cname=canonical, zeek=zeek)
    refreshes = [replace(o, fields={**o.fields, "qname": canonical})
                 for o in _refreshes(lookups, 300.0, rd=False, upstream="198.51.100.53")]
    assert len(refreshes) >= 40
    assert feed([DnsPollDetector()], observations=sorted(lookups + refreshes, key=lambda o: o.ts)) == []


def test_a_poll_of_a_new_name_each_time_is_c2_of_its_parent() -> None:
    """A poll through a caching resolver is fresh only for a new name (RFC 1035 §7.4), so DNS C&C asks
    <nonce>.cmd.c2-example.net: each name once, every two minutes. Read as one series of *.c2-example.net (at
    HEAD nothing: every name was a series of one poll); a name asked again, or two in turn, is its own series only."""
    rng = random.Random(9)
    nonces = _polls("x.cmd.c2-example.net", 120, 30)
    for o in nonces:
        o.fields["qname"] = f"{rng.getrandbits(32):08x}.cmd.c2-example.net"
    alerts = feed([DnsPollDetector()], observations=nonces)
    assert [(a.key, a.evidence["polls"]) for a in alerts] == [("*.c2-example.net", 8)]
    two = _polls("a.cmd.c2-example.net", 120, 30)
    for i, o in enumerate(two):
        o.fields["qname"] = f"{'ab'[i % 2]}.cmd.c2-example.net"
    assert [a.key for a in feed([DnsPollDetector()], observations=two)] == [
        "a.cmd.c2-example.net", "b.cmd.c2-example.net"]
    # a registered domain's own name has no parent series: senders' domains (RFC 7208 §4.4) are each their own
    assert feed([DnsPollDetector()], observations=[_query(1000.0 + 40 * i, f"s{i}.example") for i in range(60)]) == []


@pytest.mark.parametrize("qname", ["{a}.{b}.cmd.c2-example.net", "{a}{b}.x.cmd.c2-example.net",
                                   "_acme-challenge.{a}.c2-example.net", "www.{a}.{b}.c2-example.net"])
def test_a_nonce_split_in_labels_is_a_poll_of_the_parent(qname: str) -> None:
    """A nonce needs not be one label (dnscat2 splits its data into labels) nor the first: <8 hex>.<8 hex>.cmd.
    c2-example.net or _acme-challenge.<8 hex>.c2-example.net every two minutes is read as a poll of *.c2-example.net
    (at cc255a1 nothing: each name's parent, all but its first label, was new each time; at 6ba45dd still nothing
    for a nonce under a fixed first label)."""
    rng = random.Random(9)
    polls = _polls("x.cmd.c2-example.net", 120, 30)
    for o in polls:
        o.fields["qname"] = qname.format(a=f"{rng.getrandbits(32):08x}", b=f"{rng.getrandbits(32):08x}")
    alerts = feed([DnsPollDetector()], observations=polls)
    assert [(a.key, a.evidence["polls"]) for a in alerts] == [("*.c2-example.net", 8)]


def test_a_parent_series_forgets_its_labels_with_it() -> None:
    det = DnsPollDetector({"max_series": 6})
    obs = [_query(1000.0 + 10 * i, f"n{i}.p.example{i}.net") for i in range(20)]
    assert feed([det], observations=obs) == []
    assert len(det._series) == 6  # a parent series' subdomain parts are its own: they go with it
    assert all(len(s.labels or ()) <= det.options.max_polls for s in det._series.values())


def test_a_host_asking_itself_before_each_iterative_poll_is_read() -> None:
    """A question a host puts to itself is no client's (detect/dns_forward.Questions asks nothing of another): a bot
    seen answering DNS that asks its own address a TXT of a new one-label name 1 s before each RD-clear poll of its
    C&C is read (before the per-address asked times were kept in Questions, each self-question made the poll a
    resolver's iteration: nothing)."""
    bot = "10.0.0.66"
    answered = [_answer(900.0, "example.com", bot, "10.0.0.7")]
    polls = _polls("cmd.c2-example.net", 120, 12, src=bot, dst="203.0.113.53", rd=False)
    asks = [_query(o.ts - 1.0, f"x{i}", src=bot, dst=bot) for i, o in enumerate(polls)]
    alerts = feed([DnsPollDetector()], observations=sorted(answered + asks + polls, key=lambda o: o.ts))
    assert [(a.src_ip, a.key) for a in alerts] == [(bot, "cmd.c2-example.net")]


SPF = "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"


def _txt_answer(t: float, name: str, data: str, ttl: float, *, client: str = MAIL) -> Observation:
    """The site resolver's answer to ``client``'s TXT question of ``name``: one record, its TTL as the resolver's
    cache has it left."""
    return Observation(ts=t, proto="dns", kind="response", src_ip=RESOLVER, dst_ip=client, src_port=53,
                       dst_port=40000, ip_proto=17, fields={"qname": name, "qtype": "TXT", "rd": True, "answers": [
                           {"name": name, "type": "TXT", "ttl": int(ttl), "data": [data]}]})


def _cached_lookups(data: str | list[str], *, seed: int = 8, hours: float = 8, mean_gap: float = 60.0,
                    ttl: float = 300.0, name: str = "_spf.google.com") -> list[Observation]:
    """A mail relay behind its own cache looking ``name`` up at each message (an exponential wait of ``mean_gap``),
    asking the site resolver only once its copy ran out; the site resolver caches the record ``ttl`` s and answers
    with what it has left. ``data`` a list: the answer changes at each of the relay's questions (a C&C's commands)."""
    rng, t, expires, site_expires, obs, n = random.Random(seed), 1000.0, 0.0, 0.0, [], 0
    while t < 1000.0 + hours * 3600:
        if t >= expires:
            if t >= site_expires:
                site_expires = t + ttl
            left = int(site_expires - t)
            record = data if isinstance(data, str) else data[n % len(data)]
            obs += [_query(t + 0.001, name, src=MAIL, dst=RESOLVER, rd=True), _txt_answer(t + 0.02, name, record, left)]
            expires, n = t + left, n + 1
        t += rng.expovariate(1 / mean_gap)
    return obs


def test_a_mail_relay_with_its_own_caching_stub_is_no_c2() -> None:
    """A mail relay whose resolver is a local cache (systemd-resolved, Ubuntu's default; or a local Unbound, as rspamd
    recommends) asks the site's resolver _spf.google.com (TTL 300) only when its cached answer ran out, at its next
    message: every 300 s plus an exponential wait, as steady as any bot. Its SPF lookups' own questions stay on
    loopback, so no forward explains them. Simulated, mail every 10-120 s on average: raised on 20 of 20 8-hour
    days before the cache refresh rule (review R1); the answer never changes and is an SPF record, and each interval
    is at least the TTL the site resolver gave."""
    for seed in range(1, 6):
        for mean_gap in (10.0, 60.0, 120.0):
            obs = _cached_lookups(SPF, seed=seed, mean_gap=mean_gap)
            assert feed([DnsPollDetector()], observations=[o for o in obs if o.kind == "query"]), (seed, mean_gap)
            assert feed([DnsPollDetector()], observations=obs) == [], (seed, mean_gap)


@pytest.mark.parametrize("record", [
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC1", "v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
    "v=STSv1; id=20240101T000000", "v=TLSRPTv1; rua=mailto:tls@example.com",
    "v=BIMI1; l=https://example.com/bimi/logo.svg"])
def test_every_kind_of_policy_record_refreshed_by_a_cache_is_no_c2(record: str) -> None:
    assert feed([DnsPollDetector()], observations=_cached_lookups(record, hours=3)) == []


@pytest.mark.parametrize(("label", "data"), [
    ("a changing TXT", [f"cmd={i}" for i in range(50)]),
    ("a changing SPF record", [f"v=spf1 ip4:198.51.100.{i} ~all" for i in range(50)]),
    ("an unchanged base64 blob", "aGVsbG8gd29ybGQsIHRoaXMgaXMgYSBjb21tYW5kIGZvciB0aGUgYm90"),
    ("an SPF record with a data label", f"v=spf1 include:{'3f9a0c17' * 7 + 'b2e4'}.evil.example ~all"),
    ("an SPF record with free text", "v=spf1 ip4:198.51.100.7 cmd=download-and-run ~all"),
])
def test_a_c2_at_ttl_pace_serving_a_changing_or_non_policy_record_is_read(label: str, data: str | list[str]) -> None:
    """The cache refresh rule's near misses: the answer changes (a command), is no policy record (a payload), or an
    SPF-looking record carries data in an include label (60 hex characters) or a made-up modifier."""
    alerts = feed([DnsPollDetector()], observations=_cached_lookups(data, hours=3))
    assert [(a.id, a.src_ip, a.key) for a in alerts] == [(DNS_POLL, MAIL, "_spf.google.com")], label


def test_a_policy_record_polled_faster_than_its_ttl_is_read() -> None:
    """A cache asks only once its copy ran out: a series asking every ~270 s a record whose answers say TTL 300 is
    polled, not refreshed; at every ~310 s it is a refresh."""
    def series(period: float) -> list[Observation]:
        polls = _polls("_spf.google.com", period, 30, jitter=0.02, src=MAIL, dst=RESOLVER)
        return sorted(polls + [_txt_answer(o.ts + 0.02, "_spf.google.com", SPF, 300) for o in polls],
                      key=lambda o: o.ts)
    assert [(a.id, a.src_ip) for a in feed([DnsPollDetector()], observations=series(270))] == [(DNS_POLL, MAIL)]
    assert feed([DnsPollDetector()], observations=series(310)) == []
    assert feed([DnsPollDetector({"ttl_slack_s": 40})], observations=series(270)) == []


def test_a_poll_whose_answer_was_not_seen_is_read_as_before() -> None:
    """Every interval's answer must be seen: with one answer missing in the series, nothing tells the rule applies."""
    obs = _cached_lookups(SPF, hours=3)
    answers = [i for i, o in enumerate(obs) if o.kind == "response"]
    dropped = [o for i, o in enumerate(obs) if i not in answers[3::8]]
    assert [a.id for a in feed([DnsPollDetector()], observations=dropped)] == [DNS_POLL]


def _zeek(observations: list[Observation]) -> list[Observation]:
    """The relay's lookups as a Zeek dns.log writes them (one line a query and its answer: TXT answers as text with
    their TTLs), read back through sources/zeek_map."""
    lines = [{"ts": q.ts, "uid": f"D{i:017d}", "id.orig_h": q.src_ip, "id.orig_p": 40000, "id.resp_h": q.dst_ip,
              "id.resp_p": 53, "proto": "udp", "trans_id": i, "rtt": r.ts - q.ts, "query": q.fields["qname"],
              "qclass": 1, "qclass_name": "C_INTERNET", "qtype": 16, "qtype_name": "TXT", "rcode": 0,
              "rcode_name": "NOERROR", "AA": False, "TC": False, "RD": True, "RA": True, "Z": 0,
              "answers": [f"TXT {len(a['data'][0])} {a['data'][0]}" for a in r.fields["answers"]],
              "TTLs": [float(a["ttl"]) for a in r.fields["answers"]], "rejected": False}
             for i, (q, r) in enumerate(zip(observations[::2], observations[1::2], strict=True))]
    return [o for line in lines for o in map_dns(line)]


def test_the_cache_refresh_rule_reads_a_zeek_dns_log_alike() -> None:
    """A Zeek dns.log gives the TXT answers and their TTLs: the relay's cache stays silent, a changing answer is
    read."""
    assert feed([DnsPollDetector()], observations=_zeek(_cached_lookups(SPF, hours=3))) == []
    changing = _zeek(_cached_lookups([f"cmd={i}" for i in range(50)], hours=3))
    assert [(a.id, a.src_ip) for a in feed([DnsPollDetector()], observations=changing)] == [(DNS_POLL, MAIL)]
