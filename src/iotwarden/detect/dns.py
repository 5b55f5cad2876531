"""DNS anomalies from queries: algorithmically generated names (DGA) and DNS tunnelling.

Ids: ``detect.dns.dga`` (ATT&CK T1568.002 Domain Generation Algorithms) and ``detect.dns.tunnel``
(T1071.004 Application Layer Protocol: DNS, T1572 Protocol Tunneling).

DGA score of a name's longest label (registered-domain label, public suffix heuristics below), from
0 to 1: the mean of its character entropy over 4 bits, its share of digits, its longest consonant run
over 6 and the share of its character bigrams that are rare in English (not in
:data:`COMMON_BIGRAMS`). A label of at least ``min_len`` characters scoring ``>= dga_threshold``
(default 0.5, chosen so that dictionary names, vendor hostnames and CDN ids score below it) is
suspicious; ``min_dga_names`` distinct suspicious names from one host in ``window_s`` is an alert,
as a DGA bot walks through its list.

Tunnel: ``min_tunnel_names`` distinct long (``>= tunnel_label_len``) high-entropy subdomain labels under
one parent domain, or ``min_txt`` TXT queries for one parent, from one host within ``window_s``.

What is kept, each piece bounded: per host at most ``min_dga_names`` DGA names, and per parent domain at most
``min_tunnel_names`` long labels, fewer TXT query times than ``min_txt`` (as many recent ones raise and are cleared;
a stale name or label is dropped once as many are kept) and ``max_attrleaf_names`` + 1 pre-checks of underscored
names (below), each a count and two times; ``max_names`` parents per host in each table (LRU; at least each of the
counts, checked at configure time), ``max_hosts`` hosts (LRU). One host holds at most
:meth:`DnsAnomalyDetector.host_bound` entries (35,845 at the defaults, ~6 MB: ~170 bytes an entry of names of
40-character labels, tracemalloc), and all hosts together at most ``max_entries`` (1,000,000, ~170 MB; the least
recently asking host dropped first, the one asking never): a flood of hostile names from many spoofed addresses
costs other hosts their state, as past ``max_hosts``, never unbounded memory. The questions put to each address
are kept up to ``max_asked`` (detect/dns_forward.Questions).

Benign names that look so (tests/detect/dns_lookalikes.py, each from its product's documentation):

- a name of one label is never scored as a DGA's: no registry delegates a dotless name (ICANN's new gTLD registry
  agreement, Specification 6 §2.2; IAB statement on dotless domains, 2013), so a bot cannot reach a C&C by one,
  while Chromium asks three of 7-15 random letters at each start and network change (its intranet redirect
  detector: six names from a login that starts Chrome and Edge);
- names under :data:`REPUTATION_ZONES` are no tunnel when asked of a resolver (an internal address, the site's, or
  one of :data:`PUBLIC_RESOLVERS`): anti-virus and mail reputation services answer a hash or an address carried in
  the query name (Sophos SXL, ESET, McAfee GTI, Spamhaus HBL), and what a resolver is asked there reaches only the
  zone's operator, where a tunnel needs an authoritative server of its own; a query sent straight to another
  outside address reaches whoever holds it, whatever zone it names (a tunnel client given the server's address,
  as iodine's and dnscat2's can be), and is read as any other;
- a TXT query of an underscored name a protocol defines, in the place its protocol puts it (:func:`attrleaf`, RFC
  8552), is not counted towards ``min_txt`` while at most ``max_attrleaf_names`` distinct such names were asked
  under its parent within ``window_s`` and the name is within its pre-check: asked at most ``max_attrleaf_queries``
  times, all within ``attrleaf_check_s`` of the first, since it was last not asked for ``window_s``: an ACME client
  checks ``_acme-challenge.<name>`` (RFC 8555 §8.4) of each of a certificate's names (at most 100: Let's
  Encrypt's names per certificate) until it is there, lego's DNS-01 pre-check one name after another, a round every
  2 s for up to 60 s, each round asking a resolver and then the zone's authoritative servers (go-acme/lego
  challenge/dns01 precheck.go: 30 rounds of two queries while the record is not there), and once the record is
  seen never asks that name again for the order; a mail server asks ``<selector>._domainkey.<domain>`` (RFC 6376
  §3.6.2.1) of a few selectors per domain. A C&C asking a new nonce under ``_acme-challenge`` each time passes the
  names' bound; one asking one fixed name every 1.5 s or faster (over 60 queries) the name's count, and one asking
  the same names again and again, one or a hundred in turn or at random, each fewer than 60 times a window, their
  time: a name asked again more than ``attrleaf_check_s`` after its pre-check began, without a rest of ``window_s``,
  is no pre-check. The queries past a bound are counted again; a tunnel's long data labels are counted as any
  others. The costs: an ACME client validating more than ``max_attrleaf_names`` names of one registered domain
  within ``window_s`` (two 100-name certificates renewed one after the other, 5 s a name) has the names past the
  bound counted, and raises once ``min_txt`` of their queries are (a site that does so raises the bound); an order
  re-run within ``window_s`` of its names' pre-check (a failed one retried at once), or whose pre-check of a name
  outlasts ``attrleaf_check_s`` (a DNS provider's longer propagation timeout), has those names' queries counted. A
  C&C may still ask each of up to ``max_attrleaf_names`` names up to 60 times within ``attrleaf_check_s`` and then
  rest it ``window_s`` (6,000 queries every ~700 s, in bursts); so at most ``max_attrleaf_daily`` such queries under
  one parent (6,000: one order's most, 100 names each pre-checked 60 times; a certificate is renewed every 60 days)
  are left out per host a day, from the first, and the rest are counted (the cost: a host pre-checking more than
  that under one registered domain in a day);
- a resolver's or forwarder's queries are its clients', not its own: a query under a registered domain the host
  was asked a name under within ``forward_s`` before (by any client, by bare address: a routed resolver is asked on
  its clients' VLAN and asks upstream on its own) is not counted for it; the client's own query is. Otherwise a
  site resolver (or a Cisco Umbrella virtual appliance) forwarding one infected client's DGA walk is raised as a
  DGA host itself, the alert naming the wrong host and pair. The questions put to a host are kept up to
  ``max_asked`` (LRU; detect/dns_forward.Questions, shared with detect.c2_dns_poll).

A host is its address within its broadcast domain (detect/base.site_host, Observation.domain): two VLANs' or
VPCs' 10.0.0.7 are two hosts, whose names are never summed into one count; untagged, the address itself.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar, TypeVar

from iotwarden.detect.base import (
    COUNT,
    DURATION,
    ENTRIES,
    SECONDS,
    Detector,
    Options,
    Range,
    is_internal,
    site_host,
    subject_key,
)
from iotwarden.detect.dns_forward import Questions
from iotwarden.detect.series import lru_get
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Observation

DGA, TUNNEL = "detect.dns.dga", "detect.dns.tunnel"
V = TypeVar("V", bound=Sized)
VOWELS = frozenset("aeiouy")
# the 342 most frequent letter bigrams of English text (Norvig's Google-books counts, each
# above ~0.05% of bigrams): readable names are mostly made of them, generated ones are not
COMMON_BIGRAMS = frozenset((  # noqa: SIM905 - a table is easier to read as text
    "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi "
    "ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec pr no ct us ac ot il tr ly nc "
    "et ut ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na ul ni ts mo ow pa im mi ai sh ir su id os iv "
    "ia am fi ci vi pl ig tu ev ld ry mp fe bl ab gh ty op wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do "
    "uc bu ei ov by rm ep tt oc fa ef cu rn sc gi da yo cr cl du ga qu ue ff ba ey ls va um pp ua up lu go ht "
    "ru ug ds lt pi rc rr eg au ck ew mu br bi pt ak pu ui rg ib tl ny ki rk ys ob mm fu ph og ms ye ud mb ip "
    "ub oi rl gu dr hr cc tw ft wn nu af hu nn eo vo rv nf xp gn sm fl iz ok nl my gl aw ju oa eq sy sl ps jo "
    "lf nv je nk kn gs dy hy ze ks xt bs ik dd cy rp sk xi oe oy ws lv dl rf eu dg wr xa yi nm eb rb tm xc eh "
    "tc gy ja hn yp za gg ym sw bj lm cs ii ix xe oh lk dv lp ax ox uf dm iu sf bt ka yt ek pm ya gt wl rh yl "
    "hs ah yc yn rw hm lw hl ae zi az lc py aj iq nj bb nh uo kl lb tn gm sn nr fs ky "
).split())
TWO_LABEL_SUFFIXES = frozenset({"co.uk", "com.au", "co.jp", "com.cn", "com.br", "co.in", "co.kr", "com.tw", "org.uk"})
# names never delegated on the Internet (RFC 6762 .local, RFC 8375 home.arpa, and the private-use ones sites pick):
# no outside server answers them. Not the other .arpa zones: a reverse zone is delegated to its address holder
# (RFC 3596 §2.5), a tunnel broker's IPv6 /48 user to a name server of their own, a tunnel's zone with no domain bought
LOCAL_SUFFIXES = (".local", ".home.arpa", ".lan", ".home", ".internal", ".localdomain")
# zones that answer reputation lookups carried in the query name (module doc), each with its product and source
REPUTATION_ZONES: dict[str, str] = {
    "sophosxl.net": "Sophos Live Protection / SXL lookups (Sophos KB 111334; SANS ISC diary 24844)",
    "e5.sk": "ESET LiveGrid, antispam and parental control lookups (ESET KB332; wtfbins ESET Protection Suite)",
    "avqs.mcafee.com": "McAfee GTI file reputation (KB53735, KB53782)",
    "avts.mcafee.com": "McAfee GTI file reputation, VSCore 14.4 and later (KB53782)",
    "hbl.dq.spamhaus.net": "Spamhaus Hash Blocklist through the Data Query Service (spamhaus/rspamd-dqs)",
}
# public recursive resolvers a host may be set to ask (their operators' documented service addresses): what they are
# asked under a REPUTATION_ZONES zone reaches only its operator (module doc)
PUBLIC_RESOLVERS = frozenset({
    "8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844",  # Google Public DNS
    "1.1.1.1", "1.0.0.1", "2606:4700:4700::1111", "2606:4700:4700::1001",  # Cloudflare 1.1.1.1
    "9.9.9.9", "149.112.112.112", "2620:fe::fe", "2620:fe::9",  # Quad9
    "208.67.222.222", "208.67.220.220",  # Cisco OpenDNS / Umbrella
})
# RFC 8552 underscored names whose TXT record a protocol asks for, prefixed to the domain it is about (attrleaf)
TXT_ATTRLEAVES = frozenset({
    "_acme-challenge",  # RFC 8555 §8.4: _acme-challenge.<the name validated>
    "_dmarc",  # RFC 7489 §6.1: _dmarc.<domain>
    "_mta-sts",  # RFC 8461 §3.1: _mta-sts.<domain>
})
DKIM_LEAF = "_domainkey"  # RFC 6376 §3.6.2.1: <selector>._domainkey.<domain>
TLS_RPT_LEAF = ("_smtp", "_tls")  # RFC 8460 §3: _smtp._tls.<domain>
# labels whose DGA score is remembered (dga_score depends on the label alone; hosts ask for the same names again
# and again), least recently used dropped first
DGA_SCORE_MEMO = 4096
# RFC 1035 §2.3.4: a label is at most 63 octets; a longer text (a Zeek dns.log's query is not bounded so) is scored
# every time and never kept, so the memo holds at most DGA_SCORE_MEMO short labels
DGA_MEMO_LABEL = 63
DAY_S = 86_400.0  # the span of a parent's budget of uncounted underscored-name queries (max_attrleaf_daily)


def entropy(text: str) -> float:
    """Shannon entropy of the characters of ``text`` in bits."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def split_name(name: str) -> tuple[str, str]:
    """(subdomain part, registered domain) of a DNS name, e.g. ("a.b", "example.co.uk")."""
    labels = name.lower().rstrip(".").split(".")
    take = 3 if len(labels) >= 3 and ".".join(labels[-2:]) in TWO_LABEL_SUFFIXES else 2
    return ".".join(labels[:-take]), ".".join(labels[-take:])


