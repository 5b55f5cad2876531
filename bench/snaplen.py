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
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the test tool rewrites and compares

from tests.engine import snapcheck  # noqa: E402

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
    ap.add_argument("--snaplens", default=",".join(str(n) for n in snapcheck.SNAPLENS))
    ap.add_argument("--json", type=Path, help="write the differences as JSON lines here")
    args = ap.parse_args()
    snaplens = tuple(int(n) for n in args.snaplens.split(","))

    bad = accepted = checked = 0
    lost: dict[int, Counter[str]] = {n: Counter() for n in snaplens}
    lines: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="snaplen-") as tmp:
        work = Path(tmp)
        paths = [] if args.no_shared else select(args.pcaps, args.match, args.per_folder, args.max_mb)
        if args.lab:
            paths += lab_captures(work, args.lab_duration)
        print(f"{len(paths)} captures", flush=True)
        for path in paths:
            t0 = time.process_time()
            try:
                result = snapcheck.check(path, work / "run", snaplens)
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
                lines.append({"capture": str(d.capture), "snaplen": d.snaplen, "kind": d.kind, "line": d.line,
                              "allowed": bool(d.allowed)})
                bad += d.allowed is None
                accepted += d.allowed is not None
            for n in snaplens:
                lost[n].update(result.lost(n))
            print(f"     {path} {time.process_time() - t0:.1f}s", flush=True)
    if args.json:
        args.json.write_text("".join(json.dumps(line) + "\n" for line in lines))
    for n in snaplens:
        print(f"lost at -s {n}: {dict(sorted(lost[n].items()))}")
    print(f"{checked} captures checked; differences: {bad} not accepted, {accepted} accepted")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
