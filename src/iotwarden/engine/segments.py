"""Where one flow ends and the next of the same key begins: idle, active and TCP close rules.

A packet starts a new flow of its key when (RFC 7011 §5.1 flow expiration, Zeek's
``tcp_close_delay``): the gap since the key's previous packet exceeds the idle timeout; the flow
has lasted longer than the active timeout; or the TCP flow is closed (FIN both ways, or RST) and
the packet is a new SYN or comes more than ``tcp_close_delay`` later. Closing ACKs and stray
retransmissions shortly after a close stay in the closed flow. The rules are evaluated
vectorised; only a key with a close followed by a restart, or an active-timeout cut, inside one
batch is walked packet by packet, so results do not depend on where batches are cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10  # RFC 9293 §3.1 control bits
IPPROTO_TCP, IPPROTO_UDP = 6, 17

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SegmentRules:
    idle_timeout: float
    udp_idle_timeout: float
    active_timeout: float
    tcp_close_delay: float

    def idle_for(self, proto: I64, closed: Bool) -> F64:
        base = np.where(proto == IPPROTO_UDP, self.udp_idle_timeout, self.idle_timeout)
        return np.where(closed, np.minimum(self.tcp_close_delay, base), base)

    @staticmethod
    def closed_state(flags_lh: I64, flags_hl: I64, proto: I64) -> tuple[Bool, Bool]:
        """(closed by FIN in both directions, closed by RST) for TCP flows."""
        tcp = proto == IPPROTO_TCP
        rst = tcp & (((flags_lh | flags_hl) & TCP_RST) != 0)
        fin = tcp & ((flags_lh & TCP_FIN) != 0) & ((flags_hl & TCP_FIN) != 0)
        return fin, rst


def _reason(fin: Bool, rst: Bool, idle: Bool) -> npt.NDArray[np.str_]:
    return np.where(rst, "rst", np.where(fin, "fin", np.where(idle, "idle", "active")))


def split_flows(
    rules: SegmentRules,
    pk: dict[str, np.ndarray],
    *,
    gstart: Bool,
    gfirst: I64,
    gid: I64,
    carry: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Segment starts for packets sorted by (key, capture order).

    ``pk`` holds per-packet ts, lh (direction), flags (TCP only), proto; ``carry`` per key the
    open table flow (exists, first, last, flags_lh, flags_hl). Returns ``start`` per packet,
    ``merged`` per segment (continues the table flow), ``reason_after`` per segment (why it
    ended, when another of its key follows), ``carry_reason`` per key (why the table flow ended
    when the batch does not continue it) and ``syn_only`` per packet (a SYN without ACK).
    """
    ts, lh, flags, proto = pk["ts"], pk["lh"], pk["flags"], pk["proto"]
    n = int(ts.shape[0])
    gproto = proto[gfirst]
    syn_only = (flags & (TCP_SYN | TCP_ACK)) == TCP_SYN
    c_fin, c_rst = rules.closed_state(carry["flags_lh"], carry["flags_hl"], gproto)
    c_closed = c_fin | c_rst
    exists = carry["exists"]
    first_ts = ts[gfirst]
    gap0 = first_ts - carry["last"]
    cont = (
        exists
        & (gap0 <= rules.idle_for(gproto, c_closed))
        & (first_ts - carry["first"] <= rules.active_timeout)
        & ~(c_closed & syn_only[gfirst])
    )
    carry_reason = _reason(c_fin, c_rst, gap0 > rules.idle_for(gproto, np.zeros_like(c_closed)))

    dt = np.empty(n, dtype=np.float64)
    dt[0] = np.inf
    np.subtract(ts[1:], ts[:-1], out=dt[1:])
    dt[gfirst] = np.where(exists, gap0, np.inf)
    idle = rules.idle_for(proto, np.zeros(n, dtype=bool))
    start = gstart | (dt > idle)

    # closure state inside each provisional segment, with the table flow's state carried in
    sid = np.cumsum(start) - 1
    sfirst = np.flatnonzero(start)
    merged_seg = np.zeros(sfirst.shape[0], dtype=bool)
    merged_seg[np.searchsorted(sfirst, gfirst)] = cont
    carry_lh = np.zeros(sfirst.shape[0], dtype=np.int64)
    carry_hl = np.zeros(sfirst.shape[0], dtype=np.int64)
    carry_lh[merged_seg] = carry["flags_lh"][cont]
    carry_hl[merged_seg] = carry["flags_hl"][cont]

    def running(bits: I64) -> I64:
        c: I64 = np.cumsum(bits)
        out: I64 = c - (c[sfirst] - bits[sfirst])[sid]
        return out

    fin = (flags & TCP_FIN) != 0
    fin_lh = running((fin & lh).astype(np.int64)) + ((carry_lh & TCP_FIN) != 0)[sid]
    fin_hl = running((fin & ~lh).astype(np.int64)) + ((carry_hl & TCP_FIN) != 0)[sid]
    rst = running(((flags & TCP_RST) != 0).astype(np.int64)) + (((carry_lh | carry_hl) & TCP_RST) != 0)[sid]
    closed_after = ((fin_lh > 0) & (fin_hl > 0)) | (rst > 0)
    closed_before = np.zeros(n, dtype=bool)
    closed_before[1:] = closed_after[:-1]
    seg_first_ts = np.where(merged_seg, 0.0, ts[sfirst])
    seg_first_ts[merged_seg] = carry["first"][cont]
    rare = ~start & closed_before & ((dt > rules.tcp_close_delay) | syn_only)
    rare |= ts - seg_first_ts[sid] > rules.active_timeout
    if rare.any():
        for g in np.unique(gid[rare]).tolist():
            _walk_key(rules, g, gfirst=gfirst, pk=pk, dt=dt, syn_only=syn_only, cont=bool(cont[g]), carry=carry,
                      start=start)

    # final segments: which continue the table flow, and why each one ended
    sfirst = np.flatnonzero(start)
    merged = np.zeros(sfirst.shape[0], dtype=bool)
    merged[np.searchsorted(sfirst, gfirst)] = cont
    f_lh = np.bitwise_or.reduceat(np.where(lh, flags, 0), sfirst)
    f_hl = np.bitwise_or.reduceat(np.where(lh, 0, flags), sfirst)
    f_lh[merged] |= carry["flags_lh"][cont]
    f_hl[merged] |= carry["flags_hl"][cont]
    s_fin, s_rst = rules.closed_state(f_lh, f_hl, proto[sfirst])
    next_gap = np.append(dt[sfirst][1:], np.inf)
    reason_after = _reason(s_fin, s_rst, next_gap > idle[sfirst])
    return {"start": start, "merged": merged, "reason_after": reason_after, "carry_reason": carry_reason,
            "syn_only": syn_only}


