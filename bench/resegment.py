"""Segmentation-independence sweep (issues #3/#4): what the engine reports of a capture must not depend on
how the sender's stack cut its TCP streams into segments.

Each capture with TCP payload is rewritten coalesced GRO-style (super-packets of up to 64 KiB) and split
into 1-7 byte pieces (tests/dissect/resegment.py), and the engine's Observations (without timestamps) and
flows' application names are compared with the original's (tests/dissect/resegcheck.py, which lists the
engine bounds lifted and the differences accepted, each with its reason). Prints every difference, and
which stream dissectors named a TCP flow in the captures checked; exit status 1 when a difference is not
accepted.

    python bench/resegment.py [--pcaps DIR] [--match TEXT] [--per-folder N] [--max-mb M] [--lab] [--test-data]
                              [--no-shared] [--json OUT]

``--per-folder N`` checks at most N captures of each folder (the first N by name that carry TCP payload),
``--lab`` adds the lab scenarios (src/iotwarden/lab/scenarios/*.yaml, generated here), ``--test-data`` the
captures of real software kept with the tests (tests/dissect/data: DICOM, FTP, SIP over TCP), the lab's demo
capture and built sessions of the dissectors no shared capture carries over TCP (KNXnet/IP, MELSEC, OpenVPN,
TeamViewer: tests/dissect/test_resegcheck.built_sessions). ``--pcaps`` with all three covers every stream
dissector.
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
sys.path.insert(0, str(HERE.parent))  # the test tools rewrite and compare

from tests.dissect import resegcheck, resegment  # noqa: E402

from iotwarden.dissect import default_dissectors  # noqa: E402
from iotwarden.dissect.base import StreamDissector  # noqa: E402
from sweep_inputs import PCAPS, lab_captures, select  # noqa: E402


def has_tcp_payload(path: Path) -> bool:
    """Whether any frame is a whole TCP segment with payload (the rewrites change nothing else)."""
    try:
        linktype, frames = resegment.read_frames(path)
    except Exception:  # noqa: BLE001 - a capture dpkt cannot read is not checked (said so in the output)
        return False
    for _, frame in frames:
        dec = resegment.decode(linktype, frame)
        if dec is not None and dec.tcp.data:
            return True
    return False


def test_captures(work: Path) -> list[Path]:
    from tests.dissect.test_resegcheck import built_sessions

    data = sorted((HERE.parent / "tests" / "dissect" / "data").glob("*.pcap"))
    return [*data, HERE.parent / "src" / "iotwarden" / "lab" / "captures" / "demo.pcap",
            built_sessions(work / "built.pcap")]


def stream_dissectors() -> list[str]:
    return [d.name for d in default_dissectors() if isinstance(d, StreamDissector)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcaps", type=Path, default=PCAPS)
    ap.add_argument("--match", help="only captures whose path holds this text")
    ap.add_argument("--per-folder", type=int, help="at most this many captures of each folder")
    ap.add_argument("--max-mb", type=float, default=32.0, help="skip captures larger than this")
    ap.add_argument("--lab", action="store_true", help="add the lab scenarios")
    ap.add_argument("--test-data", action="store_true", help="add the tests' captures and built sessions")
    ap.add_argument("--no-shared", action="store_true", help="leave out the shared captures")
    ap.add_argument("--json", type=Path, help="write the differences as JSON lines here")
    args = ap.parse_args()

    covered: Counter[str] = Counter()
    bad = accepted = 0
    lines: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="reseg-") as tmp:
        work = Path(tmp)
        paths = [] if args.no_shared else select(args.pcaps, args.match, args.per_folder, args.max_mb,
                                                          keep=has_tcp_payload)
        if args.lab:
            paths += lab_captures(work)
        if args.test_data:
            paths += test_captures(work)
        print(f"{len(paths)} captures", flush=True)
        for path in paths:
            t0 = time.process_time()
            try:
                seen, diffs = resegcheck.check(path, work)
            except Exception as exc:  # noqa: BLE001 - one capture's failure is reported, the sweep goes on
                print(f"ERROR {path}: {exc!r}", flush=True)
                bad += 1
                continue
            covered.update(resegcheck.tcp_protocols(seen))
            for d in diffs:
                print(("ok   " if d.allowed else "DIFF ") + d.line(), flush=True)
                lines.append({"capture": str(d.capture), "cut": d.cut, "proto": d.proto, "allowed": bool(d.allowed),
                              "missing": [repr(k) for k in d.missing], "extra": [repr(k) for k in d.extra]})
                bad += d.allowed is None
                accepted += d.allowed is not None
            print(f"     {path} {sorted(resegcheck.tcp_protocols(seen))} {time.process_time() - t0:.1f}s", flush=True)
    if args.json:
        args.json.write_text("".join(json.dumps(line) + "\n" for line in lines))
    streams = stream_dissectors()
    print(f"\nstream dissectors naming a TCP flow: {sorted(covered.items())}")
    print(f"stream dissectors not seen on TCP: {sorted(set(streams) - set(covered))}")
    print(f"differences: {bad} not accepted, {accepted} accepted")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
