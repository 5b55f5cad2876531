"""Who initiated a new flow: what its first packets prove, else which end holds a likely server port.

A capture can join a TCP session mid-stream (a SPAN port started while a SCADA master polls a PLC) and
begin with the server's answer; the sender of the first packet is then the wrong initiator. Rules, in order,
for each new flow from its packets in the batch that opens it:

1. a SYN without ACK names the initiator (also when it comes after the SYN+ACK: a reordered handshake,
   Zeek's ``Connection::FlipRoles``);
2. a first packet that is a SYN+ACK is the responder's, unless the other end answers it with a RST and no
   data: that is a SYN/ACK probe, which Zeek declines to flip for ("doesn't work for stealth scans",
   ``src/packet_analysis/protocol/tcp/TCP.cc: TCPAnalyzer::WantConnection``); rule 3 decides it;
3. otherwise the ports (Zeek's ``likely_server_ports``, to which each protocol script adds the ports it
   registers its analyzer for, e.g. ``scripts/base/protocols/finger/main.zeek``): the first packet's sender
   is the responder when its port is a likely server port and the receiver's is not. Likely server ports
   are the well-known ones (< 1024, RFC 6335 §6) and those the engine's dissectors declare, less any in the
   dynamic range (>= 49152, RFC 6335 §6: never assigned, the first ports a Windows client takes). UDP
   follows rule 3 too (an answer whose request was not captured), except towards a broadcast or multicast
   destination, which never answers anyone.

When both or neither port is likely the first packet's sender stays the initiator (Zeek flips a
both-likely pair towards the lower port; we keep what was seen). Zeek does not count every port below 1024:
a client on a privileged port talking to an undeclared server port (NFS to tcp/2049) would be flipped here when
joined mid-stream. A flipped flow says why in ``Flow.extra["flipped"]`` (Zeek's conn.log history letter ``^``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from iotwarden.engine.segments import IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_RST, TCP_SYN

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
Ports = npt.NDArray[np.integer[Any]]

WELL_KNOWN_END = 1024  # ports below are System Ports (RFC 6335 §6)
DYNAMIC_START = 49152  # Dynamic Ports 49152-65535 (RFC 6335 §6) are never a service's assignment
# why a flow's initiator is not the first packet's sender (Flow.extra["flipped"]); 0: it is
FLIP_REASONS = ("", "syn", "syn-ack", "port")
BY_SYN, BY_SYN_ACK, BY_PORT = 1, 2, 3


@dataclass(frozen=True, slots=True)
class ServerPorts:
    """Likely server ports per transport, as lookup tables indexed by port number."""

    tcp: Bool
    udp: Bool

    @classmethod
    def of(cls, tcp: Iterable[int] = (), udp: Iterable[int] = ()) -> ServerPorts:
        """Well-known ports plus the declared ones below the dynamic range."""
        tables = []
        for declared in (tcp, udp):
            t = np.zeros(65536, dtype=bool)
            t[:WELL_KNOWN_END] = True
            t[[p for p in declared if 0 <= p < DYNAMIC_START]] = True
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


def orient(ports: ServerPorts, *, lh: Bool, syn_only: Bool, sid: I64, sfirst: I64, first_flags: I64, proto: I64,
           sport: Ports, dport: Ports, other_flags: I64, other_payload: I64, group_dst: Bool) -> npt.NDArray[np.int8]:
    """Per segment (packets sorted by segment, ``sid`` each one's segment, ``sfirst`` each segment's first):
    why its initiator is not its first packet's sender (an index into FLIP_REASONS, 0 when it is).

    ``lh`` (direction) and ``syn_only`` (a SYN without ACK) are per packet; ``first_flags`` (TCP flags of the
    first packet, 0 for non-TCP), ``proto``, ``sport``/``dport`` (of the first packet), ``other_flags`` and
    ``other_payload`` (OR of the flags and payload bytes the first packet's receiver sent) and ``group_dst``
    (the first packet went to a group address) are per segment.
    """
    nseg = int(sfirst.shape[0])
    # each segment's first SYN without ACK, from the few such packets (positions ascend, and so do segments)
    syn_at = np.flatnonzero(syn_only)
    syn_seg = sid[syn_at]
    firsts = np.ones(syn_at.shape[0], dtype=bool)
    firsts[1:] = syn_seg[1:] != syn_seg[:-1]
    syn_at, syn_seg = syn_at[firsts], syn_seg[firsts]
    has_syn = np.zeros(nseg, dtype=bool)
    has_syn[syn_seg] = True
    first_lh = lh[sfirst]
    by_syn = np.zeros(nseg, dtype=bool)
    by_syn[syn_seg] = lh[syn_at] != first_lh[syn_seg]
    tcp = proto == IPPROTO_TCP
    syn_ack = ~has_syn & tcp & ((first_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
    by_syn_ack = syn_ack & (((other_flags & TCP_RST) == 0) | (other_payload > 0))
    likely_s = np.where(tcp, ports.tcp[sport], ports.udp[sport])
    likely_d = np.where(tcp, ports.tcp[dport], ports.udp[dport])
    by_port = (~has_syn & ~by_syn_ack & likely_s & ~likely_d
               & (tcp | ((proto == IPPROTO_UDP) & ~group_dst)))
    why = np.zeros(sfirst.shape[0], dtype=np.int8)
    why[by_port] = BY_PORT
    why[by_syn_ack] = BY_SYN_ACK
    why[by_syn] = BY_SYN
    return why
