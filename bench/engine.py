"""Engine benchmark: iotwarden against tshark, NFStream, dpkt and scapy on one mixed enterprise capture.

    python bench/engine.py [--packets 2000000] [--quick] [--cpu] [--reuse FILE] [--peers tshark,nfstream,dpkt,scapy]

Builds (or reuses, cached under bench/out/) a capture from the lab generator, runs every tool as a
subprocess in the same run, and prints rates, CPU time and peak RSS (wait4 ru_utime + ru_stime,
ru_maxrss) and iotwarden/peer ratios; iotwarden also runs on the capture doubled in time, to show
whether its memory stays flat. ``--cpu`` computes rates and ratios from CPU time instead of wall
time: on a shared, loaded host the wall clock measures the neighbours as much as the tool.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import Measurement, run_measured  # noqa: E402
from mixed_capture import build, repeat_in_time  # noqa: E402

OUT = HERE / "out"
PEERS = ("tshark", "nfstream", "dpkt", "scapy")
INSTALL_HINTS = {"tshark": "apt-get install tshark", "nfstream": "pip install nfstream  (or .[bench])",
                 "scapy": "pip install scapy  (or .[bench])", "dpkt": "pip install dpkt"}
TSHARK_FIELDS = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "ip.proto"]
console = Console(width=None if sys.stdout.isatty() else 150)
NO_DETECT = "iotwarden analyze -detect"  # analyze without iotwarden.detect (bench/iw_analyze.py)


def count_records(path: Path) -> tuple[int, int]:
    """(packets, captured bytes) of a little-endian classic pcap, walking record headers only."""
    packets = total = 0
    with path.open("rb") as fh:
        fh.seek(24)
        while head := fh.read(16):
            if len(head) < 16:
                break
            incl = struct.unpack("<IIII", head)[2]
            fh.seek(incl, 1)
            packets += 1
            total += incl
    return packets, total


def installed(peer: str) -> bool:
    if peer == "tshark":
        return shutil.which("tshark") is not None
    return importlib.util.find_spec(peer) is not None


def capture_for(args: argparse.Namespace) -> Path:
    if args.reuse:
        return Path(args.reuse)
    OUT.mkdir(exist_ok=True)
    path = OUT / f"mixed-{args.packets}.pcap"
    if not path.exists():
        start = time.perf_counter()
        tmp = path.with_suffix(".partial.pcap")
        packets, size = build(tmp, args.packets, sites=args.sites)
        tmp.rename(path)
        console.print(f"built {path.name}: {packets} packets, {size / 1e6:.0f} MB in "
                      f"{time.perf_counter() - start:.1f} s")
    return path


def iotwarden_runs(path: Path, label: str, db_dir: Path, *, without_detectors: bool = False) -> list[Measurement]:
    py = sys.executable
    db = db_dir / f"bench-{label}.db"
    runs = [
        run_measured("iotwarden engine", label, [py, str(HERE / "iw_engine.py"), str(path)]),
        run_measured("iotwarden analyze", label, [py, str(HERE / "iw_analyze.py"), str(path), "--db", str(db),
                                                  "--format", "json", "-o", str(db_dir / "out.json")]),
    ]
    if without_detectors:  # the same analyze minus iotwarden.detect (issue 4: detection must not halve it)
        runs.append(run_measured(NO_DETECT, label, [py, str(HERE / "iw_analyze.py"), "--no-detectors", str(path),
                                                    "--db", str(db_dir / f"bench-{label}-nodetect.db"),
                                                    "--format", "json", "-o", str(db_dir / "out-nodetect.json")]))
    return runs


def detection_cost(runs: list[Measurement], packets: int, cpu: bool) -> dict[str, float] | None:
    """analyze's rate with the detectors over its rate without them (above 0.5: not halved)."""
    with_d = rate(next(m for m in runs if m.name == "iotwarden analyze"), packets, cpu)
    without = next((m for m in runs if m.name == NO_DETECT), None)
    without_d = rate(without, packets, cpu) if without else None
    if not with_d or not without_d:
        return None
    console.print(f"analyze with detectors: {with_d / 1e3:.0f} kpkt/s, without: {without_d / 1e3:.0f} kpkt/s "
                  f"-> ratio {with_d / without_d:.2f} ({'not halved' if with_d / without_d > 0.5 else 'HALVED'})")
    return {"with": with_d, "without": without_d, "ratio": with_d / without_d}


def peer_runs(path: Path, peers: list[str], args: argparse.Namespace) -> list[Measurement]:
    py = sys.executable
    out: list[Measurement] = []
    for peer in peers:
        if not installed(peer):
            out.append(Measurement(peer, "-", note=f"not installed: {INSTALL_HINTS[peer]}"))
            continue
        if peer == "tshark":
            cmd = ["tshark", "-n", "-r", str(path), "-T", "fields"]
            for f in TSHARK_FIELDS:
                cmd += ["-e", f]
            out.append(run_measured("tshark", "5-tuple fields", cmd, discard_stdout=True))
        elif peer == "nfstream":
            out.append(run_measured("nfstream", "plain, 1 meter", [py, str(HERE / "peer_nfstream.py"), str(path),
                                                                   "plain"]))
            if args.nfstream_dpi:
                out.append(run_measured("nfstream", "nDPI, 1 meter", [py, str(HERE / "peer_nfstream.py"),
                                                                      str(path), "dpi"]))
        elif peer == "dpkt":
            out.append(run_measured("dpkt", "5-tuple loop", [py, str(HERE / "peer_dpkt.py"), str(path)]))
        elif peer == "scapy":
            out.append(run_measured("scapy", f"first {args.scapy_packets} pkts, extrapolated",
                                    [py, str(HERE / "peer_scapy.py"), str(path), str(args.scapy_packets)]))
    return out


