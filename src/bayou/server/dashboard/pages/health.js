// Health: version, URLs, database and file store, readiness, and the `/metrics` counters
// as rates over the time this page has been open.

import { get } from "../api.js";
import { bytes, errorText, h, replace } from "../ui.js";

const HISTORY = 3600;

function parseMetrics(text) {
  const values = {};
  const help = {};
  for (const line of text.split("\n")) {
    if (line.startsWith("# HELP ")) {
      const parts = line.split(" ");
      help[parts[2]] = parts.slice(3).join(" ");
      continue;
    }
    if (!line || line.startsWith("#")) continue;
    const match = line.match(/^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/);
    if (match) values[match[1]] = Number(match[2]);
  }
  return { values, help };
}

const sum = (values, name) =>
  Object.entries(values).reduce((total, [key, v]) => (key.split("{")[0] === name ? total + v : total), 0);

// Cumulative counts of a histogram by bucket bound, summed over every label set.
function buckets(values, name) {
  const byBound = new Map();
  for (const [key, v] of Object.entries(values)) {
    if (key.split("{")[0] !== `${name}_bucket`) continue;
    const le = key.match(/le="([^"]+)"/)?.[1];
    const bound = le === "+Inf" ? Infinity : Number(le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + v);
  }
  return [...byBound.entries()].sort((a, b) => a[0] - b[0]);
}

function quantile(before, after, name, q) {
  const old = new Map(buckets(before, name));
  const now = buckets(after, name).map(([bound, v]) => [bound, v - (old.get(bound) ?? 0)]);
  const total = now.length ? now[now.length - 1][1] : 0;
  if (!total) return null;
  const found = now.find(([, v]) => v >= q * total);
  return found && Number.isFinite(found[0]) ? found[0] * 1000 : null;
}

// Figures derived from two successive scrapes `dt` seconds apart.
const HIGHLIGHTS = [
  ["Function calls / s", (a, b, dt) => (sum(b, "bayou_function_calls_total") - sum(a, "bayou_function_calls_total")) / dt],
  ["Errors / s", (a, b, dt) => (sum(b, "bayou_function_errors_total") - sum(a, "bayou_function_errors_total")) / dt],
  ["Latency p50 (ms, ≤ bucket)", (a, b) => quantile(a, b, "bayou_function_duration_seconds", 0.5)],
  ["Latency p95 (ms, ≤ bucket)", (a, b) => quantile(a, b, "bayou_function_duration_seconds", 0.95)],
  ["Commits / s", (a, b, dt) => (sum(b, "bayou_commits_total") - sum(a, "bayou_commits_total")) / dt],
  ["OCC conflicts / s", (a, b, dt) => (sum(b, "bayou_occ_conflicts_total") - sum(a, "bayou_occ_conflicts_total")) / dt],
  ["Live sync sessions", (a, b) => sum(b, "bayou_sync_sessions")],
  ["Subscribed queries", (a, b) => sum(b, "bayou_subscribed_queries")],
];

