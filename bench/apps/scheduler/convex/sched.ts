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
  args: { n: v.number(), delayMs: v.number(), via: v.string() },
  handler: async (ctx, { n, delayMs, via }) => {
    const at = Date.now() + delayMs;
    for (let i = 0; i < n; i++) {
      await ctx.scheduler.runAt(at, internal.sched.ran, { scheduledAt: at, via });
    }
  },
});

// How many runs `via` made, and their lags' percentiles (ms).
export const stats = query({
  args: { via: v.string() },
  handler: async (ctx, { via }) => {
    const lags = (await ctx.db.query("runs").withIndex("by_via", (q) => q.eq("via", via)).collect())
      .map((r) => r.lag)
      .sort((a, b) => a - b);
    const at = (p: number) => (lags.length ? lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] : null);
    return { count: lags.length, p50: at(50), p99: at(99), max: at(100) };
  },
});

export const count = query({
  args: { via: v.string() },
  handler: async (ctx, { via }) =>
    (await ctx.db.query("runs").withIndex("by_via", (q) => q.eq("via", via)).collect()).length,
});
