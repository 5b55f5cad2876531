"""What the analyze service makes of every shared capture, per file, and what changed between two runs.

A QA pass over a change (issues #3/#4): run the analyze service in one process over every pcap/pcapng
under a folder, each file into a fresh SQLite store (a copy of one migrated template, so the schema
is made once), and write one JSON line per file: status and error (an exception that escaped the
service, with its traceback), packets, flows by application, failed services, parse errors, rejections
before confirmation and analyzer errors by name, devices (key, vendor, type, model, os, firmware,
category), findings and alerts (id, subject) and the CPU seconds the service spent. Run it at two
commits (a ``git worktree`` each, ``PYTHONPATH=<worktree>/src`` with the same venv) and ``--diff`` the
two files:

    PYTHONPATH=/tmp/qa-base/src python bench/qa_captures.py run base.jsonl [--pcaps DIR] [--match TEXT]
    python bench/qa_captures.py diff base.jsonl head.jsonl

The diff lists, per category, every flow whose application or failed services changed (a flow is
its 5-tuple, VLAN and first timestamp), parse/analyzer error counts, device attributes, findings
and alerts that differ, and the total CPU time of each run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sweep_inputs import PCAPS, select

DEVICE_FIELDS = ("vendor", "device_type", "model", "os", "firmware", "category")


def captures(root: Path, match: str | None) -> list[Path]:
    """Every capture file under ``root`` (sorted; told by its magic, whatever its name), those whose path
    holds ``match`` when given."""
    return select(root, match)


def _flow_key(row: sqlite3.Row) -> str:
    return (f"{row['ip_proto']} {row['a_ip']}:{row['a_port']} {row['b_ip']}:{row['b_port']} "
            f"v{row['vlan']} {row['first_seen']:.6f}")


def _read_store(db: Path) -> dict[str, Any]:
    """What the store holds after one file: flows, devices, findings, alerts, the capture's stats."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        flows: dict[str, list[Any]] = {}
        for row in conn.execute("SELECT * FROM flows"):
            failed = json.loads(row["extra"] or "{}").get("failed_services") or []
            flows.setdefault(_flow_key(row), []).append([row["app"], sorted(failed)])
        devices = {r["key"]: {f: r[f] for f in DEVICE_FIELDS}
                   for r in conn.execute(f"SELECT key, {', '.join(DEVICE_FIELDS)} FROM devices")}  # noqa: S608
        findings = sorted(f"{r[0]} {r[1]}" for r in conn.execute("SELECT check_id, device_key FROM findings"))
        alerts = sorted(f"{r[0]} {r[1]}" for r in conn.execute("SELECT detector_id, device_key FROM alerts"))
        stats = [json.loads(r[0] or "{}") for r in conn.execute("SELECT stats FROM captures")]
    return {"flows": flows, "devices": devices, "findings": findings, "alerts": alerts, "stats": stats}


