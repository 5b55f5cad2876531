"""The addresses DNS answers gave each client (detect/scan_resolved): exempt from then on, per broadcast domain,
within bounds."""

from __future__ import annotations

from iotwarden.detect.scan import ScanDetector, ScanOptions
from iotwarden.detect.scan_resolved import Resolved
from iotwarden.model import Flow, Observation
from tests.detect.runner import feed, tcp_flow


def _resolved(max_pairs: int = 100, *, per_answer: int = 16, per_domain: int = 256) -> Resolved:
    return Resolved(ScanOptions(max_resolved=max_pairs, max_answer_addresses=per_answer,
                                max_domain_addresses=per_domain))


def _answer(ts: float, client: str, addresses: list[str], *, vlan: int = 0, ttl: int = 60,
            name: str = "sync.cloud.example", rtype: str = "A") -> Observation:
    return Observation(ts=ts, proto="dns", kind="response", src_ip="10.0.0.1", dst_ip=client, src_port=53,
                       dst_port=50000, ip_proto=17, vlan=vlan,
                       fields={"qname": name, "rcode": "NOERROR",
                               "answers": [{"name": name, "type": rtype, "ttl": ttl, "data": a}
                                           for a in addresses]})


def test_an_answer_exempts_its_clients_connects_from_its_time_on() -> None:
    resolved = _resolved()
    resolved.learn("10.0.0.5", _answer(100.0, "10.0.0.5", ["203.0.113.7", "203.0.113.8"]))
    assert resolved.exempt("10.0.0.5", "203.0.113.7", 100.0)
    assert not resolved.exempt("10.0.0.5", "203.0.113.7", 99.9)  # a connect before the answer
    assert not resolved.exempt("10.0.0.6", "203.0.113.7", 100.0)  # another client
    resolved.learn("10.0.0.5", _answer(200.0, "10.0.0.5", ["203.0.113.7"]))
    assert resolved.exempt("10.0.0.5", "203.0.113.7", 150.0)  # the first answer exempts from then


def test_a_tagged_answer_is_its_domains() -> None:
    resolved = _resolved()
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", ["10.0.0.7"], vlan=20))
    assert resolved.exempt("10.0.0.5%vlan20", "10.0.0.7%vlan20", 1.0)
    assert not resolved.exempt("10.0.0.5", "10.0.0.7", 1.0)


def test_pairs_past_the_limit_leave_least_recent_first() -> None:
    resolved = _resolved(3)
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", [f"203.0.113.{i}" for i in range(5)]))
    assert list(resolved) == [("10.0.0.5", f"203.0.113.{i}") for i in (2, 3, 4)]


def test_an_answer_is_trusted_for_its_ttl_within_the_floor_and_the_ceiling() -> None:
    resolved = _resolved()
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", ["203.0.113.1"], ttl=3600))
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", ["203.0.113.2"], ttl=5))  # under the floor: 300 s
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", ["203.0.113.3"], ttl=2**31 - 1))  # RFC 2181 §8's most: a day
    no_ttl = _answer(0.0, "10.0.0.5", ["203.0.113.4"])
    no_ttl.fields["answers"][0]["ttl"] = None  # a dns.log whose TTLs were cut: the floor
    resolved.learn("10.0.0.5", no_ttl)
    assert [resolved.exempt("10.0.0.5", "203.0.113.1", t) for t in (3600.0, 3600.1)] == [True, False]
    assert [resolved.exempt("10.0.0.5", "203.0.113.2", t) for t in (300.0, 300.1)] == [True, False]
    assert [resolved.exempt("10.0.0.5", "203.0.113.3", t) for t in (86_400.0, 86_400.1)] == [True, False]
    assert [resolved.exempt("10.0.0.5", "203.0.113.4", t) for t in (300.0, 300.1)] == [True, False]


def test_answers_again_widen_the_trust_from_the_first_to_the_last_ones_end() -> None:
    """A Zeek batch hands the hour's dns.log answers before its conn.log flows: a connect after the first answer is
    judged once the later ones were read."""
    resolved = _resolved()
    for t in (0.0, 1000.0, 2000.0):
        resolved.learn("10.0.0.5", _answer(t, "10.0.0.5", ["203.0.113.1"]))
    assert [resolved.exempt("10.0.0.5", "203.0.113.1", t) for t in (-0.1, 10.0, 2300.0, 2300.1)] == [
        False, True, True, False]


