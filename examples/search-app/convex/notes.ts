import { paginationOptsValidator } from "convex/server";
import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const add = mutation({
  args: { body: v.string(), channel: v.string() },
  handler: async (ctx, args) => ctx.db.insert("notes", args),
});

export const search = query({
  args: {
    text: v.string(),
    channel: v.optional(v.string()),
    limit: v.optional(v.number()),
  },
  handler: async (ctx, { text, channel, limit }) => {
    const docs = await ctx.db
      .query("notes")
      .withSearchIndex("search_body", (q) =>
        channel === undefined
          ? q.search("body", text)
          : q.search("body", text).eq("channel", channel),
      )
      .take(limit ?? 10);
    return docs.map((d) => d.body);
  },
});

export const searchThenFilter = query({
  args: { text: v.string(), notChannel: v.string() },
  handler: async (ctx, { text, notChannel }) => {
    const docs = await ctx.db
      .query("notes")
      .withSearchIndex("search_body", (q) => q.search("body", text))
      .filter((q) => q.neq(q.field("channel"), notChannel))
      .collect();
    return docs.map((d) => d.body);
  },
});

export const page = query({
  args: { text: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, { text, paginationOpts }) => {
    const result = await ctx.db
      .query("notes")
      .withSearchIndex("search_body", (q) => q.search("body", text))
      .paginate(paginationOpts);
    return { ...result, page: result.page.map((d) => d.body) };
  },
});

export const addAndSearch = mutation({
  args: { body: v.string(), text: v.string() },
  handler: async (ctx, { body, text }) => {
    await ctx.db.insert("notes", { body, channel: "own" });
    const docs = await ctx.db
      .query("notes")
      .withSearchIndex("search_body", (q) =>
        q.search("body", text).eq("channel", "own"),
      )
      .collect();
    return docs.map((d) => d.body);
  },
});

export const badSearch = query({
  args: { kind: v.string() },
  handler: async (ctx, { kind }) => {
    const q = ctx.db.query("notes");
    if (kind === "field") {
      return await q
        .withSearchIndex("search_body", (s) => s.search("channel" as any, "x"))
        .collect();
    }
    if (kind === "filter") {
      return await q
        .withSearchIndex("search_body", (s) =>
          s.search("body", "x").eq("body" as any, "x"),
        )
        .collect();
    }
    return await q
      .withSearchIndex("nope" as any, (s: any) => s.search("body", "x"))
      .collect();
  },
});
