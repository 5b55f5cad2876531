"""Benign DNS that looks like tunnelling or a DGA, as an enterprise network carries it: each kind's query names
follow its product's public description of them, never what a detector looks for. Each look-alike is the
queries one host sends its resolver (a query Observation as the DNS dissector and the Zeek dns.log reader give it:
qname, qtype, rd), and where a resolver takes part, the queries the resolver forwards upstream.

Reputation lookups that carry a hash or an address in the name:

- ``sophos_sxl``: Sophos Live Protection's SXL lookups, "a specially crafted DNS query that includes generic
  information about the file and the detection features, to the sophosxl.net name servers" (Sophos KB 111334),
  names as the SANS ISC diary "Odd DNS Requests that are Normal" (2019-04-16) shows them: hex-like labels of up
  to 63 characters under ``i.01.mac.sophosxl.net`` and digit strings under ``sfi_unknown.f.01.mac.sophosxl.net``;
- ``mcafee_gti``: McAfee (Trellix) GTI file reputation, "sends a DNS request" per suspicious file (KB53735) to
  avqs.mcafee.com, avts.mcafee.com from VSCore 14.4 (KB53782; its test name ``4z9p5tjmcbnblehp4557z1d136``);
- ``eset_livegrid``: ESET's modules' TXT lookups of 36-character base32 labels under ``a.e.e5.sk`` (the wtfbins
  catalogue's ESET Protection Suite entry, its examples; ESET KB332 lists e5.sk);
- ``trend_ers``: Trend Micro Email Reputation Services, a mail server's DNS query per connecting address,
  ``<reversed IPv4>.<activation code>.r.mail-abuse.com`` (the ERS MTA configuration pages);
- ``kaspersky_update``: Kaspersky Endpoint Security resolving its update servers s00-s19.upd.kaspersky.com,
  downloads.upd.kaspersky.com, cm.k.kaspersky-labs.com, and on failure the same names from public resolvers
  8.8.8.8, 1.1.1.1 (KES "Network settings for interaction with external services");
- ``mail_dnsbl``: a mail server checking each connecting address in zen.spamhaus.org (RFC 5782 §2.1: the
  address's octets reversed, then the zone), each message's URLs' domains in multi.uribl.com and dbl.spamhaus.org
  (RFC 5782 §2.3), and its senders' addresses as base32 SHA-256 hashes in Spamhaus' HBL,
  ``<hash>._email.<key>.hbl.dq.spamhaus.net`` (spamhaus/rspamd-dqs, whose check queries such a 52-character label);
- ``mail_dkim_spf``: the same mail server's SPF (RFC 7208 §4.4) and DKIM (RFC 6376 §3.6.2.1,
  ``<selector>._domainkey.<domain>``) TXT queries, one of each per message, many domains;

Names that look random by design:

- ``umbrella``: a Cisco Umbrella virtual appliance forwarding its clients' queries to 208.67.222.222 (Umbrella
  "Virtual Appliance" guide: the clients' resolver, forwarding to Umbrella's resolvers), and ``debug.opendns.com``
  TXT (Umbrella's documented test of the path);
- ``cdn_hosts``: CDN and cloud names whose first labels are ids: ``d<13>.cloudfront.net`` (CloudFront's
  distribution domains), ``e<n>.dscb.akamaiedge.net`` / ``a<n>.dscd.akamai.net`` (Akamai edge hostnames),
  ``<endpoint>-<hash>.z01.azurefd.net`` and ``<endpoint>.azureedge.net`` (Azure Front Door / CDN endpoints);
- ``acme_dns01``: an ACME client renewing a certificate of 40 names under one zone by DNS-01 (RFC 8555 §8.4: a
  TXT record at ``_acme-challenge.<name>``): lego's pre-check asks each name's TXT record every 2 s until it is
  there (go-acme/lego challenge/dns01: DefaultPollingInterval 2 s, DefaultPropagationTimeout 60 s);
- ``ad_service_discovery``: a domain member locating its domain controllers, ``_ldap._tcp.dc._msdcs.<domain>``
  and ``_kerberos._tcp.<site>._sites.<domain>`` SRV (MS-ADTS §6.3.6, RFC 2782), Kerberos KDC lookups
  ``_kerberos._udp.<REALM>`` (RFC 4120 §7.2.3.2) and the DC's A records;
- ``chromium_probes``: Chromium's intranet redirect detector, three single-label names of 7-15 random letters at
  each start and network change (intranet_redirect_detector.cc; Verisign's "Chromium's impact on root DNS
  traffic", APNIC blog 2020): Chrome and Edge starting at a login, then a network change;
- ``ntp_pool``: chrony/ntpd resolving 0-3.pool.ntp.org and the vendor zone's servers (the NTP Pool's "use the
  pool" page) at start and on each refresh.
"""

from __future__ import annotations

import base64
import hashlib
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from iotwarden.model import Observation

