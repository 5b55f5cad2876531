"""detect/dns: what the detector keeps is bounded (module doc): one host's names, labels, TXT times and pre-checks by
``host_bound()``, every host's together by ``max_entries``, however many hostile names a flood of spoofed addresses
asks; the least recently asking host's are dropped first."""

from __future__ import annotations

import random
import string

from iotwarden.detect.dns import DnsAnomalyDetector
from iotwarden.model import Observation
from tests.detect.dns_lookalikes import RESOLVER, START, Query
from tests.detect.runner import feed

# small bounds, so that a host's every table is filled: 3 + 8 x (4 + 5 - 1 + 6 + 1) = 123 entries a host
SMALL: dict[str, object] = {"max_names": 8, "min_dga_names": 3, "min_tunnel_names": 4, "min_txt": 5,
                             "max_attrleaf_names": 6, "max_entries": 1000}


def _held(det: DnsAnomalyDetector) -> dict[str, int]:
    """The entries each host holds, counted from its tables."""
    return {key: len(h.dga) + sum(map(len, h.tunnel.values())) + sum(map(len, h.txt.values()))
            + sum(map(len, h.leaves.values())) for key, h in det._hosts.items()}


def _random(rng: random.Random, n: int, alphabet: str = string.ascii_lowercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _filling(src: str, at: float, rng: random.Random) -> list[Observation]:
    """A hostile host filling every table of its own to the bound without raising: under each of 8 parents 7
    underscored names (the 7th past max_attrleaf_names, its TXT query counted), 3 more TXT queries, 3 long labels;
    2 DGA names; then, 700 s later (the earlier ones stale), a fourth long label under each parent and a third DGA
    name."""
    def query(ts: float, name: str, qtype: str = "A") -> Observation:
        return Query(ts, src, RESOLVER, name, qtype).observation()

    dga = [f"{_random(rng, 14, 'bcdfghjklmnpqrstvwxz')}.com" for _ in range(3)]
    out = [query(at, dga[0]), query(at, dga[1])]
    later = [query(at + 700.0, dga[2])]
    for p in range(8):
        parent = f"p{p}.{_random(rng, 6)}.net"
        out += [query(at, f"_acme-challenge.n{i}.{parent}", "TXT") for i in range(7)]
        out += [query(at, f"t{i}.{parent}", "TXT") for i in range(3)]
        out += [query(at, f"{_random(rng, 40, 'abcdefghijklmnopqrstuvwxyz234567')}.{parent}") for _ in range(3)]
        later.append(query(at + 700.0, f"{_random(rng, 40, 'abcdefghijklmnopqrstuvwxyz234567')}.{parent}"))
    return out + later


def test_one_hostile_host_fills_its_tables_to_host_bound_and_no_further() -> None:
    """A host filling each of its tables holds exactly host_bound() entries (123 here; 35,845 at the defaults, where
    112db3a let one host keep 256 x 101 x 61 pre-check times alone), raising nothing; asked again, no more."""
    det = DnsAnomalyDetector({**SMALL, "max_entries": 10_000})
    assert DnsAnomalyDetector().host_bound() == 35_845 and det.host_bound() == 123
    rng = random.Random(1)
    assert feed([det], observations=_filling("10.9.0.1", START, rng)) == []
    assert _held(det) == {"10.9.0.1": 123} and det._hosts["10.9.0.1"].size == det._entries == 123
    feed([det], observations=_filling("10.9.0.1", START + 1400.0, rng))
    assert _held(det)["10.9.0.1"] <= 123 and det._entries == sum(_held(det).values())


def test_a_flood_of_hostile_names_from_many_hosts_stays_within_max_entries() -> None:
    """200 spoofed addresses each filling its tables (24,600 entries unbounded): after each, the detector holds at
    most max_entries (1,000), counted right, each host at most host_bound(); the latest hosts are kept, the least
    recently asking dropped first."""
    det = DnsAnomalyDetector(SMALL)
    rng = random.Random(2)
    hosts = [f"10.9.{i // 250}.{i % 250 + 1}" for i in range(200)]
    for i, src in enumerate(hosts):
        feed([det], observations=_filling(src, START + 1.0 * i, rng))
        held = _held(det)
        assert det._entries == sum(held.values()) <= 1000
        assert max(held.values()) <= det.host_bound()
    assert list(det._hosts) == hosts[-8:]  # 8 x 123 = 984: a ninth would pass 1,000


def test_a_host_alone_past_max_entries_keeps_its_own() -> None:
    """With max_entries below one host's bound, the host asking keeps what it holds (never dropped for itself), and
    the next host's first query drops it."""
    det = DnsAnomalyDetector({**SMALL, "max_entries": 50})
    feed([det], observations=_filling("10.9.0.1", START, random.Random(3)))
    assert _held(det) == {"10.9.0.1": 123} and det._entries == 123
    feed([det], observations=[Query(START + 800.0, "10.9.0.2", RESOLVER, "t.example.net", "TXT").observation()])
    assert _held(det) == {"10.9.0.2": 1} and det._entries == 1
