"""The self-contained HTML report: one file, inline CSS, SVG and script, no network access (its
Content-Security-Policy forbids any fetch). Charts are drawn in Python; the map's layout is computed in
Python (:mod:`iotwarden.report.layout`); a small inline script adds zoom, pan, hover and table filters.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from iotwarden.report.charts import CATEGORY_COLOURS, LEVEL_COLOURS, bar_chart, colour
from iotwarden.report.layout import layout

MAP_WIDTH, MAP_HEIGHT = 1000, 700
# no fetch of any kind: the page works offline and cannot leak what it shows
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
MAX_TABLE_ROWS = 5000  # rows per HTML table (the JSON embedded in the page keeps everything)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212529;background:#f8f9fa}
header{background:#1d3557;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.8}main{padding:20px 28px}section{margin-bottom:28px}
h2{font-size:17px;margin:0 0 10px}.cards{display:flex;gap:14px;flex-wrap:wrap}
.card{background:#fff;border-radius:8px;padding:12px 18px;box-shadow:0 1px 3px #0002;min-width:150px}
.card b{display:block;font-size:26px}.charts{display:flex;flex-wrap:wrap;gap:18px}
.chart{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;padding:8px}
.chart text{font-size:12px;fill:#343a40}.chart .chart-title{font-weight:600;font-size:13px}
#network-map{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;width:100%;max-width:1000px;
height:auto;cursor:grab}#network-map .edge{stroke:#6c757d;stroke-opacity:.35}
#network-map .edge.hl{stroke:#1d3557;stroke-opacity:.9}#network-map .node circle{stroke:#fff;stroke-width:1.5}
#network-map .node.risk-critical circle,#network-map .node.risk-high circle{stroke:#9d0208;stroke-width:3}
#network-map .node text{font-size:10px;fill:#343a40;pointer-events:none}
#network-map.focus .node:not(.hl){opacity:.25}#network-map.focus .edge:not(.hl){stroke-opacity:.08}
#network-map .group{fill:#e9ecef;fill-opacity:.55;stroke:#adb5bd;stroke-dasharray:4 3}
#network-map .group-label{font-size:11px;fill:#6c757d;text-anchor:middle}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:11px;height:11px;
border-radius:50%;margin-right:4px;vertical-align:-1px}#tip{position:fixed;pointer-events:none;background:#212529;
color:#fff;padding:6px 9px;border-radius:5px;font-size:12px;display:none;max-width:320px}
table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 3px #0002;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e9ecef;vertical-align:top}th{background:#e9ecef}
.sev{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;font-size:12px}
input.filter{margin:0 0 8px;padding:5px 8px;width:320px;border:1px solid #ced4da;border-radius:5px}
td.num{text-align:right}.muted{color:#6c757d}
"""

SCRIPT = """
(function(){
  var svg=document.getElementById('network-map'), tip=document.getElementById('tip');
  if(svg){
    var vb=svg.viewBox.baseVal, drag=null;
    svg.addEventListener('wheel',function(e){e.preventDefault();var f=e.deltaY>0?1.15:1/1.15;
      var r=svg.getBoundingClientRect(),mx=vb.x+(e.clientX-r.left)/r.width*vb.width,
      my=vb.y+(e.clientY-r.top)/r.height*vb.height;vb.x=mx-(mx-vb.x)*f;vb.y=my-(my-vb.y)*f;
      vb.width*=f;vb.height*=f;},{passive:false});
    svg.addEventListener('mousedown',function(e){drag={x:e.clientX,y:e.clientY,vx:vb.x,vy:vb.y};});
    window.addEventListener('mouseup',function(){drag=null;});
    window.addEventListener('mousemove',function(e){if(!drag)return;var r=svg.getBoundingClientRect();
      vb.x=drag.vx-(e.clientX-drag.x)/r.width*vb.width;vb.y=drag.vy-(e.clientY-drag.y)/r.height*vb.height;});
    var nodes=svg.querySelectorAll('.node'), edges=svg.querySelectorAll('.edge');
    nodes.forEach(function(n){
      n.addEventListener('mouseenter',function(e){var id=n.getAttribute('data-id');svg.classList.add('focus');
        n.classList.add('hl');edges.forEach(function(l){if(l.getAttribute('data-a')===id||l.getAttribute('data-b')===id){
          l.classList.add('hl');var o=l.getAttribute('data-a')===id?l.getAttribute('data-b'):l.getAttribute('data-a');
          var m=svg.querySelector('.node[data-id="'+CSS.escape(o)+'"]');if(m)m.classList.add('hl');}});
        tip.textContent=n.getAttribute('data-info');tip.style.display='block';});
      n.addEventListener('mousemove',function(e){tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';});
      n.addEventListener('mouseleave',function(){svg.classList.remove('focus');tip.style.display='none';
        svg.querySelectorAll('.hl').forEach(function(x){x.classList.remove('hl');});});
    });
    document.getElementById('map-status').textContent=nodes.length+' nodes, '+edges.length+' links';
  }
  document.querySelectorAll('input.filter').forEach(function(box){
    var rows=document.querySelectorAll('#'+box.getAttribute('data-table')+' tbody tr');
    box.addEventListener('input',function(){var q=box.value.toLowerCase();rows.forEach(function(r){
      r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':'';});});
  });
  document.body.setAttribute('data-ready','yes');
})();
"""


