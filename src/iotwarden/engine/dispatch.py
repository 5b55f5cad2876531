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

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from iotwarden.dissect.base import (
    APP_STATE_KEY,
    CONFIRMED_STATE_KEY,
    FLIP_STATE_KEY,
    PASS_KEYS,
    PROBE_BYTES,
    Dissector,
    Packet,
    StreamDissector,
)
from iotwarden.dissect.memo import Memo, freeze, thaw
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.engine.batch import PacketBatch
from iotwarden.engine.decode import FCS_LEN, Headers, addr_text, addr_texts, mac48, mac_texts, vni_list
from iotwarden.engine.flowpackets import PacketFlows
from iotwarden.engine.reassembly import HALF, SEQ_MOD, StreamDirection
from iotwarden.engine.segments import TCP_ACK
from iotwarden.errors import ParseError
from iotwarden.model import CaptureStats, Observation

log = logging.getLogger(__name__)

# (vlan, ethertype, src_ip, dst_ip, vni) of a flow direction: what its Packets and Observations are stamped with
Where = tuple[int | None, int, str, str, tuple[int, ...] | None]
MAX_VNI_TEXTS = 4096  # packed VXLAN/Geneve VNI values whose Packet.vni tuple is kept (an LRU cache)

UNDECIDED, ASSIGNED, FINISHED = 0, 1, 2  # tier-2 state of a flow (flow table column "t2")
IPPROTO_TCP, IPPROTO_UDP = 6, 17
# A TCP direction is probed on its first bytes accumulated over its first in-order segments, until they
# reach PROBE_BYTES (within the probe window), so a signature cut across a split first message is still
# seen; a datagram is probed alone. What a direction held back for this is at most PROBE_BYTES - 1 bytes
# (dissect/base.py PROBE_BYTES, which the probes of text protocols read too).
# Bytes a stream dissector passes over (dissect/base.py PASS_KEYS) taken over from it at a time: sequence numbers are
# compared within half their space (RFC 9293 §3.4), so a larger count is taken in turns, the dissector passing over
# the rest of it itself once fed the bytes after this many
MAX_PASS = 1 << 30


@dataclass(slots=True)
class DispatchLimits:
    probe_window: int  # payload packets of a flow within which probing may happen
    tcp_max_ooo_segments: int
    tcp_max_ooo_bytes: int
    memo_entries: int = 0  # datagram memo (dissect/base.py): entries and bytes kept, 0 turns it off
    memo_bytes: int = 0


@dataclass(slots=True)
class FlowDispatch:
    """Tier-2 state of one flow: its dissector, that dissector's state dict, reassembly."""

    t2: int = UNDECIDED
    dissector: Dissector | None = None
    state: dict[str, Any] = field(default_factory=dict)
    handed: int = 0
    fed: int = 0  # stream bytes fed to its dissector, both directions (StreamDissector.max_stream_bytes)
    probed: set[bool] = field(default_factory=set)  # directions probed to the end (PROBE_BYTES or a datagram)
    # per TCP direction still being probed: (sequence number of its first byte, its bytes so far)
    heads: dict[bool, tuple[int, bytes]] = field(default_factory=dict)
    # the bytes a probe recognised over several segments: (direction, first sequence number, bytes), handed
    # to the dissector in place of the segment that completed them
    replay: tuple[bool, int, bytes] | None = None
    app: str | None = None  # set once the dissector confirmed the flow (dissect/base.py CONFIRMED_STATE_KEY)
    flip: bool = False  # the confirmed dissector found the flow's roles reversed (dissect/base.py FLIP_STATE_KEY)
    failed: str | None = None  # the dissector that rejected the flow's captured bytes before it recognised any
    # the dissector accepted a delivery (or its probe claimed the flow): a later rejection no longer
    # hands the flow to another prober
    claimed: bool = False
    # the port's stream dissector rejected the flow's first bytes and a prober took the flow over (Zeek's
    # dynamic protocol detection); if that one rejects them too the flow stays failed
    fallback: bool = False
    # per TCP direction, the bytes the port's stream dissector rejected before anything of the flow was
    # accepted, while fewer than PROBE_BYTES: offered to the probers again with the next rejected delivery,
    # so a first message cut into small segments is taken over as it is when it comes whole
    rejected_head: dict[bool, bytes] = field(default_factory=dict)
    streams: dict[bool, StreamDirection[Packet]] = field(default_factory=dict)
    # the TCP directions moved past bytes their dissector passes over (Dispatcher._pass), while their segments come
    # wholly before the next expected byte: 2 the client's, 1 the server's (Dispatcher._passed)
    passing: int = 0
    where: dict[bool, Where] = field(default_factory=dict)  # per direction


