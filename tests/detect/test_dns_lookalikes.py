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
from pathlib import Path

import pytest

from iotwarden.detect import default_detectors
from iotwarden.detect.dns import DnsAnomalyDetector
from iotwarden.engine.core import Engine
from iotwarden.lab import proto_net
from iotwarden.lab.generator import PcapWriter
from iotwarden.lab.wire import Host, udp_frame
from iotwarden.model import Observation
from iotwarden.sources.capfile import read_capture
from tests.detect.dns_lookalikes import KINDS, RESOLVER, START, UPSTREAM, Query, queries
from tests.detect.runner import detect, feed

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


@pytest.mark.parametrize("zone", ["sophosxl.net", "a.e.e5.sk", "avqs.mcafee.com", "_email.key.hbl.dq.spamhaus.net"])
def test_a_reputation_zone_asked_straight_of_an_outside_server_is_read(zone: str) -> None:
    """A reputation zone's name reaches only its operator through a resolver; sent straight to an outside server's
    address (a tunnel client given its server's address) it reaches whoever holds that address: a tunnel naming
    the zone raised nothing at 6ba45dd. Asked of the site's resolver or a public one it is still no tunnel."""
    hashes = _random(random.Random(4), 12, 40, "0123456789abcdef")
    direct = "203.0.113.5"
    assert _dns(_walk(BOT, [f"{h}.{zone}" for h in hashes], dst=direct)) == [("detect.dns.tunnel", BOT, direct)]
    for resolver in (RESOLVER, "8.8.8.8", "2606:4700:4700::1111"):
        assert _dns(_walk(CLIENT, [f"{h}.{zone}" for h in hashes], dst=resolver)) == [], resolver


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


def test_a_fast_txt_c2_under_a_protocols_underscored_name_is_counted() -> None:
    """A C&C asking TXT of a new short nonce under ``_acme-challenge`` (or as a DKIM selector) every second passes
    max_attrleaf_names (100) distinct names under its parent, and its queries past that count (at HEAD 1778377 none
    did: no alert); an underscored name out of its protocol's place is counted from the first."""
    nonces = _random(random.Random(6), 130, 8, string.ascii_lowercase + string.digits)
    for shape in ("_acme-challenge.{}.c2.example.net", "{}._domainkey.c2.example.net",
                  "_acme-challenge.{}.a.c2.example.net"):
        assert _dns(_walk(BOT, [shape.format(n) for n in nonces], qtype="TXT")) == [
            ("detect.dns.tunnel", BOT, RESOLVER)], shape
    for shape in ("{}._acme-challenge.c2.example.net", "{}._dmarc.c2.example.net", "_x._domainkey.{}.example.net"):
        assert _dns(_walk(BOT, [shape.format(n) for n in nonces[:30]], qtype="TXT")) == [
            ("detect.dns.tunnel", BOT, RESOLVER)], shape


def test_protocol_underscored_names_up_to_the_bound_stay_uncounted() -> None:
    """A certificate of 100 names (Let's Encrypt's most) checked twice, and a relay's DMARC, MTA-STS, TLS-RPT and
    DKIM lookups of one domain, raise nothing; 100 names and 30 more within window_s do, fewer do not."""
    acme = [f"_acme-challenge.host{i}.example.com" for i in range(100)]
    assert _dns(_walk(CLIENT, acme + acme, qtype="TXT", gap=0.5)) == []
    relay = [f"{leaf}.example.org" for leaf in ("_dmarc", "_mta-sts", "_smtp._tls", "s1._domainkey")] * 10
    assert _dns(_walk(CLIENT, relay, qtype="TXT")) == []
    more = [f"_acme-challenge.host{i}.example.com" for i in range(130)]
    assert _dns(_walk(CLIENT, more[:-1], qtype="TXT", gap=0.5)) == []  # 29 past the bound counted: under min_txt
    assert _dns(_walk(CLIENT, more, qtype="TXT", gap=0.5)) == [("detect.dns.tunnel", CLIENT, RESOLVER)]
    assert _dns(_walk(CLIENT, more, qtype="TXT", gap=7.0)) == []  # at most 86 within window_s (600 s)


def test_a_forwarding_resolver_is_not_the_dga_host_its_client_is() -> None:
    """The DGA pair labelling: a bot's walk through the site resolver names the bot and its resolver, never the
    resolver (and its upstream) that forwarded each question a few ms later."""
    names = [f"{x}.com" for x in _random(random.Random(6), 8)]
    forwarded = sorted([*_walk(BOT, names), *_walk(RESOLVER, names, at=START + 0.004, dst=UPSTREAM)],
                       key=lambda o: o.ts)
    assert _dns(forwarded) == [("detect.dns.dga", BOT, RESOLVER)]
    tunnel = [f"{h}.t.evil.example" for h in _random(random.Random(7), 12, 48, string.ascii_lowercase + "0123456789")]
    forwarded = sorted([*_walk(BOT, tunnel), *_walk(RESOLVER, tunnel, at=START + 0.004, dst=UPSTREAM)],
                       key=lambda o: o.ts)
    assert _dns(forwarded) == [("detect.dns.tunnel", BOT, RESOLVER)]


