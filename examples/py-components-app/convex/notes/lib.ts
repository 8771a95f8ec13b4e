import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const add = mutation({
  args: { text: v.string() },
  returns: v.id("items"),
  handler: async (ctx, { text }) => {
    if (text === "") throw new Error("a note needs text");
    return await ctx.db.insert("items", { text });
  },
});

export const list = query({
  args: {},
  handler: async (ctx) => (await ctx.db.query("items").collect()).map((d) => d.text),
});

