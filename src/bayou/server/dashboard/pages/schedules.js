// Schedules: recent scheduled functions (pending, running, done, failed, canceled) with
// cancel and cancel-all, and the cron jobs with their schedule and next run; live, through
// the `_system/dashboard/schedules` subscription.

import { post } from "../api.js";
import { cellText, confirmed, errorText, h, pretty, replace, time, writeButton } from "../ui.js";

export function create(ctx) {
  let shownKey = "";
  const status = h("p", { class: "error", role: "alert", id: "sched-status" });
  const jobs = h("div", { class: "grid-wrap", id: "jobs" });
  const crons = h("div", { class: "grid-wrap", id: "crons" });
  const cancelAll = writeButton(ctx, "Cancel all pending", { id: "cancel-all", class: "danger" }, async () => {
    if (!confirmed("Cancel every pending scheduled function?")) return;
    await act({ all: true });
  });
  const el = h("div", {},
    h("div", { class: "panel" }, h("h2", {}, "Scheduled functions"), h("div", { class: "toolbar" }, cancelAll), status, jobs),
    h("div", { class: "panel" }, h("h2", {}, "Cron jobs"), crons));

  async function act(body) {
    try {
      await post("/api/dashboard/schedules/cancel", body);
    } catch (e) { status.textContent = errorText(e); }
  }

  function render(data) {
    replace(jobs, data.jobs.length ? h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["id", "function", "scheduled for", "state", "completed", "args", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, data.jobs.map((j) => {
        const kind = j.state?.kind ?? "";
        const active = kind === "pending" || kind === "inProgress";
        return h("tr", { "data-job": j._id, "data-state": kind },
          h("td", { class: "mono" }, j._id), h("td", {}, String(j.name).replace(".js:", ":")),
          h("td", {}, time(j.scheduledTime)),
          h("td", { class: kind === "failed" ? "error" : "" }, kind === "inProgress" ? "running" : kind, j.state?.error ? `: ${j.state.error}` : ""),
          h("td", {}, time(j.completedTime)), h("td", { class: "mono" }, cellText(j.args?.[0])),
          h("td", {}, active ? writeButton(ctx, "Cancel", { "data-cancel": j._id }, () => act({ id: j._id })) : null));
      }))) : h("p", { class: "muted" }, "No scheduled functions."));
    replace(crons, data.crons.length ? h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["name", "function", "schedule", "time zone", "last run", "next run", "running"].map((c) => h("th", {}, c)))),
      h("tbody", {}, data.crons.map((c) => h("tr", { "data-cron": c.name },
        h("td", {}, c.name), h("td", {}, String(c.function).replace(".js:", ":")),
        h("td", { class: "mono", title: pretty(c.schedule) }, cellText(c.schedule)),
        h("td", {}, c.schedule?.timezone ?? c.schedule?.tz ?? "UTC"),
        h("td", { class: c.lastRun?.kind === "failed" ? "error" : "" },
          c.lastRunMs ? `${time(c.lastRunMs)} — ${c.lastRun?.kind ?? ""}${c.lastRun?.error ? `: ${c.lastRun.error}` : ""}` : "never"),
        h("td", {}, time(c.nextRunMs)), h("td", {}, c.running ? "yes" : ""))))) :
      h("p", { class: "muted" }, "No cron jobs (define them in convex/crons.ts)."));
  }

  const stop = ctx.sync.subscribe("_system/dashboard/schedules", {}, {
    onValue: (data) => {
      const key = JSON.stringify(data);
      if (key !== shownKey) {
        shownKey = key;
        render(data);
      }
    },
    onError: (message) => { status.textContent = message; },
  });

  return { el, stop };
}
