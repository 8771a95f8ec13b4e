// Data: tables with counts, a paged document grid (one index page at a time, so a huge
// table costs the same as a small one), filter and sort, and a JSON editor whose writes the
// server validates against the schema.

import { get, post, query } from "../api.js";
import { cellText, confirmed, errorText, h, pretty, replace, time, writeButton } from "../ui.js";

const PAGE_SIZE = 50;
const RANGE_OPS = { $eq: "Eq", $lt: "Lt", $lte: "Lte", $gt: "Gt", $gte: "Gte" };
const OPS = [["$eq", "="], ["$neq", "≠"], ["$lt", "<"], ["$lte", "≤"], ["$gt", ">"], ["$gte", "≥"]];

export function create(ctx) {
  const state = {
    table: null,
    component: "",
    tables: [],
    schema: null,
    index: "",
    order: "desc",
    filter: null,
    range: null, // Convex range expressions over the sort index's first field
    cursors: [null],
    pageNo: 0,
    result: null,
    shownKey: "",
    tablesKey: "",
    editing: null, // { mode: "edit" | "add", id? }
    selected: new Set(),
  };

  const side = h("div", { class: "side", id: "tables", role: "list", "aria-label": "Tables" });
  const components = ctx.overview.components ?? [];
  const componentSelect = components.length ? h("select", {
    id: "component", "aria-label": "Component",
    onchange: () => { state.component = componentSelect.value; state.table = null; state.tablesKey = ""; restart(); },
  }, h("option", { value: "" }, "app"), components.map((c) => h("option", { value: c }, c))) : null;
  const sideWrap = h("div", { class: "side-col" }, componentSelect ? h("div", { class: "toolbar" }, h("label", { for: "component" }, "Component"), componentSelect) : null, side);
  const title = h("h2", { id: "table-title" }, "Data");
  const indexSelect = h("select", { id: "sort-index", "aria-label": "Sort by index", onchange: () => { state.index = indexSelect.value; state.range = null; state.filter = null; filterMode.textContent = ""; restart(); } });
  const orderButton = h("button", { id: "order", onclick: () => { state.order = state.order === "desc" ? "asc" : "desc"; orderButton.textContent = orderLabel(); restart(); } });
  const orderLabel = () => (state.order === "desc" ? "newest first" : "oldest first");
  orderButton.textContent = orderLabel();
  const filterMode = h("span", { class: "muted", id: "filter-mode" });
  const currentIndex = () => state.tables.find((t) => t.name === state.table)?.indexes.find((i) => i.name === state.index);
  const filterField = h("input", { id: "filter-field", placeholder: "field", size: 10, "aria-label": "Filter field" });
  const filterOp = h("select", { id: "filter-op", "aria-label": "Filter operator" }, OPS.map(([v, l]) => h("option", { value: v }, l)));
  const filterValue = h("input", { id: "filter-value", placeholder: "value (JSON or text)", size: 14, "aria-label": "Filter value" });
  const filterForm = h("form", {
    class: "row",
    onsubmit: (e) => {
      e.preventDefault();
      const field = filterField.value.trim();
      state.filter = null;
      state.range = null;
      if (field) {
        let value;
        try { value = JSON.parse(filterValue.value); } catch { value = filterValue.value; }
        // On the sort index's first field, a comparison is an index range: only the
        // matching documents are read, however large the table.
        const index = currentIndex();
        const rangeOp = RANGE_OPS[filterOp.value];
        if (index && index.fields[0] === field && rangeOp) {
          state.range = [{ type: rangeOp, fieldPath: field, value }];
        } else {
          state.filter = { [filterOp.value]: [{ $field: field }, { $literal: value }] };
        }
      }
      filterMode.textContent = state.range ? "index range" : state.filter ? "filter (scans the index)" : "";
      restart();
    },
  }, filterField, filterOp, filterValue, h("button", { type: "submit", id: "filter-apply" }, "Filter"),
    h("button", { type: "button", onclick: () => { filterField.value = ""; filterValue.value = ""; state.filter = null; state.range = null; filterMode.textContent = ""; restart(); } }, "Clear"),
    filterMode);
  const addButton = writeButton(ctx, "Add document", { id: "add-doc" }, () => openEditor({ mode: "add" }));
  const deleteSelected = writeButton(ctx, "Delete selected", { id: "delete-selected", class: "danger" }, async () => {
    const ids = [...state.selected];
    if (!ids.length || !confirmed(`Delete ${ids.length} document(s)?`)) return;
    try {
      await post("/api/dashboard/documents/delete", { ids, component: state.component });
      state.selected.clear();
      await refresh(true);
    } catch (e) { status.textContent = errorText(e); }
  });
  const clearTable = writeButton(ctx, "Clear table", { id: "clear-table", class: "danger" }, () => clearAll());
  const status = h("p", { id: "data-status", class: "error", role: "alert" });
  const grid = h("div", { class: "grid-wrap", id: "grid-wrap" });
  const prev = h("button", { id: "prev-page", onclick: () => { if (state.pageNo > 0) { state.pageNo -= 1; restartPage(); } } }, "← Previous");
  const next = h("button", { id: "next-page", onclick: () => { const r = state.result; if (r && !r.isDone) { state.cursors[state.pageNo + 1] = r.continueCursor; state.pageNo += 1; restartPage(); } } }, "Next →");
  const pageLabel = h("span", { id: "page-label", class: "muted" });
  const editor = h("div", { id: "editor-panel" });
  const schemaBox = h("details", { class: "panel", id: "schema" });

  const content = h("div", { class: "content" },
    h("div", { class: "panel" },
      title,
      h("div", { class: "toolbar" }, h("label", { for: "sort-index" }, "Sort"), indexSelect, orderButton, filterForm),
      h("div", { class: "toolbar" }, addButton, deleteSelected, clearTable),
      status, grid,
      h("div", { class: "toolbar" }, prev, pageLabel, next)),
    editor, schemaBox);
  const el = h("div", { class: "layout" }, sideWrap, content);

  function restartPage() {
    refresh(true).catch((e) => { status.textContent = errorText(e); });
  }

  function restart() {
    state.cursors = [null];
    state.pageNo = 0;
    state.selected.clear();
    refresh(true).catch((e) => { status.textContent = errorText(e); });
  }

  function selectTable(name) {
    state.table = name;
    state.index = "";
    state.filter = null;
    state.range = null;
    filterMode.textContent = "";
    filterField.value = "";
    filterValue.value = "";
    closeEditor();
    renderSide();
    renderIndexes(state.tables.find((t) => t.name === name));
    restart();
  }

  function renderSide() {
    replace(side, state.tables.length ? state.tables.map((t) =>
      h("button", {
        role: "listitem", "data-table": t.name, "aria-current": t.name === state.table ? "true" : "false",
        onclick: () => selectTable(t.name),
      }, h("span", {}, t.name), h("span", { class: "muted count", title: t.count === null ? "counting…" : null }, t.count === null ? "…" : t.count.toLocaleString("en-US"))),
    ) : h("p", { class: "muted" }, "No tables yet. Deploy an app or add a document."));
  }

  function renderIndexes(info) {
    const options = [h("option", { value: "" }, "by creation time")];
    for (const index of info?.indexes ?? []) {
      if (index.kind !== "database" || index.name === "by_creation_time") continue;
      const ready = index.state === "enabled" && !index.staged;
      options.push(h("option", { value: index.name, disabled: !ready }, `${index.name} (${index.fields.join(", ")})${ready ? "" : ` – ${index.state}`}`));
    }
    replace(indexSelect, options);
    indexSelect.value = state.index;
    replace(schemaBox,
      h("summary", {}, "Schema and indexes"),
      h("h3", {}, "Indexes"),
      h("ul", {}, (info?.indexes ?? []).map((i) => h("li", {}, h("code", {}, i.name), ` ${i.kind} on (${i.fields.join(", ")}) — ${i.staged ? "staged" : i.state === "enabled" ? "ready" : `backfilling (${i.state})`}`))),
      h("h3", {}, "Schema"),
      state.schema ? h("pre", {}, pretty(state.schema)) : h("p", { class: "muted" }, "No schema deployed: any document is accepted."));
  }

  function renderGrid() {
    const r = state.result;
    const docs = r?.page ?? [];
    const fields = [];
    for (const d of docs) for (const k of Object.keys(d)) if (k !== "_id" && k !== "_creationTime" && !fields.includes(k)) fields.push(k);
    const columns = ["_id", ...fields, "_creationTime"];
    const head = h("tr", {}, h("th", { scope: "col" }, ""), columns.map((c) => h("th", { scope: "col" }, c)));
    const rows = docs.map((d) => {
      const check = h("input", {
        type: "checkbox", "aria-label": `Select ${d._id}`, checked: state.selected.has(d._id), disabled: ctx.readOnly, "data-write": "",
        onclick: (e) => { e.stopPropagation(); if (check.checked) state.selected.add(d._id); else state.selected.delete(d._id); },
      });
      return h("tr", {
        "data-id": d._id, tabindex: 0, class: state.editing?.id === d._id ? "selected" : "",
        onclick: () => openEditor({ mode: "edit", id: d._id, doc: d }),
        onkeydown: (e) => { if (e.key === "Enter") openEditor({ mode: "edit", id: d._id, doc: d }); },
      }, h("td", {}, check), columns.map((c) => h("td", { title: cellText(d[c]) }, c === "_creationTime" ? time(d[c]) : cellText(d[c]))));
    });
    replace(grid, h("table", { class: "grid", id: "grid" }, h("thead", {}, head), h("tbody", {}, rows)),
      docs.length ? null : h("p", { class: "muted", id: "empty" }, state.filter || state.range ? "No document matches the filter on this page." : "This table is empty."));
    const more = r && r.pageStatus === "SplitRequired" ? " (filter scanned its limit: next page continues)" : "";
    pageLabel.textContent = `page ${state.pageNo + 1}${more}`;
    prev.disabled = state.pageNo === 0;
    next.disabled = !r || r.isDone;
  }

  function openEditor(editing) {
    if (!state.table) return;
    state.editing = editing;
    const doc = editing.doc ?? {};
    const area = h("textarea", { id: "doc-json", spellcheck: "false", "aria-label": "Document JSON", readonly: ctx.readOnly });
    const shown = {};
    for (const [k, v] of Object.entries(doc)) if (k !== "_id" && k !== "_creationTime") shown[k] = v;
    area.value = editing.mode === "add" ? "{\n  \n}" : pretty(shown);
    const error = h("p", { id: "doc-error", class: "error", role: "alert" });
    const save = writeButton(ctx, editing.mode === "add" ? "Add" : "Save", { id: "doc-save", class: "primary" }, async () => {
      let value;
      try { value = JSON.parse(area.value); } catch (e) { error.textContent = `Not valid JSON: ${e.message}`; return; }
      try {
        if (editing.mode === "add") await post("/api/dashboard/documents/insert", { table: state.table, document: value, component: state.component });
        else await post("/api/dashboard/documents/replace", { id: editing.id, document: value, component: state.component });
        closeEditor();
        await refresh(true);
      } catch (e) { error.textContent = errorText(e); }
    });
    const del = editing.mode === "edit" ? writeButton(ctx, "Delete", { id: "doc-delete", class: "danger" }, async () => {
      if (!confirmed(`Delete ${editing.id}?`)) return;
      try {
        await post("/api/dashboard/documents/delete", { ids: [editing.id], component: state.component });
        closeEditor();
        await refresh(true);
      } catch (e) { error.textContent = errorText(e); }
    }) : null;
    replace(editor, h("div", { class: "panel", id: "doc-editor" },
      h("h3", {}, editing.mode === "add" ? `New document in ${state.table}` : `Document ${editing.id}`),
      editing.mode === "edit" ? h("p", { class: "muted" }, `created ${time(doc._creationTime)}`) : null,
      area, error,
      h("div", { class: "toolbar" }, save, del, h("button", { id: "doc-close", onclick: closeEditor }, "Close"))));
    area.focus();
    renderGrid();
  }

  function closeEditor() {
    state.editing = null;
    replace(editor);
  }

  async function clearAll() {
    if (!state.table || !confirmed(`Delete every document of ${state.table}? This cannot be undone.`)) return;
    try {
      for (;;) {
        const page = await get(`/api/dashboard/documents${query({ table: state.table, numItems: 500, component: state.component })}`);
        if (!page.page.length) break;
        await post("/api/dashboard/documents/delete", { ids: page.page.map((d) => d._id), component: state.component });
      }
      restart();
    } catch (e) { status.textContent = errorText(e); }
  }

  async function refresh(force = false) {
    const listing = await get(`/api/dashboard/tables${query({ component: state.component })}`);
    const tablesKey = JSON.stringify(listing);
    if (tablesKey !== state.tablesKey) {
      state.tablesKey = tablesKey;
      state.tables = listing.tables;
      state.schema = listing.schema;
      if (!state.table || !state.tables.some((t) => t.name === state.table)) {
        const first = state.tables.find((t) => !t.system);
        state.table = first ? first.name : null;
      }
      renderSide();
      renderIndexes(state.tables.find((t) => t.name === state.table));
    }
    if (!state.table) {
      title.textContent = "Data";
      replace(grid, h("p", { class: "muted" }, "No table selected."));
      return;
    }
    title.textContent = state.table;
    const params = {
      table: state.table, component: state.component, numItems: PAGE_SIZE, order: state.order, index: state.index,
      cursor: state.cursors[state.pageNo], filter: state.filter ? JSON.stringify(state.filter) : "",
      range: state.range ? JSON.stringify(state.range) : "",
    };
    const result = await get(`/api/dashboard/documents${query(params)}`);
    status.textContent = "";
    const key = JSON.stringify([params, result.page, result.isDone]);
    if (force || key !== state.shownKey) {
      state.shownKey = key;
      state.result = result;
      renderGrid();
    }
  }

  return {
    el,
    refresh: () => refresh(false).catch((e) => {
      if (e.status === 400) { status.textContent = errorText(e); return; }
      throw e;
    }),
  };
}
