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
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the test tool rewrites and compares

from tests.engine import losscheck, snapcheck  # noqa: E402

from sweep_inputs import PCAPS, lab_captures, select  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcaps", type=Path, default=PCAPS)
    ap.add_argument("--match", help="only captures whose path holds this text")
    ap.add_argument("--per-folder", type=int, help="at most this many captures of each folder")
    ap.add_argument("--max-mb", type=float, default=16.0, help="skip captures larger than this")
    ap.add_argument("--lab", action="store_true", help="add the lab scenarios")
    ap.add_argument("--lab-duration", type=float, help="cut each lab scenario to this many seconds")
    ap.add_argument("--no-shared", action="store_true", help="only the lab scenarios")
    ap.add_argument("--losses", default=",".join(losscheck.LOSSES))
    ap.add_argument("--json", type=Path, help="write the differences and per-capture survival as JSON lines here")
    args = ap.parse_args()
    losses = tuple(args.losses.split(","))

    bad = accepted = checked = 0
    survival: dict[str, dict[str, Counter[str]]] = {loss: {} for loss in losses}
    only: dict[str, list[str]] = {loss: [] for loss in losses}
    lines: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="losscheck-") as tmp:
        work = Path(tmp)
        paths = [] if args.no_shared else select(args.pcaps, args.match, args.per_folder, args.max_mb)
        if args.lab:
            paths += lab_captures(work, args.lab_duration)
        print(f"{len(paths)} captures", flush=True)
        for path in paths:
            t0 = time.process_time()
            try:
                result = losscheck.check(path, work / "run", losses)
            except snapcheck.Unreadable as exc:  # analyze reads nothing of it either (unsupported link type)
                print(f"SKIP {path}: {exc}", flush=True)
                continue
            except Exception as exc:  # noqa: BLE001 - one capture's failure is reported, the sweep goes on
                print(f"ERROR {path}: {exc!r}", flush=True)
                bad += 1
                continue
            checked += 1
            for d in result.differences:
                print(("ok   " if d.allowed else "DIFF ") + d.text(), flush=True)
                lines.append({"capture": str(d.capture), "loss": d.loss, "kind": d.kind, "line": d.line,
                              "allowed": bool(d.allowed)})
                bad += d.allowed is None
                accepted += d.allowed is not None
            for loss in losses:
                for item in result.only_with_loss(loss):
                    only[loss].append(f"{path} {item}")
                for proto, (whole, kept, extra) in result.survival(loss).items():
                    row = survival[loss].setdefault(proto, Counter())
                    row.update(whole=whole, kept=kept, extra=extra)
                    if extra:
                        print(f"     {path} loss {loss} {proto}: {extra} Observations only with loss", flush=True)
                lines.append({"capture": str(path), "loss": loss, "survival": result.survival(loss)})
            print(f"     {path} {time.process_time() - t0:.1f}s", flush=True)
    if args.json:
        args.json.write_text("".join(json.dumps(line) + "\n" for line in lines))
    for loss in losses:
        print(f"loss {loss}: per dissector, Observations of the whole capture kept (share), and only with loss")
        for proto, row in sorted(survival[loss].items()):
            share = f"{100 * row['kept'] / row['whole']:5.1f}%" if row["whole"] else "    -"
            print(f"  {proto:12} {row['kept']:7}/{row['whole']:<7} {share}  +{row['extra']}")
        print(f"loss {loss}: {len(only[loss])} findings/alerts only with loss")
        for item in only[loss]:
            print(f"  {item}")
    print(f"{checked} captures checked; differences: {bad} not accepted, {accepted} accepted")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
