"""How `iotwarden analyze` scales on Zeek conn.logs of IoT-23's size and shape.

Stratosphere's IoT-23 captures are single infected devices logged for a day or more: most of their
tens of millions of conn.log lines are one bot's horizontal scan (``S0`` connections to random
addresses on tcp/23, 2323, 80, 8080, ...), the rest its C&C connections and a little benign traffic.
This benchmark writes such logs (IoT-23's ``conn.log.labeled`` layout, labels included) at growing
sizes and runs ``iotwarden analyze`` on each through bench/rusage_wrap.py, printing wall time, CPU
time, lines per CPU second and peak RSS, so that growth with size shows (memory must stay flat).

    .venv/bin/python bench/iot23_scale.py --lines 250000 1000000 [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#open\t2018-12-21-15-50-14\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t"
    "resp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\t"
    "resp_ip_bytes\ttunnel_parents   label   detailed-label\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\t"
    "count\tstring\tcount\tcount\tcount\tcount\tset[string]   string   string\n"
)
BOT, CNC, RESOLVER = "192.168.100.103", "185.244.25.235", "8.8.8.8"
BENIGN = ("192.168.100.111", "192.168.100.112")
SCAN_PORTS = (23, 23, 23, 23, 2323, 80, 8080, 37215, 52869)


def _line(ts: float, n: int, cols: tuple[object, ...]) -> str:
    """One data line: ts, uid, then ``cols`` (orig_h .. resp_ip_bytes, label, detailed-label)."""
    *conn, label, detail = cols
    orig_h, orig_p, resp_h, resp_p, proto, service, dur, ob, rb, state, hist, op, oip, rp, rip = conn
    return (f"{ts:.6f}\tC{n:017x}\t{orig_h}\t{orig_p}\t{resp_h}\t{resp_p}\t{proto}\t{service}\t{dur}\t{ob}\t{rb}"
            f"\t{state}\t-\t-\t0\t{hist}\t{op}\t{oip}\t{rp}\t{rip}\t(empty)   {label}   {detail}\n")


def write_log(path: Path, lines: int, seed: int = 7) -> None:
    """``lines`` conn.log lines over a day: ~97% scan, C&C every 10 s, DNS and benign cloud traffic."""
    rng = random.Random(seed)
    start, span = 1545403814.0, 86400.0
    step = span / lines
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(lines):
            ts = start + n * step
            roll = n % 100
            if roll == 0:  # C&C: Mirai-style session attempts to the hard-coded server
                out.write(_line(ts, n, (BOT, rng.randrange(32768, 61000), CNC, 23, "tcp", "-", "2.998",
                                "0", "0", "S0", "S", 3, 180, 0, 0, "Malicious", "C&C")))
            elif roll == 1:  # the bot's and the benign devices' DNS
                out.write(_line(ts, n, (rng.choice((BOT, *BENIGN)), rng.randrange(1024, 65535), RESOLVER, 53,
                                "udp", "dns", "0.05", "36", "120", "SF", "Dd", 1, 64, 1, 148, "Benign", "-")))
            elif roll in (2, 3):  # benign devices' cloud check-ins over TLS
                out.write(_line(ts, n, (BENIGN[roll - 2], rng.randrange(32768, 61000), f"52.3.18.{roll + 10}",
                                443, "tcp", "ssl", "1.2", "517", "3900", "SF", "ShADadFf", 8, 937, 7, 4270,
                                "Benign", "-")))
            else:  # the horizontal scan: unanswered SYNs to random public addresses
                dst = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                out.write(_line(ts, n, (BOT, rng.randrange(32768, 61000), dst, rng.choice(SCAN_PORTS), "tcp", "-",
                                "-", "-", "-", "S0", "S", 1, 40, 0, 0, "Malicious", "PartOfAHorizontalPortScan")))


def measure(log: Path, db: Path) -> dict[str, float]:
    tool = str(Path(sys.executable).with_name("iotwarden"))
    cmd = [sys.executable, str(Path(__file__).with_name("rusage_wrap.py")), tool, "analyze", str(log),
           "--db", str(db), "--format", "json", "--output", str(db.with_suffix(".json"))]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"analyze failed ({done.returncode}): {done.stderr[-2000:]}")
    usage = json.loads(done.stderr.strip().splitlines()[-1])
    listed = subprocess.run([tool, "alerts", "--db", str(db), "-f", "json"], capture_output=True, text=True,
                            check=True)
    alerts = sorted({a["id"] for a in json.loads(listed.stdout)["alerts"]})
    return {"wall_s": usage["rusage_wall"], "cpu_s": usage["rusage_cpu"],
            "maxrss_mib": usage["rusage_maxrss_kib"] / 1024, "alerts": alerts}  # type: ignore[dict-item]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="write the logs and databases here instead of a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'lines':>10} {'wall s':>8} {'CPU s':>8} {'lines/CPU s':>12} {'RSS MiB':>8}  alerts")
        for lines in args.lines:
            log = folder / f"conn-{lines}.log.labeled"
            write_log(log, lines)
            m = measure(log, folder / f"iw-{lines}.db")
            print(f"{lines:>10} {m['wall_s']:>8.1f} {m['cpu_s']:>8.1f} {lines / m['cpu_s']:>12.0f} "
                  f"{m['maxrss_mib']:>8.0f}  {', '.join(m['alerts'])}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
