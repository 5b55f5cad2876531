"""Test helper: independent checks of a generated capture (dpkt decoding, RFC 1071 verification).

Checks what every lab capture must satisfy: time order, valid IPv4/TCP/UDP checksums, and TCP
streams whose sequence numbers have no gap or overlap and whose ACKs never acknowledge unsent data.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dpkt


def ones_sum_ok(data: bytes) -> bool:
    """RFC 1071 §1 verification: the one's complement sum over data including its checksum is 0xFFFF."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


@dataclass
class CaptureReport:
    packets: int = 0
    bad_order: int = 0
    bad_ip_checksum: int = 0
    bad_l4_checksum: int = 0
    seq_errors: list[str] = field(default_factory=list)
    ack_errors: list[str] = field(default_factory=list)
    handshakes: int = 0  # SYN, SYN-ACK, ACK seen in order
    fin_closes: int = 0  # flows closed by FIN in both directions
    ports: Counter[tuple[str, int]] = field(default_factory=Counter)  # ("tcp"/"udp", server port)
    frames: list[tuple[float, Any]] = field(default_factory=list)  # decoded Ethernet frames


def check_capture(path: Path, *, keep_frames: bool = True) -> CaptureReport:
    rep = CaptureReport()
    next_seq: dict[tuple[Any, ...], int] = {}
    state: dict[tuple[Any, ...], str] = {}
    fins: dict[tuple[Any, ...], set[tuple[Any, ...]]] = {}
    last = 0.0
    with path.open("rb") as fh:
        for ts, buf in dpkt.pcap.Reader(fh):
            rep.packets += 1
            if ts < last:
                rep.bad_order += 1
            last = ts
            eth = dpkt.ethernet.Ethernet(buf)
            if keep_frames:
                rep.frames.append((ts, eth))
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP):
                continue
            raw_ip = bytes(buf[14 : 14 + ip.len])
            if not ones_sum_ok(raw_ip[: ip.hl * 4]):
                rep.bad_ip_checksum += 1
            seg = raw_ip[ip.hl * 4 :]
            pseudo = ip.src + ip.dst + struct.pack("!BBH", 0, ip.p, len(seg))
            l4 = ip.data
            if isinstance(l4, dpkt.udp.UDP | dpkt.tcp.TCP) and not ones_sum_ok(pseudo + seg):
                rep.bad_l4_checksum += 1
            if isinstance(l4, dpkt.udp.UDP):
                rep.ports["udp", min(l4.sport, l4.dport)] += 1
                continue
            if not isinstance(l4, dpkt.tcp.TCP):
                continue
            src, dst = (ip.src, l4.sport), (ip.dst, l4.dport)
            me, peer = (src, dst), (dst, src)  # one direction of one connection, and the other
            conn = tuple(sorted([src, dst]))
            flags = l4.flags
            if flags & dpkt.tcp.TH_SYN and not flags & dpkt.tcp.TH_ACK:
                next_seq[me] = l4.seq + 1
                state[conn] = "syn"
                rep.ports["tcp", l4.dport] += 1
                continue
            if flags & dpkt.tcp.TH_SYN:
                next_seq[me] = l4.seq + 1
                state[conn] = "synack" if state.get(conn) == "syn" else "odd"
                continue
            if flags & dpkt.tcp.TH_RST:
                state.pop(conn, None)
                continue
            if state.get(conn) == "synack" and flags & dpkt.tcp.TH_ACK:
                rep.handshakes += 1
                state[conn] = "open"
            expected = next_seq.get(me)
            if expected is None or l4.seq != expected:
                rep.seq_errors.append(f"{ts:.6f} seq {l4.seq} expected {expected}")
            next_seq[me] = l4.seq + len(l4.data) + (1 if flags & dpkt.tcp.TH_FIN else 0)
            if flags & dpkt.tcp.TH_ACK and l4.ack != next_seq.get(peer, l4.ack) and \
                    (l4.ack - next_seq.get(peer, 0)) % 2**32 < 2**31:
                rep.ack_errors.append(f"{ts:.6f} ack {l4.ack} beyond sent {next_seq.get(peer)}")
            if flags & dpkt.tcp.TH_FIN:
                fins.setdefault(conn, set()).add(me)
                if len(fins[conn]) == 2:
                    rep.fin_closes += 1
    return rep
