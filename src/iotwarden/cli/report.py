"""``iotwarden report``: the whole picture from the store as a self-contained HTML page, as JSON
(docs/schemas/report.md) or as terminal tables."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from iotwarden.cli.analyze import DB_OPTION, Format, emit, open_store
from iotwarden.cli.files import check_output, output
from iotwarden.cli.main import app, err_console
from iotwarden.cli.progress import activity


class ReportFormat(StrEnum):
    html = "html"
    json = "json"
    table = "table"


FORMAT = typer.Option(ReportFormat.html, "--format", "-f", case_sensitive=False,
                      help="html: one self-contained page; json: the report document (docs/schemas/report.md); "
                           "table: terminal tables.")
OUT = typer.Option(None, "-o", "--output", help="File to write (required for html; json and table default to stdout).")


@app.command("report")
def report_command(*, db: str | None = DB_OPTION, fmt: ReportFormat = FORMAT, out: Path | None = OUT) -> None:
    """Devices, classification, risk scores, findings, charts and a network map, from the store."""
    if fmt is ReportFormat.html and out is None:
        raise typer.BadParameter("--format html needs -o FILE (a page to open in a browser)", param_hint="--output")
    check_output(out)
    # the report's page (its network map's layout: numpy), read when a report is made, not for --help
    from iotwarden.report import render_html, report_from_store  # noqa: PLC0415
    from iotwarden.report.tables import report_tables  # noqa: PLC0415

    with open_store(db) as store, activity("building the report", quiet=fmt is ReportFormat.json):
        report = report_from_store(store)
    if fmt is ReportFormat.html:
        with output(out) as fh:
            fh.write(render_html(report))
    else:
        def render(console: Console) -> None:
            for table in report_tables(report):
                console.print(table)

        emit(Format(fmt.value), report, render, out)
    if out is not None:
        s = report["summary"]
        err_console.print(f"{out}: {s['devices']} devices, {s['findings']} findings, fleet risk score "
                          f"{s['fleet_score']} ({s['fleet_band']})", highlight=False, soft_wrap=True)
