// Backups: the deployment's backup ZIPs (`bayou backup`), one now, and download.

import { call, get, post, query } from "../api.js";
import { bytes, confirmed, errorText, h, replace, time, writeButton } from "../ui.js";

export function create(ctx) {
  let shownKey = "";
  const status = h("p", { role: "status", id: "backup-status" });
  const now = writeButton(ctx, "Back up now", { id: "backup-now", class: "primary" }, async () => {
    now.disabled = true;
    status.className = "muted";
    status.textContent = "Backing up…";
    try {
      const made = await post("/api/bayou/backups");
      status.className = "ok";
      status.textContent = `Backup written: ${made.backup.name} (${bytes(made.backup.size)})`;
      shownKey = "";
      await refresh();
    } catch (e) {
      status.className = "error";
      status.textContent = errorText(e);
    } finally {
      now.disabled = ctx.readOnly;
    }
  });
  const exporting = snapshotExport(ctx);
  const importing = snapshotImport(ctx);
  const dir = h("p", { class: "muted", id: "backup-dir" });
  const list = h("div", { class: "grid-wrap", id: "backups" });
  const el = h("div", {}, h("div", { class: "panel" }, h("h2", {}, "Backups"),
    h("p", { class: "muted" }, "A backup is a snapshot export ZIP (tables and files) that ",
      h("code", {}, "bayou restore"), " and ", h("code", {}, "npx convex import"), " read back. Scheduled backups: --backup-schedule."),
    h("div", { class: "toolbar" }, now), status, dir, list), exporting.el, importing.el);

  async function download(name) {
    await save(`/api/dashboard/backups/${encodeURIComponent(name)}`, name, status);
  }

  function render(data) {
    dir.textContent = `Directory: ${data.directory}. ` + (data.schedule
      ? `Scheduled: ${data.schedule} (UTC), the newest ${data.keep} kept; next ${time(Date.parse(data.next))}.`
      : "No schedule (BAYOU_BACKUP_SCHEDULE).");
    replace(list, data.backups.length ? h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["name", "size", "created", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, [...data.backups].reverse().map((b) => h("tr", { "data-backup": b.name },
        h("td", { class: "mono" }, b.name), h("td", {}, bytes(b.size)),
        h("td", {}, time(Date.parse(b.created))),
        h("td", {}, h("button", { "data-download": b.name, onclick: () => download(b.name) }, "Download")))))) :
      h("p", { class: "muted" }, "No backups yet."));
  }

  async function refresh() {
    const data = await get("/api/bayou/backups");
    const key = JSON.stringify(data);
    if (key !== shownKey) {
      shownKey = key;
      render(data);
    }
  }

  return { el, refresh: async () => { await refresh(); await exporting.refresh(); } };
}

// Fetch with the key in the header, then hand the bytes to the browser as a download:
// the key never goes into a URL.
async function save(path, name, status) {
  try {
    const response = await call("GET", path, undefined, { raw: true });
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.className = "ok";
    status.textContent = `Downloaded ${name} (${bytes(blob.size)})`;
  } catch (e) {
    status.className = "error";
    status.textContent = errorText(e);
  }
}

const systemQuery = (path, args = {}) =>
  post("/api/function", { path, args, format: "json" }).then((answer) => {
    if (answer.status !== "success") throw new Error(answer.errorMessage);
    return answer.value;
  });

// Snapshot export (what `npx convex export` makes), with or without the files.
function snapshotExport(ctx) {
  const withFiles = h("input", { type: "checkbox", id: "export-files" });
  const status = h("p", { id: "export-status", role: "status" });
  const start = writeButton(ctx, "Export now", { id: "export-now" }, async () => {
    try {
      await call("POST", `/api/export/request/zip${query({ includeStorage: withFiles.checked })}`, undefined, { raw: true });
      status.className = "muted";
      status.textContent = "Export requested…";
    } catch (e) {
      status.className = "error";
      status.textContent = errorText(e);
    }
  });
  const link = h("span", {});
  const el = h("div", { class: "panel" }, h("h2", {}, "Snapshot export"),
    h("div", { class: "toolbar" }, h("label", {}, withFiles, " include files"), start, link), status);
  let shown = "";
  async function refresh() {
    const latest = await systemQuery("_system/cli/exports:getLatest");
    const key = JSON.stringify(latest);
    if (key === shown) return;
    shown = key;
    if (!latest) { status.textContent = "No export yet."; replace(link); return; }
    const state = latest.state;
    status.className = state === "failed" ? "error" : state === "completed" ? "ok" : "muted";
    status.textContent = state === "completed"
      ? `Latest export completed (${latest.requestor}) — ${bytes(Number(latest.size ?? 0))}`
      : `Latest export: ${state}${latest.progress_message ? ` — ${latest.progress_message}` : ""}`;
    replace(link, state === "completed"
      ? h("button", { id: "export-download", onclick: () => save(`/api/export/zip/${latest._id}`, `snapshot-${latest._id}.zip`, status) }, "Download")
      : null);
  }
  return { el, refresh };
}

