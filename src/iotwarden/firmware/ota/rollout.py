"""The rules of a staged rollout, without I/O: how many targets each stage takes in, which check-in
events move a target to which state, and the health gate a stage must pass before the next one."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from iotwarden.errors import FirmwareError

DEFAULT_STAGES = (1, 10, 50, 100)  # cumulative percent of the targets offered the update
DEFAULT_MAX_FAILURE_RATE = 0.05  # a stage whose reported failures exceed 5% stops the rollout
DEFAULT_MIN_REPORTS = 0.9  # share of a stage that must have reported healthy or failed before the gate opens
MAX_STAGES = 20
MAX_TARGETS = 100_000  # devices one campaign may target

# target states: pending (not yet in a stage) -> offered -> downloaded -> installed -> healthy | failed;
# a rollback moves offered..failed targets to "revert" (then "reverted" once the old image is back) and
# pending ones to "cancelled"
EVENTS = ("downloaded", "installed", "failed", "healthy", "reverted")
REPORTED = ("healthy", "failed")  # terminal outcomes the gate counts
IN_FLIGHT = ("offered", "downloaded", "installed", "healthy", "failed")


def validate_stages(stages: list[int] | tuple[int, ...]) -> list[int]:
    """Stages as strictly increasing cumulative percentages ending at 100."""
    out = [int(s) for s in stages]
    if not out or len(out) > MAX_STAGES:
        raise FirmwareError(f"a campaign needs 1..{MAX_STAGES} stages")
    if any(not 0 < s <= 100 for s in out) or any(b <= a for a, b in itertools.pairwise(out)):
        raise FirmwareError(f"stages {out} must be increasing percentages in 1..100")
    if out[-1] != 100:
        raise FirmwareError(f"the last stage must be 100%, not {out[-1]}%")
    return out


def stage_size(total: int, percent: int) -> int:
    """Targets offered once a stage of ``percent`` is reached: at least one, rounded up."""
    return min(total, max(1, math.ceil(total * percent / 100))) if total else 0


def next_status(current: str, event: str) -> str:
    """The state a check-in moves a target to; an event never moves a target back (a late
    "downloaded" after "installed" is recorded in the log and ignored here)."""
    if event not in EVENTS:
        raise FirmwareError(f"unknown check-in event {event!r}: one of {', '.join(EVENTS)}")
    if current in ("revert", "reverted"):
        return "reverted" if event in ("reverted", "healthy") else current
    order = {"pending": 0, "offered": 1, "downloaded": 2, "installed": 3, "healthy": 4, "failed": 4}
    if event in ("failed", "healthy") or order.get(event, 0) > order.get(current, 0):
        return event
    return current


@dataclass(frozen=True, slots=True)
class GateResult:
    """The health gate of one stage: open when enough of it reported and few enough failed."""

    open: bool
    reason: str
    targets: int
    reported: int
    failed: int

    @property
    def failure_rate(self) -> float:
        return self.failed / self.reported if self.reported else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "reason": self.reason,
            "targets": self.targets,
            "reported": self.reported,
            "failed": self.failed,
            "failure_rate": round(self.failure_rate, 4),
        }


def gate(statuses: list[str], max_failure_rate: float, min_reports: float) -> GateResult:
    """Evaluate the targets offered so far (their ``statuses``)."""
    counts = Counter(statuses)
    n, failed = len(statuses), counts["failed"]
    reported = failed + counts["healthy"]
    if n == 0:
        return GateResult(True, "no targets in this stage", 0, 0, 0)
    if reported and failed / reported > max_failure_rate:
        return GateResult(
            False,
            f"failure rate {failed}/{reported} = {failed / reported:.1%} is over {max_failure_rate:.1%}",
            n,
            reported,
            failed,
        )
    if reported < math.ceil(min_reports * n):
        return GateResult(False, f"{reported} of {n} targets reported; {min_reports:.0%} needed", n, reported, failed)
    return GateResult(True, f"{reported} of {n} reported, {failed} failed", n, reported, failed)
