import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();

crons.interval("clear messages", { minutes: 5 }, internal.messages.resetAll, {});
crons.daily("nightly", { hourUTC: 3, minuteUTC: 30 }, internal.messages.resetAll);

export default crons;
