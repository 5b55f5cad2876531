"""TCP stream delivery for the dispatcher: each segment reassembled into its direction, what became contiguous fed
in order within the flow's byte budget, holes told (at once when the peer acknowledges past one, pure ACKs
included), bytes a dissector passes over skipped, FINs and RSTs handed to the dissectors that read them, what waited
flushed at the flow's end and the dissectors that ask told of it."""

from __future__ import annotations

import logging

import numpy as np

from iotwarden.dissect.base import PASS_KEYS, Packet, StreamDissector
from iotwarden.engine.batch import PacketBatch
from iotwarden.engine.delivery import Delivery
from iotwarden.engine.flowdispatch import ASSIGNED, FINISHED, IPPROTO_TCP, DispatchLimits, FlowDispatch, _mac, _where
from iotwarden.engine.flowpackets import PacketFlows
from iotwarden.engine.headers import Headers
from iotwarden.engine.reassembly import HALF, SEQ_MOD, StreamDirection
from iotwarden.engine.segments import TCP_ACK, TCP_FIN, TCP_RST
from iotwarden.model import Observation

log = logging.getLogger("iotwarden.engine.dispatch")

# Bytes a stream dissector passes over (dissect/base.py PASS_KEYS) taken over from it at a time: sequence numbers are
# compared within half their space (RFC 9293 §3.4), so a larger count is taken in turns, the dissector passing over
# the rest of it itself once fed the bytes after this many
MAX_PASS = 1 << 30


class StreamDelivery(Delivery):
    """The dispatcher's TCP stream delivery (a base of :class:`~iotwarden.engine.dispatch.Dispatcher`, which sets
    these attributes)."""

    limits: DispatchLimits
    ack_gaps: frozenset[int]
    closers: frozenset[int]
    enders: frozenset[int]
    late: list[Observation]
    held: dict[int, tuple[FlowDispatch, int]]

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
                              & (h.ack[i] != 0) & np.isin(pf.uid, np.fromiter(held, dtype=np.int64, count=len(held))))
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

    def _closings(self, batch: PacketBatch, h: Headers, pf: PacketFlows, out: list[Observation]) -> None:
        """The batch's TCP segments without payload that carry FIN or RST, of flows a dissector that reads them
        (:attr:`closers`, dissect/base.py ``StreamDissector.closing``) still reads, handed to it in capture order, after
        the batch's payload (and :meth:`_pure_acks`), so what it reads of them does not depend on where batches are cut
        within a direction. A few per TCP flow; most reach no such dissector (a dict look-up each)."""
        i = pf.idx
        rows = np.flatnonzero((h.proto[i] == IPPROTO_TCP) & (h.pay_wire[i] == 0)
                              & ((h.tcp_flags[i] & (TCP_FIN | TCP_RST)) != 0) & (pf.t2 != FINISHED))
        if not rows.shape[0]:
            return
        rows = rows[np.argsort(i[rows], kind="stable")]
        flows, closers = self.flows, self.closers
        for row, uid, to_server in zip(i[rows].tolist(), pf.uid[rows].tolist(), pf.to_server[rows].tolist(),
                                       strict=True):
            fd = flows.get(uid)
            d = None if fd is None else fd.dissector
            if fd is None or fd.t2 != ASSIGNED or not isinstance(d, StreamDissector) or id(d) not in closers:
                continue
            where = fd.where.get(to_server) or _where(h, row)
            flags = int(h.tcp_flags[row])
            pkt = Packet(
                float(batch.ts[row]), b"", _mac(batch.data, int(h.src_mac_off[row])),
                _mac(batch.data, int(h.dst_mac_off[row])), where[0], where[1], where[2], where[3], IPPROTO_TCP,
                int(h.ttl[row]), int(h.sport[row]), int(h.dport[row]), flags, int(h.seq[row]), to_server,
                int(h.frame_len[row]), None, where[4], int(h.ack[row]) if flags & TCP_ACK and h.ack[row] else None,
            )  # positional, in Packet's field order, as the dispatcher's
            try:
                made = d.closing(pkt, fd.state)
                if made:
                    out.extend(made)
            except Exception:  # a hook must not stop the capture; the flow is given up, counted (as _gap)
                self.stats.analyzer_errors[f"dissect.{d.name}"] += 1
                log.debug("closing hook of %s failed", d.name, exc_info=True)
                fd.state["done"] = True
            if fd.state.get("done"):
                fd.t2 = FINISHED
                self._finish(fd)
            self.changed[uid] = fd.t2

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
                self._spent(fd, d)
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
                self._spent(fd, d)
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

    def _spent(self, fd: FlowDispatch, d: StreamDissector) -> None:
        """The flow's byte budget is spent: its dissector reads no more of it. One of :attr:`enders` still reading it
        is told now (``StreamDissector.ending``, into :attr:`late`), as at the flow's end, since nothing it waits for
        will reach it; a failing hook is counted (as :meth:`_gap`)."""
        told = id(d) in self.enders and not fd.state.get("done")
        fd.state["done"] = True
        if told:
            try:
                self.late.extend(d.ending(fd.state) or [])
            except Exception:  # a hook must not stop the capture; counted
                self.stats.analyzer_errors[f"dissect.{d.name}"] += 1
                log.debug("ending hook of %s failed", d.name, exc_info=True)

    def _net_spent(self, fd: FlowDispatch) -> None:
        """The flow reached its packet safety net (dissect/base.py ``max_stream_packets``, the bound behind its byte
        budget): as when the budget is spent (:meth:`_spent`), its stream dissector, still reading it, reads no more
        of it, and one of :attr:`enders` is told now, not lost with the flow's state."""
        d = fd.dissector
        if fd.t2 == ASSIGNED and isinstance(d, StreamDissector) and not fd.state.get("done"):
            self._spent(fd, d)

    def _ending(self, fd: FlowDispatch) -> None:
        """The flow ends, its dissector one of :attr:`enders`: told (``StreamDissector.ending``) once, if it still reads
        the flow, what it says going to :attr:`late` after what :meth:`_flush_streams` fed; a failing hook is counted
        (as :meth:`_gap`)."""
        d = fd.dissector
        if fd.t2 != ASSIGNED or not isinstance(d, StreamDissector) or fd.state.get("done"):
            return
        fd.t2 = FINISHED
        try:
            made = d.ending(fd.state)
            if made:
                self.late.extend(made)
        except Exception:  # a hook must not stop the capture; counted
            self.stats.analyzer_errors[f"dissect.{d.name}"] += 1
            log.debug("ending hook of %s failed", d.name, exc_info=True)
