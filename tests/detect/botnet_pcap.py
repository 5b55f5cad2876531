"""The labelled botnet traffic of tests/detect/botnets.py as packets: each flow rendered with the lab's
wire helpers (handshakes, segments, closes) and the bytes its family or habit sends, with the DNS
lookups of destinations that have names, merged in time order into a benign lab capture.

Bytes follow what the sources of botnets.py document: Torii's and the P2P relay login's own binary
protocols (random-looking bytes, not TLS), HTTP polling of a bare IP address, IRC text, Mirai's and
Gafgyt's binary keep-alives; device clouds speak TLS (a ClientHello naming the cloud and the cloud's
certificate chain) or plain HTTP to a named host; NTP is NTPv4 (RFC 5905 §7.3).

A flow between IPv6 addresses is rendered as the same flow between IPv4 stand-ins, then each frame's transport
segment is carried in an IPv6 header instead (:func:`ipv6_frame`; tests/detect/test_botnet_pcap.py decodes its
frames with scapy, an encoder independent of the lab's): the site end's MAC is its IPv4 alias's (``aliases``: the
same device's two addresses), the other end is behind the router, as an IPv4 peer is.
"""

from __future__ import annotations

import ipaddress
import random
import struct
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from iotwarden.detect.base import external, is_internal
from iotwarden.lab import proto_app, proto_net, proto_tls
from iotwarden.lab.generator import PcapWriter, pcap_record
from iotwarden.lab.wire import Host, TcpStream, checksum, udp_frame
from iotwarden.model import Flow
from tests.detect.botnets import Labelled

Frame = tuple[float, bytes]
KEEPALIVE_S = 60.0  # a held session's keep-alive period (Mirai: one 2-byte keep-alive a minute)
DNS_TTL_S = 3600.0  # a name is looked up again after this long
ETH_IPV6 = 0x86DD  # EtherType of IPv6 (RFC 2464 §3)
STAND_IN_BASE = 0xF0000000  # IPv4 stand-ins of IPv6 peers while rendering: 240.0.0.0/4, reserved (RFC 1112 §4)


_RECORD = struct.Struct("<IIII")  # a classic pcap record's header: seconds, microseconds, captured, original length


def _records(pcap: Path) -> tuple[list[float], list[bytes]]:
    """The time and the bytes as stored (header and frame) of each record of a classic little-endian pcap, in file
    order (the lab writes them, in time order)."""
    data = pcap.read_bytes()
    times: list[float] = []
    records: list[bytes] = []
    at = 24
    while at < len(data):
        sec, usec, incl, _ = _RECORD.unpack_from(data, at)
        times.append(sec + usec / 1e6)
        records.append(data[at : at + 16 + incl])
        at += 16 + incl
    return times, records


