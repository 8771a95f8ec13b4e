// Environment: the deployment's variables, live (the CLI's own system query, over the
// sync WebSocket); values stay hidden until revealed.

import { post } from "../api.js";
import { confirmed, errorText, h, replace, writeButton } from "../ui.js";

export function create(ctx) {
  let shownKey = "";
  const revealed = new Set();
  const status = h("p", { class: "error", role: "alert", id: "env-status" });
  const name = h("input", { id: "env-name", placeholder: "NAME", "aria-label": "Variable name", disabled: ctx.readOnly, "data-write": "" });
  const value = h("input", { id: "env-value", placeholder: "value", "aria-label": "Variable value", type: "password", disabled: ctx.readOnly, "data-write": "" });
  const add = writeButton(ctx, "Set", { id: "env-set", class: "primary", type: "submit" });
  const form = h("form", { class: "toolbar", onsubmit: async (e) => {
    e.preventDefault();
    if (await change(name.value.trim(), value.value)) { name.value = ""; value.value = ""; }
  } }, name, value, add);
  const list = h("div", { class: "grid-wrap", id: "env" });
  const el = h("div", { class: "panel" }, h("h2", {}, "Environment variables"),
    h("p", { class: "muted" }, "Functions read these as process.env (JavaScript) or os.environ (Python)."),
    form, status, list);

  async function change(varName, varValue) {
    status.textContent = "";
    try {
      await post("/api/update_environment_variables", { changes: [{ name: varName, value: varValue }] });
      return true;
    } catch (e) {
      status.textContent = errorText(e);
      return false;
    }
  }

  function render(vars) {
    const names = Object.keys(vars);
    replace(list, names.length ? h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["name", "value", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, names.map((n) => {
        const shown = revealed.has(n);
        return h("tr", { "data-env": n },
          h("td", { class: "mono" }, n),
          h("td", { class: "mono env-value" }, shown ? vars[n] : "••••••••"),
          h("td", {}, h("div", { class: "row" },
            h("button", { "data-reveal": n, onclick: () => { if (shown) revealed.delete(n); else revealed.add(n); render(vars); } }, shown ? "Hide" : "Reveal"),
            writeButton(ctx, "Edit", { "data-edit": n }, () => {
              name.value = n;
              value.value = vars[n];
              value.focus();
            }),
            writeButton(ctx, "Delete", { class: "danger", "data-delete": n }, async () => {
              if (confirmed(`Delete ${n}?`)) await change(n, null);
            }))));
      }))) : h("p", { class: "muted" }, "No environment variables."));
  }

  const stop = ctx.sync.subscribe("_system/cli/queryEnvironmentVariables", {}, {
    onValue: (rows) => {
      const vars = Object.fromEntries(rows.map((r) => [r.name, r.value]));
      const key = JSON.stringify(vars);
      if (key !== shownKey) {
        shownKey = key;
        render(vars);
      }
    },
    onError: (message) => { status.textContent = message; },
  });

  return { el, stop };
}