def _walk_key(
    rules: SegmentRules,
    g: int,
    *,
    gfirst: I64,
    pk: dict[str, np.ndarray],
    dt: F64,
    syn_only: Bool,
    cont: bool,
    carry: dict[str, np.ndarray],
    start: Bool,
) -> None:
    """The rules packet by packet for one key (rare: a close and restart, or an active cut)."""
    lo = int(gfirst[g])
    hi = int(gfirst[g + 1]) if g + 1 < gfirst.shape[0] else int(start.shape[0])
    ts, lh, flags = pk["ts"][lo:hi].tolist(), pk["lh"][lo:hi].tolist(), pk["flags"][lo:hi].tolist()
    tcp = int(pk["proto"][lo]) == IPPROTO_TCP
    idle = rules.udp_idle_timeout if int(pk["proto"][lo]) == IPPROTO_UDP else rules.idle_timeout
    gaps, syns = dt[lo:hi].tolist(), syn_only[lo:hi].tolist()
    if cont:
        seg_first = float(carry["first"][g])
        f_lh, f_hl = int(carry["flags_lh"][g]), int(carry["flags_hl"][g])
    else:
        seg_first, f_lh, f_hl = ts[0], 0, 0
    for i in range(hi - lo):
        if i:
            closed = tcp and (bool((f_lh | f_hl) & TCP_RST) or bool(f_lh & f_hl & TCP_FIN))
            limit = min(rules.tcp_close_delay, idle) if closed else idle
            cut = gaps[i] > limit or ts[i] - seg_first > rules.active_timeout or (closed and syns[i])
            start[lo + i] = cut
            if cut:
                seg_first, f_lh, f_hl = ts[i], 0, 0
        if lh[i]:
            f_lh |= flags[i]
        else:
            f_hl |= flags[i]