def analyse_one(path: Path, template: Path, work: Path) -> dict[str, Any]:
    """One capture through the analyze service into a fresh copy of the migrated template store."""
    from iotwarden.services.analyze import analyze
    from iotwarden.store import Store

    db = work / "one.db"
    for stale in work.glob("one.db*"):
        stale.unlink()
    shutil.copyfile(template, db)
    out: dict[str, Any] = {"path": str(path)}
    cpu = time.process_time()
    try:
        with Store(f"sqlite:///{db}") as store:
            report = analyze([path], store)
        out["cpu_s"] = round(time.process_time() - cpu, 4)
        f = report.files[0]
        out.update(status=f.status, error=f.error, packets=f.packets, flow_count=f.flows,
                   observations=f.observations)
    except Exception as exc:  # noqa: BLE001 - what escaped the service is the finding
        out["cpu_s"] = round(time.process_time() - cpu, 4)
        out.update(status="exception", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return out
    held = _read_store(db)
    stats = held.pop("stats")
    one = stats[0] if stats else {}
    out["parse_errors"] = one.get("parse_errors", {})
    out["rejected_before_confirmation"] = one.get("rejected_before_confirmation", {})
    out["analyzer_errors"] = one.get("analyzer_errors", {})
    out["apps"] = dict(Counter(app or "-" for rows in held["flows"].values() for app, _ in rows))
    out.update(held)
    return out


def run(out_path: Path, root: Path, match: str | None) -> int:
    from iotwarden.store import Store

    files = captures(root, match)
    if not files:  # an empty run would compare as "no difference" against anything
        print(f"error: no capture under {root}" + (f" whose path holds {match!r}" if match else "")
              + " (a worktree needs ../shared beside it, or --pcaps, or IOTWARDEN_SHARED_DATA)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="qa-captures-") as tmp:
        work = Path(tmp)
        template = work / "template.db"
        Store(f"sqlite:///{template}").close()  # migrated once; every file gets a copy
        for extra in work.glob("template.db-*"):
            extra.unlink()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with out_path.open("w") as fh:
            for i, path in enumerate(files, 1):
                result = analyse_one(path, template, work)
                fh.write(json.dumps(result, sort_keys=True) + "\n")
                fh.flush()
                if result["status"] == "exception":
                    print(f"EXCEPTION {path}: {result['error']}", file=sys.stderr)
                if i % 50 == 0:
                    print(f"{i}/{len(files)} files, {time.process_time() - cpu0:.1f} CPU s", file=sys.stderr)
        total = {"total": True, "files": len(files), "cpu_s": round(time.process_time() - cpu0, 2),
                 "wall_s": round(time.perf_counter() - wall0, 2)}
    with out_path.open("a") as fh:
        fh.write(json.dumps(total) + "\n")
    print(json.dumps(total))
    return 0


def _load(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    files, total = {}, {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("total"):
            total = record
        else:
            files[record["path"]] = record
    return files, total


def _counter_diff(a: dict[str, int], b: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {k: (a.get(k, 0), b.get(k, 0)) for k in sorted(set(a) | set(b)) if a.get(k, 0) != b.get(k, 0)}


def diff_file(a: dict[str, Any], b: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(category, line) for each difference between two runs' records of one capture."""
    for field in ("status", "error", "packets", "flow_count"):
        if a.get(field) != b.get(field):
            yield "file", f"{field}: {a.get(field)!r} -> {b.get(field)!r}"
    if b.get("status") == "exception" or a.get("status") == "exception":
        return
    fa, fb = a["flows"], b["flows"]
    for key in sorted(set(fa) | set(fb)):
        ra, rb = sorted(fa.get(key, []), key=str), sorted(fb.get(key, []), key=str)
        if ra == rb:
            continue
        if not ra or not rb:
            yield "flow.presence", f"{key}: {ra} -> {rb}"
            continue
        apps_a, apps_b = [r[0] for r in ra], [r[0] for r in rb]
        category = "flow.app" if apps_a != apps_b else "flow.failed_services"
        yield category, f"{key}: {ra} -> {rb}"
    for name, (x, y) in _counter_diff(a["parse_errors"], b["parse_errors"]).items():
        yield "parse_errors", f"{name}: {x} -> {y}"
    rejected_a, rejected_b = a.get("rejected_before_confirmation", {}), b.get("rejected_before_confirmation", {})
    for name, (x, y) in _counter_diff(rejected_a, rejected_b).items():
        yield "rejected_before_confirmation", f"{name}: {x} -> {y}"
    for name, (x, y) in _counter_diff(a["analyzer_errors"], b["analyzer_errors"]).items():
        yield "analyzer_errors", f"{name}: {x} -> {y}"
    da, db = a["devices"], b["devices"]
    for key in sorted(set(da) | set(db)):
        if key not in da or key not in db:
            yield "device.presence", f"{key}: {da.get(key)} -> {db.get(key)}"
            continue
        for f in DEVICE_FIELDS:
            if da[key].get(f) != db[key].get(f):
                yield f"device.{f}", f"{key}: {da[key].get(f)!r} -> {db[key].get(f)!r}"
    for kind in ("findings", "alerts"):
        gone, new = sorted(set(a[kind]) - set(b[kind])), sorted(set(b[kind]) - set(a[kind]))
        for item in gone:
            yield kind, f"- {item}"
        for item in new:
            yield kind, f"+ {item}"


def diff(base: Path, head: Path) -> int:
    fa, ta = _load(base)
    fb, tb = _load(head)
    counts: Counter[str] = Counter()
    for path in sorted(set(fa) | set(fb)):
        if path not in fa or path not in fb:
            print(f"{path}\n  file: only in {'head' if path in fb else 'base'}")
            counts["file"] += 1
            continue
        lines = list(diff_file(fa[path], fb[path]))
        if lines:
            print(path)
            for category, line in lines:
                counts[category] += 1
                print(f"  [{category}] {line}")
    exceptions = [p for p, r in fb.items() if r.get("status") == "exception"]
    print("\nchanges by category:")
    for category, n in sorted(counts.items()):
        print(f"  {category:24} {n}")
    print(f"exceptions at head: {len(exceptions)}")
    if ta and tb and ta["files"] and tb["files"]:
        sum_a = sum(r.get("cpu_s", 0) for r in fa.values())
        sum_b = sum(r.get("cpu_s", 0) for r in fb.values())
        print(f"CPU s, whole run: {ta['cpu_s']} -> {tb['cpu_s']} (x{tb['cpu_s'] / ta['cpu_s']:.3f}); "
              f"analyze service only: {sum_a:.2f} -> {sum_b:.2f} (x{sum_b / sum_a:.3f})")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="analyse every capture, one JSON line per file")
    r.add_argument("output", type=Path)
    r.add_argument("--pcaps", type=Path, default=PCAPS)
    r.add_argument("--match", help="only captures whose path holds this text")
    d = sub.add_parser("diff", help="what changed between two runs")
    d.add_argument("base", type=Path)
    d.add_argument("head", type=Path)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.output, args.pcaps, args.match)
    return diff(args.base, args.head)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
