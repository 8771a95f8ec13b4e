// The virtualised document grid of the Data page. Only the rows in view (and a few around
// them) are in the DOM: fixed-height rows between two spacers that stand for the rest.
// Documents come in pages of one index range read each (`_system/dashboard/documents`
// with an index cursor), subscribed over the sync WebSocket while they are near the view
// and released when they scroll far away, so a 1M-document table costs what its visible
// pages cost, and every shown page is live. A page's end is pinned to the cursor its
// first result returned (`endCursor`), so pages stay contiguous while documents come and
// go: a page grows or shrinks, the next one starts where it ends. Scrolling down asks for
// the next page; the count of the table (from `tableCounts`) is shown above the grid.
//
// Keyboard: the focused row moves with ↑ ↓ PageUp PageDown Home End; Enter opens it,
// Space selects it. Focus follows the row as the grid re-renders.

import { cellText, h, replace, time } from "./ui.js";

export const PAGE_ROWS = 100;
const OVERSCAN = 8; // rows drawn beyond the viewport
const LIVE_ROWS = 200; // pages within this many rows of the viewport stay subscribed
const DROP_ROWS = 800; // pages farther than this are released (rows and subscription)

export class VirtualGrid {
  constructor({ sync, readOnly, onOpen, onSelect, isSelected, onError }) {
    this.sync = sync;
    this.readOnly = readOnly;
    this.onOpen = onOpen;
    this.onSelect = onSelect;
    this.isSelected = isSelected;
    this.onError = onError;
    this.rowHeight = 29;
    this.measured = false;
    this.pages = [];
    this.view = null;
    this.cursor = 0; // the keyboard's row
    this.openId = null; // the row whose editor is open
    this.columns = [];
    this.scheduled = false;
    this.table = h("table", { class: "grid", id: "grid" });
    this.before = h("div", { class: "spacer", "aria-hidden": "true" });
    this.after = h("div", { class: "spacer", "aria-hidden": "true" });
    this.empty = h("p", { class: "muted", id: "empty" });
    this.el = h("div", {
      class: "grid-wrap vgrid", id: "grid-wrap", role: "region", "aria-label": "Documents",
      onscroll: () => this.schedule(), onkeydown: (e) => this.key(e),
    }, this.before, this.table, this.after, this.empty);
    new ResizeObserver(() => this.schedule()).observe(this.el);
  }

  // Show `view` = {key, component, args, filtered}: a table, order, index, range, filter.
  show(view) {
    if (this.view?.key === view.key) return;
    this.stop();
    this.view = view;
    this.columns = [];
    this.cursor = 0;
    this.done = false;
    this.pages = [{ start: null, end: null, rows: null, size: null, stop: null }];
    this.el.scrollTop = 0;
    this.update();
  }

  stop() {
    for (const page of this.pages) page.stop?.();
    this.pages = [];
    this.view = null;
  }

  // Rows loaded so far (a released page keeps the size it last had).
  total() {
    return this.pages.reduce((n, p) => n + (p.size ?? 0), 0);
  }

  docs() {
    return this.pages.flatMap((p) => p.rows ?? []);
  }

  // -- pages ------------------------------------------------------------------------------

  subscribe(page) {
    if (page.stop || !this.view) return;
    const paginationOpts = { numItems: PAGE_ROWS, cursor: page.start };
    if (page.end) paginationOpts.endCursor = page.end;
    page.stop = this.sync.subscribe("_system/dashboard/documents", { ...this.view.args, paginationOpts }, {
      component: this.view.component,
      onValue: (result) => this.arrived(page, result),
      onError: (message) => this.onError?.(message),
    });
  }

  release(page) {
    page.stop?.();
    page.stop = null;
    page.rows = null;
  }

  arrived(page, result) {
    if (!this.pages.includes(page)) return;
    page.rows = result.page;
    page.size = result.page.length;
    page.status = result.pageStatus;
    for (const doc of result.page) {
      for (const field of Object.keys(doc)) {
        if (field !== "_id" && field !== "_creationTime" && !this.columns.includes(field)) this.columns.push(field);
      }
    }
    if (!page.end) {
      if (result.isDone) {
        this.done = page === this.pages[this.pages.length - 1];
      } else {
        // Pin the page to where it ended, so the next page starts exactly there.
        page.end = result.continueCursor;
        page.stop();
        page.stop = null;
        this.subscribe(page);
      }
    }
    this.onError?.("");
    this.schedule();
  }

