"""``iotwarden devices [list]``, ``devices show ID``, ``devices explain ID``, ``devices diff`` and ``devices
merge A B``: the inventory from the store, why the classifier concluded what it did, what changed between
runs, and two records an analyst knows are one device made one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from iotwarden.cli.analyze import (
    DB_OPTION,
    FORMAT_OPTION,
    OUTPUT_OPTION,
    Format,
    device_table,
    emit,
    open_store,
    ts_text,
)
from iotwarden.cli.flows import flow_table
from iotwarden.cli.main import app

devices_app = typer.Typer(help="List and inspect the devices found so far.")
app.add_typer(devices_app, name="devices")

PROTO_OPTION = typer.Option(None, "--proto", help="Only devices that spoke this protocol (dhcp, mdns, tls, ...).")
SEARCH_OPTION = typer.Option(
    None, "--search", "-s", help="Only devices with this text in a key, MAC, IP, name or attribute."
)


VENDOR_OPTION = typer.Option(None, "--vendor", help="Only devices of this vendor (as concluded; any case).")
TYPE_OPTION = typer.Option(None, "--type", help="Only devices of this type or a finer kind of it (camera, plc, ...).")
CATEGORY_OPTION = typer.Option(None, "--category", help="Only devices of this category (iot, ot, it, network, "
                                                        "medical, building).")
RISK_OPTION = typer.Option(None, "--risk", help="Only devices at this risk band or worse (critical, high, medium, "
                                                "low).")


def _list(db: str | None, fmt: Format, out: Path | None, **filters: str | None) -> None:
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        rows = inventory.list_devices(store, **filters)
    emit(fmt, {"schema": "iotwarden.devices/1", "devices": rows}, lambda c: c.print(device_table(rows)), out)


@devices_app.callback(invoke_without_command=True)
def devices_root(
    ctx: typer.Context,
    *,
    db: str | None = DB_OPTION,
    proto: str | None = PROTO_OPTION,
    search: str | None = SEARCH_OPTION,
    vendor: str | None = VENDOR_OPTION,
    device_type: str | None = TYPE_OPTION,
    category: str | None = CATEGORY_OPTION,
    risk: str | None = RISK_OPTION,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
) -> None:
    """List and inspect the devices found so far (no subcommand: list)."""
    if ctx.invoked_subcommand is None:
        _list(db, fmt, out, proto=proto, search=search, vendor=vendor, device_type=device_type, category=category,
              min_risk=risk)


@devices_app.command("list")
def devices_list(
    *,
    db: str | None = DB_OPTION,
    proto: str | None = PROTO_OPTION,
    search: str | None = SEARCH_OPTION,
    vendor: str | None = VENDOR_OPTION,
    device_type: str | None = TYPE_OPTION,
    category: str | None = CATEGORY_OPTION,
    risk: str | None = RISK_OPTION,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
) -> None:
    """List devices (vendor, model, type, category, risk), optionally filtered."""
    _list(db, fmt, out, proto=proto, search=search, vendor=vendor, device_type=device_type, category=category,
          min_risk=risk)


def _render_device(console: Console, d: dict[str, Any]) -> None:
    if d.get("merged"):
        m = d["merged"]
        console.print(f"{m['key']} was merged into {m['into']} on {ts_text(m['merged_at'])} ({m['reason']})")
    head = Table(title=f"Device {d['key']}", title_justify="left", show_header=False)
    head.add_column("field")
    head.add_column("value", overflow="fold")
    for name in ("mac", "ips", "hostnames", "protocols"):
        value = d[name]
        head.add_row(name, ", ".join(value) if isinstance(value, list) else str(value or ""))
    head.add_row("first seen", ts_text(d["first_seen"]))
    head.add_row("last seen", ts_text(d["last_seen"]))
    head.add_row("packets / bytes", f"{d['packets']} / {d['bytes']}")
    for name in ("vendor", "model", "device_type", "category", "os", "os_version", "firmware"):
        found = (d.get("classification") or {}).get(name)
        if found:
            head.add_row(name.replace("_", " "), f"{found['value']}  (confidence {found['confidence']:.2f})")
    if d.get("risk"):
        head.add_row("risk", f"{d['risk']['band']} {d['risk']['score']:g}")
    if d.get("aliases"):
        head.add_row("merged from", "\n".join(f"{a['key']} ({a['reason']}, {ts_text(a['merged_at'])})"
                                              for a in d["aliases"]))
    for name, values in d["attributes"].items():
        head.add_row(name, "\n".join(values))
    console.print(head)
    if d.get("findings"):
        found = Table(title="Findings", title_justify="left")
        for name in ("severity", "check", "title", "status", "last seen"):
            found.add_column(name, overflow="fold")
        for f in d["findings"]:
            found.add_row(f["severity"], f["check"], f["title"], f["status"], ts_text(f["last_seen"]))
        console.print(found)
    if d.get("alerts"):
        raised = Table(title="Alerts", title_justify="left")
        for name in ("id", "severity", "detector", "title", "status", "count", "last seen"):
            raised.add_column(name, overflow="fold", justify="right" if name in ("id", "count") else "left")
        for a in d["alerts"]:
            raised.add_row(str(a["row_id"] or ""), a["severity"], a["detector"], a["title"], a["status"],
                           str(a["count"]), ts_text(a["last_seen"]))
        console.print(raised)
    if d["ip_history"]:
        hist = Table(title="Addresses", title_justify="left")
        tagged = any(h["domain"] for h in d["ip_history"])  # the broadcast domain column for a trunk's addresses
        for name in ("ip", *(("domain",) if tagged else ()), "first seen", "last seen"):
            hist.add_column(name)
        for h in d["ip_history"]:
            hist.add_row(h["ip"], *((h["domain"] or "untagged",) if tagged else ()), ts_text(h["first_seen"]),
                         ts_text(h["last_seen"]))
        console.print(hist)
    if d["evidence"]:
        ev = Table(title="Evidence", title_justify="left")
        for name in ("proto", "kind", "field", "value", "count", "last seen"):
            ev.add_column(name, overflow="fold", justify="right" if name == "count" else "left")
        for e in d["evidence"]:
            ev.add_row(e["proto"], e["kind"], e["field"], e["value"], str(e["count"]), ts_text(e["last_seen"]))
        console.print(ev)
    if d["flows"]:
        console.print(flow_table(d["flows"], title="Recent flows"))


@devices_app.command("show")
def devices_show(
    ident: str = typer.Argument(..., help="Device key, unique key prefix, MAC or IP address."),
    *,
    db: str | None = DB_OPTION,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
) -> None:
    """Everything known about one device."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        device = inventory.show_device(store, ident)
    emit(fmt, {"schema": "iotwarden.device/1", "device": device}, lambda c: _render_device(c, device), out)


