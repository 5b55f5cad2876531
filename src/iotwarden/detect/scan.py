"""Scan detection from flows alone (pcap or Zeek conn.log): failed connection attempts by one source.

Ids: ``detect.scan.horizontal`` (one port, many hosts; ATT&CK T1046), ``detect.scan.vertical`` (one
host, many ports; T1046) and ``detect.scan.telnet_mirai`` (a horizontal scan of Telnet 23/2323, the
Mirai family's propagation, T1046 + T1110). A probe is a TCP attempt that never carried data
(:func:`~iotwarden.detect.base.failed_attempt`) or a UDP flow to one host that got no answer. On the local
segment an ARP sweep (who-has requests for ``min_arp_targets`` addresses within the window, RFC 826)
is a horizontal scan too (key ``arp``; T1018 Remote System Discovery): a scanner resolves every
address it tries, live or not, before its first SYN (per broadcast domain, Observation.domain: two VLANs'
hosts sharing an address are two askers). So is a ping sweep beyond the segment: unanswered
ICMP echo, timestamp or address-mask requests (RFC 792, RFC 950; ICMPv6 echo, RFC 4443) to
``min_hosts`` hosts within the window (key ``icmp``; nmap's -PE/-PP/-PM host discovery). Only the
unanswered ones count: a monitoring system pinging the hosts it watches gets answers. Flow probes and ping
sweeps count per source, an internal source within its broadcast domain (detect/base.site_host, flow_domain):
two VLANs' or VPCs' 10.0.0.9 probing 6 hosts each are two sources, not one scanner of 12; a source outside the
site is one source wherever it is seen. Targets count the same way: an outside scanner probing 10.0.0.7 on
VLAN 10 and on VLAN 20 probed two hosts.

A scan paced under ``min_hosts`` a window (one connect every 15-60 s, for hours) is a slow scan:
``min_slow_hosts`` distinct hosts probed over TCP on one port outside the device-cloud ports (base.SERVICE_PORTS)
within ``slow_window_s``, raised under the fast scan's id with the key ``PORT/slow`` (``23/2323/slow``) unless
that port's fast scan was raised within ``slow_window_s``. A UDP datagram carrying more than ``max_udp_probe``
payload bytes (a flow's datagrams on average: a probe sent twice is one flow) is no probe: a flood's random ports
(Mirai's ``attack_udp_generic``, 512 bytes a datagram by default) are no port scan.

Monitoring is no scan: a monitoring server or a load balancer probes the same targets again and again at a fixed
interval (Nagios check_ping of hosts that are down, an SNMP poller's switched-off printers, HAProxy's TCP checks
closed with RST), a scan touches each target once or a few times. A target (host and port, or host for a ping)
probed ``min_cycles`` times by one source, each a new connection (over TCP another source port: a retransmission
keeps its port; over UDP a flow of its own, its retransmissions being its datagrams: a poller keeping one socket
polls from one port) at least ``min_cycle_s`` after the one before and at a steady cadence (each gap within
``cadence_tolerance`` of the gap before), is watched: its probes count towards no scan while the cadence holds.
The first cycles of a monitor still count (nothing tells them from a sweep yet), so a horizontal or Mirai-style
scan or a ping sweep that failed on fewer than ``max_held_hosts`` targets is held (detect/scan_hold): dropped when
its targets turn out watched, raised as it was found once ``hold_s`` of traffic time passed without that (at a flow
starting that late or at a tick: a quiet live link hands over no flow), at the end of input, or at once when it
reaches ``max_held_hosts`` failed targets. From packets an unanswered ICMP flow of
``min_cycles`` requests or more, ``min_cycle_s`` apart on average, is watched by itself: the engine keeps a monitor's
pings of a host that is down in one flow while its idle timeout is longer than their period. A connection the
initiator completed (its ACK of the SYN-ACK: three packets or more, SYN, ACK, RST) and then reset with no bytes is a
load balancer's TCP health check (HAProxy closes its checks with RST, Zeek RSTO history ShAR) or an open port of a
connect scan (nmap -sT resets what it connected to at once): a probe the first time, no probe when it repeats a
target the source completed a connection to within ``slow_window_s`` (a check comes back to its target, a scanner
touches each port once), and it counts towards no held sweep's size and no slow scan. A SYN scanner's kernel
resets an open port's SYN-ACK without completing it (two packets, ShR): a probe.

An alert's evidence is its own scan's probes: the last ``EVIDENCE_FLOWS`` of the source's latest ``RECENT_PROBES``
that are a horizontal scan's to its port, a Telnet scan's to 23/2323, a port scan's to its host, a ping sweep's
pings (an ARP sweep's: its latest requests; a slow scan's: its port's first probes), never the source's first
flows, which may be to another port or host hours before.

An address a DNS answer gave the source is no probe target (RFC 1035 A, RFC 3596 AAAA records, seen by the sensor
or in Zeek's dns.log): a client connecting to the addresses of a name it looked up uses a service, whatever answers.
A blocked cloud's round robin is tried address after address (RFC 8305 §5: Happy Eyeballs races them 250 ms apart,
eight an answer, from a pool a short TTL rotates through): unanswered connects to ten addresses of 443 a minute. A
scanner picks its targets, it does not look them up. Only a connect that starts after the answer is exempt: an answer
read after the probes (a flow is handed over at its end, a Zeek batch's answers before its flows) unmakes no scan.
Kept per (client, address), ``max_resolved`` pairs (LRU); a Zeek conn.log alone (IoT-23's) holds no answers, so
there such a client is still a horizontal scan of its port.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from math import inf
from typing import Any, ClassVar

from iotwarden.detect.base import (
    BYTES,
    COUNT,
    ENTRIES,
    SECONDS,
    SERVICE_PORTS,
    SHARE,
    Detector,
    Options,
    Range,
    failed_attempt,
    flow_domain,
    initiator,
    site_host,
    subject_key,
)
from iotwarden.detect.scan_hold import Held, Holds
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation
from iotwarden.model.observation import scoped

HORIZONTAL, VERTICAL, MIRAI = "detect.scan.horizontal", "detect.scan.vertical", "detect.scan.telnet_mirai"
TELNET_PORTS = frozenset({23, 2323})
EVIDENCE_FLOWS = 4  # probes an alert carries as evidence: the scan's own (its port's, its host's, its pings)
RECENT_PROBES = 16  # each source's latest probes kept, of which an alert's evidence is the scan's own
PORT_PROTOS = (6, 17)  # the probes a port's scan counts: TCP and UDP
# a probe is a TCP attempt that never carried data, or an unanswered UDP datagram unless it comes from
# a service port (a reply whose request was not seen) or goes to a discovery/infrastructure service
# (DNS, DHCP, NTP, NetBIOS, SSDP, mDNS, LLMNR)
UDP_NOT_PROBED = frozenset({53, 67, 68, 123, 137, 138, 1900, 5353, 5355})
MULTICAST_FIRST_OCTETS = frozenset(str(n) for n in range(224, 240))  # 224.0.0.0/4 (RFC 5771)
# ICMP requests a host-discovery sweep sends, per IP protocol: echo, timestamp, address mask (ICMPv4);
# echo request (ICMPv6). Flow.extra["icmp_type"]: the type the flow's initiator sent first
ICMP_REQUESTS = {1: frozenset({8, 13, 17}), 58: frozenset({128})}


def _health_check(flow: Flow) -> bool:
    """A TCP connection the initiator completed and then reset without a byte: a health check, no probe. Its
    initiator sent three packets or more (SYN, ACK, RST; Zeek history ShAR), a raw SYN scanner two (SYN, RST: ShR).
    From Zeek, the RSTO state; from packets, a SYN-ACK answered and the initiator's RST."""
    if flow.pkts_ab < 3 or flow.payload_ab or flow.payload_ba:
        return False
    state = flow.extra.get("conn_state")
    if isinstance(state, str) and state:
        history = flow.extra.get("history")
        return state == "RSTO" and (not isinstance(history, str) or not history or "A" in history)
    return bool(flow.tcp_flags_ba & 0x12 == 0x12 and flow.tcp_flags_ab & 0x14 == 0x14)


