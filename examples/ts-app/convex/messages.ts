import { paginationOptsValidator } from "convex/server";
import { ConvexError, v } from "convex/values";
import { internalMutation, mutation, query } from "./_generated/server";

export const send = mutation({
  args: { channel: v.id("channels"), author: v.id("users"), body: v.string() },
  handler: async (ctx, { channel, author, body }) => {
    const text = body.trim();
    if (text === "") {
      throw new ConvexError({ code: "EMPTY_MESSAGE" });
    }
    const target = await ctx.db.get(channel);
    if (target === null) {
      throw new ConvexError({ code: "NO_SUCH_CHANNEL", channel });
    }
    const user = await ctx.db.get(author);
    if (user === null) {
      throw new ConvexError({ code: "NO_SUCH_USER", author });
    }
    const seq = target.lastSeq + 1;
    await ctx.db.patch(channel, { lastSeq: seq });
    const id = await ctx.db.insert("messages", { channel, author, body: text, seq, likes: 0 });
    console.log("message", seq, "in", target.name, "by", user.name);
    return { id, seq };
  },
});

export const list = query({
  args: { channel: v.id("channels"), limit: v.optional(v.number()) },
  handler: async (ctx, { channel, limit }) => {
    const messages = await ctx.db
      .query("messages")
      .withIndex("by_channel_seq", (q) => q.eq("channel", channel))
      .order("desc")
      .take(limit ?? 20);
    return messages.map((m) => ({ seq: m.seq, body: m.body, likes: m.likes }));
  },
});

export const range = query({
  args: { channel: v.id("channels"), from: v.number(), to: v.number() },
  handler: async (ctx, { channel, from, to }) => {
    const messages = await ctx.db
      .query("messages")
      .withIndex("by_channel_seq", (q) =>
        q.eq("channel", channel).gte("seq", from).lt("seq", to),
      )
      .collect();
    return messages.map((m) => m.body);
  },
});

export const popular = query({
  args: { channel: v.id("channels"), minLikes: v.number() },
  handler: async (ctx, { channel, minLikes }) => {
    const messages = await ctx.db
      .query("messages")
      .withIndex("by_channel_seq", (q) => q.eq("channel", channel))
      .filter((q) => q.and(q.gte(q.field("likes"), minLikes), q.neq(q.field("body"), "")))
      .collect();
    return messages.map((m) => ({ seq: m.seq, likes: m.likes }));
  },
});

export const byAuthor = query({
  args: { author: v.id("users"), channel: v.optional(v.id("channels")) },
  handler: async (ctx, { author, channel }) => {
    let messages = ctx.db.query("messages").withIndex("by_author", (q) => q.eq("author", author));
    if (channel !== undefined) {
      messages = messages.filter((q) => q.eq(q.field("channel"), channel));
    }
    return (await messages.collect()).map((m) => m.body);
  },
});

export const page = query({
  args: { channel: v.id("channels"), paginationOpts: paginationOptsValidator },
  handler: async (ctx, { channel, paginationOpts }) => {
    const result = await ctx.db
      .query("messages")
      .withIndex("by_channel_seq", (q) => q.eq("channel", channel))
      .paginate(paginationOpts);
    return {
      bodies: result.page.map((m) => m.body),
      isDone: result.isDone,
      continueCursor: result.continueCursor,
    };
  },
});

export const like = mutation({
  args: { id: v.id("messages") },
  handler: async (ctx, { id }) => {
    const message = await ctx.db.get(id);
    if (message === null) {
      throw new ConvexError({ code: "NOT_FOUND" });
    }
    const likes = message.likes + 1;
    await ctx.db.patch(id, { likes });
    return likes;
  },
});

export const edit = mutation({
  args: { id: v.id("messages"), body: v.string() },
  handler: async (ctx, { id, body }) => {
    const message = await ctx.db.get(id);
    if (message === null) {
      throw new ConvexError({ code: "NOT_FOUND" });
    }
    await ctx.db.replace(id, { ...message, body, likes: 0 });
    return null;
  },
});

export const remove = mutation({
  args: { id: v.id("messages") },
  handler: async (ctx, { id }) => {
    await ctx.db.delete(id);
    return null;
  },
});

export const purge = internalMutation({
  args: { channel: v.id("channels") },
  handler: async (ctx, { channel }) => {
    const messages = await ctx.db
      .query("messages")
      .withIndex("by_channel_seq", (q) => q.eq("channel", channel))
      .collect();
    for (const m of messages) await ctx.db.delete(m._id);
    return messages.length;
  },
});
