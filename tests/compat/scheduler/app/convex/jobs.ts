import { v } from "convex/values";
import { api, internal } from "./_generated/api";
import { action, internalMutation, mutation, query } from "./_generated/server";

export const record = internalMutation({
  args: { kind: v.string(), note: v.optional(v.string()) },
  handler: async (ctx, args) => {
    await ctx.db.insert("events", args);
  },
});

export const count = query({
  args: { kind: v.string() },
  handler: async (ctx, { kind }) =>
    (await ctx.db.query("events").withIndex("by_kind", (q) => q.eq("kind", kind)).collect()).length,
});

export const notes = query({
  args: { kind: v.string() },
  handler: async (ctx, { kind }) =>
    (await ctx.db.query("events").withIndex("by_kind", (q) => q.eq("kind", kind)).collect()).map(
      (e) => e.note ?? null,
    ),
});

export const scheduleRecord = mutation({
  args: { kind: v.string(), delayMs: v.number(), fail: v.optional(v.boolean()) },
  handler: async (ctx, { kind, delayMs, fail }) => {
    const id = await ctx.scheduler.runAfter(delayMs, internal.jobs.record, { kind, note: "later" });
    if (fail) throw new Error("changed my mind");
    return id;
  },
});

export const scheduleAt = mutation({
  args: { kind: v.string(), at: v.number() },
  handler: async (ctx, { kind, at }) => await ctx.scheduler.runAt(at, internal.jobs.record, { kind }),
});

export const cancel = mutation({
  args: { id: v.id("_scheduled_functions") },
  handler: async (ctx, { id }) => {
    await ctx.scheduler.cancel(id);
  },
});

export const job = query({
  args: { id: v.id("_scheduled_functions") },
  handler: async (ctx, { id }) => await ctx.db.system.get(id),
});

export const jobs = query({
  args: {},
  handler: async (ctx) => await ctx.db.system.query("_scheduled_functions").collect(),
});

export const slowAction = action({
  args: { kind: v.string(), ms: v.number() },
  handler: async (ctx, { kind, ms }) => {
    await ctx.runMutation(internal.jobs.record, { kind, note: "started" });
    await new Promise((resolve) => setTimeout(resolve, ms));
    await ctx.runMutation(internal.jobs.record, { kind, note: "finished" });
    return "done";
  },
});

export const scheduleAction = mutation({
  args: { kind: v.string(), ms: v.number() },
  handler: async (ctx, { kind, ms }) => await ctx.scheduler.runAfter(0, api.jobs.slowAction, { kind, ms }),
});

export const scheduleFromAction = action({
  args: { kind: v.string() },
  handler: async (ctx, { kind }) => {
    const id = await ctx.scheduler.runAfter(0, internal.jobs.record, { kind, note: "from action" });
    return id;
  },
});

export const scheduleMissing = mutation({
  args: {},
  handler: async (ctx) => await ctx.scheduler.runAfter(0, "jobs:nope" as any, {}),
});

export const scheduleBadArgs = mutation({
  args: {},
  handler: async (ctx) => await ctx.scheduler.runAfter(0, internal.jobs.record, { kind: 5 } as any),
});

export const failing = internalMutation({
  args: {},
  handler: async () => {
    throw new Error("job boom");
  },
});

export const scheduleFailing = mutation({
  args: {},
  handler: async (ctx) => await ctx.scheduler.runAfter(0, internal.jobs.failing, {}),
});

export const sleepThenSchedule = action({
  args: { kind: v.string(), ms: v.number() },
  handler: async (ctx, { kind, ms }) => {
    await ctx.runMutation(internal.jobs.record, { kind, note: "started" });
    await new Promise((resolve) => setTimeout(resolve, ms));
    return await ctx.scheduler.runAfter(0, internal.jobs.record, { kind, note: "scheduled late" });
  },
});

export const scheduleSleeper = mutation({
  args: { kind: v.string(), ms: v.number() },
  handler: async (ctx, args) => await ctx.scheduler.runAfter(0, api.jobs.sleepThenSchedule, args),
});
