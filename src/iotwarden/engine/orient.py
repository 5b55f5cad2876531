"""Who initiated a new flow: what its first packets prove, else which end holds a likely server port.

A capture can join a TCP session mid-stream (a SPAN port started while a SCADA master polls a PLC) and
begin with the server's answer; the sender of the first packet is then the wrong initiator. Rules, in order,
for each new flow from its packets in the batch that opens it, and again with each later batch while the flow
is TCP, has carried no payload and no SYN has named its initiator (engine/flowtable.py: tier 2, which takes
payload alone, has seen none of its packets, so the flow turns round before any dissector reads it):

1. a SYN without ACK that no payload packet of the flow precedes names the initiator (also when it comes after
   the SYN+ACK: a reordered handshake, Zeek's ``Connection::FlipRoles``); a SYN after payload names nothing
   (Zeek's weird "SYN_inside_connection" flips nothing either). A flow whose payload tier 2 has seen keeps its
   orientation for its life, as what dissectors made of its streams, per direction, would not turn with it: the
   one case where the batch cut matters is a SYN+ACK's sender whose data came in an earlier batch than the
   other end's RST (one batch would call it a probe, rule 2; cut, it stays the responder);
2. a first packet that is a SYN+ACK is the responder's, unless the other end answers it with a RST and no
   data: that is a SYN/ACK probe, which Zeek declines to flip for ("doesn't work for stealth scans",
   ``src/packet_analysis/protocol/tcp/TCP.cc: TCPAnalyzer::WantConnection``); rule 3 decides it;
3. otherwise the ports (Zeek's ``likely_server_ports``, ``scripts/base/init-bare.zeek``, to which each protocol
   script adds the ports it registers its analyzer for, e.g. ``scripts/base/protocols/finger/main.zeek``). Each
   port has a rank: 3, a port that names a service (engine/service_ports.py, the IANA registry's service names,
   or declared by one of the engine's dissectors); 2, such a port in 1025-5000, where Windows XP and Server 2003
   took their clients' ports (``OLD_EPHEMERAL``: a DNP3 master on XP polling from 1080, socks, faces tcp/20000);
   1, another System Port (< 1024, RFC 6335 §6); 0, any other, and always a port of the dynamic range (>= 49152,
   RFC 6335 §6: never assigned, the first ports a Windows client takes). The first packet's sender is the
   responder when its port ranks higher than the receiver's: an NFS client's reserved source port (665-1023)
   facing tcp/2049, an rlogin client's (512-1023) facing tcp/513, a client's ephemeral port facing MySQL's
   tcp/3306. When both rank alike (1, 2 or 3), TCP follows Zeek
   (``TCPAnalyzer::WantConnection``: "flip only if (1) this isn't a SYN ACK (to avoid confusing stealth scans)
   and (2) dest port > src port"): the lower port is the server's, unless the first packet carries SYN; UDP
   keeps the first sender (Zeek's ``UDPAnalyzer::WantConnection`` flips only a likely port facing an unlikely
   one). UDP towards a broadcast or multicast destination never flips: such a datagram answers no one.

Ports tell what is likely, not what is: a client on a named privileged port (an NFS client that bound 993,
imaps) facing a named server port above it is judged the server, as Zeek's tie-break judges it; so is an XP
client on a named port of 1025-5000 facing a server on a dynamic port (a DCE/RPC endpoint: ics_iti mb2.pcap,
141.81.0.183:1080 calling 141.81.0.10:49188, as Zeek, whose likely_server_ports holds socks' 1080, judges it
too). A flipped flow says why in ``Flow.extra["flipped"]`` (Zeek's conn.log history letter ``^``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from iotwarden.engine import service_ports
from iotwarden.engine.segments import IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_RST, TCP_SYN

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
Ranks = npt.NDArray[np.int8]
Ports = npt.NDArray[np.integer[Any]]

WELL_KNOWN_END = 1024  # ports below are System Ports (RFC 6335 §6)
DYNAMIC_START = 49152  # Dynamic Ports 49152-65535 (RFC 6335 §6) are never a service's assignment
# why a flow's initiator is not the first packet's sender (Flow.extra["flipped"]); 0: it is
FLIP_REASONS = ("", "syn", "syn-ack", "port", "answer")
BY_SYN, BY_SYN_ACK, BY_PORT = 1, 2, 3
# not decide()'s: the flow's dissector found its first sender answering (dissect/base.py FLIP_STATE_KEY)
BY_ANSWER = 4


# Windows before Vista and Server 2008 took a client's port from 1025-5000 (Microsoft KB 929851: "the default
# dynamic port range ... was 1025 through 5000"), as 4.4BSD did (IPPORT_RESERVED..IPPORT_USERRESERVED): a service
# named there is a client's port on such hosts too, which HMIs and engineering stations often still are
OLD_EPHEMERAL = range(1025, 5001)
# port ranks (0: none of these): a System Port; a service's port in OLD_EPHEMERAL; any other service's port
SYSTEM, OLD_CLIENT_SERVICE, SERVICE = 1, 2, 3


@dataclass(frozen=True, slots=True)
class ServerPorts:
    """How likely each port is a server's, per transport, as lookup tables indexed by port number."""

    tcp: Ranks
    udp: Ranks

    @classmethod
    def of(cls, tcp: Iterable[int] = (), udp: Iterable[int] = ()) -> ServerPorts:
        """System Ports rank 1; the named services and the declared ports below the dynamic range rank 3, or 2
        in OLD_EPHEMERAL."""
        tables = []
        for named, declared in ((service_ports.TCP, tcp), (service_ports.UDP, udp)):
            t = np.zeros(65536, dtype=np.int8)
            t[:WELL_KNOWN_END] = SYSTEM
            t[[p for p in (*named, *declared) if 0 <= p < 65536]] = SERVICE
            old = t[OLD_EPHEMERAL.start : OLD_EPHEMERAL.stop]
            old[old == SERVICE] = OLD_CLIENT_SERVICE
            t[DYNAMIC_START:] = 0
            tables.append(t)
        return cls(tables[0], tables[1])


