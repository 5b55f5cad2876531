"""DNS anomalies: DGA-like names (documented score threshold) and tunnelling (long labels, TXT volume)."""

from __future__ import annotations

import random
import string

import pytest

from iotwarden.detect import dns
from iotwarden.detect.dns import DGA_SCORE_MEMO, DnsAnomalyDetector, dga_score, entropy, split_name
from iotwarden.errors import ConfigError
from iotwarden.model import Observation
from tests.detect.runner import feed


def _query(name: str, ts: float, qtype: str = "A") -> Observation:
    return Observation(ts=ts, proto="dns", kind="query", src_ip="10.0.0.7", dst_ip="10.0.0.1",
                       fields={"qname": name, "qtype": qtype})


@pytest.mark.parametrize("label", ["google", "microsoft", "windowsupdate", "connectivitycheck", "amazonaws",
                                   "hikvision", "synology", "office365", "dispatcher", "easy4ipcloud"])
def test_real_names_score_below_the_threshold(label: str) -> None:
    assert dga_score(label) < 0.5


@pytest.mark.parametrize("label", ["xjwqkzvbtrpl", "qz7xk2v9wplm", "kdjfhqwpzxcv", "vbnqwxzkjhgf", "a8f3k2x9q7zw"])
def test_generated_names_score_above_the_threshold(label: str) -> None:
    assert dga_score(label) >= 0.5


def test_dga_scores_are_remembered_within_their_limit() -> None:
    labels = ["".join(random.Random(i).choices(string.ascii_lowercase + string.digits, k=12)) for i in range(50)]
    assert [dga_score(label) for label in labels * 2] == [dns._dga_score(label) for label in labels * 2]
    assert dns._remembered_score.cache_info().maxsize == DGA_SCORE_MEMO
    long_label = "x7q" * 40  # over a DNS label's 63 octets (a Zeek log's query): scored, not kept
    kept = dns._remembered_score.cache_info().currsize
    assert dga_score(long_label) == dns._dga_score(long_label)
    assert dns._remembered_score.cache_info().currsize == kept


def test_name_split_knows_two_label_suffixes() -> None:
    assert split_name("a.b.example.co.uk") == ("a.b", "example.co.uk")
    assert split_name("www.example.com.") == ("www", "example.com")
    assert entropy("aaaa") == 0.0 and entropy("abcd") == 2.0


def test_a_host_walking_a_dga_list_raises_one_alert() -> None:
    rng = random.Random(1)
    names = ["".join(rng.choice(string.ascii_lowercase) for _ in range(14)) + ".com" for _ in range(20)]
    alerts = feed([DnsAnomalyDetector()], observations=[_query(n, 10.0 + i) for i, n in enumerate(names)])
    assert [(a.id, a.mitre) for a in alerts] == [("detect.dns.dga", ["T1568.002"])]


def test_repeated_lookups_of_one_odd_cdn_name_are_not_a_dga() -> None:
    obs = [_query("a3k7odshaiipe8-ats.iot.us-east-1.amazonaws.com", 10.0 + i) for i in range(50)]
    assert feed([DnsAnomalyDetector()], observations=obs) == []


def test_data_encoded_in_subdomains_is_a_tunnel() -> None:
    rng = random.Random(2)
    alphabet = string.ascii_lowercase + string.digits
    names = ["".join(rng.choice(alphabet) for _ in range(48)) + ".t.evil.example" for _ in range(12)]
    alerts = feed([DnsAnomalyDetector()], observations=[_query(n, 10.0 + i) for i, n in enumerate(names)])
    assert [(a.id, a.key) for a in alerts] == [("detect.dns.tunnel", "evil.example")]


def test_txt_volume_to_one_domain_is_a_tunnel() -> None:
    obs = [_query(f"r{i}.c2.example.net", 10.0 + i, "TXT") for i in range(30)]
    assert [a.id for a in feed([DnsAnomalyDetector()], observations=obs)] == ["detect.dns.tunnel"]


def test_local_names_are_ignored() -> None:
    obs = [_query(f"xjwqkzvbtrpl{i}.local", 10.0 + i) for i in range(30)]
    assert feed([DnsAnomalyDetector()], observations=obs) == []


def _on_two_vlans(obs: list[Observation]) -> list[Observation]:
    """A trunk mirror: the queries alternate between VLAN 10's and VLAN 20's 10.0.0.7, two hosts."""
    for i, o in enumerate(obs):
        o.vlan = 10 + 10 * (i % 2)
    return obs


def test_two_vlans_hosts_sharing_an_address_are_not_summed_into_a_dga() -> None:
    rng = random.Random(1)
    names = ["".join(rng.choice(string.ascii_lowercase) for _ in range(14)) + ".com" for _ in range(8)]
    obs = _on_two_vlans([_query(n, 10.0 + i) for i, n in enumerate(names)])  # 4 each, min_dga_names 5
    assert feed([DnsAnomalyDetector()], observations=obs) == []
    for o in obs:
        o.vlan = 20
    (alert,) = feed([DnsAnomalyDetector()], observations=obs)  # one VLAN's host: 8 names
    assert (alert.id, alert.src_ip, alert.evidence["domain"]) == ("detect.dns.dga", "10.0.0.7", "vlan20")