  // -- drawing ----------------------------------------------------------------------------

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.update();
    });
  }

  window() {
    const rh = this.rowHeight;
    const first = Math.max(0, Math.floor(this.el.scrollTop / rh));
    return { first, last: first + Math.ceil(this.el.clientHeight / rh) };
  }

  update() {
    if (!this.view) return;
    const { first, last } = this.window();
    let offset = 0;
    for (const page of this.pages) {
      const end = offset + (page.size ?? PAGE_ROWS);
      if (end >= first - LIVE_ROWS && offset <= last + LIVE_ROWS) this.subscribe(page);
      else if (page.stop && (end < first - DROP_ROWS || offset > last + DROP_ROWS)) this.release(page);
      offset = end;
    }
    const tail = this.pages[this.pages.length - 1];
    if (tail.end && tail.rows && !this.done && offset <= last + LIVE_ROWS) {
      const next = { start: tail.end, end: null, rows: null, size: null, stop: null };
      this.pages.push(next);
      this.subscribe(next);
    }
    this.render(first, last);
  }

  rowAt(index) {
    let offset = 0;
    for (const page of this.pages) {
      const size = page.size ?? 0;
      if (index < offset + size) return page.rows ? page.rows[index - offset] ?? null : undefined;
      offset += size;
    }
    return null;
  }

  render(first, last) {
    const rh = this.rowHeight;
    const total = this.total();
    const from = Math.max(0, first - OVERSCAN);
    const to = Math.min(total, last + OVERSCAN + 1);
    const hadFocus = this.table.contains(document.activeElement) && document.activeElement.tagName === "TR";
    const columns = ["_id", ...this.columns, "_creationTime"];
    const rows = [];
    for (let i = from; i < to; i += 1) rows.push(this.row(i, this.rowAt(i), columns));
    replace(this.table,
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""), columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows));
    this.before.style.height = `${from * rh}px`;
    const more = this.done ? 0 : 3;
    this.after.style.height = `${Math.max(0, total - to + more) * rh}px`;
    const loaded = this.pages[0]?.rows !== null;
    this.empty.textContent = loaded && this.done && total === 0
      ? (this.view.filtered ? "No document matches the filter." : "This table is empty.") : "";
    if (!this.measured && rows.length && rows[0].dataset.id) {
      this.measured = true;
      const height = rows[0].getBoundingClientRect().height;
      if (height > 0 && Math.abs(height - rh) > 0.5) {
        this.rowHeight = height;
        this.schedule();
      }
    }
    if (hadFocus) this.table.querySelector(`tr[data-row="${this.cursor}"]`)?.focus({ preventScroll: true });
  }

  row(index, doc, columns) {
    if (!doc) {
      return h("tr", { class: "loading", "data-row": index },
        h("td", { colspan: columns.length + 1, class: "muted" }, doc === undefined ? "loading…" : ""));
    }
    const check = h("input", {
      type: "checkbox", "aria-label": `Select ${doc._id}`, checked: this.isSelected(doc._id),
      disabled: this.readOnly, "data-write": "", tabindex: -1,
      onclick: (e) => { e.stopPropagation(); this.onSelect(doc._id, check.checked); },
    });
    const classes = [this.openId === doc._id ? "selected" : "", index === this.cursor ? "cursor" : ""];
    return h("tr", {
      "data-id": doc._id, "data-row": index, tabindex: index === this.cursor ? 0 : -1,
      class: classes.join(" ").trim(),
      onclick: () => { this.cursor = index; this.onOpen(doc); },
      onfocus: () => { this.cursor = index; },
    }, h("td", {}, check), columns.map((c) => h("td", { title: cellText(doc[c]) },
      c === "_creationTime" ? time(doc[c]) : cellText(doc[c]))));
  }

  // -- keyboard ---------------------------------------------------------------------------

  key(event) {
    if (event.target.tagName !== "TR") return;
    const total = this.total();
    const visible = Math.max(1, Math.floor(this.el.clientHeight / this.rowHeight) - 1);
    const moves = {
      ArrowDown: 1, ArrowUp: -1, PageDown: visible, PageUp: -visible,
      Home: -Infinity, End: Infinity,
    };
    if (event.key in moves) {
      event.preventDefault();
      this.focusRow(Math.max(0, Math.min(total - 1, this.cursor + moves[event.key])));
    } else if (event.key === "Enter") {
      const doc = this.rowAt(this.cursor);
      if (doc) this.onOpen(doc);
    } else if (event.key === " " && !this.readOnly) {
      event.preventDefault();
      const doc = this.rowAt(this.cursor);
      if (doc) {
        this.onSelect(doc._id, !this.isSelected(doc._id));
        this.update();
      }
    }
  }

  focusRow(index) {
    this.cursor = index;
    const rh = this.rowHeight;
    const header = this.table.tHead?.getBoundingClientRect().height ?? rh;
    const top = index * rh;
    if (top < this.el.scrollTop) this.el.scrollTop = top;
    else if (top + rh > this.el.scrollTop + this.el.clientHeight - header) {
      this.el.scrollTop = top + rh - this.el.clientHeight + header;
    }
    this.update();
    this.table.querySelector(`tr[data-row="${index}"]`)?.focus({ preventScroll: true });
  }
}