def group_destination(ipver: I64, dst_hi: npt.NDArray[np.uint64], dst_lo: npt.NDArray[np.uint64],
                      dst_mac: I64) -> Bool:
    """Broadcast or multicast destinations: the MAC's I/G bit (IEEE 802 §8.2), IPv4 224.0.0.0/4 and
    255.255.255.255 (RFC 5771, RFC 919), IPv6 ff00::/8 (RFC 4291 §2.7)."""
    v4 = (dst_lo & np.uint64(0xFFFF_FFFF)).astype(np.int64)
    ip_group = np.where(ipver == 4, ((v4 >> 28) == 0xE) | (v4 == 0xFFFF_FFFF), (dst_hi >> np.uint64(56)) == 0xFF)
    out: Bool = ip_group | ((dst_mac >= 0) & (((dst_mac >> 40) & 1) == 1))
    return out


def naming_syns(lh: Bool, syn_only: Bool, has_pay: Bool, sid: I64, sfirst: I64) -> tuple[Bool, Bool]:
    """Per segment (packets sorted by segment): whether a SYN without ACK comes before its first payload packet
    (a SYN carrying data counts), and that SYN's direction (``lh``; False where none)."""
    nseg = int(sfirst.shape[0])
    # each segment's first SYN without ACK, from the few such packets (positions ascend, and so do segments)
    syn_at = np.flatnonzero(syn_only)
    syn_seg = sid[syn_at]
    firsts = np.ones(syn_at.shape[0], dtype=bool)
    firsts[1:] = syn_seg[1:] != syn_seg[:-1]
    syn_at, syn_seg = syn_at[firsts], syn_seg[firsts]
    # ... unless a payload packet of its segment precedes it (a SYN inside a connection: Zeek's weird
    # "SYN_inside_connection", which flips nothing)
    pay_at = np.flatnonzero(has_pay)
    if pay_at.shape[0]:
        k = np.minimum(np.searchsorted(pay_at, sfirst[syn_seg]), pay_at.shape[0] - 1)
        first_pay = pay_at[k]
        keep = (first_pay < sfirst[syn_seg]) | (syn_at <= first_pay)  # none at or after the segment's start
        syn_at, syn_seg = syn_at[keep], syn_seg[keep]
    named = np.zeros(nseg, dtype=bool)
    named[syn_seg] = True
    syn_lh = np.zeros(nseg, dtype=bool)
    syn_lh[syn_seg] = lh[syn_at]
    return named, syn_lh


def decide(ports: ServerPorts, *, first_lh: Bool, named: Bool, syn_lh: Bool, first_flags: I64, proto: I64,
           sport: Ports, dport: Ports, other_flags: I64, other_payload: I64, group_dst: Bool) -> npt.NDArray[np.int8]:
    """Per flow: why its initiator is not its first packet's sender (an index into FLIP_REASONS, 0 when it is).

    ``first_lh`` is the first packet's direction, ``named``/``syn_lh`` what :func:`naming_syns` says,
    ``first_flags`` the first packet's TCP flags (0 for non-TCP), ``sport``/``dport`` its ports, ``other_flags``
    and ``other_payload`` the OR of the flags and the payload bytes its receiver sent, ``group_dst`` whether it
    went to a group address.
    """
    by_syn = named & (syn_lh != first_lh)
    tcp = proto == IPPROTO_TCP
    syn_ack = ~named & tcp & ((first_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
    by_syn_ack = syn_ack & (((other_flags & TCP_RST) == 0) | (other_payload > 0))
    rank_s = np.where(tcp, ports.tcp[sport], ports.udp[sport])
    rank_d = np.where(tcp, ports.tcp[dport], ports.udp[dport])
    # alike ranks: Zeek's TCP tie-break, the lower port serves unless the first packet is a SYN(+ACK)
    lower = tcp & (rank_s == rank_d) & (rank_s > 0) & (sport < dport) & ((first_flags & TCP_SYN) == 0)
    by_port = (~named & ~by_syn_ack & ((rank_s > rank_d) | lower)
               & (tcp | ((proto == IPPROTO_UDP) & ~group_dst)))
    why = np.zeros(first_lh.shape[0], dtype=np.int8)
    why[by_port] = BY_PORT
    why[by_syn_ack] = BY_SYN_ACK
    why[by_syn] = BY_SYN
    return why