def _render_explain(console: Console, d: dict[str, Any]) -> None:
    tree = Tree(f"[bold]{d['key']}[/bold]  {', '.join(d['ips'])}  {', '.join(d['hostnames'])}")
    for name, c in d["conclusions"].items():
        branch = tree.add(f"[bold]{name}[/bold] = {c['value']}  (confidence {c['confidence']:.2f})")
        table = Table(show_edge=False, pad_edge=False)
        for col in ("", "rule", "attribute", "value", "concludes", "weight", "reference"):
            table.add_column(col, overflow="fold", justify="right" if col == "weight" else "left")
        for e in c["evidence"]:
            table.add_row("+" if e.get("agrees") else "-", str(e.get("rule_id", "")), str(e.get("attribute", "")),
                          str(e.get("value", "")), str(e.get("concludes", "")), f"{float(e.get('weight', 0)):.2f}",
                          str(e.get("reference", "")))
        branch.add(table)
    if d["unknown"]:
        tree.add(f"unknown (not enough evidence): {', '.join(d['unknown'])}")
    console.print(tree)


@devices_app.command("explain")
def devices_explain(
    ident: str = typer.Argument(..., help="Device key, unique key prefix, MAC or IP address."),
    *,
    db: str | None = DB_OPTION,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
) -> None:
    """Why a device was classified as it was: each conclusion with its evidence (+ agrees, - disagrees)."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        found = inventory.explain_device(store, ident)
    emit(fmt, {"schema": "iotwarden.explain/1", "device": found}, lambda c: _render_explain(c, found), out)


def _render_diff(console: Console, d: dict[str, Any]) -> None:
    console.print(f"[bold]Devices: run {d['from']} -> run {d['to']}[/bold]  "
                  f"{len(d['new'])} new, {len(d['gone'])} gone, {len(d['changed'])} changed")
    for title, rows in (("New", d["new"]), ("Gone", d["gone"])):
        if not rows:
            continue
        table = Table(title=f"{title} ({len(rows)})", title_justify="left")
        for col in ("key", "vendor", "type", "category", "ips", "hostnames"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(r["key"], r.get("vendor") or "", r.get("device_type") or "", r.get("category") or "",
                          ", ".join(r.get("ips") or []), ", ".join(r.get("hostnames") or []))
        console.print(table)
    if d["changed"]:
        table = Table(title=f"Changed ({len(d['changed'])})", title_justify="left")
        for col in ("key", "fact", "from", "to"):
            table.add_column(col, overflow="fold")
        for r in d["changed"]:
            for fact, c in r["changes"].items():
                old, new = c["from"], c["to"]
                table.add_row(r["key"], fact, ", ".join(old) if isinstance(old, list) else str(old or ""),
                              ", ".join(new) if isinstance(new, list) else str(new or ""))
        console.print(table)


@devices_app.command("diff")
def devices_diff(
    *,
    from_run: int | None = typer.Option(None, "--from", help="Earlier run (capture id; default: the one before --to)."),
    to_run: int | None = typer.Option(None, "--to", help="Later run (capture id; default: the last one)."),
    db: str | None = DB_OPTION,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
) -> None:
    """New, gone and changed devices (classification, IPs, hostnames) between two analysed captures."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        found = inventory.devices_diff(store, from_run=from_run, to_run=to_run)
    emit(fmt, {"schema": "iotwarden.devices-diff/1", **found}, lambda c: _render_diff(c, found), out)


def _render_merge(console: Console, d: dict[str, Any]) -> None:
    if d["already"]:
        console.print(f"{d['alias']} was already merged into {d['into']}: nothing to do")
        return
    console.print(f"merged {d['alias']} into {d['into']}")
    table = Table(title="Moved or merged", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in sorted(d["moved"].items()):
        table.add_row(name, str(count))
    console.print(table)
    for name, count in sorted(d.get("dropped", {}).items()):
        console.print(f"[yellow]{count} {name} rows of {d['alias']} dropped: {d['into']} is at its storage limit "
                      "(the most often seen were kept)[/yellow]")


@devices_app.command("merge")
def devices_merge(
    alias: str = typer.Argument(..., help="Key of the device to merge away (it stays a name of the other)."),
    into: str = typer.Argument(..., help="Key of the device that keeps everything of both."),
    *,
    db: str | None = DB_OPTION,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
) -> None:
    """Two stored records of one device made one: everything of ALIAS (addresses, evidence, findings, alerts,
    cases, tags, certificates, ...) moves to INTO, which is classified again over both; ALIAS then names INTO."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        done = inventory.merge_device(store, alias, into)
    emit(fmt, {"schema": "iotwarden.device-merge/1", **done}, lambda c: _render_merge(c, done), out)