class Renderer:
    """Frames of labelled flows, for the hosts of one benign capture (their MACs, router, resolver)."""

    def __init__(self, benign: list[Flow], names: dict[str, str], seed: int, *,
                 aliases: dict[str, str] | None = None) -> None:
        self.rng = random.Random(seed)
        self.aliases = aliases or {}  # a site device's IPv6 address -> its IPv4 address (its MAC's)
        self.stand_ins: dict[str, str] = {}  # IPv6 address -> the IPv4 stand-in it is rendered with
        self.v6_of: dict[str, str] = {}  # the reverse
        self.names = names
        self.macs = {f.a_ip: f.a_mac for f in benign if f.a_mac and is_internal(f.a_ip)}
        routers = Counter(f.b_mac for f in benign if f.b_mac and external(f.b_ip))
        self.router = routers.most_common(1)[0][0]
        dns = Counter((f.b_ip, f.b_mac) for f in benign if f.b_port == 53 and f.b_mac and is_internal(f.b_ip))
        ip, mac = dns.most_common(1)[0][0]
        self.resolver = Host(mac, ip)
        self.hosts: dict[str, Host] = {}
        self.looked_up: dict[tuple[str, str], float] = {}

    def host(self, ip: str) -> Host:
        if ip not in self.hosts:
            self.hosts[ip] = Host((self.macs.get(ip) or self.router) if is_internal(ip) else self.router, ip)
        return self.hosts[ip]

    def _lookup(self, src: Host, name: str, ip: str, t: float) -> list[Frame]:
        last = self.looked_up.get((src.ip, name))
        if last is not None and t - last < DNS_TTL_S:
            return []
        self.looked_up[(src.ip, name)] = t
        ident, sport = self.rng.getrandbits(16), self.rng.randint(32768, 60999)
        question = [(name, proto_net.TYPE_A, proto_net.CLASS_IN)]
        q = proto_net.dns_message(ident, 0x0100, question)
        r = proto_net.dns_message(ident, 0x8180, question, [(name, proto_net.TYPE_A, proto_net.CLASS_IN, 300,
                                                            proto_net.rdata_a(ip))])
        return [(t - 0.05, udp_frame(src, self.resolver.mac, self.resolver.ip, q, sport=sport, dport=53)),
                (t - 0.03, udp_frame(self.resolver, src.mac, src.ip, r, sport=53, dport=sport))]

    def _bytes(self, f: Flow, to_server: bool, size: int, first: bool) -> bytes:
        name = self.names.get(f.b_ip, f.b_ip)
        if f.app == "tls" and first:
            if to_server:
                return proto_tls.client_hello(self.rng, name)
            chain = proto_tls.certificate_chain(name, "Cloud", "Cloud CA", 1.7e9, 1)
            return proto_tls.server_flight(self.rng, chain, name, 1)
        if f.app == "tls":
            return proto_tls.record(23, self.rng.randbytes(max(size, 1)))
        if f.app == "http" and first and "request" in f.extra:  # a file fetched by the given path and agent
            if to_server:
                uri, agent = f.extra["request"]
                return proto_app.http_request("GET", uri, name, agent)
            return proto_app.http_response(200, "OK", "nginx", self.rng.randbytes(max(0, size - 160)),
                                           "application/octet-stream")
        if f.app == "http" and first:
            if to_server:
                head = proto_app.http_request("GET", f"/api/v1/poll?id={self.rng.getrandbits(32):08x}", name,
                                              "Mozilla/5.0")
                return head + b"x" * max(0, size - len(head))
            return proto_app.http_response(200, "OK", "nginx", b"{}" + b" " * max(0, size - 120), "application/json")
        if f.app == "irc" and first:
            return (b"NICK x%06d\r\nUSER x 0 * :x\r\nJOIN #b\r\n" % self.rng.getrandbits(20)) if to_server \
                else b":irc 001 x :Welcome\r\n"
        if f.app == "irc":
            return b"PONG :irc\r\n" if to_server else b"PING :irc\r\n"
        if f.app == "ntp":  # RFC 5905 §7.3: LI 0, version 4, mode 3 (client) or 4 (server)
            return bytes([0x23 if to_server else 0x24]) + self.rng.randbytes(47)
        data = self.rng.randbytes(max(size, 1))  # a binary protocol of its own
        return bytes([data[0] & 0x0F]) + data[1:]  # never a TLS record header (content types 20-24)

    def _stand_in(self, ip: str) -> str:
        """The IPv4 address an IPv6 one is rendered with: a site device's own IPv4 alias (its MAC), or a reserved
        address behind the router."""
        if ip not in self.stand_ins:
            alias = self.aliases.get(ip)
            if alias is None:
                alias = str(ipaddress.IPv4Address(STAND_IN_BASE + len(self.stand_ins)))
                self.hosts[alias] = Host(self.router, alias)
            self.stand_ins[ip], self.v6_of[alias] = alias, ip
        return self.stand_ins[ip]

    def frames(self, f: Flow) -> list[Frame]:
        """The frames of ``f``: :meth:`flow`'s, or for an IPv6 flow those of its IPv4 stand-in carried in IPv6."""
        if ":" not in f.a_ip and ":" not in f.b_ip:
            return self.flow(f)
        a, b = (self._stand_in(ip) if ":" in ip else ip for ip in (f.a_ip, f.b_ip))
        return [(t, ipv6_frame(frame, self.v6_of)) for t, frame in self.flow(replace(f, a_ip=a, b_ip=b))]

    def flow(self, f: Flow) -> list[Frame]:
        src, dst = self.host(f.a_ip), self.host(f.b_ip)
        t = f.first_seen
        name = self.names.get(f.b_ip)
        out = self._lookup(src, name, f.b_ip, t) if name else []
        if f.ip_proto == 17:  # a datagram each way, of the record's mean size
            sport = f.a_port
            ask, answer = f.payload_ab // max(f.pkts_ab, 1), f.payload_ba // max(f.pkts_ba, 1)
            out.append((t, udp_frame(src, dst.mac, dst.ip, self._bytes(f, True, ask, True), sport=sport,
                                     dport=f.b_port)))
            if f.pkts_ba:
                out.append((t + 0.02, udp_frame(dst, src.mac, src.ip, self._bytes(f, False, answer, True),
                                                sport=f.b_port, dport=sport)))
            return out
        conn = TcpStream(self.rng, src, f.a_port, dst, f.b_port, rtt=0.04)
        state = f.extra.get("conn_state")
        if state == "REJ":
            return out + conn.refused(t)
        if state == "S0":
            return out + conn.handshake(t)[:1]
        out += conn.handshake(t)
        out += conn.send(conn.t + 0.01, True, self._bytes(f, True, f.payload_ab, True))
        out += conn.send(conn.t + 0.04, False, self._bytes(f, False, f.payload_ba, True))
        beat = conn.t + KEEPALIVE_S
        while beat < f.last_seen - 1:  # a held session: keep-alives both ways
            out += conn.send(beat, True, self._bytes(f, True, 2, False))
            out += conn.send(conn.t + 0.04, False, self._bytes(f, False, 2, False))
            beat += KEEPALIVE_S
        return out + conn.close(max(conn.t + 0.01, f.last_seen))


