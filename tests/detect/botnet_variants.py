"""Variants of IoT bot behaviour the families of tests/detect/botnets.py do not cover, as Zeek would log them
(flows with IoT-23 detailed labels): an adversary's view of the recall/precision evaluation (issue #4).

Each variant follows a public description of an IoT botnet, never what a detector looks for:

- ``mirai_raw_syn``: Mirai's scanner as published (``bot/scanner.c``): raw SYNs from a raw socket, so no
  kernel retransmission (one packet a probe), a random source port each (``source_port = rand_next()``),
  destination 23, every tenth 2323 (``if (i % 10 == 0) tcph->dest = htons(2323)``), to random public
  addresses (``get_random_ip`` skips private space); a host whose port is open answers SYN-ACK, which the
  bot's kernel, holding no socket, resets: Zeek logs it ``RSTO`` with history ``ShR`` and no bytes.
- ``exploit_ports``: Mirai variants that scan router and device exploit ports several at a time (Satori:
  37215 Huawei HG532 and 52869 Realtek SDK; ADB.Miner and Mirai's ADB variants 5555; Moobot and others
  8080/81), each probe a port of its list.
- ``slow_scan``: a scanner pacing itself to one connect every 15-60 s for hours (a connect() scanner, its
  unanswered SYN retransmitted: Zeek's S0 record of three packets).
- ``sparse_16``: a sweep of one /16 in address order at 2-20 probes a second, few hosts live (3% answer:
  a refusal or an open port reset by the scanner).
- ``lan_syn_sweep``: a raw-socket SYN sweep of the device's own /24 for a port most live hosts there have open
  (80, 8080, 554, 81): SYN-ACKs reset by the scanner's kernel (Zeek's RSTO, history ShR), a few refusals.
- ``v6_scan``: the ``exploit_ports`` scan from the site device's IPv6 address to IPv6 hosts.
- ``jitter_beacon``: C&C check-ins on an odd port, a short exchange each, every 60-300 s with a jitter of up
  to ±50% (uniform).
- ``slow_beacon``: C&C check-ins on an odd port every 30-50 min: six beats at most in the three-hour day.
- ``v6_session``: Mirai's C&C session over IPv6 (the ``mirai`` family's shape).
- ``udp_flood`` / ``syn_flood``: Mirai's ``attack.c`` floods from a bot that holds its C&C session
  (``mirai``'s shape): ``attack_udp_generic`` (raw UDP, random source and destination ports per packet,
  512-byte payload) and ``attack_tcp_syn`` (raw SYNs, random ports) at one target for 20-60 s, labelled
  ``DDoS`` as IoT-23 labels them: neither scanning nor C&C, so a scan alert on such a host is a false one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from iotwarden.model import Flow
from tests.detect.botnet_pcap import Frame, Renderer, write_pcap
from tests.detect.botnets import (
    BENIGN_HABITS,
    Labelled,
    _name,
    _session_bot,
    _tcp,
    habit,
    infectable_hosts,
    public_ip,
)

SCAN = "PartOfAHorizontalPortScan"
EXPLOIT_PORTS = (5555, 37215, 52869, 8080, 81)


def _probe(src: str, dst: str, port: int, t: float, rng: random.Random, *, answer: str = "S0",
           pkts: int = 1) -> Flow:
    """One SYN probe as Zeek logs it: unanswered (S0, ``pkts`` SYNs), refused (REJ) or answered and reset by
    the prober's kernel (RSTO, history ShR, no bytes)."""
    flags_ba = {"S0": 0, "REJ": 0x14, "RSTO": 0x12}[answer]
    return Flow(0, 6, src, rng.randint(1024, 65535), dst, port, t, t + (0.001 if answer != "S0" else 0.0),
                pkts_ab=pkts + (answer == "RSTO"), pkts_ba=int(answer != "S0"), bytes_ab=60 * pkts,
                bytes_ba=40 * (answer != "S0"), tcp_flags_ab=0x02 | (0x04 if answer == "RSTO" else 0),
                tcp_flags_ba=flags_ba, extra={"conn_state": answer})


def _answer(rng: random.Random, live: float) -> str:
    if rng.random() >= live:
        return "S0"
    return rng.choice(("REJ", "RSTO"))


def public_ip6(rng: random.Random) -> str:
    return f"2a0{rng.randint(0, 9)}:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"


