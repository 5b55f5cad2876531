"""``iotwarden stats``: what was read, per capture and in total, from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from iotwarden.cli.analyze import DB_OPTION, FORMAT_OPTION, OUTPUT_OPTION, Format, emit, open_store
from iotwarden.cli.main import app

# parse errors: malformed messages on a flow its dissector had confirmed (or a link-layer frame); "not this
# protocol": a dissector's refusals of a flow's bytes before it confirmed the flow (another protocol on its
# port: DTLS on udp/443, TLS on tcp/80), the flow's failed service (docs/architecture.md, the engine)
NOT_THIS_PROTOCOL = "not this protocol"


def render_stats(console: Console, data: dict[str, Any]) -> None:
    caps = Table(title=f"Captures ({len(data['captures'])})", title_justify="left")
    for name in ("id", "file", "status", "packets", "bytes", "flows", "observations", "devices", "parse errors",
                 NOT_THIS_PROTOCOL):
        caps.add_column(name, overflow="fold",
                        justify="left" if name in ("file", "status") else "right")
    for c in data["captures"]:
        rejected = c["rejected_before_confirmation"]
        caps.add_row(str(c["id"]), c["path"], c["status"], str(c["packets"]), str(c["bytes"]), str(c["flows"]),
                     str(c["observations"]), str(c["devices"]), str(sum(c["parse_errors"].values())),
                     str(sum(rejected.values())))
    console.print(caps)
    totals = data["totals"]
    rejected = totals["rejected_before_confirmation"]
    protos = Table(title="Protocols (all captures)", title_justify="left")
    for name in ("protocol", "packets", "parse errors", NOT_THIS_PROTOCOL):
        protos.add_column(name, justify="left" if name == "protocol" else "right")
    for name in sorted(set(totals["protocols"]) | set(totals["parse_errors"]) | set(rejected)):
        protos.add_row(name, str(totals["protocols"].get(name, 0)), str(totals["parse_errors"].get(name, 0)),
                       str(rejected.get(name, 0)))
    console.print(protos)
    if any(rejected.values()):
        console.print("not this protocol: a dissector refused a flow's bytes before it had confirmed the flow "
                      "(another protocol on its port; the flow keeps it as a failed service), not malformed messages")
    decode = totals.get("decode_errors") or {}
    if decode:
        frames = Table(title="Decode problems (all captures): frames not read as packets, TCP gaps",
                       title_justify="left")
        frames.add_column("reason")
        frames.add_column("count", justify="right")
        for name, count in sorted(decode.items(), key=lambda kv: (-kv[1], kv[0])):
            frames.add_row(name, str(count))
        console.print(frames)
        if decode.get("wlan_protected"):
            console.print("wlan_protected: encrypted 802.11 data frames; decrypt the capture with the network's "
                          "passphrase (e.g. airdecap-ng) to read them")
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
    """Packets, bytes, flows, per-protocol counts, parse errors and refusals of another protocol's bytes
    ("not this protocol"), per capture and in total, and the decode problems (frames not read as packets), by reason."""
    from iotwarden.services import inventory  # noqa: PLC0415 - the store and classifier: when run

    with open_store(db) as store:
        data = inventory.stats(store)
    emit(fmt, {"schema": "iotwarden.stats/1", **data}, lambda c: render_stats(c, data), out)