export function create(ctx) {
  const history = []; // [{t, values}]
  const info = h("dl", { class: "kv", id: "health-info" });
  const ready = h("p", { id: "health-ready" });
  const metrics = h("div", { id: "health-metrics" });
  const charts = h("div", { id: "health-charts", class: "charts" });
  const audit = h("div", { id: "health-audit" });
  const auditButton = h("button", { id: "health-audit-run", onclick: () => runAudit() }, "Check the file store");
  async function runAudit() {
    replace(audit, h("p", { class: "muted" }, "Checking every file and blob…"));
    try {
      const r = await get("/api/bayou/storage");
      const bad = r.orphanedBlobs + r.missingBlobs;
      replace(audit,
        h("p", { class: bad ? "error" : "ok" }, bad
          ? `${r.missingBlobs} file(s) without data, ${r.orphanedBlobs} blob(s) without a file — run bayou doctor for the fix.`
          : "Every file has its data and every blob its file."),
        h("dl", { class: "kv" },
          row("store", r.store), row("files", String(r.files)), row("blobs", String(r.blobs)),
          row("bytes stored", bytes(r.bytes)), row("uploads in flight", String(r.uploadsInFlight)),
          row("deletions pending", String(r.deletionsPending)),
          r.missingBlobExamples.length ? row("files without data", r.missingBlobExamples.join(", ")) : null,
          r.orphanedBlobExamples.length ? row("blobs without a file", r.orphanedBlobExamples.join(", ")) : null));
    } catch (e) {
      replace(audit, h("p", { class: "error" }, errorText(e)));
    }
  }
  const series = HIGHLIGHTS.map(() => []);
  const el = h("div", {},
    h("div", { class: "panel" }, h("h2", {}, "Deployment"), info, ready),
    h("div", { class: "panel" }, h("h2", {}, "Activity (since this page opened, one point a second)"), charts),
    h("div", { class: "panel" }, h("h2", {}, "Files check (as bayou doctor)"), auditButton, audit),
    h("div", { class: "panel" }, h("details", {}, h("summary", {}, "Every counter of /metrics"), metrics)));

  function renderCharts() {
    replace(charts, HIGHLIGHTS.map(([label], i) => {
      const points = series[i];
      const last = points.length ? points[points.length - 1] : null;
      const max = Math.max(1e-9, ...points.map((v) => v ?? 0));
      return h("div", { class: "chart", "data-chart": label },
        h("div", { class: "muted" }, label),
        h("div", { class: "figure" }, last === null ? "—" : Number(last.toFixed(2)).toLocaleString("en-US")),
        h("div", { class: "spark", role: "img", "aria-label": `${label}: last ${points.length} seconds` },
          points.slice(-120).map((v) => h("span", { style: { height: `${Math.round(((v ?? 0) / max) * 100)}%` } }))));
    }));
  }

  function row(label, value) {
    return [h("dt", {}, label), h("dd", { class: "mono" }, value ?? "—")];
  }

  async function refresh() {
    const overview = await get("/api/dashboard/overview");
    const s = overview.status ?? {};
    replace(info,
      row("instance", overview.instance), row("Bayou version", overview.version),
      row("API URL", overview.apiUrl), row("HTTP actions URL", overview.siteUrl),
      row("database", s.database), row("file store", s.files),
      row("deployed code", s.deployment), row("latest commit", s.latestTs ? new Date(s.latestTs / 1e6).toISOString() : null),
      row("components", overview.components.length ? overview.components.join(", ") : "none"),
      row("your key", overview.readOnly ? "read-only admin" : "admin"));
    try {
      const response = await fetch("/ready", { cache: "no-store" });
      const body = await response.json();
      ready.className = body.ready ? "ok" : "error";
      ready.textContent = `Ready: ${body.ready ? "yes" : "no"} — database ${body.database}, storage ${body.storage}`;
    } catch {
      ready.className = "warn";
      ready.textContent = "Readiness unknown";
    }
    if (!overview.metricsEnabled) {
      replace(metrics, h("p", { class: "muted" }, "The metrics endpoint is disabled (DISABLE_METRICS_ENDPOINT=true)."));
      return;
    }
    const response = await fetch("/metrics", { cache: "no-store" });
    if (!response.ok) {
      replace(metrics, h("p", { class: "warn" }, `/metrics answered ${response.status}`));
      return;
    }
    const { values, help } = parseMetrics(await response.text());
    const previous = history[history.length - 1];
    history.push({ t: performance.now(), values });
    if (previous) {
      const dt = Math.max(1e-3, (performance.now() - previous.t) / 1000);
      HIGHLIGHTS.forEach(([, figure], i) => {
        series[i].push(figure(previous.values, values, dt));
        if (series[i].length > 3600) series[i].shift();
      });
      renderCharts();
    }
    if (history.length > HISTORY) history.shift();
    const first = history[0];
    const seconds = (performance.now() - first.t) / 1000;
    const names = Object.keys(values).filter((n) => n.startsWith("bayou_")).sort();
    replace(metrics, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["metric", "value", "per second (this page's window)", "trend"].map((c) => h("th", {}, c)))),
      h("tbody", {}, names.map((n) => {
        const base = n.split("{")[0];
        const delta = seconds > 0 ? (values[n] - (first.values[n] ?? values[n])) / seconds : 0;
        const series = history.map((p, i) => (i === 0 ? 0 : (p.values[n] ?? 0) - (history[i - 1].values[n] ?? 0)));
        const max = Math.max(1e-9, ...series);
        return h("tr", { title: help[base] ?? "" },
          h("td", { class: "mono" }, n), h("td", {}, String(values[n])),
          h("td", {}, delta ? delta.toFixed(2) : ""),
          h("td", {}, h("div", { class: "spark", "aria-hidden": "true" },
            series.slice(-40).map((v) => h("span", { style: { height: `${Math.round((Math.max(v, 0) / max) * 100)}%` } })))));
      }))));
  }

  return { el, refresh };
}
