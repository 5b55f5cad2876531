"""The engine: batches in, Observations and closed Flows out (tier 1 decode + flow table, tier 2 dispatch).

Every piece of state has a named limit in :class:`EngineConfig`; the engine does no I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from iotwarden.dissect.base import Dissector
from iotwarden.dissect.memo import Memo
from iotwarden.engine.batch import PacketBatch
from iotwarden.engine.decode import addr_texts, decode, mac_texts, snapped
from iotwarden.engine.defrag import FRAGMENT_TIMEOUT_S, MAX_BYTES, MAX_DATAGRAMS, Reassembler
from iotwarden.engine.dispatch import Dispatcher, DispatchLimits
from iotwarden.engine.flowtable import ICMP_SHIFT, TCP_FLAGS, Closed, FlowTable
from iotwarden.engine.fragments import Rebuilt, decode_whole, reassemble, released_batch
from iotwarden.engine.headers import ERROR_REASONS, Headers
from iotwarden.engine.orient import BY_ANSWER, FLIP_REASONS, ServerPorts
from iotwarden.engine.segments import SegmentRules
from iotwarden.engine.tunnels import TUNNELS, vni_list
from iotwarden.errors import ConfigError
from iotwarden.model import CaptureStats, Flow, Observation


@dataclass
class EngineConfig:
    """Limits and timeouts of the engine (seconds are capture time)."""

    # a flow whose next packet comes later than this after its previous one is closed ("idle");
    # applies to TCP and every non-UDP protocol
    idle_timeout: float = 120.0
    # UDP conversations are request/response: a shorter idle timeout (NFStream/Zeek use ~60 s)
    udp_idle_timeout: float = 60.0
    # a flow lasting longer than this is cut at its next packet ("active"), RFC 7011 §5.1.1
    active_timeout: float = 1800.0
    # after FIN both ways or RST, packets this soon still belong to the closed flow (Zeek's
    # tcp_close_delay); a later packet or a new SYN opens a new flow
    tcp_close_delay: float = 5.0
    # open flows kept at most; when full, the least recently seen are closed ("evicted") and
    # counted in stats.decode_errors["flow_table_full"]
    max_flows: int = 1_000_000
    # an unrecognised TCP/UDP flow is probed on its first payload packet in each direction if
    # that packet is among the flow's first payload_packets_per_flow payload packets
    payload_packets_per_flow: int = 8
    # TCP reassembly per direction: out-of-order segments and bytes buffered while waiting for a
    # gap to fill; past either limit the gap counts as never filled ("tcp_gap") and is skipped
    tcp_max_ooo_segments: int = 32
    tcp_max_ooo_bytes: int = 256 * 1024
    # datagram memo (contract in dissect/base.py): results of opted-in dissectors kept by payload
    # content, at most this many entries and bytes (keys + frozen fields), least recently used
    # dropped first; 0 turns it off
    memo_entries: int = 4096
    memo_bytes: int = 16 * 1024 * 1024
    # IP fragment reassembly (engine/fragments.py): a datagram not whole this long after its first fragment is
    # dropped; datagrams and payload bytes held at once, the oldest dropped past either
    fragment_timeout: float = FRAGMENT_TIMEOUT_S
    fragment_max_datagrams: int = MAX_DATAGRAMS
    fragment_max_bytes: int = MAX_BYTES

    def validate(self) -> None:
        for name in ("idle_timeout", "udp_idle_timeout", "active_timeout", "tcp_close_delay", "fragment_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"engine {name} must be positive, got {getattr(self, name)!r}")
        for name in ("max_flows", "payload_packets_per_flow", "tcp_max_ooo_segments", "tcp_max_ooo_bytes",
                     "fragment_max_datagrams", "fragment_max_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"engine {name} must be at least 1, got {getattr(self, name)!r}")
        for name in ("memo_entries", "memo_bytes"):
            if getattr(self, name) < 0:
                raise ConfigError(f"engine {name} must not be negative, got {getattr(self, name)!r}")


@dataclass
class EngineResult:
    observations: list[Observation] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)  # flows CLOSED during this call


# a batch holding fragments of TCP segments is cut after each (its first MAX_TCP_FRAGMENT_CUTS), so that the segment
# a datagram rebuilt from them carries is dissected in its place in the flow (fragments are dissected after the
# batch's other packets); past it, as before: a fragment flood costs at most that many smaller batches
MAX_TCP_FRAGMENT_CUTS = 64


def _tcp_fragment_cuts(h: Headers) -> list[int]:
    """Rows after which a batch is cut: each TCP fragment but the batch's last row (at most MAX_TCP_FRAGMENT_CUTS)."""
    rows = np.flatnonzero(h.frag | h.frag_head)  # fragments are rare: the unfragmented path pays two vector ops
    if not rows.shape[0]:
        return []
    rows = rows[h.proto[rows] == 6]
    return [int(r) + 1 for r in rows[:MAX_TCP_FRAGMENT_CUTS] if int(r) + 1 < h.proto.shape[0]]


