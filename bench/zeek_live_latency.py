"""How long a Zeek record takes, from Zeek writing it to the analyzers getting it, when ``monitor`` follows a live
folder: a site's day (tests/sources/zeek_written.site_day) with TLS sessions of 2.5 h opened mid-day, replayed as a
monitor polling every ``--poll`` seconds reads it, the wall clock being Zeek's network time (no sleep).

    python bench/zeek_live_latency.py [--devices 6] [--hours 3] [--poll 2] [--module path/to/zeek_live.py]

``--module`` replays through another version of sources/zeek_live.py (``git show REV:src/iotwarden/sources/
zeek_live.py > old.py``) to compare. Prints percentiles of the Flows', the Observations' and the long sessions'
Observations' latency in seconds, and how many Observations went on without MACs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the test builders write the logs in Zeek's write order

from tests.sources.zeek_written import GATEWAY, Conn, Txn, replay, site_day, write_logs  # noqa: E402

from iotwarden.sources import zeek_live  # noqa: E402


def day(devices: int, hours: float, seed: int = 11) -> tuple[list[Conn], list[str]]:
    """The site's connections and the uids of the long sessions added to it."""
    start = 1_700_000_000.0
    conns = site_day(seed, devices=devices, hours=hours)
    hello = {"version": "TLSv12", "server_name": "api.cloud.example", "established": "T"}
    long = [
        Conn(
            f"Clong{d}",
            start + hours * 1800 + 100 * d,
            2.5 * 3600,
            (f"10.20.0.{10 + d}", 39000 + d, f"02:00:00:00:{seed:02x}:{d:02x}"),
            (f"52.{d}.18.{10 + d}", 443, GATEWAY[2]),
            service="ssl",
            txns=[Txn("ssl", 0.0, 0.2, hello)],
        )
        for d in range(1, devices)
    ]
    return conns + long, [c.uid for c in long]


def load(path: str | None) -> ModuleType:
    if path is None:
        return zeek_live
    spec = importlib.util.spec_from_file_location("zeek_live_other", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def percentiles(values: list[float]) -> str:
    if not values:
        return "none"
    xs = sorted(values)
    return (
        f"n={len(xs)} p50={xs[len(xs) // 2]:.0f} p95={xs[int(len(xs) * 0.95)]:.0f} "
        f"p99={xs[int(len(xs) * 0.99)]:.0f} max={xs[-1]:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=6)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--poll", type=float, default=2.0)
    parser.add_argument("--module")
    args = parser.parse_args()
    conns, long = day(args.devices, args.hours)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_logs(Path(tmp), conns)
        latency = replay(folder, conns, load(args.module).ZeekFollower(), poll_s=args.poll)
    print("flows         ", percentiles(latency.flows))
    print("observations  ", percentiles(latency.observations))
    print("logged late   ", percentiles(latency.long_sessions), "(records of connections logged past the window)")
    print("2.5 h sessions", percentiles([w for uid in long for w in latency.by_uid.get(uid, [])]))
    print("without MACs  ", latency.unstamped)


if __name__ == "__main__":
    main()
