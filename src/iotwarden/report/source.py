"""Reading what a report needs from the store: devices (with the classifier's columns when the schema
has them), stored findings and their status, and flows summed into map edges in SQL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from iotwarden.inventory.addresses import local_ip
from iotwarden.model.finding import Finding
from iotwarden.report.document import CLASSIFIED, INTERNET, Edge, build
from iotwarden.store import Store
from iotwarden.store.db import redact
from iotwarden.store.findings import list_findings, row_to_finding
from iotwarden.store.schema import DeviceIpRow, DeviceRow, FlowRow

MAX_REPORT_DEVICES = 100_000  # devices read into one report
MAX_REPORT_FINDINGS = 100_000  # findings read into one report
MAX_EDGE_ROWS = 200_000  # (a_ip, b_ip) pairs read from the flow table, busiest first
MAX_ADDRESS_ROWS = 1_000_000  # device address-history rows read to map flow addresses to devices


def classification_of(row: Any) -> dict[str, dict[str, Any]]:
    """The classification of a device row: its ``classification`` JSON column when the schema has one
    (``{field: {"value", "confidence", "evidence"}}``), else plain per-field columns when present."""
    stored = getattr(row, "classification", None)
    if isinstance(stored, Mapping):
        return {k: dict(v) for k, v in stored.items() if isinstance(v, Mapping) and v.get("value")}
    out: dict[str, dict[str, Any]] = {}
    for name in CLASSIFIED:
        value = getattr(row, name, None)
        if isinstance(value, str) and value:
            confidence = getattr(row, f"{name}_confidence", None)
            out[name] = {"value": value, "confidence": confidence}
    return out


def device_dicts(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(DeviceRow).order_by(DeviceRow.key).limit(MAX_REPORT_DEVICES))
    return [
        {"key": r.key, "mac": r.mac, "ips": list(r.ips or []), "hostnames": list(r.hostnames or []),
         "protocols": list(r.protocols or []), "packets": r.packets, "bytes": r.bytes,
         "first_seen": r.first_seen, "last_seen": r.last_seen, "classification": classification_of(r)}
        for r in rows
    ]


def _peer(ip: str, owners: Mapping[str, str]) -> str | None:
    """The map node of a flow address; None for group or unspecified addresses (no host talks there)."""
    if ip in owners:
        return owners[ip]
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return f"ip:{ip}"
    if addr.is_multicast or addr.is_unspecified or ip == "255.255.255.255":
        return None
    return f"ip:{ip}" if local_ip(ip) or addr.is_loopback else INTERNET


def edges(session: Session, devices: list[dict[str, Any]]) -> list[Edge]:
    """Flows summed per address pair (in SQL), then per pair of map nodes."""
    owners: dict[str, str] = {}
    for ip, key in session.execute(select(DeviceIpRow.ip, DeviceIpRow.device_key).limit(MAX_ADDRESS_ROWS)):
        owners.setdefault(ip, key)
    for d in devices:
        for ip in d["ips"]:
            owners.setdefault(ip, d["key"])
    total = func.sum(FlowRow.bytes_ab + FlowRow.bytes_ba)
    stmt = (select(FlowRow.a_ip, FlowRow.b_ip, total, func.count(), func.min(FlowRow.app), func.max(FlowRow.app))
            .group_by(FlowRow.a_ip, FlowRow.b_ip).order_by(total.desc()).limit(MAX_EDGE_ROWS))
    merged: dict[tuple[str, str], Edge] = {}
    for a_ip, b_ip, nbytes, count, app_lo, app_hi in session.execute(stmt):
        a, b = _peer(a_ip, owners), _peer(b_ip, owners)
        if a is None or b is None or a == b:
            continue
        pair = (a, b) if a < b else (b, a)
        edge = merged.setdefault(pair, Edge(*pair))
        edge.bytes += int(nbytes or 0)
        edge.flows += int(count or 0)
        edge.apps.update(x for x in (app_lo, app_hi) if x)
    return list(merged.values())


def report_from_store(store: Store, *, generated_at: float | None = None) -> dict[str, Any]:
    """The whole report of what ``store`` holds."""
    with store.session() as session:
        devices = device_dicts(session)
        rows = list_findings(session, limit=MAX_REPORT_FINDINGS)
        findings: list[Finding] = [row_to_finding(r) for r in rows]
        statuses = {(r.check_id, r.device_key): r.status for r in rows}
        graph = edges(session, devices)
    source = {"database": redact(store.url), "devices_limit": MAX_REPORT_DEVICES}
    return build(devices, findings, graph, statuses=statuses, source=source, generated_at=generated_at)