def ipv6_frame(frame: bytes, v6_of: dict[str, str]) -> bytes:
    """An Ethernet/IPv4 frame (TCP or UDP) as Ethernet/IPv6 (RFC 8200 §3): the same transport segment between the
    IPv6 addresses ``v6_of`` gives for its IPv4 ones, hop limit the TTL, the segment's checksum recomputed over IPv6's
    pseudo-header (RFC 8200 §8.1; a UDP checksum of 0 sent as 0xFFFF, RFC 768)."""
    ihl, (total,) = (frame[14] & 0x0F) * 4, struct.unpack_from("!H", frame, 16)
    ttl, proto = frame[22], frame[23]
    src, dst = (ipaddress.IPv6Address(v6_of[str(ipaddress.IPv4Address(frame[at : at + 4]))]).packed
                for at in (26, 30))
    segment = bytearray(frame[14 + ihl : 14 + total])  # without the Ethernet padding of a short frame
    at = {6: 16, 17: 6}[proto]  # the checksum's offset in a TCP (RFC 9293 §3.1) or UDP header
    segment[at : at + 2] = b"\x00\x00"
    csum = checksum(src + dst + struct.pack("!I3xB", len(segment), proto) + bytes(segment))
    segment[at : at + 2] = struct.pack("!H", csum or (0xFFFF if proto == 17 else 0))
    header = struct.pack("!IHBB16s16s", 6 << 28, len(segment), proto, ttl, src, dst)
    return frame[:12] + struct.pack("!H", ETH_IPV6) + header + bytes(segment)


def write_pcap(path: Path, benign_pcap: Path, benign: list[Flow], labelled: Labelled, *, names: dict[str, str],
               seed: int, renderer: type[Renderer] = Renderer, aliases: dict[str, str] | None = None) -> Path:
    """``benign_pcap`` with the injected (non-benign-capture) flows of ``labelled`` rendered in by ``renderer`` (an
    IPv6 flow's site end with the MAC of its IPv4 alias in ``aliases``)."""
    render = renderer(benign, names, seed, aliases=aliases)
    known = {id(f) for f in benign}
    frames = sorted((fr for f, _ in labelled if id(f) not in known for fr in render.frames(f)),
                    key=lambda x: x[0])
    # the benign records copied as stored, the rendered frames encoded as the lab's writer encodes them, merged in
    # time order (a stable sort of the two sorted runs: at the same time a benign record first): a record is decoded
    # and encoded again no more, the capture's ~180,000 of them took a third of the pcap form's rendering
    times, records = _records(benign_pcap)
    records += (pcap_record(ts, frame) for ts, frame in frames)
    times += (ts for ts, _ in frames)
    with path.open("wb") as fh:
        PcapWriter(fh)  # the file header
        fh.write(b"".join([records[i] for i in np.argsort(np.array(times), kind="stable")]))
    return path
