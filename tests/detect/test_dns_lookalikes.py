"""Benign DNS that looks like tunnelling or a DGA (tests/detect/dns_lookalikes.py, each kind from its product's
public documentation) raises nothing through every detector, and the malicious shapes next to each stay caught.

Before detect/dns knew them (seeds 1 and 2, every detector): ``sophos_sxl`` ``detect.dns.tunnel`` under
sophosxl.net, ``eset_livegrid`` tunnel under e5.sk, ``mail_dnsbl`` tunnel under spamhaus.net (the HBL's hash
labels), ``acme_dns01`` tunnel (30 TXT queries under example.com), ``chromium_probes`` ``detect.dns.dga``,
``umbrella`` DGA on the appliance forwarding its clients' queries and on two of its clients (seed 2: one);
``mcafee_gti``, ``trend_ers``, ``kaspersky_update``, ``mail_dkim_spf``, ``cdn_hosts``, ``ad_service_discovery`` and
``ntp_pool`` nothing. After: nothing on any.
"""

from __future__ import annotations

import random
import string

import pytest

from iotwarden.detect import default_detectors
from iotwarden.detect.dns import DnsAnomalyDetector
from iotwarden.model import Observation
from tests.detect.dns_lookalikes import KINDS, RESOLVER, START, Query, queries
from tests.detect.runner import feed

BOT, CLIENT = "10.0.7.7", "10.0.7.8"


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_benign_look_alike_raises_nothing(kind: str, seed: int) -> None:
    alerts = feed(default_detectors(), observations=[q.observation() for q in queries(kind, seed)])
    assert [(a.id, a.src_ip, a.title) for a in alerts] == []


def _walk(src: str, names: list[str], *, at: float = START, dst: str = RESOLVER, qtype: str = "A",
          gap: float = 1.0) -> list[Observation]:
    return [Query(at + i * gap, src, dst, n, qtype).observation() for i, n in enumerate(names)]


def _dns(observations: list[Observation]) -> list[tuple[str, str | None, str | None]]:
    return [(a.id, a.src_ip, a.dst_ip) for a in feed([DnsAnomalyDetector()], observations=observations)]


def _random(rng: random.Random, n: int, k: int = 14, alphabet: str = string.ascii_lowercase) -> list[str]:
    return ["".join(rng.choice(alphabet) for _ in range(k)) for _ in range(n)]


def test_one_label_names_are_no_dga_and_the_same_names_under_a_tld_are() -> None:
    """A dotless name cannot be registered, so no bot reaches a C&C by one (ICANN RA Specification 6 §2.2)."""
    labels = _random(random.Random(3), 9)
    assert _dns(_walk(BOT, labels)) == []
    assert _dns(_walk(BOT, [f"{x}.com" for x in labels])) == [("detect.dns.dga", BOT, RESOLVER)]
    assert _dns(_walk(BOT, [f"{x}.com." for x in labels])) == [("detect.dns.dga", BOT, RESOLVER)]


def test_reputation_zones_are_no_tunnel_and_look_alike_zones_are() -> None:
    hashes = _random(random.Random(4), 12, 40, "0123456789abcdef")
    for zone in ("sophosxl.net", "i.01.mac.sophosxl.net", "a.e.e5.sk", "avqs.mcafee.com",
                 "_email.key.hbl.dq.spamhaus.net"):
        assert _dns(_walk(CLIENT, [f"{h}.{zone}" for h in hashes])) == [], zone
    for zone in ("evilsophosxl.net", "sophosxl.net.evil.example", "e5.sk.example.com", "dq.spamhaus.net.example"):
        assert _dns(_walk(BOT, [f"{h}.{zone}" for h in hashes])) == [("detect.dns.tunnel", BOT, RESOLVER)], zone


def test_txt_queries_of_protocol_underscored_names_are_not_counted_but_a_tunnels_data_is() -> None:
    acme = [f"_acme-challenge.host{i}.example.com" for i in range(40)]
    dkim = [f"s{i}._domainkey.example.com" for i in range(40)]
    assert _dns(_walk(CLIENT, acme, qtype="TXT")) == []
    assert _dns(_walk(CLIENT, dkim, qtype="TXT")) == []
    assert _dns(_walk(BOT, [f"r{i}.c2.example.net" for i in range(30)], qtype="TXT")) == [
        ("detect.dns.tunnel", BOT, RESOLVER)]
    data = [f"_acme-challenge.{h}.c2.example.net" for h in _random(random.Random(5), 12, 48,
                                                                     string.ascii_lowercase + string.digits)]
    assert _dns(_walk(BOT, data, qtype="TXT")) == [("detect.dns.tunnel", BOT, RESOLVER)]  # its long labels