def _radius(nbytes: int) -> float:
    return round(min(22.0, 5.0 + 2.6 * math.log10(nbytes + 1)), 1)


def network_svg(graph: dict[str, Any]) -> str:
    """The map: groups (subnets) under edges under nodes; each node coloured by category, ringed red when
    high risk; the nodes of a subnet drawn together on a labelled backdrop."""
    nodes, edges = graph["nodes"], graph["edges"]
    groups = [str(n.get("group") or "") for n in nodes]
    pos = layout([n["id"] for n in nodes], [(e["source"], e["target"], float(e["bytes"])) for e in edges],
                 width=MAP_WIDTH, height=MAP_HEIGHT, groups=groups)
    parts = [f'<svg id="network-map" role="img" aria-label="Network map" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" '
             f'width="{MAP_WIDTH}" height="{MAP_HEIGHT}">', _group_backdrops(nodes, groups, pos), '<g id="edges">']
    for e in edges:
        (x1, y1), (x2, y2) = pos[e["source"]], pos[e["target"]]
        width = round(0.6 + math.log10(e["bytes"] + 1) / 2.5, 2)
        parts.append(f'<line class="edge" data-a="{escape(e["source"])}" data-b="{escape(e["target"])}" '
                     f'x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke-width="{width}">'
                     f'<title>{escape(e["source"])} - {escape(e["target"])}: {e["bytes"]} bytes, '
                     f'{e["flows"]} flows {escape(" ".join(e["apps"]))}</title></line>')
    parts.append('</g><g id="nodes">')
    for n in nodes:
        x, y = pos[n["id"]]
        info = (f'{n["label"]} ({n["id"]}) · {n["category"]}' + (f' · {n["device_type"]}' if n["device_type"] else "")
                + f' · risk {n["risk_band"]} · {n["bytes"]} bytes')
        parts.append(f'<g class="node risk-{escape(n["risk_band"])}" data-id="{escape(n["id"])}" '
                     f'data-info="{escape(info)}"><circle cx="{x}" cy="{y}" r="{_radius(n["bytes"])}" '
                     f'fill="{colour(n["category"])}"><title>{escape(info)}</title></circle>'
                     f'<text x="{x + _radius(n["bytes"]) + 3}" y="{y + 3}">{escape(n["label"])}</text></g>')
    parts.append("</g></svg>")
    return "".join(parts)


def _group_backdrops(nodes: list[dict[str, Any]], groups: list[str],
                     pos: dict[str, tuple[float, float]]) -> str:
    """A labelled circle behind each group of two or more nodes (when the map has several groups)."""
    members: dict[str, list[tuple[float, float, float]]] = {}
    for n, group in zip(nodes, groups, strict=True):
        x, y = pos[n["id"]]
        members.setdefault(group, []).append((x, y, _radius(n["bytes"])))
    if len(members) < 2:
        return '<g id="groups"></g>'
    parts = ['<g id="groups">']
    for group, points in sorted(members.items()):
        if len(points) < 2 or not group:
            continue
        cx = sum(p[0] for p in points) / len(points)
        cy = sum(p[1] for p in points) / len(points)
        r = max(math.hypot(x - cx, y - cy) + rad for x, y, rad in points) + 14
        parts.append(f'<g class="group-box" data-group="{escape(group)}"><circle class="group" cx="{cx:.1f}" '
                     f'cy="{cy:.1f}" r="{r:.1f}"/><text class="group-label" x="{cx:.1f}" '
                     f'y="{max(cy - r - 4, 12):.1f}">{escape(group)}</text></g>')
    parts.append("</g>")
    return "".join(parts)


def _legend() -> str:
    items = [f'<span><i style="background:{c}"></i>{escape(name)}</span>' for name, c in CATEGORY_COLOURS.items()]
    ring = LEVEL_COLOURS["critical"]
    items.append(f'<span><i style="background:#fff;border:3px solid {ring};width:7px;height:7px"></i>'
                 "high or critical risk</span>")
    return '<p class="legend">' + "".join(items) + "</p>"


