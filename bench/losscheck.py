"""Packet-loss sweep (issues #3/#4): a capture that lost packets (a SPAN port's drops) must draw no conclusion
the whole capture does not, and lose little.

Each capture is rewritten whole and without a seeded 0.5 % and 2 % of its frames and without one payload
segment of each TCP flow (tests/engine/losscheck.py), and analysed into a fresh store. Prints every
difference in conclusions (accepted ones marked with their reason, losscheck.ALLOWED), every finding and
alert raised only with loss, and per dissector the share of the whole capture's Observations that survive
each loss and how many Observations only the lossy capture made; exits 1 when a difference is not accepted.

    python bench/losscheck.py [--pcaps DIR] [--match TEXT] [--per-folder N] [--max-mb M] [--lab] [--no-shared]
                              [--lab-duration S] [--losses 0.5%,2%,tcp1] [--json OUT]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the test tool rewrites and compares

from tests.engine import losscheck, snapcheck  # noqa: E402

from sweep_inputs import Sweep, add_input_arguments  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_input_arguments(ap)
    ap.add_argument("--losses", default=",".join(losscheck.LOSSES))
    ap.add_argument("--json", type=Path, help="write the differences and per-capture survival as JSON lines here")
    args = ap.parse_args()
    losses = tuple(args.losses.split(","))

    sweep = Sweep(args)
    survival: dict[str, dict[str, Counter[str]]] = {loss: {} for loss in losses}
    only: dict[str, list[str]] = {loss: [] for loss in losses}

    def each(path: Path, result: losscheck.Result) -> None:
        for d in result.differences:
            sweep.difference(d.text(), d.allowed, {"capture": str(d.capture), "loss": d.loss, "kind": d.kind,
                                                   "line": d.line})
        for loss in losses:
            for item in result.only_with_loss(loss):
                only[loss].append(f"{path} {item}")
            for proto, (whole, kept, extra) in result.survival(loss).items():
                row = survival[loss].setdefault(proto, Counter())
                row.update(whole=whole, kept=kept, extra=extra)
                if extra:
                    print(f"     {path} loss {loss} {proto}: {extra} Observations only with loss", flush=True)
            sweep.lines.append({"capture": str(path), "loss": loss, "survival": result.survival(loss)})

    sweep.run("losscheck-", lambda path, work: losscheck.check(path, work, losses), each, snapcheck.Unreadable)
    for loss in losses:
        print(f"loss {loss}: per dissector, Observations of the whole capture kept (share), and only with loss")
        for proto, row in sorted(survival[loss].items()):
            share = f"{100 * row['kept'] / row['whole']:5.1f}%" if row["whole"] else "    -"
            print(f"  {proto:12} {row['kept']:7}/{row['whole']:<7} {share}  +{row['extra']}")
        print(f"loss {loss}: {len(only[loss])} findings/alerts only with loss")
        for item in only[loss]:
            print(f"  {item}")
    return sweep.tally()


if __name__ == "__main__":
    sys.exit(main())
