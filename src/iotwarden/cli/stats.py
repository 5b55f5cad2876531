"""``iotwarden stats``: what was read, per capture and in total, from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from iotwarden.cli.analyze import DB_OPTION, FORMAT_OPTION, OUTPUT_OPTION, Format, emit, open_store
from iotwarden.cli.main import app
from iotwarden.services import inventory


def render_stats(console: Console, data: dict[str, Any]) -> None:
    caps = Table(title=f"Captures ({len(data['captures'])})", title_justify="left")
    for name in ("id", "file", "status", "packets", "bytes", "flows", "observations", "devices", "parse errors"):
        caps.add_column(name, overflow="fold",
                        justify="left" if name in ("file", "status") else "right")
    for c in data["captures"]:
        caps.add_row(str(c["id"]), c["path"], c["status"], str(c["packets"]), str(c["bytes"]), str(c["flows"]),
                     str(c["observations"]), str(c["devices"]), str(sum(c["parse_errors"].values())))
    console.print(caps)
    totals = data["totals"]
    protos = Table(title="Protocols (packets dissected / parse errors, all captures)", title_justify="left")
    for name in ("protocol", "packets", "parse errors"):
        protos.add_column(name, justify="left" if name == "protocol" else "right")
    for name in sorted(set(totals["protocols"]) | set(totals["parse_errors"])):
        protos.add_row(name, str(totals["protocols"].get(name, 0)), str(totals["parse_errors"].get(name, 0)))
    console.print(protos)
    store = data["store"]
    console.print(
        f"total: {totals['packets']} packets, {totals['bytes']} bytes, {totals['flows']} flows, "
        f"{totals['observations']} observations; store holds {store['devices']} devices, {store['flows']} flows, "
        f"{store['captures']} captures"
    )
    if totals["flows_not_stored"]:
        console.print(f"{totals['flows_not_stored']} scan probes were analysed but not stored "
                      "(past each file's --max-probe-flows)")


@app.command("stats")
def stats_command(db: str | None = DB_OPTION, fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """Packets, bytes, flows, per-protocol counts and parse errors, per capture and in total."""
    with open_store(db) as store:
        data = inventory.stats(store)
    emit(fmt, {"schema": "iotwarden.stats/1", **data}, lambda c: render_stats(c, data), out)
