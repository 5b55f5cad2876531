"""Truncated-capture sweep (issues #3/#4): a capture taken with a short snap length must give the same
counters and no wrong conclusion, only fewer.

Each capture is rewritten whole and cut at snap lengths 64, 96, 128, 256 and 1514 (original lengths kept,
the file header's snap length set: tests/engine/snapcheck.py) and analysed into a fresh store; flows and
their packet/byte counters must not change, a flow's application, a device's vendor/type/model/OS/firmware,
the findings and the alerts may only be lost, and no analyzer error may appear. Prints every difference
(accepted ones marked with their reason, tests/engine/snapcheck.ALLOWED), the conclusions each snap length
lost in total, and exits 1 when a difference is not accepted.

    python bench/snaplen.py [--pcaps DIR] [--match TEXT] [--per-folder N] [--max-mb M] [--lab] [--no-shared]
                            [--snaplens 64,96,...] [--json OUT]

``--per-folder N`` checks at most N captures of each folder (the first N by name), ``--lab`` adds the lab
scenarios (src/iotwarden/lab/scenarios/*.yaml, generated here with --lab-duration seconds each).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the test tool rewrites and compares

from tests.engine import snapcheck  # noqa: E402

from sweep_inputs import Sweep, add_input_arguments  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_input_arguments(ap)
    ap.add_argument("--snaplens", default=",".join(str(n) for n in snapcheck.SNAPLENS))
    ap.add_argument("--json", type=Path, help="write the differences as JSON lines here")
    args = ap.parse_args()
    snaplens = tuple(int(n) for n in args.snaplens.split(","))

    sweep = Sweep(args)
    lost: dict[int, Counter[str]] = {n: Counter() for n in snaplens}

    def each(path: Path, result: snapcheck.Result) -> None:
        for d in result.differences:
            sweep.difference(d.text(), d.allowed, {"capture": str(d.capture), "snaplen": d.snaplen, "kind": d.kind,
                                                   "line": d.line})
        for n in snaplens:
            lost[n].update(result.lost(n))

    sweep.run("snaplen-", lambda path, work: snapcheck.check(path, work, snaplens), each, snapcheck.Unreadable)
    for n in snaplens:
        print(f"lost at -s {n}: {dict(sorted(lost[n].items()))}")
    return sweep.tally()


if __name__ == "__main__":
    sys.exit(main())
