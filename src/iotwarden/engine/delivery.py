"""Handing a flow's packets and bytes to its dissector: probing unrecognised flows, one dissector call and its
rejections counted, the datagram memo, the fall-back to another prober (Zeek's dynamic protocol detection)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from iotwarden.dissect.base import (
    APP_STATE_KEY,
    CONFIRMED_STATE_KEY,
    FLIP_STATE_KEY,
    PROBE_BYTES,
    Dissector,
    Packet,
    StreamDissector,
)
from iotwarden.dissect.memo import Memo, freeze, thaw
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.engine.batch import PacketBatch
from iotwarden.engine.flowdispatch import ASSIGNED, FINISHED, IPPROTO_TCP, UNDECIDED, FlowDispatch, _stamped
from iotwarden.engine.flowpackets import PacketFlows
from iotwarden.engine.headers import Headers
from iotwarden.errors import ParseError
from iotwarden.model import CaptureStats, Observation

log = logging.getLogger("iotwarden.engine.dispatch")  # one logger for the dispatcher, wherever its methods live


class Delivery:
    """The dispatcher's deliveries to dissectors (a base of :class:`~iotwarden.engine.dispatch.Dispatcher`, which
    sets these attributes)."""

    stats: CaptureStats
    flows: dict[int, FlowDispatch]
    changed: dict[int, int]
    probers: list[Dissector]
    memo: Memo

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
