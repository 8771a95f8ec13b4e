import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

// ObserveInsert: one subscription per channel; an insert shows up in exactly one of them.
export const latest = query({
  args: { channel: v.string() },
  handler: async (ctx, { channel }) =>
    await ctx.db
      .query("items")
      .withIndex("by_channel", (q) => q.eq("channel", channel))
      .order("desc")
      .take(5),
});

export const insert = mutation({
  args: { channel: v.string(), marker: v.string() },
  handler: async (ctx, args) => await ctx.db.insert("items", args),
});
