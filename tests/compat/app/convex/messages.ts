import { paginationOptsValidator } from "convex/server";
import { ConvexError, v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const list = query({
  args: {},
  handler: async (ctx) => {
    console.log("listing");
    const messages = await ctx.db.query("messages").collect();
    return messages.map((m) => m.body);
  },
});

export const count = query({
  args: {},
  handler: async (ctx) => (await ctx.db.query("messages").collect()).length,
});

export const exists = query({
  args: {},
  handler: async (ctx) => (await ctx.db.query("messages").first()) !== null,
});

export const documents = query({
  args: {},
  handler: async (ctx) => await ctx.db.query("messages").collect(),
});

export const send = mutation({
  args: { body: v.string(), author: v.optional(v.string()) },
  handler: async (ctx, { body, author }) => {
    console.log("sending", body);
    return await ctx.db.insert("messages", { body, author });
  },
});

export const remove = mutation({
  args: { id: v.id("messages") },
  handler: async (ctx, { id }) => {
    await ctx.db.delete(id);
    return null;
  },
});

export const failWith = mutation({
  args: { convex: v.optional(v.boolean()) },
  handler: async (_ctx, { convex }) => {
    if (convex) throw new ConvexError({ code: "NOPE" });
    throw new Error("plain failure");
  },
});

export const fails = query({
  args: { convex: v.optional(v.boolean()) },
  handler: async (ctx, { convex }) => {
    await ctx.db.query("messages").collect();
    if (convex) throw new ConvexError("no access");
    throw new Error("query failure");
  },
});

export const rank = mutation({
  args: { rank: v.number() },
  handler: async (ctx, { rank }) => await ctx.db.insert("ranked", { rank }),
});

export const page = query({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, { paginationOpts }) => {
    const result = await ctx.db
      .query("ranked")
      .withIndex("by_rank")
      .paginate(paginationOpts);
    return { ...result, page: result.page.map((d) => d.rank) };
  },
});