def in_zone(name: str, zones: dict[str, str]) -> bool:
    """Whether ``name`` (lower case, no final dot) is one of ``zones`` or under one."""
    labels = name.split(".")
    return any(".".join(labels[i:]) in zones for i in range(len(labels)))


def attrleaf(labels: list[str]) -> bool:
    """Whether a name's ``labels`` are an underscored name whose TXT record its protocol defines, in the protocol's
    shape (module doc): ``_acme-challenge``, ``_dmarc`` or ``_mta-sts`` first, ``_smtp._tls`` first, or a selector
    (no underscore) then ``_domainkey``; each prefixed to a domain of at least two labels."""
    if len(labels) < 3:
        return False
    if labels[0] in TXT_ATTRLEAVES:
        return True
    return len(labels) >= 4 and (tuple(labels[:2]) == TLS_RPT_LEAF
                                 or (labels[1] == DKIM_LEAF and not labels[0].startswith("_")))


def _to_resolver(dst: str | None) -> bool:
    """Whether a query to ``dst`` is asked of a resolver: the site's (an internal address) or a public one (module
    doc); a record naming no server (none known) is taken as one."""
    return dst is None or is_internal(dst) or dst.split("%", 1)[0].lower() in PUBLIC_RESOLVERS


def dga_score(label: str) -> float:
    """0..1: how machine-generated one DNS label looks (see the module docstring); remembered per label."""
    return _remembered_score(label) if len(label) <= DGA_MEMO_LABEL else _dga_score(label)