// Snapshot import (what `npx convex import` does): upload in parts, confirm, apply.
function snapshotImport(ctx) {
  const PART = 5 * 1024 * 1024;
  const file = h("input", { type: "file", id: "import-file", accept: ".zip,.csv,.jsonl,.json", disabled: ctx.readOnly, "data-write": "", "aria-label": "File to import" });
  const table = h("input", { id: "import-table", placeholder: "table (CSV, JSONL, JSON)", disabled: ctx.readOnly, "data-write": "", "aria-label": "Table to import into" });
  const mode = h("select", { id: "import-mode", disabled: ctx.readOnly, "data-write": "", "aria-label": "Import mode" },
    [["requireEmpty", "only into empty tables"], ["append", "append"], ["replace", "replace the tables"], ["replaceAll", "replace all tables"]]
      .map(([v, l]) => h("option", { value: v }, l)));
  const status = h("p", { id: "import-status", role: "status" });
  const go = writeButton(ctx, "Import", { id: "import-start", class: "primary" }, () => run().catch((e) => {
    status.className = "error";
    status.textContent = errorText(e);
  }));
  async function run() {
    const chosen = file.files?.[0];
    if (!chosen) throw new Error("Choose a file first.");
    const ext = chosen.name.split(".").pop().toLowerCase();
    const format = { zip: "zip", csv: "csv", jsonl: "jsonLines", json: "jsonArray" }[ext];
    if (!format) throw new Error("Import a .zip, .csv, .jsonl or .json file.");
    if (format !== "zip" && !table.value.trim()) throw new Error("Name the table to import into.");
    status.className = "muted";
    const { uploadToken } = await post("/api/import/start_upload");
    const partTokens = [];
    for (let offset = 0, n = 1; offset < chosen.size || n === 1; offset += PART, n += 1) {
      status.textContent = `Uploading ${bytes(Math.min(offset, chosen.size))} of ${bytes(chosen.size)}…`;
      const response = await call("POST", `/api/import/upload_part${query({ uploadToken, partNumber: n })}`, undefined, { raw: true, bytes: chosen.slice(offset, offset + PART) });
      partTokens.push(await response.json());
    }
    const spec = { format, mode: mode.value, ...(format === "zip" ? {} : { tableName: table.value.trim() }) };
    const { importId } = await post("/api/import/finish_upload", { import: spec, uploadToken, partTokens });
    let confirmedOnce = false;
    for (;;) {
      const row = await systemQuery("_system/cli/queryImport", { importId });
      const state = row?.state ?? {};
      if (state.state === "waiting_for_confirmation" && !confirmedOnce) {
        status.textContent = state.message_to_confirm ?? "Ready to import.";
        if (!confirmed(`${state.message_to_confirm ?? "Import?"}\n\nApply this import?`)) {
          await post("/api/cancel_import", { importId });
          status.textContent = "Import canceled.";
          return;
        }
        confirmedOnce = true;
        await post("/api/perform_import", { importId });
      } else if (state.state === "completed") {
        status.className = "ok";
        status.textContent = `Import completed: ${Number(state.num_rows_written ?? 0)} rows written.`;
        return;
      } else if (state.state === "failed") {
        status.className = "error";
        status.textContent = `Import failed: ${state.error_message}`;
        return;
      } else {
        status.textContent = state.progress_message ?? `Import ${state.state ?? "starting"}…`;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  const el = h("div", { class: "panel" }, h("h2", {}, "Import"),
    h("p", { class: "muted" }, "A snapshot ZIP (from an export or a backup), or one table as CSV, JSON Lines or a JSON array."),
    h("div", { class: "toolbar" }, file, table, mode, go), status);
  return { el };
}
