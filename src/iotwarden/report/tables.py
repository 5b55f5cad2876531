"""Rich terminal tables of the report: the summary, the riskiest devices and the findings."""

from __future__ import annotations

from typing import Any

from rich.table import Table

SEVERITY_STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan",
                   "info": "dim", "none": "green"}
MAX_ROWS = 50  # rows per terminal table; the JSON and HTML formats list everything


def _style(level: str) -> str:
    return f"[{SEVERITY_STYLES.get(level, '')}]{level}[/]" if level in SEVERITY_STYLES else level


def summary_table(report: dict[str, Any]) -> Table:
    s = report["summary"]
    table = Table(title="Summary", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row("devices", str(s["devices"]))
    table.add_row("findings", str(s["findings"]))
    table.add_row("fleet risk score", f"{s['fleet_score']} ({_style(s['fleet_band'])})")
    for name in ("devices_by_category", "devices_by_risk_band", "findings_by_severity"):
        table.add_row(name.replace("_", " "), ", ".join(f"{k} {v}" for k, v in s[name].items() if v))
    return table


def devices_table(devices: list[dict[str, Any]]) -> Table:
    shown = devices[:MAX_ROWS]
    title = f"Devices by risk ({len(shown)} of {len(devices)})"
    table = Table(title=title, title_justify="left")
    for name in ("device", "ips", "vendor", "type", "category", "risk", "findings"):
        table.add_column(name, overflow="fold", justify="right" if name in ("risk", "findings") else "left")
    for d in shown:
        table.add_row(f"{d['label']}\n[dim]{d['key']}[/]", ", ".join(d["ips"][:3]), d["vendor"] or "",
                      d["device_type"] or "", d["category"] or "", f"{d['risk_score']} {_style(d['risk_band'])}",
                      str(d["findings"]))
    return table


def findings_table(findings: list[dict[str, Any]]) -> Table:
    shown = findings[:MAX_ROWS]
    table = Table(title=f"Findings ({len(shown)} of {len(findings)})", title_justify="left")
    for name in ("severity", "check", "device", "title", "status"):
        table.add_column(name, overflow="fold")
    for f in shown:
        table.add_row(_style(f["severity"]), f["id"], f["subject"], f["title"], f.get("status", "open"))
    return table


def report_tables(report: dict[str, Any]) -> list[Table]:
    return [summary_table(report), devices_table(report["devices"]), findings_table(report["findings"])]
