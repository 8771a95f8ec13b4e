import { v } from "convex/values";
import { api, internal } from "./_generated/api";
import { action, internalMutation, mutation, query } from "./_generated/server";

// A message sent later: the job is scheduled in the mutation's transaction.
export const remind = mutation({
  args: { channel: v.id("channels"), author: v.id("users"), body: v.string(), delayMs: v.number() },
  handler: async (ctx, { channel, author, body, delayMs }) =>
    await ctx.scheduler.runAfter(delayMs, internal.reminders.deliver, {
      channel,
      author,
      body: `reminder: ${body}`,
    }),
});

export const deliver = internalMutation({
  args: { channel: v.id("channels"), author: v.id("users"), body: v.string() },
  handler: async (ctx, args) => {
    await ctx.runMutation(api.messages.send, args);
  },
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

// An action run by the scheduler: it reads, then writes, each in its own transaction.
export const digest = action({
  args: { channel: v.id("channels"), author: v.id("users") },
  handler: async (ctx, { channel, author }) => {
    const stats = await ctx.runQuery(internal.channels.stats, { channel });
    await ctx.runMutation(api.messages.send, {
      channel,
      author,
      body: `digest: ${stats.messages} messages`,
    });
  },
});

export const scheduleDigest = mutation({
  args: { channel: v.id("channels"), author: v.id("users") },
  handler: async (ctx, args) => await ctx.scheduler.runAfter(0, api.reminders.digest, args),
});

export const beat = internalMutation({
  args: { cron: v.string() },
  handler: async (ctx, { cron }) => {
    await ctx.db.insert("heartbeats", { cron });
  },
});

export const heartbeats = query({
  args: { cron: v.string() },
  handler: async (ctx, { cron }) =>
    (await ctx.db.query("heartbeats").withIndex("by_cron", (q) => q.eq("cron", cron)).collect())
      .length,
});
