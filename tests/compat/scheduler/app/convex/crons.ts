import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();
crons.interval("tick", { seconds: 1 }, internal.jobs.record, { kind: "tick" });
crons.daily("nightly", { hourUTC: 3, minuteUTC: 0 }, internal.jobs.record, { kind: "nightly" });
crons.cron("weekdays", "0 9 * * 1-5", internal.jobs.record, { kind: "weekdays" });
export default crons;