def rate(m: Measurement, packets: int, cpu: bool = False) -> float | None:
    """Packets per second of wall (or CPU) time; scapy's slice is extrapolated from its own loop
    time (in CPU mode from its whole CPU time, imports included: a conservative figure)."""
    seconds = m.cpu_seconds if cpu else m.seconds
    if m.returncode != 0 or seconds == 0:
        return None
    if m.name == "scapy" and m.result.get("loop_seconds"):
        return float(m.result["packets"]) / (seconds if cpu else float(m.result["loop_seconds"]))
    return packets / seconds


def report(runs: list[Measurement], packets: int, size: int, doubled: list[Measurement],
           cpu: bool = False) -> dict[str, object]:
    engine = next((m for m in runs if m.name == "iotwarden engine"), None)
    full = next((m for m in runs if m.name == "iotwarden analyze"), None)
    base_e = rate(engine, packets, cpu) if engine else None
    base_a = rate(full, packets, cpu) if full else None
    basis = "CPU" if cpu else "wall"
    table = Table(title=f"{packets:,} packets, {size / 1e6:,.0f} MB (one core per tool; rates per {basis} second)")
    for col in ("tool", "mode", "wall s", "CPU s", "kpkt/s", "MB/s", "peak RSS MiB", "engine ×", "analyze ×",
                "note"):
        table.add_column(col, justify="right" if col not in ("tool", "mode", "note") else "left")
    rows = []
    for m in runs:
        r = rate(m, packets, cpu)
        if r is None:
            table.add_row(m.name, m.mode, "", "", "", "", "", "", "", m.note or "failed")
            rows.append({"tool": m.name, "mode": m.mode, "note": m.note})
            continue
        secs = packets / r
        ratio_e = f"{base_e / r:.1f}" if base_e and not m.name.startswith("iotwarden") else ""
        ratio_a = f"{base_a / r:.1f}" if base_a and not m.name.startswith("iotwarden") else ""
        note = m.note or ("extrapolated" if m.name == "scapy" else "")
        table.add_row(m.name, m.mode, f"{m.seconds:.1f}", f"{m.cpu_seconds:.1f}", f"{r / 1e3:.0f}",
                      f"{size / 1e6 / secs:.0f}", f"{m.peak_rss_mib:.0f}", ratio_e, ratio_a, note)
        rows.append({"tool": m.name, "mode": m.mode, "basis": basis, "seconds": m.seconds,
                     "cpu_seconds": m.cpu_seconds, "packets_per_s": r, "mb_per_s": size / 1e6 / secs,
                     "peak_rss_mib": m.peak_rss_mib, "result": m.result})
    console.print(table)
    if doubled:
        rss = Table(title="iotwarden peak RSS when the capture doubles (same traffic written twice, ts shifted)")
        for col in ("run", "RSS 1x MiB", "RSS 2x MiB", "growth"):
            rss.add_column(col)
        for m2 in doubled:
            m1 = next(m for m in runs if m.name == m2.name)
            rss.add_row(m2.name, f"{m1.peak_rss_mib:.0f}", f"{m2.peak_rss_mib:.0f}",
                        f"{m2.peak_rss_mib / m1.peak_rss_mib:.2f}x" if m1.peak_rss_mib else "")
            rows.append({"tool": m2.name, "mode": "2x", "seconds": m2.seconds, "cpu_seconds": m2.cpu_seconds,
                         "peak_rss_mib": m2.peak_rss_mib, "note": m2.note})
        console.print(rss)
    return {"packets": packets, "bytes": size, "runs": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=2_000_000, help="packets in the generated capture")
    ap.add_argument("--quick", action="store_true", help="200k packets, for a fast check")
    ap.add_argument("--cpu", action="store_true", help="rates and ratios from CPU time (user + system), not wall time")
    ap.add_argument("--reuse", help="measure this capture instead of the generated one")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--sites", type=int, default=8, help="enterprise sites in the generated capture")
    ap.add_argument("--scapy-packets", type=int, default=100_000, help="scapy's slice")
    ap.add_argument("--nfstream-dpi", action="store_true", help="also run NFStream with nDPI dissection")
    ap.add_argument("--no-double", action="store_true", help="skip the 2x-capture RSS runs")
    args = ap.parse_args(argv)
    if args.quick:
        args.packets = 200_000
    peers = [p for p in args.peers.split(",") if p]
    unknown = set(peers) - set(PEERS)
    if unknown:
        ap.error(f"unknown peers: {', '.join(sorted(unknown))}")
    path = capture_for(args)
    packets, size = count_records(path)
    with tempfile.TemporaryDirectory() as tmp:
        runs = iotwarden_runs(path, "1x", Path(tmp), without_detectors=True) + peer_runs(path, peers, args)
        doubled: list[Measurement] = []
        if not args.no_double:
            twice = Path(tmp) / "x2.pcap" if args.reuse else OUT / f"{path.stem}-x2.pcap"
            if not twice.exists():
                repeat_in_time(path, twice, copies=2)
            doubled = iotwarden_runs(twice, "2x", Path(tmp))
        summary = report(runs, packets, size, doubled, cpu=args.cpu)
        summary["detection"] = detection_cost(runs, packets, args.cpu)
    OUT.mkdir(exist_ok=True)
    (OUT / f"results-{packets}.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
