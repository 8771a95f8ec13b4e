import { ActionRetrier } from "@convex-dev/action-retrier";
import { TableAggregate } from "@convex-dev/aggregate";
import { MINUTE, RateLimiter } from "@convex-dev/rate-limiter";
import { ShardedCounter } from "@convex-dev/sharded-counter";
import { Workpool } from "@convex-dev/workpool";
import { v } from "convex/values";
import { components, internal } from "./_generated/api";
import { DataModel } from "./_generated/dataModel";
import { action, internalAction, internalMutation, mutation, query } from "./_generated/server";

// @convex-dev/sharded-counter
const counter = new ShardedCounter(components.shardedCounter);
export const increment = mutation({
  args: { key: v.string() },
  handler: async (ctx, { key }) => {
    await counter.inc(ctx, key);
  },
});
export const count = query({
  args: { key: v.string() },
  handler: async (ctx, { key }) => await counter.count(ctx, key),
});

// @convex-dev/aggregate
const scores = new TableAggregate<{ Key: number; DataModel: DataModel; TableName: "scores" }>(
  components.aggregate,
  { sortKey: (doc) => doc.score, sumValue: (doc) => doc.score },
);
export const addScore = mutation({
  args: { name: v.string(), score: v.number() },
  handler: async (ctx, args) => {
    const id = await ctx.db.insert("scores", args);
    await scores.insert(ctx, (await ctx.db.get(id))!);
    return id;
  },
});
export const scoreStats = query({
  args: {},
  handler: async (ctx) => ({ count: await scores.count(ctx), sum: await scores.sum(ctx) }),
});
export const recount = query({
  args: {},
  handler: async (ctx) => {
    const all = await ctx.db.query("scores").collect();
    return { count: all.length, sum: all.reduce((s, d) => s + d.score, 0) };
  },
});

// @convex-dev/rate-limiter
const limiter = new RateLimiter(components.rateLimiter, {
  send: { kind: "fixed window", rate: 3, period: MINUTE },
});
export const send = mutation({
  args: { user: v.string() },
  handler: async (ctx, { user }) => (await limiter.limit(ctx, "send", { key: user })).ok,
});

// @convex-dev/workpool
const pool = new Workpool(components.workpool, { maxParallelism: 3 });
export const enqueueMany = mutation({
  args: { n: v.number() },
  handler: async (ctx, { n }) => {
    for (let i = 0; i < n; i++) await pool.enqueueMutation(ctx, internal.app.work, { i });
  },
});
export const work = internalMutation({
  args: { i: v.number() },
  handler: async (ctx, { i }) => {
    await ctx.db.insert("jobsDone", { i });
  },
});
export const jobsDone = query({
  args: {},
  handler: async (ctx) => (await ctx.db.query("jobsDone").collect()).map((d) => d.i),
});

// @convex-dev/action-retrier
const retrier = new ActionRetrier(components.actionRetrier, {
  initialBackoffMs: 50,
  base: 2,
  maxFailures: 4,
});
export const bumpAttempt = internalMutation({
  args: { key: v.string() },
  handler: async (ctx, { key }) => {
    const row = await ctx.db
      .query("attempts")
      .withIndex("by_key", (q) => q.eq("key", key))
      .unique();
    if (row === null) {
      await ctx.db.insert("attempts", { key, n: 1 });
      return 1;
    }
    await ctx.db.patch(row._id, { n: row.n + 1 });
    return row.n + 1;
  },
});
export const flaky = internalAction({
  args: { key: v.string(), failTimes: v.number() },
  handler: async (ctx, { key, failTimes }): Promise<number> => {
    const attempt: number = await ctx.runMutation(internal.app.bumpAttempt, { key });
    if (attempt <= failTimes) throw new Error(`attempt ${attempt} fails`);
    return attempt;
  },
});
export const startFlaky = mutation({
  args: { key: v.string(), failTimes: v.number() },
  handler: async (ctx, args): Promise<string> => await retrier.run(ctx, internal.app.flaky, args),
});
export const retryStatus = query({
  args: { runId: v.string() },
  handler: async (ctx, { runId }) => await retrier.status(ctx, runId as any),
});

// The app's own component, twice.
export const addNote = mutation({
  args: { text: v.string(), other: v.optional(v.boolean()) },
  handler: async (ctx, { text, other }) =>
    await ctx.runMutation(other ? components.otherNotes.lib.add : components.notes.lib.add, {
      text,
    }),
});
export const listNotes = query({
  args: { other: v.optional(v.boolean()) },
  handler: async (ctx, { other }) =>
    await ctx.runQuery(other ? components.otherNotes.lib.list : components.notes.lib.list, {}),
});
export const notesPeek = query({
  args: { table: v.string(), id: v.optional(v.string()) },
  handler: async (ctx, args) => await ctx.runQuery(components.notes.lib.peek, args),
});

// Bad calls across the boundary: Convex's errors, nothing written.
export const addNoteUnchecked = mutation({
  args: { text: v.any() },
  handler: async (ctx, { text }) => await ctx.runMutation(components.notes.lib.add, { text }),
});
export const callMissing = query({
  args: {},
  handler: async (ctx) => await ctx.runQuery((components.notes as any).lib.nope, {}),
});

// The component's files, reached through its functions; the app's `_storage` is another.
export const storeNoteFile = action({
  args: { text: v.string() },
  handler: async (ctx, { text }): Promise<{ id: string; url: string | null }> =>
    await ctx.runAction(components.notes.files.storeText, { text }),
});
export const noteFileUrl = query({
  args: { id: v.string() },
  handler: async (ctx, { id }) => await ctx.runQuery(components.notes.files.url, { id }),
});
export const removeNoteFile = mutation({
  args: { id: v.string() },
  handler: async (ctx, { id }) => await ctx.runMutation(components.notes.files.remove, { id }),
});
export const noteUploadUrl = mutation({
  args: {},
  handler: async (ctx): Promise<string> =>
    await ctx.runMutation(components.notes.files.uploadUrl, {}),
});
export const appFileUrl = query({
  args: { id: v.string() },
  handler: async (ctx, { id }) => await ctx.storage.getUrl(id as any),
});