def _rows(batch: PacketBatch, rows: slice | np.ndarray) -> PacketBatch:
    """Packets ``rows`` of ``batch`` (its data shared, not copied)."""
    return PacketBatch(batch.data, batch.offsets[rows], batch.caplen[rows], batch.wirelen[rows], batch.ts[rows],
                       batch.linktype[rows])


class Engine:
    """Two-tier packet engine. ``stats`` accumulates over every batch processed."""

    def __init__(self, dissectors: list[Dissector] | None = None, config: EngineConfig | None = None) -> None:
        if dissectors is None:
            from iotwarden.dissect import default_dissectors  # noqa: PLC0415 - heavy, only when asked

            dissectors = default_dissectors()
        self.config = config or EngineConfig()
        self.config.validate()
        self.stats = CaptureStats()
        c = self.config
        # a mid-stream flow's server is the end on a port these dissectors declare (engine/orient.py)
        ports = ServerPorts.of((p for d in dissectors for p in d.tcp_ports),
                               (p for d in dissectors for p in d.udp_ports))
        self._table = FlowTable(
            SegmentRules(c.idle_timeout, c.udp_idle_timeout, c.active_timeout, c.tcp_close_delay), c.max_flows, ports)
        self._dispatch = Dispatcher(
            list(dissectors), DispatchLimits(c.payload_packets_per_flow, c.tcp_max_ooo_segments, c.tcp_max_ooo_bytes,
                                             c.memo_entries, c.memo_bytes),
            self.stats)
        self._frags = Reassembler(c.fragment_timeout, c.fragment_max_datagrams, c.fragment_max_bytes)
        self._heads_skipped = 0  # first fragments never given to the reassembler (fragments.Rebuilt.skipped_heads)
        self._fragment_counted: Counter[str] = Counter()  # the reassembler's counts already in stats.decode_errors

    @property
    def memo(self) -> Memo:
        """The datagram memo (its ``stats()`` say how often it served a packet)."""
        return self._dispatch.memo

    def open_flows(self) -> int:
        return len(self._table)

    def process(self, batch: PacketBatch) -> EngineResult:
        """Decode, account and dissect one batch; flows closed by it (timeouts, FIN/RST, eviction)."""
        n = len(batch)
        if not n:
            return EngineResult()
        h = decode(batch)
        cuts = _tcp_fragment_cuts(h)
        if not cuts:
            return self._process(batch, h)
        # a TCP segment rebuilt from fragments is dissected after its part of the batch, before the flow's later
        # segments (else a later one, or an acknowledgment of it, makes it a hole: tcp_gap, its message lost)
        out = EngineResult()
        for lo, hi in zip((0, *cuts), (*cuts, n), strict=True):
            part = _rows(batch, slice(lo, hi))
            got = self._process(part, decode(part))
            out.observations.extend(got.observations)
            out.flows.extend(got.flows)
        return out

    def _process(self, batch: PacketBatch, h: Headers) -> EngineResult:
        n = len(batch)
        st = self.stats
        st.packets += n
        st.bytes += int(batch.wirelen.sum(dtype=np.int64))
        lo, hi = float(batch.ts.min()), float(batch.ts.max())
        st.first_ts = lo if st.first_ts is None else min(st.first_ts, lo)
        st.last_ts = hi if st.last_ts is None else max(st.last_ts, hi)
        cut = snapped(batch, h)
        if cut.any():
            st.snapped += int(cut.sum())
            st.snaplen = max(st.snaplen, int(batch.caplen[cut].max()))
        rebuilt = None
        fragmented = bool(h.frag.any() or h.frag_head.any()) or len(self._frags) > 0 or bool(self._frags.released)
        if fragmented:  # fragments are rare: the reassembler's Python path for them only
            got = reassemble(batch, h, self._frags)
            rebuilt, self._heads_skipped = got, self._heads_skipped + got.skipped_heads
            if got.too_deep:  # fragments inside tunnels nested past fragments.MAX_FRAGMENT_LEVELS: not reassembled
                st.decode_errors["ip_fragment_too_deep"] += got.too_deep
            self._frags.expire(hi)
            if got.merged is not None and got.merged_headers is not None:  # a tunnel's outer fragments: held, their
                batch, h = got.merged, got.merged_headers  # whole datagram where the last was
        observations, closed = self._tiers(batch, h)
        if rebuilt is not None and rebuilt.batch is not None:
            observations.extend(self._whole(rebuilt.batch, rebuilt, closed))
        if fragmented:
            observations.extend(self._released(closed))
            self._fragment_stats()
        evicted = self._table.evicted
        closed.extend(self._table.expire(hi))
        if self._table.evicted > evicted:
            st.decode_errors["flow_table_full"] += self._table.evicted - evicted
        flows = self._flows(closed)
        observations.extend(self._late())
        st.observations += len(observations)
        return EngineResult(observations, flows)

    def advance(self, now: float) -> EngineResult:
        """No packet, yet capture time reached ``now`` (a quiet live link's heartbeat, sources/live.IdleBatch): the
        flows idle past their timeout then are closed, as a packet stamped ``now`` would close them."""
        closed = self._table.expire(now)
        if not closed:
            return EngineResult()
        flows = self._flows(closed)
        observations = self._late()
        self.stats.observations += len(observations)
        return EngineResult(observations, flows)

    def flush(self) -> EngineResult:
        """End of input: close every open flow (end reason "end")."""
        self._frags.flush()
        closed: list[Closed] = []
        observations = self._released(closed)
        self._fragment_stats()
        flows = self._flows(closed + self._table.flush())
        observations.extend(self._late())
        self.stats.observations += len(observations)
        return EngineResult(observations, flows)

    def _tiers(self, batch: PacketBatch, h: Headers) -> tuple[list[Observation], list[Closed]]:
        """Count decode errors and tunnels, update the flow table and dissect: the observations and flows closed."""
        st = self.stats
        counts = np.bincount(h.error, minlength=len(ERROR_REASONS))
        for code in np.flatnonzero(counts[1:]).tolist():
            st.decode_errors[ERROR_REASONS[code + 1]] += int(counts[code + 1])
        if h.too_deep:  # tunnels nested past tunnels.MAX_TUNNEL_DEPTH in a frame: the rest left undecoded
            st.decode_errors["tunnel_too_deep"] += h.too_deep
        counts = np.bincount(h.tunnel, minlength=len(TUNNELS))
        for code in np.flatnonzero(counts[1:]).tolist():
            st.tunnels[TUNNELS[code + 1]] += int(counts[code + 1])
        wire = h.frame_len  # a tunnel's inner frame: what its flow carries
        pf, closed = self._table.update(h, batch.ts, wire, batch.data)
        observations = self._dispatch.run(batch, h, pf)
        self._table.set_t2(self._dispatch.changed)
        self._dispatch.changed.clear()
        return observations, closed

    def _released(self, closed: list[Closed]) -> list[Observation]:
        """Fragments held waiting for their datagram's first piece (a later UDP piece: a tunnel's?) that the
        reassembler released outside a batch's rows (at the end of input; within a batch, fragments.reassemble puts
        them where their datagram was given up): counted now as any fragment, as they would have been on arrival
        (flows they close added to ``closed``)."""
        if not self._frags.released:
            return []
        waiting, self._frags.released = self._frags.released, []
        observations, more = self._tiers(*released_batch(waiting))
        closed.extend(more)
        return observations

    def _whole(self, whole: PacketBatch, rebuilt: Rebuilt, closed: list[Closed]) -> list[Observation]:
        """Dissect datagrams rebuilt from fragments (``whole``: ``rebuilt.batch``), once, in their flows (which
        counted the fragments as on the wire, so the table is not updated: FlowTable.lookup), after the batch's other
        packets; one reassembled inside a tunnel in its fragments' virtual networks (fragments.decode_whole). One
        whose flow is not open opens it as one packet of no bytes (its fragments' frames were counted where they
        came): a first fragment too short for its TCP header (RFC 1858 §3) names no flow, and a connection opened
        before the capture has none (flows ``closed`` meanwhile added)."""
        h = decode_whole(whole, rebuilt.tunnel, rebuilt.vni)
        if h.too_deep:
            self.stats.decode_errors["tunnel_too_deep"] += h.too_deep
        pf = self._table.lookup(h)
        observations = self._dispatch.run(whole, h, pf)
        self._table.set_t2(self._dispatch.changed)
        self._dispatch.changed.clear()
        valid = np.flatnonzero((h.ipver > 0) & (h.error == 0))
        if valid.shape[0] < len(whole):  # its rebuilt headers do not decode
            self.stats.decode_errors["ip_fragment_flow_gone"] += len(whole) - int(valid.shape[0])
        alone = np.setdiff1d(valid, pf.idx)
        if alone.shape[0]:
            part = _rows(whole, alone)
            hp = decode_whole(part, rebuilt.tunnel[alone], rebuilt.vni[alone])
            pfp, ended = self._table.update(hp, part.ts, np.zeros(len(part), dtype=np.int64), part.data)
            closed.extend(ended)
            observations.extend(self._dispatch.run(part, hp, pfp))
            self._table.set_t2(self._dispatch.changed)
            self._dispatch.changed.clear()
        return observations

    def _fragment_stats(self) -> None:
        """decode_errors: first fragments whose datagram was not reassembled (not dissected), and the datagrams the
        reassembler gave up, by reason (``ip_defrag_<reason>``, fragments.DROP_REASONS)."""
        now = Counter({f"ip_defrag_{reason}": n for reason, n in self._frags.dropped.items()})
        now["ip_fragment_incomplete"] = self._heads_skipped + self._frags.heads_lost
        self.stats.decode_errors.update(now - self._fragment_counted)  # what came since the last call
        self._fragment_counted = now

    def _late(self) -> list[Observation]:
        """Observations made while closing flows (stream bytes that waited behind a lost segment)."""
        late, self._dispatch.late = self._dispatch.late, []
        return late

    def _flows(self, closed: list[Closed]) -> list[Flow]:
        out: list[Flow] = []
        for part in closed:
            c = part.cols
            uids = c["uid"].tolist()
            apps, failed, answered = self._dispatch.close_many(uids)
            il = c["init_low"]
            flipped = c["flipped"]
            if answered:  # the dissector saw the first sender answer (dissect/base.py FLIP_STATE_KEY)
                il, flipped = il.copy(), flipped.copy()
                il[answered] = ~il[answered]
                flipped[answered] = np.where(flipped[answered] == 0, BY_ANSWER, 0)

            def side(low: str, high: str, il: np.ndarray = il, c: dict[str, np.ndarray] = c) -> np.ndarray:
                return np.where(il, c[low], c[high])

            ipver = c["ipver"]
            a_ip = addr_texts(ipver, side("a_hi", "b_hi"), side("a_lo", "b_lo"))
            b_ip = addr_texts(ipver, side("b_hi", "a_hi"), side("b_lo", "a_lo"))
            cols = (
                c["vlan"].tolist(), c["proto"].tolist(), a_ip, side("a_port", "b_port").tolist(), b_ip,
                side("b_port", "a_port").tolist(), c["first"].tolist(), c["last"].tolist(),
                mac_texts(side("mac_low", "mac_high")), mac_texts(side("mac_high", "mac_low")),
                side("pkts_lh", "pkts_hl").tolist(), side("pkts_hl", "pkts_lh").tolist(),
                side("bytes_lh", "bytes_hl").tolist(), side("bytes_hl", "bytes_lh").tolist(),
                side("pay_lh", "pay_hl").tolist(), side("pay_hl", "pay_lh").tolist(),
                (side("flags_lh", "flags_hl") & TCP_FLAGS).tolist(),
                (side("flags_hl", "flags_lh") & TCP_FLAGS).tolist(), apps, part.reasons,
            )
            # positional, in Flow's field order (vlan ... app, end_reason): 3x cheaper than keywords
            start = len(out)
            out.extend(Flow(*row) for row in zip(*cols, strict=True))
            for i, name in failed:  # as Zeek's conn.log failed_service (sources/zeek_map.py)
                out[start + i].extra["failed_services"] = [name]
            vni = c["vni"]
            for i in np.flatnonzero(vni).tolist():  # the VXLAN/Geneve networks it came through (its key's)
                out[start + i].extra["vni"] = vni_list(int(vni[i]))
            for i in np.flatnonzero(flipped).tolist():  # as Zeek's conn.log history letter "^"
                out[start + i].extra["flipped"] = FLIP_REASONS[int(flipped[i])]
            first = c["first_flags"]
            for i in np.flatnonzero((first > TCP_FLAGS) & (flipped == 0)).tolist():  # the type its initiator sent
                out[start + i].extra["icmp_type"] = int(first[i] >> ICMP_SHIFT) - 1
        self.stats.flows += len(out)
        return out
