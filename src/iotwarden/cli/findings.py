"""``iotwarden findings [list]`` (stored risk findings, worst first) and ``iotwarden findings checks``
(the catalogue of risk checks with their ids, severities, references and options)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from iotwarden.cli.analyze import DB_OPTION, FORMAT_OPTION, OUTPUT_OPTION, Format, emit, open_store, ts_text
from iotwarden.cli.main import app
from iotwarden.model.finding import SEVERITIES
from iotwarden.risk.registry import catalogue
from iotwarden.store.limits import DEFAULT_FINDING_LIMIT

findings_app = typer.Typer(help="Risk findings: what the checks concluded about each device.")
app.add_typer(findings_app, name="findings")

DEVICE = typer.Option(None, "--device", "-d", help="Only this device (key, unique key prefix, MAC or IP).")
CHECK = typer.Option(None, "--check", "-c", help="Only this check id, or an id prefix ending in '.' (risk.tls.).")
SEVERITY = typer.Option(None, "--severity", "-s", help=f"At least this severity ({', '.join(SEVERITIES)}).")
STATUS = typer.Option(None, "--status", help="Only findings in this status (open, accepted, resolved).")
LIMIT = typer.Option(DEFAULT_FINDING_LIMIT, "--limit", "-n", min=1, help="At most this many findings.")


def _list(db: str | None, *, device: str | None, check: str | None, severity: str | None, status: str | None,
          limit: int, fmt: Format, out: Path | None) -> None:
    # the store's tables and queries (SQLAlchemy): when the findings are listed, not for --help
    from iotwarden.store.alert_models import FINDING_STATUSES  # noqa: PLC0415
    from iotwarden.store.findings import finding_dict, list_findings  # noqa: PLC0415
    from iotwarden.store.queries import resolve_device  # noqa: PLC0415

    if severity is not None and severity not in SEVERITIES:
        raise typer.BadParameter(f"one of {', '.join(SEVERITIES)}", param_hint="--severity")
    if status is not None and status not in FINDING_STATUSES:
        raise typer.BadParameter(f"one of {', '.join(FINDING_STATUSES)}", param_hint="--status")
    with open_store(db) as store, store.session() as session:
        key = resolve_device(session, device).key if device else None
        rows = [finding_dict(r) for r in list_findings(session, device=key, check=check, severity=severity,
                                                       status=status, limit=limit)]
    emit(fmt, {"schema": "iotwarden.findings/1", "findings": rows}, lambda c: c.print(findings_table(rows)), out)


def findings_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Findings ({len(rows)})", title_justify="left")
    for name in ("severity", "check", "device", "title", "evidence", "status", "last seen"):
        table.add_column(name, overflow="fold")
    for f in rows:
        evidence = "; ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                             for k, v in f["evidence"].items() if k != "count")
        table.add_row(f["severity"], f["id"], f["subject"], f["title"], evidence, f["status"],
                      ts_text(f["last_seen"]))
    return table


@findings_app.callback(invoke_without_command=True)
def findings_root(ctx: typer.Context, *, db: str | None = DB_OPTION, device: str | None = DEVICE,
                  check: str | None = CHECK, severity: str | None = SEVERITY, status: str | None = STATUS,
                  limit: int = LIMIT, fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """List findings, worst first (no subcommand: list)."""
    if ctx.invoked_subcommand is None:
        _list(db, device=device, check=check, severity=severity, status=status, limit=limit, fmt=fmt, out=out)


@findings_app.command("list")
def findings_list(*, db: str | None = DB_OPTION, device: str | None = DEVICE, check: str | None = CHECK,
                  severity: str | None = SEVERITY, status: str | None = STATUS, limit: int = LIMIT,
                  fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """List findings, worst first, optionally filtered."""
    _list(db, device=device, check=check, severity=severity, status=status, limit=limit, fmt=fmt, out=out)


@findings_app.command("checks")
def findings_checks(fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """The risk checks: id, default severity, references and options."""
    checks = catalogue()

    def render(console: Console) -> None:
        table = Table(title=f"Risk checks ({len(checks)})", title_justify="left")
        for name in ("id", "severity", "title", "references", "options"):
            table.add_column(name, overflow="fold")
        for c in checks:
            options = ", ".join(f"{o['name']}={o['default']}" for o in c["options"])  # type: ignore[attr-defined]
            table.add_row(str(c["id"]), str(c["severity"]), str(c["title"]),
                          "\n".join(c["references"]), options)  # type: ignore[arg-type]
        console.print(table)

    emit(fmt, {"schema": "iotwarden.checks/1", "checks": checks}, render, out)
