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

const MAP_STYLE = [
  { selector: "node", style: { label: "data(label)", "font-size": 10, "background-color": "data(fill)", width: 18, height: 18,
    "border-width": "data(ringWidth)", "border-color": "data(ring)" } },
  { selector: "node.group", style: { "background-color": "data(colour)", "text-valign": "top", "font-size": 11, "border-width": 1, "border-color": "#94a3b8" } },
  // another group a drawn group's devices talk to, and the groups of the overview: one node each
  { selector: "node.peer", style: { shape: "round-rectangle", "background-color": "#e2e8f0", "border-width": 1,
    "border-color": "#64748b", width: 26, height: 26, "font-size": 11 } },
  { selector: "node.overview", style: { width: "data(size)", height: "data(size)", "text-valign": "bottom",
    "font-size": 12, "background-color": "#e2e8f0", "border-width": 1, "border-color": "#64748b" } },
  { selector: "edge", style: { width: "data(width)", "line-color": "#94a3b8", "curve-style": "bezier", opacity: 0.7 } },
  { selector: "node:selected", style: { "background-color": "#dc2626" } },
];
const edgeWidth = (bytes) => Math.min(8, 1 + Math.log10(1 + bytes) / 2);
const mapParams = () => new URLSearchParams(window.location.search);

function showGroup(group) {
  // the group in the address: shareable, and the back button returns to the overview
  const params = mapParams();
  if (group) params.set("group", group); else params.delete("group");
  const query = params.toString();
  window.history.pushState({ group }, "", query ? `?${query}` : window.location.pathname);
  drawMap();
}

function startMap(box, elements) {
  if (window.iotwardenMap) window.iotwardenMap.destroy();
  // the server places the nodes (the HTML report's grouped layout: each subnet or zone one cluster, the
  // lines between clusters the traffic that crosses them); the groups are drawn around their members
  const cy = window.cytoscape({ container: box, elements, style: MAP_STYLE, layout: { name: "preset", fit: true, padding: 24 } });
  window.iotwardenMap = cy;
  return cy;
}

function overviewElements(data) {
  // a network too large to draw device by device: each group one node, sized by its devices and divided
  // by their categories (a pie), the lines the traffic between groups
  const cats = [...Object.keys(CATEGORY_COLOURS), "unknown"];
  const elements = data.nodes.map((g) => {
    const style = {};
    const total = Object.values(g.categories).reduce((a, b) => a + b, 0);
    cats.forEach((c, i) => {
      style[`pie-${i + 1}-background-color`] = CATEGORY_COLOURS[c] || "#94a3b8";
      style[`pie-${i + 1}-background-size`] = total ? `${(100 * (g.categories[c] || 0)) / total}%` : "0%";
    });
    return { position: { x: g.x, y: g.y }, classes: "overview", style,
      data: { id: g.id, label: g.devices ? `${g.label} (${g.devices})` : g.label, devices: g.devices,
        size: g.devices ? Math.min(90, 24 + 8 * Math.sqrt(g.devices)) : 20, bytes: g.bytes } };
  });
  data.edges.forEach((e, i) => elements.push({ data: { id: `e${i}`, source: e.source, target: e.target, flows: e.flows, width: edgeWidth(e.bytes) } }));
  return elements;
}

function deviceElements(data) {
  const elements = [];
  const members = new Set(data.nodes.filter((n) => n.kind !== "group").map((n) => n.group));
  data.groups.filter((g) => members.has(g)).forEach((g, i) => elements.push({ data: { id: `group:${g}`, label: g, colour: GROUP_COLOURS[i % GROUP_COLOURS.length] }, classes: "group" }));
  for (const n of data.nodes) {
    if (n.kind === "group") {
      elements.push({ position: { x: n.x, y: n.y }, classes: "peer", data: { id: n.id, label: n.label, group: n.group, bytes: n.bytes, fill: "#e2e8f0", ring: "#64748b", ringWidth: 1 } });
      continue;
    }
    const cat = (first(n.facets, "category") || "").toLowerCase();
    const risk = first(n.facets, "risk");
    elements.push({ position: { x: n.x, y: n.y }, data: { id: n.id, label: n.label, parent: `group:${n.group}`, ips: n.ips.join(", "), bytes: n.bytes,
      category: cat || "unknown", type: first(n.facets, "type") || "", risk: risk || "none",
      fill: CATEGORY_COLOURS[cat] || "#94a3b8", ring: RISK_RINGS[risk] || "#ffffff",
      ringWidth: RISK_RINGS[risk] ? 3 : 0 } });
  }
  data.edges.forEach((e, i) => elements.push({ data: { id: `e${i}`, source: e.source, target: e.target, flows: e.flows, width: edgeWidth(e.bytes) } }));
  return elements;
}

function summaryWithLink(summary, text, linkText, group) {
  if (!summary) return;
  summary.replaceChildren(document.createTextNode(text));
  if (!linkText) return;
  const link = document.createElement("a");
  link.href = "#";
  link.id = "map-overview-link";
  link.textContent = linkText;
  link.addEventListener("click", (evt) => { evt.preventDefault(); showGroup(group); });
  summary.append(document.createTextNode(" · "), link);
}

async function fetchJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  return response.ok ? response.json() : Promise.reject(new Error(`${response.status}`));
}

async function drawMap() {
  const box = document.getElementById("map");
  if (!box || !window.cytoscape) return;
  box.dataset.ready = "false";
  const group = mapParams().get("group");
  const summary = document.getElementById("map-summary");
  let data;
  try {
    data = await fetchJson(group ? `${box.dataset.source}?group=${encodeURIComponent(group)}` : box.dataset.source);
    if (!group && data.truncated) {  // more devices than one map draws: the groups first, one opened on a tap
      const overview = await fetchJson(box.dataset.overview);
      const cy = startMap(box, overviewElements(overview));
      box.dataset.view = "overview";
      summaryWithLink(summary, `${overview.devices} devices in ${overview.nodes.filter((g) => g.devices).length} groups, ` +
        `${overview.edges.length} links between groups: too many devices to draw at once, select a group to see its devices`);
      cy.on("tap", "node", (evt) => { if (evt.target.data("devices")) showGroup(evt.target.id()); });
      mapLegend();
      box.dataset.ready = "true";
      return;
    }
  } catch (err) {
    box.textContent = `map unavailable (${err.message})`;
    return;
  }
  const cy = startMap(box, deviceElements(data));
  box.dataset.view = group ? "group" : "devices";
  const devices = data.nodes.filter((n) => n.kind !== "group").length;
  const groups = data.groups.length - data.nodes.filter((n) => n.kind === "group").length;
  summaryWithLink(summary, group
    ? `${group}: ${devices} devices${data.truncated ? " (busiest only)" : ""}, ${data.edges.length} conversations, ` +
      `${data.nodes.length - devices} other groups they talk to`
    : `${devices} devices in ${groups} groups, ${data.edges.length} conversations${data.truncated ? " (busiest devices only)" : ""}`,
  group ? "all groups" : null, null);
  mapLegend();
  cy.on("tap", "node", (evt) => {
    const node = evt.target;
    if (node.hasClass("group")) return;
    if (node.hasClass("peer")) { showGroup(node.data("group")); return; }
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

window.addEventListener("popstate", () => { if (document.getElementById("map")) drawMap(); });

document.addEventListener("DOMContentLoaded", () => {
  startLive();
  drawMap();
});
