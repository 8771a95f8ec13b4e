// Data: tables with live counts, a virtualised document grid (grid.js: pages of one index
// range each, subscribed while near the view), filter and sort, a JSON editor whose writes
// the server validates against the schema, and clear / delete table behind a dialog that
// asks for the table's name. Everything shown is a subscription over the sync WebSocket.

import { post } from "../api.js";
import { VirtualGrid } from "../grid.js";
import { confirmTyped, confirmed, errorText, h, pretty, replace, time, writeButton } from "../ui.js";

const RANGE_OPS = { $eq: "Eq", $lt: "Lt", $lte: "Lte", $gt: "Gt", $gte: "Gte" };
const OPS = [["$eq", "="], ["$neq", "≠"], ["$lt", "<"], ["$lte", "≤"], ["$gt", ">"], ["$gte", "≥"]];

export function create(ctx) {
  const state = {
    table: null,
    component: "",
    tables: [],
    counts: {},
    schema: null,
    index: "",
    order: "desc",
    filter: null,
    range: null, // Convex range expressions over the sort index's first field
    editing: null, // { mode: "edit" | "add", id? }
    selected: new Set(),
  };
  const watching = []; // unsubscribe functions of the listing and the counts

  const side = h("div", { class: "side", id: "tables", role: "list", "aria-label": "Tables" });
  const components = ctx.overview.components ?? [];
  const componentSelect = components.length ? h("select", {
    id: "component", "aria-label": "Component",
    onchange: () => { state.component = componentSelect.value; state.table = null; watchTables(); },
  }, h("option", { value: "" }, "app"), components.map((c) => h("option", { value: c }, c))) : null;
  const sideWrap = h("div", { class: "side-col" }, componentSelect ? h("div", { class: "toolbar" }, h("label", { for: "component" }, "Component"), componentSelect) : null, side);
  const title = h("h2", { id: "table-title" }, "Data");
  const summary = h("p", { id: "table-summary", class: "muted" });
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
  const status = h("p", { id: "data-status", class: "error", role: "alert" });
  const addButton = writeButton(ctx, "Add document", { id: "add-doc" }, () => openEditor({ mode: "add" }));
  const deleteSelected = writeButton(ctx, "Delete selected", { id: "delete-selected", class: "danger" }, async () => {
    const ids = [...state.selected];
    if (!ids.length || !confirmed(`Delete ${ids.length} document(s)?`)) return;
    try {
      await post("/api/dashboard/documents/delete", { ids, component: state.component });
      state.selected.clear();
    } catch (e) { status.textContent = errorText(e); }
  });
  const clearTable = writeButton(ctx, "Clear table", { id: "clear-table", class: "danger" }, () => clearAll());
  const deleteTable = writeButton(ctx, "Delete table", { id: "delete-table", class: "danger" }, () => dropTable());
  const grid = new VirtualGrid({
    sync: ctx.sync,
    readOnly: ctx.readOnly,
    onOpen: (doc) => openEditor({ mode: "edit", id: doc._id, doc }),
    onSelect: (id, on) => { if (on) state.selected.add(id); else state.selected.delete(id); },
    isSelected: (id) => state.selected.has(id),
    onError: (message) => { status.textContent = message; },
  });
  const editor = h("div", { id: "editor-panel" });
  const schemaBox = h("details", { class: "panel", id: "schema" });

  const content = h("div", { class: "content" },
    h("div", { class: "panel" },
      title, summary,
      h("div", { class: "toolbar" }, h("label", { for: "sort-index" }, "Sort"), indexSelect, orderButton, filterForm),
      h("div", { class: "toolbar" }, addButton, deleteSelected, clearTable, deleteTable),
      status, grid.el),
    editor, schemaBox);
  const el = h("div", { class: "layout" }, sideWrap, content);

  function restart() {
    state.selected.clear();
    status.textContent = "";
    if (!state.table) {
      title.textContent = "Data";
      grid.stop();
      return;
    }
    title.textContent = state.table;
    renderSummary();
    grid.show({
      key: JSON.stringify([state.component, state.table, state.order, state.index, state.filter, state.range]),
      component: state.component,
      filtered: Boolean(state.filter || state.range),
      args: {
        table: state.table, order: state.order, index: state.index || undefined,
        filter: state.filter ? JSON.stringify(state.filter) : undefined,
        range: state.range ? JSON.stringify(state.range) : undefined,
      },
    });
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

  const countText = (name) => {
    const n = state.counts[name];
    return typeof n === "number" ? n.toLocaleString("en-US") : "…";
  };

  function renderSummary() {
    if (!state.table) { summary.textContent = ""; return; }
    const n = state.counts[state.table];
    summary.textContent = typeof n === "number" ? `${n.toLocaleString("en-US")} document${n === 1 ? "" : "s"}` : "counting…";
  }

  function renderSide() {
    replace(side, state.tables.length ? state.tables.map((t) =>
      h("button", {
        role: "listitem", "data-table": t.name, "aria-current": t.name === state.table ? "true" : "false",
        onclick: () => selectTable(t.name),
      }, h("span", {}, t.name), h("span", { class: "muted count", title: typeof state.counts[t.name] === "number" ? null : "counting…" }, countText(t.name))),
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
    const system = Boolean(info?.system);
    for (const button of [addButton, clearTable, deleteTable]) button.disabled = ctx.readOnly || system || !info;
    replace(schemaBox,
      h("summary", {}, "Schema and indexes"),
      h("h3", {}, "Indexes"),
      h("ul", {}, (info?.indexes ?? []).map((i) => h("li", {}, h("code", {}, i.name), ` ${i.kind} on (${i.fields.join(", ")}) — ${i.staged ? "staged" : i.state === "enabled" ? "ready" : `backfilling (${i.state})`}`))),
      h("h3", {}, "Schema"),
      state.schema ? h("pre", {}, pretty(state.schema)) : h("p", { class: "muted" }, "No schema deployed: any document is accepted."));
  }

  function openEditor(editing) {
    if (!state.table) return;
    state.editing = editing;
    grid.openId = editing.id ?? null;
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
      } catch (e) { error.textContent = errorText(e); }
    });
    const del = editing.mode === "edit" ? writeButton(ctx, "Delete", { id: "doc-delete", class: "danger" }, async () => {
      if (!confirmed(`Delete ${editing.id}?`)) return;
      try {
        await post("/api/dashboard/documents/delete", { ids: [editing.id], component: state.component });
        closeEditor();
      } catch (e) { error.textContent = errorText(e); }
    }) : null;
    replace(editor, h("div", { class: "panel", id: "doc-editor" },
      h("h3", {}, editing.mode === "add" ? `New document in ${state.table}` : `Document ${editing.id}`),
      editing.mode === "edit" ? h("p", { class: "muted" }, `created ${time(doc._creationTime)}`) : null,
      area, error,
      h("div", { class: "toolbar" }, save, del, h("button", { id: "doc-close", onclick: closeEditor }, "Close"))));
    area.focus();
    grid.update();
  }

  function closeEditor() {
    state.editing = null;
    grid.openId = null;
    replace(editor);
    grid.update();
  }

  function clearAll() {
    const table = state.table;
    const component = state.component;
    if (!table) return;
    confirmTyped({
      id: "clear-dialog", title: `Clear ${table}`, label: "Clear table", expected: table,
      message: `Delete every document of ${table}? Its indexes and schema stay. This cannot be undone.`,
      action: async (progress) => {
        let deleted = 0;
        for (;;) {
          const answer = await post("/api/dashboard/tables/clear", { table, component });
          deleted += answer.deleted;
          progress(`Deleted ${deleted.toLocaleString("en-US")} document(s)…`);
          if (!answer.hasMore) break;
        }
      },
    });
  }

  function dropTable() {
    const table = state.table;
    const component = state.component;
    if (!table) return;
    confirmTyped({
      id: "delete-dialog", title: `Delete ${table}`, label: "Delete table", expected: table,
      message: `Delete the table ${table}, its documents and its indexes? This cannot be undone. A table the schema declares cannot be deleted: deploy a schema without it first.`,
      action: async () => {
        await post("/api/dashboard/tables/delete", { tableNames: [table], component });
      },
    });
  }

  function showListing(listing) {
    state.tables = listing.tables;
    state.schema = listing.schema;
    if (!state.table || !state.tables.some((t) => t.name === state.table)) {
      const first = state.tables.find((t) => !t.system);
      state.table = first ? first.name : null;
      closeEditor();
      restart();
    }
    renderSide();
    renderIndexes(state.tables.find((t) => t.name === state.table));
  }

  function watchTables() {
    while (watching.length) watching.pop()();
    state.counts = {};
    const options = { component: state.component, onError: (message) => { status.textContent = message; } };
    watching.push(ctx.sync.subscribe("_system/dashboard/tables", {}, { ...options, onValue: showListing }));
    watching.push(ctx.countsSync.subscribe("_system/dashboard/tableCounts", {}, {
      ...options,
      onValue: (counts) => { state.counts = counts; renderSide(); renderSummary(); },
    }));
  }

  renderSide();
  watchTables();
  return {
    el,
    stop() {
      while (watching.length) watching.pop()();
      grid.stop();
    },
  };
}
