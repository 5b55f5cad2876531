"""Peer-to-peer botnet channel in a protocol of its own: a device of the site exchanging UDP datagrams,
from one socket, with many outside peers on ports of no known service, from packets or a bare conn.log.

Id ``detect.c2.p2p_udp`` (ATT&CK T1071 Application Layer Protocol, T1095 Non-Application Layer
Protocol: the bots' own binary protocol over UDP, T1008 Fallback Channels: no server to take down).
What the channel looks like, from public analyses:

- Hide and Seek (Bitdefender, Jan. 2018, "New Hide 'N Seek IoT Botnet using custom-built Peer-to-Peer
  communication spotted in the wild", as reported by Version2, https://www.version2.dk/artikel/
  det-nye-iot-botnet-hiden-seek-spreder-sig-hastigt, and Trend Micro, https://www.trendmicro.com/vinfo/
  be/security/news/internet-of-things/-hide-n-seek-botnet-uses-peer-to-peer-infrastructure-to-compromise-
  iot-devices): a custom-built P2P protocol, not BitTorrent's; the bot opens a random port on the device
  and adds a firewall rule letting other peers reach it there. A sample's hard-coded peers (Netlab 360's
  rootkiter, "Hide N Seek [Hard-coded P2P peers]", https://gist.github.com/rootkiter/
  2d813080fed564cdce0a2e01c8fa3a8b, July 2018) are over forty ``address:port`` pairs whose ports lie
  anywhere from 487 to 62797, a few shared by several peers (744 four times, 62797 four times).
- Hajime (Herwig et al., "Measurement and Analysis of Hajime, a Peer-to-peer IoT Botnet", NDSS 2019, read at
  https://docslib.org/doc/5314489/measurement-and-analysis-of-hajime-a-peer-to-peer-iot-botnet) and Mozi
  (Netlab 360, Dec. 2019, "Mozi, Another Botnet Using DHT") find peers on the public BitTorrent DHT (BEP 5)
  and exchange files over uTP (BEP 29), from one UDP port, with outside nodes on their own ports.
  From packets the DHT is ``detect.c2.p2p_dht``'s (``dissect/dht.py`` names the flow, left out here); a bare
  conn.log names no service, and this detector sees the same socket.

So: per device and local UDP port, the distinct outside peers whose datagrams were answered (either
side may ask: HNS peers reach the bot's open port) within ``window_s``, on peer ports that are no known
service (``service_ports``: DNS, NTP, QUIC, STUN/TURN, Teredo, IKE, VPNs, SIP, discovery), over
flows whose protocol nothing recognised. ``min_peers`` peers on at least ``min_peer_ports`` distinct
ports raise it. What it is not: NTP pools, DNS, QUIC and STUN/TURN servers sit on their service ports;
a P2P camera (CS2 PPPP, ``dissect/pppp.py``; ThroughTek Kalay) meets a handful of relay servers sharing
one or two ports, and the viewer's phone, from a socket (nku_lifecycle's Xiaobai Y2: a new one a minute);
WebRTC opens a socket per session with one or two peers; multicast discovery (mDNS, SSDP) never reaches an
outside address; an internal server answering outside clients does so on its service port. Game consoles,
computers, phones and NAS run P2P applications (multiplayer, torrent clients, WebRTC): nothing is raised
for their types; high for an IoT, OT, building or medical device or one the classifier has not placed
(every device of a bare conn.log), medium for a router or other network device. One alert per device
and port per ``realert_s``.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import (
    COUNT,
    DURATION,
    ENTRIES,
    IOT_CATEGORIES,
    MAX_EVIDENCE_FLOWS,
    SECONDS,
    Detector,
    Options,
    Range,
    category,
    external,
    flow_domain,
    is_internal,
    site_host,
    subject_key,
)
from iotwarden.detect.p2p import CLIENT_TYPES
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Flow
from iotwarden.model.finding import Severity

P2P_UDP = "detect.c2.p2p_udp"
# device types whose P2P applications are their users' (taxonomy ids): computers, phones, NAS, and game
# consoles (the taxonomy's category iot), whose multiplayer sessions reach other players' consoles directly
EXEMPT_TYPES = CLIENT_TYPES | {"game_console"}
# UDP ports of services a device meets outside the site, on either side of a flow (IANA service names):
# DHCP 67/68, DNS 53 and DoQ 853 (RFC 9250), TFTP 69, NTP 123, NetBIOS 137/138, SNMP 161/162, QUIC 443 (RFC
# 9000), IKE 500 and NAT-T 4500 (RFC 7296), syslog 514, OpenVPN 1194, L2TP 1701, SSDP 1900, STUN/TURN 3478/
# 3479 and 5349 (RFC 8489, RFC 8656), Teredo 3544 (RFC 4380), SIP 5060/5061, mDNS 5353, LLMNR 5355, CoAP 5683/
# 5684 (RFC 7252), WireGuard 51820, Google's STUN 19302-19309, Tailscale 41641 (tailscaled's WireGuard socket,
# which meets each peer at the port its NAT mapped: https://tailscale.com/kb/1082/firewall-ports)
SERVICE_PORTS = (
    "53,67,68,69,123,137,138,161,162,443,500,514,853,1194,1701,1900,3478,3479,3544,4500,5060,5061,"
    "5349,5353,5355,5683,5684,19302,19303,19304,19305,19306,19307,19308,19309,41641,51820"
)


@dataclass(frozen=True)
class P2pUdpOptions(Options):
    window_s: float = 900.0  # answered peers of one socket counted within this long
    min_peers: int = 10  # distinct outside peers answering one socket: a P2P network member
    min_peer_ports: int = 6  # on this many distinct ports at least: peers, not one service's servers
    realert_s: float = 86400.0  # one alert per device and port within this long
    unknown_wait_s: float = 600.0  # capture seconds a socket of a device not yet classified waits for its verdict
    max_sockets: int = 50_000  # (device, local port) tracked (LRU)
    max_peers: int = 128  # peers remembered per socket (the oldest forgotten past it)
    service_ports: str = SERVICE_PORTS  # a peer or local port among these is a service's, not a peer's
    bounds: ClassVar[dict[str, Range]] = {
        "window_s": SECONDS,
        "min_peers": COUNT,
        "min_peer_ports": COUNT,
        "realert_s": DURATION,
        "unknown_wait_s": DURATION,
        "max_sockets": ENTRIES,
        "max_peers": ENTRIES,
    }


def _ports(text: str) -> frozenset[int]:
    out = set()
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if not (item.isascii() and item.isdigit() and 0 < int(item) < 65536):
            raise ConfigError(f"{P2pUdpDetector.name}.service_ports: {item!r} is not a port number")
        out.add(int(item))
    return frozenset(out)


class _Socket:
    """One device's UDP port: its answered outside peers (address -> (time, port)), newest last."""

    __slots__ = ("flows", "peers")

    def __init__(self) -> None:
        self.peers: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self.flows: deque[Flow] = deque(maxlen=MAX_EVIDENCE_FLOWS)


