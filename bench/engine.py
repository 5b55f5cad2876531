"""Engine benchmark: iotwarden against tshark, NFStream, dpkt and scapy on one mixed enterprise capture.

    python bench/engine.py [--packets 2000000] [--quick] [--cpu] [--reuse FILE] [--peers tshark,nfstream,dpkt,scapy]

Builds (or reuses, cached under bench/out/) a capture from the lab generator, runs every tool as a
subprocess in the same run, and prints rates, CPU time and peak RSS (wait4 ru_utime + ru_stime,
ru_maxrss) and iotwarden/peer ratios; iotwarden also runs on the capture doubled in time, to show
whether its memory stays flat. ``--cpu`` computes rates and ratios from CPU time instead of wall
time: on a shared, loaded host the wall clock measures the neighbours as much as the tool. iotwarden
runs with its bytecode cached under bench/out/pycache, as an installed package does (bench/installed.py);
``--source-bytecode`` measures it compiled from source each run instead (an editable install under
PYTHONDONTWRITEBYTECODE=1). Start-up is measured apart: analyze of the capture's first packets.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from installed import head_slice, product_env, warm_up  # noqa: E402
from measure import Measurement, run_measured  # noqa: E402
from mixed_capture import build, repeat_in_time  # noqa: E402

OUT = HERE / "out"
PYCACHE = OUT / "pycache"  # iotwarden's bytecode, as an installed package has it (bench/installed.py)
STARTUP_PACKETS = 20  # analyze of this many packets measures start-up (imports, knowledge base, store)
STARTUP_RUNS = 3  # best of
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


def analyze_cmd(path: Path, db: Path, out: Path, *, without_detectors: bool = False) -> list[str]:
    extra = ["--no-detectors"] if without_detectors else []
    return [sys.executable, str(HERE / "iw_analyze.py"), *extra, str(path), "--db", str(db),
            "--format", "json", "-o", str(out)]


def iotwarden_runs(path: Path, label: str, db_dir: Path, *, without_detectors: bool = False,
                   env: dict[str, str] | None = None) -> list[Measurement]:
    runs = [
        run_measured("iotwarden engine", label, [sys.executable, str(HERE / "iw_engine.py"), str(path)], env=env),
        run_measured("iotwarden analyze", label, analyze_cmd(path, db_dir / f"bench-{label}.db",
                                                             db_dir / "out.json"), env=env),
    ]
    if without_detectors:  # the same analyze minus iotwarden.detect (issue 4: detection must not halve it)
        runs.append(run_measured(NO_DETECT, label, analyze_cmd(path, db_dir / f"bench-{label}-nodetect.db",
                                                               db_dir / "out-nodetect.json", without_detectors=True),
                                 env=env))
    return runs


def startup(path: Path, tmp: Path, env: dict[str, str] | None) -> dict[str, float] | None:
    """Best CPU s of analyze on the capture's first STARTUP_PACKETS packets into a new store, with the
    bytecode cache (after a warm-up run that fills it: "cached") and compiled from source ("source"),
    and into a store made before (empty, migrated: "existing", cached bytecode); ``env`` is the measured
    runs' one. None for a capture head_slice cannot cut (not a little-endian classic pcap)."""
    try:
        head = head_slice(path, tmp / "head.pcap", STARTUP_PACKETS)
    except ValueError as exc:
        console.print(f"start-up not measured: {exc}")
        return None
    cmd = analyze_cmd(head, tmp / "head.db", tmp / "head.json")
    warm_up(PYCACHE, sys.executable, [cmd, [sys.executable, str(HERE / "iw_engine.py"), str(head)]])
    template = tmp / "template.db"  # an empty migrated store, copied before each "existing" run
    subprocess.run([sys.executable, "-c", f"from iotwarden.store import Store; Store({str(template)!r}).close()"],
                   env=product_env(PYCACHE), check=True)
    out: dict[str, float] = {}
    for mode, run_env in (("cached", product_env(PYCACHE)), ("source", None), ("existing", product_env(PYCACHE))):
        best = []
        for _ in range(STARTUP_RUNS):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{tmp / 'head.db'}{suffix}").unlink(missing_ok=True)
            if mode == "existing":
                shutil.copyfile(template, tmp / "head.db")
            m = run_measured("iotwarden start-up", mode, cmd, env=run_env)
            if m.returncode == 0:
                best.append(m.cpu_seconds)
        if best:
            out[mode] = min(best)
    out["measured"] = out.get("cached" if env is not None else "source", 0.0)
    return out


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


def startup_share(started: dict[str, float] | None, runs: list[Measurement]) -> dict[str, float] | None:
    """Print and return start-up CPU s (cached bytecode / from source) and its share of analyze's CPU."""
    full = next((m for m in runs if m.name == "iotwarden analyze"), None)
    if not started or full is None or not full.cpu_seconds:
        return started
    share = started["measured"] / full.cpu_seconds
    console.print(f"start-up (analyze of the first {STARTUP_PACKETS} packets, best of {STARTUP_RUNS}, CPU s): new "
                  f"store {started.get('cached', 0):.2f} with cached bytecode, {started.get('source', 0):.2f} "
                  f"compiled from source; existing store {started.get('existing', 0):.2f}; {share:.0%} of "
                  f"analyze's {full.cpu_seconds:.2f} CPU s as measured")
    return {**started, "share": share}


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
    ap.add_argument("--source-bytecode", action="store_true",
                    help="run iotwarden compiled from source each time (no bytecode cache)")
    args = ap.parse_args(argv)
    if args.quick:
        args.packets = 200_000
    peers = [p for p in args.peers.split(",") if p]
    unknown = set(peers) - set(PEERS)
    if unknown:
        ap.error(f"unknown peers: {', '.join(sorted(unknown))}")
    path = capture_for(args)
    packets, size = count_records(path)
    env = None if args.source_bytecode else product_env(PYCACHE)
    with tempfile.TemporaryDirectory() as tmp:
        started = startup(path, Path(tmp), env)  # also the warm-up that fills the bytecode cache
        runs = iotwarden_runs(path, "1x", Path(tmp), without_detectors=True, env=env) + peer_runs(path, peers, args)
        doubled: list[Measurement] = []
        if not args.no_double:
            twice = Path(tmp) / "x2.pcap" if args.reuse else OUT / f"{path.stem}-x2.pcap"
            if not twice.exists():
                repeat_in_time(path, twice, copies=2)
            doubled = iotwarden_runs(twice, "2x", Path(tmp), env=env)
        summary = report(runs, packets, size, doubled, cpu=args.cpu)
        summary["detection"] = detection_cost(runs, packets, args.cpu)
        summary["startup"] = startup_share(started, runs)
    OUT.mkdir(exist_ok=True)
    (OUT / f"results-{packets}.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