RESOLVER = "10.0.0.53"  # the site's resolver
UPSTREAM = "198.51.100.53"  # the resolver's upstream (documentation range, RFC 5737)
START = 1_700_000_000.0
SPAN_S = 1800.0  # each look-alike's half hour


@dataclass(frozen=True, slots=True)
class Query:
    ts: float
    src: str
    dst: str
    qname: str
    qtype: str = "A"
    rd: bool = True

    def observation(self) -> Observation:
        return Observation(ts=self.ts, proto="dns", kind="query", src_ip=self.src, dst_ip=self.dst, src_port=53000,
                           dst_port=53, fields={"qname": self.qname, "qtype": self.qtype, "rd": self.rd, "qr": False})


def _hex_rot(rng: random.Random, n: int) -> str:
    """Sophos' hex digits with a-f shifted to n-s, as the diary's names show them."""
    return "".join(rng.choice("0123456789nopqrs") for _ in range(n))


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def _letters(rng: random.Random, n: int, alphabet: str = string.ascii_lowercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _ticks(rng: random.Random, mean_gap: float, span: float = SPAN_S) -> list[float]:
    out, t = [], START + rng.uniform(0, 5)
    while t < START + span:
        out.append(t)
        t += rng.expovariate(1 / mean_gap)
    return out


def sophos_sxl(host: str, rng: random.Random) -> list[Query]:
    out = []
    for t in _ticks(rng, 8.0):  # a scan of new files: a lookup every few seconds
        labels = [_hex_rot(rng, 63), _hex_rot(rng, 63), _hex_rot(rng, 20), _hex_rot(rng, 40)]
        out.append(Query(t, host, RESOLVER, f"3.{'.'.join(labels)}.i.01.mac.sophosxl.net"))
        digits = ".".join(rng.choice("0123") for _ in range(15))
        out.append(Query(t + 0.01, host, RESOLVER, f"{digits}.01.00.sfi_unknown.f.01.mac.sophosxl.net"))
    return out


def mcafee_gti(host: str, rng: random.Random) -> list[Query]:
    return [Query(t, host, RESOLVER, f"{_b32(rng.randbytes(16))}.{rng.choice(('avqs', 'avts'))}.mcafee.com")
            for t in _ticks(rng, 6.0)]


def eset_livegrid(host: str, rng: random.Random) -> list[Query]:
    return [Query(t, host, RESOLVER, f"{_b32(rng.randbytes(16))}bqeaqbaeaq.a.e.e5.sk", "TXT")  # 26 + 10 characters
            for t in _ticks(rng, 6.0)]


def trend_ers(host: str, rng: random.Random) -> list[Query]:
    code = _letters(rng, 33, string.ascii_uppercase + string.digits)  # the activation code, dashes removed
    return [Query(t, host, RESOLVER, f"{'.'.join(str(rng.randint(1, 254)) for _ in range(4))}.{code}.r.mail-abuse.com")
            for t in _ticks(rng, 4.0)]


def kaspersky_update(host: str, rng: random.Random) -> list[Query]:
    names = [f"s{i:02d}.upd.kaspersky.com" for i in range(20)] + ["downloads.upd.kaspersky.com",
                                                                   "cm.k.kaspersky-labs.com"]
    out = []
    for k, t in enumerate((START + 60, START + 3660)):  # hourly update check
        for i, name in enumerate(names):
            out.append(Query(t + i * 0.05, host, RESOLVER, name))
            if k:  # the site resolver failed: the same names from the public resolvers, in their order
                for j, public in enumerate(("8.8.8.8", "1.1.1.1")):
                    out.append(Query(t + i * 0.05 + 2 + j, host, public, name))
    return out


def _domain(rng: random.Random) -> str:
    words = ("north", "river", "supply", "parts", "office", "media", "health", "logistics", "metal", "travel",
             "garden", "legal", "systems", "design", "print", "motors", "bank", "stone", "bridge", "trade")
    return f"{''.join(rng.sample(words, 2))}.{rng.choice(('com', 'org', 'de', 'co.uk', 'net'))}"


def mail_dnsbl(host: str, rng: random.Random) -> list[Query]:
    key = _letters(rng, 26, string.ascii_lowercase + string.digits)  # the DQS key
    out = []
    for t in _ticks(rng, 5.0):  # a message every few seconds
        ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        out.append(Query(t, host, RESOLVER, f"{'.'.join(reversed(ip.split('.')))}.zen.spamhaus.org"))
        for d in (_domain(rng), _domain(rng)):
            out.append(Query(t + 0.1, host, RESOLVER, f"{d}.multi.uribl.com"))
            out.append(Query(t + 0.1, host, RESOLVER, f"{d}.dbl.spamhaus.org"))
        sender = f"{_letters(rng, 6)}@{_domain(rng)}"
        digest = _b32(hashlib.sha256(sender.encode()).digest())
        out.append(Query(t + 0.2, host, RESOLVER, f"{digest}._email.{key}.hbl.dq.spamhaus.net"))
    return out


def mail_dkim_spf(host: str, rng: random.Random) -> list[Query]:
    out = []
    for t in _ticks(rng, 5.0):
        d = _domain(rng)
        out.append(Query(t, host, RESOLVER, d, "TXT"))
        out.append(Query(t + 0.05, host, RESOLVER, f"{rng.choice(('selector1', 's1', 'google', 'k1'))}._domainkey.{d}",
                         "TXT"))
    return out


def umbrella(host: str, rng: random.Random) -> list[Query]:
    """The appliance's own queries: each of its clients' questions forwarded upstream within a few ms (the clients'
    own queries come from the other look-alikes' hosts), and its test of the path."""
    out = [Query(t, host, "208.67.222.222", "debug.opendns.com", "TXT") for t in (START + 10, START + 900)]
    for q in chromium_probes("10.0.5.21", rng) + chromium_probes("10.0.5.22", rng) + cdn_hosts("10.0.5.23", rng):
        out += [Query(q.ts, q.src, host, q.qname, q.qtype), Query(q.ts + 0.002, host, "208.67.222.222", q.qname,
                                                                  q.qtype)]
    return out


def cdn_hosts(host: str, rng: random.Random) -> list[Query]:
    alnum = string.ascii_lowercase + string.digits
    makers: tuple[Callable[[], str], ...] = (
        lambda: f"d{_letters(rng, 13, alnum)}.cloudfront.net",
        lambda: f"e{rng.randint(1000, 99999)}.dscb.akamaiedge.net",
        lambda: f"a{rng.randint(100, 9999)}.dscd.akamai.net",
        lambda: f"{_letters(rng, 8)}-{_letters(rng, 16, '0123456789abcdef')}.z01.azurefd.net",
        lambda: f"{_letters(rng, 10)}.azureedge.net",
    )
    return [Query(t, host, RESOLVER, rng.choice(makers)()) for t in _ticks(rng, 3.0)]


def acme_dns01(host: str, rng: random.Random) -> list[Query]:
    names = [f"{_letters(rng, 5)}{i}.example.com" for i in range(40)]
    out, t = [], START + 30
    for name in names:  # lego pre-checks each name in turn until its record is seen
        for k in range(rng.randint(2, 6)):
            out.append(Query(t + 2 * k, host, RESOLVER, f"_acme-challenge.{name}", "TXT"))
        t += 2 * (k + 1)
    return out


def ad_service_discovery(host: str, rng: random.Random) -> list[Query]:
    domain, out = "corp.example.com", []
    for t in _ticks(rng, 60.0):
        out += [Query(t, host, RESOLVER, f"_ldap._tcp.dc._msdcs.{domain}", "SRV"),
                Query(t + 0.01, host, RESOLVER, f"_ldap._tcp.hq._sites.dc._msdcs.{domain}", "SRV"),
                Query(t + 0.02, host, RESOLVER, f"_kerberos._tcp.hq._sites.{domain}", "SRV"),
                Query(t + 0.03, host, RESOLVER, f"_kerberos._udp.{domain.upper()}", "SRV"),
                Query(t + 0.04, host, RESOLVER, f"dc{rng.randint(1, 4):02d}.{domain}")]
    return out


def chromium_probes(host: str, rng: random.Random) -> list[Query]:
    out = []
    for start in (START + 5, START + 6, START + 400):  # Chrome, then Edge at the login; a network change
        out += [Query(start + i * 0.01, host, RESOLVER, _letters(rng, rng.randint(7, 15))) for i in range(3)]
    return out


def ntp_pool(host: str, rng: random.Random) -> list[Query]:
    out = []
    for t in (START + 1, START + 1025):
        out += [Query(t + k * 0.1, host, RESOLVER, f"{k}.{zone}") for zone in ("pool.ntp.org", "ubuntu.pool.ntp.org")
                for k in range(4)]
    return out


KINDS: dict[str, Callable[[str, random.Random], list[Query]]] = {
    "sophos_sxl": sophos_sxl, "mcafee_gti": mcafee_gti, "eset_livegrid": eset_livegrid, "trend_ers": trend_ers,
    "kaspersky_update": kaspersky_update, "mail_dnsbl": mail_dnsbl, "mail_dkim_spf": mail_dkim_spf,
    "umbrella": umbrella, "cdn_hosts": cdn_hosts, "acme_dns01": acme_dns01,
    "ad_service_discovery": ad_service_discovery, "chromium_probes": chromium_probes, "ntp_pool": ntp_pool,
}


def host_of(kind: str) -> str:
    return f"10.0.4.{10 + list(KINDS).index(kind)}"


def queries(kind: str, seed: int) -> list[Query]:
    """``kind``'s queries from its own host (:func:`host_of`), in time order."""
    return sorted(KINDS[kind](host_of(kind), random.Random(seed)), key=lambda q: q.ts)
