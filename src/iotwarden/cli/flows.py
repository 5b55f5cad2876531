"""``iotwarden flows``: stored flows, filtered by device, protocol or port."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from iotwarden.cli.analyze import DB_OPTION, FORMAT_OPTION, OUTPUT_OPTION, Format, emit, open_store, ts_text
from iotwarden.cli.main import app
from iotwarden.store.limits import DEFAULT_FLOW_LIMIT

PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6"}


def flow_table(flows: list[dict[str, Any]], title: str = "Flows") -> Table:
    table = Table(title=f"{title} ({len(flows)})", title_justify="left")
    for name in ("first seen", "proto", "app", "initiator", "responder", "packets", "bytes", "duration"):
        table.add_column(name, justify="right" if name in ("packets", "bytes", "duration") else "left")
    for f in flows:
        table.add_row(
            ts_text(f["first_seen"]), PROTO_NAMES.get(f["ip_proto"], str(f["ip_proto"])), f["app"] or "",
            _end(f["a_ip"], f["a_port"]), _end(f["b_ip"], f["b_port"]),
            f"{f['pkts_ab']}/{f['pkts_ba']}", f"{f['bytes_ab']}/{f['bytes_ba']}",
            f"{f['last_seen'] - f['first_seen']:.1f}s",
        )
    return table


def _end(ip: str, port: int) -> str:
    if not port:
        return ip
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


@app.command("flows")
def flows_command(
    *,
    device: str | None = typer.Option(None, "--device", "-d", help="Only flows of this device (key, MAC or IP)."),
    proto: str | None = typer.Option(None, "--proto", help="tcp, udp, icmp, an IP protocol number or an app (http)."),
    port: int | None = typer.Option(None, "--port", help="Only flows with this port at either end.", min=0, max=65535),
    limit: int = typer.Option(DEFAULT_FLOW_LIMIT, "--limit", "-n", help="At most this many (newest first).",
                              min=1),
    db: str | None = DB_OPTION,
    fmt: Format = FORMAT_OPTION,
    out: Path | None = OUTPUT_OPTION,
) -> None:
    """List stored flows, newest first."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        flows = inventory.list_flows(store, device=device, proto=proto, port=port, limit=limit)
    emit(fmt, {"schema": "iotwarden.flows/1", "flows": flows}, lambda c: c.print(flow_table(flows)), out)
