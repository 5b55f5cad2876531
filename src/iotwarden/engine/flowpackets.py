"""What tier 2 is told of each packet the flow table counted (:class:`PacketFlows`): its flow, its direction, the
flow's tier-2 state, and the payload packets and bytes its flow and direction carried before it, earlier batches
included (:mod:`~iotwarden.engine.flowtable` gives the counts the table held before the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class PacketFlows:
    """For each flow packet of the batch (indices ``idx`` into the batch): its flow and direction."""

    idx: I64
    uid: I64
    to_server: npt.NDArray[np.bool_]
    t2: npt.NDArray[np.int8]  # the flow's tier-2 state when the batch started
    ord_flow: I64  # payload packets of the flow before this one
    ord_dir: I64  # payload packets of this direction before this one
    pay_dir: I64  # payload bytes (on the wire) of this direction before this packet
    isn: I64  # SYN seq + 1 of this packet's direction, -1 unseen


def packet_view(o: I64, lh: npt.NDArray[np.bool_], has_payload: npt.NDArray[np.bool_], pay: I64, *, sfirst: I64,
                sid: I64, uid: I64, init_low: npt.NDArray[np.bool_], t2: npt.NDArray[np.int8], prior: tuple[I64, I64],
                prior_pay: tuple[I64, I64], isn: tuple[I64, I64]) -> PacketFlows:
    """The per-packet view of a batch's packets ``o`` sorted by flow segment (``sfirst``: each segment's first,
    ``sid``: each packet's segment; ``lh``: sent from the lower endpoint), from each segment's ``uid``, initiator,
    tier-2 state, and the payload packets, payload bytes (``prior``, ``prior_pay``) and SYN numbers (``isn``) of
    each direction (low to high, high to low) before the batch."""
    prior_lh, prior_hl = prior
    has_pay = has_payload.astype(np.int64)
    before = np.cumsum(has_pay) - has_pay  # exclusive running count over the sorted batch
    base = before[sfirst][sid]
    lh_pay = np.where(lh, has_pay, 0)
    before_lh = np.cumsum(lh_pay) - lh_pay
    run_lh = before_lh - before_lh[sfirst][sid]
    run_all = before - base
    run_hl = run_all - run_lh
    ord_dir = np.where(lh, prior_lh[sid] + run_lh, prior_hl[sid] + run_hl)
    ord_flow = prior_lh[sid] + prior_hl[sid] + run_all
    pay_dir = _bytes_before(pay, lh, sfirst=sfirst, sid=sid, prior_lh=prior_pay[0], prior_hl=prior_pay[1])
    to_server = lh == init_low[sid]
    isn_dir = np.where(lh, isn[0][sid], isn[1][sid])
    return PacketFlows(o, uid[sid], to_server, t2[sid], ord_flow, ord_dir, pay_dir, isn_dir)


def _bytes_before(pay: I64, lh: npt.NDArray[np.bool_], *, sfirst: I64, sid: I64, prior_lh: I64, prior_hl: I64) -> I64:
    """Per packet (sorted by flow): payload bytes its direction carried before it, earlier batches included."""
    before = np.cumsum(pay) - pay  # exclusive running sums over the sorted batch
    lh_pay = np.where(lh, pay, 0)
    before_lh = np.cumsum(lh_pay) - lh_pay
    run_lh = before_lh - before_lh[sfirst][sid]
    run_hl = before - before[sfirst][sid] - run_lh
    out: I64 = np.where(lh, prior_lh[sid] + run_lh, prior_hl[sid] + run_hl)
    return out