def test_an_answer_exempts_its_first_addresses_only() -> None:
    resolved = _resolved(per_answer=16)
    addresses = [f"203.0.{i // 250}.{i % 250 + 1}" for i in range(300)]
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", addresses))
    assert list(resolved) == [("10.0.0.5", a) for a in addresses[:16]]
    assert resolved.refused == 284


def test_a_client_holding_its_bound_in_use_gets_no_new_exemption_until_some_end() -> None:
    resolved = _resolved(per_domain=2)
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", ["203.0.113.1"]))
    resolved.learn("10.0.0.5", _answer(10.0, "10.0.0.5", ["203.0.113.2"]))
    resolved.learn("10.0.0.5", _answer(100.0, "10.0.0.5", ["203.0.113.3"]))
    assert not resolved.exempt("10.0.0.5", "203.0.113.3", 100.0) and resolved.refused == 1
    resolved.learn("10.0.0.6", _answer(100.0, "10.0.0.6", ["203.0.113.3"]))  # another client has its own bound
    assert resolved.exempt("10.0.0.6", "203.0.113.3", 100.0)
    resolved.learn("10.0.0.5", _answer(305.0, "10.0.0.5", ["203.0.113.4"]))  # the first one's trust ended at 300 s
    assert resolved.exempt("10.0.0.5", "203.0.113.4", 305.0)
    assert not resolved.exempt("10.0.0.5", "203.0.113.1", 200.0)  # gone with its trust
    assert len(resolved) == 3


def test_the_bound_is_per_registered_domain_of_the_names_asked() -> None:
    """Two addresses a domain (max_domain_addresses 2): a third name of cloud.example is refused, a name of another
    domain is not; the question's domain counts, not the CNAME target's; the counts go with the addresses."""
    resolved = _resolved(3, per_domain=2)
    for i, name in enumerate(("a.cloud.example", "b.cloud.example", "c.cloud.example", "www.shop.example")):
        resolved.learn("10.0.0.5", _answer(float(i), "10.0.0.5", [f"203.0.113.{i}"], name=name))
    assert [resolved.exempt("10.0.0.5", f"203.0.113.{i}", 5.0) for i in range(4)] == [True, True, False, True]
    assert resolved.refused == 1
    assert (resolved.held("10.0.0.5", "cloud.example"), resolved.held("10.0.0.5", "shop.example")) == (2, 1)
    cname = _answer(10.0, "10.0.0.5", ["203.0.113.9"], name="img.cloud.example")
    cname.fields["qname"] = "img.other.example"  # img.other.example CNAME img.cloud.example: asked of other.example
    resolved.learn("10.0.0.5", cname)
    assert resolved.exempt("10.0.0.5", "203.0.113.9", 10.0) and resolved.held("10.0.0.5", "other.example") == 1
    assert len(resolved) == 3 and resolved.held("10.0.0.5", "cloud.example") == 1  # max_pairs: the oldest went


def _connects(src: str, addresses: list[str], t0: float, port: int = 443) -> list[Flow]:
    """Unanswered connects (three SYNs, Zeek S0) to ``addresses``, 250 ms apart from ``t0`` (RFC 8305 §5)."""
    return [tcp_flow(src, a, port, t0 + i * 0.25, sport=50001 + i, flags=(0x02, 0), pkts=(3, 0))
            for i, a in enumerate(addresses)]


POOL = [f"52.10.0.{i}" for i in range(1, 13)]


def _scans(observations: list[Observation], flows: list[Flow]) -> list[tuple[str, str, str | None]]:
    return [(a.id, str(a.key), a.src_ip) for a in feed([ScanDetector()], observations=observations, flows=flows)]


def test_a_sweep_of_addresses_resolved_long_before_is_a_scan() -> None:
    """The pool answered with a 60 s TTL at 0 s: its client's connects at 100 s are a use of it (no scan), at 1000 s,
    long past the floor of 300 s, a sweep of 443 (before this bound: none, the answer exempted them for good). With a
    TTL of an hour, 1000 s is within it; 3700 s is not."""
    assert _scans([_answer(0.0, "10.50.0.31", POOL)], _connects("10.50.0.31", POOL, 100.0)) == []
    late = _scans([_answer(0.0, "10.50.0.31", POOL)], _connects("10.50.0.31", POOL, 1000.0))
    assert late == [("detect.scan.horizontal", "443", "10.50.0.31")]
    assert _scans([_answer(0.0, "10.50.0.31", POOL, ttl=3600)], _connects("10.50.0.31", POOL, 1000.0)) == []
    assert _scans([_answer(0.0, "10.50.0.31", POOL, ttl=3600)], _connects("10.50.0.31", POOL, 3700.0)) == late


