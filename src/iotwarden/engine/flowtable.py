"""The flow table: per-batch aggregation of packets into bidirectional flows, with exact timeouts.

Packets are grouped by canonical key (vlan, protocol, lower endpoint, higher endpoint, the VXLAN/Geneve virtual
networks they came through: ``Headers.vni``, so two cloud tenants' overlapping private addresses mirrored under two
VNIs stay two flows, as Zeek keys a tunnelled connection by its tunnel) with a 64-bit hash, verified exactly; a
stable sort puts each flow's packets in capture order (both in :mod:`~iotwarden.engine.flowkeys`), gaps are found
with ``diff`` and counters summed with ``reduceat``. Only the (far fewer) flows touch Python.
Closed flows are returned as column rows; the engine turns them into :class:`~iotwarden.model.Flow`; what tier 2
is told of each packet is :class:`~iotwarden.engine.flowpackets.PacketFlows`.

Keys: ICMP and other port-less protocols use ports 0 (an echo request and its reply share a flow);
non-first IP fragments carry no ports and are counted in the port-less flow of their addresses (a reassembled
datagram is not counted again: ``lookup`` finds its flow for tier 2).
A new flow's initiator is what its first packets prove, else the end on a likely server port (engine/orient.py);
a TCP flow that has carried no payload yet, and whose initiator no SYN has named, is oriented again with each
batch that continues it, as if its packets had come in one batch (tier 2 has seen none of its packets).
Limit: ``max_flows`` open flows, checked after each batch (a batch may add its new flows first).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

import numpy as np
import numpy.typing as npt

from iotwarden.engine.decode import mac48
from iotwarden.engine.flowkeys import KEY, canonical, group, key_bytes
from iotwarden.engine.flowpackets import PacketFlows, packet_view
from iotwarden.engine.headers import Headers
from iotwarden.engine.orient import ServerPorts, decide, group_destination, naming_syns
from iotwarden.engine.segments import IPPROTO_TCP, TCP_SYN, SegmentRules, split_flows

I64 = npt.NDArray[np.int64]

# PacketFlows (engine/flowpackets.py, split from this module) stays importable from here
__all__ = ["COLUMNS", "COUNTERS", "ICMP_SHIFT", "TCP_FLAGS", "Closed", "FlowTable", "PacketFlows"]

# columns kept per flow; "lh" is the direction from the lower endpoint to the higher one
COUNTERS = ("pkts_lh", "pkts_hl", "bytes_lh", "bytes_hl", "pay_lh", "pay_hl", "ppk_lh", "ppk_hl")
COLUMNS: dict[str, type] = {
    "vlan": np.int64, "vni": np.int64, "proto": np.int64, "ipver": np.int64,
    "a_hi": np.uint64, "a_lo": np.uint64, "b_hi": np.uint64, "b_lo": np.uint64,
    "a_port": np.int64, "b_port": np.int64, "init_low": np.bool_,
    "first": np.float64, "last": np.float64,
    **dict.fromkeys(COUNTERS, np.int64),
    "flags_lh": np.int64, "flags_hl": np.int64,
    "isn_lh": np.int64, "isn_hl": np.int64,  # SYN sequence number + 1 per direction, -1 unseen
    "mac_low": np.int64, "mac_high": np.int64,  # 48-bit MACs, -1 unknown
    "uid": np.int64, "t2": np.int8,  # flow id; tier-2 dispatch state (engine.dispatch)
    "flipped": np.int8,  # why the initiator is not the first packet's sender (orient.FLIP_REASONS), 0: it is
    "first_flags": np.int64,  # TCP flags of the flow's first packet (ICMP: its type + 1, << ICMP_SHIFT)
    "syn_named": np.bool_,  # a SYN without ACK, before any payload, named the initiator
}
# an ICMP packet's "flags" are its type + 1 shifted past the TCP flag bits: OR-ed per direction like TCP's,
# and the first packet's say which message started the flow (Flow.extra["icmp_type"], as Zeek's id.orig_p)
ICMP_SHIFT = 16
TCP_FLAGS = (1 << ICMP_SHIFT) - 1


@dataclass(slots=True)
class Closed:
    """Rows of flows closed by one batch, column by column, with their end reasons."""

    cols: dict[str, np.ndarray]
    reasons: list[str]


class FlowTable:
    """Open flows in numpy columns, found by exact key through one dict (key bytes -> slot)."""

    def __init__(self, rules: SegmentRules, max_flows: int, ports: ServerPorts | None = None) -> None:
        self.rules = rules
        self.max_flows = max_flows
        self.ports = ports or ServerPorts.of()
        self.cap = 0
        self.cols: dict[str, np.ndarray] = {}
        self.used = np.zeros(0, dtype=bool)  # slot holds an open flow
        self.deadline = np.zeros(0, dtype=np.float64)  # capture time after which it is idle
        self.index: dict[bytes, int] = {}
        self.keys: list[bytes | None] = []
        self.free: list[int] = []
        self.slot_of_uid: dict[int, int] = {}
        self.next_uid = 1
        self.evicted = 0
        self._grow(1024)

    def __len__(self) -> int:
        return len(self.index)

    def _grow(self, need: int) -> None:
        new = max(self.cap * 2, self.cap + need, 1024)
        for name, dt in COLUMNS.items():
            col: np.ndarray = np.zeros(new, dtype=dt)
            if self.cap:
                col[: self.cap] = self.cols[name]
            self.cols[name] = col
        used = np.zeros(new, dtype=bool)
        used[: self.cap] = self.used
        self.used = used
        deadline = np.zeros(new, dtype=np.float64)
        deadline[: self.cap] = self.deadline
        self.deadline = deadline
        self.keys.extend([None] * (new - self.cap))
        self.free.extend(range(new - 1, self.cap - 1, -1))
        self.cap = new

    def _alloc(self, count: int) -> I64:
        if count > len(self.free):
            self._grow(count - len(self.free))
        slots = np.array(self.free[len(self.free) - count :], dtype=np.int64)
        del self.free[len(self.free) - count :]
        self.used[slots] = True
        return slots

    def _release(self, slots: I64) -> None:
        keys, index, forget = self.keys, self.index, self.slot_of_uid.pop
        listed = slots.tolist()
        for s in listed:
            key = keys[s]
            if key is not None:
                del index[key]
                keys[s] = None
        for uid in self.cols["uid"][slots].tolist():
            forget(uid, None)
        self.free.extend(listed)
        self.used[slots] = False

    def rows(self, slots: I64) -> dict[str, np.ndarray]:
        return {name: col[slots] for name, col in self.cols.items()}

    def update(self, h: Headers, ts: npt.NDArray[np.float64], wire: I64, data: npt.NDArray[np.uint8]) -> tuple[
        PacketFlows, list[Closed]
    ]:
        """Add the batch's IP packets to the table; flows that ended inside the batch are returned."""
        idx = np.flatnonzero((h.ipver > 0) & (h.error == 0))
        closed: list[Closed] = []
        if not idx.shape[0]:
            e = np.empty(0, dtype=np.int64)
            return PacketFlows(idx, e, e.astype(bool), e.astype(np.int8), e, e, e, e), closed
        key, lh, a_port, b_port, vlan, proto = canonical(h, idx)
        order, gstart, ks = group(key)
        gfirst = np.flatnonzero(gstart)
        gid = np.cumsum(gstart) - 1

        o = idx[order]  # batch packet index, in flow-then-capture order
        gkeys = key_bytes({k: ks[k][gfirst] for k in KEY})
        gslot = np.fromiter(map(self.index.get, gkeys, repeat(-1, len(gkeys))), dtype=np.int64, count=len(gkeys))

        flags = h.tcp_flags[o].astype(np.int64)
        icmp = (proto[order] == 1) | (proto[order] == 58)  # its type + 1 above the TCP flags: first_flags names it
        icmp_flags = (h.icmp_type[o].astype(np.int64) + 1) << ICMP_SHIFT
        flags = np.where(proto[order] == 6, flags, np.where(icmp, icmp_flags, 0))
        pk = {
            "ts": ts[o], "lh": lh[order], "wire": wire[o], "pay": h.pay_wire[o], "has_pay": h.pay_len[o] > 0,
            "flags": flags, "seq": h.seq[o], "proto": proto[order],
        }
        existing = gslot >= 0
        ex = np.where(existing, gslot, 0)
        carry = {
            "exists": existing,
            "first": np.where(existing, self.cols["first"][ex], 0.0),
            "last": np.where(existing, self.cols["last"][ex], 0.0),
            "flags_lh": np.where(existing, self.cols["flags_lh"][ex], 0),
            "flags_hl": np.where(existing, self.cols["flags_hl"][ex], 0),
        }
        seg = split_flows(self.rules, pk, gstart=gstart, gfirst=gfirst, gid=gid, carry=carry)
        # seg: start (bool per sorted packet), merged (bool per segment), reason_after (per segment)
        return self._apply(h, data, o=o, order=order, pk=pk, key=ks, a_port=a_port, b_port=b_port, vlan=vlan,
                           proto=proto, gfirst=gfirst, gid=gid, gkeys=gkeys, gslot=gslot, seg=seg, closed=closed)

    def _apply(self, h: Headers, data: npt.NDArray[np.uint8], *, o: I64, order: I64, pk: dict[str, np.ndarray],
               key: dict[str, np.ndarray], a_port: I64, b_port: I64, vlan: I64, proto: I64, gfirst: I64,
               gid: I64, gkeys: list[bytes], gslot: I64, seg: dict[str, np.ndarray],
               closed: list[Closed]) -> tuple[PacketFlows, list[Closed]]:
        start = seg["start"]
        sfirst = np.flatnonzero(start)  # sorted index of each segment's first packet
        nseg = int(sfirst.shape[0])
        sid = np.cumsum(start) - 1
        sgroup = gid[sfirst]
        is_last = np.ones(nseg, dtype=bool)
        is_last[:-1] = sgroup[1:] != sgroup[:-1]
        merged = seg["merged"]
        lh = pk["lh"]
        agg: dict[str, np.ndarray] = {}
        agg["pkts_lh"] = np.add.reduceat(lh.astype(np.int64), sfirst)
        agg["pkts_hl"] = np.diff(np.append(sfirst, lh.shape[0])) - agg["pkts_lh"]
        for name, val in (("bytes", pk["wire"]), ("pay", pk["pay"]), ("ppk", pk["has_pay"].astype(np.int64))):
            total = np.add.reduceat(val, sfirst)
            agg[f"{name}_lh"] = np.add.reduceat(np.where(lh, val, 0), sfirst)
            agg[f"{name}_hl"] = total - agg[f"{name}_lh"]
        agg["flags_lh"] = np.bitwise_or.reduceat(np.where(lh, pk["flags"], 0), sfirst)
        agg["flags_hl"] = np.bitwise_or.reduceat(np.where(lh, 0, pk["flags"]), sfirst)
        syn = (pk["flags"] & TCP_SYN) != 0
        agg["isn_lh"] = np.maximum.reduceat(np.where(syn & lh, (pk["seq"] + 1) & 0xFFFFFFFF, -1), sfirst)
        agg["isn_hl"] = np.maximum.reduceat(np.where(syn & ~lh, (pk["seq"] + 1) & 0xFFFFFFFF, -1), sfirst)
        agg["first"] = np.minimum.reduceat(pk["ts"], sfirst)
        agg["last"] = np.maximum.reduceat(pk["ts"], sfirst)
        first_lh = lh[sfirst]
        first_pkt = o[sfirst]
        src_mac, dst_mac = mac48(data, h.src_mac_off[first_pkt]), mac48(data, h.dst_mac_off[first_pkt])
        agg["mac_low"] = np.where(first_lh, src_mac, dst_mac)
        agg["mac_high"] = np.where(first_lh, dst_mac, src_mac)
        ipver = h.ipver[first_pkt].astype(np.int64)
        first_flags = pk["flags"][sfirst]
        named, syn_lh = naming_syns(lh, seg["syn_only"], pk["has_pay"], sid, sfirst)
        flipped = decide(self.ports, first_lh=first_lh, named=named, syn_lh=syn_lh, first_flags=first_flags,
                         proto=pk["proto"][sfirst], sport=h.sport[first_pkt], dport=h.dport[first_pkt],
                         other_flags=np.where(first_lh, agg["flags_hl"], agg["flags_lh"]),
                         other_payload=np.where(first_lh, agg["pay_hl"], agg["pay_lh"]),
                         group_dst=group_destination(ipver, h.dst_hi[first_pkt], h.dst_lo[first_pkt], dst_mac))
        init_low = first_lh ^ (flipped != 0)
        for k in ("a_hi", "a_lo", "b_hi", "b_lo"):
            agg[k] = key[k][sfirst]  # key columns arrive sorted
        agg["vni"] = key["vni"][sfirst].astype(np.int64)
        first_sorted = order[sfirst]
        agg["a_port"], agg["b_port"] = a_port[first_sorted], b_port[first_sorted]
        agg["vlan"], agg["proto"] = vlan[first_sorted], proto[first_sorted]
        agg["ipver"] = ipver
        agg["init_low"] = init_low
        agg["flipped"] = flipped
        agg["first_flags"] = first_flags
        agg["syn_named"] = named
        agg["t2"] = np.zeros(nseg, dtype=np.int8)

        slot = np.where(merged, gslot[sgroup], -1)
        ms = slot[merged]
        cols = self.cols
        # payload-packet ordinals and tier-2 state need the table's values from before this batch
        prior_lh = np.zeros(nseg, dtype=np.int64)
        prior_hl = np.zeros(nseg, dtype=np.int64)
        prior_lh[merged], prior_hl[merged] = cols["ppk_lh"][ms], cols["ppk_hl"][ms]
        prior_pay_lh = np.zeros(nseg, dtype=np.int64)
        prior_pay_hl = np.zeros(nseg, dtype=np.int64)
        prior_pay_lh[merged], prior_pay_hl[merged] = cols["pay_lh"][ms], cols["pay_hl"][ms]
        t2_seg = np.zeros(nseg, dtype=np.int8)
        t2_seg[merged] = cols["t2"][ms]
        uid = np.zeros(nseg, dtype=np.int64)
        uid[merged] = cols["uid"][ms]
        fresh = ~merged
        uid[fresh] = np.arange(self.next_uid, self.next_uid + int(fresh.sum()))
        self.next_uid += int(fresh.sum())
        agg["uid"] = uid
        init_low = np.where(merged, False, init_low)
        init_low[merged] = cols["init_low"][ms]
        isn_lh = np.where(agg["isn_lh"] >= 0, agg["isn_lh"], -1)
        isn_hl = np.where(agg["isn_hl"] >= 0, agg["isn_hl"], -1)
        isn_lh[merged] = np.where(cols["isn_lh"][ms] >= 0, cols["isn_lh"][ms], isn_lh[merged])
        isn_hl[merged] = np.where(cols["isn_hl"][ms] >= 0, cols["isn_hl"][ms], isn_hl[merged])

        # existing flows that the batch does not continue end now
        continued = np.zeros(gslot.shape[0], dtype=bool)
        continued[sgroup[merged]] = True
        gone = np.flatnonzero((gslot >= 0) & ~continued)
        if gone.shape[0]:
            gslots = gslot[gone]
            reasons = seg["carry_reason"][gone].tolist()
            closed.append(Closed(self.rows(gslots), reasons))
            self._release(gslots)

        # merge the continuing segments into their slots
        for name in COUNTERS:
            cols[name][ms] += agg[name][merged]
        for name in ("flags_lh", "flags_hl"):
            cols[name][ms] |= agg[name][merged]
        cols["last"][ms] = np.maximum(cols["last"][ms], agg["last"][merged])
        cols["first"][ms] = np.minimum(cols["first"][ms], agg["first"][merged])
        cols["isn_lh"][ms], cols["isn_hl"][ms] = isn_lh[merged], isn_hl[merged]
        self._set_deadline(ms)
        # a TCP flow whose payload tier 2 has not seen yet, and whose initiator no SYN has named, is oriented
        # again with this batch's packets (a late SYN, a RST answering its SYN+ACK), as one batch would have
        again = (prior_lh[merged] + prior_hl[merged] == 0) & ~cols["syn_named"][ms] & (cols["proto"][ms] == IPPROTO_TCP)
        if again.any():
            segs = np.flatnonzero(merged)[again]
            init_low[segs] = self._reorient(ms[again], named[segs], syn_lh[segs])

        # segments followed by another one of the same key are complete flows
        done = ~is_last
        if done.any():
            reasons = seg["reason_after"][done].tolist()
            rows = {name: agg[name][done] for name in COLUMNS}
            rows["init_low"] = init_low[done]
            dm = merged[done]
            if dm.any():  # a continued flow that ended inside the batch: its merged table row
                mrows = self.rows(slot[done][dm])
                for name in COLUMNS:
                    rows[name][dm] = mrows[name]
                self._release(slot[done][dm])
            closed.append(Closed(rows, reasons))

        # the last segment of each key opens a new slot unless it continued one
        new = is_last & fresh
        if new.any():
            slots = self._alloc(int(new.sum()))
            for name in COLUMNS:
                cols[name][slots] = agg[name][new]
            cols["init_low"][slots] = init_low[new]
            cols["isn_lh"][slots], cols["isn_hl"][slots] = isn_lh[new], isn_hl[new]
            self._set_deadline(slots)
            listed = slots.tolist()
            fresh_keys = [gkeys[g] for g in sgroup[new].tolist()]
            self.index.update(zip(fresh_keys, listed, strict=True))
            keys = self.keys
            for s, k in zip(listed, fresh_keys, strict=True):
                keys[s] = k
            self.slot_of_uid.update(zip(uid[new].tolist(), listed, strict=True))

        pf = packet_view(o, lh, pk["has_pay"], pk["pay"], sfirst=sfirst, sid=sid, uid=uid, init_low=init_low,
                         t2=t2_seg, prior=(prior_lh, prior_hl), prior_pay=(prior_pay_lh, prior_pay_hl),
                         isn=(isn_lh, isn_hl))
        return pf, closed

    def lookup(self, h: Headers) -> PacketFlows:
        """The open flows of packets the table does not count (datagrams rebuilt from fragments it counted,
        engine/fragments.py), as :meth:`update` gives them to tier 2; packets of no open flow are left out. The
        datagram's first fragment was counted as a payload packet of its direction: it is not one before it."""
        idx = np.flatnonzero((h.ipver > 0) & (h.error == 0))
        key, lh, *_ = canonical(h, idx)
        slot = np.fromiter((self.index.get(k, -1) for k in key_bytes(key)), dtype=np.int64, count=idx.shape[0])
        found = slot >= 0
        idx, slot, lh = idx[found], slot[found], lh[found]
        c = self.cols
        ppk_lh, ppk_hl = c["ppk_lh"][slot], c["ppk_hl"][slot]
        ord_dir = np.maximum(np.where(lh, ppk_lh, ppk_hl) - 1, 0)
        ord_flow = np.maximum(ppk_lh + ppk_hl - 1, 0)
        pay_dir = np.maximum(np.where(lh, c["pay_lh"][slot], c["pay_hl"][slot]) - h.pay_wire[idx], 0)
        isn = np.where(lh, c["isn_lh"][slot], c["isn_hl"][slot])
        return PacketFlows(idx, c["uid"][slot], lh == c["init_low"][slot], c["t2"][slot].copy(), ord_flow, ord_dir,
                           pay_dir, isn)

    def _reorient(self, slots: I64, named: npt.NDArray[np.bool_], syn_lh: npt.NDArray[np.bool_]) -> npt.NDArray[
            np.bool_]:
        """Orient open flows (``slots``, their counters merged with this batch's) again, with what this batch's
        packets of each say of a SYN naming its initiator; their new ``init_low``."""
        c = self.cols
        first_lh = c["init_low"][slots] ^ (c["flipped"][slots] != 0)
        why = decide(self.ports, first_lh=first_lh, named=named, syn_lh=syn_lh, first_flags=c["first_flags"][slots],
                     proto=c["proto"][slots], sport=np.where(first_lh, c["a_port"][slots], c["b_port"][slots]),
                     dport=np.where(first_lh, c["b_port"][slots], c["a_port"][slots]),
                     other_flags=np.where(first_lh, c["flags_hl"][slots], c["flags_lh"][slots]),
                     other_payload=np.where(first_lh, c["pay_hl"][slots], c["pay_lh"][slots]),
                     group_dst=np.zeros(slots.shape[0], dtype=bool))
        init_low: npt.NDArray[np.bool_] = first_lh ^ (why != 0)
        c["flipped"][slots], c["init_low"][slots], c["syn_named"][slots] = why, init_low, named
        return init_low

    def _set_deadline(self, slots: I64) -> None:
        c = self.cols
        fin, rst = self.rules.closed_state(c["flags_lh"][slots], c["flags_hl"][slots], c["proto"][slots])
        self.deadline[slots] = c["last"][slots] + self.rules.idle_for(c["proto"][slots], fin | rst)

    def set_t2(self, states: dict[int, int]) -> None:
        """Record tier-2 dispatch states of open flows (by uid)."""
        for uid, state in states.items():
            s = self.slot_of_uid.get(uid)
            if s is not None:
                self.cols["t2"][s] = state

    def expire(self, now: float) -> list[Closed]:
        """Flows idle past their timeout at capture time ``now``, and flows over ``max_flows``."""
        out: list[Closed] = []
        used = self.used
        c = self.cols
        # the deadline column is a cheap pre-filter; the exact test is the one segments use
        near = np.flatnonzero(used & (self.deadline <= now + 1.0))
        fin, rst = self.rules.closed_state(c["flags_lh"][near], c["flags_hl"][near], c["proto"][near])
        idle = self.rules.idle_for(c["proto"][near], fin | rst)
        over = now - c["last"][near] > idle
        gone = near[over]
        if gone.shape[0]:
            reasons = np.where(rst[over], "rst", np.where(fin[over], "fin", "idle")).tolist()
            out.append(Closed(self.rows(gone), reasons))
            self._release(gone)
        excess = len(self.index) - self.max_flows
        if excess > 0:  # least recently seen first (the table is full)
            slots = np.flatnonzero(self.used)
            victims = slots[np.argpartition(c["last"][slots], excess - 1)[:excess]]
            out.append(Closed(self.rows(victims), ["evicted"] * excess))
            self._release(victims)
            self.evicted += excess
        return out

    def flush(self) -> list[Closed]:
        """Every open flow, ended by the end of input."""
        slots = np.flatnonzero(self.used)
        if not slots.shape[0]:
            return []
        out = [Closed(self.rows(slots), ["end"] * int(slots.shape[0]))]
        self._release(slots)
        return out
