"""Read models of the console: one device in full, the network map, the dashboard, as JSON-ready dicts.

The API returns them as they are and the web templates render them, so both show the same facts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, cast, func, or_, select
from sqlalchemy.orm import Session

from iotwarden.api import devicequery as dq
from iotwarden.api.riskband import bands_of
from iotwarden.model import CLASSIFIED_FIELDS
from iotwarden.report.document import subnet_group
from iotwarden.report.layout import layout
from iotwarden.services.inventory import device_dict, flow_dict
from iotwarden.store import queries as q
from iotwarden.store.alert_models import AlertRow, ApprovalRow, FindingRow
from iotwarden.store.schema import DeviceIpRow, DeviceRow, FlowRow

DEVICE_FLOWS = 50  # recent flows shown on a device page
DEVICE_PEERS = 50  # peers listed under a device's communications
MAX_TIMELINE = 200  # events on a device's timeline
MAX_MAP_NODES = 300  # devices drawn on the map (the busiest ones)
MAX_MAP_EDGES = 1500  # conversations drawn between them (the largest ones)
MAP_WIDTH, MAP_HEIGHT = 1000.0, 620.0  # the canvas the node positions are given on
DASHBOARD_DAYS = 30  # days of findings and alerts on the dashboard chart
DAY = 86400.0


def finding_dict(row: FindingRow) -> dict[str, Any]:
    return {"id": row.id, "check_id": row.check_id, "title": row.title, "severity": row.severity,
            "device_key": row.device_key, "evidence": row.evidence, "remediation": row.remediation,
            "references": list(row.references), "status": row.status, "first_seen": row.first_seen,
            "last_seen": row.last_seen}


def alert_dict(row: AlertRow) -> dict[str, Any]:
    return {"id": row.id, "detector_id": row.detector_id, "title": row.title, "severity": row.severity,
            "device_key": row.device_key, "evidence": row.evidence, "status": row.status,
            "suppressed": row.suppressed, "created": row.created, "updated": row.updated, "count": row.count}


def facets_of(row: DeviceRow, derived: dict[str, str] | None = None) -> dict[str, list[str]]:
    """The facets a device has values for (column value, else the attributes that state it; ``derived``:
    the risk band and zone, see :func:`derived_facets`)."""
    out: dict[str, list[str]] = {}
    for facet in dq.FACETS.values():
        if facet.derived:
            if derived and derived.get(facet.name):
                out[facet.name] = [derived[facet.name]]
            continue
        value = getattr(row, facet.column, None)
        if value is not None:
            out[facet.name] = [str(value)]
            continue
        values = sorted({v for a in facet.attributes for v in row.attributes.get(a, [])})
        if values:
            out[facet.name] = values
    return out


def derived_facets(session: Session, rows: list[DeviceRow], derived: dq.Derived | None) -> dict[str, dict[str, str]]:
    """Device key -> its risk band and, under a saved policy, its zone (one query for the page)."""
    bands = bands_of(session, [r.key for r in rows])
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        values = {"risk": bands[r.key]}
        zone = derived.zones.zone_of.get(r.key) if derived is not None else None
        if zone:
            values["zone"] = zone
        out[r.key] = values
    return out


def device_summary(row: DeviceRow, derived: dict[str, str] | None = None) -> dict[str, Any]:
    return {**device_dict(row), "facets": facets_of(row, derived)}


def summaries(session: Session, rows: list[DeviceRow], derived: dq.Derived | None) -> list[dict[str, Any]]:
    """The list entries of ``rows``, derived facets included."""
    facts = derived_facets(session, rows, derived)
    return [device_summary(r, facts[r.key]) for r in rows]


def _peers(session: Session, ips: list[str]) -> list[dict[str, Any]]:
    """Who a device talks to: the other end of its flows, aggregated, most bytes first."""
    if not ips:
        return []
    totals: dict[tuple[str, int, int, str | None], list[int]] = defaultdict(lambda: [0, 0, 0])
    for side, other, port in (("a", FlowRow.b_ip, FlowRow.b_port), ("b", FlowRow.a_ip, FlowRow.b_port)):
        mine = FlowRow.a_ip if side == "a" else FlowRow.b_ip
        stmt = (select(other, FlowRow.ip_proto, port, FlowRow.app, func.count(),
                       func.sum(FlowRow.bytes_ab + FlowRow.bytes_ba), func.max(FlowRow.last_seen))
                .where(mine.in_(ips)).group_by(other, FlowRow.ip_proto, port, FlowRow.app))
        for peer, proto, svc_port, app, n, nbytes, last in session.execute(stmt):
            acc = totals[(peer, proto, svc_port, app)]
            acc[0] += int(n)
            acc[1] += int(nbytes or 0)
            acc[2] = max(acc[2], int(last or 0))
    ranked = sorted(totals.items(), key=lambda kv: -kv[1][1])[:DEVICE_PEERS]
    return [{"peer": k[0], "ip_proto": k[1], "port": k[2], "app": k[3], "flows": v[0], "bytes": v[1],
             "last_seen": float(v[2])} for k, v in ranked]


def device_detail(session: Session, row: DeviceRow, derived: dq.Derived | None = None) -> dict[str, Any]:
    """Identity, evidence, communications, findings, alerts, timeline and approval of one device."""
    out = summaries(session, [row], derived)[0]
    history = q.device_ip_history(session, row.key)
    evidence = q.device_evidence(session, row.key)
    out["ip_history"] = [{"ip": h.ip, "first_seen": h.first_seen, "last_seen": h.last_seen} for h in history]
    out["evidence"] = [{"proto": e.proto, "kind": e.kind, "field": e.field, "value": e.value,
                        "first_seen": e.first_seen, "last_seen": e.last_seen, "count": e.count} for e in evidence]
    out["flows"] = [flow_dict(f) for f in q.list_flows(session, device=row, limit=DEVICE_FLOWS)]
    found = dict(row.classification or {})  # why: each conclusion with its confidence and evidence
    out["conclusions"] = {name: found[name] for name in CLASSIFIED_FIELDS if name in found}
    out["unknown"] = [name for name in CLASSIFIED_FIELDS if name not in found]
    out["peers"] = _peers(session, [h.ip for h in history] or list(row.ips))
    findings = list(session.scalars(select(FindingRow).where(FindingRow.device_key == row.key)
                                    .order_by(FindingRow.last_seen.desc()).limit(MAX_TIMELINE)))
    alerts = list(session.scalars(select(AlertRow).where(AlertRow.device_key == row.key)
                                  .order_by(AlertRow.created.desc()).limit(MAX_TIMELINE)))
    out["findings"] = [finding_dict(f) for f in findings]
    out["alerts"] = [alert_dict(a) for a in alerts]
    approval = session.get(ApprovalRow, row.key)
    out["approved"] = None if approval is None else {
        "approved_by": approval.approved_by, "approved_at": approval.approved_at, "note": approval.note}
    events: list[dict[str, Any]] = [{"ts": row.first_seen, "kind": "first_seen", "text": "first seen"}]
    events += [{"ts": h.first_seen, "kind": "address", "text": f"uses {h.ip}"} for h in history]
    events += [{"ts": e.first_seen, "kind": "evidence", "text": f"{e.proto} {e.field} = {e.value}"}
               for e in evidence]
    events += [{"ts": f.first_seen, "kind": "finding", "text": f.title} for f in findings]
    events += [{"ts": a.created, "kind": "alert", "text": a.title} for a in alerts]
    events.append({"ts": row.last_seen, "kind": "last_seen", "text": "last seen"})
    out["timeline"] = sorted(events, key=lambda e: e["ts"])[:MAX_TIMELINE]
    return out


def _group_of(row: DeviceRow, derived: dq.Derived | None) -> str:
    """The map group of a device: its zone under the saved policy, else the subnet of its first address."""
    zone = derived.zones.zone_of.get(row.key) if derived is not None else None
    return f"zone {zone}" if zone else subnet_group(row.ips)


def network_map(session: Session, flt: dq.DeviceFilter | None = None,
                derived: dq.Derived | None = None) -> dict[str, Any]:
    """Devices (the busiest :data:`MAX_MAP_NODES`), their groups (zones under the saved policy, else
    subnets), and who talks to whom."""
    conds = dq.where(flt, session.get_bind().dialect.name, derived) if flt else []
    rows = list(session.scalars(select(DeviceRow).where(*conds).order_by(DeviceRow.bytes.desc(), DeviceRow.id)
                                .limit(MAX_MAP_NODES)))
    keys = {r.key for r in rows}
    owner: dict[str, str] = {}
    for r in rows:
        for ip in r.ips:
            owner.setdefault(ip, r.key)
    for chunk_start in range(0, len(rows), 500):
        chunk = [r.key for r in rows[chunk_start:chunk_start + 500]]
        for key, ip in session.execute(select(DeviceIpRow.device_key, DeviceIpRow.ip)
                                       .where(DeviceIpRow.device_key.in_(chunk))):
            owner.setdefault(ip, key)
    groups = sorted({_group_of(r, derived) for r in rows})
    facts = derived_facets(session, rows, derived)
    nodes = [{"id": r.key, "label": (r.hostnames[0] if r.hostnames else (r.ips[0] if r.ips else r.key)),
              "group": _group_of(r, derived), "ips": list(r.ips), "bytes": r.bytes,
              "facets": facets_of(r, facts[r.key])} for r in rows]
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    ips = list(owner)
    stmt = (select(FlowRow.a_ip, FlowRow.b_ip, func.count(), func.sum(FlowRow.bytes_ab + FlowRow.bytes_ba))
            .group_by(FlowRow.a_ip, FlowRow.b_ip)
            .order_by(func.sum(FlowRow.bytes_ab + FlowRow.bytes_ba).desc()))
    if len(ips) <= 900:  # keep the IN list under SQLite's parameter limit; else scan all pairs
        stmt = stmt.where(or_(FlowRow.a_ip.in_(ips), FlowRow.b_ip.in_(ips)))
    for a_ip, b_ip, n, nbytes in session.execute(stmt):
        a, b = owner.get(a_ip), owner.get(b_ip)
        if a is None or b is None or a == b or a not in keys or b not in keys:
            continue
        pair = (a, b) if a < b else (b, a)
        edge = edges.setdefault(pair, {"source": pair[0], "target": pair[1], "flows": 0, "bytes": 0})
        edge["flows"] += int(n)
        edge["bytes"] += int(nbytes or 0)
        if len(edges) >= MAX_MAP_EDGES:
            break
    drawn = list(edges.values())
    # weights by order of magnitude: a live site's byte counts move all the time, its layout need not
    weights = tuple((e["source"], e["target"], float(10 ** round(math.log10(e["bytes"] + 1)))) for e in drawn)
    for node, (x, y) in zip(nodes, _positions(tuple(n["id"] for n in nodes), tuple(n["group"] for n in nodes),
                                              weights), strict=True):
        node["x"], node["y"] = x, y
    return {"groups": groups, "nodes": nodes, "edges": drawn, "width": MAP_WIDTH, "height": MAP_HEIGHT,
            "truncated": len(rows) >= MAX_MAP_NODES, "policy": derived.zones.policy if derived is not None else None}


@lru_cache(maxsize=8)
def _positions(ids: tuple[str, ...], groups: tuple[str, ...],
               edges: tuple[tuple[str, str, float], ...]) -> list[tuple[float, float]]:
    """Where the console draws each node: the report's grouped layout (report/layout.py), so a subnet or zone
    is one cluster, deterministic for the same map; the last few maps are kept (each costs O(n^2) steps)."""
    pos = layout(ids, edges, width=MAP_WIDTH, height=MAP_HEIGHT, groups=groups)
    return [pos[i] for i in ids]


def dashboard(session: Session, cache: dq.FacetCache | None = None,
              derived: dq.Derived | None = None) -> dict[str, Any]:
    """Devices by facet and protocol, open findings and alerts by severity, both per day."""
    counted = (cache or dq.FacetCache(ttl_s=0)).get(session, derived)
    facets = {name: {"source": dq.facet_source(f), "values": dict(counted[name])} for name, f in dq.FACETS.items()}
    sev_f = dict(session.execute(select(FindingRow.severity, func.count()).where(FindingRow.status == "open")
                                 .group_by(FindingRow.severity)).all())
    sev_a = dict(session.execute(select(AlertRow.severity, func.count())
                                 .where(AlertRow.status != "closed", AlertRow.suppressed.is_(False))
                                 .group_by(AlertRow.severity)).all())
    return {
        "devices": int(session.scalar(select(func.count()).select_from(DeviceRow)) or 0),
        "approved": int(session.scalar(select(func.count()).select_from(ApprovalRow)) or 0),
        "facets": facets,
        "protocols": dict(counted["protocol"]),
        "open_findings": {str(k): int(v) for k, v in sev_f.items()},
        "open_alerts": {str(k): int(v) for k, v in sev_a.items()},
        "findings_per_day": _per_day(session, FindingRow.first_seen),
        "alerts_per_day": _per_day(session, AlertRow.created),
    }


def _per_day(session: Session, column: Any) -> list[dict[str, Any]]:
    """Rows per UTC day over the last :data:`DASHBOARD_DAYS` days that have any (by the newest row)."""
    newest = session.scalar(select(func.max(column)))
    if newest is None:
        return []
    since = (float(newest) // DAY - DASHBOARD_DAYS + 1) * DAY
    day = cast(column / DAY, Integer)  # whole days since the epoch (times are positive)
    stmt = select(day, func.count()).where(column >= since).group_by(day).order_by(day)
    return [{"day": float(d) * DAY, "count": int(n)} for d, n in session.execute(stmt)]