def test_an_answer_of_hundreds_of_addresses_exempts_at_most_its_first_sixteen() -> None:
    """A name answering 300 addresses (a wildcard or fast-flux zone the bot's operator runs): its first 16 connected
    to are a use of it, a sweep of all 300 is a horizontal scan (before: none)."""
    addresses = [f"10.60.{i // 250}.{i % 250 + 1}" for i in range(300)]
    answer = [_answer(0.0, "10.50.0.66", addresses)]
    assert _scans(answer, _connects("10.50.0.66", addresses[:16], 1.0)) == []
    assert _scans(answer, _connects("10.50.0.66", addresses, 1.0)) == [("detect.scan.horizontal", "443", "10.50.0.66")]
    det = ScanDetector()
    feed([det], observations=answer)
    assert len(det._resolved) == 16


def test_names_looked_up_one_by_one_exempt_at_most_the_clients_bound() -> None:
    """A bot resolving one name per target (a wildcard zone mapping each name to the address it names) before each
    connect: the first max_client_addresses (256) in use are exempt, the sweep past them a scan (before: none); with
    the bound at 300, none."""
    targets = [f"10.60.{i // 250}.{i % 250 + 1}" for i in range(300)]
    lookups = [_answer(i * 0.25, "10.50.0.66", [a]) for i, a in enumerate(targets)]
    flows = [tcp_flow("10.50.0.66", a, 445, i * 0.25 + 0.01, sport=20000 + i, flags=(0x02, 0), pkts=(3, 0))
             for i, a in enumerate(targets)]
    alerts = feed([ScanDetector()], observations=lookups, flows=flows)
    assert [(a.id, a.key) for a in alerts] == [("detect.scan.horizontal", "445")]
    assert alerts[0].first_seen >= 256 * 0.25  # from the first connect past the bound
    assert feed([ScanDetector({"max_domain_addresses": 300})], observations=lookups, flows=flows) == []


def test_names_of_one_wildcard_zone_exempt_at_most_its_bound() -> None:
    """One name per target under one zone (<target>.nip.io answers <target>; a bot's own wildcard zone the same):
    the zone's bound, as for one name asked again."""
    targets = [f"10.60.{i // 250}.{i % 250 + 1}" for i in range(300)]
    lookups = [_answer(i * 0.25, "10.50.0.66", [a], name=f"{a}.nip.io") for i, a in enumerate(targets)]
    flows = [tcp_flow("10.50.0.66", a, 445, i * 0.25 + 0.01, sport=20000 + i, flags=(0x02, 0), pkts=(3, 0))
             for i, a in enumerate(targets)]
    alerts = feed([ScanDetector()], observations=lookups, flows=flows)
    assert [(a.id, a.key) for a in alerts] == [("detect.scan.horizontal", "445")]
    assert alerts[0].first_seen >= 256 * 0.25


def _browsing(client: str) -> tuple[list[Observation], list[Flow]]:
    """A dual-stack browser whose IPv6 route is broken loads three pages of 80 host names, 2.5 s a page, 30 s apart:
    a page's 16 names of its own site and 64 of 24 third-party domains (CDNs, fonts, analytics, ads), shared between
    the pages. Each name's A and AAAA answers (TTL 300) give two addresses each; the browser's IPv6 connect to the
    first AAAA address goes unanswered (three SYNs) and 250 ms later it connects over IPv4 (RFC 8305 §5)."""
    observations: list[Observation] = []
    flows: list[Flow] = []
    n = 0
    for page in range(3):
        names = [f"s{j}.news{page}.example" for j in range(16)]
        names += [f"h{page}-{j}.tp{j % 24}.example" for j in range(64)]
        for j, name in enumerate(names):
            t = page * 30.0 + j * 0.03
            v4 = [f"198.18.{n // 100}.{n % 100 * 2 + k + 1}" for k in range(2)]
            v6 = [f"2001:db8:{n:x}::{k + 1}" for k in range(2)]
            observations += [_answer(t, client, v4, ttl=300, name=name),
                             _answer(t, client, v6, ttl=300, name=name, rtype="AAAA")]
            flows.append(tcp_flow(client, v6[0], 443, t + 0.01, sport=30000 + 2 * n, flags=(0x02, 0), pkts=(3, 0)))
            flows.append(tcp_flow(client, v4[0], 443, t + 0.26, sport=30001 + 2 * n, flags=(0x1B, 0x1B),
                                  pkts=(12, 14), payload=(1800, 9000)))
            n += 1
    return observations, flows