def _dga_score(label: str) -> float:
    label = label.lower()
    letters = [c for c in label if c.isalnum()]
    if not letters:
        return 0.0
    text = "".join(letters)
    run = best = 0
    for c in text:
        run = run + 1 if c.isalpha() and c not in VOWELS else 0
        best = max(best, run)
    digits = sum(c.isdigit() for c in text) / len(text)
    pairs = [text[i : i + 2] for i in range(len(text) - 1)]
    rare = sum(p not in COMMON_BIGRAMS for p in pairs) / len(pairs) if pairs else 0.0
    return (min(entropy(text) / 4.0, 1.0) + min(digits * 1.5, 1.0) + min(best / 6.0, 1.0) + rare) / 4.0


_remembered_score = lru_cache(maxsize=DGA_SCORE_MEMO)(_dga_score)  # dga_score's memo of labels up to DGA_MEMO_LABEL


@dataclass(frozen=True)
class DnsOptions(Options):
    window_s: float = 600.0
    min_len: int = 8  # labels shorter than this are never judged DGA (too little signal)
    dga_threshold: float = 0.5
    min_dga_names: int = 5
    tunnel_label_len: int = 30
    tunnel_entropy: float = 3.5  # bits per character of a tunnelling label (base32/64 data ~4-5)
    min_tunnel_names: int = 10
    min_txt: int = 30
    max_hosts: int = 50_000  # querying hosts tracked (LRU)
    max_names: int = 256  # parent domains per host in each table (LRU)
    max_entries: int = 1_000_000  # names, query times and pre-checks kept over all hosts (least recent host dropped)
    max_attrleaf_names: int = 100  # distinct protocol underscored names per (host, parent) in window_s uncounted
    max_attrleaf_queries: int = 60  # queries of one such name in window_s uncounted (lego's 60 s pre-check: 60)
    attrleaf_check_s: float = 90.0  # how long one such name's pre-check may last (lego's 60 s timeout, a round more)
    max_attrleaf_daily: int = 6000  # such queries uncounted per (host, parent) a day (100 names x 60: one order's most)
    forward_s: float = 5.0  # a query within this long after the host was asked under the same domain is a forward
    max_asked: int = 50_000  # (asked address, registered domain) questions remembered (LRU)
    bounds: ClassVar[dict[str, Range]] = {"window_s": SECONDS, "min_len": (1, 63), "dga_threshold": (0.0, 100.0),
                                          "min_dga_names": COUNT, "tunnel_label_len": (1, 63),
                                          "tunnel_entropy": (0.0, 8.0), "min_tunnel_names": COUNT, "min_txt": COUNT,
                                          "max_attrleaf_names": COUNT, "max_attrleaf_queries": COUNT,
                                          "attrleaf_check_s": DURATION, "max_attrleaf_daily": ENTRIES,
                                          "max_hosts": ENTRIES, "max_names": ENTRIES, "max_entries": ENTRIES,
                                          "forward_s": DURATION,
                                          "max_asked": ENTRIES}


