"""C&C over DNS and its benign look-alikes, as a sensor sees them: Zeek's conn.log (IoT-23 labels) and dns.log, and
packets (each lookup a query and its answer between the device and the site's resolver), over the lab's benign day.

Each kind follows a public description, never what a detector looks for. C&C (label ``C&C`` on the lookups that are
the channel):

- ``txt_commands``: commands fetched as TXT answers to queries of one fixed name, polled every 1-5 min (±20%):
  DNSMessenger (Cisco Talos, "Covert channels and poor decisions: the tale of DNSMessenger", 2017: TXT queries to
  the attacker's domains, commands in the TXT answers; ATT&CK T1071.004's procedure examples);
- ``tunnel``: a session tunnelled in query names, dnscat2 (iagox86/dnscat2 README and doc/protocol.md: "an encrypted
  command-and-control (C&C) channel over the DNS protocol"; each message hex-encoded in the labels of a query under
  the server's domain, TXT, CNAME or MX, the answer carrying the server's; the client polls about once a second):
  sessions of 5-15 min now and then.

The lookups of a bot that reaches its C&C by name are no C&C by IoT-23's labels (the connection is): ``dga_session``,
Mirai's DGA variant (Netlab 360, "New Mirai variant with DGA", 2016: one name a day from the date, under .online,
.tech or .support, resolved before each connect as ``bot/main.c`` resolve_cnc_addr does), the ``mirai`` family's
session (tests/detect/botnets.py) to its answer, the TCP flows labelled, each lookup ``-``.

Benign (label ``-``):

- ``ntp_pool``: ntpd re-resolving its pool servers (0-3.pool.ntp.org, four A answers each; the NTP Pool Project's
  "use the pool" page) every hour;
- ``iot_endpoint``: a device SDK resolving its AWS IoT endpoint (``<14 characters>-ats.iot.<region>.amazonaws.com``,
  AWS IoT Core "Device data endpoints") before each MQTT reconnect, every 5 min (±10%);
- ``cdn_names``: a streaming device resolving CDN names whose first labels are ids (CloudFront ``d<13>.cloudfront.net``,
  Akamai ``e<digits>.a.akamaiedge.net``, YouTube ``rN---sn-<8>.googlevideo.com``), a few a minute;
- ``hub_clock``: a hub resolving its vendor's time server and cloud at the top of every hour (a cron-driven check);
- ``mail_spf``: a mail server's SPF checks (RFC 7208 §4.4: a TXT query of each sender's domain), one to three a
  minute, each a different domain.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from iotwarden.model import Flow
from tests.detect.botnet_pcap import Frame, Renderer
from tests.detect.botnets import Labelled, _session_bot, public_ip

DNS_PORT = 53
QTYPES = {"A": 1, "CNAME": 5, "TXT": 16}  # RFC 1035 §3.2.2
# words a business's domain is made of (a sender's domain is a name people read, not random letters)
WORDS = ("north", "river", "green", "valley", "supply", "parts", "office", "media", "health", "logistics", "metal",
         "energy", "travel", "garden", "foods", "legal", "systems", "design", "print", "motors", "bank", "farm",
         "stone", "bridge", "coast", "tech", "home", "city", "group", "trade")


@dataclass(frozen=True, slots=True)
class Lookup:
    """One DNS question and its answer: ``answers`` as Zeek's dns.log writes them (A data or TXT text)."""

    flow: Flow  # the UDP exchange with the resolver, as conn.log logs it
    qname: str
    qtype: str  # "A", "CNAME" or "TXT"
    answers: tuple[str, ...]
    ttl: int = 300


Scenario = tuple[Labelled, list[Lookup]]


def _lookup(ends: tuple[str, str], t: float, rng: random.Random, question: tuple[str, str], *,
            answers: tuple[str, ...], ttl: int = 300) -> Lookup:
    """``ends``: the device and its resolver; ``question``: the name and its type."""
    (src, resolver), (qname, qtype) = ends, question
    ask = 12 + len(qname) + 2 + 4
    answer = ask + sum(12 + (4 if qtype == "A" else len(a) + 2) for a in answers)
    flow = Flow(0, 17, src, rng.randint(32768, 60999), resolver, DNS_PORT, t, t + 0.02, pkts_ab=1, pkts_ba=1,
                bytes_ab=ask + 28, bytes_ba=answer + 28, payload_ab=ask, payload_ba=answer, app="dns",
                extra={"conn_state": "SF"})
    return Lookup(flow, qname, qtype, answers, ttl)


