// iotwarden console: CSRF header on htmx requests, live updates over SSE, the network map.
"use strict";

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )iotwarden_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : (document.body.dataset.csrf || "");
}

// double-submit CSRF: every htmx request that changes something echoes the token
document.addEventListener("htmx:configRequest", (evt) => {
  evt.detail.headers["X-CSRF-Token"] = csrfToken();
});

function toast(text) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = text;
  box.classList.add("show");
  clearTimeout(box._timer);
  box._timer = setTimeout(() => box.classList.remove("show"), 4000);
}

function startLive() {
  const url = document.body.dataset.live;
  const status = document.getElementById("live-status");
  if (!url || !window.EventSource) return;
  const source = new EventSource(url);
  source.onopen = () => { if (status) status.textContent = "live: on"; };
  source.onerror = () => { if (status) status.textContent = "live: reconnecting"; };
  const onInventory = (evt) => {
    const data = JSON.parse(evt.data);
    if (data.count !== undefined) toast(`${data.count} devices updated`);
    document.body.dispatchEvent(new CustomEvent("inventory-changed"));
    const count = document.getElementById("device-count");
    if (count && data.total !== undefined) count.textContent = data.total;
  };
  const onAlert = (evt) => {
    const data = JSON.parse(evt.data);
    toast(data.id === undefined ? data.title : `alert ${data.id}: ${data.title || data.status || "updated"}`);
    document.body.dispatchEvent(new CustomEvent("alerts-changed"));
  };
  const onFinding = (evt) => {
    const data = JSON.parse(evt.data);
    toast(data.count !== undefined ? `${data.count} new findings` : `finding ${data.id}: ${data.status}`);
    document.body.dispatchEvent(new CustomEvent("findings-changed"));
  };
  for (const t of ["inventory.devices", "inventory.approved", "inventory.unapproved", "capture.finished"]) {
    source.addEventListener(t, onInventory);
  }
  for (const t of ["alert.created", "alert.updated"]) source.addEventListener(t, onAlert);
  for (const t of ["finding.created", "finding.updated"]) source.addEventListener(t, onFinding);
}

const GROUP_COLOURS = ["#dbeafe", "#dcfce7", "#fef9c3", "#fce7f3", "#ede9fe", "#ffedd5", "#e0f2fe", "#f1f5f9"];
// node fill: the device's category (classifier); ring: its risk band; unknown stays grey
const CATEGORY_COLOURS = { iot: "#2563eb", ot: "#ea580c", it: "#059669", network: "#7c3aed", medical: "#db2777",
  building: "#ca8a04" };
const RISK_RINGS = { critical: "#991b1b", high: "#dc2626", medium: "#f59e0b", low: "#93c5fd" };
const first = (facets, name) => ((facets || {})[name] || [])[0];

function mapLegend() {
  const legend = document.getElementById("map-legend");
  if (!legend) return;
  const item = (colour, text, ring) => {
    const span = document.createElement("span");
    span.className = "legend-item";
    const dot = document.createElement("i");
    dot.style.background = ring ? "#fff" : colour;
    if (ring) dot.style.border = `3px solid ${colour}`;
    span.append(dot, document.createTextNode(text));
    return span;
  };
  legend.replaceChildren(
    ...Object.entries(CATEGORY_COLOURS).map(([c, colour]) => item(colour, c)), item("#94a3b8", "unknown"),
    ...Object.entries(RISK_RINGS).map(([r, colour]) => item(colour, `${r} risk`, true)));
}

async function drawMap() {
  const box = document.getElementById("map");
  if (!box || !window.cytoscape) return;
  const response = await fetch(box.dataset.source, { credentials: "same-origin" });
  if (!response.ok) { box.textContent = `map unavailable (${response.status})`; return; }
  const data = await response.json();
  const elements = [];
  data.groups.forEach((g, i) => elements.push({ data: { id: `group:${g}`, label: g, colour: GROUP_COLOURS[i % GROUP_COLOURS.length] }, classes: "group" }));
  for (const n of data.nodes) {
    const cat = (first(n.facets, "category") || "").toLowerCase();
    const risk = first(n.facets, "risk");
    elements.push({ position: { x: n.x, y: n.y }, data: { id: n.id, label: n.label, parent: `group:${n.group}`, ips: n.ips.join(", "), bytes: n.bytes,
      category: cat || "unknown", type: first(n.facets, "type") || "", risk: risk || "none",
      fill: CATEGORY_COLOURS[cat] || "#94a3b8", ring: RISK_RINGS[risk] || "#ffffff",
      ringWidth: RISK_RINGS[risk] ? 3 : 0 } });
  }
  data.edges.forEach((e, i) => elements.push({ data: { id: `e${i}`, source: e.source, target: e.target, flows: e.flows, width: Math.min(8, 1 + Math.log10(1 + e.bytes) / 2) } }));
  const summary = document.getElementById("map-summary");
  if (summary) summary.textContent = `${data.nodes.length} devices in ${data.groups.length} groups, ${data.edges.length} conversations${data.truncated ? " (busiest devices only)" : ""}`;
  const cy = window.cytoscape({
    container: box,
    elements,
    style: [
      { selector: "node", style: { label: "data(label)", "font-size": 10, "background-color": "data(fill)", width: 18, height: 18,
        "border-width": "data(ringWidth)", "border-color": "data(ring)" } },
      { selector: "node.group", style: { "background-color": "data(colour)", "text-valign": "top", "font-size": 11, "border-width": 1, "border-color": "#94a3b8" } },
      { selector: "edge", style: { width: "data(width)", "line-color": "#94a3b8", "curve-style": "bezier", opacity: 0.7 } },
      { selector: "node:selected", style: { "background-color": "#dc2626" } },
    ],
    // the server places the nodes (the HTML report's grouped layout: each subnet or zone one cluster, the
    // lines between clusters the traffic that crosses them); the groups are drawn around their members
    layout: { name: "preset", fit: true, padding: 24 },
  });
  window.iotwardenMap = cy;
  mapLegend();
  cy.on("tap", "node", (evt) => {
    const node = evt.target;
    if (node.hasClass("group")) return;
    const aside = document.getElementById("map-detail");
    const link = document.createElement("a");
    link.href = `/devices/${encodeURIComponent(node.id())}`;
    link.textContent = node.id();
    const kind = [node.data("category"), node.data("type")].filter(Boolean).join(" / ");
    aside.replaceChildren(link, document.createTextNode(` · ${node.data("ips")} · ${kind} · risk ${node.data("risk")} · ` +
      `${node.connectedEdges().length} peers`));
  });
  box.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", () => {
  startLive();
  drawMap();
});