def mirai_raw_syn(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    rate, out, i = rng.uniform(10, 40), [], 0
    stop = min(end, t + rng.uniform(60, 180))
    while t < stop:
        port = 2323 if i % 10 == 0 else 23
        out.append((_probe(src, public_ip(rng), port, t, rng, answer=_answer(rng, 0.02)), SCAN))
        t += rng.expovariate(rate)
        i += 1
    return out


def exploit_ports(src: str, t: float, end: float, rng: random.Random, *, v6: bool = False) -> Labelled:
    ports = rng.sample(EXPLOIT_PORTS, rng.randint(2, 4))
    rate, out = rng.uniform(2, 20), []
    stop = min(end, t + rng.uniform(60, 300))
    while t < stop:
        dst = public_ip6(rng) if v6 else public_ip(rng)
        out.append((_probe(src, dst, rng.choice(ports), t, rng, answer=_answer(rng, 0.03), pkts=2), SCAN))
        t += rng.expovariate(rate)
    return out


def slow_scan(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    port, out = rng.choice((23, 2323, 5555, 37215)), []
    pace = rng.uniform(15, 60)
    while t < end:
        out.append((_probe(src, public_ip(rng), port, t, rng, answer=_answer(rng, 0.03), pkts=3), SCAN))
        t += pace * rng.uniform(0.5, 1.5)
    return out


def lan_syn_sweep(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    """A raw-socket SYN sweep of the device's own /24 for a web or camera port that most live hosts there have
    open: each open port answers SYN-ACK and the scanner's kernel resets it (Zeek: RSTO, history ShR)."""
    prefix, port = src.rsplit(".", 1)[0], rng.choice((80, 8080, 554, 81))
    out: Labelled = []
    for k in rng.sample(range(2, 255), rng.randint(30, 60)):
        answer = "RSTO" if rng.random() < 0.9 else "REJ"
        out.append((_probe(src, f"{prefix}.{k}", port, t, rng, answer=answer), SCAN))
        t += rng.uniform(0.01, 0.2)
    return out


def sparse_16(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    first = public_ip(rng).split(".")[:2] if rng.random() < 0.5 else ["10", str(rng.randint(20, 250))]
    port, rate, out = rng.choice((23, 22, 80, 5555)), rng.uniform(2, 20), []
    start = rng.randint(0, 200) * 256
    for k in range(int(rate * rng.uniform(60, 300))):
        n = start + k
        if t >= end or n >= 65536:
            break
        dst = f"{first[0]}.{first[1]}.{n // 256}.{n % 256}"
        if n % 256 in (0, 255):
            continue
        out.append((_probe(src, dst, port, t, rng, answer=_answer(rng, 0.03), pkts=2), SCAN))
        t += 1 / rate
    return out


def _checkins(src: str, c2: tuple[str, int], t: float, end: float, rng: random.Random, *,
              period: float, jitter: float) -> Labelled:
    (server, port), out = c2, []
    while t < end:
        out.append((_tcp(src, server, port, t, rng, state="SF", duration=0.4,
                         payload=(rng.randint(20, 120), rng.randint(8, 200))), "C&C-HeartBeat"))
        t += period * (1 + rng.uniform(-jitter, jitter))
    return out


def _odd_port(rng: random.Random) -> int:
    return rng.choice((6667, 7777, 1014, 666, rng.randint(1024, 65535)))


def jitter_beacon(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    return _checkins(src, (public_ip(rng), _odd_port(rng)), t, end, rng, period=rng.uniform(60, 300),
                     jitter=rng.uniform(0.35, 0.5))


def slow_beacon(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    return _checkins(src, (public_ip(rng), _odd_port(rng)), t, end, rng, period=rng.uniform(1800, 3000),
                     jitter=0.05)


def v6_scan(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    return exploit_ports(src, t, end, rng, v6=True)


def _mirai(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    return _session_bot(src, t, end, rng, port=rng.choice((23, rng.randint(1024, 65535))),
                        retry=lambda: float(rng.randint(1, 10)), down=(300, 2400), up=(600, 5400), hello=6)


def v6_session(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    flows = _mirai(src, t, end, rng)
    c2 = public_ip6(rng)
    for f, _ in flows:
        f.b_ip = c2
    return flows


def _flood(src: str, t: float, end: float, rng: random.Random, *, udp: bool) -> Labelled:
    target, rate, out = public_ip(rng), rng.uniform(100, 300), []
    stop = min(end, t + rng.uniform(20, 60))
    while t < stop:
        sport, dport = rng.randint(1, 65535), rng.randint(1, 65535)
        if udp:
            flow = Flow(0, 17, src, sport, target, dport, t, t, pkts_ab=1, bytes_ab=540, payload_ab=512,
                        extra={"conn_state": "S0"})
        else:
            flow = Flow(0, 6, src, sport, target, dport, t, t, pkts_ab=1, bytes_ab=60, tcp_flags_ab=0x02,
                        extra={"conn_state": "S0"})
        out.append((flow, "DDoS"))
        t += rng.expovariate(rate)
    return out


def _flooding_bot(udp: bool) -> Callable[[str, float, float, random.Random], Labelled]:
    def make(src: str, t: float, end: float, rng: random.Random) -> Labelled:
        c2 = _mirai(src, t, end, rng)
        attack = t + rng.uniform(600, max(601.0, end - t - 900))
        return c2 + _flood(src, attack, end, rng, udp=udp)
    return make


@dataclass(frozen=True)
class Variant:
    make: Callable[[str, float, float, random.Random], Labelled]
    cls: str  # the class its labelled flows score as: "scan" or "c2" (a flooding bot: its C&C)
    forms: tuple[str, ...] = ("conn", "pcap")


VARIANTS: dict[str, Variant] = {
    "mirai_raw_syn": Variant(mirai_raw_syn, "scan"),
    "exploit_ports": Variant(exploit_ports, "scan"),
    "slow_scan": Variant(slow_scan, "scan"),
    "sparse_16": Variant(sparse_16, "scan"),
    "lan_syn_sweep": Variant(lan_syn_sweep, "scan"),
    "v6_scan": Variant(v6_scan, "scan"),
    "jitter_beacon": Variant(jitter_beacon, "c2"),
    "slow_beacon": Variant(slow_beacon, "c2"),
    "v6_session": Variant(v6_session, "c2"),
    "udp_flood": Variant(_flooding_bot(udp=True), "c2"),
    "syn_flood": Variant(_flooding_bot(udp=False), "c2"),
}


@dataclass
class VariantTruth:
    hosts: dict[str, str] = field(default_factory=dict)  # host -> variant
    v6: dict[str, str] = field(default_factory=dict)  # host -> its IPv6 address (the v6 variants' source)
    benign_habits: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


def infect_variants(benign: list[Flow], *, seed: int, infected_from: float, per_variant: int = 2,
                    variants: tuple[str, ...] = tuple(VARIANTS)) -> tuple[Labelled, VariantTruth]:
    """Benign flows (label ``-``) plus ``per_variant`` hosts of each variant and the benign look-alike habits
    on the hosts left, as botnets.infect deals them (``infected_from``: seconds after the host's first flow)."""
    rng = random.Random(seed)
    start, end, first, hosts = infectable_hosts(benign, rng)
    truth, out = VariantTruth(), [(f, "-") for f in benign]
    pick = iter(hosts)
    for name in variants:
        for _ in range(per_variant):
            src = next(pick)
            truth.hosts[src] = name
            at = src
            if name.startswith("v6_"):  # the device's own IPv6 address (unique local, RFC 4193)
                third, fourth = src.split(".")[2:]
                at = truth.v6[src] = f"fd10:10::{third}:{fourth}"
            out += VARIANTS[name].make(at, first[src] + infected_from + rng.uniform(0, 300), end, rng)
    left = list(pick)
    for i, kind in enumerate(k for k in BENIGN_HABITS for _ in range(2)):
        src = left[i % len(left)]
        truth.benign_habits.setdefault(src, []).append(kind)
        flows = habit(kind, src, start + rng.uniform(0, 300), end, rng)
        out += flows
        _name(truth, flows, kind.replace("_", "-"))  # type: ignore[arg-type]
    return out, truth


class _VariantRenderer(Renderer):
    """botnet_pcap's renderer, with a probe answered and reset by the prober (RSTO: SYN, SYN-ACK, RST)."""

    def flow(self, f: Flow) -> list[Frame]:
        if f.ip_proto == 6 and f.extra.get("conn_state") == "RSTO":
            from iotwarden.lab.wire import TcpStream

            conn = TcpStream(self.rng, self.host(f.a_ip), f.a_port, self.host(f.b_ip), f.b_port, rtt=0.04)
            return conn.handshake(f.first_seen)[:2] + conn.reset(f.first_seen + 0.04)
        return super().flow(f)


def write_variant_pcap(path: Path, benign_pcap: Path, benign: list[Flow], labelled: Labelled, *,
                       names: dict[str, str], seed: int, v6: dict[str, str] | None = None) -> Path:
    """``benign_pcap`` with the injected flows of ``labelled`` rendered in (botnet_pcap.write_pcap's way), an IPv6
    variant's from its host's IPv6 address (``v6``: VariantTruth.v6, host -> its IPv6 address) with its MAC."""
    aliases = {six: four for four, six in (v6 or {}).items()}
    return write_pcap(path, benign_pcap, benign, labelled, names=names, seed=seed, renderer=_VariantRenderer,
                      aliases=aliases)
