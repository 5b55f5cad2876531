"""The addresses DNS answers gave each client, which the scan detector (detect/scan) takes for no probe targets
while the answer may still be in use, within bounds.

An address a DNS answer gave the source is no probe target (RFC 1035 A, RFC 3596 AAAA records, seen by the sensor
or in Zeek's dns.log): a client connecting to the addresses of a name it looked up uses a service, whatever answers.
A blocked cloud's round robin is tried address after address (RFC 8305 §5: Happy Eyeballs races them 250 ms apart,
eight an answer, from a pool a short TTL rotates through): unanswered connects to ten addresses of 443 a minute. A
scanner picks its targets, it does not look them up. Only a connect that starts after the answer is exempt: an answer
read after the probes (a flow is handed over at its end, a Zeek batch's answers before its flows) unmakes no scan.
A Zeek conn.log alone (IoT-23's) holds no answers, so there such a client is still a horizontal scan of its port.

An answer is trusted as long as its client may use it, no longer: its TTL (RFC 1035 §3.2.1, RFC 2181 §8: how long
it may be cached), at least ``min_answer_ttl_s``, because clients keep answers past a short TTL (Firefox's cache 60 s
plus a 60 s grace, the JVM's 30 s; RFC 8767 serve-stale answers carry 30 s; a client retrying a blocked service
reuses the list it raced), and at most ``max_answer_ttl_s`` (a day: Windows' DNS client MaxCacheTtl, Unbound's
cache-max-ttl; RFC 8767 §5's stale data is kept one to three days). A connect past that starts after the client
would have asked again, and a new answer on the wire is a new exemption. And it exempts few addresses: the first
``max_answer_addresses`` of an answer (a client races the first of its sorted list, RFC 6724 §6, RFC 8305 §4; a
pool answers eight, Route 53's multivalue answers at most eight), and no new ones while a client holds
``max_domain_addresses`` in use from the names of one registered domain (the question's, detect/dns.split_name), so a
bot resolving a name that answers hundreds of addresses, a fast-flux name or a wildcard zone that maps every name to
an address of its choosing (its own, or a public one such as nip.io's <address>.nip.io) hides no sweep past those
bounds: the names are the zone's, and each more zone is a domain to register. The bound is per domain, not per
client: a browser asks the A and AAAA records of some eighty names of a few dozen domains a page, hundreds of
addresses within a TTL of 300 s, and a broken IPv6 route leaves each name's IPv6 connect unanswered before it falls
back (RFC 8305 §5). Kept per (client, address), ``max_resolved`` pairs in all (the least recently answered client's
oldest first).

Nor may a client's answers exempt more than ``max_client_exemptions`` distinct addresses from its probes within a
window (``window_s``, from the first one it exempts): past them, a failed connect to an answered address is a probe.
The bound per domain leaves a bot ``max_domain_addresses`` targets for each zone it resolves them under (its own
wildcard zones, public ones such as nip.io and sslip.io); this one bounds them all, and counts only what a scan needs
hidden, the answered addresses that did not answer (a browser's answers per window run to hundreds of addresses, its
failed connects to them far fewer: none to 2 a window in the shared captures' 20 answered clients, 161 for the
dual-stack browser with broken IPv6 of tests/detect/test_scan_resolved.py). A sweep slower than the bound a window
still hides behind names it looked up.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from math import inf
from typing import TYPE_CHECKING

from iotwarden.detect.base import site_host
from iotwarden.detect.dns import split_name
from iotwarden.model import Observation

if TYPE_CHECKING:
    from iotwarden.detect.scan import ScanOptions


@dataclass(slots=True)
class _Client:
    """One client's answered addresses: address -> (first answer's time, time its trust ends, registered domain of
    the name first answering it), in answer order, and how many of them each registered domain holds."""

    addresses: OrderedDict[str, tuple[float, float, str]] = field(default_factory=OrderedDict)
    domains: dict[str, int] = field(default_factory=dict)  # registered domain -> its addresses here (none at 0)
    soonest: float = inf  # the earliest end of trust among them (no look for expired ones before it)
    window: float = -inf  # when the current window of exemptions began (the first probe exempted in it)
    used: set[str] | None = None  # the addresses that exempted a probe in it, at most max_client_exemptions


class Resolved:
    """What DNS answers gave each client: ``exempt`` says whether a connect is a use of one."""

    def __init__(self, o: ScanOptions) -> None:
        self.max_pairs, self.min_ttl_s = o.max_resolved, o.min_answer_ttl_s
        self.max_ttl_s = max(o.min_answer_ttl_s, o.max_answer_ttl_s)
        self.max_answer_addresses, self.max_domain_addresses = o.max_answer_addresses, o.max_domain_addresses
        self.max_exemptions, self.window_s = o.max_client_exemptions, o.window_s
        self._clients: OrderedDict[str, _Client] = OrderedDict()  # least recently answered first
        self._pairs = 0
        self.refused = 0  # addresses answered past max_answer_addresses or max_domain_addresses: not exempt
        self.spent = 0  # probes to an answered address past max_client_exemptions in their window: not exempt

    def __len__(self) -> int:
        return self._pairs

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for client, known in self._clients.items():
            for address in known.addresses:
                yield client, address

    def learn(self, client: str, obs: Observation) -> None:
        """Remember the A/AAAA addresses of a DNS answer as its client's (within the answer's broadcast domain, as
        flows key a tagged source and target: site_host), each trusted for its TTL within the bounds."""
        answers = obs.fields.get("answers")
        if not isinstance(answers, list):
            return
        domain, ts = obs.domain, obs.ts
        client = site_host(client, domain)
        qname = obs.fields.get("qname")
        known: _Client | None = None
        taken = 0
        for answer in answers:
            if not (isinstance(answer, dict) and answer.get("type") in ("A", "AAAA")
                    and isinstance(answer.get("data"), str)):
                continue
            if taken >= self.max_answer_addresses:
                self.refused += 1
                continue
            taken += 1
            if known is None:
                known = self._client(client)
            name = qname if isinstance(qname, str) and qname else answer.get("name")
            zone = split_name(name)[1] if isinstance(name, str) else ""
            self._learn(known, site_host(answer["data"], domain), zone, ts, ts + self._ttl(answer.get("ttl")))
        while self._pairs > self.max_pairs:
            self._drop_oldest()

    def exempt(self, client: str, host: str, ts: float) -> bool:
        """True when a DNS answer gave ``client`` the address ``host`` at or before ``ts`` (a failed connect's start)
        and trusts it still, and the client's probes were not exempted for ``max_client_exemptions`` other addresses
        in the window ``ts`` falls in (module doc)."""
        known = self._clients.get(client)
        if known is None:
            return False
        trust = known.addresses.get(host)
        if trust is None or not trust[0] <= ts <= trust[1]:
            return False
        used = known.used
        if used is None or ts - known.window > self.window_s:
            known.window, known.used = ts, (used := set())
        if host in used:
            return True
        if len(used) >= self.max_exemptions:
            self.spent += 1
            return False
        used.add(host)
        return True

    def held(self, client: str, zone: str) -> int:
        """How many addresses answered under the registered domain ``zone`` ``client`` holds."""
        known = self._clients.get(client)
        return 0 if known is None else known.domains.get(zone, 0)

    def _ttl(self, ttl: object) -> float:
        """An answer's TTL in seconds within [min_ttl_s, max_ttl_s]; a record without one (a dns.log's cut TTLs)
        gets the floor."""
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl != ttl:  # noqa: PLR0124 - NaN
            return self.min_ttl_s
        return min(max(float(ttl), self.min_ttl_s), self.max_ttl_s)

    def _client(self, client: str) -> _Client:
        known = self._clients.get(client)
        if known is None:
            known = self._clients[client] = _Client()
        else:
            self._clients.move_to_end(client)
        return known

    def _learn(self, known: _Client, address: str, zone: str, ts: float, until: float) -> None:
        """One address of an answer at ``ts`` under the registered domain ``zone`` trusted until ``until``: a new
        pair, or the span of its trust widened to hold this answer's (a Zeek batch hands its dns.log's answers of the
        hour before its conn.log's flows: the connects that followed an earlier answer are judged after a later one
        was read)."""
        addresses, domains = known.addresses, known.domains
        trust = addresses.get(address)
        if trust is None:
            if domains.get(zone, 0) >= self.max_domain_addresses and not (
                    self._expire(known, ts) and domains.get(zone, 0) < self.max_domain_addresses):
                self.refused += 1  # the client holds the domain's bound in use: its names hide no more targets
                return
            addresses[address] = (ts, until, zone)
            domains[zone] = domains.get(zone, 0) + 1
            self._pairs += 1
        else:  # from its first answer to its last's end: a batch's answers may all be read before its flows
            since, end, first_zone = trust
            addresses[address] = (min(since, ts), max(end, until), first_zone)
            addresses.move_to_end(address)
        known.soonest = min(known.soonest, until)

    def _expire(self, known: _Client, now: float) -> bool:
        """Drop the client's addresses whose trust ended before ``now``; True when any went."""
        if now <= known.soonest:
            return False
        addresses = known.addresses
        gone = [a for a, (_, end, _) in addresses.items() if end < now]
        for address in gone:
            self._forget(known, addresses.pop(address)[2])
        self._pairs -= len(gone)
        known.soonest = min((end for _, end, _ in addresses.values()), default=inf)
        return bool(gone)

    def _drop_oldest(self) -> None:
        """The least recently answered client's oldest address goes (the bound on all pairs)."""
        client, known = next(iter(self._clients.items()))
        self._forget(known, known.addresses.popitem(last=False)[1][2])
        self._pairs -= 1
        if not known.addresses:
            del self._clients[client]

    @staticmethod
    def _forget(known: _Client, zone: str) -> None:
        """One of the client's addresses under ``zone`` went."""
        left = known.domains[zone] - 1
        if left:
            known.domains[zone] = left
        else:
            del known.domains[zone]
