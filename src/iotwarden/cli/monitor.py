"""``iotwarden monitor SOURCE``: watch a live interface or a growing folder of captures and report
alerts as they happen (printed with Rich, exported with ``--export``, stored in ``--db``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from iotwarden.cli.analyze import DB_OPTION, open_store, ts_text
from iotwarden.cli.main import app
from iotwarden.detect import load_options
from iotwarden.detect.pipeline import load_suppressions
from iotwarden.export import open_exporter
from iotwarden.model.alert import Alert
from iotwarden.services.monitor import POLL_S, Monitor

console = Console()
err = Console(stderr=True)
STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def print_alert(alert: Alert) -> None:
    where = f"{alert.src_ip or ''}{' -> ' + alert.dst_ip if alert.dst_ip else ''}"
    console.print(f"{ts_text(alert.first_seen)} [{STYLE[alert.severity]}]{alert.severity:8}[/] {alert.id:32} "
                  f"{alert.subject:26} {where:34} {alert.title}", highlight=False, soft_wrap=True)


@app.command("monitor")
def monitor_cmd(
    source: Annotated[str, typer.Argument(help="A network interface (live capture) or a folder that capture "
                                               "files are written into.")],
    *,
    db: str | None = DB_OPTION,
    export: Annotated[list[str] | None, typer.Option(
        "--export", help="Send alerts to a SIEM: cef+udp|tcp|tls://HOST:PORT[?ca=CA.pem], ecs+file:///PATH, "
                         "ecs+http(s)://HOST/PATH, stix+file:///PATH (repeatable).")] = None,
    suppress: Annotated[Path | None, typer.Option("--suppressions", help="YAML suppression rules.")] = None,
    options: Annotated[Path | None, typer.Option(
        "--detect-options", help="YAML: detector name -> {option: value} (see docs/detection.md).")] = None,
    bpf: Annotated[str | None, typer.Option("--bpf", help="Kernel filter for a live interface.")] = None,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between looks at a watched folder.")] = POLL_S,
    once: Annotated[bool, typer.Option("--once", help="Folder: process what is there now, then stop.")] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not write alerts to the database.")] = False,
) -> None:
    """Watch SOURCE continuously and report alerts as they happen; Ctrl-C stops cleanly."""
    rules = load_suppressions(suppress) if suppress else []
    tunables = load_options(options) if options else None
    exporters = [open_exporter(url) for url in export or []]
    store = None if no_store else open_store(db)
    mon = Monitor(store=store, exporters=exporters, suppressions=rules, options=tunables, on_alert=[print_alert])
    folder = Path(source)
    err.print(f"monitoring {'folder ' + source if folder.is_dir() else 'interface ' + source} "
              "(Ctrl-C stops)", highlight=False)
    try:
        if folder.is_dir():
            mon.poll(folder, interval=poll, once=once)
        else:
            from iotwarden.sources.live import capture_live  # noqa: PLC0415 - only for live capture

            mon.run_live(capture_live(source, bpf=bpf, stop=mon.stopping))
    except KeyboardInterrupt:
        mon.stop()
    finally:
        alerts = mon.finish()
        if store is not None:
            store.close()
    for name, message in mon.export_errors.items():
        err.print(f"[yellow]warning:[/] export {name}: {message}", highlight=False)
    shown = sum(not a.suppressed for a in alerts)
    err.print(f"stopped: {mon.files} files, {len(alerts)} alerts ({len(alerts) - shown} suppressed)", highlight=False)