def test_a_dual_stack_browser_with_broken_ipv6_is_no_scan() -> None:
    """960 addresses answered in 62 s, 240 unanswered IPv6 connects to 443: each a use of a name looked up (with one
    bound per client of 256 addresses, 2510aea: a horizontal scan of 443). Its busiest domain holds 32."""
    observations, flows = _browsing("10.50.0.80")
    assert _scans(observations, flows) == []
    det = ScanDetector()
    feed([det], observations=observations)
    assert len(det._resolved) == 960 and det._resolved.refused == 0


def _resolving_sweep(n: int, gap: float, zones: int) -> tuple[list[Observation], list[Flow]]:
    """A bot looking up one name per target under ``zones`` zones in turn (its own wildcard zones, or public ones like
    nip.io and sslip.io: each under max_domain_addresses), connecting to each target 10 ms after its answer, ``gap``
    seconds apart: unanswered SYNs to 445."""
    targets = [f"10.60.{i // 250}.{i % 250 + 1}" for i in range(n)]
    lookups = [_answer(i * gap, "10.50.0.66", [a], name=f"{a}.zone{i % zones}.example") for i, a in enumerate(targets)]
    flows = [tcp_flow("10.50.0.66", a, 445, i * gap + 0.01, sport=20000 + i, flags=(0x02, 0), pkts=(3, 0))
             for i, a in enumerate(targets)]
    return lookups, flows


def test_a_sweep_hiding_behind_names_of_many_zones_is_a_scan_past_the_clients_bound() -> None:
    """400 targets, each looked up under one of 40 zones (10 a zone), 0.1 s apart: the first max_client_exemptions
    (256) within window_s are exempt, the sweep past them a horizontal scan (at fcf6c50 nothing: 40 zones hid 10,240
    targets); with the bound at 400, nothing. A sweep slower than the bound a window (0.25 s apart, 241 in the first
    60 s) still hides, as the module doc says."""
    lookups, flows = _resolving_sweep(400, 0.1, 40)
    alerts = feed([ScanDetector()], observations=lookups, flows=flows)
    assert [(a.id, a.key, a.src_ip) for a in alerts] == [("detect.scan.horizontal", "445", "10.50.0.66")]
    assert alerts[0].first_seen >= 256 * 0.1  # from the first connect past the bound
    assert feed([ScanDetector({"max_client_exemptions": 400})], observations=lookups, flows=flows) == []
    assert feed([ScanDetector()], observations=lookups[:300], flows=flows[:300]) != []
    slow = _resolving_sweep(300, 0.25, 40)
    assert feed([ScanDetector()], observations=slow[0], flows=slow[1]) == []


def test_a_clients_exemptions_are_bounded_a_window_and_a_new_window_starts_afresh() -> None:
    """At most max_client_exemptions distinct answered addresses exempt a client's probes within window_s of the
    first; one exempted already is again; past window_s a new window begins."""
    resolved = Resolved(ScanOptions(max_client_exemptions=3, window_s=60.0))
    resolved.learn("10.0.0.5", _answer(0.0, "10.0.0.5", [f"203.0.113.{i}" for i in range(5)], ttl=600))
    assert [resolved.exempt("10.0.0.5", f"203.0.113.{i}", 1.0 + i) for i in range(5)] == [True] * 3 + [False] * 2
    assert resolved.exempt("10.0.0.5", "203.0.113.0", 30.0) and resolved.spent == 2
    assert resolved.exempt("10.0.0.5", "203.0.113.4", 61.5)  # over window_s after the first, at 1 s
    assert not resolved.exempt("10.0.0.6", "203.0.113.4", 61.5)  # another client's answer it was not


def test_the_dual_stack_browsers_failed_connects_are_within_the_clients_bound() -> None:
    """Its 240 unanswered IPv6 connects, 161 in its busiest window_s (two pages and the next's first): all exempt."""
    observations, flows = _browsing("10.50.0.80")
    det = ScanDetector()
    assert feed([det], observations=observations, flows=flows) == []
    assert det._resolved.spent == 0
    used = det._resolved._clients["10.50.0.80"].used
    # the third page's but its first, which at 60.01 s fell in the window begun at 0.01 s (161 then)
    assert used is not None and len(used) == 79