def _sev(level: str) -> str:
    return f'<span class="sev" style="background:{colour(level)}">{escape(level)}</span>'


def _devices_table(devices: list[dict[str, Any]]) -> str:
    head = ("device", "addresses", "vendor", "type", "category", "model", "firmware", "risk", "findings", "bytes")
    rows = []
    for d in devices[:MAX_TABLE_ROWS]:
        rows.append("<tr>" + "".join([
            f'<td>{escape(d["label"])}<br><span class="muted">{escape(d["key"])}</span></td>',
            f'<td>{escape(", ".join(d["ips"][:4]))}</td>',
            *(f"<td>{escape(str(d[k] or ''))}</td>" for k in ("vendor", "device_type", "category", "model",
                                                              "firmware")),
            f'<td>{_sev(d["risk_band"])} {d["risk_score"]}</td>', f'<td class="num">{d["findings"]}</td>',
            f'<td class="num">{d["bytes"]}</td>']) + "</tr>")
    return _table("device-table", head, rows, len(devices))


def _findings_table(findings: list[dict[str, Any]]) -> str:
    head = ("severity", "check", "device", "title", "evidence", "remediation", "status")
    rows = []
    for f in findings[:MAX_TABLE_ROWS]:
        evidence = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                             for k, v in f["evidence"].items())
        rows.append("<tr>" + "".join([
            f'<td>{_sev(f["severity"])}</td>', f'<td>{escape(f["id"])}</td>', f'<td>{escape(f["subject"])}</td>',
            f'<td>{escape(f["title"])}</td>', f'<td>{escape(evidence)}</td>',
            f'<td>{escape(f["remediation"])}<br><span class="muted">{escape("; ".join(f["references"]))}</span></td>',
            f'<td>{escape(f["status"])}</td>']) + "</tr>")
    return _table("finding-table", head, rows, len(findings))


def _table(table_id: str, head: tuple[str, ...], rows: list[str], total: int) -> str:
    more = (f'<p class="muted">{total - len(rows)} more rows are in the JSON embedded in this file.</p>'
            if total > len(rows) else "")
    return (f'<input class="filter" data-table="{table_id}" placeholder="filter rows" aria-label="filter">'
            f'<table id="{table_id}"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + more)


def render(report: dict[str, Any]) -> str:
    """The report document as one self-contained HTML page (the document itself is embedded as JSON)."""
    s = report["summary"]
    types = bar_chart("Devices by type", s["devices_by_type"], chart_id="chart-type", fill="#457b9d")
    cards = "".join(
        f'<div class="card">{escape(label)}<b>{value}</b></div>' for label, value in (
            ("Devices", s["devices"]), ("Findings", s["findings"]),
            ("Critical findings", s["findings_by_severity"].get("critical", 0)),
            ("Fleet risk score", f'{s["fleet_score"]} ({s["fleet_band"]})'))
    )
    # "<", ">" and "&" as JSON escapes: nothing in the data can close or confuse the script element
    data = (json.dumps(report, sort_keys=True, default=str)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    left = report["network"]["left_out"]
    note = (f'<p class="muted">{left["nodes"]} quieter nodes and {left["edges"]} links left out of the map.</p>'
            if left["nodes"] or left["edges"] else "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>iotwarden report</title><style>{CSS}</style></head>
<body><header><h1>iotwarden report</h1><p>generated {escape(str(report["generated_at"]))} from
{escape(str(report["source"].get("database", "")))} · schema {escape(report["schema"])}</p></header><main>
<section id="summary"><div class="cards">{cards}</div></section>
<section id="charts"><h2>Overview</h2><div class="charts">
{bar_chart("Devices by category", s["devices_by_category"], chart_id="chart-category")}
{bar_chart("Devices by risk band", s["devices_by_risk_band"], chart_id="chart-risk")}
{bar_chart("Findings by severity", s["findings_by_severity"], chart_id="chart-severity")}
{types}</div></section>
<section id="map"><h2>Who talks to whom</h2><p id="map-status" class="muted"></p>{_legend()}
{network_svg(report["network"])}{note}</section>
<section id="devices"><h2>Devices</h2>{_devices_table(report["devices"])}</section>
<section id="findings"><h2>Findings</h2>{_findings_table(report["findings"])}</section>
</main><div id="tip"></div>
<script type="application/json" id="report-data">{data}</script>
<script>{SCRIPT}</script></body></html>
"""
