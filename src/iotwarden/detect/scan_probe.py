"""What the scan detector (detect/scan) counts as a probe, and which repeated probes are a monitor's or a load
balancer's, not a scan's.

Monitoring is no scan: a monitoring server or a load balancer probes the same targets again and again at a fixed
interval (Nagios check_ping of hosts that are down, an SNMP poller's switched-off printers, HAProxy's TCP checks
closed with RST), a scan touches each target once or a few times. A target (host and port, or host for a ping)
probed ``min_cycles`` times by one source, each a new connection (over TCP another source port: a retransmission
keeps its port; over UDP a flow of its own, its retransmissions being its datagrams: a poller keeping one socket
polls from one port) at least ``min_cycle_s`` after the one before and at a steady cadence (each gap within
``cadence_tolerance`` of the gap before), is watched (:func:`steady`). A connection the initiator completed (its
ACK of the SYN-ACK: three packets or more, SYN, ACK, RST) and then reset with no bytes is a load balancer's TCP
health check (HAProxy closes its checks with RST, Zeek RSTO history ShAR) or an open port of a connect scan (nmap
-sT resets what it connected to at once) (:func:`health_check`): a probe the first time, no probe when it repeats
a target the source completed a connection to within ``slow_window_s`` (:func:`repeated_check`). A SYN scanner's
kernel resets an open port's SYN-ACK without completing it (two packets, ShR): a probe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iotwarden.detect.scan_state import Recent
from iotwarden.model import Flow

if TYPE_CHECKING:
    from iotwarden.detect.scan import ScanOptions

TELNET_PORTS = frozenset({23, 2323})
PORT_PROTOS = (6, 17)  # the probes a port's scan counts: TCP and UDP
# a probe is a TCP attempt that never carried data, or an unanswered UDP datagram unless it comes from
# a service port (a reply whose request was not seen) or goes to a discovery/infrastructure service
# (DNS, DHCP, NTP, NetBIOS, SSDP, mDNS, LLMNR)
UDP_NOT_PROBED = frozenset({53, 67, 68, 123, 137, 138, 1900, 5353, 5355})
MULTICAST_FIRST_OCTETS = frozenset(str(n) for n in range(224, 240))  # 224.0.0.0/4 (RFC 5771)
# ICMP requests a host-discovery sweep sends, per IP protocol: echo, timestamp, address mask (ICMPv4);
# echo request (ICMPv6). Flow.extra["icmp_type"]: the type the flow's initiator sent first
ICMP_REQUESTS = {1: frozenset({8, 13, 17}), 58: frozenset({128})}
# a monitor that keeps one ICMP flow of a host that is down pings it every minute or so (the engine's idle timeout,
# 120 s, bounds its period); a ping command's requests to a dead host are one flow too, and come faster: iputils and
# BusyBox ping send one a second (ping(8) -i, default 1 s), Windows ping one after each timeout (-w, default 4000 ms),
# fping's retries back off from 500 ms (-t 500, -B 1.5)
MIN_MONITOR_PING_GAP_S = 10.0


def pinged_by_a_monitor(flow: Flow, o: ScanOptions) -> bool:
    """An unanswered ICMP flow of ``min_cycles`` requests or more, on average at least ``min_cycle_s`` and
    MIN_MONITOR_PING_GAP_S apart: a monitor's cycles by themselves. A ping command's burst (``ping -c 3``, Windows'
    four requests) is none, so a sweep of such commands is a ping sweep."""
    n = flow.pkts_ab
    return n >= o.min_cycles and flow.last_seen - flow.first_seen >= (n - 1) * max(o.min_cycle_s,
                                                                                    MIN_MONITOR_PING_GAP_S)


def health_check(flow: Flow) -> bool:
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


def to_a_group(flow: Flow) -> bool:
    """True for a datagram to a broadcast or multicast address: the answers come from the hosts themselves, in
    flows of their own, so the datagram's flow is never answered and is no probe (a PLC's search answers
    broadcast to the engineering tool's ports: MELSOFT udp/5560). By the destination MAC's group bit (IEEE
    802-2014 §8.2) when the flow has one, else by the address (limited broadcast, IPv4/IPv6 multicast)."""
    mac = flow.b_mac
    if mac:
        return int(mac[:2], 16) & 1 == 1
    host = flow.b_ip or ""
    return host == "255.255.255.255" or host.partition(".")[0] in MULTICAST_FIRST_OCTETS or host[:2] == "ff"


def steady(cycles: Recent[tuple[int, str], tuple[int, float, float, int]], target: tuple[int, str], sport: int,
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


def repeated_check(checked: Recent[tuple[int, str], float], target: tuple[int, str], ts: float,
                   o: ScanOptions) -> bool:
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