def _to_a_group(flow: Flow) -> bool:
    """True for a datagram to a broadcast or multicast address: the answers come from the hosts themselves, in
    flows of their own, so the datagram's flow is never answered and is no probe (a PLC's search answers
    broadcast to the engineering tool's ports: MELSOFT udp/5560). By the destination MAC's group bit (IEEE
    802-2014 §8.2) when the flow has one, else by the address (limited broadcast, IPv4/IPv6 multicast)."""
    mac = flow.b_mac
    if mac:
        return int(mac[:2], 16) & 1 == 1
    host = flow.b_ip or ""
    return host == "255.255.255.255" or host.partition(".")[0] in MULTICAST_FIRST_OCTETS or host[:2] == "ff"


@dataclass(frozen=True)
class ScanOptions(Options):
    window_s: float = 60.0  # probes counted within this long of each other
    min_hosts: int = 10  # distinct hosts probed on one port: a horizontal scan
    min_telnet_hosts: int = 5  # distinct hosts probed on 23/2323: a Mirai-style scan
    min_ports: int = 15  # distinct ports probed on one host: a vertical scan
    min_arp_targets: int = 64  # distinct addresses ARP-resolved by one host: an ARP sweep
    max_sources: int = 50_000  # scanning sources tracked at once (LRU)
    max_targets: int = 1024  # hosts (or ports) remembered per source and port (or host), and ports (hosts) per source
    slow_window_s: float = 3600.0  # a slow scan's probes counted within this long of each other
    min_slow_hosts: int = 30  # distinct hosts probed over TCP on one port outside SERVICE_PORTS: a slow scan
    max_udp_probe: int = 256  # payload bytes a UDP probe carries at most (a flood's datagrams carry more)
    min_cycles: int = 3  # probes of one target at a steady cadence that make it watched (monitoring), not scanned
    min_cycle_s: float = 1.0  # a new cycle's probe comes at least this long after the one before
    cadence_tolerance: float = 0.5  # a steady cadence: each gap within this share of the gap before
    # a small sweep's scan waits this long for its targets to show a cadence: the third cycle of a 5-minute poller
    # (600 s) and the engine's idle timeout (120 s: an unanswered probe's flow is handed over that long after it
    # began), with room to spare
    hold_s: float = 900.0
    max_held_hosts: int = 32  # failed targets past which a sweep is raised at once (a worm's, a /24's reach it fast)
    max_resolved: int = 100_000  # (client, address) pairs of DNS answers remembered (LRU): no probe targets
    bounds: ClassVar[dict[str, Range]] = {"window_s": SECONDS, "min_hosts": COUNT, "min_telnet_hosts": COUNT,
                                          "min_ports": COUNT, "min_arp_targets": COUNT, "max_sources": ENTRIES,
                                          "max_targets": ENTRIES, "slow_window_s": SECONDS, "min_slow_hosts": COUNT,
                                          "max_udp_probe": BYTES, "min_cycles": (2, COUNT[1]), "min_cycle_s": SECONDS,
                                          "hold_s": (0.0, SECONDS[1]), "max_held_hosts": COUNT,
                                          "cadence_tolerance": SHARE, "max_resolved": ENTRIES}


