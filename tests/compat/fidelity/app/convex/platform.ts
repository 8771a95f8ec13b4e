import { log } from "convex/server";
import { v } from "convex/values";
import { action, mutation, query } from "./_generated/server";

// Read at import time, with the deployment's environment variables (also during a push).
const greeting = process.env.FIDELITY_GREETING ?? "unset";

export const greetingAtImport = query({ args: {}, handler: async () => greeting });

export const whoName = query({
  args: {},
  handler: async (ctx) => (await ctx.auth.getUserIdentity())?.name ?? null,
});

export const scheduledCount = query({
  args: {},
  handler: async (ctx) => (await ctx.db.system.query("_scheduled_functions").collect()).length,
});

export const insertNote = mutation({
  args: { body: v.string() },
  handler: async (ctx, { body }) => await ctx.db.insert("notes", { body }),
});

export const systemGet = query({
  args: { id: v.string() },
  handler: async (ctx, { id }) => await ctx.db.system.get(id as any),
});

export const readSystemTable = query({
  args: { table: v.string() },
  handler: async (ctx, { table }) => await ctx.db.system.query(table as any).collect(),
});

export const urls = query({
  args: {},
  handler: async () => [process.env.CONVEX_CLOUD_URL ?? null, process.env.CONVEX_SITE_URL ?? null],
});

export const urlsInAction = action({
  args: {},
  handler: async () => [process.env.CONVEX_CLOUD_URL ?? null, process.env.CONVEX_SITE_URL ?? null],
});

export const requestMetadata = mutation({
  args: {},
  handler: async (ctx) => await ctx.meta.getRequestMetadata(),
});

export const audited = mutation({
  args: { what: v.string() },
  handler: async (ctx, { what }) => {
    await log.audit({ action: what, requestId: log.vars.requestId });
    return "logged";
  },
});

export const auditedInAction = action({
  args: {},
  handler: async () => {
    await log.audit({ action: "nope" });
  },
});

export const stampNote = mutation({
  args: {},
  handler: async (ctx) => {
    const commitTs = (ctx.db as any).vars.commitTs;
    const id = await ctx.db.insert("notes", { body: "stamped", stamp: commitTs });
    const pending = await ctx.db
      .query("notes")
      .withIndex("by_stamp", (q) => q.eq("stamp", commitTs))
      .collect();
    return { id, ts: commitTs, foundPending: pending.map((d) => d._id) };
  },
});

export const getNote = query({
  args: { id: v.id("notes") },
  handler: async (ctx, { id }) => await ctx.db.get(id),
});

export const sleepy = action({
  args: {},
  handler: async () => {
    await new Promise((resolve) => setTimeout(resolve, 30_000));
  },
});

// Runs away (and is stopped at its time limit) until `until`, then answers: a stand-in for
// a query that fails for the system's reasons for a while (saturated workers).
export const spinUntil = query({
  args: { until: v.number() },
  handler: async (_ctx, { until }) => {
    while (Date.now() < until) {
      // spin
    }
    return "recovered";
  },
});
