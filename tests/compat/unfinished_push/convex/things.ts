import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const add = mutation({
  args: { a: v.number() },
  handler: async (ctx, { a }) => await ctx.db.insert("things", { a }),
});

export const byA = query({
  args: { a: v.number() },
  handler: async (ctx, { a }) =>
    (await ctx.db.query("things").withIndex("by_a", (q) => q.eq("a", a)).collect()).length,
});