# Every table below is kept in last-probe order (least recently probed first), so the entries older
# than the window are at the front: counting what is fresh is amortised O(1) per probe, and a table
# past ``max_targets`` drops its least recently probed entry.
Recent = OrderedDict  # key -> time of its last probe


@dataclass(slots=True)
class _Probes:
    by_port: Recent[int, Recent[str, float]] = field(default_factory=Recent)  # port -> host -> last probe
    # host -> port -> last probe; a host probed on one port holds (port, last probe) until a second
    # port comes (a horizontal sweep: a new host per probe, each on one port)
    by_host: Recent[str, Recent[int, float] | tuple[int, float]] = field(default_factory=Recent)
    # the latest RECENT_PROBES probes, whatever they probed: an alert takes the last EVIDENCE_FLOWS of its own
    # scan (the source's first flows may be to another port or host, hours before)
    recent: deque[Flow] = field(default_factory=lambda: deque(maxlen=RECENT_PROBES))
    arp_requests: deque[Observation] = field(default_factory=lambda: deque(maxlen=EVIDENCE_FLOWS))  # the latest
    # (id, key) -> last raised, in raise order; past both windows or max_targets entries the oldest goes (_raised)
    alerted: Recent[tuple[str, str], float] = field(default_factory=Recent)
    arp: Recent[str, float] = field(default_factory=Recent)  # address asked for -> last request
    icmp: Recent[str, float] = field(default_factory=Recent)  # host sent an unanswered ICMP request -> last one
    slow: Recent[int, Recent[str, float]] = field(default_factory=Recent)  # port -> host -> last probe (slow_window_s)
    # port -> its first probes (up to EVIDENCE_FLOWS), a slow scan's evidence: the source's first flows (``flows``)
    # may be to another port; a port leaves with its ``slow`` table
    slow_flows: dict[int, list[Flow]] = field(default_factory=dict)
    # (port, host) -> (source port, last probe, gap before it, probes at that cadence); port ICMP for a ping
    cycles: Recent[tuple[int, str], tuple[int, float, float, int]] = field(default_factory=Recent)
    # (port, host) -> last connection completed then reset (_health_check); a repeat is a check, no probe
    checked: Recent[tuple[int, str], float] = field(default_factory=Recent)
    held: dict[int, Held] = field(default_factory=dict)  # port (TELNET, ICMP) -> its sweep's held scan (scan_hold)