def _overrides_probe(d: Dissector) -> bool:
    return type(d).probe is not Dissector.probe


def _tcp_packet_limit(d: Dissector) -> int | None:
    """Payload packets of a TCP flow handed to ``d`` at most: the safety net behind its byte budget
    (dissect/base.py StreamDissector.max_stream_bytes), without one its ``max_packets_per_flow``."""
    if isinstance(d, StreamDissector) and d.max_stream_bytes is not None:
        return d.max_stream_packets
    return d.max_packets_per_flow


def _memoisable(d: Dissector) -> bool:
    """It declares ``memo_key`` (dissect/base.py); only its UDP datagrams are memoised, never TCP."""
    return type(d).memo_key is not Dissector.memo_key


def _stamped(o: Observation, pkt: Packet) -> bool:
    """True when ``o`` is what ``pkt.observation`` makes: only then can a replay restamp it."""
    return (type(o) is Observation and o.ts == pkt.ts and o.src_mac == pkt.src_mac and o.dst_mac == pkt.dst_mac
            and o.src_ip == pkt.src_ip and o.dst_ip == pkt.dst_ip and o.src_port == pkt.src_port
            and o.dst_port == pkt.dst_port and o.ip_proto == pkt.ip_proto and o.vlan == pkt.vlan
            and o.vni == pkt.vni)


