// Logs: the deployment's function executions as they happen (the long poll behind
// `npx convex logs`), filtered by function, level and text; pause stops the stream.

import { call, query } from "../api.js";
import { errorText, h, replace } from "../ui.js";

const KEEP = 2000;

export function create() {
  const entries = [];
  let cursor = 0;
  let paused = false;
  let controller = null;
  let stopped = false;
  const fnFilter = h("input", { id: "log-function", placeholder: "function", "aria-label": "Filter by function", oninput: render });
  const level = h("select", { id: "log-level", "aria-label": "Level", onchange: render },
    ["any level", "ERROR", "WARN", "INFO", "LOG", "DEBUG", "failures"].map((l) => h("option", { value: l }, l)));
  const text = h("input", { id: "log-text", placeholder: "text", "aria-label": "Filter by text", oninput: render });
  const pause = h("button", { id: "log-pause", "aria-pressed": "false", onclick: () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused) render();
  } }, "Pause");
  const clear = h("button", { onclick: () => { entries.length = 0; render(); } }, "Clear");
  const status = h("span", { class: "muted", id: "log-status" });
  const list = h("div", { id: "logs", class: "panel", "aria-live": "polite" });
  const el = h("div", {}, h("div", { class: "toolbar" }, fnFilter, level, text, pause, clear, status), list);

  function lines(entry) {
    return (entry.logLines ?? []).map((l) => (typeof l === "string"
      ? { level: (l.match(/^\[(\w+)\]/) ?? [])[1] ?? "LOG", text: l }
      : { level: l.level ?? "LOG", text: `[${l.level ?? "LOG"}] ${(l.messages ?? []).join(" ")}` }));
  }

  function matches(entry) {
    const fn = fnFilter.value.trim().toLowerCase();
    if (fn && !String(entry.identifier ?? "").toLowerCase().includes(fn)) return false;
    const ls = lines(entry);
    if (level.value === "failures" && !entry.error) return false;
    if (!["any level", "failures"].includes(level.value) && !ls.some((l) => l.level === level.value)) return false;
    const needle = text.value.trim().toLowerCase();
    if (needle) {
      const hay = [entry.identifier, entry.error, entry.requestId, ...ls.map((l) => l.text)].join("\n").toLowerCase();
      if (!hay.includes(needle)) return false;
    }
    return true;
  }

  function render() {
    if (paused) return;
    const shown = entries.filter(matches).slice(-500).reverse();
    replace(list, shown.length ? shown.map((entry) => {
      const when = new Date((entry.timestamp ?? 0) * 1000).toLocaleTimeString(undefined, { hour12: false });
      const failed = entry.kind === "Completion" && (entry.error || entry.success === false);
      return h("div", { class: "log", "data-function": entry.identifier ?? "" },
        h("div", { class: "meta" },
          h("span", { class: "mono" }, when),
          h("span", {}, entry.udfType ?? ""),
          h("strong", {}, (entry.identifier ?? "").replace(".js:", ":")),
          entry.kind === "Completion" ? h("span", { class: failed ? "error" : "ok" }, failed ? "failure" : entry.cachedResult ? "cached" : "success") : h("span", { class: "muted" }, "progress"),
          entry.executionTime !== undefined ? h("span", {}, `${Math.round(entry.executionTime * 1000)} ms`) : null,
          h("span", { class: "muted mono" }, entry.requestId ?? "")),
        lines(entry).map((l) => h("div", { class: `line lvl-${l.level}` }, l.text)),
        entry.error ? h("div", { class: "line lvl-ERROR" }, entry.error) : null);
    }) : h("p", { class: "muted" }, "No log entries yet: run a function."));
  }

  async function loop() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const answer = await call("GET", `/api/stream_function_logs${query({ cursor })}`, undefined, { signal: controller.signal });
        cursor = answer.newCursor;
        if (answer.entries.length) {
          entries.push(...answer.entries);
          if (entries.length > KEEP) entries.splice(0, entries.length - KEEP);
          render();
        }
        status.textContent = "streaming";
      } catch (e) {
        if (stopped) return;
        status.textContent = `reconnecting (${errorText(e)})`;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  render();
  loop();
  return {
    el,
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}
