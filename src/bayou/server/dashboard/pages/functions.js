// Functions: every deployed function with its kind, visibility and validators; run one
// with arguments and see its result and log lines. A query can stay live: it is then a
// subscription over the sync WebSocket, and its result changes as the data does.

import { adminKey, get, post } from "../api.js";
import { errorText, h, pretty, replace } from "../ui.js";

const fnKey = (f) => (f.component ? `${f.component}/${f.identifier}` : f.identifier);

export function create(ctx) {
  let listing = null;
  let shownKey = "";
  let selected = null;
  let stopLive = null;
  const filter = h("input", { id: "fn-filter", placeholder: "filter functions", "aria-label": "Filter functions", oninput: () => renderList() });
  const list = h("div", { class: "side", id: "functions", role: "list" });
  const detail = h("div", { class: "content", id: "fn-detail" }, h("p", { class: "muted panel" }, "Pick a function to see it and run it."));
  const el = h("div", {}, h("div", { class: "toolbar" }, filter), h("div", { class: "layout" }, list, detail));

  function renderList() {
    const needle = filter.value.toLowerCase();
    const label = (f) => `${f.component ? `${f.component}/` : ""}${f.identifier.replace(".js:", ":")}`;
    const fns = (listing?.functions ?? []).filter((f) => label(f).toLowerCase().includes(needle));
    replace(list, fns.length ? fns.map((f) => h("button", {
      role: "listitem", "data-fn": fnKey(f),
      "aria-current": selected && fnKey(selected) === fnKey(f) ? "true" : "false",
      onclick: () => select(f),
    }, h("span", {}, label(f)), h("span", { class: "muted" }, `${f.kind[0]}${f.visibility === "internal" ? "·i" : ""}`))) :
      h("p", { class: "muted" }, listing ? "No functions deployed." : "Loading…"),
      listing?.httpRoutes?.length ? h("div", {}, h("h4", {}, "HTTP routes"),
        listing.httpRoutes.map((r) => h("div", { class: "mono" }, `${r.method} ${r.path}`))) : null);
  }

  function select(f) {
    selected = f;
    stopLive?.();
    stopLive = null;
    renderList();
    const writes = f.kind !== "Query";
    const args = h("textarea", { id: "fn-args", spellcheck: "false", "aria-label": "Arguments (JSON)" });
    args.value = "{}";
    const result = h("div", { id: "fn-result" });
    const run = h("button", {
      id: "fn-run", class: "primary", "data-write": writes ? "" : null,
      disabled: writes && ctx.readOnly, title: writes && ctx.readOnly ? "A read-only key runs queries only" : null,
      onclick: () => execute(),
    }, "Run");
    const actAs = h("input", { id: "fn-identity", placeholder: '{"subject": "user1", "name": "Ada"}', "aria-label": "Act as user (identity JSON)", size: 40 });
    const liveBox = f.kind === "Query" ? h("label", {}, h("input", { type: "checkbox", id: "fn-live", onchange: (e) => watch(e.target.checked) }), " keep running (live)") : null;
    function watch(on) {
      stopLive?.();
      stopLive = null;
      if (!on) return;
      let parsed;
      try { parsed = JSON.parse(args.value || "{}"); } catch (e) { replace(result, h("p", { class: "error" }, `Arguments are not valid JSON: ${e.message}`)); return; }
      stopLive = ctx.sync.subscribe(f.identifier, parsed, {
        component: f.component,
        onValue: (value) => replace(result, h("h4", {}, `Result (live, ${new Date().toLocaleTimeString(undefined, { hour12: false })})`), h("pre", { id: "fn-value" }, pretty(value))),
        onError: (message) => replace(result, h("h4", { class: "error" }, "Error"), h("pre", { id: "fn-error", class: "error" }, message)),
      });
    }
    // An admin key may act as a user: `<key>:<base64 of the identity's JSON>`.
    function actingKey() {
      const text = actAs.value.trim();
      if (!text) return undefined;
      const json = JSON.stringify(JSON.parse(text));
      const utf8 = new TextEncoder().encode(json);
      return `${adminKey()}:${btoa(String.fromCharCode(...utf8))}`;
    }
    async function execute() {
      let parsed;
      try { parsed = JSON.parse(args.value || "{}"); } catch (e) { replace(result, h("p", { class: "error" }, `Arguments are not valid JSON: ${e.message}`)); return; }
      try {
        const started = performance.now();
        const body = { path: f.identifier, args: parsed, format: "convex_encoded_json" };
        if (f.component) body.componentPath = f.component;
        const answer = await post("/api/function", body, { key: actingKey() });
        const ms = Math.round(performance.now() - started);
        replace(result,
          answer.status === "success"
            ? [h("h4", {}, `Result (${ms} ms)`), h("pre", { id: "fn-value" }, pretty(answer.value))]
            : [h("h4", { class: "error" }, "Error"), h("pre", { id: "fn-error", class: "error" }, answer.errorMessage)],
          answer.logLines?.length ? [h("h4", {}, "Logs"), h("pre", { id: "fn-logs" }, answer.logLines.join("\n"))] : null);
      } catch (e) {
        replace(result, h("p", { class: "error", id: "fn-error" }, errorText(e)));
      }
    }
    selected.execute = execute;
    replace(detail, h("div", { class: "panel" },
      h("h2", {}, `${f.component ? `${f.component}/` : ""}${f.identifier.replace(".js:", ":")}`),
      h("dl", { class: "kv" },
        h("dt", {}, "kind"), h("dd", {}, f.kind),
        h("dt", {}, "visibility"), h("dd", {}, f.visibility),
        h("dt", {}, "module"), h("dd", {}, f.module),
        h("dt", {}, "component"), h("dd", {}, f.component || "the app")),
      h("h4", {}, "Arguments validator"), h("pre", {}, f.args ? pretty(f.args) : "none (any arguments)"),
      h("h4", {}, "Returns validator"), h("pre", {}, f.returns ? pretty(f.returns) : "none"),
      h("label", { for: "fn-args" }, "Arguments (JSON, Convex encoding)"), args,
      h("label", { for: "fn-identity" }, "Act as user (optional identity JSON: ctx.auth.getUserIdentity() returns it)"),
      h("div", { class: "toolbar" }, actAs),
      h("div", { class: "toolbar" }, run, liveBox),
      result));
  }

  async function refresh() {
    const next = await get("/api/dashboard/functions");
    const key = JSON.stringify(next);
    if (key !== shownKey) {
      shownKey = key;
      listing = next;
      renderList();
    }
  }

  return { el, refresh, refreshMs: 5000, stop: () => stopLive?.() };
}
