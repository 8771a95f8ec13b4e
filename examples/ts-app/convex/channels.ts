import { ConvexError, v } from "convex/values";
import { internalQuery, mutation, query } from "./_generated/server";

export const create = mutation({
  args: { name: v.string(), topic: v.optional(v.string()) },
  handler: async (ctx, { name, topic }) => {
    const existing = await ctx.db
      .query("channels")
      .withIndex("by_name", (q) => q.eq("name", name))
      .first();
    if (existing !== null) {
      throw new ConvexError({ code: "CHANNEL_EXISTS", name });
    }
    const channel = topic === undefined ? { name, lastSeq: 0 } : { name, topic, lastSeq: 0 };
    return await ctx.db.insert("channels", channel);
  },
});

export const list = query({
  args: {},
  handler: async (ctx) => {
    const channels = await ctx.db.query("channels").withIndex("by_name").order("asc").collect();
    return channels.map((c) => ({ name: c.name, topic: c.topic ?? null, messages: c.lastSeq }));
  },
});

export const byName = query({
  args: { name: v.string() },
  handler: async (ctx, { name }) =>
    await ctx.db
      .query("channels")
      .withIndex("by_name", (q) => q.eq("name", name))
      .unique(),
});

export const stats = internalQuery({
  args: { channel: v.id("channels") },
  handler: async (ctx, { channel }) => {
    const messages = await ctx.db
      .query("messages")
      .withIndex("by_channel_seq", (q) => q.eq("channel", channel))
      .collect();
    let likes = 0;
    for (const m of messages) likes += m.likes;
    return { messages: messages.length, likes };
  },
});
