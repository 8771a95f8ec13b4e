import { v } from "convex/values";
import { internal } from "./_generated/api";
import { internalMutation, mutation, query } from "./_generated/server";

// One run: how late it started (its Date.now() is its start), and how it was started.
export const ran = internalMutation({
  args: { scheduledAt: v.number(), via: v.string() },
  handler: async (ctx, { scheduledAt, via }) => {
    await ctx.db.insert("runs", { lag: Date.now() - scheduledAt, via });
  },
});

export const scheduleMany = mutation({
  args: { n: v.number(), delayMs: v.number() },
  handler: async (ctx, { n, delayMs }) => {
    const at = Date.now() + delayMs;
    for (let i = 0; i < n; i++) {
      await ctx.scheduler.runAt(at, internal.sched.ran, { scheduledAt: at, via: "scheduler" });
    }
  },
});

export const stats = query({
  args: { via: v.string() },
  handler: async (ctx, { via }) => {
    const lags = (await ctx.db.query("runs").collect()).filter((r) => r.via === via).map((r) => r.lag);
    return { count: lags.length, lags };
  },
});