def test_a_resolvers_own_walk_and_a_late_query_are_still_its_own() -> None:
    names = [f"{x}.com" for x in _random(random.Random(8), 8)]
    assert _dns(_walk(RESOLVER, names, dst=UPSTREAM)) == [("detect.dns.dga", RESOLVER, UPSTREAM)]
    assert _dns(_walk(BOT, names, dst=BOT)) == [("detect.dns.dga", BOT, BOT)]  # asking itself forwards nothing
    late = sorted([*_walk(BOT, names, gap=20.0), *_walk(RESOLVER, names, at=START + 6.0, dst=UPSTREAM, gap=20.0)],
                  key=lambda o: o.ts)  # over forward_s (5 s) after its client: its own question
    assert sorted(_dns(late)) == [("detect.dns.dga", RESOLVER, UPSTREAM), ("detect.dns.dga", BOT, RESOLVER)]


def test_the_questions_remembered_are_bounded_by_max_asked() -> None:
    """Past max_asked (asked address, domain) questions the least recently asked is forgotten: a forward of it is
    then the forwarder's own query."""
    det = DnsAnomalyDetector({"max_asked": 3})
    names = [f"{x}.com" for x in _random(random.Random(9), 8)]
    client = _walk(BOT, names[:1]) + [Query(START + 0.1 + i * 0.01, CLIENT, f"10.9.9.{i}", "a.example.org")
                                      .observation() for i in range(3)]
    feed([det], observations=client)
    assert len(det._asked) == 3 and (RESOLVER, names[0]) not in det._asked
    assert set(det._asked) == {(f"10.9.9.{i}", "example.org") for i in range(3)}


PCAP_KINDS = ("sophos_sxl", "eset_livegrid", "umbrella", "chromium_probes")  # long labels, TXT, a forwarder, dotless
ROUTER_MAC = "02:00:00:00:00:01"


def _host(ip: str) -> Host:
    """A site host with a MAC of its own, an outside one behind the router's."""
    internal = ip.startswith("10.")
    return Host("02:00:" + ":".join(f"{int(x):02x}" for x in ip.split(".")) if internal else ROUTER_MAC, ip)


def _write_pcap(path: Path, kind: str, seed: int) -> Path:
    """``kind``'s queries as a stub resolver sends them (RFC 1035 §4.1: RD as the query says, a port and id of its
    own each) and each server's answer 5 ms later (NXDOMAIN for a dotless name, no record otherwise)."""
    rng = random.Random(seed)
    frames = []
    for q in queries(kind, seed):
        src, dst, port, ident = _host(q.src), _host(q.dst), rng.randint(49152, 65535), rng.getrandbits(16)
        question = [(q.qname, {"A": proto_net.TYPE_A, "TXT": proto_net.TYPE_TXT}[q.qtype], proto_net.CLASS_IN)]
        rcode = 3 if "." not in q.qname else 0
        frames += [(q.ts, udp_frame(src, dst.mac, dst.ip, proto_net.dns_message(ident, 0x0100 if q.rd else 0,
                                                                                  question), sport=port, dport=53)),
                   (q.ts + 0.005, udp_frame(dst, src.mac, src.ip, proto_net.dns_message(
                       ident, 0x8180 | rcode, question), sport=53, dport=port))]
    with path.open("wb") as fh:
        writer = PcapWriter(fh)
        for ts, frame in sorted(frames, key=lambda x: x[0]):
            writer.write(ts, frame)
        writer.flush()
    return path


@pytest.mark.parametrize("kind", PCAP_KINDS)
def test_a_look_alike_read_from_packets_by_the_dns_dissector_raises_nothing(kind: str, tmp_path: Path) -> None:
    """The same look-alikes as packets, read by the capture reader and the DNS dissector (as test_recall_dns renders
    dns_c2's kinds): every query read back with its name, type and RD bit, and no detector raises anything."""
    pcap = _write_pcap(tmp_path / f"{kind}.pcap", kind, 1)
    engine = Engine()
    read = [(o.src_ip, o.dst_ip, o.fields["qname"], o.fields["qtype"], o.fields["rd"])
            for batch in read_capture(pcap) for o in engine.process(batch).observations
            if o.proto == "dns" and o.kind == "query"]
    assert read == [(q.src, q.dst, q.qname, q.qtype, q.rd) for q in queries(kind, 1)]
    assert [(a.id, a.src_ip, a.title) for a in detect([pcap]).alerts] == []
