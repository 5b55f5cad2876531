"""Tier 2: pick the packets worth dissecting (vectorised), then hand each to its dissector.

Dispatch tables are built once from the dissectors' declarations (ethertypes, LLC/SNAP, 802.11
management subtypes, UDP and TCP ports, probe). A packet is a candidate when its ethertype/SNAP or
management subtype is registered, or it carries
TCP/UDP payload on a registered port, on a flow already given to a dissector, or is the first
payload of its direction on a flow still unrecognised (for TCP: one of the segments carrying its
direction's first PROBE_BYTES). Only candidates reach Python. A flow is named (Flow.app) once its
dissector confirms it (dissect/base.py CONFIRMED_STATE_KEY).

A capture taken with a short snap length (tcpdump -s 96) keeps each frame's first bytes only (its
captured length below its original length: draft-ietf-opsawg-pcap §5 CapLen/OrigLen). No dissector is
handed a cut message as if it were whole: a datagram, a TCP segment for a per-packet dissector or a
link-layer frame the capture cut is not dissected (counted in ``decode_errors["snapped_payload"]``), and a
cut TCP segment gives its stream its captured bytes and then a gap for the bytes it lost, at once (not
once the out-of-order buffer overflows), as Zeek's reassembler reports a ``content_gap`` for bytes the
capture never had. What the dissector's ``gap`` hook returns (the Observations of what the hole cost it, e.g.
an answer it will never read) joins the flow's output.

An IP fragment is never dissected (nor probed): the first fragment of a fragmented datagram (RFC 791 §3.1 MF set
at offset 0, RFC 8200 §4.5 M set at offset 0) carries the transport header and only the start of the payload. The
engine reassembles the datagram (engine/fragments.py) and hands it here whole; one never completed is counted in
``decode_errors["ip_fragment_incomplete"]``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from iotwarden.dissect.base import PROBE_BYTES, Dissector, Packet, StreamDissector
from iotwarden.dissect.memo import Memo
from iotwarden.engine.batch import PacketBatch
from iotwarden.engine.decode import FCS_LEN, mac48, mac_texts
from iotwarden.engine.flowdispatch import (
    ASSIGNED,
    FINISHED,
    IPPROTO_TCP,
    IPPROTO_UDP,
    MAX_VNI_TEXTS,
    UNDECIDED,
    DispatchLimits,
    FlowDispatch,
    Where,
    _mac,
    _memoisable,
    _overrides_probe,
    _tcp_packet_limit,
    _vnis,
    _where,
    _wheres,
)
from iotwarden.engine.flowpackets import PacketFlows
from iotwarden.engine.headers import Headers
from iotwarden.engine.segments import TCP_ACK
from iotwarden.engine.streamfeed import MAX_PASS, StreamDelivery
from iotwarden.model import CaptureStats, Observation

__all__ = ["ASSIGNED", "FINISHED", "IPPROTO_TCP", "IPPROTO_UDP", "MAX_PASS", "MAX_VNI_TEXTS", "UNDECIDED",
           "DispatchLimits", "Dispatcher", "FlowDispatch", "Where", "_vnis"]


class Dispatcher(StreamDelivery):
    """Dispatch tables and per-flow tier-2 state (bounded by the open flows of the flow table). Deliveries to the
    dissectors are :class:`~iotwarden.engine.delivery.Delivery`'s, TCP streams
    :class:`~iotwarden.engine.streamfeed.StreamDelivery`'s."""

    def __init__(self, dissectors: list[Dissector], limits: DispatchLimits, stats: CaptureStats) -> None:
        self.dissectors = dissectors
        self.limits = limits
        self.stats = stats
        self.by_ethertype: dict[int, Dissector] = {}
        self.by_snap: dict[int, Dissector] = {}
        self.by_wlan_mgmt: dict[int, Dissector] = {}
        self.udp = np.full(65536, -1, dtype=np.int32)  # port -> dissector index (registry order)
        self.tcp = np.full(65536, -1, dtype=np.int32)
        for i in range(len(dissectors) - 1, -1, -1):  # backwards, so the first declaration wins
            d = dissectors[i]
            for et in d.ethertypes:
                self.by_ethertype[et] = d
            for oui, pid in d.llc_snap:
                self.by_snap[(oui << 16) | pid] = d
            for subtype in d.wlan_management:
                self.by_wlan_mgmt[subtype] = d
            self.udp[list(d.udp_ports)] = i
            self.tcp[list(d.tcp_ports)] = i
        self.ethertypes = np.array(sorted(self.by_ethertype), dtype=np.int64)
        self.snaps = np.array(sorted(self.by_snap), dtype=np.int64)
        self.wlan_mgmt = np.array(sorted(self.by_wlan_mgmt), dtype=np.int16)
        self.probers = [d for d in dissectors if _overrides_probe(d)]
        # memo keys are prefixed with the dissector's registry position: one memo serves them all
        self.memo = Memo(limits.memo_entries, limits.memo_bytes)
        self.memo_prefix: dict[int, bytes] = {}  # by id(dissector)
        if self.memo.enabled:
            self.memo_prefix = {id(d): i.to_bytes(2, "big") for i, d in enumerate(dissectors) if _memoisable(d)}
        # per dissector (by id), the payload packets handed at most of a (UDP, TCP) flow: a stream dissector with a
        # byte budget is bounded on TCP by its safety net (dissect/base.py StreamDissector.max_stream_bytes)
        self.packet_limits: dict[int, tuple[int | None, int | None]] = {
            id(d): (d.max_packets_per_flow, _tcp_packet_limit(d)) for d in dissectors}
        # stream dissectors that read on past a hole (their own ``gap``): only they are told of one as soon as the
        # peer acknowledges past it (_acked); for one whose gap ends the flow, telling it early would only end it
        # before the other direction's later messages are read, so its holes wait for the buffer or the flow's end
        self.ack_gaps: frozenset[int] = frozenset(
            id(d) for d in dissectors
            if isinstance(d, StreamDissector) and type(d).gap is not StreamDissector.gap and not d.gap_ends_flow)
        # stream dissectors that read a flow's FINs and RSTs without payload (their own ``closing``): handed them after
        # each batch (_closings)
        self.closers: frozenset[int] = frozenset(
            id(d) for d in dissectors
            if isinstance(d, StreamDissector) and type(d).closing is not StreamDissector.closing)
        # stream dissectors told when a flow they still read ends (their own ``ending``): at close, after _flush_streams
        self.enders: frozenset[int] = frozenset(
            id(d) for d in dissectors
            if isinstance(d, StreamDissector) and type(d).ending is not StreamDissector.ending)
        self.flows: dict[int, FlowDispatch] = {}
        self.changed: dict[int, int] = {}  # uid -> new t2 state, for the flow table
        self.late: list[Observation] = []  # made while closing flows; the engine collects them
        # flows of an ``ack_gaps`` dissector holding bytes behind a hole in a direction, by uid, with the batch row
        # that made them hold them (-1 once that batch is over): their segments without payload (pure ACKs, FINs) are
        # read for their ACK after each batch (_pure_acks); most batches have none. Bounded by the open flows
        self.held: dict[int, tuple[FlowDispatch, int]] = {}

    # -- selection -------------------------------------------------------------------------
    def _select(self, h: Headers, pf: PacketFlows) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_],
                                                            npt.NDArray[np.bool_]]:
        """Per flow packet (positions into ``pf``): has dispatchable payload, dispatch now, probe."""
        i = pf.idx
        proto = h.proto[i]
        sport, dport = h.sport[i], h.dport[i]
        table_hit = np.where(
            proto == IPPROTO_TCP, (self.tcp[sport] >= 0) | (self.tcp[dport] >= 0),
            (proto == IPPROTO_UDP) & ((self.udp[sport] >= 0) | (self.udp[dport] >= 0)))
        # a payload the snap length cut to nothing still counts: its stream is told of the bytes it lost
        captured = h.pay_len[i] > 0
        # a fragment holds part of its datagram's payload: none is read as a whole message (a first fragment's
        # transport header still gives its flow ports; the datagram comes whole once reassembled, engine/core.py)
        payload = ((captured | (h.pay_wire[i] > 0)) & ~(h.frag[i] | h.frag_head[i])
                   & ((proto == IPPROTO_TCP) | (proto == IPPROTO_UDP)))
        payload &= pf.t2 != FINISHED
        now = payload & (table_hit | (pf.t2 == ASSIGNED))
        probe = payload & captured & ~table_hit & (pf.t2 == UNDECIDED)
        probe &= (pf.ord_dir == 0) | ((proto == IPPROTO_TCP) & (pf.pay_dir < PROBE_BYTES))
        probe &= pf.ord_flow < self.limits.probe_window
        if not self.probers:
            probe[:] = False
        return payload, now, probe

    # -- dissection ------------------------------------------------------------------------
    def run(self, batch: PacketBatch, h: Headers, pf: PacketFlows) -> list[Observation]:
        """Observations of this batch's candidates; per-flow states change in ``self.changed``.

        Pass 1 probes unrecognised flows (first payload of each direction); pass 2 dissects, in
        capture order, port-matched and recognised flows, the latter from the recognising packet on,
        so the result does not depend on where batches are cut.
        """
        out: list[Observation] = []
        l2_mask = (h.ipver == 0) & (h.error == 0) & (
            np.isin(h.ethertype, self.ethertypes) | np.isin(h.snap, self.snaps))
        if self.wlan_mgmt.shape[0]:  # counted as wlan_management in decode_errors, and still read
            l2_mask |= np.isin(h.wlan_mgmt, self.wlan_mgmt)
        l2 = np.flatnonzero(l2_mask)
        if l2.shape[0]:
            self._run_l2(batch, h, l2, out)
        if not pf.idx.shape[0] or not self.dissectors:
            return out
        payload, now, probe = self._select(h, pf)
        if probe.any():
            since = self._probe(batch, h, pf, np.flatnonzero(probe))
            if since:
                uids = np.fromiter(since, dtype=np.int64, count=len(since))
                first = np.fromiter(since.values(), dtype=np.int64, count=len(since))
                order = np.argsort(uids)
                uids, first = uids[order], first[order]
                at = np.minimum(np.searchsorted(uids, pf.uid), uids.shape[0] - 1)
                now |= payload & (uids[at] == pf.uid) & (pf.idx >= first[at])
        sel = np.flatnonzero(now)
        if sel.shape[0]:
            self._run_ip(batch, h, pf, sel[np.argsort(pf.idx[sel], kind="stable")], out)
        if self.held:
            self._pure_acks(h, pf, out)
        if self.closers:
            self._closings(batch, h, pf, out)
        return out

    def _run_l2(self, batch: PacketBatch, h: Headers, rows: npt.NDArray[np.int64], out: list[Observation]) -> None:
        data = batch.data
        ends = h.l2_end[rows].tolist()  # an FCS the link announces is not content
        cols = zip(rows.tolist(), h.l3_off[rows].tolist(), ends, h.ethertype[rows].tolist(), h.snap[rows].tolist(),
                   h.src_mac_off[rows].tolist(), h.dst_mac_off[rows].tolist(), h.vlan[rows].tolist(),
                   h.wlan_mgmt[rows].tolist(), h.vni[rows].tolist(), strict=True)
        for row, start, end, et, snap, smac, dmac, vlan, mgmt, vni in cols:
            if mgmt >= 0:
                d = self.by_wlan_mgmt.get(mgmt)
            else:
                d = self.by_ethertype.get(et) if et >= 0 else self.by_snap.get(snap)
            if d is None:
                continue
            if batch.wirelen[row] - batch.caplen[row] > FCS_LEN:  # the capture cut the frame: its end is gone
                self.stats.decode_errors["snapped_payload"] += 1
                continue
            pkt = Packet(
                ts=float(batch.ts[row]), payload=data[start:end].tobytes(), src_mac=_mac(data, smac),
                dst_mac=_mac(data, dmac), vlan=vlan or None, ethertype=et if et >= 0 else None,
                wire_len=int(h.frame_len[row]), wlan_subtype=mgmt if mgmt >= 0 else None, vni=_vnis(vni),
            )
            self.stats.protocols[d.name] += 1
            got = self._call(d, pkt, {}, None)
            if got:
                out.extend(got)

    def _run_ip(self, batch: PacketBatch, h: Headers, pf: PacketFlows, sel: npt.NDArray[np.int64],
                out: list[Observation]) -> None:
        data = batch.data
        mv = data.data
        rows = pf.idx[sel]
        uids, to_servers = pf.uid[sel], pf.to_server[sel]
        wheres = _wheres(h, rows, uids, to_servers)
        cols = zip(
            rows.tolist(), uids.tolist(), to_servers.tolist(), pf.isn[sel].tolist(),
            h.pay_off[rows].tolist(), h.pay_len[rows].tolist(), h.proto[rows].tolist(), h.sport[rows].tolist(),
            h.dport[rows].tolist(), h.seq[rows].tolist(), h.ack[rows].tolist(), h.tcp_flags[rows].tolist(),
            h.ttl[rows].tolist(),
            mac_texts(mac48(data, h.src_mac_off[rows])), mac_texts(mac48(data, h.dst_mac_off[rows])),
            batch.ts[rows].tolist(), h.frame_len[rows].tolist(), h.pay_wire[rows].tolist(), strict=True,
        )
        flows, changed, memo_prefix, protocols = self.flows, self.changed, self.memo_prefix, self.stats.protocols
        packet_limits = self.packet_limits
        for (row, uid, to_server, isn, start, length, proto, sport, dport, seq, ack, flags, ttl, smac, dmac, ts,
             wire, pay_wire) in cols:
            fd = flows.get(uid)
            if fd is None:
                fd = flows[uid] = FlowDispatch()
            elif fd.t2 == FINISHED:
                continue
            d = fd.dissector
            if d is None:
                table = self.tcp if proto == IPPROTO_TCP else self.udp
                hits = [int(x) for x in (table[sport], table[dport]) if x >= 0]
                if not hits:
                    continue
                d = fd.dissector = self.dissectors[min(hits)]
                fd.t2 = ASSIGNED
            limit = packet_limits[id(d)][proto == IPPROTO_TCP]
            if limit is not None and fd.handed >= limit:  # nothing more is handed: no packet to make
                if proto == IPPROTO_TCP:
                    self._net_spent(fd)
                fd.t2 = FINISHED
                self._finish(fd)
                changed[uid] = FINISHED
                continue
            if fd.passing and self._passed(fd, to_server, seq, pay_wire):  # handed, found old: no packet to make
                fd.handed += 1
                protocols[d.name] += 1
                if limit is not None and fd.handed >= limit:
                    self._net_spent(fd)
                    fd.t2 = FINISHED
                    self._finish(fd)
                changed[uid] = fd.t2
                continue
            where = fd.where.get(to_server)
            if where is None:  # addresses are part of the flow key: text once per direction
                where = fd.where[to_server] = wheres.get(row) or _where(h, row)
            tcp = proto == IPPROTO_TCP
            lost = pay_wire - length  # payload bytes the capture's snap length cut off this packet
            if lost > 0 and not (tcp and isinstance(d, StreamDissector)):
                self.stats.decode_errors["snapped_payload"] += 1
                if fd.replay is not None and fd.replay[0] == to_server:
                    fd.replay = None
                continue
            payload = bytes(mv[start : start + length])
            if fd.replay is not None and fd.replay[0] == to_server:  # the segment that completed a probe
                _, seq, payload = fd.replay
                fd.replay = None
            pkt = Packet(
                ts, payload, smac, dmac, where[0], where[1], where[2], where[3], proto,
                ttl, sport, dport, flags if tcp else None, seq if tcp else None, to_server, wire, None, where[4],
                ack if tcp and flags & TCP_ACK and ack else None,  # 0 tells nothing (Packet.tcp_ack)
            )  # positional, in Packet's field order
            fd.handed += 1
            protocols[d.name] += 1  # packets handed (a stream dissector may get them later)
            if tcp:
                if isinstance(d, StreamDissector):
                    self._stream(fd, d, pkt, seq=seq, isn=isn, out=out, lost=lost,
                                 ack=ack if flags & TCP_ACK and ack else -1)
                    waiting = fd.streams.get(to_server)
                    if waiting is not None and waiting.pending and id(d) in self.ack_gaps and uid not in self.held:
                        self.held[uid] = (fd, row)  # bytes wait behind a hole: its pure ACKs are read (_pure_acks)
                else:
                    self._accept(fd, d, pkt, None, out)
            else:
                prefix = memo_prefix.get(id(d))
                if prefix is not None:
                    self._memoised(fd, d, pkt, prefix, out)
                else:
                    self._accept(fd, d, pkt, None, out)
            if fd.state.get("done") or (limit is not None and fd.handed >= limit):
                if tcp:
                    self._net_spent(fd)  # the safety net reached (a flow done already is not told)
                fd.t2 = FINISHED
            if fd.t2 == FINISHED:
                self._finish(fd)
            changed[uid] = fd.t2

    def close(self, uid: int) -> tuple[str | None, str | None, bool]:
        """Forget a closed flow's tier-2 state (after dissecting what its streams still held, into :attr:`late`, and
        telling a dissector of :attr:`enders` still reading it that it ended); its recognised protocol (for Flow.app),
        when none the dissector that rejected its bytes, and whether its dissector found its roles reversed
        (dissect/base.py FLIP_STATE_KEY)."""
        fd = self.flows.pop(uid, None)
        self.changed.pop(uid, None)
        if fd is None:
            return None, None, False
        self._flush_streams(fd)
        if id(fd.dissector) in self.enders:  # most closed flows: this one set look-up
            self._ending(fd)
        self._finish(fd)
        return fd.app, None if fd.app else fd.failed, fd.flip and fd.app is not None

    def close_many(self, uids: list[int]) -> tuple[list[str | None], list[tuple[int, str]], list[int]]:
        """:meth:`close` for each of ``uids`` in order: their apps, (position, name) of those whose bytes a
        dissector rejected, and the positions whose roles their dissector reversed. Most closed flows never
        reached tier 2: only a dict look-up each."""
        apps: list[str | None] = [None] * len(uids)
        failed: list[tuple[int, str]] = []
        flipped: list[int] = []
        flows, changed = self.flows, self.changed
        for i, uid in enumerate(uids):
            if uid not in flows:
                changed.pop(uid, None)
                continue
            app, name, flip = self.close(uid)
            apps[i] = app
            if name is not None:
                failed.append((i, name))
            if flip:
                flipped.append(i)
        return apps, failed, flipped
