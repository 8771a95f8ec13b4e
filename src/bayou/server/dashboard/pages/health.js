// Health: version, URLs, database and file store, readiness, the results of `bayou
// doctor`'s server-side checks, and charts of the last hour drawn from the server's own
// history of the /metrics counters (sampled every few seconds since it started, so the
// charts are full when the page opens), plus every counter as it is now.

import { get } from "../api.js";
import { errorText, h, replace } from "../ui.js";

const sum = (values, name) =>
  Object.entries(values).reduce((total, [key, v]) => (key.split("{")[0] === name ? total + v : total), 0);

function parseMetrics(text) {
  const values = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = line.match(/^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/);
    if (match) values[match[1]] = Number(match[2]);
  }
  return values;
}

// The latency under which a fraction `q` of the calls between two samples finished (the
// bound of the histogram bucket it falls in: an upper bound), in milliseconds.
function quantile(bounds, before, after, q) {
  const counts = after.latency.map((v, i) => v - (before.latency[i] ?? 0));
  const total = counts.length ? counts[counts.length - 1] : 0;
  if (!(total > 0)) return null;
  const i = counts.findIndex((v) => v >= q * total);
  return i >= 0 && Number.isFinite(bounds[i]) ? bounds[i] * 1000 : null;
}

const rate = (field) => (a, b, dt) => Math.max(0, b[field] - a[field]) / dt;
const CHARTS = [
  ["Function calls / s", rate("calls")],
  ["Errors / s", rate("errors")],
  ["Error rate (%)", (a, b) => {
    const calls = b.calls - a.calls;
    return calls > 0 ? (100 * (b.errors - a.errors)) / calls : 0;
  }],
  ["Latency p50 (ms, ≤ bucket)", (a, b, dt, bounds) => quantile(bounds, a, b, 0.5)],
  ["Latency p95 (ms, ≤ bucket)", (a, b, dt, bounds) => quantile(bounds, a, b, 0.95)],
  ["Latency p99 (ms, ≤ bucket)", (a, b, dt, bounds) => quantile(bounds, a, b, 0.99)],
  ["Commits / s", rate("commits")],
  ["OCC conflicts / s", rate("conflicts")],
  ["Scheduler lag (s)", (a, b) => b.lag],
  ["Live sync sessions", (a, b) => b.sessions],
  ["Subscribed queries", (a, b) => b.subscribed],
];
const MARKS = { true: "ok", false: "FAIL", null: "note" };

export function create() {
  const info = h("dl", { class: "kv", id: "health-info" });
  const ready = h("p", { id: "health-ready" });
  const doctor = h("ul", { id: "health-doctor", class: "checks" });
  const doctorRun = h("button", { id: "doctor-run", onclick: () => runDoctor() }, "Check again");
  const charts = h("div", { id: "health-charts", class: "charts" });
  const span = h("span", { class: "muted", id: "health-span" });
  const metrics = h("div", { id: "health-metrics" });
  const el = h("div", {},
    h("div", { class: "panel" }, h("h2", {}, "Deployment"), info, ready),
    h("div", { class: "panel" }, h("h2", {}, "Checks (as bayou doctor)"),
      h("p", { class: "muted" }, "What the server can check of itself. ", h("code", {}, "bayou doctor"),
        " on your machine also checks the data directory, .env.local, your admin key and the auth providers."),
      doctor, doctorRun),
    h("div", { class: "panel" }, h("h2", {}, "The last hour"), span, charts),
    h("div", { class: "panel" }, h("details", {}, h("summary", {}, "Every counter of /metrics, now"), metrics)));

  function row(label, value) {
    return [h("dt", {}, label), h("dd", { class: "mono" }, value ?? "—")];
  }

  async function runDoctor() {
    doctorRun.disabled = true;
    try {
      const { checks } = await get("/api/dashboard/doctor");
      replace(doctor, checks.map((c) => h("li", { "data-check": c.name, "data-ok": String(c.ok) },
        h("span", { class: `mark ${c.ok === false ? "error" : c.ok ? "ok" : "warn"}` }, MARKS[c.ok]),
        h("strong", {}, c.name), ": ", c.detail)));
    } catch (e) {
      replace(doctor, h("li", { class: "error" }, errorText(e)));
    } finally {
      doctorRun.disabled = false;
    }
  }

  function renderCharts(history) {
    const samples = history.samples;
    const bounds = history.latencyBounds;
    const series = CHARTS.map(() => []);
    for (let i = 1; i < samples.length; i += 1) {
      const dt = Math.max(1e-3, (samples[i].t - samples[i - 1].t) / 1000);
      CHARTS.forEach(([, figure], c) => series[c].push(figure(samples[i - 1], samples[i], dt, bounds)));
    }
    const minutes = samples.length > 1 ? Math.round((samples[samples.length - 1].t - samples[0].t) / 60000) : 0;
    span.textContent = `${samples.length} samples, one every ${history.intervalS} s, over the last ${minutes} min (kept by the server since it started).`;
    replace(charts, CHARTS.map(([label], c) => {
      const points = series[c];
      const last = points.length ? points[points.length - 1] : null;
      const max = Math.max(1e-9, ...points.map((v) => v ?? 0));
      return h("div", { class: "chart", "data-chart": label },
        h("div", { class: "muted" }, label),
        h("div", { class: "figure" }, Number.isFinite(last) ? Number(last.toFixed(2)).toLocaleString("en-US") : "—"),
        h("div", { class: "spark", role: "img", "aria-label": `${label} over the last hour` },
          points.slice(-240).map((v) => h("span", { style: { height: `${Math.round(((v ?? 0) / max) * 100)}%` } }))));
    }));
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
    renderCharts(await get("/api/dashboard/metrics_history"));
    if (!overview.metricsEnabled) {
      replace(metrics, h("p", { class: "muted" }, "The metrics endpoint is disabled (DISABLE_METRICS_ENDPOINT=true); the charts above still work."));
      return;
    }
    const response = await fetch("/metrics", { cache: "no-store" });
    if (!response.ok) {
      replace(metrics, h("p", { class: "warn" }, `/metrics answered ${response.status}`));
      return;
    }
    const values = parseMetrics(await response.text());
    const names = Object.keys(values).filter((n) => n.startsWith("bayou_")).sort();
    replace(metrics, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["metric", "value"].map((c) => h("th", {}, c)))),
      h("tbody", {}, names.map((n) => h("tr", {}, h("td", { class: "mono" }, n), h("td", {}, String(values[n])))))),
    h("p", { class: "muted" }, `${sum(values, "bayou_function_calls_total")} function calls since the server started.`));
  }

  runDoctor();
  return { el, refresh, refreshMs: 5000 };
}
