"""Who held a site address when, from ARP/DHCP proofs read in any order (the files of a Zeek folder, sources read one
after another): the holder at a time is the one whose proof is the latest at or before it, the current holder the
latest proof overall. Each holder's run of proofs is kept as its first and last time and at most
:data:`MAX_RUN_PROOFS` of its proof times, :data:`MAX_OWNER_MOVES` runs an address; the oldest go first. A proof of
another holder read late inside a run splits it at the run's proof times kept on either side: exact while the run's
proofs around it are kept (the latest ones are kept densest), else the other holder is given the address until the
next proof time kept, later than the run's next proof."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_OWNER_MOVES = 16  # holders remembered per address whose lease moved (Context.owner_moves); the oldest go first
# proof times kept per run: past it every other one goes (the first and the last stay), so the latest are the densest
MAX_RUN_PROOFS = 8


@dataclass(slots=True)
class Run:
    """Proofs of one holder (``mac``) with no other holder's proof between them, from ``first`` to ``last``; ``times``
    the proof times kept (sorted, the first and the last among them, at most :data:`MAX_RUN_PROOFS`)."""

    first: float
    last: float
    mac: str
    times: list[float] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.times:
            self.times = [self.first] if self.first == self.last else [self.first, self.last]


def _kept(run: Run, ts: float) -> None:
    """``ts`` (not before ``run.first``) is a proof time of ``run``: its last when the latest, one of its times kept."""
    times = run.times
    if ts > times[-1]:  # in order: the common case
        times.append(ts)
        run.last = ts
    else:
        j = bisect.bisect_left(times, ts)
        if times[j] != ts:
            times.insert(j, ts)
    if len(times) > MAX_RUN_PROOFS:
        times[:] = [*times[:-1:2], times[-1]]


def _first(run: Run) -> float:
    return run.first


def prove(runs: list[Run], ts: float, mac: str) -> bool:
    """Record that ``mac`` was proved to hold the address at ``ts`` in ``runs`` (in time order). False when the proof
    only lengthens a run of the same holder (who held the address when is unchanged, bar that run's last time). A
    proof read late inside another holder's run splits it: that holder held the address before and after, this one
    from ``ts`` until that holder's next proof time kept (exact while its proofs around ``ts`` are kept)."""
    i = len(runs) - 1  # the current holder proved again, in order: the common case, without a search
    if i < 0 or ts < runs[i].first:
        i = bisect.bisect_right(runs, ts, key=_first) - 1
    if i >= 0 and runs[i].mac == mac:
        _kept(runs[i], ts)
        return False
    if i >= 0 and ts <= runs[i].last:
        held = runs[i]
        before = [t for t in held.times if t < ts]  # a proof at ts itself goes: at the same time, read last wins
        after = [t for t in held.times if t > ts]
        parts = [Run(before[0], before[-1], held.mac, before)] if before else []
        parts.append(Run(ts, ts, mac))
        if after:
            parts.append(Run(after[0], after[-1], held.mac, after))
        runs[i:i + 1] = parts
    else:
        runs.insert(i + 1, Run(ts, ts, mac))
    k = 1
    while k < len(runs):  # neighbours of one holder are one run
        if runs[k].mac == runs[k - 1].mac:
            joined = runs[k - 1]
            for t in runs[k].times:
                _kept(joined, t)
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
