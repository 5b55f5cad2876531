"""IPv4 and IPv6 headers (extension headers walked, fragments told) and the TCP, UDP and ICMP headers after them, for
a whole batch at once: tier-1 decode's network and transport layers (engine/decode.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from iotwarden.engine.headers import (
    E_BAD_IP,
    E_BAD_TCP,
    E_SHORT_IP,
    E_SHORT_TCP,
    E_SHORT_UDP,
    ETH_IPV4,
    ETH_IPV6,
    I64,
    IPV4_MAPPED,
    IPV6_EXT,
    MAX_IPV6_EXT,
    Bool,
    Reader,
)


def decode_ip(rd: Reader, ethertype: I64, pos: I64, end: I64, error: npt.NDArray[np.int8]) -> dict[str, Any]:
    n = int(pos.shape[0])
    ipver = np.zeros(n, dtype=np.int8)
    proto = np.full(n, -1, dtype=np.int64)
    ttl = np.zeros(n, dtype=np.int64)
    src_hi = np.zeros(n, dtype=np.uint64)
    src_lo = np.zeros(n, dtype=np.uint64)
    dst_hi = np.zeros(n, dtype=np.uint64)
    dst_lo = np.zeros(n, dtype=np.uint64)
    frag = np.zeros(n, dtype=bool)
    frag_head = np.zeros(n, dtype=bool)
    l4 = pos.copy()
    ip_end = end.copy()  # announced end of the IP packet (may exceed the capture when snapped)

    # IPv4, RFC 791 §3.1
    v4 = (ethertype == ETH_IPV4) & (error == 0)
    short = v4 & (pos + 20 > end)
    error[short] = E_SHORT_IP
    v4 &= ~short
    idx = np.flatnonzero(v4)
    p = pos[idx]
    b0 = rd.u8(p)
    ihl = (b0 & 0x0F) * 4
    total = rd.u16(p + 2)
    bad = ((b0 >> 4) != 4) | (ihl < 20) | ((total < ihl) & (total != 0))  # 0: TSO, length unknown
    cut = ~bad & (p + ihl > end[idx])
    error[idx[bad]] = E_BAD_IP
    error[idx[cut]] = E_SHORT_IP
    good = ~(bad | cut)
    idx, p, ihl, total = idx[good], p[good], ihl[good], total[good]
    ipver[idx] = 4
    flags_offset = rd.u16(p + 6)  # flags (DF 0x4000, MF 0x2000) and fragment offset (§3.1)
    frag[idx] = (flags_offset & 0x1FFF) != 0  # only the first fragment has ports
    frag_head[idx] = (flags_offset & 0x3FFF) == 0x2000
    ttl[idx] = rd.u8(p + 8)
    proto[idx] = rd.u8(p + 9)
    src_lo[idx] = rd.u32(p + 12).astype(np.uint64) | IPV4_MAPPED
    dst_lo[idx] = rd.u32(p + 16).astype(np.uint64) | IPV4_MAPPED
    l4[idx] = p + ihl
    ip_end[idx] = np.where(total > 0, p + total, end[idx])

    # IPv6, RFC 8200 §3
    v6 = (ethertype == ETH_IPV6) & (error == 0)
    short = v6 & (pos + 40 > end)
    error[short] = E_SHORT_IP
    v6 &= ~short
    idx = np.flatnonzero(v6)
    p = pos[idx]
    bad = (rd.u8(p) >> 4) != 6
    error[idx[bad]] = E_BAD_IP
    idx, p = idx[~bad], p[~bad]
    ipver[idx] = 6
    plen = rd.u16(p + 4)
    nxt = rd.u8(p + 6)
    ttl[idx] = rd.u8(p + 7)
    src_hi[idx], src_lo[idx] = rd.u64(p + 8), rd.u64(p + 16)
    dst_hi[idx], dst_lo[idx] = rd.u64(p + 24), rd.u64(p + 32)
    here = p + 40
    stop = np.where(plen > 0, here + plen, end[idx])  # 0: jumbogram (RFC 2675), use the capture
    ip_end[idx] = stop
    for _ in range(MAX_IPV6_EXT):
        ext = np.isin(nxt, IPV6_EXT) & (here + 8 <= np.minimum(stop, end[idx]))
        if not ext.any():
            break
        e = here[ext]
        fragment = nxt[ext] == 44  # RFC 8200 §4.5: offset in the high 13 bits of bytes 2-3
        offset_m = rd.u16(e[fragment] + 2)
        frag[idx[ext][fragment]] = (offset_m >> 3) != 0
        frag_head[idx[ext][fragment]] = (offset_m & 0xFFF9) == 1  # offset 0, M set (reserved bits ignored)
        size = np.where(nxt[ext] == 44, 8, np.where(nxt[ext] == 51, (rd.u8(e + 1) + 2) * 4, (rd.u8(e + 1) + 1) * 8))
        nxt[ext] = rd.u8(e)
        here[ext] = e + size
    proto[idx] = nxt
    l4[idx] = here

    is_ip = ipver > 0
    ports = decode_transport(rd, proto=proto, l4=l4, ip_end=ip_end, end=end, has_l4=is_ip & ~frag, error=error)
    return {
        "ipver": ipver,
        "proto": proto.astype(np.int16),
        "ttl": ttl.astype(np.int16),
        "src_hi": src_hi,
        "src_lo": src_lo,
        "dst_hi": dst_hi,
        "dst_lo": dst_lo,
        "frag": frag & is_ip,
        "frag_head": frag_head & is_ip,
        **ports,
    }


def decode_transport(
    rd: Reader, *, proto: I64, l4: I64, ip_end: I64, end: I64, has_l4: Bool, error: npt.NDArray[np.int8]
) -> dict[str, Any]:
    n = int(l4.shape[0])
    sport = np.zeros(n, dtype=np.int64)
    dport = np.zeros(n, dtype=np.int64)
    flags = np.zeros(n, dtype=np.int64)
    seq = np.zeros(n, dtype=np.int64)
    ack = np.zeros(n, dtype=np.int64)
    pay = l4.copy()
    pay_end = np.minimum(ip_end, end)
    wire_end = ip_end.copy()

    # TCP, RFC 9293 §3.1: ports, seq, ack, data offset (4-byte words), flags
    tcp = has_l4 & (proto == 6)
    short = tcp & (l4 + 20 > end)
    error[short] = E_SHORT_TCP
    idx = np.flatnonzero(tcp & ~short)
    q = l4[idx]
    doff = (rd.u8(q + 12) >> 4) * 4
    bad = (doff < 20) | (q + doff > ip_end[idx])
    error[idx[bad]] = E_BAD_TCP
    idx, q, doff = idx[~bad], q[~bad], doff[~bad]
    sport[idx], dport[idx] = rd.u16(q), rd.u16(q + 2)
    seq[idx] = rd.u32(q + 4)
    ack[idx] = rd.u32(q + 8)
    flags[idx] = rd.u8(q + 13)
    pay[idx] = q + doff

    # UDP, RFC 768: ports, length (header included), checksum
    udp = has_l4 & (proto == 17)
    short = udp & (l4 + 8 > end)
    error[short] = E_SHORT_UDP
    idx = np.flatnonzero(udp & ~short)
    q = l4[idx]
    sport[idx], dport[idx] = rd.u16(q), rd.u16(q + 2)
    ulen = rd.u16(q + 4)
    pay[idx] = q + 8
    sane = ulen >= 8
    wire_end[idx] = np.where(sane, np.minimum(q + ulen, ip_end[idx]), ip_end[idx])
    pay_end[idx] = np.minimum(wire_end[idx], end[idx])

    # ICMP (RFC 792) and ICMPv6 (RFC 4443 §2.1): the type is the message's first byte
    icmp_type = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(has_l4 & ((proto == 1) | (proto == 58)) & (l4 + 4 <= end))
    icmp_type[idx] = rd.u8(l4[idx])

    is_ip = proto >= 0
    failed = error != 0
    pay_len = np.where(is_ip & ~failed, np.maximum(pay_end - pay, 0), 0)
    pay_wire = np.where(is_ip & ~failed, np.maximum(wire_end - pay, 0), 0)
    return {
        "sport": sport.astype(np.int32),
        "dport": dport.astype(np.int32),
        "tcp_flags": flags.astype(np.int16),
        "icmp_type": icmp_type.astype(np.int16),
        "seq": seq,
        "ack": ack,
        "pay_off": pay,
        "pay_len": pay_len,
        "pay_wire": pay_wire,
    }