def _probed(table: Recent[Any, float], key: Any, ts: float, limit: int) -> None:
    """Put ``key`` last (most recently probed) with the later of ``ts`` and its last probe; past
    ``limit`` entries the least recent goes (ARP requests; :meth:`ScanDetector.flows` does it inline)."""
    last = table.get(key)
    table[key] = last if last is not None and last > ts else ts
    table.move_to_end(key)
    if len(table) > limit:
        table.popitem(last=False)


def _raised(table: Recent[tuple[str, str], float], key: tuple[str, str], ts: float, o: ScanOptions) -> None:
    """Remember that ``key`` was raised at ``ts``; an entry raised longer ago than both windows can hold back no
    detection, so it goes, and past ``max_targets`` entries (a source port-scanning many hosts) the oldest goes too."""
    table[key] = ts
    table.move_to_end(key)
    horizon = ts - max(o.window_s, o.slow_window_s)
    while table and (len(table) > o.max_targets or next(iter(table.values())) < horizon):
        table.popitem(last=False)


ICMP = -1  # the port of a ping's target in _Probes.cycles, and of a ping sweep in _Probes.held
TELNET = -2  # the port of a Telnet sweep (23 and 2323 together) in _Probes.held


def _steady(cycles: Recent[tuple[int, str], tuple[int, float, float, int]], target: tuple[int, str], sport: int,
            ts: float, before: float | None, *, o: ScanOptions) -> bool:
    """Count a probe of ``target`` from ``sport`` at ``ts`` towards its cycles; True when it is watched (probed
    ``min_cycles`` times at a steady cadence, this probe included). A probe from the last one's source port or
    sooner than ``min_cycle_s`` after it is a retransmission or the same cycle: it changes nothing. A target is
    entered at its first repeat, ``before`` being its first probe's time (None: a ping's first probe); that
    probe's source port is not known, so a first repeat ``min_cycle_s`` after it is a new cycle."""
    seen = cycles.get(target)
    if seen is None:
        cycles[target] = ((sport, ts, ts - before, 2) if before is not None and ts - before >= o.min_cycle_s
                          else (sport, ts, 0.0, 1))
        if len(cycles) > o.max_targets:
            cycles.popitem(last=False)
        return False
    cycles.move_to_end(target)
    last_sport, last, gap, n = seen
    now_gap = ts - last
    if (sport >= 0 and sport == last_sport) or now_gap < o.min_cycle_s:
        return n >= o.min_cycles
    n = n + 1 if n == 1 or abs(now_gap - gap) <= o.cadence_tolerance * gap else 2
    cycles[target] = (sport, ts, now_gap, n)
    return n >= o.min_cycles


def _own(recent: deque[Flow], probe: Callable[[Flow], bool]) -> list[Flow]:
    """A scan's evidence: the last EVIDENCE_FLOWS of the source's recent probes that are the scan's own (``probe``:
    to its port, its host, a ping), oldest first; the probe that raised it is the latest."""
    own = [f for f in reversed(recent) if probe(f)][:EVIDENCE_FLOWS]
    own.reverse()
    return own


def _repeat(checked: Recent[tuple[int, str], float], target: tuple[int, str], ts: float, o: ScanOptions) -> bool:
    """Remember a connection completed then reset to ``target``; True when the source completed one to it within
    ``slow_window_s`` before (a health check comes back to its targets; a connect scan touches each port once)."""
    last = checked.get(target)
    checked[target] = ts if last is None or ts > last else last
    if last is not None:
        checked.move_to_end(target)
        return ts - last <= o.slow_window_s
    if len(checked) > o.max_targets:
        checked.popitem(last=False)
    return False


def _fresh(seen: Recent[Any, float], now: float, window: float) -> int:
    """Entries probed within ``window`` of ``now``; the older ones are dropped from the front."""
    while seen:
        oldest = next(iter(seen.values()))
        if now - oldest <= window:
            break
        seen.popitem(last=False)
    return len(seen)


