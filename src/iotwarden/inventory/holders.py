"""Who held a site address when, from ARP/DHCP proofs read in any order (the files of a Zeek folder, sources read one
after another): the holder at a time is the one whose proof is the latest at or before it, the current holder the
latest proof overall. Each holder's run of proofs is kept as its first and last time, :data:`MAX_OWNER_MOVES` runs an
address; the oldest go first."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass

MAX_OWNER_MOVES = 16  # holders remembered per address whose lease moved (Context.owner_moves); the oldest go first


@dataclass(slots=True)
class Run:
    """Proofs of one holder (``mac``) with no other holder's proof between them, from ``first`` to ``last``."""

    first: float
    last: float
    mac: str


def _first(run: Run) -> float:
    return run.first


def prove(runs: list[Run], ts: float, mac: str) -> bool:
    """Record that ``mac`` was proved to hold the address at ``ts`` in ``runs`` (in time order). False when the proof
    only lengthens a run of the same holder (who held the address when is unchanged, bar that run's last time). A
    proof read late inside another holder's run splits it: that holder held the address before and after, this one
    from ``ts`` until that holder's next proof known (its run's last)."""
    i = len(runs) - 1  # the current holder proved again, in order: the common case, without a search
    if i < 0 or ts < runs[i].first:
        i = bisect.bisect_right(runs, ts, key=_first) - 1
    if i >= 0 and runs[i].mac == mac:
        runs[i].last = max(runs[i].last, ts)
        return False
    if i >= 0 and ts <= runs[i].last:
        held = runs[i]
        parts = [Run(held.first, held.first, held.mac)] if held.first < ts else []  # at the same time: read last wins
        parts.append(Run(ts, ts, mac))
        if held.last > ts:
            parts.append(Run(held.last, held.last, held.mac))
        runs[i:i + 1] = parts
    else:
        runs.insert(i + 1, Run(ts, ts, mac))
    k = 1
    while k < len(runs):  # neighbours of one holder are one run
        if runs[k].mac == runs[k - 1].mac:
            runs[k - 1].last = max(runs[k - 1].last, runs[k].last)
            del runs[k]
        else:
            k += 1
    if len(runs) > MAX_OWNER_MOVES:
        del runs[:len(runs) - MAX_OWNER_MOVES]
    return True


def moves(runs: list[Run], key: Callable[[str], str]) -> list[tuple[float, str]]:
    """``runs`` as Context.owner_moves keeps them: (held from, device key) in time order, the oldest from -inf; runs
    of MACs that are one device (``key``) are one holding."""
    out = [(-math.inf, key(runs[0].mac))]
    for run in runs[1:]:
        holder = key(run.mac)
        if holder != out[-1][1]:
            out.append((run.first, holder))
    return out
