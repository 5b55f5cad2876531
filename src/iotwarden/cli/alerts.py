"""``iotwarden alerts [list|show ID|ack ID|close ID|suppress ...]``: the alert queue in the store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from iotwarden.cli.analyze import DB_OPTION, FORMAT_OPTION, OUTPUT_OPTION, Format, emit, open_store, ts_text
from iotwarden.cli.files import write_file
from iotwarden.cli.main import app
from iotwarden.detect.pipeline import load_suppressions, parse_suppressions
from iotwarden.model.alert import ALERT_STATUSES, Alert

alerts_app = typer.Typer(help="List and manage alerts: acknowledge, close, suppress.")
app.add_typer(alerts_app, name="alerts")
SCHEMA = "iotwarden.alerts/1"
DEFAULT_RULES = Path("iotwarden-suppressions.yaml")


def _row(alert: Alert) -> dict[str, Any]:
    return {"row": alert.evidence.get("_row"), **alert.to_dict()}


def _table(alerts: list[Alert]) -> Table:
    table = Table(box=None, pad_edge=False)
    for col in ("id", "last seen", "severity", "status", "detector", "device", "count", "title"):
        table.add_column(col)
    for a in alerts:
        table.add_row(str(a.evidence.get("_row", "")), ts_text(a.last_seen), a.severity, a.status, a.id, a.subject,
                      str(a.count), a.title)
    return table


@alerts_app.callback(invoke_without_command=True)
def alerts_root(ctx: typer.Context, *, db: str | None = DB_OPTION, fmt: Format = FORMAT_OPTION,
                out: Path | None = OUTPUT_OPTION) -> None:
    """List and manage alerts (no subcommand: list the open ones)."""
    if ctx.invoked_subcommand is None:
        alerts_list(db=db, fmt=fmt, out=out)


@alerts_app.command("list")
def alerts_list(
    *,
    db: str | None = DB_OPTION,
    status: Annotated[str | None, typer.Option("--status", help="new, acknowledged or closed.")] = None,
    detector: Annotated[str | None, typer.Option("--detector", help="Detector id or prefix (detect.scan.).")] = None,
    device: Annotated[str | None, typer.Option("--device", help="Device key (mac:.. or ip:..).")] = None,
    suppressed: Annotated[bool, typer.Option("--suppressed", help="Include suppressed alerts.")] = False,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
) -> None:
    """List alerts, most recent activity first."""
    if status is not None and status not in ALERT_STATUSES:
        raise typer.BadParameter(f"one of {', '.join(ALERT_STATUSES)}", param_hint="--status")
    from iotwarden.store.alerts import list_alerts  # noqa: PLC0415 - the store's queries: not for --help

    with open_store(db) as store, store.session() as session:
        alerts = list_alerts(session, status=status, detector=detector, device=device, include_suppressed=suppressed)
    emit(fmt, {"schema": SCHEMA, "alerts": [_row(a) for a in alerts]}, lambda c: c.print(_table(alerts)), out)


@alerts_app.command("show")
def alerts_show(alert_id: int, *, db: str | None = DB_OPTION, fmt: Format = FORMAT_OPTION,
                out: Path | None = OUTPUT_OPTION) -> None:
    """One alert with its evidence (the flows and observations behind it)."""
    from iotwarden.store.alerts import get_alert, row_to_alert  # noqa: PLC0415

    with open_store(db) as store, store.session() as session:
        alert = row_to_alert(get_alert(session, alert_id))

    def render(console: Any) -> None:
        console.print(f"[bold]{alert.title}[/]  ({alert.id}, {alert.severity}, {alert.status})", highlight=False)
        console.print(f"device {alert.subject}  {alert.src_ip or ''} -> {alert.dst_ip or ''}  ATT&CK "
                      f"{', '.join(alert.mitre)}  seen {alert.count}x {ts_text(alert.first_seen)} .. "
                      f"{ts_text(alert.last_seen)}", highlight=False)
        for k, v in alert.evidence.items():
            console.print(f"  {k}: {v}", highlight=False)
        for f in alert.flows:
            console.print(f"  flow {f.get('a_ip')}:{f.get('a_port')} -> {f.get('b_ip')}:{f.get('b_port')} proto "
                          f"{f.get('ip_proto')} {f.get('app') or ''} bytes {f.get('bytes_ab')}/{f.get('bytes_ba')}",
                          highlight=False)
        for o in alert.observations:
            console.print(f"  {o.get('proto')} {o.get('kind')} {o.get('src_ip')} -> {o.get('dst_ip')} "
                          f"{o.get('fields')}", highlight=False)

    emit(fmt, {"schema": SCHEMA, "alert": {"row": alert_id, **alert.to_dict()}}, render, out)


def _move(alert_id: int, status: str, db: str | None) -> None:
    from iotwarden.store.alerts import set_status  # noqa: PLC0415

    with open_store(db) as store, store.transaction() as session:
        set_status(session, alert_id, status)
    typer.echo(f"alert {alert_id}: {status}")


@alerts_app.command("ack")
def alerts_ack(alert_id: int, *, db: str | None = DB_OPTION) -> None:
    """Acknowledge an alert (someone is on it)."""
    _move(alert_id, "acknowledged", db)


@alerts_app.command("close")
def alerts_close(alert_id: int, *, db: str | None = DB_OPTION) -> None:
    """Close an alert (a recurrence opens a new one)."""
    _move(alert_id, "closed", db)


@alerts_app.command("suppress")
def alerts_suppress(
    *,
    db: str | None = DB_OPTION,
    detector: Annotated[str | None, typer.Option("--detector", help="Detector id or glob (detect.scan.*).")] = None,
    device: Annotated[str | None, typer.Option("--device", help="Device key.")] = None,
    cidr: Annotated[str | None, typer.Option("--cidr", help="Source or destination network.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO 8601 time the rule expires.")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the rule).")] = "",
    rules: Annotated[Path, typer.Option("--rules", help="Suppression rules file to add the rule to (the file "
                                                        "`monitor --suppressions` reads).")] = DEFAULT_RULES,
) -> None:
    """Add a suppression rule and mark the open stored alerts it matches as suppressed."""
    if not (detector or device or cidr):
        raise typer.BadParameter("name at least one of --detector, --device, --cidr (what to suppress)")
    entry = {k: v for k, v in {"detector": detector, "device": device, "cidr": cidr, "until": until,
                               "reason": reason or None}.items() if v is not None}
    from iotwarden.store.alerts import suppress_matching  # noqa: PLC0415

    rule = parse_suppressions([entry], "the new rule")[0]
    existing = load_suppressions(rules) if rules.exists() else []
    data = {"suppressions": [r.to_dict() for r in [*existing, rule]]}
    with open_store(db) as store:  # opened first: a database that cannot be opened leaves the file as it was
        write_file(rules, yaml.safe_dump(data, sort_keys=False))
        with store.transaction() as session:
            changed = suppress_matching(session, [rule], now=time.time())
    typer.echo(f"rule added to {rules}; {changed} stored alerts suppressed")