class P2pUdpDetector(Detector):
    name: ClassVar[str] = "detect.p2p_udp"
    ids: ClassVar[tuple[str, ...]] = (P2P_UDP,)
    defaults: ClassVar[Options] = P2pUdpOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._service = _ports(self.options.service_ports)
        if self.options.max_peers < self.options.min_peers:  # a socket could never hold enough peers
            raise ConfigError(
                f"{self.name}.max_peers: expected at least min_peers ({self.options.min_peers}), "
                f"got {self.options.max_peers}"
            )
        self._sockets: OrderedDict[tuple[str, int], _Socket] = OrderedDict()
        self._raised: OrderedDict[tuple[str, int], float] = OrderedDict()
        # sockets that met the thresholds while their device was not classified: (since, MAC, ports, flow, socket;
        # the socket kept even when the LRU of tracked sockets lets it go)
        self._waiting: OrderedDict[tuple[str, int], tuple[float, str | None, set[int], Flow, _Socket]] = OrderedDict()

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # flow() judges only answered UDP flows of no recognised protocol: everything else passed over here
        for flow in flows:
            if flow.ip_proto == 17 and flow.pkts_ba and flow.pkts_ab and flow.app is None:
                self.flow(ctx, flow)

    def flow(self, ctx: Context, flow: Flow) -> None:
        if flow.ip_proto != 17 or not flow.pkts_ab or not flow.pkts_ba or flow.app is not None:
            return
        if flow.a_port in self._service or flow.b_port in self._service:
            return
        if is_internal(flow.a_ip) and external(flow.b_ip):
            device, port, mac, peer, peer_port = flow.a_ip, flow.a_port, flow.a_mac, flow.b_ip, flow.b_port
        elif is_internal(flow.b_ip) and external(flow.a_ip):  # a peer reaching the device's open port
            device, port, mac, peer, peer_port = flow.b_ip, flow.b_port, flow.b_mac, flow.a_ip, flow.a_port
        else:
            return
        o: P2pUdpOptions = self.options
        key = (site_host(device, flow_domain(flow)), port)  # the device within its broadcast domain
        sock = self._sockets.get(key)
        if sock is None:
            sock = self._sockets[key] = _Socket()
            if len(self._sockets) > o.max_sockets:
                self._sockets.popitem(last=False)
        else:
            self._sockets.move_to_end(key)
        now = flow.first_seen
        peers = sock.peers
        peers[peer] = (now, peer_port)
        peers.move_to_end(peer)
        while peers and (now - next(iter(peers.values()))[0] > o.window_s or len(peers) > o.max_peers):
            peers.popitem(last=False)
        sock.flows.append(flow)
        if len(peers) < o.min_peers:
            return
        last = self._raised.get(key)
        if last is not None and now - last < o.realert_s:
            return
        ports = {p for _, p in peers.values()}
        if len(ports) < o.min_peer_ports:
            return
        if key in self._waiting:
            return  # met the thresholds before: judged when its device is placed or its wait is over
        self._alert(ctx, key, sock, mac=mac, ports=ports, flow=flow)

    def _release_oldest(self, ctx: Context) -> None:
        key, (_, mac, ports, flow, sock) = self._waiting.popitem(last=False)
        self._alert(ctx, key, sock, mac=mac, ports=ports, flow=flow, waited=True)

    def on_tick(self, ctx: Context, ts: float) -> None:
        super().on_tick(ctx, ts)
        self._release(ctx, ts)

    def done(self, ctx: Context) -> None:
        super().done(ctx)
        self._release(ctx, None)

    def _release(self, ctx: Context, ts: float | None) -> None:
        """Judge the waiting sockets whose device the classifier has placed since, or whose wait is over (all of
        them at the end of input): still unplaced then, the device counts as one the classifier cannot place."""
        for key, (since, mac, ports, flow, sock) in list(self._waiting.items()):
            placed = category(ctx, subject_key(ctx, mac, key[0].partition("%")[0], flow_domain(flow),
                                               flow.first_seen)) is not None
            if ts is None or placed or ts - since >= self.options.unknown_wait_s:
                del self._waiting[key]
                self._alert(ctx, key, sock, mac=mac, ports=ports, flow=flow, waited=True)

    def _alert(
        self, ctx: Context, key: tuple[str, int], sock: _Socket, *, mac: str | None, ports: set[int], flow: Flow,
        waited: bool = False,
    ) -> None:
        device, port = key[0].partition("%")[0], key[1]  # the address without its domain (site_host)
        o: P2pUdpOptions = self.options
        subject = subject_key(ctx, mac, device, flow_domain(flow), flow.first_seen)
        found = category(ctx, subject)
        if found is None and not waited:  # not classified yet (packets before the classifier's first pass): wait
            if key not in self._waiting:
                self._waiting[key] = (flow.first_seen, mac, ports, flow, sock)
                if len(self._waiting) > o.max_sockets:
                    self._release_oldest(ctx)
            return
        self._waiting.pop(key, None)
        self._raised[key] = flow.first_seen  # judged: an exempt device is not asked again within realert_s
        self._raised.move_to_end(key)
        if len(self._raised) > o.max_sockets:
            self._raised.popitem(last=False)
        dev = ctx.devices.get(subject)
        if dev is not None and dev.device_type in EXEMPT_TYPES:
            return  # a computer's, phone's or console's P2P application
        if found is not None and found not in IOT_CATEGORIES and found != "network":
            return  # another IT host: its users' applications
        severity: Severity = "medium" if found == "network" else "high"
        peer = flow.b_ip if flow.a_ip == device else flow.a_ip
        peers = sock.peers
        self.raise_alert(
            ctx,
            P2P_UDP,
            title=f"{device} exchanges UDP from port {port} with {len(peers)} outside peers on {len(ports)} ports",
            severity=severity,
            subject=subject,
            ts=flow.first_seen,
            key=f"udp/{port}",
            mitre=("T1071", "T1095", "T1008"),
            src_ip=device,
            dst_ip=peer,
            evidence={
                "peers": len(peers),
                "peer_ports": len(ports),
                "local_port": port,
                "category": found,
                "examples": [f"{ip}:{p}" for ip, (_, p) in list(peers.items())[-10:]],
            },
            flows=list(sock.flows),
        )
