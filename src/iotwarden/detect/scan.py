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

Monitoring is no scan (detect/scan_probe): a target probed ``min_cycles`` times by one source at a steady cadence
(``min_cycle_s``, ``cadence_tolerance``) is watched and its probes count towards no scan while the cadence holds; a
connection completed then reset with no bytes (a load balancer's health check, a connect scan's open port) is a probe
the first time only, and counts towards no held sweep's size and no slow scan. The first cycles of a monitor still
count (nothing tells them from a sweep yet), so a horizontal or Mirai-style scan or a ping sweep that failed on fewer
than ``max_held_hosts`` targets is held (detect/scan_hold): dropped when its targets turn out watched, raised as it
was found once ``hold_s`` of traffic time passed without that (at a flow starting that late or at a tick: a quiet
live link hands over no flow), at the end of input, or at once when it reaches ``max_held_hosts`` failed targets.
From packets an unanswered ICMP flow of ``min_cycles`` requests or more, ``min_cycle_s`` and at least
MIN_MONITOR_PING_GAP_S apart on average, is watched by itself: the engine keeps a monitor's pings of a host that is
down in one flow while its idle timeout is longer than their period; a ping command's burst is no monitor's.

An alert's evidence is its own scan's probes: the last ``EVIDENCE_FLOWS`` of the source's latest ``RECENT_PROBES``
that are a horizontal scan's to its port, a Telnet scan's to 23/2323, a port scan's to its host, a ping sweep's
pings (an ARP sweep's: its latest requests; a slow scan's: its port's first probes), never the source's first
flows, which may be to another port or host hours before.

An address a DNS answer gave the source is no probe target of a connect that starts after that answer, within its
TTL and bounds, at most ``max_client_exemptions`` of them a window (detect/scan_resolved): a client uses the names it
looked up, a scanner picks its targets.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

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
from iotwarden.detect.scan_hold import Holds
from iotwarden.detect.scan_probe import (
    ICMP_REQUESTS,
    PORT_PROTOS,
    TELNET_PORTS,
    UDP_NOT_PROBED,
    health_check,
    pinged_by_a_monitor,
    repeated_check,
    steady,
    to_a_group,
)
from iotwarden.detect.scan_resolved import Resolved
from iotwarden.detect.scan_state import ICMP, TELNET, Probes, Recent, fresh, own, probed, raised, slow_probe
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation
from iotwarden.model.observation import scoped

HORIZONTAL, VERTICAL, MIRAI = "detect.scan.horizontal", "detect.scan.vertical", "detect.scan.telnet_mirai"



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
    # an answer's addresses are no probe targets for its TTL within these bounds, 16 of an answer, 256 a client's
    # from the names of one registered domain
    min_answer_ttl_s: float = 300.0
    max_answer_ttl_s: float = 86_400.0
    max_answer_addresses: int = 16  # the first addresses of one answer exempt (a pool answers eight)
    max_domain_addresses: int = 256  # addresses in use one client's answers under one registered domain exempt
    max_client_exemptions: int = 256  # distinct answered addresses one client's probes are exempt for a window_s
    bounds: ClassVar[dict[str, Range]] = {"window_s": SECONDS, "min_hosts": COUNT, "min_telnet_hosts": COUNT,
                                          "min_ports": COUNT, "min_arp_targets": COUNT, "max_sources": ENTRIES,
                                          "max_targets": ENTRIES, "slow_window_s": SECONDS, "min_slow_hosts": COUNT,
                                          "max_udp_probe": BYTES, "min_cycles": (2, COUNT[1]), "min_cycle_s": SECONDS,
                                          "hold_s": (0.0, SECONDS[1]), "max_held_hosts": COUNT,
                                          "cadence_tolerance": SHARE, "max_resolved": ENTRIES,
                                          "min_answer_ttl_s": (0.0, SECONDS[1]), "max_answer_ttl_s": SECONDS,
                                          "max_answer_addresses": ENTRIES, "max_domain_addresses": ENTRIES,
                                          "max_client_exemptions": ENTRIES}


class ScanDetector(Detector):
    observes = frozenset({"arp", "dns"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.scan"
    ids: ClassVar[tuple[str, ...]] = (HORIZONTAL, VERTICAL, MIRAI)
    defaults: ClassVar[Options] = ScanOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._src: OrderedDict[str, Probes] = OrderedDict()
        o: ScanOptions = self.options
        self._holds = Holds(o.hold_s, o.max_held_hosts, o.max_targets, o.max_sources)
        self._resolved = Resolved(o)  # the addresses DNS answers gave each client, for their TTL, bounded

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        f = obs.fields
        if obs.proto == "dns":
            if obs.kind == "response" and obs.dst_ip:
                self._resolved.learn(obs.dst_ip, obs)
            return
        if obs.proto != "arp" or obs.kind != "request" or f.get("gratuitous") or f.get("probe"):
            return
        src, target = f.get("sender_ip"), f.get("target_ip")
        if not isinstance(src, str) or not isinstance(target, str):
            return
        o: ScanOptions = self.options
        domain = obs.domain
        st = self._state(scoped(src, domain))  # ARP stays on its link (RFC 826): the asker is src on it
        probed(st.arp, target, obs.ts, o.max_targets)
        st.arp_requests.append(obs)
        n = fresh(st.arp, obs.ts, o.window_s) if len(st.arp) >= o.min_arp_targets else 0
        if n >= o.min_arp_targets and self._due(st, HORIZONTAL, "arp", obs.ts):
            self.raise_alert(ctx, HORIZONTAL, title=f"ARP sweep of {n} addresses from {src}", severity="medium",
                             subject=subject_key(ctx, obs.src_mac, src, domain, obs.ts), ts=obs.ts, key="arp",
                             mitre=("T1018", "T1046"), src_ip=src,
                             evidence={"hosts": n, "proto": "arp", **({"domain": domain} if domain else {})},
                             observations=list(st.arp_requests))

    def _state(self, src: str) -> Probes:
        st = self._src.get(src)
        if st is None:
            st = self._src[src] = Probes()
            if len(self._src) > self.options.max_sources:
                self._src.popitem(last=False)
        self._src.move_to_end(src)
        return st

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # per batch, with the source and target tables' LRU steps (_state, scan_state.probed) inline:
        # a scan sends every one of its probes through here, each to a new host
        o: ScanOptions = self.options
        sources, max_sources, limit, window = self._src, o.max_sources, o.max_targets, o.window_s
        min_hosts, min_telnet_hosts, min_ports = o.min_hosts, o.min_telnet_hosts, o.min_ports
        max_udp_probe, resolved = o.max_udp_probe, self._resolved
        one_port = limit >= 2 and min_ports >= 2  # (port, time) stands for a table that is never counted
        # a key added to a table goes last by itself: move_to_end only for keys already there; and the
        # source of the probe before, most recent already, is not looked up again (a sweep's millions)
        last_src: str | None = None
        st = Probes()
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
                    and flow.payload_ab <= max_udp_probe * max(flow.pkts_ab, 1) and not to_a_group(flow))):
                continue
            completed = proto == 6 and health_check(flow)  # a load balancer's check or a connect scan's open port
            src, ts, host, port = flow.a_ip, flow.first_seen, flow.b_ip, flow.b_port
            if flow.vlan or "vni" in flow.extra:  # tagged or tunnelled: an internal source and target within
                domain = flow_domain(flow)  # their domain (two VLANs' 10.0.0.7 are two targets)
                src, host = site_host(src, domain), site_host(host, domain)
            if resolved and resolved.exempt(src, host, ts):
                continue  # an address the source looked up before: it uses a name, it probes nothing
            if src != last_src or last_src is None:
                known = sources.get(src)
                if known is None:
                    st = sources[src] = Probes()
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
                if before is not None and steady(st.cycles, (port, host), sport, ts, before, o=o):
                    if st.held:
                        held = st.held.get(TELNET if port in TELNET_PORTS and proto == 6 else port)
                        if held is not None:
                            self._holds.watched(held, host)
                    continue  # a watched target: monitoring, no scan's probe
            if completed and repeated_check(st.checked, (port, host), ts, o):
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
                           else fresh(hosts, ts, window))
            n_ports = fresh(ports, ts, window) if not isinstance(ports, tuple) and len(ports) >= min_ports else 0
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

    def _hold(self, ctx: Context, st: Probes, flow: Flow, *, sweep: int, need: int, targets: set[str],
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

    def _slow(self, ctx: Context, flow: Flow, st: Probes, host: str, *, telnet: bool) -> None:
        """A TCP probe counted towards a slow scan of its port (``slow_window_s``, ``min_slow_hosts``)."""
        o: ScanOptions = self.options
        port, ts = flow.b_port, flow.first_seen
        hosts, probes = slow_probe(st, flow, host, o.max_targets)
        if len(hosts) < o.min_slow_hosts or fresh(hosts, ts, o.slow_window_s) < o.min_slow_hosts:
            return
        fast = st.alerted.get((MIRAI, "23/2323") if telnet else (HORIZONTAL, str(port)))
        if fast is not None and abs(ts - fast) < o.slow_window_s:
            return  # this port's fast scan was raised: the same sweep
        detector_id = MIRAI if telnet else HORIZONTAL
        key = "23/2323/slow" if telnet else f"{port}/slow"
        last = st.alerted.get((detector_id, key))
        if last is not None and abs(ts - last) < o.slow_window_s:
            return
        raised(st.alerted, (detector_id, key), ts, o)
        n, src = len(hosts), flow.a_ip
        self.raise_alert(ctx, detector_id, title=f"Slow scan of port {port} from {src}: {n} hosts",
                         severity="high" if telnet else "medium", subject=initiator(ctx, flow), ts=ts, key=key,
                         mitre=("T1046", "T1110") if telnet else ("T1046",), src_ip=src,
                         evidence={"hosts": n, "port": port, "window_s": o.slow_window_s}, flows=probes)

    def _ping(self, ctx: Context, flow: Flow) -> None:
        """An unanswered ICMP request: a ping sweep's probe (key ``icmp``, like the ARP sweep's ``arp``)."""
        if flow.pkts_ba or flow.extra.get("icmp_type") not in ICMP_REQUESTS[flow.ip_proto] or to_a_group(flow):
            return
        o: ScanOptions = self.options
        src, ts, domain = flow.a_ip, flow.first_seen, flow_domain(flow)
        st = self._state(site_host(src, domain))
        target = site_host(flow.b_ip, domain)
        held = st.held.get(ICMP) if st.held else None
        # a monitor's cycles in one flow while the engine's idle timeout is longer than its period (from packets: an
        # echo request a minute to a host down), not a ping command's burst
        if pinged_by_a_monitor(flow, o) or steady(
                st.cycles, (ICMP, target), -1, ts, None, o=o):
            if held is not None:
                self._holds.watched(held, target)
            return  # a host pinged at a steady cadence: watched, as a monitoring system watches the hosts it pings
        probed(st.icmp, target, ts, o.max_targets)
        if held is not None:
            ctx.alerts += self._holds.grow(held, target, failed=True)
        before = len(ctx.alerts)  # a ping sweep raised below is held while it is small
        st.recent.append(flow)
        n = fresh(st.icmp, ts, o.window_s) if len(st.icmp) >= o.min_hosts else 0
        if n >= o.min_hosts and self._due(st, HORIZONTAL, "icmp", ts):
            self.raise_alert(ctx, HORIZONTAL, title=f"Ping sweep of {n} hosts from {src}", severity="medium",
                             subject=subject_key(ctx, flow.a_mac, src, domain, ts), ts=ts, key="icmp",
                             mitre=("T1018", "T1046"), src_ip=src, evidence={"hosts": n, "proto": "icmp"},
                             flows=own(st.recent, lambda f: f.ip_proto in ICMP_REQUESTS))
        if len(ctx.alerts) > before:
            self._hold(ctx, st, flow, sweep=ICMP, need=o.min_hosts, targets=set(st.icmp), before=before)

    def _report(self, ctx: Context, flow: Flow, st: Probes, *, telnet: bool, n_hosts: int, n_ports: int) -> None:
        """The scans a probe's counts reach, each raised when due."""
        o: ScanOptions = self.options
        src, ts, port = flow.a_ip, flow.first_seen, flow.b_port
        # the subject is named only for an alert that is due (most probes of a scan raise none)
        if telnet and n_hosts >= o.min_telnet_hosts and self._due(st, MIRAI, "23/2323", ts):
            self.raise_alert(ctx, MIRAI, title=f"Mirai-style Telnet scan from {src}", severity="high",
                             subject=initiator(ctx, flow), ts=ts, mitre=("T1046", "T1110"), src_ip=src,
                             key="23/2323", evidence={"hosts": n_hosts, "port": flow.b_port},
                             flows=own(st.recent, lambda f: f.ip_proto == 6 and f.b_port in TELNET_PORTS))
        elif not telnet and n_hosts >= o.min_hosts and self._due(st, HORIZONTAL, str(flow.b_port), ts):
            self.raise_alert(ctx, HORIZONTAL, title=f"Horizontal scan of port {flow.b_port} from {src}",
                             severity="medium", subject=initiator(ctx, flow), ts=ts,
                             key=str(flow.b_port), mitre=("T1046",), src_ip=src,
                             evidence={"hosts": n_hosts, "port": flow.b_port},
                             flows=own(st.recent, lambda f: f.b_port == port and f.ip_proto in PORT_PROTOS))
        domain = flow_domain(flow)
        target = site_host(flow.b_ip, domain) if flow.vlan or "vni" in flow.extra else flow.b_ip
        if n_ports >= o.min_ports and self._due(st, VERTICAL, target, ts):
            self.raise_alert(ctx, VERTICAL, title=f"Port scan of {flow.b_ip} from {src}", severity="medium",
                             subject=initiator(ctx, flow), ts=ts, key=target, mitre=("T1046",),
                             src_ip=src, dst_ip=flow.b_ip, evidence={"ports": n_ports},
                             flows=own(st.recent, lambda f: f.b_ip == flow.b_ip and flow_domain(f) == domain))

    def _due(self, st: Probes, detector_id: str, key: str, ts: float) -> bool:
        """One detection per (id, key) and source per window: the pipeline aggregates, probes do not flood."""
        last = st.alerted.get((detector_id, key))
        if last is not None and abs(ts - last) < self.options.window_s:
            return False
        raised(st.alerted, (detector_id, key), ts, self.options)
        return True