@dataclass(slots=True)
class _Leaf:
    """One protocol underscored name's pre-check (module doc): when it began, when the name was last asked, and how
    many times it was asked since it began; it begins anew once the name was not asked for ``window_s``."""

    first: float
    last: float
    count: int = 0


class _Leaves(dict[str, _Leaf]):
    """A parent's pre-checks by name, and its day's budget (module doc): when the day began, and the queries left
    uncounted since."""

    __slots__ = ("day", "spent")

    def __init__(self, names: dict[str, _Leaf] | None = None, day: float = -math.inf, spent: int = 0) -> None:
        super().__init__(names or {})
        self.day, self.spent = day, spent


@dataclass(slots=True)
class _Host:
    """One querying host's names; each per-parent table keeps ``max_names`` parents, the least recently asked dropped
    first (:meth:`DnsAnomalyDetector._parent`): a mail server's SPF/DKIM lookups or an antivirus' hash lookups ask
    under a new parent each time, a tunnel under its own one again and again. ``size`` is the entries it holds (names,
    labels, query times, pre-checks), at most :meth:`DnsAnomalyDetector.host_bound`."""

    dga: dict[str, float] = field(default_factory=dict)  # suspicious name -> last queried (< min_dga_names recent)
    # parent -> long label -> time (fewer than min_tunnel_names within window_s)
    tunnel: OrderedDict[str, dict[str, float]] = field(default_factory=OrderedDict)
    txt: OrderedDict[str, list[float]] = field(default_factory=OrderedDict)  # parent -> TXT query times (< min_txt)
    # parent -> attrleaf name -> its pre-check (at most max_attrleaf_names + 1 names a parent)
    leaves: OrderedDict[str, _Leaves] = field(default_factory=OrderedDict)
    size: int = 0


