"""``iotwarden analyze`` and ``iotwarden db upgrade``, plus the output helpers the store commands share
(tables on stdout, JSON per docs/schemas/, progress and one line per error on stderr).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from iotwarden.cli.files import check_output, output
from iotwarden.cli.jsontext import dumps_indented
from iotwarden.cli.main import app, err_console, print_error
from iotwarden.cli.progress import bar
from iotwarden.risk.scorer import band
from iotwarden.store.limits import MAX_PROBE_FLOWS

if TYPE_CHECKING:
    from iotwarden.services.analyze import AnalysisReport, FileResult
    from iotwarden.store import Store

PIPE_WIDTH = 200  # table width when stdout is not a terminal (files, pipes, tests)
MAX_CELL_VALUES = 3  # values shown per cell before "+N"

DB_OPTION = typer.Option(None, "--db", help="Database URL or SQLite path (default $IOTWARDEN_DB or ./iotwarden.db).")
OUTPUT_OPTION = typer.Option(None, "-o", "--output", help="Write the result to this file instead of stdout.")


class Format(StrEnum):
    table = "table"
    json = "json"


FORMAT_OPTION = typer.Option(Format.table, "--format", "-f", help="Output format.", case_sensitive=False)


def open_store(db: str | None) -> Store:
    """The migrated store named by ``--db`` (errors are StoreError: one line, exit code 2)."""
    # SQLAlchemy (~0.25 s CPU) when a command opens its store, not when the commands' help is shown
    from iotwarden.store import Store  # noqa: PLC0415

    return Store(db)


def emit(fmt: Format, data: Any, render: Callable[[Console], None], path: Path | None) -> None:
    """Print ``data`` as JSON, or call ``render`` with a console on the chosen output."""
    with output(path) as fh:
        if fmt is Format.json:
            fh.write(dumps_indented(data) + "\n")  # json.dumps(data, indent=2, default=str)'s text, sooner
            return
        terminal = fh is sys.stdout and sys.stdout.isatty()
        render(Console(file=fh, width=None if terminal else PIPE_WIDTH, highlight=False, soft_wrap=False))


def ts_text(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def cell(values: Any) -> str:
    items = [str(v) for v in values]
    more = f" +{len(items) - MAX_CELL_VALUES}" if len(items) > MAX_CELL_VALUES else ""
    return ", ".join(items[:MAX_CELL_VALUES]) + more


def _value(d: dict[str, Any], name: str) -> str:
    found = (d.get("classification") or {}).get(name)
    return str(found["value"]) if isinstance(found, dict) and found.get("value") is not None else ""


def _risk(d: dict[str, Any]) -> str:
    """``band score`` from a listed device's ``risk``, or an analysed device's ``risk_score``."""
    risk = d.get("risk")
    score = risk.get("score") if isinstance(risk, dict) else d.get("risk_score")
    if score is None:
        return ""
    return f"{band(score)} {score:g}" if score > 0 else "none"


def device_table(devices: list[dict[str, Any]], title: str = "Devices") -> Table:
    """What each device is (vendor, model, type, category: ``devices explain`` says why) and how
    risky, beside where it is and what it spoke; identity facts are in ``devices show``."""
    table = Table(title=f"{title} ({len(devices)})", title_justify="left")
    for name in ("key", "ips", "hostnames", "vendor", "model", "type", "category", "risk", "protocols", "packets",
                 "last seen"):
        table.add_column(name, justify="right" if name == "packets" else "left", overflow="fold", no_wrap=name == "key")
    for d in devices:
        table.add_row(d["key"], cell(d["ips"]), cell(d["hostnames"]), _value(d, "vendor"), _value(d, "model"),
                      _value(d, "device_type"), _value(d, "category"), _risk(d), cell(d["protocols"]),
                      str(d["packets"]), ts_text(d["last_seen"]))
    return table


MAX_FILE_ROWS = 25  # past this many inputs the table lists only those with something to say


def _files_table(report: AnalysisReport) -> Table:
    """One row per input; a run over a dataset tree lists the inputs with a note and totals the rest."""
    quiet = len(report.files) > MAX_FILE_ROWS
    shown = [f for f in report.files if not quiet or f.error or (f.status == "skipped" and not _same_bytes(f))]
    table = Table(title="Files", title_justify="left")
    for name in ("file", "status", "packets", "flows", "devices", "observations", "note"):
        table.add_column(name, justify="right" if name in ("packets", "flows", "devices", "observations") else "left",
                         overflow="fold")
    for f in shown:
        note = f.skipped_because or f.error or ""
        table.add_row(f.path, f.status, str(f.packets), str(f.flows), str(f.devices), str(f.observations), note)
    rest = [f for f in report.files if f not in shown and f.status == "complete"]
    if rest:
        table.add_row(f"{len(rest)} more files", "complete", str(sum(f.packets for f in rest)),
                      str(sum(f.flows for f in rest)), "", str(sum(f.observations for f in rest)),
                      "each listed by -f json")
    same = [f for f in report.files if f not in shown and _same_bytes(f)]
    if same:
        table.add_row(f"{len(same)} more files", "skipped", "0", "0", "0", "0",
                      "the same bytes as a capture analysed before (each listed by -f json)")
    return table


def _same_bytes(f: FileResult) -> bool:
    return f.status == "skipped" and f.capture_id is not None


def run_summary(report: AnalysisReport) -> str:
    """One paragraph: the devices by category, the findings and alerts the run raised, where to look next."""
    categories = Counter((d.conclusion("category") or "unknown") for d in report.devices)
    shown = ", ".join(f"{n} {name}" for name, n in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0])))
    stats = [f.stats for f in report.files if f.stats]
    findings = sum(int(s.get("findings", {}).get("reported", 0)) for s in stats)
    alerts = sum(int(s.get("alerts", {}).get("raised", 0)) for s in stats)
    devices = f"{len(report.devices)} devices" + (f" ({shown})" if shown else "")
    return (f"{devices}; {findings} risk findings, {alerts} alerts raised by this run.\n"
            "next: iotwarden devices explain ID · iotwarden findings · iotwarden alerts · "
            "iotwarden report --format html -o report.html")


def snapped_note(f: FileResult) -> str | None:
    """The note for a capture whose packets were cut by its snap length (CaptureStats.snapped), else None."""
    snapped = int((f.stats or {}).get("snapped") or 0)
    if not snapped or f.format == "zeek":
        return None
    total = max(f.packets, snapped)
    share = 100 * snapped / total
    shown = f"{share:.0f}%" if share >= 1 else "under 1%"
    return (f"note: {f.path}: {shown} of packets ({snapped:,} of {total:,}) cut by the capture's snap length "
            f"{int(f.stats.get('snaplen') or 0)}: application data beyond it was not read")


def report_errors(report: AnalysisReport) -> int:
    """One stderr line per file that could not be read completely; the exit code the run deserves."""
    same = [f for f in report.files if _same_bytes(f)]
    for f in report.files:
        if f.status == "skipped" and (len(report.files) <= MAX_FILE_ROWS or not _same_bytes(f)):
            err_console.print(f"note: {f.path} skipped: {f.skipped_because}", markup=False, highlight=False,
                              soft_wrap=True)
    for f in report.files:  # a Wi-Fi capture of a protected network: say why little or nothing was read
        encrypted = int((f.stats.get("decode_errors") or {}).get("wlan_protected", 0)) if f.stats else 0
        if encrypted:
            err_console.print(f"note: {f.path}: {encrypted} encrypted 802.11 data frames (WPA/WEP) could not be read; "
                              "decrypt the capture with the network's passphrase first (e.g. aircrack-ng's "
                              "airdecap-ng -e SSID -p PASSPHRASE FILE) and analyse the decrypted file",
                              markup=False, highlight=False, soft_wrap=True)
    for f in report.files:  # a mirror delivered through a tunnel: say whose traffic was read
        tunnels = (f.stats.get("tunnels") or {}) if f.stats else {}
        if tunnels:
            kinds = ", ".join(f"{name} {int(n):,}" for name, n in sorted(tunnels.items()))
            err_console.print(f"note: {f.path}: {sum(int(n) for n in tunnels.values()):,} packets read inside "
                              f"tunnels ({kinds}): the hosts inside them are inventoried, not the tunnel's ends",
                              markup=False, highlight=False, soft_wrap=True)
    for f in report.files:  # a capture kept each packet's first bytes only: say what was not read
        note = snapped_note(f)
        if note:
            err_console.print(note, markup=False, highlight=False, soft_wrap=True)
    for f in report.files:  # Zeek log lines the reader could not use: counted, skipped, said
        bad = int((f.stats.get("parse_errors") or {}).get("zeek", 0)) if f.stats else 0
        if bad and f.error is None:
            err_console.print(f"note: {f.path}: {bad:,} of {f.packets:,} Zeek log lines could not be read and were "
                              "skipped (a needed field missing or malformed)", markup=False, highlight=False,
                              soft_wrap=True)
    if len(report.files) > MAX_FILE_ROWS and same:
        err_console.print(f"note: {len(same)} files skipped: the same bytes as a capture analysed before "
                          "(-f json lists each)", markup=False, highlight=False, soft_wrap=True)
    for f in report.failed:
        read = f.format is not None  # the file was opened as a capture or log (not missing, not a folder)
        unit = "log lines" if f.format == "zeek" else "packets"
        notes = [f"{f.packets_read or 0} {unit} read before the damage"] if read and "read before" not in (
            f.error or "") and "could be read" not in (f.error or "") else []
        if f.status == "partial":
            notes.append("what was read is kept, marked partial")
        print_error(f"{f.error} ({', '.join(notes)})" if notes else str(f.error))
    return 2 if report.failed else 0


def run_analysis(paths: list[Path], store: Store, fmt: Format, out: Path | None, *,
                 max_probe_flows: int | None = MAX_PROBE_FLOWS) -> AnalysisReport:
    """Analyse with a progress bar on stderr (terminals only, not with JSON) and print the summary."""
    # the engine, numpy and every analyzer: imported by a run, not by the other commands that share this module
    from iotwarden.services.analyze import analyze  # noqa: PLC0415

    with bar("analysing", quiet=fmt is Format.json, in_bytes=True) as progress:
        task = progress.add_task("analyse", total=None)
        report = analyze(paths, store, progress=lambda done, total: progress.update(task, completed=done, total=total),
                         max_probe_flows=max_probe_flows)

    def render(console: Console) -> None:
        console.print(_files_table(report))
        if not report.devices and report.files and all(f.status == "failed" for f in report.files):
            return  # nothing could be read: the errors say why, an empty inventory and hints would only add noise
        console.print(device_table([d.to_dict() for d in report.devices]))
        console.print(run_summary(report), markup=False, highlight=False)

    emit(fmt, report.to_dict(), render, out)
    return report


@app.command("analyze")
def analyze_command(
    paths: list[Path] = typer.Argument(..., help="Capture files (pcap, pcapng, gzip), Zeek logs or folders."),  # noqa: B008
    *,
    db: str | None = DB_OPTION,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
    max_probe_flows: int = typer.Option(MAX_PROBE_FLOWS, min=0, help="Empty connection attempts (a scan's "
                                        "SYNs) stored per file; the rest are analysed and counted. 0: no limit."),
) -> None:
    """Analyse captures into the store and print what was found."""
    check_output(out)
    with open_store(db) as store:
        report = run_analysis(paths, store, fmt, out, max_probe_flows=max_probe_flows or None)
    code = report_errors(report)
    if code:
        raise SystemExit(code)


db_app = typer.Typer(help="Manage the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(db: str | None = DB_OPTION) -> None:
    """Create or migrate the database schema to the newest revision."""
    from iotwarden.store.db import Store, redact  # noqa: PLC0415 - see open_store

    with Store(db, migrate=False) as store:
        revision = store.upgrade()
        typer.echo(f"database {redact(store.url)} at revision {revision}")
