"""C&C commands polled over DNS: one name's data records (TXT, NULL) asked for again and again at a steady pace.

Id ``detect.c2.dns_poll`` (ATT&CK T1071.004 Application Layer Protocol: DNS, T1029 Scheduled Transfer). A bot that
takes its commands from DNS answers asks one name of its C&C's domain for a TXT record every few minutes and reads
the command in the answer (DNSMessenger, Cisco Talos 2017: TXT queries, commands in the TXT answers; ATT&CK
T1071.004's procedure examples). ``detect.dns.tunnel`` counts ``min_txt`` TXT queries within its window, a query every
20 s or faster; a poll every 1-5 min stays under it. Per querying host (an internal address within its broadcast
domain) and name, the start of the latest ``max_polls`` polls is kept (a query within ``same_poll_s`` of the one
before is its retry, RFC 1035 §4.2.1: a resolver retransmits after a few seconds); ``min_polls`` polls whose
intervals average ``min_period_s`` to ``max_period_s`` and vary (their standard deviation) less than ``max_jitter``
times their wait past that retry window (their mean less ``same_poll_s``) raise once per host and name. The wait, not
the interval: with retries merged, an interval is ``same_poll_s`` plus the wait for the next query, and lookups made
at random (a mail relay asking the SPF record of _spf.google.com for each of Gmail's messages, one every 10-30 s)
wait an exponential time, whose deviation is its mean; the intervals, floored at ``same_poll_s``, vary less than
that and raised such lookups on most days. Devices ask A/AAAA records on a timer (their TTLs run out) and are never
read here; a mail server's SPF and DKIM TXT lookups ask a new sender's domain each time (RFC 7208 §4.4), a sporadic
one again, a big sender's as its messages come.

A poll through a caching resolver gets a fresh answer only if its TTL is zero or its name is new (RFC 1035 §7.4:
a resolver answers a question it holds from its cache), so DNS C&C puts a nonce in the first label (dnscat2's
protocol.md: each message unique, so no cache answers it): one name is never asked twice. Each name under a
registered domain is also counted in its registered domain's series, key ``*.<registered domain>``, when its
subdomain part is new there (none of the series' last ``max_polls``): a bot asking ``<nonce>.cmd.example.net``,
``<nonce>.<nonce>.cmd.example.net`` (a nonce split in labels, as dnscat2 splits its data) or
``_acme-challenge.<nonce>.example.net`` (a nonce under a fixed label) every two minutes is read as one poll of
``*.example.net``; one name asked again, or a few in turn, counts in its own series only.

A resolver's queries are its clients', not its own polls: a site's resolver asks a popular TXT record again each time
its cached answer runs out (RFC 1035 §7.4; BIND's and Unbound's prefetch refresh it as the TTL ends), so its clients'
lookups of _spf.google.com make it ask every ~300 s all day, steadier than any bot. Not read: an iterative query
(Recursion Desired clear, RFC 1035 §4.1.1: a resolver asking an authoritative server; a stub resolver, a bot's
included, sets it) from a host seen answering DNS queries, of a name another host asked it within ``same_poll_s``
before or of the canonical name of one (a CNAME its answers named: RFC 1034 §3.6.2, the resolver follows the alias,
as a DKIM selector's CNAME to the mail provider's key; a resolver iterates for the question just put to it, its
prefetch too); and a query a host sends within ``same_poll_s`` after another host asked it the same name (a forwarder
passing its client's question on; that client's own series is read; a host asking itself forwards nothing). A bot on
a DNS server (a domain controller that iterates from root hints) asks its own name, which no client put to it: read,
however busy the server, as is a bot that clears the bit to ask its own name server, or answered a DNS query once to
look like a resolver. The hosts seen answering, the (host, name) questions last put to a host
(detect/dns_forward.Questions, shared with ``detect.dns``) and the canonical names answers named (each with the alias
that named it) are kept up to ``max_series`` each (LRU), by bare address: a routed resolver answers its clients on
their VLAN and asks upstream on its own.

A host's own cache refreshing is no poll either: a mail relay behind a local cache (systemd-resolved, a local Unbound)
asks _spf.google.com again only once its copy ran out, at its next message, every TTL plus a wait. A (host, name)
series whose answers (each poll's, from the responses to the host: TXT records joined, with their TTL) are all the
same record set, every record of it a mail or domain policy record by syntax (detect/dns_policy: SPF, DKIM, DMARC,
MTA-STS, TLS-RPT, BIMI; no free-form payload, no data-carrying name), and whose every interval is at least its
poll's answer's TTL less ``ttl_slack_s`` (a cache asks only once its copy ran out, RFC 1035 §7.4), is not read, however
steady. A C&C whose answer never changes carries no command; one that changes it, serves a non-policy record, or is
polled faster than its TTL, or a poll whose answer was not seen, is read as before. A Zeek dns.log gives TXT answers
and TTLs alike; the *.<registered> series (a new name each poll, which no cache explains) keep no answers.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from itertools import pairwise
from typing import ClassVar

from iotwarden.detect.base import COUNT, DURATION, ENTRIES, SECONDS, Detector, Options, Range, site_host, subject_key
from iotwarden.detect.dns import split_name
from iotwarden.detect.dns_forward import Questions
from iotwarden.detect.dns_policy import policy_record
from iotwarden.detect.series import lru_get, lru_put
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Observation

DNS_POLL = "detect.c2.dns_poll"
DATA_TYPES = frozenset({"TXT", "NULL"})  # records a C&C answer carries data in (RFC 1035 §3.3.14, §3.3.10)
# Names software polls for its own update information by design, never a C&C's: ClamAV's freshclam reads the
# current signature versions from the TXT record of current.cvd.clamav.net before each update check (freshclam.conf
# DNSDatabaseInfo, its default; Checks 12 a day by default, 24 an hour is common in cron and container setups).
KNOWN_UPDATE_POLLS = frozenset({"current.cvd.clamav.net"})
MAX_ALIAS_HOPS = 8  # CNAMEs followed back from a canonical name to the name a client asked (resolvers stop near 8-16)


@dataclass(frozen=True)
class DnsPollOptions(Options):
    min_polls: int = 8  # polls of one name before it is judged
    max_polls: int = 16  # polls kept per host and name (the latest)
    same_poll_s: float = 5.0  # a query this soon after the one before is its retry
    max_jitter: float = 0.3  # coefficient of variation of the intervals below which the polling is steady
    min_period_s: float = 10.0
    max_period_s: float = 3600.0
    ttl_slack_s: float = 2.0  # an interval this much shorter than its answer's TTL is still a cache's refresh
    max_series: int = 50_000  # (host, name) series tracked (LRU), each alerted at most once while tracked; and the
    # hosts seen answering DNS, and the (address, name) questions last put to a host (LRU): a resolver's queries
    bounds: ClassVar[dict[str, Range]] = {"min_polls": (3, COUNT[1]), "max_polls": (3, 10_000),
                                          "same_poll_s": DURATION, "ttl_slack_s": DURATION, "max_jitter": (0.0, 100.0),
                                          "min_period_s": SECONDS, "max_period_s": SECONDS, "max_series": ENTRIES}


@dataclass(frozen=True, slots=True)
class _Answer:
    """What a poll's answer held: a digest of its TXT record set, its TTL and whether every record is a policy
    record (module doc); ``digest`` b"" when the answers to one poll differed or held no TXT record."""

    digest: bytes
    ttl: float
    policy: bool


CHANGED = _Answer(b"", 0.0, False)


@dataclass(slots=True)
class _Series:
    """One (host, name or *.<registered domain>) series: its latest polls' times, whether it raised, and for a
    *.<registered> series the subdomain parts of its latest polls (forgotten with it)."""

    times: list[float] = field(default_factory=list)
    answers: list[_Answer | None] = field(default_factory=list)  # each poll's, as times (None: none seen yet)
    raised: bool = False
    labels: deque[str] | None = None


class DnsPollDetector(Detector):
    observes = frozenset({"dns"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.c2_dns_poll"
    ids: ClassVar[tuple[str, ...]] = (DNS_POLL,)
    defaults: ClassVar[Options] = DnsPollOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        if self.options.max_polls < self.options.min_polls:  # a series could never hold enough polls
            raise ConfigError(f"{self.name}.max_polls: expected at least min_polls ({self.options.min_polls}), "
                              f"got {self.options.max_polls}")
        if self.options.same_poll_s >= self.options.min_period_s:  # every poll that fast would be a retry
            raise ConfigError(f"{self.name}.same_poll_s: expected less than min_period_s "
                              f"({self.options.min_period_s:g}), got {self.options.same_poll_s:g}")
        self._series: OrderedDict[tuple[str, str], _Series] = OrderedDict()  # (host within its domain, name or
        # *.<registered domain>), LRU
        # (asked address, name) -> last asked, and when each address was (detect/dns_forward, shared with detect.dns)
        self._asked = Questions(self.options.max_series, self.options.same_poll_s)
        self._servers: OrderedDict[str, float] = OrderedDict()  # addresses seen answering DNS -> when last (LRU)
        self._aliases: OrderedDict[str, str] = OrderedDict()  # canonical name -> the alias an answer named it for

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        name, qtype = obs.fields.get("qname"), obs.fields.get("qtype")
        if obs.proto == "dns" and obs.kind == "response" and obs.src_ip:  # a server (a resolver) answering
            lru_put(self._servers, obs.src_ip, obs.ts, self.options.max_series)
            if qtype in DATA_TYPES:
                self._learn_aliases(obs)
                self._learn_answer(obs)
            return
        if obs.proto != "dns" or obs.kind != "query" or not isinstance(qtype, str) or qtype not in DATA_TYPES \
                or not obs.src_ip or not isinstance(name, str) or not name:
            return
        o: DnsPollOptions = self.options
        key = (site_host(obs.src_ip, obs.domain), name.lower().rstrip("."))
        if key[1] in KNOWN_UPDATE_POLLS or self._resolving(obs, key[1]):
            return
        self._poll(ctx, obs, key, lru_get(self._series, key, _Series, o.max_series), qtype)
        sub, registered = split_name(key[1])
        if sub:  # under a registered domain: its series, when the subdomain part is new there
            nonce = (key[0], "*." + registered)
            series = lru_get(self._series, nonce, _Series, o.max_series)
            if series.labels is None:
                series.labels = deque(maxlen=o.max_polls)
            if sub not in series.labels:
                series.labels.append(sub)
                self._poll(ctx, obs, nonce, series, qtype)

    def _poll(self, ctx: Context, obs: Observation, key: tuple[str, str], series: _Series, qtype: str) -> None:
        """One poll of ``key``'s series (host, name or *.<registered>) at ``obs``, raised once steady (module doc)."""
        o: DnsPollOptions = self.options
        times = series.times
        if series.raised or (times and obs.ts - times[-1] < o.same_poll_s):
            return  # raised already, or a retry of the last poll
        times.append(obs.ts)
        series.answers.append(None)
        del times[: -o.max_polls], series.answers[: -o.max_polls]
        if len(times) < o.min_polls:
            return
        gaps = [b - a for a, b in pairwise(times)]
        period = statistics.fmean(gaps)
        # steadiness of the wait past the retry window (module doc): a deviation is the same of either
        if not o.min_period_s <= period <= o.max_period_s or \
                statistics.pstdev(gaps) >= o.max_jitter * (period - o.same_poll_s) or self._refreshed(series, gaps):
            return
        series.raised = True
        self.raise_alert(ctx, DNS_POLL, title=f"{obs.src_ip} polls the {qtype} record of {key[1]} every {period:.0f}s",
                         severity="high", subject=subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts),
                         ts=obs.ts, key=key[1], mitre=("T1071.004", "T1029"), src_ip=obs.src_ip, dst_ip=obs.dst_ip,
                         evidence={"period_s": round(period, 3), "polls": len(times), "qtype": qtype,
                                   **({"domain": obs.domain} if obs.domain else {})},
                         observations=[obs])

    def _refreshed(self, series: _Series, gaps: list[float]) -> bool:
        """Whether the series is a cache refreshing one policy record set (module doc): every poll but the latest
        (whose answer is still to come) answered the same policy records, and waited at least their TTL less the
        slack before the next."""
        answers = series.answers[:-1]
        first = answers[0]
        return first is not None and first.policy and all(
            a is not None and a.digest == first.digest and gap >= a.ttl - self.options.ttl_slack_s
            for a, gap in zip(answers, gaps, strict=True))

    def _learn_answer(self, obs: Observation) -> None:
        """A response to a host's TXT/NULL poll: what it held, kept with the host's latest poll of the name."""
        name, client = obs.fields.get("qname"), obs.dst_ip
        if not isinstance(name, str) or not client:
            return
        series = self._series.get((site_host(client, obs.domain), name.lower().rstrip(".")))
        if series is None or not series.times or obs.ts < series.times[-1]:
            return
        answer, kept = _summary(obs.fields.get("answers")), series.answers[-1]
        series.answers[-1] = answer if kept is None or kept == answer else CHANGED

    def _resolving(self, obs: Observation, name: str) -> bool:
        """Whether ``obs``, a query of ``name``, is a resolver's for its clients (module doc): sent within
        ``same_poll_s`` after the host was asked the name, or iterative (RD clear) from a host seen answering DNS and
        asked, within ``same_poll_s`` before, an alias whose canonical name ``name`` is. The question it puts to its
        server is remembered, so that server's forward of it is told."""
        src = obs.src_ip or ""
        if self._asked.forwarded(src, obs.dst_ip or "", name, obs.ts):  # by bare address (module doc)
            return True
        if obs.fields.get("rd") is not False or src not in self._servers:  # answering once makes no resolver
            return False
        # RFC 1035 §4.1.1: a resolver iterating for the question just put to it, or for the canonical name of its alias
        alias = self._aliases.get(name)
        for _ in range(MAX_ALIAS_HOPS):
            if alias is None:
                return False
            if self._asked.asked(src, alias, obs.ts):
                return True
            alias = self._aliases.get(alias)
        return False

    def _learn_aliases(self, obs: Observation) -> None:
        """The CNAMEs of a data record's answer (RFC 1034 §3.6.2): each canonical name with the alias naming it (the
        record's owner, else the question). A Zeek dns.log gives its answers as text with neither type nor owner: to a
        TXT or NULL question, one that is a name, not a TXT record's strings, is a CNAME (zeek_map's type "?")."""
        answers, qname = obs.fields.get("answers"), obs.fields.get("qname")
        if not isinstance(answers, list):
            return
        for answer in answers:
            if not isinstance(answer, dict) or answer.get("type") not in ("CNAME", "?"):
                continue
            owner, target = answer.get("name") or qname, answer.get("data")
            if isinstance(owner, str) and isinstance(target, str) and owner and "." in target \
                    and not any(c.isspace() for c in target):
                alias, canonical = owner.lower().rstrip("."), target.lower().rstrip(".")
                if alias != canonical:
                    lru_put(self._aliases, canonical, alias, self.options.max_series)


def _summary(answers: object) -> _Answer:
    """A response's TXT record set (each record's strings joined, RFC 7208 §3.3), digested, with its least TTL and
    whether every record is a policy record; :data:`CHANGED` when it holds none or a TTL is not told."""
    records: list[list[str]] = []
    ttls: list[float] = []
    for answer in answers if isinstance(answers, list) else ():
        if not isinstance(answer, dict) or answer.get("type") != "TXT":
            continue
        data, ttl = answer.get("data"), answer.get("ttl")
        if not isinstance(data, list) or not isinstance(ttl, int | float) or not all(isinstance(d, str) for d in data):
            return CHANGED
        records.append(data)
        ttls.append(float(ttl))
    if not records:
        return CHANGED
    joined = sorted("".join(r) for r in records)
    digest = hashlib.blake2b("\0".join(joined).encode("utf-8", "surrogateescape"), digest_size=16).digest()
    return _Answer(digest, min(ttls), all(policy_record(r) for r in records))