def test_two_vpcs_hosts_sharing_an_address_are_not_summed_into_a_tunnel() -> None:
    rng = random.Random(2)
    alphabet = string.ascii_lowercase + string.digits
    names = ["".join(rng.choice(alphabet) for _ in range(48)) + ".t.evil.example" for _ in range(16)]
    obs = [_query(n, 10.0 + i) for i, n in enumerate(names)]
    txt = [_query(f"r{i}.c2.example.net", 10.0 + i, "TXT") for i in range(40)]
    for i, o in enumerate(obs + txt):
        o.vni = (4001 + i % 2,)  # 8 labels and 20 TXT queries each: min_tunnel_names 10, min_txt 30
    assert feed([DnsAnomalyDetector()], observations=obs + txt) == []
    assert [a.id for a in feed([DnsAnomalyDetector()], observations=_on_two_vlans(obs))] == []
    for o in obs + txt:
        o.vni, o.vlan = None, None
    alerts = feed([DnsAnomalyDetector()], observations=obs + txt)  # untagged: one host, as before
    assert sorted(a.key for a in alerts) == ["evil.example", "example.net"]
    assert all("domain" not in a.evidence for a in alerts)


def test_hosts_tracked_on_many_vlans_stay_within_max_hosts() -> None:
    det = DnsAnomalyDetector({"max_hosts": 10})
    obs = [_query("www.example.com", 10.0 + i) for i in range(300)]
    for i, o in enumerate(obs):
        o.vlan = 1 + i
    feed([det], observations=obs)
    assert len(det._hosts) == 10 and "10.0.0.7%vlan300" in det._hosts


def test_a_hosts_parent_domains_are_remembered_within_max_names() -> None:
    """A mail server's SPF and DKIM TXT lookups, an antivirus' hash lookups: one host asks TXT records and long,
    high-entropy labels under a new parent domain each time. The per-parent tables keep at most ``max_names``
    parents, the least recently asked dropped first (before, every parent ever asked stayed for the host's life, an
    empty table each for the tunnel check), and a tunnel under one parent among them is still found."""
    rng = random.Random(3)
    alphabet = string.ascii_lowercase + string.digits
    det = DnsAnomalyDetector({"max_names": 32})  # at least min_txt: a parent keeps max_names query times
    obs = []
    for i in range(2000):
        label = "".join(rng.choice(alphabet) for _ in range(40))
        obs += [_query(f"_spf.sender{i}.example", 10.0 + i, "TXT"), _query(f"{label}.av{i}.example", 10.0 + i)]
    obs += [_query(f"r{i}.c2.example.net", 2100.0 + i, "TXT") for i in range(30)]
    alerts = feed([det], observations=obs)
    host = det._hosts["10.0.0.7"]
    assert len(host.txt) <= 32 and len(host.tunnel) <= 32
    assert [(a.id, a.key) for a in alerts if a.id == "detect.dns.tunnel"] == [("detect.dns.tunnel", "example.net")]


@pytest.mark.parametrize(("options", "count", "least"), [
    ({"max_names": 20}, "min_txt", 30),
    ({"max_names": 8, "min_txt": 8}, "min_tunnel_names", 10),
    ({"max_names": 4, "min_txt": 4, "min_tunnel_names": 4}, "min_dga_names", 5),
])
def test_max_names_below_a_count_that_raises_is_refused(options: dict[str, object], count: str, least: int) -> None:
    """A host's names and a parent's labels and TXT query times are kept up to ``max_names``: a count above it could
    never be reached and its rule would never fire, so such options are one clear error when the detector is made."""
    with pytest.raises(ConfigError, match=rf"^detect\.dns\.max_names: expected at least {count} \({least}\), "
                                          rf"got {options['max_names']}$"):
        DnsAnomalyDetector(options)
    DnsAnomalyDetector({**options, "max_names": least})  # at the count: accepted


def test_a_tunnel_under_a_delegated_reverse_zone_is_read_and_reverse_lookups_are_not() -> None:
    """A reverse zone is delegated to its address holder (RFC 3596 §2.5, RFC 1035 §3.5): a tunnel broker hands out
    an IPv6 /48 whose ip6.arpa zone the user may delegate to a name server of their own, so a tunnel there needs no
    registered domain. '.arpa' was skipped as local: such a tunnel raised nothing. Only home.arpa (RFC 8375) is
    local; reverse lookups (single-character or short numeric labels) never score as a tunnel or DGA."""
    rng = random.Random(3)
    alphabet = string.ascii_lowercase + string.digits
    zone = ".".join("0123456789abcdef"[rng.randrange(16)] for _ in range(12)) + ".ip6.arpa"
    names = ["".join(rng.choice(alphabet) for _ in range(48)) + "." + zone for _ in range(12)]
    alerts = feed([DnsAnomalyDetector()], observations=[_query(n, 10.0 + i) for i, n in enumerate(names)])
    assert [(a.id, a.key) for a in alerts] == [("detect.dns.tunnel", "ip6.arpa")]
    ptr = [".".join(f"{rng.randrange(16):x}" for _ in range(32)) + ".ip6.arpa" for _ in range(200)]
    ptr += [f"{rng.randrange(256)}.{rng.randrange(256)}.168.192.in-addr.arpa" for _ in range(200)]
    local = ["".join(rng.choice(alphabet) for _ in range(40)) + ".home.arpa" for _ in range(30)]
    obs = [_query(n, 10.0 + i, "PTR") for i, n in enumerate(ptr)] + [_query(n, 500.0 + i) for i, n in enumerate(local)]
    assert feed([DnsAnomalyDetector()], observations=obs) == []
