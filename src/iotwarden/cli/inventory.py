"""``iotwarden inventory import-approved FILE.csv``, ``inventory approved`` and ``inventory shadow``:
the approved inventory (docs/approved-inventory.md) and the devices it does not list (shadow IoT)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from iotwarden.cli.analyze import DB_OPTION, FORMAT_OPTION, OUTPUT_OPTION, Format, emit, open_store
from iotwarden.cli.main import app

inventory_app = typer.Typer(help="The approved inventory and shadow (unapproved) devices.")
app.add_typer(inventory_app, name="inventory")

CSV_ARGUMENT = typer.Argument(..., help="CSV with columns mac, ip, hostname, vendor, model, device_type, owner, "
                                        "location, notes (docs/approved-inventory.md).")


def _render_shadow(console: Console, d: dict[str, Any]) -> None:
    if "imported" in d:
        console.print(f"imported {d['imported']} approved entries from {d['file']}")
    if not d["approved"]:
        console.print("no approved inventory: import one with 'iotwarden inventory import-approved FILE.csv'")
        return
    console.print(f"{len(d['shadow'])} device(s) not in the approved inventory ({d['approved']} entries); "
                  f"{d['new_findings']} new finding(s), {d['resolved']} resolved")
    for key in d["shadow"]:
        console.print(f"  {key}")


@inventory_app.command("import-approved")
def import_approved(
    path: Path = CSV_ARGUMENT,
    *,
    db: str | None = DB_OPTION,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
) -> None:
    """Replace the approved inventory with FILE.csv and raise inventory.shadow_device for the others."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        result = inventory.import_approved(store, path)
    emit(fmt, {"schema": "iotwarden.shadow/1", **result}, lambda c: _render_shadow(c, result), out)


@inventory_app.command("shadow")
def shadow(*, db: str | None = DB_OPTION, fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """Check the stored devices against the approved inventory (after new captures were analysed)."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        result = inventory.check_shadow(store)
    emit(fmt, {"schema": "iotwarden.shadow/1", **result}, lambda c: _render_shadow(c, result), out)


@inventory_app.command("approved")
def approved(*, db: str | None = DB_OPTION, fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """List the approved inventory."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        rows = [asdict(e) for e in inventory.approved_entries(store)]

    def render(console: Console) -> None:
        table = Table(title=f"Approved inventory ({len(rows)})", title_justify="left")
        for col in ("mac", "ip", "hostname", "vendor", "model", "device_type", "owner", "location"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(*(r[c] or "" for c in ("mac", "ip", "hostname", "vendor", "model", "device_type", "owner",
                                                  "location")))
        console.print(table)

    emit(fmt, {"schema": "iotwarden.approved/1", "entries": rows}, render, out)