class ScanDetector(Detector):
    observes = frozenset({"arp", "dns"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.scan"
    ids: ClassVar[tuple[str, ...]] = (HORIZONTAL, VERTICAL, MIRAI)
    defaults: ClassVar[Options] = ScanOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._src: OrderedDict[str, _Probes] = OrderedDict()
        o: ScanOptions = self.options
        self._holds = Holds(o.hold_s, o.max_held_hosts, o.max_targets, o.max_sources)
        # (client, address its DNS answer gave) -> the answer's time: only connects that start after it are exempt
        self._resolved: OrderedDict[tuple[str, str], float] = OrderedDict()

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        f = obs.fields
        if obs.proto == "dns":
            if obs.kind == "response" and obs.dst_ip:
                self._resolve(obs.dst_ip, obs)
            return
        if obs.proto != "arp" or obs.kind != "request" or f.get("gratuitous") or f.get("probe"):
            return
        src, target = f.get("sender_ip"), f.get("target_ip")
        if not isinstance(src, str) or not isinstance(target, str):
            return
        o: ScanOptions = self.options
        domain = obs.domain
        st = self._state(scoped(src, domain))  # ARP stays on its link (RFC 826): the asker is src on it
        _probed(st.arp, target, obs.ts, o.max_targets)
        st.arp_requests.append(obs)
        n = _fresh(st.arp, obs.ts, o.window_s) if len(st.arp) >= o.min_arp_targets else 0
        if n >= o.min_arp_targets and self._due(st, HORIZONTAL, "arp", obs.ts):
            self.raise_alert(ctx, HORIZONTAL, title=f"ARP sweep of {n} addresses from {src}", severity="medium",
                             subject=subject_key(ctx, obs.src_mac, src, domain), ts=obs.ts, key="arp",
                             mitre=("T1018", "T1046"), src_ip=src,
                             evidence={"hosts": n, "proto": "arp", **({"domain": domain} if domain else {})},
                             observations=list(st.arp_requests))

    def _resolve(self, client: str, obs: Observation) -> None:
        """Remember the A/AAAA addresses of a DNS answer as its client's (within the answer's broadcast domain, as
        flows key a tagged source and target: site_host)."""
        answers = obs.fields.get("answers")
        resolved, limit, domain = self._resolved, self.options.max_resolved, obs.domain
        client = site_host(client, domain)
        for answer in answers if isinstance(answers, list) else ():
            if isinstance(answer, dict) and answer.get("type") in ("A", "AAAA") and isinstance(answer.get("data"), str):
                pair = (client, site_host(answer["data"], domain))
                at = resolved.get(pair)
                resolved[pair] = obs.ts if at is None or obs.ts < at else at  # the first answer exempts from then
                resolved.move_to_end(pair)
                if len(resolved) > limit:
                    resolved.popitem(last=False)

    def _state(self, src: str) -> _Probes:
        st = self._src.get(src)
        if st is None:
            st = self._src[src] = _Probes()
            if len(self._src) > self.options.max_sources:
                self._src.popitem(last=False)
        self._src.move_to_end(src)
        return st

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # per batch, with the source and target tables' LRU steps (_state, _probed) inline:
        # a scan sends every one of its probes through here, each to a new host
        o: ScanOptions = self.options
        sources, max_sources, limit, window = self._src, o.max_sources, o.max_targets, o.window_s
        min_hosts, min_telnet_hosts, min_ports = o.min_hosts, o.min_telnet_hosts, o.min_ports
        max_udp_probe, resolved = o.max_udp_probe, self._resolved
        one_port = limit >= 2 and min_ports >= 2  # (port, time) stands for a table that is never counted
        # a key added to a table goes last by itself: move_to_end only for keys already there; and the
        # source of the probe before, most recent already, is not looked up again (a sweep's millions)
        last_src: str | None = None
        st = _Probes()
        holds = self._holds
        for flow in flows:
            if flow.first_seen >= holds.next_due:  # judged at each flow's start: the same batched or one by one
                ctx.alerts += holds.due(flow.first_seen)
            proto = flow.ip_proto
            if proto == 1 or proto == 58:  # noqa: PLR1714 - two int compares beat a set lookup per flow here
                self._ping(ctx, flow)
                last_src = None  # _ping may have moved or dropped sources: look the next one up
                continue
            if not (failed_attempt(flow) if proto == 6 else (
                    proto == 17 and flow.pkts_ba == 0 and flow.a_port >= 1024 and flow.b_port not in UDP_NOT_PROBED
                    and flow.payload_ab <= max_udp_probe * max(flow.pkts_ab, 1) and not _to_a_group(flow))):
                continue
            completed = proto == 6 and _health_check(flow)  # a load balancer's check or a connect scan's open port
            src, ts, host, port = flow.a_ip, flow.first_seen, flow.b_ip, flow.b_port
            if flow.vlan or "vni" in flow.extra:  # tagged or tunnelled: an internal source and target within
                domain = flow_domain(flow)  # their domain (two VLANs' 10.0.0.7 are two targets)
                src, host = site_host(src, domain), site_host(host, domain)
            if resolved and resolved.get((src, host), inf) <= ts:
                continue  # an address the source looked up before: it uses a name, it probes nothing
            if src != last_src or last_src is None:
                known = sources.get(src)
                if known is None:
                    st = sources[src] = _Probes()
                    if len(sources) > max_sources:
                        sources.popitem(last=False)
                else:
                    st = known
                    sources.move_to_end(src)
                last_src = src
            # a target probed before (by_host holds its last probe on the port) may be watched: a sweep's new
            # targets cost no more than the lookup the host table needs anyway
            by_host = st.by_host
            ports = by_host.get(host)
            if ports is not None:
                before = (ports[1] if ports[0] == port else None) if isinstance(ports, tuple) else ports.get(port)
                # a UDP flow's retransmissions are its own datagrams (its flow ends idle): a poller's one socket, no
                # retransmission, sends each cycle's request from the port of the one before
                sport = flow.a_port if proto == 6 else -1
                if before is not None and _steady(st.cycles, (port, host), sport, ts, before, o=o):
                    if st.held:
                        held = st.held.get(TELNET if port in TELNET_PORTS and proto == 6 else port)
                        if held is not None:
                            self._holds.watched(held, host)
                    continue  # a watched target: monitoring, no scan's probe
            if completed and _repeat(st.checked, (port, host), ts, o):
                continue  # a check comes back to its target; a scanner touches each port once
            by_port = st.by_port
            hosts = by_port.get(port)
            if hosts:
                by_port.move_to_end(port)
            else:
                had = hosts is not None
                hosts = by_port[port] = Recent()
                if had:
                    by_port.move_to_end(port)
                if len(by_port) > limit:
                    by_port.popitem(last=False)
            last = hosts.get(host)
            if last is None:
                hosts[host] = ts
                if len(hosts) > limit:
                    hosts.popitem(last=False)
            else:
                if ts > last:
                    hosts[host] = ts
                hosts.move_to_end(host)
            known_host = ports is not None
            if isinstance(ports, tuple):
                first, last = ports
                ports = (port, last if last > ts else ts) if first == port else Recent(((first, last), (port, ts)))
            elif ports is None and one_port:
                ports = (port, ts)
            else:
                table: Recent[int, float] = ports or Recent()
                last = table.get(port)
                table[port] = last if last is not None and last > ts else ts
                table.move_to_end(port)
                if len(table) > limit:
                    table.popitem(last=False)
                ports = table
            by_host[host] = ports  # a sweep of millions keeps the latest hosts only
            if known_host:
                by_host.move_to_end(host)
            elif len(by_host) > limit:
                by_host.popitem(last=False)
            st.recent.append(flow)
            telnet = port in TELNET_PORTS and proto == 6
            if st.held:
                held = st.held.get(TELNET if telnet else port)
                if held is not None:
                    ctx.alerts += self._holds.grow(held, host, failed=not completed)
            # a connection completed then reset counts towards no slow scan: a client racing two ports of a server
            # and resetting the loser (Windows: 445 and 139) does it at the pace of its use, a connect scan fast
            if proto == 6 and port not in SERVICE_PORTS and not completed:
                self._slow(ctx, flow, st, host, telnet=telnet)
            need = min_telnet_hosts if telnet else min_hosts
            # counting only when the threshold may be reached keeps a probe O(1) most of the time;
            # the hosts are counted inline while none is out of the window (every probe of a sweep)
            n_hosts = 0
            if len(hosts) >= need:
                n_hosts = (len(hosts) if hosts and ts - next(iter(hosts.values())) <= window
                           else _fresh(hosts, ts, window))
            n_ports = _fresh(ports, ts, window) if not isinstance(ports, tuple) and len(ports) >= min_ports else 0
            if not n_ports:
                # what _report would find without its calls: too few hosts, or this sweep's scan raised
                # within the window (_due's mark, read and not set) raises nothing
                if not n_hosts or n_hosts < need:
                    continue
                last = st.alerted.get((MIRAI, "23/2323") if telnet else (HORIZONTAL, str(port)))
                if last is not None and abs(ts - last) < window:
                    continue
            before = len(ctx.alerts)  # a horizontal or Mirai scan it raises is held while its sweep is small
            self._report(ctx, flow, st, telnet=telnet, n_hosts=n_hosts, n_ports=n_ports)
            if len(ctx.alerts) > before:
                self._hold(ctx, st, flow, sweep=TELNET if telnet else port, need=need, targets=set(hosts),
                           before=before)

    def flow(self, ctx: Context, flow: Flow) -> None:
        self.flows(ctx, [flow])

    def on_tick(self, ctx: Context, ts: float) -> None:
        super().on_tick(ctx, ts)  # the batch's flows first: a target they show watched drops its sweep
        if ts >= self._holds.next_due:  # capture time went on: a quiet live link hands no flow to judge it at
            ctx.alerts += self._holds.due(ts)

    def done(self, ctx: Context) -> None:
        super().done(ctx)
        ctx.alerts += self._holds.all()  # the end of input: no cadence can show any more

    def _hold(self, ctx: Context, st: _Probes, flow: Flow, *, sweep: int, need: int, targets: set[str],
              before: int) -> None:
        """The horizontal, Mirai-style or ping sweep's scan just raised (in ``ctx.alerts`` from ``before``; a port
        scan raised with it stays) taken back: held while its sweep is small (scan_hold), else handed on after
        whatever its sweep held."""
        raised = [a for a in ctx.alerts[before:] if a.id != VERTICAL]
        if not raised:
            return
        ctx.alerts[before:] = [a for a in ctx.alerts[before:] if a.id == VERTICAL]
        checked, port = st.checked, flow.b_port
        failed = {h for h in targets if (port, h) not in checked} if checked else set(targets)
        for alert in raised:
            ctx.alerts += self._holds.hold(st.held, flow.a_ip, sweep, ts=flow.first_seen, need=need,
                                           targets=targets, failed=failed, alert=alert)

    def _slow(self, ctx: Context, flow: Flow, st: _Probes, host: str, *, telnet: bool) -> None:
        """A TCP probe counted towards a slow scan of its port (``slow_window_s``, ``min_slow_hosts``)."""
        o: ScanOptions = self.options
        port, ts = flow.b_port, flow.first_seen
        hosts = st.slow.get(port)
        if hosts is not None:
            st.slow.move_to_end(port)  # least recently probed first, as every table here
        else:
            hosts = st.slow[port] = Recent()
            st.slow_flows[port] = []
            if len(st.slow) > o.max_targets:
                st.slow_flows.pop(st.slow.popitem(last=False)[0], None)
        probes = st.slow_flows[port]
        if len(probes) < EVIDENCE_FLOWS:
            probes.append(flow)
        _probed(hosts, host, ts, o.max_targets)
        if len(hosts) < o.min_slow_hosts or _fresh(hosts, ts, o.slow_window_s) < o.min_slow_hosts:
            return
        fast = st.alerted.get((MIRAI, "23/2323") if telnet else (HORIZONTAL, str(port)))
        if fast is not None and abs(ts - fast) < o.slow_window_s:
            return  # this port's fast scan was raised: the same sweep
        detector_id = MIRAI if telnet else HORIZONTAL
        key = "23/2323/slow" if telnet else f"{port}/slow"
        last = st.alerted.get((detector_id, key))
        if last is not None and abs(ts - last) < o.slow_window_s:
            return
        _raised(st.alerted, (detector_id, key), ts, o)
        n, src = len(hosts), flow.a_ip
        self.raise_alert(ctx, detector_id, title=f"Slow scan of port {port} from {src}: {n} hosts",
                         severity="high" if telnet else "medium", subject=initiator(ctx, flow), ts=ts, key=key,
                         mitre=("T1046", "T1110") if telnet else ("T1046",), src_ip=src,
                         evidence={"hosts": n, "port": port, "window_s": o.slow_window_s}, flows=probes)

    def _ping(self, ctx: Context, flow: Flow) -> None:
        """An unanswered ICMP request: a ping sweep's probe (key ``icmp``, like the ARP sweep's ``arp``)."""
        if flow.pkts_ba or flow.extra.get("icmp_type") not in ICMP_REQUESTS[flow.ip_proto] or _to_a_group(flow):
            return
        o: ScanOptions = self.options
        src, ts, domain = flow.a_ip, flow.first_seen, flow_domain(flow)
        st = self._state(site_host(src, domain))
        target = site_host(flow.b_ip, domain)
        held = st.held.get(ICMP) if st.held else None
        # a flow of min_cycles requests or more, min_cycle_s apart on average: a monitor's cycles, one flow while the
        # engine's idle timeout is longer than its period (from packets: an echo request a minute to a host down)
        n = flow.pkts_ab
        if (n >= o.min_cycles and flow.last_seen - ts >= (n - 1) * o.min_cycle_s) or _steady(
                st.cycles, (ICMP, target), -1, ts, None, o=o):
            if held is not None:
                self._holds.watched(held, target)
            return  # a host pinged at a steady cadence: watched, as a monitoring system watches the hosts it pings
        _probed(st.icmp, target, ts, o.max_targets)
        if held is not None:
            ctx.alerts += self._holds.grow(held, target, failed=True)
        before = len(ctx.alerts)  # a ping sweep raised below is held while it is small
        st.recent.append(flow)
        n = _fresh(st.icmp, ts, o.window_s) if len(st.icmp) >= o.min_hosts else 0
        if n >= o.min_hosts and self._due(st, HORIZONTAL, "icmp", ts):
            self.raise_alert(ctx, HORIZONTAL, title=f"Ping sweep of {n} hosts from {src}", severity="medium",
                             subject=subject_key(ctx, flow.a_mac, src, domain), ts=ts, key="icmp",
                             mitre=("T1018", "T1046"), src_ip=src, evidence={"hosts": n, "proto": "icmp"},
                             flows=_own(st.recent, lambda f: f.ip_proto in ICMP_REQUESTS))
        if len(ctx.alerts) > before:
            self._hold(ctx, st, flow, sweep=ICMP, need=o.min_hosts, targets=set(st.icmp), before=before)

    def _report(self, ctx: Context, flow: Flow, st: _Probes, *, telnet: bool, n_hosts: int, n_ports: int) -> None:
        """The scans a probe's counts reach, each raised when due."""
        o: ScanOptions = self.options
        src, ts, port = flow.a_ip, flow.first_seen, flow.b_port
        # the subject is named only for an alert that is due (most probes of a scan raise none)
        if telnet and n_hosts >= o.min_telnet_hosts and self._due(st, MIRAI, "23/2323", ts):
            self.raise_alert(ctx, MIRAI, title=f"Mirai-style Telnet scan from {src}", severity="high",
                             subject=initiator(ctx, flow), ts=ts, mitre=("T1046", "T1110"), src_ip=src,
                             key="23/2323", evidence={"hosts": n_hosts, "port": flow.b_port},
                             flows=_own(st.recent, lambda f: f.ip_proto == 6 and f.b_port in TELNET_PORTS))
        elif not telnet and n_hosts >= o.min_hosts and self._due(st, HORIZONTAL, str(flow.b_port), ts):
            self.raise_alert(ctx, HORIZONTAL, title=f"Horizontal scan of port {flow.b_port} from {src}",
                             severity="medium", subject=initiator(ctx, flow), ts=ts,
                             key=str(flow.b_port), mitre=("T1046",), src_ip=src,
                             evidence={"hosts": n_hosts, "port": flow.b_port},
                             flows=_own(st.recent, lambda f: f.b_port == port and f.ip_proto in PORT_PROTOS))
        domain = flow_domain(flow)
        target = site_host(flow.b_ip, domain) if flow.vlan or "vni" in flow.extra else flow.b_ip
        if n_ports >= o.min_ports and self._due(st, VERTICAL, target, ts):
            self.raise_alert(ctx, VERTICAL, title=f"Port scan of {flow.b_ip} from {src}", severity="medium",
                             subject=initiator(ctx, flow), ts=ts, key=target, mitre=("T1046",),
                             src_ip=src, dst_ip=flow.b_ip, evidence={"ports": n_ports},
                             flows=_own(st.recent, lambda f: f.b_ip == flow.b_ip and flow_domain(f) == domain))

    def _due(self, st: _Probes, detector_id: str, key: str, ts: float) -> bool:
        """One detection per (id, key) and source per window: the pipeline aggregates, probes do not flood."""
        last = st.alerted.get((detector_id, key))
        if last is not None and abs(ts - last) < self.options.window_s:
            return False
        _raised(st.alerted, (detector_id, key), ts, self.options)
        return True
