// Files: stored files with size, type and a preview of images; upload, download, delete.
// The shown page is a live subscription (`_system/dashboard/files`).

import { local, post } from "../api.js";
import { bytes, confirmed, int64, errorText, h, replace, time, writeButton } from "../ui.js";

export function create(ctx) {
  let shownKey = "";
  let unsubscribe = null;
  const cursors = [null];
  let pageNo = 0;
  let last = null;
  const status = h("p", { class: "error", role: "alert", id: "files-status" });
  const input = h("input", { type: "file", id: "file-input", "aria-label": "File to upload", disabled: ctx.readOnly, "data-write": "" });
  const upload = writeButton(ctx, "Upload", { id: "file-upload", class: "primary" }, async () => {
    const file = input.files?.[0];
    if (!file) { status.textContent = "Choose a file first."; return; }
    try {
      status.textContent = "";
      const { url } = await post("/api/dashboard/files/upload_url");
      const response = await fetch(local(url), { method: "POST", body: file, headers: file.type ? { "Content-Type": file.type } : {} });
      if (!response.ok) throw new Error(`upload failed: ${response.status} ${await response.text()}`);
      input.value = "";
    } catch (e) { status.textContent = errorText(e); }
  });
  const list = h("div", { class: "grid-wrap", id: "files" });
  const prev = h("button", { onclick: () => { if (pageNo > 0) { pageNo -= 1; watch(); } } }, "← Previous");
  const next = h("button", { onclick: () => { if (last && !last.isDone) { cursors[pageNo + 1] = last.continueCursor; pageNo += 1; watch(); } } }, "Next →");
  const el = h("div", { class: "panel" }, h("h2", {}, "Files"),
    h("div", { class: "toolbar" }, input, upload), status, list, h("div", { class: "toolbar" }, prev, next));

  async function remove(id) {
    if (!confirmed(`Delete file ${id}?`)) return;
    try {
      await post("/api/dashboard/files/delete", { ids: [id] });
    } catch (e) { status.textContent = errorText(e); }
  }

  function render(result) {
    replace(list, result.page.length ? h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["", "id", "size", "type", "uploaded", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, result.page.map((f) => {
        const href = f.url ? local(f.url) : null;
        const image = href && /^image\//.test(f.contentType ?? "");
        return h("tr", { "data-file": f._id },
          h("td", {}, image ? h("img", { class: "preview", src: href, alt: "preview" }) : null),
          h("td", { class: "mono" }, f._id),
          h("td", {}, bytes(int64(f.size))),
          h("td", {}, f.contentType ?? ""),
          h("td", {}, time(f._creationTime)),
          h("td", {}, h("div", { class: "row" },
            href ? h("a", { href, download: "", "data-download": f._id }, "Download") : null,
            writeButton(ctx, "Delete", { class: "danger", "data-delete": f._id }, () => remove(f._id)))));
      }))) : h("p", { class: "muted" }, "No files stored."));
    prev.disabled = pageNo === 0;
    next.disabled = result.isDone;
  }

  function watch() {
    unsubscribe?.();
    shownKey = "";
    unsubscribe = ctx.sync.subscribe("_system/dashboard/files", { paginationOpts: { numItems: 50, cursor: cursors[pageNo] } }, {
      onValue: (result) => {
        last = result;
        const key = JSON.stringify([result.page, result.isDone]);
        if (key !== shownKey) {
          shownKey = key;
          render(result);
        }
      },
      onError: (message) => { status.textContent = message; },
    });
  }

  watch();
  return { el, stop: () => unsubscribe?.() };
}
