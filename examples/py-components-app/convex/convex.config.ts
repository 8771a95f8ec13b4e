import { defineApp } from "convex/server";
import rateLimiter from "@convex-dev/rate-limiter/convex.config";
import shardedCounter from "@convex-dev/sharded-counter/convex.config";
import notes from "./notes/convex.config";

const app = defineApp();
app.use(shardedCounter);
app.use(rateLimiter);
app.use(notes);
export default app;
