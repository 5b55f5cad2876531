"""Read models of the console: one device in full, the network map, the dashboard, as JSON-ready dicts.

The API returns them as they are and the web templates render them, so both show the same facts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, cast, func, or_, select
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
INNER_SCALE, RING_RADIUS = 0.6, 0.9  # one group's map: its devices in the middle 60%, other groups on a ring
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
    out["ip_history"] = [{"ip": h.ip, "domain": h.domain, "first_seen": h.first_seen, "last_seen": h.last_seen}
                         for h in history]
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


def _subnet_prefilter(group: str) -> Any:
    """A cheap SQL test a device of map group ``group`` passes (an address of the subnet in its list); the
    exact test is :func:`_group_of`. True (no test) for zones and the other groups."""
    name = group.removeprefix("subnet ")
    if name == group or ":" in name or not name.endswith(".0/24"):
        return None
    prefix = name.removesuffix("0/24")
    return cast(DeviceRow.ips, String).like(f'%"{prefix}%')


def _owners(session: Session, rows: list[DeviceRow]) -> dict[str, str]:
    """Address -> device key, for ``rows``: the addresses on each row, then its address history."""
    owner: dict[str, str] = {}
    for r in rows:
        for ip in r.ips:
            owner.setdefault(ip, r.key)
    for chunk_start in range(0, len(rows), 500):
        chunk = [r.key for r in rows[chunk_start:chunk_start + 500]]
        for key, ip in session.execute(select(DeviceIpRow.device_key, DeviceIpRow.ip)
                                       .where(DeviceIpRow.device_key.in_(chunk))):
            owner.setdefault(ip, key)
    return owner


def _conversations(session: Session, ips: list[str]) -> Any:
    """(a_ip, b_ip, flows, bytes) of the stored flows, largest first; those touching ``ips`` when that
    list is short enough for an IN (...) under SQLite's parameter limit, else every pair."""
    stmt = (select(FlowRow.a_ip, FlowRow.b_ip, func.count(), func.sum(FlowRow.bytes_ab + FlowRow.bytes_ba))
            .group_by(FlowRow.a_ip, FlowRow.b_ip)
            .order_by(func.sum(FlowRow.bytes_ab + FlowRow.bytes_ba).desc()))
    if ips and len(ips) <= 900:
        stmt = stmt.where(or_(FlowRow.a_ip.in_(ips), FlowRow.b_ip.in_(ips)))
    return session.execute(stmt)


def _add_edge(edges: dict[tuple[str, str], dict[str, Any]], a: str, b: str, flows: Any, nbytes: Any) -> int:
    """Count ``flows`` and ``nbytes`` on the one edge of the pair (a, b), either way round; the edges now."""
    pair = (a, b) if a < b else (b, a)
    edge = edges.setdefault(pair, {"source": pair[0], "target": pair[1], "flows": 0, "bytes": 0})
    edge["flows"] += int(flows)
    edge["bytes"] += int(nbytes or 0)
    return len(edges)


def _magnitude(nbytes: int) -> float:
    """An edge's layout weight: its order of magnitude (a live site's byte counts move all the time, its
    layout need not)."""
    return float(10 ** round(math.log10(nbytes + 1)))


def network_map(session: Session, flt: dq.DeviceFilter | None = None,
                derived: dq.Derived | None = None, *, group: str | None = None) -> dict[str, Any]:
    """Devices (the busiest :data:`MAX_MAP_NODES`), their groups (zones under the saved policy, else
    subnets), and who talks to whom. With ``group`` (a name :func:`map_groups` lists): that group's
    devices only, and the other groups they talk to as one node each (``kind`` "group")."""
    conds = dq.where(flt, session.get_bind().dialect.name, derived) if flt else []
    stmt = select(DeviceRow).where(*conds).order_by(DeviceRow.bytes.desc(), DeviceRow.id)
    if group is None:
        rows = list(session.scalars(stmt.limit(MAX_MAP_NODES)))
        truncated = len(rows) >= MAX_MAP_NODES
    else:
        pre = _subnet_prefilter(group)
        rows, truncated = [], False
        for r in session.scalars(stmt if pre is None else stmt.where(pre)):
            if _group_of(r, derived) != group:
                continue
            if len(rows) >= MAX_MAP_NODES:
                truncated = True
                break
            rows.append(r)
    keys = {r.key for r in rows}
    owner = _owners(session, rows)
    groups = sorted({_group_of(r, derived) for r in rows})
    facts = derived_facets(session, rows, derived)
    nodes: list[dict[str, Any]] = [
             {"id": r.key, "label": (r.hostnames[0] if r.hostnames else (r.ips[0] if r.ips else r.key)),
              "group": _group_of(r, derived), "ips": list(r.ips), "bytes": r.bytes, "kind": "device",
              "facets": facets_of(r, facts[r.key])} for r in rows]
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    peers: dict[str, dict[str, Any]] = {}  # with ``group``: the other groups its devices talk to
    peer_group = _peer_groups(session, derived) if group is not None else None
    for a_ip, b_ip, n, nbytes in _conversations(session, list(owner)):
        a, b = owner.get(a_ip), owner.get(b_ip)
        if peer_group is not None and (a is None) != (b is None):  # one end in the group, the other not
            inside, other_ip = (a, b_ip) if a is not None else (b, a_ip)
            name = peer_group(other_ip)
            if inside is None or name == group:
                continue
            node_id = f"group:{name}"
            peer = peers.setdefault(node_id, {"id": node_id, "label": name, "group": name, "ips": [], "bytes": 0,
                                              "kind": "group", "facets": {}})
            peer["bytes"] += int(nbytes or 0)
            a, b = inside, node_id
        if a is None or b is None or a == b or (a not in keys and a not in peers) or (
                b not in keys and b not in peers):
            continue
        if _add_edge(edges, a, b, n, nbytes) >= MAX_MAP_EDGES:
            break
    drawn = list(edges.values())
    weights = tuple((e["source"], e["target"], _magnitude(e["bytes"])) for e in drawn)
    for node, (x, y) in zip(nodes, _positions(tuple(n["id"] for n in nodes), tuple(n["group"] for n in nodes),
                                              weights), strict=True):
        node["x"], node["y"] = x, y
    if peers:  # one group's devices in the middle, the groups they talk to around them
        _surround(nodes, sorted(peers.values(), key=lambda p: p["id"]))
        nodes += sorted(peers.values(), key=lambda p: p["id"])
        groups = sorted(set(groups) | {p["group"] for p in peers.values()})
    return {"groups": groups, "nodes": nodes, "edges": drawn, "width": MAP_WIDTH, "height": MAP_HEIGHT,
            "truncated": truncated, "group": group,
            "policy": derived.zones.policy if derived is not None else None}


