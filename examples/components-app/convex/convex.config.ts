import { defineApp } from "convex/server";
import actionRetrier from "@convex-dev/action-retrier/convex.config";
import aggregate from "@convex-dev/aggregate/convex.config";
import rateLimiter from "@convex-dev/rate-limiter/convex.config";
import shardedCounter from "@convex-dev/sharded-counter/convex.config";
import workpool from "@convex-dev/workpool/convex.config";
import notes from "./notes/convex.config";

const app = defineApp();
app.use(shardedCounter);
app.use(aggregate);
app.use(rateLimiter);
app.use(workpool);
app.use(actionRetrier);
// A component of the app's own, installed twice: two instances, two sets of tables.
app.use(notes);
app.use(notes, { name: "otherNotes" });
export default app;
