import { ConvexError, v } from "convex/values";
import { internalMutation, mutation, query } from "./_generated/server";
import { api } from "./_generated/api";

export const byAuthor = query({
  args: { author: v.string(), minLikes: v.optional(v.number()) },
  handler: async (ctx, { author, minLikes }) => {
    return await ctx.db
      .query("messages")
      .withIndex("by_author", (q) => q.eq("author", author))
      .filter((q) => q.gte(q.field("likes"), minLikes ?? 0))
      .collect();
  },
});

export const get = query({
  args: { id: v.id("messages") },
  returns: v.union(v.null(), v.any()),
  handler: async (ctx, { id }) => await ctx.db.get(id),
});

export const send = mutation({
  args: { author: v.string(), body: v.string() },
  handler: async (ctx, { author, body }) => {
    console.log("sending", { author, length: body.length });
    return await ctx.db.insert("messages", { author, body, likes: 0 });
  },
});

export const like = mutation({
  args: { id: v.id("messages") },
  handler: async (ctx, { id }) => {
    const message = await ctx.db.get(id);
    if (message === null) {
      throw new ConvexError({ code: "NOT_FOUND", id });
    }
    await ctx.db.patch(id, { likes: message.likes + 1 });
    return message.likes + 1;
  },
});

export const edit = mutation({
  args: { id: v.id("messages"), body: v.string() },
  handler: async (ctx, { id, body }) => {
    const message = await ctx.db.get(id);
    if (message === null) throw new Error(`no message ${id}`);
    await ctx.db.replace(id, { author: message.author, body, likes: message.likes });
  },
});

export const remove = mutation({
  args: { id: v.id("messages") },
  handler: async (ctx, { id }) => {
    await ctx.db.delete(id);
    return null;
  },
});

export const transfer = mutation({
  args: { from: v.id("counters"), to: v.id("counters"), amount: v.number() },
  handler: async (ctx, { from, to, amount }) => {
    const a = await ctx.db.get(from);
    const b = await ctx.db.get(to);
    if (a === null || b === null) throw new Error("missing counter");
    await ctx.db.patch(from, { value: a.value - amount });
    await ctx.db.patch(to, { value: b.value + amount });
  },
});

// A read, a write, and the same read again: what the second read sees after the write.
export const bump = mutation({
  args: { id: v.id("counters") },
  handler: async (ctx, { id }) => {
    const before = await ctx.db.get(id);
    if (before === null) throw new Error("missing counter");
    await ctx.db.patch(id, { value: before.value + 1 });
    return (await ctx.db.get(id))?.value ?? null;
  },
});

export const resetAll = internalMutation({
  args: {},
  handler: async (ctx) => {
    const all = await ctx.db.query("messages").collect();
    for (const m of all) await ctx.db.delete(m._id);
    return all.length;
  },
});

export const normalize = query({
  args: { id: v.string() },
  handler: async (ctx, { id }) => ctx.db.normalizeId("messages", id),
});

export const sendTwice = mutation({
  args: { author: v.string(), body: v.string() },
  handler: async (ctx, args): Promise<number> => {
    await ctx.runMutation(api.messages.send, args);
    await ctx.runMutation(api.messages.send, args);
    const all: unknown[] = await ctx.runQuery(api.messages.byAuthor, { author: args.author });
    return all.length;
  },
});

export const firstAndTwoBy = query({
  args: { author: v.string() },
  handler: async (ctx, { author }) => {
    const byAuthor = () =>
      ctx.db.query("messages").withIndex("by_author", (q) => q.eq("author", author));
    const first = await byAuthor().first();
    const two = await byAuthor().take(2);
    return { first: first?.body ?? null, two: two.map((m) => m.body) };
  },
});