class Dispatcher:
    """Dispatch tables and per-flow tier-2 state (bounded by the open flows of the flow table)."""

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
            id(d) for d in dissectors if isinstance(d, StreamDissector) and type(d).gap is not StreamDissector.gap)
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
        return out

    def _pure_acks(self, h: Headers, pf: PacketFlows, out: list[Observation]) -> None:
        """The batch's TCP segments without payload that carry an ACK (pure ACKs, FINs), of the flows holding bytes
        behind a hole (:attr:`held`, pruned of those that no longer do), each after the segment that made its flow
        hold them: a hole one acknowledges past is told then (:meth:`_pure_ack`), where it would otherwise wait for
        the peer's next payload, the buffer's overflow or the flow's end. After the batch's payload: a later payload
        segment of the peer in the batch told the hole already, and the held direction's later bytes only joined
        those waiting, so nothing is read in another order within a direction."""
        held = self.held
        for uid in [u for u, (fd, _) in held.items()
                    if fd.t2 != ASSIGNED or not any(st.pending for st in fd.streams.values())]:
            del held[uid]
        if not held:
            return
        i = pf.idx
        pure = np.flatnonzero((h.proto[i] == IPPROTO_TCP) & (h.pay_wire[i] == 0) & ((h.tcp_flags[i] & TCP_ACK) != 0)
                              & np.isin(pf.uid, np.fromiter(held, dtype=np.int64, count=len(held))))
        if not pure.shape[0]:
            return
        pure = pure[np.argsort(i[pure], kind="stable")]
        for row, uid, to_server, ack in zip(i[pure].tolist(), pf.uid[pure].tolist(), pf.to_server[pure].tolist(),
                                            h.ack[i[pure]].tolist(), strict=True):
            entry = held.get(uid)
            if entry is not None and row > entry[1]:
                self._pure_ack(entry[0], uid, to_server, ack, out)
        for uid, (fd, _) in held.items():
            held[uid] = (fd, -1)  # from the next batch on, every pure ACK of the flow is after it

    def _pure_ack(self, fd: FlowDispatch, uid: int, to_server: bool, ack: int, out: list[Observation]) -> None:
        """A segment without payload of a flow holding bytes behind a hole: the holes of the other direction it
        acknowledges past are told now, with the bytes buffered behind them (:meth:`_acked`)."""
        d = fd.dissector
        other = fd.streams.get(not to_server)
        if (fd.t2 != ASSIGNED or not isinstance(d, StreamDissector) or other is None or not other.pending
                or other.next_seq == ack):
            return
        if not self._acked(fd, d, not to_server, ack, out) or fd.state.get("done"):
            fd.t2 = FINISHED
            self._finish(fd)
        self.changed[uid] = fd.t2

    def _probe(self, batch: PacketBatch, h: Headers, pf: PacketFlows, sel: npt.NDArray[np.int64]) -> dict[int, int]:
        """Probe first payloads in capture order; the flows recognised, with the batch row it happened at."""
        since: dict[int, int] = {}
        sel = sel[np.argsort(pf.idx[sel], kind="stable")]
        rows = pf.idx[sel]
        data = batch.data
        for row, uid, to_server, start, length, proto, seq in zip(
            rows.tolist(), pf.uid[sel].tolist(), pf.to_server[sel].tolist(), h.pay_off[rows].tolist(),
            h.pay_len[rows].tolist(), h.proto[rows].tolist(), h.seq[rows].tolist(), strict=True,
        ):
            fd = self.flows.get(uid)
            if fd is None:
                fd = self.flows[uid] = FlowDispatch()
            if fd.dissector is not None or fd.t2 != UNDECIDED or to_server in fd.probed:
                continue
            payload = data[start : start + length].tobytes()
            first = seq
            if proto == IPPROTO_TCP:
                head = fd.heads.pop(to_server, None)
                if head is not None:
                    first, held = head
                    offset = (seq - first) & 0xFFFFFFFF
                    if offset != len(held):  # a retransmission, or a hole: probe in-order bytes only
                        if offset < len(held):
                            fd.heads[to_server] = head
                            continue
                        fd.probed.add(to_server)
                        self._probed_out(fd, uid)
                        continue
                    payload = held + payload
                if len(payload) < PROBE_BYTES:
                    fd.heads[to_server] = (first, payload)
                else:
                    fd.probed.add(to_server)
            else:
                fd.probed.add(to_server)
            for d in self.probers:
                try:
                    hit = d.probe(payload, to_server)
                except Exception:  # a probe must answer True/False; anything else is a bug, counted
                    self.stats.analyzer_errors[f"dissect.{d.name}"] += 1
                    log.debug("probe of %s failed", d.name, exc_info=True)
                    continue
                if hit:  # claimed, not yet named: that waits for the dissector's confirmation
                    fd.dissector, fd.claimed, fd.t2 = d, True, ASSIGNED
                    if len(payload) > length:  # bytes of earlier segments: they go to the dissector too
                        fd.replay = (to_server, first, payload)
                    fd.heads.clear()
                    since[uid] = row
                    break
            else:
                self._probed_out(fd, uid)
                continue
            self.changed[uid] = fd.t2
        return since

    def _probed_out(self, fd: FlowDispatch, uid: int) -> None:
        """No prober claimed the flow (yet): finished once both directions were probed to the end."""
        if len(fd.probed) == 2:
            fd.t2 = FINISHED
            fd.heads.clear()
        self.changed[uid] = fd.t2

    def _call(self, d: Dissector, pkt: Packet, state: dict[str, Any], data: bytes | None, *,
              confirmed: bool = True) -> list[Observation] | None:
        """One dissector call; None when it rejected the input (counted), else its Observations (also those
        made before it rejected the rest of a delivery: streambuf.PartialParse, counted).

        ``confirmed`` is False for a flow its dissector has not confirmed yet (``FlowDispatch.app``): a
        rejection then says the flow's bytes are not that protocol, not that they are a malformed message
        of it, and is counted in ``rejected_before_confirmation``, unless the call itself confirmed the flow
        (an Observation made before the error, or ``confirm``) first (see :meth:`_reject_count`)."""
        name = d.name
        try:
            if data is not None and isinstance(d, StreamDissector):
                return d.feed(pkt, data, state)
            return d.dissect(pkt, state)
        except PartialParse as exc:  # it rejected part of a delivery after describing what came before it
            self._reject_count(name, confirmed or bool(exc.made) or bool(state.get(CONFIRMED_STATE_KEY)))
            return exc.made
        except ParseError:
            self._reject_count(name, confirmed or bool(state.get(CONFIRMED_STATE_KEY)))
        except Exception:  # a dissector bug must not stop the capture; counted and logged
            self.stats.parse_errors[name] += 1
            self.stats.analyzer_errors[f"dissect.{name}"] += 1
            log.debug("dissector %s failed", name, exc_info=True)
        return None

    def _reject_count(self, name: str, confirmed: bool) -> None:
        """Count one rejection by dissector ``name``. After it confirmed the flow (or on a link-layer frame,
        named by its ethertype) it is a malformed message: ``parse_errors``. Before, the flow is most likely
        another protocol on that dissector's port (DTLS or STUN on udp/443, TLS on tcp/80): Zeek reports
        such an analyzer violation before ``AnalyzerConfirmation`` as the flow's failed service, not as a
        weird; it is counted apart, in ``rejected_before_confirmation``, and the flow keeps its
        ``failed_services`` (:meth:`_rejected`). A dissector crash is always a parse (and analyzer) error."""
        if confirmed:
            self.stats.parse_errors[name] += 1
        else:
            self.stats.rejected_before_confirmation[name] += 1

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
                fd.t2 = FINISHED
                self._finish(fd)
                changed[uid] = FINISHED
                continue
            if fd.passing and self._passed(fd, to_server, seq, pay_wire):  # handed, found old: no packet to make
                fd.handed += 1
                protocols[d.name] += 1
                if limit is not None and fd.handed >= limit:
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
                ack if tcp and flags & TCP_ACK else None,
            )  # positional, in Packet's field order
            fd.handed += 1
            protocols[d.name] += 1  # packets handed (a stream dissector may get them later)
            if tcp:
                if isinstance(d, StreamDissector):
                    self._stream(fd, d, pkt, seq=seq, isn=isn, out=out, lost=lost,
                                 ack=ack if flags & TCP_ACK else -1)
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
                fd.t2 = FINISHED
            if fd.t2 == FINISHED:
                self._finish(fd)
            changed[uid] = fd.t2

    def _stream(self, fd: FlowDispatch, d: StreamDissector, pkt: Packet, *, seq: int, isn: int,
                out: list[Observation], lost: int = 0, ack: int = -1) -> None:
        """Reassemble one TCP segment into its direction's stream and feed what became contiguous.

        ``ack`` (the segment's Acknowledgment Number, -1 without the ACK flag) first declares the holes of the
        other direction it acknowledges (:meth:`_acked`), so that direction's bytes after them reach the dissector
        before this segment's (a dissector that reads on past a hole: :attr:`ack_gaps`).

        ``lost`` bytes of the segment after its payload were cut by the capture's snap length: once its
        captured bytes are delivered in order, the stream skips them as a gap (the dissector is told) and
        carries on with what was buffered behind them."""
        if ack >= 0 and id(d) in self.ack_gaps:
            other = fd.streams.get(not pkt.to_server)
            if other is not None and other.next_seq != ack and not self._acked(fd, d, not pkt.to_server, ack, out):
                return
            if isinstance(fd.dissector, StreamDissector):  # a fallback may have taken the flow over
                d = fd.dissector
        stream = fd.streams.get(pkt.to_server)
        if stream is None:
            start = isn if isn >= 0 else seq
            stream = fd.streams[pkt.to_server] = StreamDirection(
                start, self.limits.tcp_max_ooo_segments, self.limits.tcp_max_ooo_bytes)
        gaps = stream.gaps
        runs = stream.push(seq, pkt.payload, pkt)
        if stream.gaps != gaps and not self._gap(fd, d, pkt.to_server, stream.gaps - gaps, out):
            return
        end = (seq + len(pkt.payload)) % SEQ_MOD
        at_end = stream.next_seq == end
        self._feed_runs(fd, d, runs, out)
        if lost > 0 and at_end and not fd.state.get("done"):
            lost = (end + lost - stream.next_seq) % SEQ_MOD  # less what the dissector passed over (_pass)
            if not 0 < lost < HALF:
                return
            if isinstance(fd.dissector, StreamDissector):  # a fallback may have taken the flow over
                d = fd.dissector
            more = stream.lose(lost)
            if self._gap(fd, d, pkt.to_server, 1, out):
                self._feed_runs(fd, d, more, out)

    def _acked(self, fd: FlowDispatch, d: StreamDissector, to_server: bool, ack: int, out: list[Observation]) -> bool:
        """The peer acknowledged direction ``to_server`` up to ``ack``: each hole before it is one the
        capture lost (the receiver had the bytes, a retransmission would have come before this ACK), told to the
        dissector at once with the bytes buffered behind it (:meth:`StreamDirection.acked`), as Zeek's
        reassembler reports a ``content_gap`` for data acknowledged above a hole. A direction seen only from
        mid-stream has its position from its first segment seen; one not seen yet has no stream and no hole.
        Bounded: one hole per buffered segment at most, no state added. False when the flow finished."""
        stream = fd.streams[to_server]
        while True:
            gaps = stream.gaps
            runs = stream.acked(ack)
            if stream.gaps == gaps:
                return True
            self.stats.decode_errors["tcp_gap_acked"] += 1
            if not self._gap(fd, d, to_server, 1, out):
                return False
            self._feed_runs(fd, d, runs, out)
            if fd.state.get("done"):
                fd.t2 = FINISHED
                return False
            if isinstance(fd.dissector, StreamDissector):  # a fallback may have taken the flow over
                d = fd.dissector

    def _feed_runs(self, fd: FlowDispatch, d: StreamDissector, runs: list[tuple[bytes, Packet]],
                   out: list[Observation]) -> None:
        """Feed the runs that became contiguous (one direction's, in order) within the flow's byte budget; bytes the
        dissector then says it passes over are not fed (:meth:`_pass`)."""
        i = 0
        while i < len(runs):
            data, tagged = runs[i]
            i += 1
            budget = d.max_stream_bytes
            if budget is not None and fd.fed + len(data) >= budget:  # the budget's last bytes, then no more
                data = data[: budget - fd.fed]
                fd.fed = budget
                if data:
                    self._accept(fd, d, tagged, data, out)
                fd.state["done"] = True
                return
            fd.fed += len(data)
            self._accept(fd, d, tagged, data, out)
            if fd.state.get("done"):
                return
            if isinstance(fd.dissector, StreamDissector):  # a fallback may have handed the flow over
                d = fd.dissector
            if fd.state.get(PASS_KEYS[tagged.to_server]):
                runs, i = self._pass(fd, d, tagged.to_server, runs[i:]), 0
                if fd.state.get("done"):
                    return

    def _pass(self, fd: FlowDispatch, d: StreamDissector, to_server: bool,
              rest: list[tuple[bytes, Packet]]) -> list[tuple[bytes, Packet]]:
        """The dissector passes over the next bytes of ``to_server``'s direction (dissect/base.py PASS_KEYS): take
        the count over (:data:`MAX_PASS` at most), drop those bytes from ``rest`` (the runs of this delivery not fed
        yet; a run straddling their end keeps its tail) and move the stream past the ones still to come
        (:meth:`StreamDirection.pass_over`); their segments are then found old without being copied or handed
        (:meth:`_passed`). Returns the runs to feed next. Passed bytes count against the flow's byte budget, as
        when they were fed, so the bytes read are the same."""
        state = fd.state
        key = PASS_KEYS[to_server]
        count = state[key]
        take = min(count, MAX_PASS)
        state[key] = count - take
        budget = d.max_stream_bytes
        if budget is not None:
            fd.fed = min(budget, fd.fed + take)
            if fd.fed >= budget:
                state["done"] = True
                return []
        i = 0
        while take and i < len(rest):
            data, tagged = rest[i]
            if len(data) > take:
                rest[i] = (data[take:], tagged)
                take = 0
            else:
                take -= len(data)
                i += 1
        rest = rest[i:]
        stream = fd.streams.get(to_server)
        if take and stream is not None:
            rest += stream.pass_over(take)
            fd.passing |= 2 if to_server else 1
        return rest

    @staticmethod
    def _passed(fd: FlowDispatch, to_server: bool, seq: int, wire: int) -> bool:
        """True when a payload segment (``wire`` bytes at ``seq``) of a direction moved past bytes passed over
        (:meth:`_pass`) lies wholly before its next expected byte and nothing buffered in the other direction waits
        for its ACK: handed on, it would only be found old (:meth:`StreamDirection.push`, :meth:`_acked`). A segment
        reaching past that byte ends the direction's pass (it takes the ordinary path, as any segment)."""
        bit = 2 if to_server else 1
        if not fd.passing & bit:
            return False
        stream = fd.streams.get(to_server)
        behind = HALF if stream is None else (stream.next_seq - seq) % SEQ_MOD
        if behind >= HALF or behind < wire:
            fd.passing &= ~bit
            return False
        other = fd.streams.get(not to_server)
        return fd.replay is None and (other is None or not other.pending)

    def _gap(self, fd: FlowDispatch, d: StreamDissector, to_server: bool, count: int,
             out: list[Observation]) -> bool:
        """Tell the dissector its direction lost bytes (what it says of them goes to ``out``); False when it
        cannot go on (flow finished)."""
        self.stats.decode_errors["tcp_gap"] += count
        try:
            made = d.gap(fd.state, to_server)
            if made:
                out.extend(made)
        except Exception:  # a hook must not stop the capture; the flow is given up, counted
            self.stats.analyzer_errors[f"dissect.{d.name}"] += 1
            log.debug("gap hook of %s failed", d.name, exc_info=True)
            fd.state["done"] = True
        if fd.state.get("done"):
            fd.t2 = FINISHED
            return False
        return True

    def _flush_streams(self, fd: FlowDispatch) -> None:
        """The flow ended: what waited behind lost segments goes to its dissector after all (into
        :attr:`late`), each direction in order, each hole reported through ``gap`` and counted."""
        d = fd.dissector
        if fd.t2 != ASSIGNED or not isinstance(d, StreamDissector):
            return
        for to_server, stream in list(fd.streams.items()):
            while stream.pending:
                runs = stream.skip()
                if not self._gap(fd, d, to_server, 1, self.late):
                    return
                self._feed_runs(fd, d, runs, self.late)
                if fd.state.get("done"):
                    return

    def _memoised(self, fd: FlowDispatch, d: Dissector, pkt: Packet, prefix: bytes, out: list[Observation]) -> None:
        """A datagram through the memo (contract in dissect/base.py): replay a known key, else dissect
        and keep the result when every Observation is the packet's own stamp."""
        payload = pkt.payload
        key = d.memo_key(payload)
        if key is None:
            self._accept(fd, d, pkt, None, out)
            return
        key = prefix + key
        memo = self.memo
        frozen = memo.get(key)
        if frozen is not None:
            observation, restamp = pkt.observation, d.memo_restamp
            replayed = thaw(frozen)
            if replayed:  # Observations confirm the flow (dissect/base.py CONFIRMED_STATE_KEY)
                fd.app = d.name
            for proto, kind, subject, fields in replayed:
                restamp(payload, fields)
                out.append(observation(proto, kind, fields, subject))
            return
        got = self._call(d, pkt, fd.state, None, confirmed=fd.app is not None)
        if got is None:
            self._rejected(fd, d)
            return  # rejected (counted): not kept, so a repeat is rejected and counted again
        if got:
            fd.app = d.name
        out.extend(got)
        if all(_stamped(o, pkt) for o in got):
            frozen = freeze([(o.proto, o.kind, o.subject, o.fields) for o in got])
            if frozen is not None:
                memo.put(key, frozen)

    def _accept(self, fd: FlowDispatch, d: Dissector, pkt: Packet, data: bytes | None,
                out: list[Observation]) -> None:
        """One delivery to the flow's dissector. The flow is named after it once it confirms the flow (an
        Observation, or ``confirm``: Zeek's analyzer confirmation); what it only accepted names nothing."""
        got = self._call(d, pkt, fd.state, data, confirmed=fd.app is not None)
        if got is None and fd.app is None and fd.state.get(CONFIRMED_STATE_KEY):
            # it confirmed the flow (a valid message) before rejecting the rest of this delivery: a malformed
            # message of a named flow (counted so by _call), as when the two came in separate segments
            got = []
        if got is None:
            self._rejected(fd, d)
            if fd.fallback:
                fd.state["done"] = True  # the fallback dissector rejected it too: the flow stays failed
            elif not fd.claimed and data is not None:
                self._fall_back(fd, d, pkt, data, out)
            return
        fd.claimed = True
        if got or fd.state.get(CONFIRMED_STATE_KEY):
            fd.app = fd.state.get(APP_STATE_KEY) or d.name
            fd.flip = fd.flip or bool(fd.state.get(FLIP_STATE_KEY))
        out.extend(got)

    def _fall_back(self, fd: FlowDispatch, d: Dissector, pkt: Packet, data: bytes, out: list[Observation]) -> None:
        """The port's stream dissector rejected the first bytes of a flow: offer them (after the bytes of
        this direction it rejected before, ``rejected_head``) to the other stream probers (as Zeek's
        signature-enabled analyzers run beside its port-attached ones). The
        first that claims them takes the flow; like any dissector it names the flow only once it confirms
        it (Zeek's analyzer confirmation), so a probe alone never hides the port's rejection."""
        head = fd.rejected_head.pop(pkt.to_server, b"") + data  # rejected deliveries are contiguous
        for p in self.probers:
            if p is d or not isinstance(p, StreamDissector):
                continue
            try:
                hit = p.probe(head, pkt.to_server)
            except Exception:  # a probe must answer True/False; anything else is a bug, counted
                self.stats.analyzer_errors[f"dissect.{p.name}"] += 1
                log.debug("probe of %s failed", p.name, exc_info=True)
                continue
            if hit:
                fd.dissector, fd.state, fd.fallback = p, {}, True
                fd.rejected_head.clear()
                self.stats.protocols[p.name] += 1
                self._accept(fd, p, pkt, head, out)
                return
        if len(head) < PROBE_BYTES:
            fd.rejected_head[pkt.to_server] = head

    @staticmethod
    def _rejected(fd: FlowDispatch, d: Dissector) -> None:
        """``d`` rejected captured bytes of a flow it had not confirmed: the flow's bytes are not its
        protocol (Zeek's analyzer violation before confirmation, its conn.log ``failed_service``)."""
        if fd.app is None and fd.failed is None:
            fd.failed = d.name

    def _finish(self, fd: FlowDispatch) -> None:
        """Nothing more goes to this flow: drop its buffers and dissector state, keep ``app``."""
        fd.streams.clear()
        fd.state = {}

    def close(self, uid: int) -> tuple[str | None, str | None, bool]:
        """Forget a closed flow's tier-2 state (after dissecting what its streams still held, into
        :attr:`late`); its recognised protocol (for Flow.app), when none the dissector that rejected its
        bytes, and whether its dissector found its roles reversed (dissect/base.py FLIP_STATE_KEY)."""
        fd = self.flows.pop(uid, None)
        self.changed.pop(uid, None)
        if fd is None:
            return None, None, False
        self._flush_streams(fd)
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


