"""Labelled botnet traffic for recall/precision tests: IoT bot families' C&C and scanning, and benign
device habits that look like them, as Zeek would log them (flows with IoT-23 detailed labels).

Each family follows what its source code or analysis documents, never what a detector looks for:

- ``mirai`` (Mirai, and its derivatives Okiru, Kenjiro, Hakai): C&C on tcp/23 or a variant's own
  port; while the C&C does not answer the bot reconnects after ``sleep(rand % 10 + 1)`` s (Mirai
  ``bot/main.c``); once connected it holds one session and sends a 2-byte keep-alive every minute.
- ``gafgyt`` (Gafgyt/Bashlite): a hard-coded server retried every 5 s (``initConnection`` then
  ``sleep(5)``), an unanswered connect given up after 30 s (``connectTimeout(..., 30)``), so a silent
  server is tried every ~35 s and a refusing one every ~5 s; connected, one session with the server's PING
  and the bot's PONG.
- ``irc`` (Muhstik, Kaiten/IRCBot): an IRC session on 6667/6697 or an odd port, held for tens of
  minutes, rejoined within a minute when dropped.
- ``torii``: check-ins to a named C&C over tcp/443 in its own protocol, not TLS, every few minutes
  (Avast, "New Torii Botnet uncovers more than Mirai", 2018): Zeek recognises no service.
- ``http_poll``: a bot polling its C&C over HTTP on 80/8080 every 30 s to 15 min, ±20%
  (IoT-23 ``C&C-HeartBeat`` flows of the Trojan and Mirai captures): Zeek's service ``http``.
- ``torii_dead``: Torii whose C&C no longer answers (IoT-23 CTU-IoT-Malware-Capture-20-1 and 21-1:
  their only malicious flows, 16 of 3209 and 14 of 3286, are ``C&C-Torii`` S0 records to one
  address on tcp/443): a handful of connects, 40-125 s apart, each retransmitting its SYN for
  about 20 s and then given up; nothing else.
- ``dropper``: the loader's burst right after infection (IoT-23 CTU-IoT-Malware-Capture-44-1, Mirai:
  26 malicious flows of 237, all within three minutes): 8-12 HTTP GETs of ~150 bytes to a bare
  address on tcp/80, each fetching a 120-210 kB file (``C&C-FileDownload``, one build per CPU
  architecture as Mirai's loader fetches ``bins/<name>.<arch>``), one after the other; about half
  the connects go unanswered for ~30 s first (their S0 records labelled ``C&C``). Then nothing.
- ``hakai_dead``: a Gafgyt-derived bot whose hard-coded servers never answer (IoT-23
  CTU-IoT-Malware-Capture-8-1, Hakai: 8,222 of its 10,403 flows are ``C&C``; over the first 4.2 h,
  1,104 S0 records of 276 connects to tcp/50 of two addresses in turn, a connect every 35 or 45 s,
  each address every 80 s, each connect's SYN retransmitted until given up after its 31-s
  retransmission, no answer and no session): it walks its list of one or two servers, a connect
  every 33-47 s, each given up after 33 s, for hours, on an uncommon port.
- ``hns_p2p``: Hide and Seek's own P2P protocol over UDP (IoT-23 CTU-IoT-Malware-Capture-1-1; docs/iot23-shapes.md
  names each fact's source and what is a guess). Public: the bot opens a random port on the device and lets
  peers in through its firewall (Bitdefender, 2018), and walks a hard-coded list of peers, over forty
  ``address:port`` pairs on ports anywhere from 487 to 62797, a few ports shared (Netlab 360's list of a
  sample's peers). Guessed (nothing public gives them): one exchange every 2-15 s with the next peer of its
  list from that one port, 30-70% of the list answering, an answer teaching it a new peer half the time,
  other peers reaching its port every 10-120 s, requests of 2-64 bytes and answers of 8-512.

Unanswered connects are logged as Zeek logs them (IoT-23 20-1, 42-1, 44-1 rows): the first SYN and
its first two retransmissions (Linux: 1 s doubling, at 0, 1 and 3 s) in one S0 record of 3 packets,
then each later retransmission (7, 15, 31 s) as a 1-packet S0 record of the same source port.

Benign habits (label ``-``): a device whose cloud is down retrying with exponential back-off capped
at 128 s (AWS IoT Device SDK defaults; each connect given up after 10-20 s, its SYN retransmissions
logged as above), MQTT sessions to a cloud on 8883 renewed every ~30 min, P2P
camera keep-alives over UDP to relay servers on high ports (CS2 PPPP, udp/32100), NTP polls, TLS
check-ins to a cloud on 443 every few minutes (Torii's look-alike), HTTP polls of a cloud on 80
(the HTTP poller's look-alike), and a P2P camera that also logs in to its relays over tcp/443 in its
own protocol, not TLS, every half hour (as the nku_lifecycle Xiaobai Y2 camera does: one-off
sessions to the relays it reaches over udp/32100), and an NTP client polling a pool of servers
one of which never answers (the IoT-23 Raspberry Pis' ntpd in 20-1, 42-1, 44-1: udp/123 to five or
six pool addresses in turn, each every ~2 min, UDP S0 records for the silent one), a P2P camera whose UDP
socket serves its relay servers and the phones that view it (CS2 PPPP; as the nku_lifecycle Xiaobai Y2 camera
does, a new socket a minute, each exchanging with its three servers on udp/32100 every ~15 s; a viewer's phone
on a port of its own), and a video doorbell viewed over WebRTC (a socket per viewing
session: STUN with Google's server on 19302, a TURN server on 3478, the connectivity check with the
viewer's phone). The video itself is left out of both: what they stand for is a socket's peers, and
minutes of video in one UDP record, which the three-hour lab day never carries, are what
``detect.anomaly.flow`` reads as unusual (it did, on both habits' hosts, when they streamed).
Scanners probe Telnet, SSH, HTTP and router-exploit ports of random addresses at 1-50 SYN/s.
Services are as Zeek's conn.log names them (``app``: ``tls`` is Zeek's ``ssl``; None is ``-``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from iotwarden.detect.base import external
from iotwarden.model import Flow

Labelled = list[tuple[Flow, str]]  # a flow and its IoT-23 detailed label ("-": benign)
SCAN_PORTS = (23, 2323, 22, 80, 8080, 5555, 37215, 52869, 7547, 81)
FAMILIES = ("mirai", "gafgyt", "irc", "torii", "http_poll", "torii_dead", "dropper", "hakai_dead", "hns_p2p")
# families whose C&C is reached by name (Mirai resolves its CNC domain, bot/main.c resolve_cnc_addr;
# Torii's C&C are domains); the others carry a bare address (Gafgyt's hard-coded server, IRC
# bots' server address, HTTP polling of an IP); every habit's cloud has a name
NAMED_FAMILIES = frozenset({"mirai", "torii", "torii_dead"})
BENIGN_HABITS = ("dead_cloud", "mqtt_cloud", "p2p_camera", "ntp", "tls_cloud", "http_cloud", "p2p_relay_443",
                 "ntp_pool", "pppp_viewers", "webrtc_doorbell")
SYN_RETRANSMITS_S = (7.0, 15.0, 31.0, 63.0)  # Linux SYN retransmissions after the first three (0, 1, 3 s)
SCANNERS = 5  # per run: the lab day has 33 internal hosts: 5 scanners, 3 bots of each family, 1 habit host


@dataclass
class Truth:
    scanners: set[str] = field(default_factory=set)
    bots: dict[str, str] = field(default_factory=dict)  # host -> family
    benign_habits: dict[str, list[str]] = field(default_factory=dict)  # host -> its habits
    names: dict[str, str] = field(default_factory=dict)  # outside address -> the DNS name it is reached by


def public_ip(rng: random.Random) -> str:
    while True:
        ip = f"{rng.randint(11, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if external(ip):
            return ip


def _tcp(src: str, dst: str, port: int, ts: float, rng: random.Random, *, state: str, duration: float = 0.0,
         payload: tuple[int, int] = (0, 0), app: str | None = None) -> Flow:
    """A TCP connection as Zeek logs it: S0 (unanswered), REJ (refused) or SF (carried data)."""
    flags = {"S0": (0x02, 0), "REJ": (0x02, 0x14), "SF": (0x1B, 0x1B)}[state]
    pkts = {"S0": (3, 0), "REJ": (1, 1)}.get(state, (4 + payload[0] // 200, 3 + payload[1] // 200))
    return Flow(0, 6, src, rng.randint(32768, 60999), dst, port, ts, ts + duration, pkts_ab=pkts[0],
                pkts_ba=pkts[1], bytes_ab=payload[0] + 52 * pkts[0], bytes_ba=payload[1] + 52 * pkts[1],
                payload_ab=payload[0], payload_ba=payload[1], tcp_flags_ab=flags[0], tcp_flags_ba=flags[1],
                app=app if state == "SF" else None, extra={"conn_state": state})


def _syn_attempt(src: str, dst: str, port: int, t: float, rng: random.Random, *, give_up: float,
                 label: str) -> Labelled:
    """One connect nobody answers, as Zeek logs it: an S0 record of the first three SYNs (0, 1, 3 s),
    then a 1-packet S0 record of the same source port for each retransmission before ``give_up``."""
    sport = rng.randint(32768, 60999)
    out: Labelled = [(Flow(0, 6, src, sport, dst, port, t, t + 3.1, pkts_ab=3, bytes_ab=180, tcp_flags_ab=0x02,
                           extra={"conn_state": "S0"}), label)]
    for at in SYN_RETRANSMITS_S:
        if at >= give_up:
            break
        out.append((Flow(0, 6, src, sport, dst, port, t + at, t + at, pkts_ab=1, bytes_ab=60, tcp_flags_ab=0x02,
                         extra={"conn_state": "S0"}), label))
    return out


def _udp(src: str, dst: str, port: int, ts: float, rng: random.Random, *, payload: tuple[int, int],
         app: str | None = None) -> Flow:
    return Flow(0, 17, src, rng.randint(32768, 60999), dst, port, ts, ts + 0.05, pkts_ab=1, pkts_ba=1,
                bytes_ab=payload[0] + 28, bytes_ba=payload[1] + 28, payload_ab=payload[0], payload_ba=payload[1],
                app=app, extra={"conn_state": "SF"})


def _session_bot(src: str, t: float, end: float, rng: random.Random, *, port: int, retry: Callable[[], float],
                 down: tuple[float, float], up: tuple[float, float], hello: int, app: str | None = None,
                 give_up: float | None = None) -> Labelled:
    """C&C that is down for a while (the bot retries) then up (one long session), in turns; with
    ``give_up`` an unanswered connect is logged as Zeek logs one left that long (:func:`_syn_attempt`)."""
    c2, out = public_ip(rng), []
    while t < end:
        stop = min(end, t + rng.uniform(*down))
        while t < stop:  # C&C down: unanswered or refused attempts
            state = rng.choice(("S0", "REJ"))
            if state == "S0" and give_up is not None:
                out += _syn_attempt(src, c2, port, t, rng, give_up=give_up, label="C&C")
                t += give_up + retry()
                continue
            wait = 3.0 if state == "S0" else 0.001  # SYN retransmissions before giving up
            out.append((_tcp(src, c2, port, t, rng, state=state, duration=wait), "C&C"))
            t += wait + retry()
        length = min(end - t, rng.uniform(*up))
        if length > 1:
            beats = int(length // 60)
            out.append((_tcp(src, c2, port, t, rng, state="SF", duration=length,
                             payload=(hello + 2 * beats, 2 * beats + 8), app=app), "C&C-HeartBeat"))
        t += length + rng.uniform(1, 10)
    return out


def _checkins(src: str, t: float, end: float, rng: random.Random, *, port: int, label: str,
              period: float, sizes: tuple[int, int], app: str | None) -> Labelled:
    c2, jitter, out = public_ip(rng), rng.uniform(0.0, 0.2), []
    while t < end:
        out.append((_tcp(src, c2, port, t, rng, state="SF", duration=0.3, app=app,
                         payload=(rng.randint(sizes[0] // 2, sizes[0]), rng.randint(sizes[1] // 2, sizes[1]))), label))
        t += period * (1 + rng.uniform(-jitter, jitter))
    return out


def bot(family: str, src: str, t: float, end: float, rng: random.Random) -> Labelled:
    if family == "mirai":
        return _session_bot(src, t, end, rng, port=rng.choice((23, 23, rng.randint(1024, 65535))),
                            retry=lambda: float(rng.randint(1, 10)), down=(300, 2400), up=(600, 5400), hello=6)
    if family == "gafgyt":
        return _session_bot(src, t, end, rng, port=rng.choice((666, 6667, 1014, 7777, rng.randint(1024, 65535))),
                            retry=lambda: 5.0, down=(300, 2400), up=(600, 5400), hello=40, give_up=30.0)
    if family == "irc":
        return _session_bot(src, t, end, rng, port=rng.choice((6667, 6697, rng.randint(1024, 65535))),
                            retry=lambda: rng.uniform(5, 30), down=(0, 40), up=(600, 3600), hello=120, app="irc")
    if family == "torii":
        return _checkins(src, t, end, rng, port=443, label="C&C-Torii", period=rng.uniform(60, 600),
                         sizes=(300, 200), app=None)
    if family == "http_poll":
        return _checkins(src, t, end, rng, port=rng.choice((80, 8080)), label="C&C-HeartBeat",
                         period=rng.uniform(30, 900), sizes=(200, 120), app="http")
    if family == "torii_dead":
        c2, out = public_ip(rng), []
        for _ in range(rng.randint(5, 6)):
            if t >= end:
                break
            out += _syn_attempt(src, c2, 443, t, rng, give_up=rng.uniform(16, 30), label="C&C-Torii")
            t += rng.uniform(40, 125)
        return out
    if family == "dropper":
        return _dropper(src, t, end, rng)
    if family == "hakai_dead":
        return _dead_servers(src, t, end, rng)
    if family == "hns_p2p":
        return _hns_peers(src, t, end, rng)
    raise ValueError(family)


def _udp_exchange(ends: tuple[str, int, str, int], t: float, rng: random.Random, *, answered: bool,
                  sizes: tuple[int, int]) -> Flow:
    """One datagram from ``ends``' first address and port to its second and, when ``answered``, its
    answer, as Zeek logs them (SF both ways, S0 unanswered)."""
    src, sport, dst, dport = ends
    ask, answer = rng.randint(2, sizes[0]), rng.randint(8, sizes[1])  # payload bytes at most, each way
    return Flow(0, 17, src, sport, dst, dport, t, t + (0.2 if answered else 0.0), pkts_ab=1, pkts_ba=int(answered),
                bytes_ab=ask + 28, bytes_ba=(answer + 28) * answered, payload_ab=ask, payload_ba=answer * answered,
                extra={"conn_state": "SF" if answered else "S0"})


def _hns_peers(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    """Hide and Seek's P2P channel from its one random port: the next peer of its list every few seconds,
    peers it learns from answers joining the list, other peers reaching its port (module docstring)."""
    port, out = rng.randint(1024, 65535), []
    peers: list[tuple[str, int, bool]] = []  # address, port, answers
    alive = rng.uniform(0.3, 0.7)
    for _ in range(rng.randint(40, 60)):  # hard-coded: ports anywhere, a few shared
        peer_port = rng.choice(peers)[1] if peers and rng.random() < 0.15 else rng.randint(1, 65535)
        peers.append((public_ip(rng), peer_port, rng.random() < alive))
    pace, inbound, i = rng.uniform(2, 15), t + rng.uniform(10, 120), 0
    while t < end:
        peer, peer_port, answers = peers[i % len(peers)]
        out.append((_udp_exchange((src, port, peer, peer_port), t, rng, answered=answers, sizes=(64, 512)), "C&C"))
        if answers and rng.random() < 0.5:  # an answer names another peer
            peers.append((public_ip(rng), rng.randint(1, 65535), rng.random() < alive))
        while inbound <= t:  # a peer that learned of this bot reaches its open port
            ends = (public_ip(rng), rng.randint(1024, 65535), src, port)
            out.append((_udp_exchange(ends, inbound, rng, answered=True, sizes=(64, 512)), "C&C"))
            inbound += rng.uniform(10, 120)
        t += pace * rng.uniform(0.8, 1.2)
        i += 1
    return out


def _dead_servers(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    """Connects to one or two hard-coded servers in turn, none answered, each given up after 33 s (8-1's
    records: the first three SYNs, then the retransmissions 7, 15 and 31 s after the first), the next
    one 33-37 or 40-47 s after the one before, alternately (8-1: 35 and 45 s)."""
    port = rng.choice((50, 666, 1014, 7777, rng.randint(1024, 65535)))
    servers = [public_ip(rng) for _ in range(rng.choice((1, 2)))]
    gaps, out, i = (rng.uniform(33, 37), rng.uniform(40, 47)), [], 0
    while t < end:
        out += _syn_attempt(src, servers[i % len(servers)], port, t, rng, give_up=33.0, label="C&C")
        t += gaps[i % 2]
        i += 1
    return out


def _dropper(src: str, t: float, end: float, rng: random.Random) -> Labelled:
    """One build per architecture fetched over HTTP from a bare address, one after the other; a connect
    left unanswered is retried by the kernel and answered on its fourth retransmission (31 s)."""
    server, out = public_ip(rng), []
    for _ in range(rng.randint(8, 12)):
        if t >= end:
            break
        if rng.random() < 0.5:
            waited = _syn_attempt(src, server, 80, t, rng, give_up=31.0, label="C&C")
            out += waited
            t, sport = t + 31.0, waited[0][0].a_port
        else:
            sport = rng.randint(32768, 60999)
        length = rng.uniform(1.2, 2.4)
        got = _tcp(src, server, 80, t, rng, state="SF", duration=length, app="http",
                   payload=(rng.randint(147, 152), rng.randint(120_000, 210_000)))
        got.a_port = sport
        arch = rng.choice(("arm", "arm5", "arm6", "arm7", "mips", "mpsl", "x86", "ppc", "m68k", "sh4", "spc"))
        got.extra["request"] = (f"/bins/mirai.{arch}", "Wget")  # the loader's busybox wget (packets only)
        out.append((got, "C&C-FileDownload"))
        t += length + rng.uniform(0.05, 0.5)
    return out


def habit(kind: str, src: str, t: float, end: float, rng: random.Random) -> Labelled:
    out: Labelled = []
    if kind == "dead_cloud":  # exponential back-off, 1 s doubling to a 128 s cap, a jitter of 10%
        cloud, port, wait = public_ip(rng), rng.choice((443, 8883)), 1.0
        while t < end:
            give_up = rng.uniform(10, 20)  # the SDK's connect timeout
            out += _syn_attempt(src, cloud, port, t, rng, give_up=give_up, label="-")
            t += give_up + wait * rng.uniform(0.9, 1.1)
            wait = min(wait * 2, 128.0)
    elif kind == "mqtt_cloud":
        cloud = public_ip(rng)
        while t < end:
            length = min(end - t, rng.uniform(1700, 1800))
            out.append((_tcp(src, cloud, 8883, t, rng, state="SF", duration=length, app="tls",
                             payload=(300 + int(length // 60) * 2, 200 + int(length // 60) * 2)), "-"))
            t += length + rng.uniform(0.5, 3)
    elif kind == "p2p_camera":
        relays = [public_ip(rng) for _ in range(3)]
        while t < end:
            for relay in relays:
                out.append((_udp(src, relay, 32100, t, rng, payload=(48, 48)), "-"))
            t += rng.uniform(14, 16)
    elif kind == "ntp":
        server = public_ip(rng)
        while t < end:
            out.append((_udp(src, server, 123, t, rng, payload=(48, 48), app="ntp"), "-"))
            t += 1024
    elif kind == "ntp_pool":  # ntpd over a pool: each server in turn, one of them silent
        servers = [public_ip(rng) for _ in range(rng.randint(5, 6))]
        while t < end:
            for i, server in enumerate(servers):
                flow = _udp(src, server, 123, t, rng, payload=(48, 48), app="ntp")
                if i == 0:  # never answers: Zeek logs the request alone, S0
                    flow.pkts_ba = flow.bytes_ba = flow.payload_ba = 0
                    flow.extra["conn_state"] = "S0"
                out.append((flow, "-"))
                t += rng.uniform(15, 30)
    elif kind == "tls_cloud":  # a device SDK's check-in to its cloud over TLS, every 1-10 min
        out = [(f, "-") for f, _ in _checkins(src, t, end, rng, port=443, label="-", period=rng.uniform(60, 600),
                                              sizes=(1200, 3000), app="tls")]
    elif kind == "http_cloud":  # a device polling its cloud over plain HTTP, every 30 s to 15 min
        out = [(f, "-") for f, _ in _checkins(src, t, end, rng, port=80, label="-", period=rng.uniform(30, 900),
                                              sizes=(300, 400), app="http")]
    elif kind == "pppp_viewers":  # as nku_lifecycle's Xiaobai Y2: a socket a minute, its three P2P servers on it
        servers, view = [public_ip(rng) for _ in range(3)], t + rng.uniform(60, 1800)
        while t < end:
            port = rng.randint(32768, 60999)  # the kernel's pick (Linux's ephemeral range)
            for server in servers:  # a datagram each way every ~15 s for the socket's minute
                flow = _udp_exchange((src, port, server, 32100), t, rng, answered=True, sizes=(64, 64))
                flow.last_seen, flow.pkts_ab, flow.pkts_ba = t + 60.0, 5, 4
                out.append((flow, "-"))
            if t >= view:  # hole punched to the viewer's phone (its ephemeral port) from the same socket
                ends = (src, port, public_ip(rng), rng.randint(32768, 60999))
                out.append((_udp_exchange(ends, t + 1, rng, answered=True, sizes=(64, 64)), "-"))
                view = t + rng.uniform(600, 3600)
            t += rng.uniform(59.5, 60.5)
    elif kind == "webrtc_doorbell":  # a viewing session now and then, each on a socket of its own
        stun, turn = public_ip(rng), public_ip(rng)
        t += rng.uniform(0, 600)
        while t < end:
            port = rng.randint(32768, 60999)  # the kernel's pick (Linux's ephemeral range)
            for server, server_port in ((stun, 19302), (turn, 3478)):
                out.append((_udp_exchange((src, port, server, server_port), t, rng, answered=True, sizes=(64, 128)),
                            "-"))
            ends = (src, port, public_ip(rng), rng.randint(32768, 60999))  # ICE's check with the viewer's phone
            out.append((_udp_exchange(ends, t + 0.5, rng, answered=True, sizes=(128, 128)), "-"))
            t += rng.uniform(300, 1800)
    elif kind == "p2p_relay_443":  # UDP keep-alives to its relays, and a tcp/443 login to each every ~30 min
        relays, login = [public_ip(rng) for _ in range(3)], t + rng.uniform(0, 1800)
        while t < end:
            due = t >= login
            for relay in relays:
                out.append((_udp(src, relay, 32100, t, rng, payload=(48, 12)), "-"))
                if due:
                    out.append((_tcp(src, relay, 443, t + 0.5, rng, state="SF", duration=3.0, payload=(56, 20)), "-"))
            if due:
                login = t + 1800 * rng.uniform(0.9, 1.1)
            t += rng.uniform(28, 32)
    return out


def scanner(src: str, t0: float, rng: random.Random) -> Labelled:
    rate, port = rng.choice((1.0, 5.0, 20.0, 50.0)), rng.choice(SCAN_PORTS)
    out: Labelled = []
    for k in range(int(rate * rng.uniform(30, 300))):
        dst = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" if rng.random() < 0.5 \
            else public_ip(rng)
        out.append((_tcp(src, dst, port, t0 + k / rate, rng, state="REJ" if rng.random() < 0.3 else "S0",
                         duration=0.001), "PartOfAHorizontalPortScan"))
    return out


def infectable_hosts(benign: list[Flow], rng: random.Random) -> tuple[float, float, dict[str, float], list[str]]:
    """The benign day's start and end, each host's first flow, and the internal hosts (not a gateway) on the wire
    within its first 600 s, in an order ``rng`` shuffles: the hosts a scenario infects, in turn."""
    start, end = min(f.first_seen for f in benign), max(f.last_seen for f in benign)
    first: dict[str, float] = {}
    for f in benign:
        first[f.a_ip] = min(first.get(f.a_ip, f.first_seen), f.first_seen)
    hosts = sorted(h for h, t in first.items() if h.startswith("10.10.") and not h.endswith(".1") and t < start + 600)
    rng.shuffle(hosts)
    return start, end, first, hosts


def infect(benign: list[Flow], *, seed: int, infected_from: float, n_scanners: int = SCANNERS, bots_per_family: int = 3,
           habits_each: int = 2) -> tuple[Labelled, Truth]:
    """Benign flows (labelled ``-``) plus scanners, bots of every family and benign look-alike habits
    on internal hosts that are on the wire from the start; bots and scanners start ``infected_from``
    seconds after their host's first flow (0: infected before monitoring started; 3700: after the host's
    own learning hour, which starts at its first flow, up to 600 s into the capture). Scanners and bots each get a
    host of their own; the habits share the hosts left, dealt out in turn (a device has several)."""
    rng = random.Random(seed)
    start, end, first, hosts = infectable_hosts(benign, rng)
    need = n_scanners + bots_per_family * len(FAMILIES) + 1
    if len(hosts) < need:
        raise ValueError(f"{len(hosts)} hosts for {need} roles")
    truth, out = Truth(), [(f, "-") for f in benign]
    pick = iter(hosts)
    for _ in range(n_scanners):
        src = next(pick)
        truth.scanners.add(src)
        out += scanner(src, rng.uniform(first[src] + infected_from, end - 400), rng)
    for family in FAMILIES:
        for _ in range(bots_per_family):
            src = next(pick)
            truth.bots[src] = family
            flows = bot(family, src, first[src] + infected_from + rng.uniform(0, 300), end, rng)
            out += flows
            if family in NAMED_FAMILIES:
                _name(truth, flows, family)
    left = list(pick)
    for i, kind in enumerate(k for k in BENIGN_HABITS for _ in range(habits_each)):
        src = left[i % len(left)]
        truth.benign_habits.setdefault(src, []).append(kind)
        flows = habit(kind, src, start + rng.uniform(0, 300), end, rng)
        out += flows
        _name(truth, flows, kind.replace("_", "-"))
    return out, truth


def _name(truth: Truth, flows: Labelled, kind: str) -> None:
    for f, _ in flows:
        if f.b_ip not in truth.names:
            truth.names[f.b_ip] = f"{kind}{len(truth.names)}.example.net"
