"""What the capture sweeps (qa_captures.py, resegment.py, snaplen.py, losscheck.py) read: the shared captures,
told by their magic whatever their names, and the lab scenarios generated into a work folder; and the driver
snaplen.py and losscheck.py share (:func:`add_input_arguments`, :class:`Sweep`): their input options, the loop
over the captures, the differences printed and counted, the JSON lines and the closing tally."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

R = TypeVar("R")

REPO = Path(__file__).resolve().parents[1]
# the shared data (captures, fingerprints, MUD, creds, vuln): IOTWARDEN_SHARED_DATA, as tests/conftest.py reads it,
# else ../shared/data beside the checkout
SHARED_DATA = Path(os.environ.get("IOTWARDEN_SHARED_DATA", REPO.parent / "shared" / "data"))
PCAPS = SHARED_DATA / "pcaps"
SCENARIOS = REPO / "src" / "iotwarden" / "lab" / "scenarios"
# pcap (microseconds, nanoseconds; both byte orders) and pcapng; a gzip file counts when named .gz
MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a")
GZIP = b"\x1f\x8b"


def is_capture(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(4)
    return head in MAGICS or (path.suffix == ".gz" and head[:2] == GZIP)


def select(root: Path, match: str | None = None, per_folder: int | None = None, max_mb: float | None = None,
           keep: Callable[[Path], bool] | None = None) -> list[Path]:
    """Captures under ``root`` (sorted), those whose path holds ``match``, at most ``per_folder`` of each folder
    and ``max_mb`` MiB each, that ``keep`` accepts."""
    taken: Counter[Path] = Counter()
    out: list[Path] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if match is not None and match not in str(path):
            continue
        if per_folder is not None and taken[path.parent] >= per_folder:
            continue
        if max_mb is not None and path.stat().st_size > max_mb * 2**20:
            continue
        if not is_capture(path) or (keep is not None and not keep(path)):
            continue
        taken[path.parent] += 1
        out.append(path)
    return out


def lab_captures(work: Path, duration: float | None = None) -> list[Path]:
    """Every lab scenario generated into ``work`` (its ground truth beside it), ``duration`` seconds each when
    given, else the scenario's own."""
    from iotwarden.lab.generator import generate, load_scenario  # only sweeps of the lab pay for its import

    out = []
    for yaml in sorted(SCENARIOS.glob("*.yaml")):
        pcap = work / f"lab-{yaml.stem}.pcap"
        generate(load_scenario(yaml), pcap, work / f"lab-{yaml.stem}.json", duration=duration)
        out.append(pcap)
    return out


def add_input_arguments(ap: argparse.ArgumentParser, max_mb: float = 16.0) -> None:
    """The options saying which captures a sweep reads (:meth:`Sweep.run`)."""
    ap.add_argument("--pcaps", type=Path, default=PCAPS)
    ap.add_argument("--match", help="only captures whose path holds this text")
    ap.add_argument("--per-folder", type=int, help="at most this many captures of each folder")
    ap.add_argument("--max-mb", type=float, default=max_mb, help="skip captures larger than this")
    ap.add_argument("--lab", action="store_true", help="add the lab scenarios")
    ap.add_argument("--lab-duration", type=float, help="cut each lab scenario to this many seconds")
    ap.add_argument("--no-shared", action="store_true", help="only the lab scenarios")


class Sweep:
    """One sweep over the captures :func:`add_input_arguments`' options name: each checked in a fresh work
    folder, its differences printed (accepted ones marked) and counted, and JSON lines kept for ``--json``."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.bad = self.accepted = self.checked = 0
        self.lines: list[dict[str, object]] = []

    def run(self, prefix: str, check: Callable[[Path, Path], R], each: Callable[[Path, R], None],
            unreadable: type[Exception]) -> None:
        """``check(capture, work)`` every capture, then ``each(capture, result)``; a capture ``check`` raises
        ``unreadable`` for (analyze reads nothing of it either) is skipped, any other failure counts as bad and
        the sweep goes on. Writes the JSON lines at the end."""
        args = self.args
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            work = Path(tmp)
            paths = [] if args.no_shared else select(args.pcaps, args.match, args.per_folder, args.max_mb)
            if args.lab:
                paths += lab_captures(work, args.lab_duration)
            print(f"{len(paths)} captures", flush=True)
            for path in paths:
                t0 = time.process_time()
                try:
                    result = check(path, work / "run")
                except unreadable as exc:
                    print(f"SKIP {path}: {exc}", flush=True)
                    continue
                except Exception as exc:  # noqa: BLE001 - one capture's failure is reported, the sweep goes on
                    print(f"ERROR {path}: {exc!r}", flush=True)
                    self.bad += 1
                    continue
                self.checked += 1
                each(path, result)
                print(f"     {path} {time.process_time() - t0:.1f}s", flush=True)
        if args.json:
            args.json.write_text("".join(json.dumps(line) + "\n" for line in self.lines))

    def difference(self, text: str, allowed: object, row: dict[str, object]) -> None:
        """One difference: printed, counted as accepted (``allowed``, its reason) or not (None), and kept as a
        JSON line (``row`` and whether it was accepted)."""
        print(("ok   " if allowed else "DIFF ") + text, flush=True)
        self.lines.append({**row, "allowed": bool(allowed)})
        self.bad += allowed is None
        self.accepted += allowed is not None

    def tally(self) -> int:
        """Prints the closing line; the exit status: 1 when a difference was not accepted or a check failed."""
        print(f"{self.checked} captures checked; differences: {self.bad} not accepted, {self.accepted} accepted")
        return 1 if self.bad else 0