def _mac(data: npt.NDArray[np.uint8], off: int) -> str | None:
    return data[off : off + 6].tobytes().hex(":") if off >= 0 else None


def _wheres(h: Headers, rows: npt.NDArray[np.int64], uids: npt.NDArray[np.int64],
            to_server: npt.NDArray[np.bool_]) -> dict[int, Where]:
    """:func:`_where` of the first packet of each flow direction among ``rows`` (in capture order), by row,
    the addresses made text together."""
    _, first = np.unique(uids * 2 + to_server, return_index=True)
    at = rows[np.sort(first)]
    ipver = h.ipver[at]
    src = addr_texts(ipver, h.src_hi[at], h.src_lo[at])
    dst = addr_texts(ipver, h.dst_hi[at], h.dst_lo[at])
    vlans = [v or None for v in h.vlan[at].tolist()]
    vnis = [_vnis(v) for v in h.vni[at].tolist()]
    return dict(zip(at.tolist(), zip(vlans, h.ethertype[at].tolist(), src, dst, vnis, strict=True), strict=True))


def _where(h: Headers, row: int) -> Where:
    """(vlan, ethertype, src_ip, dst_ip, vni) of a packet, the per-direction constants of its flow."""
    ipver = int(h.ipver[row])
    return (
        int(h.vlan[row]) or None,
        int(h.ethertype[row]),
        addr_text(ipver, int(h.src_hi[row]), int(h.src_lo[row])),
        addr_text(ipver, int(h.dst_hi[row]), int(h.dst_lo[row])),
        _vnis(int(h.vni[row])),
    )


@functools.lru_cache(maxsize=MAX_VNI_TEXTS)
def _vnis(packed: int) -> tuple[int, ...] | None:
    """The VXLAN/Geneve VNIs of a packed Headers.vni value as Packet.vni holds them (None outside a tunnel);
    one tuple per value, shared by every packet of the virtual network."""
    return tuple(vni_list(packed)) if packed else None
