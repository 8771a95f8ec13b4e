import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

// One of every kind. An interval cron runs first at deploy time, then every period.
const crons = cronJobs();
crons.interval("pulse", { minutes: 1 }, internal.reminders.beat, { cron: "pulse" });
crons.hourly("hourly", { minuteUTC: 7 }, internal.reminders.beat, { cron: "hourly" });
crons.daily("daily", { hourUTC: 3, minuteUTC: 30 }, internal.reminders.beat, { cron: "daily" });
crons.weekly(
  "weekly",
  { dayOfWeek: "monday", hourUTC: 9, minuteUTC: 0 },
  internal.reminders.beat,
  { cron: "weekly" },
);
crons.monthly("monthly", { day: 1, hourUTC: 0, minuteUTC: 0 }, internal.reminders.beat, {
  cron: "monthly",
});
crons.cron("weekdays", "0 9 * * 1-5", internal.reminders.beat, { cron: "weekdays" });
export default crons;