def _word(rng: random.Random, n: int, alphabet: str = string.ascii_lowercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def txt_commands(src: str, resolver: str, t: float, end: float, rng: random.Random) -> Scenario:
    name, period, out = f"update.{_word(rng, 6)}-cdn.net", rng.uniform(60, 300), []
    while t < end:
        blob = _word(rng, rng.randint(60, 180), string.ascii_letters + string.digits + "+/")
        out.append(_lookup((src, resolver), t, rng, (name, "TXT"), answers=(blob,), ttl=0))
        t += period * rng.uniform(0.8, 1.2)
    return [(x.flow, "C&C") for x in out], out


def tunnel(src: str, resolver: str, t: float, end: float, rng: random.Random) -> Scenario:
    domain, out = f"{_word(rng, 7)}.com", []
    t += rng.uniform(0, 1800)
    while t < end:
        stop = min(end, t + rng.uniform(300, 900))
        while t < stop:  # a message each way about once a second
            data = _word(rng, rng.randint(40, 62), "0123456789abcdef")
            qtype, reply = rng.choice(("TXT", "CNAME")), _word(rng, 40, "0123456789abcdef")
            out.append(_lookup((src, resolver), t, rng, (f"{data}.{domain}", qtype),
                               answers=(reply if qtype == "TXT" else f"{reply}.{domain}",), ttl=0))
            t += rng.uniform(0.8, 1.2)
        t += rng.uniform(1200, 3600)
    return [(x.flow, "C&C") for x in out], out


def dga_session(src: str, resolver: str, t: float, end: float, rng: random.Random) -> Scenario:
    name = f"{_word(rng, 12)}.{rng.choice(('online', 'tech', 'support'))}"
    session = _session_bot(src, t, end, rng, port=23, retry=lambda: float(rng.randint(1, 10)), down=(300, 2400),
                           up=(600, 5400), hello=6)
    c2 = session[0][0].b_ip
    for f, _ in session:
        f.b_ip = c2
    lookups = [_lookup((src, resolver), f.first_seen - 0.05, rng, (name, "A"), answers=(c2,)) for f, _ in session]
    return [*session, *((x.flow, "-") for x in lookups)], lookups


def ntp_pool(src: str, resolver: str, t: float, end: float, rng: random.Random) -> Scenario:
    out = []
    while t < end:
        for k in range(4):
            out.append(_lookup((src, resolver), t + k * 0.1, rng, (f"{k}.pool.ntp.org", "A"),
                               answers=tuple(public_ip(rng) for _ in range(4)), ttl=150))
        t += 3600 * rng.uniform(0.98, 1.02)
    return [(x.flow, "-") for x in out], out


def iot_endpoint(src: str, resolver: str, t: float, end: float, rng: random.Random) -> Scenario:
    name = f"{_word(rng, 14, string.ascii_lowercase + string.digits)}-ats.iot.eu-west-1.amazonaws.com"
    addresses, out = [public_ip(rng) for _ in range(8)], []
    while t < end:
        out.append(_lookup((src, resolver), t, rng, (name, "A"), answers=tuple(rng.sample(addresses, 4)), ttl=60))
        t += 300 * rng.uniform(0.9, 1.1)
    return [(x.flow, "-") for x in out], out


def cdn_names(src: str, resolver: str, t: float, end: float, rng: random.Random) -> Scenario:
    makers: tuple[Callable[[], str], ...] = (
        lambda: f"d{_word(rng, 13, string.ascii_lowercase + string.digits)}.cloudfront.net",
        lambda: f"e{rng.randint(1000, 99999)}.a.akamaiedge.net",
        lambda: f"r{rng.randint(1, 8)}---sn-{_word(rng, 8, string.ascii_lowercase + string.digits)}.googlevideo.com",
    )
    out = []
    while t < end:
        out.append(_lookup((src, resolver), t, rng, (rng.choice(makers)(), "A"), answers=(public_ip(rng),),
                           ttl=60))
        t += rng.uniform(10, 40)
    return [(x.flow, "-") for x in out], out


def hub_clock(src: str, resolver: str, t: float, end: float, rng: random.Random) -> Scenario:
    vendor, out = _word(rng, 6), []
    t = (t // 3600 + 1) * 3600
    while t < end:
        for i, name in enumerate((f"time.{vendor}.com", f"hub.{vendor}.com")):
            out.append(_lookup((src, resolver), t + i * 0.2 + rng.uniform(0, 1), rng, (name, "A"),
                               answers=(public_ip(rng),)))
        t += 3600
    return [(x.flow, "-") for x in out], out


def mail_spf(src: str, resolver: str, t: float, end: float, rng: random.Random) -> Scenario:
    out = []
    while t < end:
        domain = f"{''.join(rng.sample(WORDS, 2))}.{rng.choice(('com', 'org', 'de', 'co.uk', 'net'))}"
        out.append(_lookup((src, resolver), t, rng, (domain, "TXT"), answers=("v=spf1 include:_spf.google.com ~all",),
                           ttl=3600))
        t += rng.uniform(20, 60)
    return [(x.flow, "-") for x in out], out


KINDS: dict[str, Callable[[str, str, float, float, random.Random], Scenario]] = {
    "txt_commands": txt_commands, "tunnel": tunnel, "dga_session": dga_session,
    "ntp_pool": ntp_pool, "iot_endpoint": iot_endpoint, "cdn_names": cdn_names, "hub_clock": hub_clock,
    "mail_spf": mail_spf,
}
C2_KINDS = ("txt_commands", "tunnel", "dga_session")
BENIGN_KINDS = ("ntp_pool", "iot_endpoint", "cdn_names", "hub_clock", "mail_spf")


def resolver_of(benign: list[Flow]) -> str:
    """The site's resolver: the internal address most DNS queries of the benign day go to."""
    counts: dict[str, int] = {}
    for f in benign:
        if f.b_port == DNS_PORT and f.b_ip.startswith("10."):
            counts[f.b_ip] = counts.get(f.b_ip, 0) + 1
    return max(counts, key=lambda ip: counts[ip])


def write_dns_log(path: Path, labelled: Labelled, lookups: Iterable[Lookup]) -> Path:
    """Zeek's dns.log (DNS::Info) of ``lookups``, each line's uid that of its flow in the conn.log
    tests/detect/labelled.write_labelled_conn_log writes of ``labelled`` (numbered in ts order), a lookup whose flow
    is not among them (:func:`benign_lookups`) a uid of its own."""
    uid = {id(f): f"C{i:017d}" for i, (f, _) in enumerate(sorted(labelled, key=lambda fl: fl[0].first_seen))}
    head = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\t"
            "qclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n"
            "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\t"
            "string\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n")
    with path.open("w") as fh:
        fh.write(head)
        for i, x in enumerate(sorted(lookups, key=lambda x: x.flow.first_seen)):
            f = x.flow
            fh.write(f"{f.first_seen:.6f}\t{uid.get(id(f), f'D{i:017d}')}\t{f.a_ip}\t{f.a_port}\t{f.b_ip}"
                     f"\t{f.b_port}\tudp\t{i & 0xFFFF}"
                     f"\t0.020000\t{x.qname}\t1\tC_INTERNET\t{QTYPES[x.qtype]}\t{x.qtype}\t0\tNOERROR"
                     f"\tF\tF\tT\tT\t0\t{','.join(x.answers)}\t{','.join(f'{x.ttl}.000000' for _ in x.answers)}\tF\n")
        fh.write("#close\t2024-03-04-12-00-00\n")
    return path


class DnsRenderer(Renderer):
    """botnet_pcap's renderer, with each lookup's query and answer as the resolver exchanges them."""

    lookups: dict[int, Lookup]

    def flow(self, f: Flow) -> list[Frame]:
        x = self.lookups.get(id(f))
        if x is None:
            return super().flow(f)
        from iotwarden.lab import proto_net
        from iotwarden.lab.wire import udp_frame

        src, qtype = self.host(f.a_ip), QTYPES[x.qtype]
        ident, question = self.rng.getrandbits(16), [(x.qname, qtype, proto_net.CLASS_IN)]
        rdata: dict[str, Callable[[str], bytes]] = {
            "A": proto_net.rdata_a, "CNAME": proto_net.dns_name,
            "TXT": lambda text: bytes([len(text[:255])]) + text[:255].encode()}  # one character-string
        answers = [(x.qname, qtype, proto_net.CLASS_IN, x.ttl, rdata[x.qtype](a)) for a in x.answers]
        return [(f.first_seen, udp_frame(src, self.resolver.mac, self.resolver.ip,
                                         proto_net.dns_message(ident, 0x0100, question), sport=f.a_port, dport=53)),
                (f.last_seen, udp_frame(self.resolver, src.mac, src.ip,
                                        proto_net.dns_message(ident, 0x8180, question, answers), sport=53,
                                        dport=f.a_port))]


def benign_lookups(pcap: Path) -> list[Lookup]:
    """The lookups a capture's DNS answers show (the engine's dns responses to A, AAAA, CNAME or TXT questions), so
    that a dns.log of the benign day holds what Zeek would have logged of it, not the injected lookups alone."""
    from iotwarden.engine.core import Engine
    from iotwarden.services.analyze import gc_tuned
    from iotwarden.sources.capfile import read_capture

    engine, out = Engine(), []
    with gc_tuned():
        for batch in read_capture(pcap):
            for obs in engine.process(batch).observations:
                qtype, answers = obs.fields.get("qtype"), obs.fields.get("answers")
                if obs.proto != "dns" or obs.kind != "response" or qtype not in QTYPES or not obs.dst_ip \
                        or not obs.src_ip or not isinstance(answers, list):
                    continue
                data = tuple(str(a.get("data")) for a in answers if isinstance(a, dict) and a.get("type") == qtype)
                flow = Flow(0, 17, obs.dst_ip, obs.dst_port or 0, obs.src_ip, obs.src_port or DNS_PORT, obs.ts - 0.02,
                            obs.ts)
                out.append(Lookup(flow, str(obs.fields.get("qname")), str(qtype), data))
    return out


def renderer_for(lookups: Iterable[Lookup]) -> type[DnsRenderer]:
    """A DnsRenderer that knows ``lookups`` (botnet_pcap.write_pcap builds its renderer itself)."""
    known = {id(x.flow): x for x in lookups}
    return type("Renderer", (DnsRenderer,), {"lookups": known})


@dataclass
class DnsTruth:
    bots: dict[str, str]  # host -> C&C kind
    benign: dict[str, str]  # host -> benign kind
    lookups: list[Lookup]


def infect_dns(benign: list[Flow], *, seed: int, infected_from: float, per_kind: int = 2) -> tuple[Labelled, DnsTruth]:
    """Benign flows (``-``) plus ``per_kind`` hosts of each kind, bots starting ``infected_from`` seconds after their
    host's first flow (as botnets.infect), the benign kinds from the start."""
    from tests.detect.botnets import infectable_hosts

    rng = random.Random(seed)
    start, end, first, hosts = infectable_hosts(benign, rng)
    resolver = resolver_of(benign)
    truth, out = DnsTruth({}, {}, []), [(f, "-") for f in benign]
    pick = iter(hosts)
    for kind in (*C2_KINDS, *BENIGN_KINDS):
        for _ in range(per_kind):
            src = next(pick)
            c2 = kind in C2_KINDS
            (truth.bots if c2 else truth.benign)[src] = kind
            at = first[src] + infected_from + rng.uniform(0, 300) if c2 else start + rng.uniform(0, 300)
            flows, lookups = KINDS[kind](src, resolver, at, end, rng)
            out += flows
            truth.lookups += lookups
    return out, truth