def _held(host: _Host, parent: str) -> int:
    """The entries ``host`` holds that a query under ``parent`` may change: its DGA names and that parent's."""
    return len(host.dga) + len(host.tunnel.get(parent, ())) + len(host.txt.get(parent, ())) \
        + len(host.leaves.get(parent, ()))


def _recent(seen: dict[str, float], now: float, window: float) -> int:
    return sum(1 for t in seen.values() if now - t <= window)


class DnsAnomalyDetector(Detector):
    observes = frozenset({"dns"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.dns"
    ids: ClassVar[tuple[str, ...]] = (DGA, TUNNEL)
    defaults: ClassVar[Options] = DnsOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        o: DnsOptions = self.options
        # a host's or parent's table keeps at most max_names names or TXT query times: a count above it never raises
        for count, least in (("min_txt", o.min_txt), ("min_tunnel_names", o.min_tunnel_names),
                             ("min_dga_names", o.min_dga_names)):
            if o.max_names < least:
                raise ConfigError(f"{self.name}.max_names: expected at least {count} ({least}), got {o.max_names}")
        self._hosts: OrderedDict[str, _Host] = OrderedDict()
        self._entries = 0  # the sum of the hosts' sizes, at most max_entries after each query (module doc)
        self._asked = Questions(o.max_asked, o.forward_s)  # (asked address, parent) -> last asked (dns_forward)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto != "dns" or obs.kind != "query" or not obs.src_ip:
            return
        name, qtype = obs.fields.get("qname"), obs.fields.get("qtype")
        if not isinstance(name, str) or not name or name.lower().rstrip(".").endswith(LOCAL_SUFFIXES):
            return
        o: DnsOptions = self.options
        name = name.lower().rstrip(".")
        sub, parent = split_name(name)
        if self._asked.forwarded(obs.src_ip, obs.dst_ip or "", parent, obs.ts) or \
                (in_zone(name, REPUTATION_ZONES) and _to_resolver(obs.dst_ip)):
            return
        key = site_host(obs.src_ip, obs.domain)
        if key not in self._hosts and len(self._hosts) >= o.max_hosts:
            self._entries -= self._hosts.popitem(last=False)[1].size
        host = lru_get(self._hosts, key, _Host, o.max_hosts)
        held = _held(host, parent)
        self._read(ctx, obs, host, name=name, sub=sub, parent=parent, qtype=qtype)
        grown = _held(host, parent) - held
        host.size += grown
        self._entries += grown
        while self._entries > o.max_entries and len(self._hosts) > 1:  # the least recently asking host goes
            self._entries -= self._hosts.popitem(last=False)[1].size

    def host_bound(self) -> int:
        """The most entries one host holds (module doc): ``min_dga_names`` DGA names, and for each of ``max_names``
        parents ``min_tunnel_names`` long labels, ``min_txt`` - 1 TXT query times and ``max_attrleaf_names`` + 1
        pre-checks."""
        o: DnsOptions = self.options
        return o.min_dga_names + o.max_names * (o.min_tunnel_names + o.min_txt - 1 + o.max_attrleaf_names + 1)

    def _parent(self, host: _Host, table: OrderedDict[str, V], parent: str, make: Callable[[], V]) -> V:
        """``table[parent]`` of ``host`` (made the most recent, created if missing), its least recently asked parent
        dropped past ``max_names``, and its entries off the host's and the detector's counts."""
        if parent not in table and len(table) >= self.options.max_names and table:
            gone = len(table.popitem(last=False)[1])
            host.size -= gone
            self._entries -= gone
        return lru_get(table, parent, make, self.options.max_names)

    def _read(self, ctx: Context, obs: Observation, host: _Host, *, name: str, sub: str, parent: str,
              qtype: object) -> None:
        """A query of ``name`` (``sub`` under ``parent``) by ``host``: its DGA name, tunnel label, TXT query."""
        o: DnsOptions = self.options
        label = parent.split(".", maxsplit=1)[0]
        if "." in name and len(label) >= o.min_len and dga_score(label) >= o.dga_threshold:
            if len(host.dga) >= o.min_dga_names:  # stale names only: the recent ones are fewer (module doc)
                host.dga = {k: t for k, t in host.dga.items() if obs.ts - t <= o.window_s}
            host.dga[name] = obs.ts
            n = _recent(host.dga, obs.ts, o.window_s)
            if n >= o.min_dga_names:
                host.dga.clear()
                self._alert(ctx, obs, DGA, f"{obs.src_ip} looked up {n} algorithmically generated names",
                            parent, mitre=("T1568.002",),
                            evidence={"names": n, "example": name, "score": round(dga_score(label), 3)})
        longest = max(sub.split("."), key=len) if sub else ""
        if len(longest) >= o.tunnel_label_len and entropy(longest) >= o.tunnel_entropy:
            labels = self._parent(host, host.tunnel, parent, dict)
            if len(labels) >= o.min_tunnel_names:  # stale labels only: the recent ones are fewer (module doc)
                labels = host.tunnel[parent] = {k: t for k, t in labels.items() if obs.ts - t <= o.window_s}
            labels[longest] = obs.ts
            n = _recent(labels, obs.ts, o.window_s)
            if n >= o.min_tunnel_names:
                labels.clear()
                self._alert(ctx, obs, TUNNEL, f"{obs.src_ip} tunnels data in DNS names under {parent}", parent,
                            mitre=("T1071.004", "T1572"), evidence={"labels": n, "example": name})
        if qtype == "TXT" and not self._uncounted_leaf(host, name, parent, obs.ts):
            asked = self._parent(host, host.txt, parent, list)
            times = host.txt[parent] = [*[t for t in asked if obs.ts - t <= o.window_s], obs.ts]
            if len(times) >= o.min_txt:
                host.txt[parent] = []
                self._alert(ctx, obs, TUNNEL, f"{obs.src_ip} sent {len(times)} TXT queries under {parent}", parent,
                            mitre=("T1071.004", "T1572"), evidence={"txt_queries": len(times), "example": name})

    def _uncounted_leaf(self, host: _Host, name: str, parent: str, now: float) -> bool:
        """Whether a TXT query of ``name`` is a protocol's underscored name left out of ``min_txt`` (module doc):
        one of at most ``max_attrleaf_names`` distinct ones asked under ``parent`` within ``window_s``, within its
        pre-check: asked at most ``max_attrleaf_queries`` times, all within ``attrleaf_check_s`` of the first, since it
        was last not asked for ``window_s``. One more name than the bound is kept per parent, enough to know it is
        passed; a name's pre-check is a count and two times. And at most ``max_attrleaf_daily`` such queries under
        ``parent`` a day are left out."""
        if not attrleaf(name.split(".")):
            return False
        o: DnsOptions = self.options
        window = o.window_s
        leaves = self._parent(host, host.leaves, parent, _Leaves)
        leaf = leaves.get(name)
        if leaf is None and len(leaves) > o.max_attrleaf_names:
            leaves = host.leaves[parent] = _Leaves({k: v for k, v in leaves.items() if now - v.last <= window},
                                                   leaves.day, leaves.spent)
        if leaf is not None or len(leaves) <= o.max_attrleaf_names:
            if leaf is None or now - leaf.last > window:  # not asked within window_s: a pre-check begins
                leaf = leaves[name] = _Leaf(now, now)
            leaf.last, leaf.count = now, leaf.count + 1
        names = sum(1 for v in leaves.values() if now - v.last <= window)
        if names > o.max_attrleaf_names or leaf is None or leaf.count > o.max_attrleaf_queries \
                or now - leaf.first > o.attrleaf_check_s:
            return False
        if now - leaves.day > DAY_S:  # the parent's budget: max_attrleaf_daily a day (module doc)
            leaves.day, leaves.spent = now, 0
        leaves.spent += 1
        return leaves.spent <= o.max_attrleaf_daily

    def _alert(self, ctx: Context, obs: Observation, detector_id: str, title: str, key: str, *,
               mitre: tuple[str, ...], evidence: dict[str, object]) -> None:
        self.raise_alert(ctx, detector_id, title=title, severity="high",
                         subject=subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts), ts=obs.ts,
                         key=key if detector_id == TUNNEL else "", mitre=mitre, src_ip=obs.src_ip,
                         dst_ip=obs.dst_ip, evidence={**evidence, **({"domain": obs.domain} if obs.domain else {})},
                         observations=[obs])