def _surround(inner: list[dict[str, Any]], ring: list[dict[str, Any]]) -> None:
    """Shrink ``inner``'s positions to the middle of the canvas and place ``ring`` evenly on an ellipse
    around them (from the top, clockwise), so no other group's node lands among the group's devices."""
    cx, cy = MAP_WIDTH / 2, MAP_HEIGHT / 2
    for node in inner:
        node["x"] = round(cx + (node["x"] - cx) * INNER_SCALE, 1)
        node["y"] = round(cy + (node["y"] - cy) * INNER_SCALE, 1)
    for i, node in enumerate(ring):
        angle = 2 * math.pi * i / len(ring) - math.pi / 2
        node["x"] = round(cx + RING_RADIUS * cx * math.cos(angle), 1)
        node["y"] = round(cy + RING_RADIUS * cy * math.sin(angle), 1)


def _peer_groups(session: Session, derived: dq.Derived | None) -> Any:
    """Address -> map group of any stored device that held it (else of the address itself), for the
    peers of a group's devices; a local address is looked up once and remembered (an internet address is
    "outside the site" without a look-up: an internet host is hardly ever a device with a zone)."""
    seen: dict[str, str] = {}

    def group_of(ip: str) -> str:
        if ip not in seen:
            own = subnet_group([ip])
            if own == "outside the site" and (derived is None or derived.zones.policy is None):
                seen[ip] = own
                return own
            key = session.scalar(select(DeviceIpRow.device_key).where(DeviceIpRow.ip == ip).limit(1))
            row = session.scalar(select(DeviceRow).where(DeviceRow.key == key)) if key is not None else None
            seen[ip] = _group_of(row, derived) if row is not None else subnet_group([ip])
        return seen[ip]

    return group_of


def map_groups(session: Session, flt: dq.DeviceFilter | None = None,
               derived: dq.Derived | None = None) -> dict[str, Any]:
    """The map of a network too large to draw device by device: each group (zone under the saved policy,
    else subnet) one node with its devices counted by category, and the traffic between groups. Every
    device the filter keeps is counted, none left out."""
    conds = dq.where(flt, session.get_bind().dialect.name, derived) if flt else []
    members: dict[str, dict[str, Any]] = {}
    owner: dict[str, str] = {}  # address -> group
    key_group: dict[str, str] = {}
    stmt = select(DeviceRow).where(*conds).order_by(DeviceRow.id)
    for r in session.scalars(stmt.execution_options(yield_per=1000)):
        name = _group_of(r, derived)
        key_group[r.key] = name
        g = members.setdefault(name, {"id": name, "label": name, "devices": 0, "bytes": 0,
                                      "categories": defaultdict(int)})
        g["devices"] += 1
        g["bytes"] += int(r.bytes or 0)
        g["categories"][r.category or "unknown"] += 1
        for ip in r.ips:
            owner.setdefault(ip, name)
    for key, ip in session.execute(select(DeviceIpRow.device_key, DeviceIpRow.ip)):
        if key in key_group:
            owner.setdefault(ip, key_group[key])
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for a_ip, b_ip, n, nbytes in _conversations(session, []):
        a, b = owner.get(a_ip), owner.get(b_ip)
        if a is None and b is None:
            continue
        a = a or subnet_group([a_ip])  # a peer outside the inventory: its own subnet, or the internet
        b = b or subnet_group([b_ip])
        if a == b:
            continue
        for name in (a, b):
            members.setdefault(name, {"id": name, "label": name, "devices": 0, "bytes": 0,
                                      "categories": defaultdict(int)})
        if _add_edge(edges, a, b, n, nbytes) >= MAX_MAP_EDGES:
            break
    nodes = [dict(members[name], categories=dict(members[name]["categories"])) for name in sorted(members)]
    drawn = list(edges.values())
    weights = tuple((e["source"], e["target"], _magnitude(e["bytes"])) for e in drawn)
    for node, (x, y) in zip(nodes, _positions(tuple(n["id"] for n in nodes), None, weights), strict=True):
        node["x"], node["y"] = x, y
    return {"nodes": nodes, "edges": drawn, "devices": sum(g["devices"] for g in nodes), "width": MAP_WIDTH,
            "height": MAP_HEIGHT, "policy": derived.zones.policy if derived is not None else None}


@lru_cache(maxsize=8)
def _positions(ids: tuple[str, ...], groups: tuple[str, ...] | None,
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
